"""App benchmarks, driving the real window off screen (QT_QPA_PLATFORM=offscreen).

"Drawn" is defined as: the Session emitted `analysis_changed` (or `step_changed`) for the new
value, every view's handler ran (ours is connected last, and Qt calls slots in connection order),
posted events were processed — which paints every widget the change made dirty, in one frame, as
the running app does — and every view that shows the change has received a paint event since the
change began (one that has not is repainted synchronously before the clock stops; an event filter
counts the paint events). The views: gradient flow, gates, states, cell-state flow, transport bar
and, for a σ₁ change, the spectrum. For the σ₁ slider the emitted Analysis must carry the new σ₁,
so the time includes the computation, wherever it runs (worker thread or not), and any coalescing
delay. `--full-repaint` restores the older, stricter definition: a synchronous repaint of the
whole window (control dock included) after the posted events.

The event-loop stall is the longest gap between ticks of a 1 ms PreciseTimer heartbeat running
in the GUI event loop while the σ₁ changes are made (raw gap, timer interval included).
"""
from __future__ import annotations

import gc
import os
import time

from gatescope.core import Config

DEFAULT_SIZE = (1600, 1000)
LARGE = Config(cell="lstm", hidden=64, length=1000)
TIMEOUT_MS = 120_000


def _app():
    from PySide6.QtWidgets import QApplication
    return QApplication.instance() or QApplication(["gatescope-benchmarks"])


def rss_mb() -> float:
    """Current resident set size (MiB) from /proc; falls back to the peak from getrusage."""
    try:
        with open("/proc/self/statm") as f:
            pages = int(f.read().split()[1])
        return pages * os.sysconf("SC_PAGE_SIZE") / 2**20
    except (OSError, ValueError, IndexError):
        import resource
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class Heartbeat:
    """A 1 ms timer in the GUI event loop; max_gap_ms is the longest time between two ticks."""

    def __init__(self):
        from PySide6.QtCore import Qt, QTimer
        self.timer = QTimer()
        self.timer.setTimerType(Qt.PreciseTimer)
        self.timer.setInterval(1)
        self.timer.timeout.connect(self._tick)
        self.last = None
        self.max_gap_ms = 0.0

    def _tick(self):
        now = time.perf_counter()
        if self.last is not None:
            self.max_gap_ms = max(self.max_gap_ms, (now - self.last) * 1e3)
        self.last = now

    def start(self):
        self.last = None
        self.timer.start()

    def stop(self):
        self.timer.stop()


class PaintCounter:
    """An event filter that notes which watched widgets received a paint event."""

    def __init__(self, widgets: dict):
        from PySide6.QtCore import QEvent, QObject

        class _Filter(QObject):
            def eventFilter(inner, obj, event):          # noqa: N805
                if event.type() == QEvent.Paint:
                    self.painted.add(id(obj))
                return False
        self.widgets = widgets
        self.painted: set[int] = set()
        self.filter = _Filter()
        for w in widgets.values():
            w.installEventFilter(self.filter)

    def reset(self):
        self.painted.clear()

    def missing(self, names):
        return [n for n in names if id(self.widgets[n]) not in self.painted]


FULL_REPAINT = False
STEP_VIEWS = ("gradient", "gates", "states", "flow", "transport")
CHANGE_VIEWS = STEP_VIEWS + ("spectrum",)


