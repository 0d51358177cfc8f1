"""The lecture hall, in the Training lab: after a short real run, a Step and a sweep, every lab
legend sits in a row of its own outside the plots (it covers no curve point, bar, title or axis),
lies whole inside its plot widget, keeps its entries, and its text grows with the presentation
scale; a scale change and back, or a narrower window, refits its columns (and its text)."""
import numpy as np
import pyqtgraph as pg
import pytest
from gatescope.core.config import Config
from lab_runs import run_tiny_lab
from PySide6.QtCore import QPointF, QRectF

SIZES = [(1280, 720, 1.5), (1366, 768, 2.0), (1920, 1080, 2.0), (3840, 2160, 2.0)]


def expected_legends(window):
    """{legend's plot: [(item, name)]}: the entries every lab legend has always had."""
    t, s = window.train_view, window.sweep_view
    return {
        t.norm_plot: [(t.norm_before, "before clipping"), (t.norm_after, "after clipping")],
        t.reach_plot: [(t.reach_curve, "‖∂ℓ/∂hₖ‖ now"), (t.reach_init, "at initialisation"),
                       (t.reach_c, "‖∂ℓ/∂Cₖ‖ (LSTM)")],
        t.share_plot: [(t.share_curve, "now"), (t.share_init, "at initialisation")],
        t.contrib_plot: [(t.contrib_init_curve, "at initialisation")],
        t.bwd_plot: [(t.bwd_curve, "‖∂ℓ/∂hₖ‖"), (t.bwd_bars, "‖Cₖ‖, step k's part of ∂ℓ/∂W_hh")],
        s.acc_plot: [(s.acc_curves[k], k.upper()) for k in ("rnn", "lstm", "gru")],
    }


def scene_rect(item) -> QRectF:
    return item.mapRectToScene(item.boundingRect())


def drawn_marks(plot):
    """What the plot draws from data, in scene coordinates: (points, rectangles). Points are each
    curve's and scatter's (x, y) mapped through the view box (only those inside it: the view box
    clips the rest); rectangles are bars and images."""
    vb = plot.vb
    box = scene_rect(vb)
    points, rects = [], []
    for item in vb.addedItems:
        if isinstance(item, (pg.PlotDataItem, pg.PlotCurveItem, pg.ScatterPlotItem)) and item.isVisible():
            x, y = item.getData()
            if x is None or len(x) == 0:
                continue
            ok = np.isfinite(x) & np.isfinite(y)
            for xv, yv in zip(np.asarray(x, float)[ok], np.asarray(y, float)[ok]):
                p = vb.mapViewToScene(QPointF(xv, yv))
                if box.contains(p):
                    points.append(p)
        elif isinstance(item, pg.BarGraphItem):
            o = item.opts
            x = np.asarray(o.get("x") if o.get("x") is not None else [], float)
            top = np.asarray(o.get("height") if o.get("height") is not None else [], float)
            y0 = o.get("y0") or 0.0
            for xv, hv in zip(x, top):
                r = QRectF(QPointF(xv - o["width"] / 2, y0), QPointF(xv + o["width"] / 2, y0 + hv))
                rects.append(vb.mapViewToScene(r).boundingRect().intersected(box))
        elif isinstance(item, pg.ImageItem) and item.image is not None:
            rects.append(scene_rect(item).intersected(box))
    return points, rects


def show_lab_page(window, qtbot, page):
    """Show the Run tab, the One step tab or the Sweep tab, painted once."""
    lab_tabs = window.findChild(object, "lab_tabs")
    view = window.train_view
    if page == "sweep":
        lab_tabs.setCurrentIndex(1)
        gv = window.sweep_view.graphs
    else:
        lab_tabs.setCurrentIndex(0)
        view.tabs.setCurrentIndex(0 if page == "run" else 1)
        gv = view.graphs if page == "run" else view.step_graphs
    settle(gv, qtbot)
    return gv


def settle(gv, qtbot, tries=50):
    """Paint the view until its layout has settled: its plots and legends keep their places and
    columns (an axis measures its labels as it paints them, a legend refits its columns once its
    plot is placed, and the layout places them again)."""
    def state():
        items = [i for i in gv.scene().items() if isinstance(i, (pg.PlotItem, pg.LegendItem))]
        return [(tuple(scene_rect(i).getRect()), getattr(i, "columnCount", 0)) for i in items]
    before = None
    for _ in range(tries):
        gv.grab()
        qtbot.wait(20)
        now = state()
        if now == before:
            return
        before = now
    raise AssertionError("the lab's plots and legends never settle")


def text_px(label) -> float:
    """A legend label's drawn text height, its document's margins left out."""
    margin = label.item.document().documentMargin()
    return label.item.boundingRect().height() - 2 * margin


def reference_px(text: str) -> float:
    """The same text drawn at the ×1 legend size (10 pt)."""
    return text_px(pg.LabelItem(text, justify="left", size="10pt"))


