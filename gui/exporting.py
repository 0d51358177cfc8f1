"""Export any plot or the whole window as PNG or SVG: pyqtgraph's exporters for plot scenes,
QSvgGenerator / QWidget.grab for painted widgets and the window."""
from __future__ import annotations

import os

import pyqtgraph as pg
import pyqtgraph.exporters  # noqa: F401  (registers the exporters)
from PySide6.QtCore import QPoint, QRect, QRectF, QSize
from PySide6.QtGui import QColor, QPainter
from PySide6.QtSvg import QSvgGenerator

FORMATS = (".png", ".svg")


class ExportError(ValueError):
    pass


def _ext(path) -> str:
    ext = os.path.splitext(os.fspath(path))[1].lower()
    if ext not in FORMATS:
        raise ExportError(f"cannot export as '{ext or path}': use .png or .svg")
    return ext


def export_widget_svg(widget, path):
    gen = QSvgGenerator()
    gen.setFileName(os.fspath(path))
    gen.setSize(QSize(widget.width(), widget.height()))
    gen.setViewBox(QRect(0, 0, widget.width(), widget.height()))
    gen.setTitle("Gatescope")
    painter = QPainter(gen)
    widget.render(painter, QPoint(0, 0))
    painter.end()


def export_scene_item_svg(item, path):
    """A pyqtgraph scene item as vector SVG, rendered by Qt's own SVG generator.

    (pyqtgraph 0.14's SVGExporter fails to parse the path data Qt ≥ 6.8 writes.)"""
    rect = item.sceneBoundingRect()
    gen = QSvgGenerator()
    gen.setFileName(os.fspath(path))
    gen.setSize(QSize(int(rect.width()), int(rect.height())))
    gen.setViewBox(QRectF(0, 0, rect.width(), rect.height()))
    gen.setTitle("Gatescope")
    painter = QPainter(gen)
    painter.fillRect(QRectF(0, 0, rect.width(), rect.height()), QColor("white"))
    item.scene().render(painter, QRectF(0, 0, rect.width(), rect.height()), rect)
    painter.end()


def export_item(target, path):
    """target: a pyqtgraph PlotItem / GraphicsLayout or any QWidget."""
    ext = _ext(path)
    if isinstance(target, pg.GraphicsObject | pg.GraphicsLayout | pg.PlotItem):
        if ext == ".png":
            exporter = pg.exporters.ImageExporter(target)
            exporter.parameters()["width"] = max(800, int(target.boundingRect().width()) * 2)
            exporter.export(os.fspath(path))
        else:
            export_scene_item_svg(target, path)
    elif ext == ".png":
        if not target.grab().save(os.fspath(path), "PNG"):
            raise ExportError(f"cannot write {path}")
    else:
        export_widget_svg(target, path)
    if not os.path.exists(path) or os.path.getsize(path) == 0:
        raise ExportError(f"cannot write {path}")
