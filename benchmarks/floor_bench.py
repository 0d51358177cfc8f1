"""The drawing floor (issue 11, requirement 10): the same plot items given the same new data and
repainted, with none of Gatescope's logic, measured in the same run as the slider frames.

Recording (one untimed pass of the same σ₁ changes as `slider_frame_p95_default`, on the same
window, after the timed pass):

* every call Gatescope's code makes on a pyqtgraph item while the views handle the change: each
  `set*` method, `clear`, `addItem`, `removeItem` and `addPoints` defined by a pyqtgraph graphics
  item class (`setData`, `setImage`, `setRect`, `setOpts`, `setValue`, `setRange`, `setTicks`, …)
  is wrapped for the pass, and a call is kept, with copies of its arguments, when its caller is
  Gatescope's code (pyqtgraph's calls to itself are not kept: replaying the outer call makes
  them). Calls to Qt's own item methods (setVisible, setZValue) are not recorded;
* the region every widget painted during the change (an application-wide event filter);
* a QPicture of each widget that Gatescope paints itself (the readouts, the cell-state flow
  diagram) as drawn for the change.

Replay, timed per change: the recorded calls on the same items (pyqtgraph's code only), an
`update(region)` of every widget over the region it painted in the real frame (Qt's own widgets,
such as the σ₁ slider and its spin box, repaint what they show; the views' regions are those
the real frame painted), Gatescope's self-painted widgets drawing their recorded pictures in
place of their paintEvent, then exactly the flush that ends a slider frame (`AppUnderTest.flush`:
posted events, processEvents — which paints — and a synchronous repaint of any watched view that
has not painted). What it leaves out: the new trace's computation, the Session, the views'
handlers (formatting, ranges, legends), readout text layout and the diagram's geometry.
"""
from __future__ import annotations

import inspect
import os
import sys
import time

import numpy as np

KEEP = ("clear", "addItem", "removeItem", "addPoints")


def _copy(v):
    """A copy of a recorded argument that later calls cannot change (arrays, lists, dicts, Qt
    value types); anything else is kept as is."""
    if isinstance(v, np.ndarray):
        return v.copy()
    if isinstance(v, list):
        return [_copy(x) for x in v]
    if isinstance(v, tuple):
        return tuple(_copy(x) for x in v)
    if isinstance(v, dict):
        return {k: _copy(x) for k, x in v.items()}
    from PySide6.QtCore import QPointF, QRectF
    if isinstance(v, (QRectF, QPointF)):
        return type(v)(v)
    return v


def pyqtgraph_methods() -> list[tuple[type, str]]:
    """(class, name) of every set*/clear/addItem/removeItem/addPoints function defined by a
    pyqtgraph graphics item class."""
    import pyqtgraph as pg
    out, seen = [], set()
    for name in dir(pg):
        cls = getattr(pg, name)
        if not inspect.isclass(cls) or not cls.__module__.startswith("pyqtgraph.graphicsItems") \
                or cls in seen:
            continue
        seen.add(cls)
        for attr, fn in list(cls.__dict__.items()):
            if inspect.isfunction(fn) and (attr.startswith("set") or attr in KEEP):
                out.append((cls, attr))
    return out


def on_screen(item) -> bool:
    """Whether a graphics item is drawn: shown, in a scene that a visible view shows."""
    try:
        scene = item.scene()
        return scene is not None and item.isVisible() and any(v.isVisible() for v in scene.views())
    except (AttributeError, RuntimeError):
        return False