class AppUnderTest:
    """The real window at DEFAULT_SIZE. `panel="directions"` brings the Directions view to the
    front of the grid's shared slot (where the spectrum is otherwise) and waits for its curves."""

    def __init__(self, config: Config, panel: str | None = None):
        from gatescope.gui.app import create_window
        self.app = _app()
        self.session, self.window = create_window(config)
        self.window.resize(*DEFAULT_SIZE)
        self.window.show()
        w = self.window
        if panel is not None:
            w.explore.show_panel(panel)
        if not self.session.wait_idle(TIMEOUT_MS):
            raise RuntimeError("the first computation did not finish")
        self.views = {"gradient": w.gradient.plot_widget.viewport(),
                      "gates": w.gates.stack.currentWidget().viewport(),
                      "states": w.states.viewport(), "flow": w.flow, "transport": w.transport.timeline,
                      "spectrum": w.spectrum.graphs.viewport()}
        if panel == "directions":        # built when first shown: asking for it elsewhere would
            self.views["directions"] = w.directions.graphs.viewport()    # build it (as the app does not)
        self.change_views, self.step_views = CHANGE_VIEWS, STEP_VIEWS
        if panel == "directions":
            # the spectrum is behind it; the σᵢ curves follow a σ₁ change once the slider
            # rests (directions_settle_ms), the cursor and the split follow every step
            self.change_views = STEP_VIEWS
            self.step_views = STEP_VIEWS + ("directions",)
            if w.directions.curves is None:
                raise RuntimeError("the Directions view did not draw its curves")
        self.counter = PaintCounter(self.views)
        self.flush()

    def flush(self, views=None):
        """Process the posted events (the frame the app paints), then make sure every view in
        `views` (default: those a σ₁ change redraws) has painted since the last reset; repaint
        synchronously any that has not."""
        views = self.change_views if views is None else views
        self.app.sendPostedEvents()
        self.app.processEvents()
        if FULL_REPAINT:
            self.window.repaint()
        else:
            for name in self.counter.missing(views):
                self.views[name].repaint()
        self.counter.reset()

    def close(self):
        self.session.shutdown()
        self.window.close()
        self.window.deleteLater()
        self.app.processEvents()

    # -- σ₁ slider ---------------------------------------------------------------------------
    def slider_latencies(self, changes: int, heartbeat: Heartbeat | None = None,
                         probe=None, first: list | None = None) -> list[float]:
        """ms from slider.setValue(new σ₁) to the new trace drawn, for `changes` changes.
        `probe` (the drawing floor's recorder): probe.begin(k, v) before each change,
        probe.handled() once every view's handler has run, probe.end(k) after it is drawn.
        `first`: gets, per change of a long run, the ms until its first steps
        (Session.partial_analysis) were drawn in the gradient view."""
        from PySide6.QtCore import QEventLoop, QTimer
        slider = self.window.findChild(object, "sigma1")
        if slider is None:
            raise RuntimeError("no σ₁ slider (objectName 'sigma1') in the window")
        loop = QEventLoop()
        state = {"target": None, "t0": 0.0}
        lat: list[float] = []

        def on_analysis(a):
            if state["target"] is None or round(a.config.sigma1, 3) != state["target"]:
                return                          # a superseded or unrelated result
            if probe is not None:
                probe.handled()
            self.flush()                        # posted events, then a synchronous full paint
            lat.append((time.perf_counter() - state["t0"]) * 1e3)
            state["target"] = None
            if probe is not None:
                probe.end(len(lat) - 1)
            loop.quit()

        def on_partial(a):
            if first is not None and state["target"] is not None \
                    and round(a.config.sigma1, 3) == state["target"]:
                self.flush(("gradient",))
                first.append((time.perf_counter() - state["t0"]) * 1e3)

        self.session.analysis_changed.connect(on_analysis)
        self.session.partial_analysis.connect(on_partial)
        guard = QTimer()
        guard.setSingleShot(True)
        guard.timeout.connect(loop.quit)
        if heartbeat:
            heartbeat.start()
        try:
            current = round(self.session.config.sigma1, 3)
            for k in range(changes):
                # 0.900, 0.913, 0.926, … within the slider's range, never the current value
                v = round(0.9 + 0.013 * (k % 40), 3)
                if v == current:
                    v = round(v + 0.001, 3)
                state["target"], current = v, v
                self.counter.reset()
                if probe is not None:
                    probe.begin(k, v)
                state["t0"] = time.perf_counter()
                slider.setValue(v)
                if state["target"] is not None:     # not already drawn synchronously
                    guard.start(TIMEOUT_MS)
                    loop.exec()
                    guard.stop()
                if state["target"] is not None:
                    raise RuntimeError(f"σ₁ = {v} was not drawn within {TIMEOUT_MS} ms")
        finally:
            if heartbeat:
                heartbeat.stop()
            self.session.analysis_changed.disconnect(on_analysis)
            self.session.partial_analysis.disconnect(on_partial)
        return lat

    # -- play --------------------------------------------------------------------------------
    def play_steps(self, steps: int, timed: bool = True) -> list[float]:
        """What one tick of play does (session.step_by(1)), then posted events and a full paint."""
        s, out = self.session, []
        for _ in range(steps):
            if s.step >= s.steps:
                s.go_start()
                self.flush()
            self.counter.reset()
            t0 = time.perf_counter()
            s.step_by(1)
            self.flush(self.step_views)
            if timed:
                out.append((time.perf_counter() - t0) * 1e3)
        return out


    # -- the Directions view's curves after a drag -------------------------------------------
    def settle_ms(self, changes: int) -> float:
        """`changes` σ₁ changes in a row (a drag), then ms from the last one until the Directions
        view has drawn the σᵢ curves of the final σ₁."""
        from PySide6.QtCore import QEventLoop, QTimer
        view, loop = self.window.directions, QEventLoop()
        self.slider_latencies(changes)
        t0 = time.perf_counter()
        got = []

        def ready(_result):
            got.append(True)
            loop.quit()
        view.directions_ready.connect(ready)
        guard = QTimer()
        guard.setSingleShot(True)
        guard.timeout.connect(loop.quit)
        try:
            if view.curves is None:
                guard.start(TIMEOUT_MS)
                loop.exec()
            else:                                  # already drawn within the last change
                got.append(True)
        finally:
            view.directions_ready.disconnect(ready)
        if not got:
            raise RuntimeError(f"the Directions view did not draw within {TIMEOUT_MS} ms")
        self.flush(("directions",))                 # …and painted
        return (time.perf_counter() - t0) * 1e3


