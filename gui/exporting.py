"""Export any plot or the whole window as PNG, SVG or PDF (by the file name's extension), written
atomically (a temporary file, then replaced; the old file is untouched on failure).

PNG: a plot scene painted at twice its size (device pixel ratio 2); a widget or the window as
     QWidget.grab shows it.
SVG: Qt's SVG 1.1 generator at the screen's resolution (so text keeps the size it is laid out at),
     every scene item in pyqtgraph's export mode (scatter symbols as vectors) and without its item
     cache (cached items paint bitmaps). A widget tree is drawn one widget at a time, each into
     its own generator and placed at its offset: Qt writes a clip rectangle in the coordinates of
     the widget being painted, without the offset of a child painted inside its parent, so a
     whole-window SVG had its combo boxes, plots and heatmaps clipped away. Then the SVG is made
     to draw what the PNG draws in every viewer (`clean_svg`):
     - geometry is cut to its clip rectangle and whatever lies wholly outside is removed (the
       growth/decay shading is ≈ 10⁸ px wide: librsvg flooded the canvas with it, Qt's renderer,
       which ignores clip paths, dropped it; curves running off the plot were drawn over the axes);
     - a cosmetic (non-scaling) stroke under a scaling transform is written in page coordinates
       (librsvg ignores vector-effect="non-scaling-stroke" and drew it thousands of pixels wide);
     - text becomes outlines (QPainterPath.addText, the font engine and fallback fonts the window
       uses), so "σ₁ᵗ" stays one word in viewers that would lay the text out with other fonts.
PDF: the cleaned SVG drawn by Qt's SVG renderer into a QPdfWriter page the size of the target:
     vector, the same geometry as the SVG.
"""
from __future__ import annotations

import io
import math
import os
import re
import xml.etree.ElementTree as ET

import pyqtgraph as pg
from gatescope.core.fileio import atomic_write_bytes, check_writable
from PySide6.QtCore import (
    QBuffer,
    QByteArray,
    QIODevice,
    QMarginsF,
    QPoint,
    QRect,
    QRectF,
    QSize,
    QSizeF,
)
from PySide6.QtGui import (
    QColor,
    QFont,
    QGuiApplication,
    QImage,
    QPageSize,
    QPainter,
    QPainterPath,
    QPdfWriter,
    QRegion,
)
from PySide6.QtSvg import QSvgGenerator, QSvgRenderer
from PySide6.QtWidgets import QGraphicsItem, QGraphicsView, QWidget

FORMATS = (".png", ".svg", ".pdf")
SVG_NS = "http://www.w3.org/2000/svg"
XLINK_NS = "http://www.w3.org/1999/xlink"
ET.register_namespace("", SVG_NS)
ET.register_namespace("xlink", XLINK_NS)
#: A shape this close (page px) to its clip rectangle counts as inside it (left as Qt wrote it).
CLIP_TOLERANCE = 0.5
#: Pieces of one fill cut by neighbouring clip rectangles overlap by this much (page px).
CLIP_SEAM = 0.25
#: A scene item's PNG is painted at this device pixel ratio (sharp on slides).
PNG_SCALE = 2.0


class ExportError(ValueError):
    pass


def _ext(path) -> str:
    ext = os.path.splitext(os.fspath(path))[1].lower()
    if ext not in FORMATS:
        raise ExportError(f"cannot export as '{ext or path}': use .png or .svg or .pdf")
    return ext


def screen_dpi() -> float:
    """Logical dots per inch of the primary screen: the resolution fonts are laid out at."""
    screen = QGuiApplication.primaryScreen()
    return float(screen.logicalDotsPerInch()) if screen is not None else 96.0


def is_scene_item(target) -> bool:
    return isinstance(target, pg.GraphicsObject | pg.GraphicsLayout | pg.PlotItem)


def target_size(target) -> QSizeF:
    if is_scene_item(target):
        r = target.sceneBoundingRect()
        return QSizeF(r.width(), r.height())
    return QSizeF(target.width(), target.height())