class CallRecorder:
    """Wraps the pyqtgraph methods while `on`; keeps (function, item, args, kwargs) of the calls
    whose caller is in `caller_dir` (Gatescope's GUI code) on items that are on screen (calls on
    the items of hidden views and hidden items draw nothing: they are not part of the floor)."""

    def __init__(self, caller_dir: str):
        self.caller_dir = caller_dir
        self.skipped = 0
        self.on = False
        self.calls: list = []
        self._saved: list = []

    def __enter__(self):
        for cls, name in pyqtgraph_methods():
            fn = cls.__dict__[name]
            self._saved.append((cls, name, fn))
            setattr(cls, name, self._wrap(fn))
        return self

    def __exit__(self, *exc):
        for cls, name, fn in reversed(self._saved):
            setattr(cls, name, fn)
        self._saved.clear()

    def _wrap(self, fn):
        rec = self

        def wrapper(obj, *args, **kwargs):
            if rec.on and sys._getframe(1).f_code.co_filename.startswith(rec.caller_dir):
                if on_screen(obj):
                    rec.calls.append((fn, obj, _copy(args), _copy(kwargs)))
                else:
                    rec.skipped += 1
            return fn(obj, *args, **kwargs)
        wrapper.__name__, wrapper.__qualname__ = fn.__name__, fn.__qualname__
        wrapper.__wrapped__ = fn
        return wrapper


def self_painted(window) -> list:
    """The window's widgets whose paintEvent is Gatescope's own (readouts, the flow diagram)."""
    from PySide6.QtWidgets import QWidget
    out = []
    for w in [window, *window.findChildren(QWidget)]:
        fn = getattr(type(w), "paintEvent", None)
        if getattr(fn, "__module__", "").startswith("gatescope."):
            out.append(w)
    return out


def picture_of(widget):
    """What the widget's own paintEvent draws now, as a QPicture (children not included)."""
    from PySide6.QtCore import QPoint
    from PySide6.QtGui import QPicture, QRegion
    from PySide6.QtWidgets import QWidget
    pic = QPicture()
    widget.render(pic, QPoint(0, 0), QRegion(), QWidget.RenderFlag(0))
    return pic


class Frame:
    """One recorded change: the pyqtgraph calls, the painted regions, the pictures."""

    def __init__(self):
        self.calls: list = []
        self.painted: dict = {}          # widget → QRegion painted in the real frame
        self.regions: dict = {}          # the part of it the replay updates explicitly
        self.pictures: dict = {}         # self-painted widget → QPicture


class PaintRegions:
    """An application-wide event filter: the region each widget painted while `on`."""

    def __init__(self):
        from PySide6.QtCore import QEvent, QObject
        from PySide6.QtWidgets import QApplication
        self.on = False
        self.regions: dict = {}
        paint = QEvent.Paint

        class _Filter(QObject):
            def eventFilter(inner, obj, event):          # noqa: N805
                if self.on and event.type() == paint and obj.isWidgetType():
                    r = self.regions.get(obj)
                    self.regions[obj] = event.region() if r is None else r.united(event.region())
                return False
        self.filter = _Filter()
        QApplication.instance().installEventFilter(self.filter)

    def close(self):
        from PySide6.QtWidgets import QApplication
        QApplication.instance().removeEventFilter(self.filter)


class FloorRecorder:
    """The probe `AppUnderTest.slider_latencies(..., probe=…)` calls around each change."""

    def __init__(self, window):
        import gatescope.gui
        self.calls = CallRecorder(os.path.dirname(os.path.abspath(gatescope.gui.__file__)))
        self.paints = PaintRegions()
        self.widgets = self_painted(window)
        self.baseline = {w: picture_of(w) for w in self.widgets}
        # updated explicitly in the replay over the region they painted: the self-painted
        # widgets (their new pictures) and the controls the user moved (slider, spin box)
        controls = [window.findChild(object, name) for name in ("sigma1", "sigma1_spin")]
        self.explicit = set(self.widgets) | {w for w in controls if w is not None}
        self.frames: list[Frame] = []

    def __enter__(self):
        self.calls.__enter__()
        return self

    def __exit__(self, *exc):
        self.calls.__exit__(*exc)
        self.paints.close()

    def begin(self, k: int, value: float):
        self.calls.calls = []
        self.paints.regions = {}
        self.calls.on = self.paints.on = True

    def handled(self):
        """Every view's handler has run: calls from here on (the flush) are not Gatescope's."""
        self.calls.on = False

    def end(self, k: int):
        self.calls.on = self.paints.on = False
        f = Frame()
        f.calls, f.painted = self.calls.calls, self.paints.regions
        f.regions = {w: r for w, r in f.painted.items() if w in self.explicit}
        f.pictures = {w: picture_of(w) for w in self.widgets if w in f.painted}
        self.frames.append(f)


