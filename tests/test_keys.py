"""Focus and keys for a lecturer: number boxes commit on Enter / focus-out (not per keystroke);
Space, the arrows, Home/End and PageUp/PageDown step and play whatever widget has the focus,
except while text is being typed; Esc gives the focus back to the plots."""
import pytest
from gatescope.core.config import Config
from gatescope.gui.app import create_window
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QSlider, QSpinBox


@pytest.fixture
def win(qtbot):
    session, window = create_window(Config(length=50))
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    window.activateWindow()
    assert session.wait_until_idle()
    yield session, window
    session.shutdown()


def test_typing_256_simulates_only_256(win, qtbot):
    session, window = win
    seen = []
    session.config_changed.connect(lambda c: seen.append(c.hidden))
    box = window.findChild(QSpinBox, "hidden_size")
    box.setFocus()
    box.selectAll()
    qtbot.keyClicks(box, "256")
    assert seen == [] and session.config.hidden == 16          # nothing while typing
    qtbot.keyClick(box, Qt.Key_Return)
    assert seen == [256] and session.config.hidden == 256
    assert session.wait_until_idle(60000)
    assert session.analysis.cell.hidden_size == 256
    # committed: the focus is back on the plots, and Space plays
    assert QApplication.focusWidget() is window.gradient.plot_widget
    qtbot.keyClick(QApplication.focusWidget(), Qt.Key_Space)
    assert session.playing
    qtbot.keyClick(QApplication.focusWidget(), Qt.Key_Space)
    assert not session.playing


@pytest.mark.parametrize("key,expect", [(Qt.Key_Left, 49), (Qt.Key_PageUp, 49), (Qt.Key_Home, 0)])
def test_clicker_keys_step_whatever_has_the_focus(win, qtbot, key, expect):
    session, window = win
    slider = window.findChild(QSlider, "sigma1") or window.findChild(object, "sigma1")
    slider.setFocus()
    sigma = session.config.sigma1
    qtbot.keyClick(slider, key)
    assert session.step == expect
    assert session.config.sigma1 == sigma             # the slider did not move
    qtbot.keyClick(slider, Qt.Key_End)
    assert session.step == 50
    session.set_step(10)
    qtbot.keyClick(slider, Qt.Key_PageDown)
    qtbot.keyClick(slider, Qt.Key_Right)
    assert session.step == 12


def test_keys_type_into_a_box_and_esc_gives_the_focus_back(win, qtbot):
    session, window = win
    sentence = window.findChild(object, "sentence")
    session.update(source="text")
    assert session.wait_until_idle()
    sentence.setFocus()
    step = session.step
    qtbot.keyClick(sentence, Qt.Key_Space)            # a space in the sentence, not play
    qtbot.keyClick(sentence, Qt.Key_Left)             # the cursor moves, not the step
    assert not session.playing and session.step == step
    qtbot.keyClick(sentence, Qt.Key_Escape)
    assert QApplication.focusWidget() is window.gradient.plot_widget
    qtbot.keyClick(window.gradient.plot_widget, Qt.Key_Left)
    assert session.step == step - 1