# -- painting ----------------------------------------------------------------------------------------
class _VectorMode:
    """While active: every item of the scenes shown by `target` in pyqtgraph's export mode and
    without its item cache (cached items paint bitmaps); restored afterwards."""

    def __init__(self, target):
        if is_scene_item(target):
            scenes = [target.scene()]
        else:
            views = [target] if isinstance(target, QGraphicsView) else []
            views += target.findChildren(QGraphicsView)
            scenes = [v.scene() for v in views if v.scene() is not None]
        self.items = [it for s in scenes for it in s.items()]
        self.cache = []

    def __enter__(self):
        for it in self.items:
            if hasattr(it, "setExportMode"):
                it.setExportMode(True, {"antialias": True, "background": QColor("white")})
            self.cache.append(it.cacheMode())
            it.setCacheMode(QGraphicsItem.NoCache)
        return self

    def __exit__(self, *exc):
        for it, mode in zip(self.items, self.cache):
            if hasattr(it, "setExportMode"):
                it.setExportMode(False)
            it.setCacheMode(mode)
        return False


def _paint_scene_item(item, painter: QPainter) -> None:
    size = target_size(item)
    rect = QRectF(0, 0, size.width(), size.height())
    painter.fillRect(rect, QColor("white"))
    item.scene().render(painter, rect, item.sceneBoundingRect())


def _generator_svg(size: QSizeF, paint) -> bytes:
    """What `paint(painter)` draws, as Qt's SVG 1.1 (clip paths included) of `size`."""
    buf = QBuffer()
    buf.open(QIODevice.WriteOnly)
    gen = QSvgGenerator(QSvgGenerator.SvgVersion.Svg11)
    gen.setOutputDevice(buf)
    gen.setResolution(round(screen_dpi()))
    gen.setSize(QSize(max(1, math.ceil(size.width())), max(1, math.ceil(size.height()))))
    gen.setViewBox(QRectF(0, 0, size.width(), size.height()))
    painter = QPainter(gen)
    try:
        paint(painter)
    finally:
        painter.end()
    return bytes(buf.data())


def widgets_in_paint_order(top: QWidget):
    """[(widget, visible rectangle in top's coordinates)]: top, then each child after its parent
    in stacking order, cut to its ancestors (scroll areas); hidden and empty ones left out."""
    out = []

    def visit(w, clip: QRect):
        r = QRect(w.mapTo(top, QPoint(0, 0)), w.size()) if w is not top else QRect(QPoint(0, 0), top.size())
        r = r.intersected(clip)
        if r.isEmpty():
            return
        out.append((w, r))
        for c in w.children():
            if isinstance(c, QWidget) and not c.isWindow() and c.isVisibleTo(top):
                visit(c, r)

    visit(top, QRect(QPoint(0, 0), top.size()))
    return out


def _widget_fragment(w: QWidget, top: QWidget) -> bytes:
    flags = QWidget.RenderFlag.DrawWindowBackground if w is top else QWidget.RenderFlag(0)

    def paint(painter):
        if w is top:
            painter.fillRect(QRectF(0, 0, w.width(), w.height()), QColor("white"))
        QWidget.render(w, painter, QPoint(0, 0), QRegion(w.rect()), flags)   # not QGraphicsView.render
    return _generator_svg(QSizeF(w.width(), w.height()), paint)


# -- SVG -------------------------------------------------------------------------------------------
def raw_svg(target) -> bytes:
    """Qt's SVG of `target` before `clean_svg`: one generator for a scene item; for a widget, one
    generator per widget, each placed at its offset and cut to its visible rectangle."""
    size = target_size(target)
    with _VectorMode(target):
        if is_scene_item(target):
            return _generator_svg(size, lambda p: _paint_scene_item(target, p))
        root = ET.Element(f"{{{SVG_NS}}}svg", {
            "width": _fmt(size.width()), "height": _fmt(size.height()), "version": "1.1",
            "viewBox": f"0 0 {_fmt(size.width())} {_fmt(size.height())}"})
        defs = ET.SubElement(root, f"{{{SVG_NS}}}defs")
        for k, (w, r) in enumerate(widgets_in_paint_order(target)):
            _place_fragment(root, defs, ET.fromstring(_widget_fragment(w, target)), f"w{k}-",
                            w.mapTo(target, QPoint(0, 0)) if w is not target else QPoint(0, 0), r)
    return ET.tostring(root, encoding="UTF-8", xml_declaration=True)


