"""The start-up baseline: a bare QApplication showing one pyqtgraph PlotWidget (one 366-point
curve, the length of the default gradient curve), timed to its first painted frame exactly as
the app is (the same probe, loaded by path so that nothing of Gatescope is imported).

    GATESCOPE_EXIT_AFTER_FIRST_PAINT=1 python benchmarks/bare_window.py [WIDTH HEIGHT]

prints `first-paint <Unix time>` and exits. The window has the app's default size (1600 × 1000),
kept inside the screen as the app keeps its own.
"""
import importlib.util
import os
import sys

import pyqtgraph as pg
from PySide6.QtWidgets import QApplication


def _probe():
    path = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "gui",
                        "startup_probe.py")
    spec = importlib.util.spec_from_file_location("startup_probe", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def main(argv) -> int:
    w, h = (int(v) for v in argv[:2]) if len(argv) >= 2 else (1600, 1000)
    app = QApplication(sys.argv[:1])
    plot = pg.PlotWidget()
    plot.plot(range(366), [0.01 * t for t in range(366)])
    screen = app.primaryScreen()
    if screen is not None:
        avail = screen.availableGeometry()
        w, h = min(w, avail.width()), min(h, avail.height())
    plot.resize(w, h)
    plot.show()
    probe = _probe()
    if os.environ.get(probe.ENV):
        keep = probe.watch([plot, plot.viewport()])     # noqa: F841 (kept alive until exit)
    return app.exec()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