def check_legends(window, qtbot, scale, where):
    """Every lab legend outside its plot and every other plot, inside its widget, its entries
    unchanged, its text at the scale; → {legend's plot: (column count, legend size, plot width)}."""
    want = expected_legends(window)
    pages = {"run": (window.train_view.norm_plot, window.train_view.reach_plot, window.train_view.share_plot,
                     window.train_view.contrib_plot),
             "step": (window.train_view.bwd_plot,), "sweep": (window.sweep_view.acc_plot,)}
    seen = {}
    for page, plots in pages.items():
        gv = show_lab_page(window, qtbot, page)
        scene = gv.scene()
        legends = [i for i in scene.items() if isinstance(i, pg.LegendItem) and i.isVisible()]
        assert {id(p.legend) for p in plots} == {id(lg) for lg in legends}, f"{where} {page}: a stray legend"
        widget = gv.mapToScene(gv.viewport().rect()).boundingRect()
        all_plots = [i for i in scene.items() if isinstance(i, pg.PlotItem) and i.isVisible()]
        marks = {p: drawn_marks(p) for p in all_plots}
        for plot in plots:
            legend = plot.legend
            name = f"{where} {page}: legend of {plot.titleLabel.text[:30]!r}"
            # the same entries, for the same items, in the same order
            assert [(sample.item, label.text) for sample, label in legend.items] == want[plot], name
            rect = scene_rect(legend)
            assert rect.width() > 0 and rect.height() > 0, name
            # its own plot draws data, and neither it nor any other plot has a mark under the legend
            points, rects = marks[plot]
            assert len(points) + len(rects) > 0, f"{name}: its plot shows no data"
            for other in all_plots:
                pts, bars = marks[other]
                inside = [(p.x(), p.y()) for p in pts if rect.contains(p)]
                assert not inside, f"{name} covers {len(inside)} points of {other.titleLabel.text[:30]!r}"
                assert not any(r.intersects(rect) for r in bars if not r.isEmpty()), f"{name} covers a bar"
                # nor the plot's data area, title or axes
                assert not scene_rect(other).intersects(rect), f"{name} overlaps {other.titleLabel.text[:30]!r}"
            for other in legends:
                if other is not legend:
                    assert not scene_rect(other).intersects(rect), f"{name} overlaps another legend"
            # whole inside its plot widget, no wider than its plot; its texts whole inside it
            assert widget.contains(rect), f"{name} at {rect} runs out of its widget {widget}"
            assert rect.width() <= scene_rect(plot).width() + 1, name
            texts = []
            for sample, label in legend.items:
                m = label.item.document().documentMargin()          # the text, not its margins
                t = label.item.sceneBoundingRect().adjusted(m, m, -m, -m)
                assert rect.adjusted(-1, -1, 1, 1).contains(t), f"{name}: {label.text!r} at {t} out of {rect}"
                assert widget.contains(t), f"{name}: {label.text!r} out of its widget"
                texts += [t, sample.sceneBoundingRect()]
            for i, a in enumerate(texts):
                for b in texts[i + 1:]:
                    assert not a.adjusted(1, 1, -1, -1).intersects(b), f"{name}: entries overlap"
            # the text at the theme's legend size, drawn at it: ×scale the ×1 text's height
            for _, label in legend.items:
                assert label.opts["size"] == f"{10 * scale:.0f}pt", (name, label.opts["size"])
                assert text_px(label) == pytest.approx(scale * reference_px(label.text), rel=0.12), \
                    f"{name}: {label.text!r} is {text_px(label):.1f} px tall at ×{scale:g}"
            seen[plot] = (legend.columnCount, (round(rect.width()), round(rect.height())), round(plot.width()))
    return seen


@pytest.mark.parametrize("w,h,scale", SIZES, ids=[f"{w}x{h}x{s:g}" for w, h, s in SIZES])
def test_lab_legends_never_cover_a_curve_and_grow_with_the_scale(qtbot, window_at, w, h, scale):
    session, window = window_at(Config(), w, h, scale)
    # a tiny LSTM (so the reach plot's cell curve is drawn too): one Step, the rest of the run, a sweep
    run_tiny_lab(qtbot, window, iters=60, gaps=(2, 4, 6))
    where = f"{w}x{h} ×{scale:g}"
    first = check_legends(window, qtbot, scale, where)
    # the legends follow a scale change and come back as they were
    session.set_scale(1.0)
    qtbot.wait(60)
    at_one = check_legends(window, qtbot, 1.0, f"{where} then ×1")
    for p, (columns, (_, tall), wide) in first.items():
        if at_one[p][2] >= wide:              # smaller text in no narrower a plot: no fewer columns
            assert at_one[p][0] >= columns, (p.titleLabel.text, at_one[p], first[p])
        if at_one[p][0] == columns:           # and in as many columns, a shorter legend
            assert at_one[p][1][1] < tall, (p.titleLabel.text, at_one[p], first[p])
    session.set_scale(scale)
    qtbot.wait(60)
    assert check_legends(window, qtbot, scale, f"{where} and back") == first
    # another width (wider, or narrower for 4K): the legends refit to their plots' widths and settle
    other = int(w * 1.2) if w < 3000 else int(w * 0.8)
    window.resize(other, h)
    qtbot.waitUntil(lambda: window.width() == other)
    check_legends(window, qtbot, scale, f"{where} resized to {other} px wide")
