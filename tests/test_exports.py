"""Exports that hold: every plotted series reaches the trace export (core.series, checked against
independent computations), and the SVG / PDF exports of the window and of each plot draw what the
PNG draws (rendered back and compared pixel by pixel), written atomically."""
import math
import os
import re
import shutil
import subprocess
import xml.etree.ElementTree as ET

import numpy as np
import pytest
from gatescope.core.analysis import analyse
from gatescope.core.cells import dtanh, sigmoid
from gatescope.core.config import Config
from gatescope.core.fileio import WriteError
from gatescope.core.series import plotted_series
from gatescope.gui import exporting
from gatescope.gui.app import create_window
from PySide6.QtCore import QByteArray, QPointF, QRectF
from PySide6.QtGui import QColor, QImage, QPainter
from PySide6.QtSvg import QSvgRenderer


def series(**cfg):
    a = analyse(Config(**cfg))
    return a, plotted_series(a)


# -- the trace's series ---------------------------------------------------------------------------
@pytest.mark.parametrize("kind", ["rnn", "lstm", "gru"])
def test_every_series_is_on_the_time_axis_with_a_unit(kind):
    a, s = series(cell=kind, hidden=5, length=30, clip=2.0)
    T = a.steps
    for name, (values, unit) in s.items():
        assert values.dtype == np.float64 and values.shape[0] == T + 1, name
        assert isinstance(unit, str) and unit, name
    expected = {"t", "log10_jac_norm", "log10_sigma1_pow", "log10_sigma_pow", "log10_rho_pow",
                "log10_pascanu_bound", "log10_clipped_norm", "h"}
    expected |= {"rnn": {"preact", "slope"},
                 "lstm": {"c", "log10_cell_norm", "log10_carousel", "gate_i", "gate_f", "gate_g",
                          "gate_o"},
                 "gru": {"gate_r", "gate_z", "gate_n"}}[kind]
    assert set(s) == expected
    assert s["log10_sigma_pow"][0].shape == (T + 1, 5)


def test_the_theory_curves_match_the_weights_directly():
    a, s = series(cell="rnn", activation="sigmoid", hidden=6, length=50, sigma1=1.3,
                  structure="non-normal", shape="geometric", clip=5.0, seed=3)
    w = a.cell.weight_hh
    sv = np.linalg.svd(w, compute_uv=False)
    rho = np.max(np.abs(np.linalg.eigvals(w)))
    t = np.arange(51)
    np.testing.assert_allclose(s["log10_sigma1_pow"][0], t * math.log10(sv[0]), atol=1e-12)
    np.testing.assert_allclose(s["log10_sigma_pow"][0], np.outer(t, np.log10(sv)), atol=1e-12)
    np.testing.assert_allclose(s["log10_rho_pow"][0], t * math.log10(rho), atol=1e-12)
    np.testing.assert_allclose(s["log10_pascanu_bound"][0], t * math.log10(0.25 * sv[0]),
                               atol=1e-12)
    measured = s["log10_jac_norm"][0]
    np.testing.assert_allclose(s["log10_clipped_norm"][0], np.minimum(measured, math.log10(5.0)))
    assert rho < sv[0]


def test_rnn_preactivation_and_slope_recomputed_from_the_weights():
    a, s = series(cell="rnn", activation="tanh", hidden=4, length=12, input_size=3, seed=2)
    c, x, h = a.cell, a.trace.inputs, s["h"][0]
    pre = x @ c.weight_ih.T + c.bias_ih + h[:-1] @ c.weight_hh.T + c.bias_hh
    assert np.all(np.isnan(s["preact"][0][0])) and np.all(np.isnan(s["slope"][0][0]))
    np.testing.assert_allclose(s["preact"][0][1:], pre, atol=1e-12)
    np.testing.assert_allclose(s["slope"][0][1:], dtanh(pre), atol=1e-12)
    np.testing.assert_allclose(h[1:], np.tanh(pre), atol=1e-12)


def test_lstm_gates_and_cell_state_recomputed_from_the_weights():
    a, s = series(cell="lstm", hidden=3, length=10, input_size=2, forget_bias=2.0, seed=1)
    c, x, h, cs = a.cell, a.trace.inputs, s["h"][0], s["c"][0]
    z = x @ c.weight_ih.T + c.bias_ih + h[:-1] @ c.weight_hh.T + c.bias_hh
    i, f, g, o = (z[:, k * 3:(k + 1) * 3] for k in range(4))
    np.testing.assert_allclose(s["gate_f"][0][1:], sigmoid(f), atol=1e-12)
    np.testing.assert_allclose(s["gate_g"][0][1:], np.tanh(g), atol=1e-12)
    np.testing.assert_allclose(cs[1:], sigmoid(f) * cs[:-1] + sigmoid(i) * np.tanh(g), atol=1e-12)
    np.testing.assert_allclose(h[1:], sigmoid(o) * np.tanh(cs[1:]), atol=1e-12)
    # the carousel: max over units of the running product of f
    carousel = np.log10(np.cumprod(sigmoid(f), axis=0).max(axis=1))
    np.testing.assert_allclose(s["log10_carousel"][0][1:], carousel, atol=1e-12)
    assert s["gate_g"][1] != s["gate_f"][1]                        # candidate vs gate units


