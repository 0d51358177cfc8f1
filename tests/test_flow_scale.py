"""The cell-state flow's labels and caption follow the presentation scale (the view kept the
fresh start's fonts: at 4K ×2 its text was a third the size of every other panel's) and its
caption stays inside the view."""
import pytest
from gatescope.core.config import Config
from PySide6.QtCore import QPoint, Qt


@pytest.mark.parametrize("scale", [1.5, 2.0])
def test_flow_text_scales_with_the_presentation(qtbot, window_at, scale):
    session, window = window_at(Config(cell="lstm", length=40), 1920, 1080)
    flow = window.flow
    base = flow.caption_font().pointSizeF()
    label = flow._doc("σ", 2, True).defaultFont().pointSizeF()
    session.set_scale(scale)
    assert session.wait_until_idle()
    window.explore.show_panel("flow")
    qtbot.wait(20)
    flow.grab()
    assert flow.caption_font().pointSizeF() == pytest.approx(scale * base, rel=0.05)
    assert flow._doc("σ", 2, True).defaultFont().pointSizeF() == pytest.approx(scale * label, rel=0.05)
    assert flow.caption_font().pointSizeF() == pytest.approx(window.gradient.theme.font(1).pointSizeF())
    doc = flow._caption("x", session.step, None)
    assert doc.size().height() < flow.height() / 2          # the caption leaves the diagram room
    session.set_scale(1.0)
    assert flow.caption_font().pointSizeF() == pytest.approx(base)


def test_transport_buttons_grow_with_the_scale(qtbot, window_at):
    from gatescope.gui.transport import BUTTON_PX, ICON_MAX_SCALE, ICON_PX
    session, window = window_at(Config(length=40), 1920, 1080)
    play = window.transport.play
    assert play.iconSize().width() == ICON_PX
    session.set_scale(2.0)
    qtbot.wait(10)
    big = round(ICON_PX * min(2.0, ICON_MAX_SCALE))
    assert big > ICON_PX and play.iconSize().width() == big and play.height() >= BUTTON_PX[1] + big - ICON_PX
    session.set_scale(1.0)
    qtbot.wait(10)
    assert play.iconSize().width() == ICON_PX and play.minimumHeight() == BUTTON_PX[1]


@pytest.mark.parametrize("size, scale, readout", [((1600, 1000), 1.0, True), ((1366, 768), 2.0, False),
                                                   ((1280, 720), 1.5, False)])
def test_the_timeline_keeps_its_room_and_the_step_stays_on_screen(window_at, qtbot, size, scale, readout):
    """Where the transport bar is narrow (a small screen at a large scale) the timeline keeps its
    least width and the step readout beside it gives way; the status bar still says t / T, and
    dragging the timeline still steps every view."""
    from gatescope.gui.transport import MIN_TIMELINE_PX
    from PySide6.QtWidgets import QLabel, QSlider
    session, window = window_at(Config(), *size, scale=scale)
    qtbot.wait(10)
    timeline = window.findChild(QSlider, "timeline")
    label = window.findChild(QLabel, "step_label")
    assert label.isVisible() == readout
    assert timeline.width() >= MIN_TIMELINE_PX * scale - 1
    status = window.status_label
    assert status.isVisible() and f"t = {session.step} / {session.steps}" in status.plain_text()
    qtbot.mouseClick(timeline, Qt.LeftButton, pos=QPoint(timeline.width() // 4, timeline.height() // 2))
    assert session.step < session.steps                 # the click moved the step back
