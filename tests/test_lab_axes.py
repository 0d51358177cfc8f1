"""The lecture hall, in the Training lab's axes: after a short real run, a Step and a sweep of
gaps 2 and 3, at 1280×720 ×1.5, 1366×768 ×2, 1920×1080 ×2 and 3840×2160 ×2, every lab plot that
shows data (curves, bars, images) on the Run page, the One step page and the sweep keeps ≥ 3
labelled ticks on each value axis (the sweep's gap axis: both gaps; the update plot's: every
parameter), no two tick labels touch, and each axis label lies beside its tick labels (never on
them), no longer than its axis and whole inside the plot's widget."""
import numpy as np
import pyqtgraph as pg
import pytest
from gatescope.core.config import Config
from gatescope.gui.views.axes import label_px, label_room
from lab_runs import run_tiny_lab
from PySide6.QtCore import QRectF
from test_lab_legends import SIZES, drawn_marks, scene_rect, show_lab_page
from test_lecture_hall import tick_texts

#: the sweep's gaps: fewer than three, so its x axes must label both
GAPS = (2, 3)


def run_lab(qtbot, window):
    """A tiny LSTM: one Step, the rest of its run, then a sweep of GAPS with one seed."""
    run_tiny_lab(qtbot, window, iters=40, gaps=GAPS)


def label_text_rect(ax) -> QRectF:
    """The axis label's text in scene coordinates: its item's rectangle without the document's
    empty margins (the label is rotated on a left axis; mapRectToScene follows)."""
    m = ax.label.document().documentMargin()
    return ax.label.mapRectToScene(ax.label.boundingRect().adjusted(m, m, -m, -m))


def shows_data(plot) -> bool:
    points, rects = drawn_marks(plot)
    return bool(points) or any(not r.isEmpty() for r in rects)


def check_plot(plot, widget: QRectF, where: str, special: dict):
    """One plot's two axes. special: {axis: the tick texts it must show} (few-valued axes)."""
    for name in ("left", "bottom"):
        ax = plot.getAxis(name)
        what = f"{where}, {name} axis of {plot.titleLabel.text[:40]!r}"
        texts = [(r, t) for r, t in tick_texts(ax) if t]
        shown = [t for _, t in texts]
        if ax in special:
            assert shown == special[ax], f"{what} shows {shown}, not {special[ax]}"
        else:
            assert len(texts) >= 3, f"{what} shows {shown}"
        rects = [r for r, _ in texts]
        for r, t in texts:                      # whole inside the widget: nothing clipped
            assert widget.contains(r), f"{what}: tick label {t!r} at {r} out of {widget}"
        for i, a in enumerate(rects):           # never touching: 1 px clear all round
            for b in rects[i + 1:]:
                assert not a.adjusted(-1, -1, 1, 1).intersects(b), \
                    f"{what}: tick labels {shown[i]!r} and {shown[rects.index(b)]!r} touch ({a}, {b})"
        # the label: beside the tick labels (of both axes), within its axis' length, in the widget
        assert ax.label.isVisible() and ax.labelText, what
        lab = label_text_rect(ax)
        assert lab.width() > 0 and lab.height() > 0, what
        for other in ("left", "bottom"):
            for r, t in tick_texts(plot.getAxis(other)):
                assert not lab.intersects(r), f"{what}: its label {ax.labelText!r} at {lab} covers {t!r} at {r}"
        box = scene_rect(ax)
        if name == "left":
            assert box.top() - 1 <= lab.top() and lab.bottom() <= box.bottom() + 1, \
                f"{what}: label {ax.labelText!r} ({lab.height():.0f} px) longer than its axis ({box})"
            assert lab.right() <= min(r.left() for r in rects), what
        else:
            assert box.left() - 1 <= lab.left() and lab.right() <= box.right() + 1, \
                f"{what}: label {ax.labelText!r} ({lab.width():.0f} px) longer than its axis ({box})"
            assert lab.top() >= max(r.bottom() for r in rects), what
        assert widget.contains(lab), f"{what}: label at {lab} out of its widget {widget}"
        # its text is its own, or the short form where the long one does not fit
        plain = ax.label.toPlainText()
        assert plain, what
        if getattr(ax, "short_label", "") and plain == ax.short_label:
            assert label_px(ax, ax.labelText) > label_room(ax), f"{what}: the short label although the long one fits"


