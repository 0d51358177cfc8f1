"""The cell-state flow's labels and caption follow the presentation scale (the view kept the
fresh start's fonts: at 4K ×2 its text was a third the size of every other panel's) and its
caption stays inside the view."""
import pytest
from gatescope.core.config import Config


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
