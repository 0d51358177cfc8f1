"""An ImageItem that hands the painter a format it can scale fast.

pyqtgraph renders a float image through a 256-entry lookup table as an 8-bit indexed QImage (or,
with NaNs, as non-premultiplied ARGB32). Qt's raster engine converts either on every draw, which
made each heatmap cost ≈ 0.4 ms a paint at 600 × 400 px; as RGB32 (opaque) or premultiplied ARGB32
the same drawing costs ≈ 0.2 ms. The conversion is done once per new image, on a T × n QImage."""
from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtGui import QImage

_FAST = {QImage.Format_RGB32, QImage.Format_ARGB32_Premultiplied}


class Heatmap(pg.ImageItem):
    def render(self):
        super().render()
        img = self.qimage
        if img is None or img.format() in _FAST:
            return
        opaque = not img.hasAlphaChannel() and (img.format() != QImage.Format_Indexed8
                                                 or all(c >> 24 == 0xFF for c in img.colorTable()))
        self.qimage = img.convertToFormat(QImage.Format_RGB32 if opaque else QImage.Format_ARGB32_Premultiplied)
