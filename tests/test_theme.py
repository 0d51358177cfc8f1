"""The theme is an object: after Ctrl+2 then Ctrl+1 (and high contrast on and off) the window is
pixel-identical to a fresh start at ×1."""
import numpy as np
from gatescope.core.config import Config
from gatescope.gui.app import create_window
from gatescope.gui.style import Theme
from PySide6.QtCore import Qt
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QWidget


def _pixels(widget) -> np.ndarray:
    img = widget.grab().toImage().convertToFormat(QImage.Format_RGB32)
    ptr = img.constBits()
    return np.frombuffer(ptr, np.uint8, img.sizeInBytes()).reshape(img.height(), -1).copy()


def test_scale_and_contrast_round_trip_is_pixel_identical(qtbot):
    session, window = create_window(Config(length=40))
    qtbot.addWidget(window)
    window.resize(1400, 900)
    window.show()
    qtbot.waitExposed(window)
    assert session.wait_until_idle()
    qtbot.wait(50)
    fresh = _pixels(window)
    menu_font = window.menuBar().font().pointSizeF()
    fonts = {w: (w.font().pointSizeF(), w.font().bold()) for w in window.findChildren(QWidget)
             if w.objectName()}                                  # the named widgets
    qtbot.keyClick(window, Qt.Key_2, Qt.ControlModifier)
    assert window.theme == Theme(scale=1.5) or window.theme.scale == 1.5
    qtbot.keyClick(window, Qt.Key_3, Qt.ControlModifier)
    assert window.theme.scale == 2.0 and window.menuBar().font().pointSizeF() == 2 * menu_font
    assert window.frames["gradient"].font().bold()
    qtbot.keyClick(window, Qt.Key_H, Qt.ControlModifier)
    assert window.theme.high_contrast
    qtbot.keyClick(window, Qt.Key_H, Qt.ControlModifier)
    qtbot.keyClick(window, Qt.Key_1, Qt.ControlModifier)
    assert window.theme == Theme()
    assert session.wait_until_idle()
    qtbot.wait(50)
    again = _pixels(window)
    assert window.menuBar().font().pointSizeF() == menu_font
    import shiboken6
    changed = [w.objectName() for w, f in fonts.items()
               if shiboken6.isValid(w) and (w.font().pointSizeF(), w.font().bold()) != f]
    assert changed == [], changed[:10]
    assert fresh.shape == again.shape
    differ = np.argwhere(np.any(fresh.reshape(fresh.shape[0], -1, 4) != again.reshape(fresh.shape[0], -1, 4), axis=2))
    assert len(differ) == 0, f"{len(differ)} pixels differ, first (row, column) at {differ[:3].tolist()}"
    session.shutdown()