# -- picture exports --------------------------------------------------------------------------------
TOLERANCE = 0.04          # mean absolute difference per channel, 0..1
PLOTS = ("gradient", "gates", "states", "spectrum", "flow")


@pytest.fixture(scope="module")
def shown(qapp):
    """One window on a setup that draws every gradient-plot series and both shading regions
    (sigmoid RNN: Pascanu's bound; non-normal: ρᵗ; clipping), shared by the picture tests."""
    cfg = Config(cell="rnn", activation="sigmoid", sigma1=1.5, structure="non-normal",
                 shape="geometric", clip=0.5, length=120)
    session, window = create_window(cfg)
    window.resize(1600, 1000)
    window.show()
    assert session.wait_idle()
    for _ in range(5):
        qapp.processEvents()
    yield window
    session.shutdown()
    window.close()


def as_array(image: QImage) -> np.ndarray:
    """(h, w, 3) RGB in [0, 1]."""
    im = image.convertToFormat(QImage.Format_RGB888)
    raw = np.frombuffer(im.constBits(), np.uint8).reshape(im.height(), im.bytesPerLine())
    return raw[:, :im.width() * 3].reshape(im.height(), im.width(), 3) / 255.0


def render_svg(data: bytes, width: int, height: int) -> np.ndarray:
    renderer = QSvgRenderer(QByteArray(data))
    assert renderer.isValid()
    image = QImage(width, height, QImage.Format_ARGB32)
    image.fill(QColor("white"))
    p = QPainter(image)
    p.setRenderHint(QPainter.Antialiasing)
    renderer.render(p, QRectF(0, 0, width, height))
    p.end()
    return as_array(image)


def render_with(tool_args, data: bytes, suffix: str, tmp_path, width, height) -> np.ndarray:
    src = tmp_path / f"in{suffix}"
    src.write_bytes(data)
    out = tmp_path / "out.png"
    subprocess.run(tool_args(src, out, width, height), check=True, capture_output=True, timeout=60)
    if not out.exists():                                   # pdftoppm appends "-1"
        out = next(tmp_path.glob("out*.png"))
    return as_array(QImage(str(out)))


def rsvg(src, out, w, h):
    return ["rsvg-convert", "-w", str(w), "-h", str(h), "-b", "white", "-o", str(out), str(src)]


def mean_difference(a, b) -> np.ndarray:
    assert a.shape == b.shape, (a.shape, b.shape)
    return np.abs(a - b).mean(axis=(0, 1))


def targets(window):
    return {"window": window, **{k: window.plot_target(k) for k in PLOTS}}


class Exports(dict):
    """name → (PNG as an array, SVG bytes), made on first use and kept; .pdf(name) likewise."""

    def __init__(self, window):
        super().__init__()
        self.window = window
        self.pdfs = {}

    def __missing__(self, name):
        target = targets(self.window)[name]
        self[name] = (as_array(exporting.png_image(target)), exporting.svg_bytes(target))
        return self[name]

    def pdf(self, name) -> bytes:
        if name not in self.pdfs:
            self.pdfs[name] = exporting.pdf_bytes(targets(self.window)[name], self[name][1])
        return self.pdfs[name]


@pytest.fixture(scope="module")
def exported(shown):
    """The window's and every plot's exports, shared by the tests of this module."""
    return Exports(shown)


@pytest.mark.parametrize("name", ("window",) + PLOTS)
def test_svg_draws_what_the_png_draws_in_qts_renderer(exported, name):
    png, svg = exported[name]
    diff = mean_difference(render_svg(svg, png.shape[1], png.shape[0]), png)
    assert np.all(diff <= TOLERANCE), diff


@pytest.mark.skipif(shutil.which("rsvg-convert") is None, reason="librsvg's rsvg-convert not installed")
@pytest.mark.parametrize("name", ("window", "gradient", "spectrum"))
def test_svg_draws_what_the_png_draws_in_librsvg(exported, name, tmp_path):
    png, svg = exported[name]
    got = render_with(rsvg, svg, ".svg", tmp_path, png.shape[1], png.shape[0])
    diff = mean_difference(got, png)
    assert np.all(diff <= TOLERANCE), diff