def _place_fragment(root, defs, frag, prefix: str, offset: QPoint, visible: QRect) -> None:
    """Move `frag`'s drawing into `root` at `offset`, cut to `visible` (root coordinates), with
    its ids prefixed (clip paths, gradients) so fragments never collide."""
    _prefix_ids(frag, prefix)
    cid = f"{prefix}visible"
    clip = ET.SubElement(defs, f"{{{SVG_NS}}}clipPath", {"id": cid})
    x0, y0, x1, y1 = visible.x(), visible.y(), visible.x() + visible.width(), visible.y() + visible.height()
    ET.SubElement(clip, f"{{{SVG_NS}}}path", {"d": f"M{x0},{y0} L{x1},{y0} L{x1},{y1} L{x0},{y1} Z"})
    outer = ET.SubElement(root, f"{{{SVG_NS}}}g", {"clip-path": f"url(#{cid})"})
    inner = ET.SubElement(outer, f"{{{SVG_NS}}}g",
                          {"transform": f"matrix(1,0,0,1,{offset.x()},{offset.y()})"})
    for child in list(frag):
        tag = _tag(child)
        if tag == "defs":
            defs.extend(list(child))
        elif tag not in ("title", "desc"):
            inner.append(child)


def _prefix_ids(tree, prefix: str) -> None:
    for el in tree.iter():
        if el.get("id"):
            el.set("id", prefix + el.get("id"))
        for k, v in el.attrib.items():
            if "url(#" in v:
                el.set(k, v.replace("url(#", "url(#" + prefix))
            elif k == f"{{{XLINK_NS}}}href" and v.startswith("#"):
                el.set(k, "#" + prefix + v[1:])


def svg_bytes(target) -> bytes:
    """The SVG of `target` as written to a file: `raw_svg` made robust by `clean_svg`."""
    return clean_svg(raw_svg(target))


def export_widget_svg(widget, path):
    """A widget (or the window) as SVG, written atomically."""
    check_writable(path)
    atomic_write_bytes(path, svg_bytes(widget))


def export_scene_item_svg(item, path):
    """A pyqtgraph scene item (a plot, a layout of plots) as SVG, written atomically."""
    check_writable(path)
    atomic_write_bytes(path, svg_bytes(item))


# -- PDF -------------------------------------------------------------------------------------------
def pdf_bytes(target, svg: bytes | None = None) -> bytes:
    """`target` as a one-page vector PDF the size of the target (at the screen's resolution):
    its cleaned SVG (`svg`, if already made) drawn by Qt's SVG renderer."""
    size = target_size(target)
    renderer = QSvgRenderer(QByteArray(svg_bytes(target) if svg is None else svg))
    if not renderer.isValid():
        raise ExportError("cannot render the drawing")
    dpi = screen_dpi()
    buf = QBuffer()
    buf.open(QIODevice.WriteOnly)
    writer = QPdfWriter(buf)
    writer.setResolution(round(dpi))
    points = QSizeF(size.width() * 72.0 / dpi, size.height() * 72.0 / dpi)
    writer.setPageSize(QPageSize(points, QPageSize.Point, "Gatescope", QPageSize.ExactMatch))
    writer.setPageMargins(QMarginsF(0, 0, 0, 0))
    writer.setTitle("Gatescope")
    writer.setCreator("Gatescope")
    painter = QPainter(writer)
    try:
        renderer.render(painter, QRectF(0, 0, size.width(), size.height()))
    finally:
        painter.end()
    return bytes(buf.data())


def export_widget_pdf(widget, path):
    """A widget (or the window) as a vector PDF, written atomically."""
    check_writable(path)
    atomic_write_bytes(path, pdf_bytes(widget))


def export_scene_item_pdf(item, path):
    """A pyqtgraph scene item as a vector PDF, written atomically."""
    check_writable(path)
    atomic_write_bytes(path, pdf_bytes(item))


