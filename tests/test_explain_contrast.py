"""High contrast: every text colour the Explain panel uses reads at ≥ 4.5:1 on white (WCAG)."""
import re

from gatescope.core.colour import contrast_ratio
from gatescope.core.config import Config
from gatescope.gui.app import create_window
from gatescope.gui.settings_store import SettingsStore


def test_explain_texts_meet_wcag_in_high_contrast(qtbot, tmp_path):
    session, window = create_window(Config(cell="lstm", length=30), store=SettingsStore(str(tmp_path / "s.ini")))
    qtbot.addWidget(window)
    window.show()
    assert session.wait_until_idle()
    window.findChild(object, "show_explain").trigger()
    session.set_high_contrast(True)
    session.set_step(12)
    window.explore.show_panel("explain")
    qtbot.waitUntil(window.explain.isVisible)
    window.explain.render()
    html = window.explain.text.toHtml()
    colours = set(re.findall(r"(?<![-\w])color:\s*(#[0-9a-fA-F]{6})", html))       # text, not background
    assert colours, "the panel colours its numbers"
    low = {c: round(contrast_ratio(c, "#ffffff"), 2) for c in colours if contrast_ratio(c, "#ffffff") < 4.5}
    assert low == {}, low
    session.shutdown()