def page_boxes(svg: bytes):
    """(tag, page bounding box) of every drawn shape, transforms applied."""
    root = ET.fromstring(svg)
    out = []

    def walk(el, m):
        for child in el:
            tag = child.tag.rsplit("}", 1)[-1]
            if tag in ("defs", "clipPath"):
                continue
            t = exporting._parse_transform(child.get("transform"))
            cm = exporting._compose(m, t)
            if tag == "g":
                walk(child, cm)
                continue
            if tag == "path":
                pts = [p for _, ps in exporting._parse_path(child.get("d", "")) for p in ps]
            elif tag in ("rect", "image"):
                x, y = float(child.get("x", 0)), float(child.get("y", 0))
                w, h = float(child.get("width", 0)), float(child.get("height", 0))
                pts = [(x, y), (x + w, y + h)]
            else:
                pts = []
            if pts:
                out.append((tag, exporting._bbox([exporting._apply(cm, *p) for p in pts])))
            walk(child, cm)

    walk(root, exporting._IDENTITY)
    return out


@pytest.mark.parametrize("name", ("window", "gradient"))
def test_nothing_is_drawn_outside_the_canvas_and_text_is_outlines(exported, shown, name):
    png, svg = exported[name]
    size = exporting.target_size(targets(shown)[name])
    w, h = size.width(), size.height()
    boxes = page_boxes(svg)
    assert boxes
    for tag, (x0, y0, x1, y1) in boxes:
        assert -1 <= x0 and x1 <= w + 1 and -1 <= y0 and y1 <= h + 1, (tag, (x0, y0, x1, y1))
    assert b"<text" not in svg                      # glyph outlines: no font substitution


def test_the_shading_is_drawn_and_sub_and_superscripts_stay_whole(exported, shown):
    """The growth and decay shading at their places, and the legend (σ₁ᵗ, σᵢᵗ, (γσ₁)ᵗ, ρᵗ)
    where the PNG has it, letter for letter."""
    png, svg = exported["gradient"]
    got = render_svg(svg, png.shape[1], png.shape[0])
    plot = shown.gradient.plot
    vb = plot.vb
    origin = shown.plot_target("gradient").sceneBoundingRect().topLeft()
    scale = png.shape[1] / exporting.target_size(shown.plot_target("gradient")).width()

    def pixel(x, y):
        p = vb.mapViewToScene(QPointF(x, y)) - origin
        return int(p.y() * scale), int(p.x() * scale)

    (x0, x1), (y0, y1) = vb.viewRange()
    for y in (y0 + 0.1 * (y1 - y0), y1 - 0.1 * (y1 - y0)):           # decay and growth
        if y0 < 0 < y1:
            r, c = pixel(x0 + 0.97 * (x1 - x0), y)
            np.testing.assert_allclose(got[r, c], png[r, c], atol=0.03)
            assert np.abs(png[r, c] - 1).max() > 0.03                 # not white: shaded
    legend = shown.gradient.legend.sceneBoundingRect().translated(-origin)
    r0, r1 = int(legend.top() * scale), int(legend.bottom() * scale)
    c0, c1 = int(legend.left() * scale), int(legend.right() * scale)
    region = np.s_[max(r0, 0):r1, max(c0, 0):c1]
    assert mean_difference(got[region], png[region]).max() <= TOLERANCE


def test_pdf_is_one_vector_page_the_size_of_the_target(exported, shown):
    for name in ("window", "gradient"):
        pdf = exported.pdf(name)
        assert pdf.startswith(b"%PDF-")
        size = exporting.target_size(targets(shown)[name])
        box = [float(v) for v in re.search(rb"/MediaBox\s*\[([^\]]+)\]", pdf).group(1).split()]
        dpi = exporting.screen_dpi()
        assert box[2] - box[0] == pytest.approx(size.width() * 72 / dpi, abs=0.5)
        assert box[3] - box[1] == pytest.approx(size.height() * 72 / dpi, abs=0.5)


def pdftoppm(src, out, w, h):
    return ["pdftoppm", "-png", "-singlefile", "-scale-to-x", str(w), "-scale-to-y", str(h),
            str(src), str(out.with_suffix(""))]


@pytest.mark.skipif(shutil.which("pdftoppm") is None, reason="poppler's pdftoppm not installed")
@pytest.mark.parametrize("name", ("window", "gradient"))
def test_pdf_draws_what_the_png_draws(exported, name, tmp_path):
    png, pdf = exported[name][0], exported.pdf(name)
    got = render_with(pdftoppm, pdf, ".pdf", tmp_path, png.shape[1], png.shape[0])
    diff = mean_difference(got, png)
    assert np.all(diff <= TOLERANCE), diff