# -- PNG -------------------------------------------------------------------------------------------
def png_image(target) -> QImage:
    """A scene item painted at PNG_SCALE × its size; a widget as QWidget.grab shows it."""
    if not is_scene_item(target):
        return target.grab().toImage()
    size = target_size(target)
    image = QImage(max(1, round(size.width() * PNG_SCALE)), max(1, round(size.height() * PNG_SCALE)),
                   QImage.Format_ARGB32_Premultiplied)
    image.setDevicePixelRatio(PNG_SCALE)
    image.fill(QColor("white"))
    painter = QPainter(image)
    painter.setRenderHint(QPainter.Antialiasing)
    painter.setRenderHint(QPainter.TextAntialiasing)
    try:
        with _VectorMode(target):
            _paint_scene_item(target, painter)
    finally:
        painter.end()
    return image


def png_bytes(target) -> bytes:
    image = png_image(target)
    data = QByteArray()
    buf = QBuffer(data)
    buf.open(QIODevice.WriteOnly)
    if image.isNull() or not image.save(buf, "PNG"):
        raise ExportError("cannot render the image")
    return bytes(data)


def export_item(target, path):
    """target: a pyqtgraph PlotItem / GraphicsLayout or any QWidget; the format is the file's
    extension (.png, .svg, .pdf). Raises ExportError (bad extension, nothing rendered) or OSError
    (fileio.WriteError: the file cannot be written; the old one is untouched)."""
    ext = _ext(path)
    if not (is_scene_item(target) or isinstance(target, QWidget)):
        raise ExportError(f"cannot export a {type(target).__name__}")
    check_writable(path)
    data = {".png": png_bytes, ".svg": svg_bytes, ".pdf": pdf_bytes}[ext](target)
    if not data:
        raise ExportError(f"nothing to write to {path}")
    atomic_write_bytes(path, data)


def export_window(window, path, size=None):
    """The window as PNG, SVG or PDF (by the extension) at exactly `size` = (width, height) pixels
    (default: as it is), written atomically; the same exports the File menu makes."""
    _ext(path)
    check_writable(path)
    if size is not None:
        w, h = int(size[0]), int(size[1])
        if w < 1 or h < 1:
            raise ExportError(f"cannot export a window of {w}×{h} pixels")
        if (window.width(), window.height()) != (w, h):
            window.resize(w, h)
            app = QGuiApplication.instance()
            for _ in range(3):            # let the layouts settle at the new size
                app.processEvents()
        if (window.width(), window.height()) != (w, h):
            raise ExportError(f"the window cannot be {w}×{h} pixels (its minimum is "
                              f"{window.minimumWidth()}×{window.minimumHeight()})")
    export_item(window, path)


# -- making the SVG hold -----------------------------------------------------------------------------
def clean_svg(data: bytes) -> bytes:
    """Qt's SVG with its geometry cut to its clip rectangles, cosmetic strokes in page
    coordinates and text as outlines (see the module docstring)."""
    root = ET.fromstring(data)
    clips = _clip_rects(root)
    _walk(root, _IDENTITY, None, {}, clips)
    out = io.BytesIO()
    ET.ElementTree(root).write(out, encoding="UTF-8", xml_declaration=True)
    return out.getvalue()


_IDENTITY = (1.0, 0.0, 0.0, 1.0, 0.0, 0.0)
_NUM = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?"
_STROKE_ATTRS = ("fill", "stroke", "stroke-width", "stroke-dasharray")


def _tag(el) -> str:
    return el.tag.rsplit("}", 1)[-1]


def _fmt(v: float) -> str:
    return f"{v:.8g}"


def _compose(m, n):
    """The affine map m ∘ n (n applied first); (a, b, c, d, e, f) as in SVG's matrix()."""
    a, b, c, d, e, f = m
    a2, b2, c2, d2, e2, f2 = n
    return (a * a2 + c * b2, b * a2 + d * b2, a * c2 + c * d2, b * c2 + d * d2,
            a * e2 + c * f2 + e, b * e2 + d * f2 + f)


