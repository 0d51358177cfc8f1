"""The σ₁ slider: floats on a native QSlider, driven by keys and setValue."""
import pytest
from gatescope.gui.float_slider import FloatSlider
from PySide6.QtCore import Qt


def test_float_positions_round_trip_and_keys_step(qtbot):
    s = FloatSlider(Qt.Horizontal, resolution=0.001)
    qtbot.addWidget(s)
    s.setRange(0.5, 1.5)
    s.setSingleStep(0.001)
    s.setPageStep(0.01)
    assert (s.minimum(), s.maximum()) == (0.5, 1.5)
    seen = []
    s.value_changed.connect(seen.append)
    for v in (0.5, 0.913, 1.02, 1.5):
        s.setValue(v)
        assert s.value() == v
    assert seen == [0.913, 1.02, 1.5]          # 0.5 was already the position: no signal
    s.setValue(1.0)
    s.setFocus()
    qtbot.keyClick(s, Qt.Key_Right)
    assert s.value() == 1.001 and seen[-1] == 1.001
    qtbot.keyClick(s, Qt.Key_PageUp)
    assert s.value() == 1.011
    s.setValue(7.0)                            # clamped to the range, like QSlider
    assert s.value() == 1.5


def test_resolution_must_be_positive(qtbot):
    with pytest.raises(ValueError):
        FloatSlider(Qt.Horizontal, resolution=0.0)