def check_pages(window, qtbot, where: str) -> int:
    """Every lab plot that shows data, on the three pages; → how many."""
    t, s = window.train_view, window.sweep_view
    record = t._record
    params = [n.replace("weight_", "W_").replace("bias_", "b_") for n in record.delta]
    special = {p.getAxis("bottom"): [str(g) for g in GAPS] for p in (s.acc_plot, s.grad_plot)}
    upd_axis = t.upd_plot.getAxis("bottom")
    checked = 0
    for page, plots in (("run", t.run_plots), ("step", t.phase_plots), ("sweep", (s.acc_plot, s.grad_plot))):
        gv = show_lab_page(window, qtbot, page)
        widget = gv.mapToScene(gv.viewport().rect()).boundingRect()
        on_screen = [i for i in gv.scene().items() if isinstance(i, pg.PlotItem) and i.isVisible()]
        assert set(on_screen) == set(plots), f"{where} {page}: {len(on_screen)} plots on screen"
        for plot in plots:
            assert shows_data(plot), f"{where} {page}: {plot.titleLabel.text[:40]!r} shows no data"
            extra = dict(special)
            if plot is t.upd_plot:                # every parameter, on one line or on two
                drawn = [txt for _, txt in tick_texts(upd_axis) if txt]
                flat = [txt.replace("\n", "_") for txt in drawn]
                assert flat == params, f"{where}: the update plot's parameters read {drawn}"
                extra[upd_axis] = drawn
            check_plot(plot, widget, f"{where} {page}", extra)
            checked += 1
    return checked


@pytest.mark.parametrize("w,h,scale", SIZES, ids=[f"{w}x{h}x{s:g}" for w, h, s in SIZES])
def test_lab_axes_keep_three_ticks_and_labels_clear_of_them(qtbot, window_at, w, h, scale):
    session, window = window_at(Config(), w, h, scale)
    run_lab(qtbot, window)
    t, s = window.train_view, window.sweep_view
    # the data really drawn: the sweep's gaps, the Step's six parameters, the run's curves
    x, _ = s.acc_curves["lstm"].getData()
    assert np.array_equal(x, np.asarray(GAPS, float))
    assert len(t._record.delta) == 6
    where = f"{w}x{h} ×{scale:g}"
    assert check_pages(window, qtbot, where) == len(t.run_plots) + len(t.phase_plots) + 2


@pytest.mark.parametrize("w,h,scale", SIZES[:2], ids=[f"{w}x{h}x{s:g}" for w, h, s in SIZES[:2]])
def test_a_nearly_flat_log_curve_still_reads_three_ticks(qtbot, window_at, w, h, scale):
    """‖g‖ within 3 % over the whole run (every step clipped to nearly the same norm): the plot
    spans at least MIN_DECADES, so its power-of-ten axis still labels three ticks."""
    from gatescope.gui.views.train import MIN_DECADES
    session, window = window_at(Config(), w, h, scale)
    window.pages.setCurrentIndex(2)
    t = window.train_view
    qtbot.waitUntil(t.isVisible)
    it = np.arange(1, 41, dtype=float)
    norms = 0.30 + 0.01 * np.sin(it)                      # 0.29 … 0.31: 0.03 decades
    t.norm_before.setData(it, np.log10(norms))
    t.norm_after.setData(it, np.log10(norms * 0.999))
    gv = show_lab_page(window, qtbot, "run")
    lo, hi = t.norm_plot.vb.viewRange()[1]
    assert hi - lo == pytest.approx(MIN_DECADES, rel=1e-6)
    assert lo < np.log10(norms.min()) and np.log10(norms.max()) < hi       # the curve whole inside
    labels = [txt for _, txt in tick_texts(t.norm_plot.getAxis("left")) if txt]
    assert len(labels) >= 3, labels
    # the labels are powers of ten inside the span shown, in order
    values = [float(txt.replace("×10", "e").translate(str.maketrans("⁰¹²³⁴⁵⁶⁷⁸⁹⁻", "0123456789-")))
              if "×" in txt else 10.0 ** float(txt[2:].translate(str.maketrans("⁰¹²³⁴⁵⁶⁷⁸⁹⁻", "0123456789-")))
              for txt in labels]
    assert values == sorted(values) and all(lo <= np.log10(v) <= hi for v in values), (labels, lo, hi)
    check_plot(t.norm_plot, gv.mapToScene(gv.viewport().rect()).boundingRect(), f"{w}x{h} ×{scale:g}", {})