def _inverse(m):
    a, b, c, d, e, f = m
    det = a * d - b * c
    if det == 0 or not math.isfinite(det):
        return None
    ia, ib, ic, id_ = d / det, -b / det, -c / det, a / det
    return ia, ib, ic, id_, -(ia * e + ic * f), -(ib * e + id_ * f)


def _apply(m, x, y):
    a, b, c, d, e, f = m
    return a * x + c * y + e, b * x + d * y + f


def _matrix_text(m) -> str:
    return "matrix(" + ",".join(_fmt(v) for v in m) + ")"


def _parse_transform(text: str | None):
    if not text:
        return _IDENTITY
    m = re.fullmatch(r"\s*matrix\(([^)]*)\)\s*", text)
    if not m:
        return None                      # a form Qt does not write: leave that subtree alone
    v = [float(x) for x in re.findall(_NUM, m.group(1))]
    return tuple(v) if len(v) == 6 else None


def _clip_rects(root) -> dict:
    """clipPath id → tuple of (x0, y0, x1, y1) rectangles (their union; in the clipPath's own
    coordinates) for the clips Qt writes: a rectangle, or a region of rectangles as subpaths.
    Other shapes are left to the renderer."""
    out = {}
    for cp in root.iter(f"{{{SVG_NS}}}clipPath"):
        paths = [el for el in cp if _tag(el) == "path"]
        if len(paths) != 1 or cp.get("transform") or paths[0].get("transform"):
            continue
        rects = []
        for pts, _ in _subpaths(_parse_path(paths[0].get("d", ""))):
            xs, ys = {round(p[0], 6) for p in pts}, {round(p[1], 6) for p in pts}
            if len(xs) > 2 or len(ys) > 2:
                rects = None
                break
            rects.append((min(xs), min(ys), max(xs), max(ys)))
        if rects:
            out[cp.get("id")] = tuple(rects)
    return out


def _walk(el, m, clip, inherited, clips) -> None:
    """Depth first: accumulate the transform m (local → page), the clip (a union of page
    rectangles) and the fill / stroke attributes; text to outlines; place every shape."""
    for child in list(el):
        tag = _tag(child)
        if tag in ("defs", "clipPath", "title", "desc"):
            continue
        t = _parse_transform(child.get("transform"))
        if t is None:
            continue
        cm = _compose(m, t)
        ref = re.fullmatch(r"url\(#([^)]+)\)", child.get("clip-path", ""))
        c = clip
        if ref and ref.group(1) in clips:
            # a clip path lies in the user space of the element that refers to it
            rects = tuple(_bbox([_apply(cm, x, y) for x in (x0, x1) for y in (y0, y1)])
                          for x0, y0, x1, y1 in clips[ref.group(1)])
            c = rects if clip is None else tuple(
                r for r in (_intersect(a, b) for a in clip for b in rects) if r[0] < r[2] and r[1] < r[3])
        attrs = {**inherited, **{k: v for k, v in child.attrib.items() if k in _STROKE_ATTRS}}
        if tag == "text":
            child = _text_to_path(el, child)
            if child is None:
                continue
            tag = "path"
        if tag == "g":
            if c is not None and not c:
                el.remove(child)          # clipped away entirely
                continue
            _walk(child, cm, c, attrs, clips)
        elif not _place_shape(child, tag, m, cm, c, attrs):
            el.remove(child)


def _bbox(pts):
    return (min(p[0] for p in pts), min(p[1] for p in pts), max(p[0] for p in pts), max(p[1] for p in pts))


def _intersect(r, s):
    return (max(r[0], s[0]), max(r[1], s[1]), min(r[2], s[2]), min(r[3], s[3]))


def _disjoint(r, s) -> bool:
    return r[2] < s[0] or s[2] < r[0] or r[3] < s[1] or s[3] < r[1]


def _contains(r, s, tol: float = CLIP_TOLERANCE) -> bool:
    return r[0] - tol <= s[0] and r[1] - tol <= s[1] and s[2] <= r[2] + tol and s[3] <= r[3] + tol


def _stroked(attrs) -> bool:
    return attrs.get("stroke", "none") != "none"


def _scale(m) -> float:
    return math.sqrt(abs(m[0] * m[3] - m[1] * m[2]))


