"""A slider over floats on Qt's own QSlider: integer positions k stand for lo + k·resolution.

(superqt's QDoubleSlider did this, and the one import of superqt cost a tenth of a second of
every start; a native QSlider also paints faster.)"""
from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QSlider


class FloatSlider(QSlider):
    """QSlider with float setRange / setValue / value / setSingleStep / setPageStep, in steps of
    `resolution`. Signal: value_changed(float) with every new position (QSlider's valueChanged
    still carries the integer position)."""

    value_changed = Signal(float)

    def __init__(self, orientation, resolution: float = 0.001, parent=None):
        super().__init__(orientation, parent)
        if not resolution > 0:
            raise ValueError("resolution must be positive")
        self._res, self._lo = float(resolution), 0.0
        self._decimals = max(0, -int(f"{self._res:e}".split("e")[1])) + 3
        super().valueChanged.connect(lambda k: self.value_changed.emit(self._to_float(k)))

    def _to_float(self, k: int) -> float:
        return round(self._lo + k * self._res, self._decimals)

    def _to_int(self, v: float) -> int:
        return int(round((float(v) - self._lo) / self._res))

    def setRange(self, lo: float, hi: float):               # noqa: N802 (Qt's name)
        self._lo = float(lo)
        super().setRange(0, self._to_int(hi))

    def setValue(self, v: float):                           # noqa: N802
        super().setValue(self._to_int(v))

    def value(self) -> float:
        return self._to_float(super().value())

    def minimum(self) -> float:
        return self._to_float(super().minimum())

    def maximum(self) -> float:
        return self._to_float(super().maximum())

    def setSingleStep(self, step: float):                   # noqa: N802
        super().setSingleStep(max(1, int(round(step / self._res))))

    def setPageStep(self, step: float):                     # noqa: N802
        super().setPageStep(max(1, int(round(step / self._res))))
