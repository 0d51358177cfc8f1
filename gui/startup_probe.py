"""Start-up probe for the benchmarks: the time of the first painted frame, then a clean exit.

With the environment variable GATESCOPE_EXIT_AFTER_FIRST_PAINT set, `install(window)` (called by
the app right after the main window is shown) prints one line on stdout,

    first-paint <Unix time, 6 decimals>

as soon as the window's first frame has been painted, stops the window's background work and
leaves the event loop. The window is never closed, so nothing is saved (no layout, no last
session); the benchmark also runs the process with GATESCOPE_CONFIG_DIR pointing to a temporary
folder. Without the variable, `install` does nothing.

This module imports only the standard library and Qt: `benchmarks/bare_window.py` loads it by
path to time a bare pyqtgraph window the same way.
"""
from __future__ import annotations

import os
import time

from PySide6.QtCore import QEvent, QObject, QThread, QTimer
from PySide6.QtWidgets import QApplication

ENV = "GATESCOPE_EXIT_AFTER_FIRST_PAINT"
PREFIX = "first-paint"


class FirstPaint(QObject):
    """Calls `on_painted(unix_time)` once, after the first paint event of any of `widgets`: a
    zero-delay timer started from that paint event fires once the whole frame (every widget in
    the window's dirty region, painted into one backing store and flushed) is done."""

    def __init__(self, widgets, on_painted):
        super().__init__()
        self.widgets = [w for w in widgets if w is not None]
        self.on_painted = on_painted
        self.seen = False
        for w in self.widgets:
            w.installEventFilter(self)

    def eventFilter(self, obj, event):              # noqa: N802 (Qt's name)
        if not self.seen and event.type() == QEvent.Paint:
            self.seen = True
            QTimer.singleShot(0, self._painted)
        return False

    def _painted(self):
        t = time.time()
        for w in self.widgets:
            w.removeEventFilter(self)
        self.on_painted(t)


def quit_when_running(before_quit=None):
    """Leave the application's event loop; if it has not started yet (the first frame can be
    painted while the app still processes events by hand before `exec()`), try again shortly."""
    if QThread.currentThread().loopLevel() == 0:
        QTimer.singleShot(5, lambda: quit_when_running(before_quit))
        return
    if before_quit is not None:
        before_quit()
    QApplication.exit(0)


def report_and_quit(t: float, before_quit=None):
    print(f"{PREFIX} {t:.6f}", flush=True)
    quit_when_running(before_quit)


def watch(widgets, before_quit=None) -> FirstPaint:
    """Print the first frame's time and quit (see the module's docstring)."""
    return FirstPaint(widgets, lambda t: report_and_quit(t, before_quit))


def _targets(window):
    """The window, its central widget and the gradient plot's viewport, when they exist (the
    first of them to paint marks the frame)."""
    out = [window, window.centralWidget() if hasattr(window, "centralWidget") else None]
    plot = getattr(getattr(window, "gradient", None), "plot_widget", None)
    if plot is not None and hasattr(plot, "viewport"):
        out.append(plot.viewport())
    return out


def install(window):
    """With GATESCOPE_EXIT_AFTER_FIRST_PAINT set: report the first painted frame of `window` on
    stdout and exit cleanly (background work stopped through `window.shutdown()`, no settings
    written). Otherwise nothing. → the probe, or None."""
    if not os.environ.get(ENV):
        return None
    stop = getattr(window, "shutdown", None)
    probe = watch(_targets(window), stop)
    window._gatescope_startup_probe = probe        # kept alive as long as the window
    return probe