def _place_shape(el, tag, parent_m, m, clip, attrs) -> bool:
    """Place one shape whose local → page map is m: removed (False) when it lies wholly outside
    `clip`; cut to `clip` where it crosses it; a cosmetic stroke under a scaling or rotating
    map rewritten in page coordinates (the element's transform then undoes its parent's)."""
    cosmetic = el.get("vector-effect") == "non-scaling-stroke" and _stroked(attrs)
    if tag == "image":
        x, y = float(el.get("x", 0)), float(el.get("y", 0))
        w, h = float(el.get("width", 0)), float(el.get("height", 0))
        box = _bbox([_apply(m, px, py) for px in (x, x + w) for py in (y, y + h)])
        return clip is None or any(not _disjoint(box, r) for r in clip)
    if tag not in ("rect", "path", "polyline", "polygon"):
        return True
    cmds = _shape_commands(el, tag)
    if cmds is None:
        return True
    page = [(c, [_apply(m, x, y) for x, y in ps]) for c, ps in cmds]
    pts = [p for _, ps in page for p in ps]
    if not pts:
        return False
    box = _bbox(pts)
    if clip is not None and all(_disjoint(box, r) for r in clip):
        return False
    crosses = clip is not None and not any(_contains(r, box) for r in clip)
    linear = m[:4] != (1.0, 0.0, 0.0, 1.0)
    if not crosses and not (cosmetic and linear):
        return True
    filled = attrs.get("fill", "black") != "none" or tag == "polygon"
    if crosses:
        # pieces of a fill cut by neighbouring rectangles overlap by a hair: no seams
        pad = CLIP_SEAM if filled and len(clip) > 1 else 0.0
        d = " ".join(_clipped_data(_subpaths(page), (r[0] - pad, r[1] - pad, r[2] + pad, r[3] + pad),
                                   filled) for r in clip if not _disjoint(box, r)).strip()
    else:
        d = _commands_data(page)
    if not d:
        return False
    inv = _inverse(parent_m)
    if inv is None:
        return False
    _to_path(el, tag, d, attrs)
    if parent_m != _IDENTITY:
        el.set("transform", _matrix_text(inv))
    else:
        el.attrib.pop("transform", None)
    if not cosmetic and _stroked(attrs):
        _scale_stroke(el, _scale(m), attrs)     # now drawn in page units
    return True


def _shape_commands(el, tag):
    """[(command, points)] of a rect / path / polyline / polygon in its local coordinates."""
    if tag == "rect":
        try:
            x, y = float(el.get("x", 0)), float(el.get("y", 0))
            w, h = float(el.get("width", 0)), float(el.get("height", 0))
        except ValueError:
            return None
        if el.get("rx") or el.get("ry"):
            return None                  # rounded: Qt does not write them; leave it to the renderer
        return [("M", [(x, y)]), ("L", [(x + w, y)]), ("L", [(x + w, y + h)]), ("L", [(x, y + h)]),
                ("Z", [])]
    if tag == "path":
        return _parse_path(el.get("d", ""))
    nums = [float(v) for v in re.findall(_NUM, el.get("points", ""))]
    pts = list(zip(nums[0::2], nums[1::2]))
    cmds = ([("M", [pts[0]])] + [("L", [p]) for p in pts[1:]]) if pts else []
    if tag == "polygon" and cmds:
        cmds.append(("Z", []))
    return cmds


def _to_path(el, tag, d, attrs) -> None:
    """Turn the element into a <path d=…> (keeping its other attributes)."""
    if tag != "path":
        for k in ("x", "y", "width", "height", "points"):
            el.attrib.pop(k, None)
        if tag in ("polyline", "polygon") and "fill" not in el.attrib:
            el.set("fill", attrs.get("fill", "black"))
        el.tag = f"{{{SVG_NS}}}path"
    el.set("d", d)