class PictureStandIn:
    """While installed: each self-painted widget's paint event draws its current picture
    instead of running its paintEvent, and counts as painted for the watched-views counter."""

    def __init__(self, widgets, baseline: dict, counter):
        from PySide6.QtCore import QEvent, QObject
        from PySide6.QtGui import QPainter
        self.current = dict(baseline)
        paint = QEvent.Paint

        class _Filter(QObject):
            def eventFilter(inner, obj, event):          # noqa: N805
                if event.type() != paint:
                    return False
                p = QPainter(obj)
                p.drawPicture(0, 0, self.current[obj])
                p.end()
                counter.painted.add(id(obj))
                return True
        self.filter = _Filter()
        self.widgets = list(widgets)
        for w in self.widgets:
            w.installEventFilter(self.filter)

    def close(self):
        for w in self.widgets:
            w.removeEventFilter(self.filter)


def replay(ut, frames: list[Frame], baseline: dict,
           check: PaintRegions | None = None) -> tuple[list[float], list[dict]]:
    """→ (ms per frame, what each frame painted): the recorded calls, the regions, the flush
    (see the module's docstring). What is painted is noted only with `check` (its filter then
    runs inside the timed frames: for `coverage`, not for timing)."""
    stand_in = PictureStandIn(baseline, baseline, ut.counter)
    painted, out = [], []
    try:
        for f in frames:
            stand_in.current.update(f.pictures)
            if check is not None:
                check.regions, check.on = {}, True
            ut.counter.reset()
            t0 = time.perf_counter()
            for fn, obj, args, kwargs in f.calls:
                fn(obj, *args, **kwargs)
            for w, region in f.regions.items():
                w.update(region)
            ut.flush()
            out.append((time.perf_counter() - t0) * 1e3)
            if check is not None:
                check.on = False
                painted.append(check.regions)
    finally:
        stand_in.close()
    return out, painted


def coverage(frames: list[Frame], painted: list[dict], skipped: int = 0) -> str:
    """One line: what the replayed frames paint against the real ones (widgets, area), and the
    classes of the widgets only the real frames paint."""
    from collections import Counter

    def area(region):
        return sum(r.width() * r.height() for r in region)
    n = max(1, len(frames))
    real_w = sum(len(f.painted) for f in frames) / n
    floor_w = sum(len(p) for p in painted) / n
    only_real = Counter(type(w).__name__ for f, p in zip(frames, painted) for w in set(f.painted) - set(p))
    real_a = sum(area(r) for f in frames for r in f.painted.values())
    floor_a = sum(area(r) for p in painted for r in p.values())
    calls = sum(len(f.calls) for f in frames) / n
    top = ", ".join(f"{k} {v / n:.1f}" for k, v in only_real.most_common(6)) or "none"
    return (f"floor check ({len(frames)} frames): {calls:.0f} pyqtgraph calls a frame replayed "
            f"({skipped / n:.0f} more on hidden items not); widgets painted a frame: real "
            f"{real_w:.0f}, replay {floor_w:.0f}; painted area replay / real = "
            f"{floor_a / max(1, real_a):.2f}; painted by the real frames only, a frame: {top}")


def run_floor(ut, changes: int, check_frames: int = 10) -> tuple[list[float], str]:
    """On an AppUnderTest whose timed slider pass has just run: record the same σ₁ changes, replay
    them (timed), check the replay's painting on a few frames, then leave the window consistent
    again with one real change. → (floor ms per change, the check's line)."""
    with FloorRecorder(ut.window) as rec:
        ut.slider_latencies(changes, probe=rec)
    frames, baseline = rec.frames, rec.baseline
    replay(ut, frames[:min(3, len(frames))], baseline)              # warm-up
    floor, _ = replay(ut, frames, baseline)
    check = PaintRegions()
    try:
        _, painted = replay(ut, frames[:check_frames], baseline, check)
        line = coverage(frames[:check_frames], painted, rec.calls.skipped * check_frames / max(1, len(frames)))
    finally:
        check.close()
    ut.slider_latencies(1)                  # the views show the Session's analysis again
    return floor, line