def run_gui_directions(changes: int, play_steps: int) -> dict[str, object]:
    """The default setup with the Directions view on screen: slider frames, play steps, and
    how long after a drag its curves are drawn (median of a few drags)."""
    import numpy as np
    out: dict[str, object] = {}
    ut = AppUnderTest(Config(), panel="directions")
    try:
        ut.slider_latencies(min(3, changes))          # warm-up
        out["slider_directions"] = ut.slider_latencies(changes)
        ut.play_steps(min(30, play_steps), timed=False)
        out["play_directions"] = ut.play_steps(play_steps)
        out["settle_directions"] = float(np.median([ut.settle_ms(5) for _ in range(5)]))
    finally:
        ut.close()
    return out


def run_gui(changes: int, play_steps: int, rss_steps: int, parts=("gui",)) -> dict[str, object]:
    """parts: "gui" (every app metric) and/or "floor" (the drawing floor of the default slider
    frames, recorded and replayed right after the timed slider pass on the same window)."""
    out: dict[str, object] = {}
    ut = AppUnderTest(Config())                       # what `python main.py` opens
    try:
        ut.slider_latencies(min(3, changes))          # warm-up
        out["slider_default"] = ut.slider_latencies(changes)
        if "floor" in parts:
            from .floor_bench import run_floor
            out["floor_default"], out["floor_check"] = run_floor(ut, changes)
        if "gui" not in parts:
            return out
        ut.play_steps(min(30, play_steps), timed=False)
        out["play_default"] = ut.play_steps(play_steps)
        ut.play_steps(min(200, rss_steps), timed=False)    # warm-up: caches, pixmaps, fonts
        gc.collect()
        before = rss_mb()
        ut.play_steps(rss_steps, timed=False)
        gc.collect()
        out["rss_growth_mb"] = rss_mb() - before
    finally:
        ut.close()
    ut = AppUnderTest(LARGE)
    try:
        ut.slider_latencies(1)
        hb = Heartbeat()
        first: list[float] = []
        out["slider_large"] = ut.slider_latencies(changes, hb, first=first)
        out["stall_large"] = hb.max_gap_ms
        out["first_part_large"] = first
    finally:
        ut.close()
    return out