def _scale_stroke(el, k: float, attrs) -> None:
    """A stroke in local units that moves to its parent's units: width (and dashes) × k."""
    if abs(k - 1) < 1e-12:
        return
    try:
        el.set("stroke-width", _fmt(float(attrs.get("stroke-width", "1")) * k))
    except ValueError:
        return
    dashes = attrs.get("stroke-dasharray")
    if dashes and dashes != "none":
        el.set("stroke-dasharray", ",".join(_fmt(float(v) * k) for v in re.findall(_NUM, dashes)))


def _commands_data(cmds) -> str:
    return " ".join(c + " ".join(f"{_fmt(x)},{_fmt(y)}" for x, y in ps) for c, ps in cmds)


def _clipped_data(subpaths, r, filled: bool) -> str:
    """Path data of `subpaths` [(points, closed)] cut to rectangle r: polygons for a fill
    (a fill closes every subpath), line runs for a stroke (closing edges included)."""
    out = []
    for pts, closed in subpaths:
        if filled:
            pieces = [_clip_polygon(pts, r)]
        else:
            pieces = _clip_polyline(pts + [pts[0]] if closed else pts, r)
        for piece in pieces:
            if len(piece) >= 2:
                out.append("M" + " L".join(f"{_fmt(x)},{_fmt(y)}" for x, y in piece)
                           + (" Z" if filled else ""))
    return " ".join(out)


def _parse_path(d: str):
    """Qt's absolute path data → [(command, points)] with commands M, L, C (three points), Z."""
    tokens = re.findall(rf"[MLCZmlcz]|{_NUM}", d)
    out, cmd, i = [], "M", 0
    while i < len(tokens):
        tok = tokens[i]
        if tok in "MLCZmlcz":
            cmd = tok.upper()
            i += 1
            if cmd == "Z":
                out.append(("Z", []))
            continue
        n = 6 if cmd == "C" else 2
        if cmd not in "MLC" or i + n > len(tokens):
            i += 1
            continue
        v = [float(x) for x in tokens[i:i + n]]
        out.append((cmd, list(zip(v[0::2], v[1::2]))))
        i += n
        if cmd == "M":
            cmd = "L"
    return out


def _subpaths(cmds):
    """[(command, points)] → [(points, closed)], curves flattened to 12 segments (exact enough
    for cutting at the view's edge)."""
    subs, cur, start = [], [], (0.0, 0.0)
    for c, ps in cmds:
        if c == "M":
            if cur:
                subs.append((cur, False))
            start = ps[0]
            cur = [start]
        elif c == "L":
            cur = cur or [start]
            cur.append(ps[0])
        elif c == "C":
            cur = cur or [start]
            cur.extend(_bezier(cur[-1], *ps))
        elif c == "Z" and cur:
            subs.append((cur, True))
            cur = []
    if cur:
        subs.append((cur, False))
    return subs


def _bezier(p0, p1, p2, p3, n=12):
    out = []
    for k in range(1, n + 1):
        t = k / n
        u = 1 - t
        out.append((u ** 3 * p0[0] + 3 * u * u * t * p1[0] + 3 * u * t * t * p2[0] + t ** 3 * p3[0],
                    u ** 3 * p0[1] + 3 * u * u * t * p1[1] + 3 * u * t * t * p2[1] + t ** 3 * p3[1]))
    return out


def _clip_polyline(pts, r):
    """Liang–Barsky: the runs of an open polyline inside rectangle r = (x0, y0, x1, y1)."""
    runs, run = [], []
    for p, q in zip(pts, pts[1:]):
        seg = _clip_segment(p, q, r)
        if seg is None:
            if run:
                runs.append(run)
                run = []
            continue
        a, b = seg
        if not run or run[-1] != a:
            if run:
                runs.append(run)
            run = [a]
        run.append(b)
        if b != q:
            runs.append(run)
            run = []
    if run:
        runs.append(run)
    if len(pts) == 1 and r[0] <= pts[0][0] <= r[2] and r[1] <= pts[0][1] <= r[3]:
        runs.append([pts[0], pts[0]])
    return runs