def test_export_mode_and_item_caches_are_restored(shown):
    items = shown.gradient.plot.scene().items()
    before = [(it.cacheMode(), getattr(it, "_exportOpts", False)) for it in items]
    exporting.svg_bytes(shown.plot_target("gradient"))
    assert [(it.cacheMode(), getattr(it, "_exportOpts", False)) for it in items] == before


# -- atomic writes and clear failures -----------------------------------------------------------
@pytest.mark.parametrize("ext", [".png", ".svg", ".pdf"])
def test_every_format_is_written_through_export_item(shown, tmp_path, ext):
    path = tmp_path / f"plot{ext}"
    exporting.export_item(shown.plot_target("spectrum"), path)
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" if ext == ".png" else data.startswith(
        b"<?xml" if ext == ".svg" else b"%PDF-")
    assert sorted(os.listdir(tmp_path)) == [path.name]              # no temporary file left


def test_a_failed_export_leaves_the_old_file_and_no_temporary_file(shown, tmp_path, monkeypatch):
    path = tmp_path / "plot.svg"
    path.write_bytes(b"the old drawing")

    def broken(target):
        raise RuntimeError("renderer failed")

    monkeypatch.setattr(exporting, "svg_bytes", broken)
    with pytest.raises(RuntimeError):
        exporting.export_item(shown.plot_target("gradient"), path)
    assert path.read_bytes() == b"the old drawing"
    assert os.listdir(tmp_path) == ["plot.svg"]


def test_unwritable_paths_and_bad_extensions_say_what_is_wrong(shown, tmp_path):
    with pytest.raises(WriteError, match="does not exist"):
        exporting.export_item(shown.plot_target("gradient"), tmp_path / "missing" / "plot.svg")
    with pytest.raises(exporting.ExportError, match="use .png or .svg or .pdf"):
        exporting.export_item(shown.plot_target("gradient"), tmp_path / "plot.jpg")
    assert os.listdir(tmp_path) == []


def test_clean_svg_cuts_a_huge_rectangle_and_a_line_to_their_clip():
    """The SVG post-processor on a hand-written drawing: a 10⁷-wide rectangle and a line
    leaving the clip, under a scaling transform with a cosmetic stroke."""
    svg = b"""<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" width="100" height="50"
    viewBox="0 0 100 50"><defs><clipPath id="c"><path d="M10,10 L90,10 L90,40 L10,40 Z"/></clipPath>
    </defs><g clip-path="url(#c)"><g fill="#ff0000" stroke="none" transform="matrix(2,0,0,-2,10,40)">
    <rect x="-1e7" y="0" width="2e7" height="1e7"/></g>
    <g fill="none" stroke="#0000ff" stroke-width="3" transform="matrix(2,0,0,-2,10,40)">
    <polyline vector-effect="non-scaling-stroke" points="0,0 100,100"/></g></g></svg>"""
    out = exporting.clean_svg(svg)
    boxes = page_boxes(out)
    assert len(boxes) == 2
    for _, (x0, y0, x1, y1) in boxes:
        assert x0 >= 10 - 1e-9 and x1 <= 90 + 1e-9 and y0 >= 10 - 1e-9 and y1 <= 40 + 1e-9
    # the rectangle is exactly the part of the clip above the data's y = 0 (page y ≤ 40)
    assert boxes[0][1] == pytest.approx((10, 10, 90, 40))
    # the line: from the origin (10, 40) up to where it leaves the clip (y = 10 at x = 40)
    assert boxes[1][1] == pytest.approx((10, 10, 40, 40))
    image = render_svg(out, 100, 50)
    assert np.allclose(image[5, 50], 1) and np.allclose(image[45, 50], 1)   # nothing outside
    assert image[20, 80, 0] > 0.9 and image[20, 80, 1] < 0.1                 # red inside


def test_export_window_writes_exactly_the_size_asked(shown, tmp_path):
    before = shown.size()
    try:
        path = tmp_path / "w.png"
        exporting.export_window(shown, path, (1280, 720))
        image = QImage(str(path))
        assert (image.width(), image.height()) == (1280, 720)
        exporting.export_window(shown, tmp_path / "w.svg", (1280, 720))
        root = ET.fromstring((tmp_path / "w.svg").read_bytes())
        assert (root.get("width"), root.get("height")) == ("1280", "720")
        with pytest.raises(exporting.ExportError, match="0×720"):
            exporting.export_window(shown, tmp_path / "x.png", (0, 720))
    finally:
        shown.resize(before)