def _clip_segment(p, q, r):
    (x0, y0), (x1, y1) = p, q
    dx, dy = x1 - x0, y1 - y0
    t0, t1 = 0.0, 1.0
    for pk, qk in ((-dx, x0 - r[0]), (dx, r[2] - x0), (-dy, y0 - r[1]), (dy, r[3] - y0)):
        if pk == 0:
            if qk < 0:
                return None
            continue
        t = qk / pk
        if pk < 0:
            t0 = max(t0, t)
        else:
            t1 = min(t1, t)
        if t0 > t1:
            return None
    a = p if t0 == 0 else (x0 + t0 * dx, y0 + t0 * dy)
    b = q if t1 == 1 else (x0 + t1 * dx, y0 + t1 * dy)
    return a, b


def _clip_polygon(pts, r):
    """Sutherland–Hodgman: polygon `pts` cut to rectangle r (convex clip, exact for fills)."""
    def cut(poly, inside, cross):
        out = []
        for i, cur in enumerate(poly):
            prev = poly[i - 1]
            if inside(cur):
                if not inside(prev):
                    out.append(cross(prev, cur))
                out.append(cur)
            elif inside(prev):
                out.append(cross(prev, cur))
        return out

    def at_x(x):
        return lambda p, q: (x, p[1] + (q[1] - p[1]) * (x - p[0]) / (q[0] - p[0]))

    def at_y(y):
        return lambda p, q: (p[0] + (q[0] - p[0]) * (y - p[1]) / (q[1] - p[1]), y)

    poly = list(pts)
    for inside, cross in ((lambda p: p[0] >= r[0], at_x(r[0])), (lambda p: p[0] <= r[2], at_x(r[2])),
                          (lambda p: p[1] >= r[1], at_y(r[1])), (lambda p: p[1] <= r[3], at_y(r[3]))):
        if not poly:
            break
        poly = cut(poly, inside, cross)
    return poly


# -- text as outlines ----------------------------------------------------------------------------------
def _text_to_path(parent, el):
    """Replace <text> by a <path> of its glyph outlines (same place, fill and opacity); None if
    it holds no visible text."""
    text = "".join(el.itertext())
    if not text.strip():
        parent.remove(el)
        return None
    path = QPainterPath()
    path.addText(float(el.get("x", 0)), float(el.get("y", 0)), _font(el), text)
    d = _path_data(path)
    new = ET.Element(f"{{{SVG_NS}}}path", {"d": d or "M0,0", "fill-rule": "nonzero", "stroke": "none"})
    for k in ("fill", "fill-opacity"):
        if el.get(k) is not None:
            new.set(k, el.get(k))
    index = list(parent).index(el)
    parent.remove(el)
    parent.insert(index, new)
    return new


def _font(el) -> QFont:
    """The QFont a <text> element names, at its pixel size (laid out at the screen's dpi)."""
    font = QFont(el.get("font-family", "Sans Serif").strip("'\""))
    try:
        px = float(el.get("font-size", "12"))
    except ValueError:
        px = 12.0
    font.setPointSizeF(max(px, 0.1) * 72.0 / screen_dpi())
    try:
        font.setWeight(QFont.Weight(int(float(el.get("font-weight", "400")))))
    except (ValueError, TypeError):
        font.setBold(el.get("font-weight") == "bold")
    font.setItalic(el.get("font-style", "normal") in ("italic", "oblique"))
    return font


def _path_data(path: QPainterPath) -> str:
    """SVG path data of a QPainterPath (move, line, cubic; subpaths closed as Qt closes them)."""
    parts, i, n = [], 0, path.elementCount()
    while i < n:
        e = path.elementAt(i)
        if e.type == QPainterPath.ElementType.MoveToElement:
            parts.append(f"M{_fmt(e.x)},{_fmt(e.y)}")
            i += 1
        elif e.type == QPainterPath.ElementType.LineToElement:
            parts.append(f"L{_fmt(e.x)},{_fmt(e.y)}")
            i += 1
        else:   # CurveToElement followed by two CurveToDataElements
            c1, c2 = path.elementAt(i + 1), path.elementAt(i + 2)
            parts.append(f"C{_fmt(e.x)},{_fmt(e.y)} {_fmt(c1.x)},{_fmt(c1.y)} {_fmt(c2.x)},{_fmt(c2.y)}")
            i += 3
    return " ".join(parts)
