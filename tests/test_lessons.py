"""Lessons: Markdown headings are steps, gatescope: links set the app; every malformed lesson is
refused with a message naming its line; the built-in `notes` lesson follows the notes; the lesson
bar and keys drive a real Session and window."""
import argparse
import io
import re
from pathlib import Path
from urllib.parse import parse_qsl

import pytest
from gatescope.core.config import FIELD, Config
from gatescope.core.inputs import tokenize
from gatescope.core.lessons import (
    MAX_LESSON_BYTES,
    LessonError,
    add_lesson_arguments,
    check_lesson_arguments,
    load_lesson,
    parse_lesson,
    read_lesson_file,
)
from gatescope.core.presets import get_preset
from gatescope.core.resources import asset
from PySide6.QtCore import Qt, QUrl
from PySide6.QtGui import QTextDocument

DATA = Path(__file__).resolve().parent / "data" / "lessons"


def _marked_line(path: Path):
    """The line the corpus file marks as wrong (`@error@` on it, or `@error-below@` above it)."""
    for k, line in enumerate(path.read_bytes().split(b"\n"), start=1):
        if b"@error@" in line:
            return k
        if b"@error-below@" in line:
            return k + 1
    return None


CORPUS = {
    "unknown-preset.md": "unknown preset 'explodng'",
    "out-of-range.md": "'sigma1' = 5.0 is out of range",
    "unknown-key.md": "unknown key 'forget_bais'",
    "bad-value.md": "'hidden' must be a whole number",
    "duplicate-key.md": "'cell' is given twice",
    "step-beyond.md": "beyond the setup's last step (6)",
    "bad-view.md": "'view' must be one of",
    "reference-link.md": "'seed' = -3 is out of range",
    "no-steps.md": "no steps",
    "empty-heading.md": "heading is empty",
    "binary.md": "not a text file",
    "latin1.md": "not UTF-8 text",
    "control-chars.md": "not a text file",
}


def test_the_corpus_is_complete():
    assert {p.name for p in DATA.glob("*.md")} == set(CORPUS)


@pytest.mark.parametrize("name", sorted(CORPUS))
def test_malformed_lessons_name_the_line(name):
    path = DATA / name
    with pytest.raises(LessonError) as err:
        read_lesson_file(path)
    exc = err.value
    assert exc.line == _marked_line(path)
    assert CORPUS[name] in str(exc) and "\n" not in str(exc)
    where = f"{name}, line {exc.line}: " if exc.line else f"{name}: "
    assert str(exc).startswith(where)


def test_a_lesson_file_too_large_is_refused_without_reading_it_whole(tmp_path):
    path = tmp_path / "huge.md"
    path.write_bytes(b"## step\n" + b"x" * (3 * MAX_LESSON_BYTES))
    with pytest.raises(LessonError, match="lessons above that are refused"):
        read_lesson_file(path)
    with pytest.raises(LessonError, match="is a folder"):
        read_lesson_file(tmp_path)
    with pytest.raises(LessonError, match="cannot open"):
        read_lesson_file(tmp_path / "missing.md")
    with pytest.raises(LessonError, match="unknown lesson 'nope'"):
        load_lesson("nope")


LESSON = """\
# My lesson

An intro with **bold**.

## Start from a preset
[go](gatescope:preset=exploding&view=gradient&step=100&play=1&speed=30)

## Change one field
Now [steeper](gatescope:sigma1=1.03) and [a button](gatescope:seed=4).

## Talk only
No link: nothing changes.

## Switch tab
[compare](gatescope:view=compare)

## Back to a preset
[x](gatescope:preset=lstm-carousel&forget_bias=3)
"""


def test_steps_resolve_to_absolute_states():
    lesson = parse_lesson(LESSON, "mine.md")
    assert lesson.title == "My lesson" and len(lesson) == 5
    assert "<strong>bold</strong>" in lesson.intro_html
    s1, s2, s3, s4, s5 = lesson.steps
    exploding = get_preset("exploding").config
    assert (s1.state.config, s1.state.view, s1.state.step, s1.state.play, s1.state.speed) == (
        exploding, "gradient", 100, True, 30.0)
    # no preset: the fields change the previous step's setup; view keys do not carry over, the tab does
    assert s2.state.config == exploding.replace(sigma1=1.03)
    assert (s2.state.view, s2.state.step, s2.state.play, s2.state.speed) == ("explore", -1, False, None)
    assert [link.label for link in s2.links] == ["steeper", "a button"]
    assert s3.state == s2.state and not s3.has_setting and s2.has_setting
    assert s4.state.config == s2.state.config and s4.state.view == "compare"
    assert s5.state.config == get_preset("lstm-carousel").config.replace(forget_bias=3.0)
    assert s5.state.view == "compare"                     # the tab stays until a link changes it
    assert [s.number for s in lesson.steps] == [1, 2, 3, 4, 5]
    assert [s.line for s in lesson.steps] == [
        k for k, line in enumerate(LESSON.splitlines(), 1) if line.startswith("## ")]


def test_every_heading_is_a_step_when_there_is_no_lone_title():
    lesson = parse_lesson("# One\ntext\n# Two\nmore\n", "two.md")
    assert [s.title for s in lesson.steps] == ["One", "Two"] and lesson.title == "two"
    assert lesson.steps[1].state == lesson.steps[0].state and lesson.steps[0].state.config == Config()
    assert "<p>more</p>" == lesson.steps[1].caption_html


def test_captions_escape_markup_and_raw_html():
    lesson = parse_lesson("## <b>t</b>\nif a < b & c <script>x</script>\n", "x.md")
    step = lesson.steps[0]
    assert step.title == "<b>t</b>"
    assert "<script>" not in step.caption_html and "&lt;script&gt;" in step.caption_html
    assert "a &lt; b &amp; c" in step.caption_html


def test_percent_encoded_and_unicode_link_values():
    lesson = parse_lesson("## s\n[a](gatescope:source=text&text=caf%C3%A9%20cr%C3%A8me)\n"
                          "[b](<gatescope:source=text&text=the σ₁ sky>)\n", "u.md")
    first, second = lesson.steps[0].links
    assert first.link.config().text == "café crème"
    assert second.link.config().text == "the σ₁ sky"


def _first_query(step):
    """The first gatescope: link of a step's raw caption, split independently with parse_qsl."""
    href = re.search(r'href="(gatescope:[^"]*)"', step.caption_html).group(1).replace("&amp;", "&")
    return dict(parse_qsl(href[len("gatescope:"):], keep_blank_values=True))


NOTES_TOPICS = [  # the notes' sections, in order, as the lesson must teach them
    r"clouds", r"France", r"identity RNN.*\(W_hh\)ᵗ", r"SVD", r"Σ σᵢᵗ vᵢuᵢᵀ", r"1\.01³⁶⁵",
    r"explosion", r"[Vv]anishing", r"clipping", r"ReLU", r"forget gate", r"input gate",
    r"updating the cell state", r"output gate", r"GRU", r"RNN · LSTM · GRU compared",
]


def test_the_notes_lesson_follows_the_notes_sections_in_order():
    lesson = load_lesson("notes")
    assert len(lesson) >= 12
    titles = [s.title for s in lesson.steps]
    positions = [next(k for k, t in enumerate(titles) if re.search(topic, t)) for topic in NOTES_TOPICS]
    assert positions == sorted(positions), titles
    assert all(s.has_setting for s in lesson.steps)      # every step sets the app


def test_the_notes_lesson_sets_each_preset_as_written():
    for step in load_lesson("notes").steps:
        q = _first_query(step)
        expected = get_preset(q.pop("preset")).config if "preset" in q else None
        for key in ("view", "step", "play", "speed"):
            q.pop(key, None)
        if expected is None:
            continue
        for key, raw in q.items():
            expected = expected.replace(**{key: FIELD[key].type(raw)})
        assert step.state.config == expected, step.title
        T = len(tokenize(expected.text)) if expected.source == "text" else expected.length
        assert step.state.step <= T


def test_the_built_in_lesson_is_package_data():
    assert asset("lessons", "notes.md").is_file()


def _args(*argv):
    p = argparse.ArgumentParser()
    p.add_argument("--preset")
    add_lesson_arguments(p)
    return p.parse_args(argv)


def test_list_steps_prints_one_line_a_step():
    out, err = io.StringIO(), io.StringIO()
    assert check_lesson_arguments(_args("--lesson", "notes", "--list-steps"), out, err) == 0
    lines = out.getvalue().splitlines()
    lesson = load_lesson("notes")
    assert lines == [f"{s.number}\t{s.title}" for s in lesson.steps] and err.getvalue() == ""


@pytest.mark.parametrize("argv, words", [
    (("--lesson", "nope"), "unknown lesson 'nope'"),
    (("--lesson", "notes", "--lesson-step", "99"), "--lesson-step 99: the lesson 'notes' has steps 1 to"),
    (("--lesson-step", "2"), "--lesson-step needs --lesson"),
    (("--setup", "gatescope:sigma1=9"), "--setup: 'sigma1' = 9.0 is out of range"),
    (("--lesson", str(DATA / "unknown-preset.md")), "unknown-preset.md, line 8: unknown preset"),
])
def test_bad_lesson_options_print_one_line_and_return_2(argv, words):
    out, err = io.StringIO(), io.StringIO()
    assert check_lesson_arguments(_args(*argv), out, err) == 2
    lines = err.getvalue().splitlines()
    assert len(lines) == 1 and lines[0].startswith("main.py: error: ") and words in lines[0]
    assert out.getvalue() == ""


def test_good_lesson_options_leave_the_parsed_objects():
    args = _args("--lesson", "notes", "--lesson-step", "3", "--preset", "exploding",
                 "--setup", "gatescope:seed=3&view=gradient")
    assert check_lesson_arguments(args, io.StringIO(), io.StringIO()) is None
    assert args.lesson_obj.name == "notes"
    assert args.setup_config == get_preset("exploding").config.replace(seed=3)
    assert args.setup_link_obj.view == "gradient"


# -- in the app: the controller, the bar and the keys on a real window --------------------------
GUI_LESSON = """\
# Keys

## One
[a](gatescope:preset=exploding&length=30&view=gradient&step=10)

## Two
[b](gatescope:sigma1=0.97&view=states&step=4)
and a button: [steeper](gatescope:sigma1=1.03&step=6)

## Three
Talk only: nothing changes.

## Four
[c](gatescope:preset=lstm-carousel&length=12&view=compare&step=8&play=1&speed=40)
"""


@pytest.fixture(scope="module")
def lesson_window(qapp):
    from gatescope.gui.app import create_window
    from gatescope.gui.lesson import attach_lessons
    session, window = create_window(Config(length=20))
    window.resize(1280, 800)
    window.show()
    assert session.wait_idle()
    controller = attach_lessons(window)
    yield session, window, controller
    controller.leave()
    session.shutdown()
    window.close()


@pytest.fixture
def running(lesson_window):
    session, window, controller = lesson_window
    controller.start(parse_lesson(GUI_LESSON, "keys.md"))
    assert session.wait_idle()
    yield session, window, controller
    controller.leave()
    session.set_playing(False)


def _key(qtbot, window, key):
    qtbot.keyClick(window, key)
    assert window.session.wait_idle()


def test_starting_a_lesson_sets_the_first_step_and_shows_the_bar(running):
    session, window, controller = running
    lesson = controller.lesson
    assert session.config == lesson.steps[0].state.config and session.step == 10
    bar = controller.bar
    assert bar.isVisible() and bar.position.text() == "step 1 of 4" and bar.title.text() == "One"
    highlight = window._lesson_highlight
    assert highlight.isVisible() and highlight.parent() is window.frames["gradient"]
    assert window.pages.currentIndex() == 0


def test_clicker_keys_walk_the_lesson_instead_of_the_time_axis(running, qtbot):
    session, window, controller = running
    window.activateWindow()
    window.gradient.setFocus()
    _key(qtbot, window, Qt.Key_PageDown)
    assert controller.number == 2 and session.step == 4          # not 10 + 1: the lesson moved
    assert session.config == controller.lesson.steps[1].state.config
    assert window._lesson_highlight.parent() is window.frames["states"]
    _key(qtbot, window, Qt.Key_Right)
    assert controller.number == 3 and controller.bar.position.text() == "step 3 of 4"
    _key(qtbot, window, Qt.Key_Left)
    _key(qtbot, window, Qt.Key_PageUp)
    assert controller.number == 1 and session.step == 10
    assert not controller.bar.prev_button.isEnabled()
    _key(qtbot, window, Qt.Key_Escape)
    assert not controller.active and not controller.toolbar.isVisible()
    assert not window._lesson_highlight.isVisible()
    _key(qtbot, window, Qt.Key_Right)                            # the window's own key again
    assert session.step == 11


def test_keys_typed_into_a_text_field_stay_there(running, qtbot):
    from PySide6.QtWidgets import QLineEdit
    session, window, controller = running
    field = QLineEdit("abc", window.controls)
    field.show()
    field.setFocus()
    qtbot.keyClick(field, Qt.Key_Left)
    assert controller.number == 1 and field.cursorPosition() == 2
    field.deleteLater()


def test_a_step_that_keeps_the_state_changes_only_the_caption(running):
    session, window, controller = running
    controller.go(2)
    session.wait_idle()
    session.set_step(7)                         # the lecturer moved the cursor by hand
    controller.next()                           # "Talk only": same state as step 2
    assert controller.number == 3 and session.step == 7
    controller.go(1)
    controller.go(3)                            # jumping there applies its full state
    session.wait_idle()
    assert session.step == 4 and session.config == controller.lesson.steps[1].state.config


def test_play_speed_and_compare_are_applied(running, qtbot):
    session, window, controller = running
    views = []
    controller.view_requested.connect(views.append)
    controller.go(4)
    session.wait_idle()
    assert views[-1] == "compare" and session.compare_mode and window.pages.currentIndex() == 1
    assert session.speed == 40.0
    qtbot.waitUntil(lambda: session.playing, timeout=5000)
    qtbot.waitUntil(lambda: not session.playing, timeout=5000)   # 8 → 12, then it stops
    assert session.step == 12
    controller.go(3)
    session.wait_idle()
    assert not session.compare_mode and not session.playing


def test_caption_links_are_buttons_and_bad_ones_change_nothing(running):
    session, window, controller = running
    controller.go(2)
    session.wait_idle()
    before = session.config
    controller.bar.caption.linkActivated.emit("gatescope:sigma1=1.03&step=6")
    session.wait_idle()
    assert session.config == before.replace(sigma1=1.03) and session.step == 6
    errors = []
    controller.error.connect(errors.append)
    after = session.config
    assert not controller.apply_link("gatescope:hidden=999")
    assert len(errors) == 1 and "'hidden'" in errors[0] and session.config == after


def test_a_step_exports_as_a_clip(running, tmp_path, qtbot):
    from PIL import Image
    session, window, controller = running
    controller.go(4)
    assert controller.clip_range() == (8, 12)                    # it plays from 8 to the end
    path = tmp_path / "clip.gif"
    exporter = controller.export_step_clip(path, window.compare, size=(80, 50))
    assert exporter.wait(30000), exporter.message
    im = Image.open(path)
    assert im.n_frames == 12 - 8 + 1 and im.size == (80, 50)


def test_command_line_lesson_and_setup_are_applied(lesson_window):
    from gatescope.gui.lesson import apply_lesson_arguments
    session, window, controller = lesson_window
    args = _args("--lesson", "notes", "--lesson-step", "6")
    assert check_lesson_arguments(args, io.StringIO(), io.StringIO()) is None
    apply_lesson_arguments(args, window, controller)
    session.wait_idle()
    step = args.lesson_obj.step(6)
    assert controller.number == 6 and session.config == step.state.config
    assert session.step == step.state.step
    controller.leave()
    args = _args("--setup", "gatescope:preset=rnn-vs-gated&view=compare&step=50")
    assert check_lesson_arguments(args, io.StringIO(), io.StringIO()) is None
    session.set_config(args.setup_config)
    apply_lesson_arguments(args, window, controller)
    session.wait_idle()
    assert session.compare_mode and session.step == 50 and not controller.active
    session.set_tab("explore")


# -- the notes viewer: formulas typeset as mathematics, figure references as links --------------
def _notes_text():
    from gatescope.gui.notes import NOTES_PATH
    return NOTES_PATH.read_text(encoding="utf-8")


def _formula_count(text):
    display = re.findall(r"\$\$(.*?)\$\$", text, flags=re.S)
    inline = re.findall(r"\$([^$\n]+)\$", re.sub(r"\$\$(.*?)\$\$", "", text, flags=re.S))
    return len(display) + len(inline)


def _has_image(doc, k):
    return f"math:{k}" in doc.images or any(n.startswith(f"math:{k}.") for n in doc.images)


def test_every_formula_of_the_notes_is_typeset_in_the_viewer(qtbot):
    pytest.importorskip("matplotlib")
    from gatescope.gui.notes_math import NotesBrowser
    browser = NotesBrowser()
    qtbot.addWidget(browser)
    browser.resize(800, 600)
    browser.show()
    assert browser.document_.typeset == 0                       # opens at once, in Unicode
    with qtbot.waitSignal(browser.typeset_done, timeout=30000):
        pass
    doc = browser.document_
    assert len(doc.formulas) == _formula_count(_notes_text())
    missing = [f.tex for k, f in enumerate(doc.formulas) if not _has_image(doc, k)]
    assert missing == []
    shown = browser.toPlainText()
    assert "$" not in shown and "GSMATH" not in shown and not re.search(r"\\[A-Za-z]+", shown)
    for name, image in doc.images.items():                     # every image is in the document
        assert browser.document().resource(QTextDocument.ImageResource, QUrl(name)) is not None
        assert image.width() > 0 and image.height() > 0


def test_formulas_are_set_at_the_size_asked():
    pytest.importorskip("matplotlib")
    from gatescope.gui.notes_math import typeset
    small, big = typeset(r"\sigma_1^t", 10, 100), typeset(r"\sigma_1^t", 20, 100)
    assert small.max() > 200 and big.max() > 200               # ink, not a blank image
    assert 1.7 < big.shape[0] / small.shape[0] < 2.3 and 1.7 < big.shape[1] / small.shape[1] < 2.3
    assert typeset(r"\frac{", 10, 100) is None                  # cannot be set: the viewer falls back


def test_without_matplotlib_the_notes_keep_their_unicode_formulas(monkeypatch, qtbot):
    import sys

    from gatescope.gui import notes_math
    for name in ("matplotlib", "matplotlib.mathtext", "matplotlib.font_manager"):
        monkeypatch.setitem(sys.modules, name, None)            # import → ImportError
    monkeypatch.setattr(notes_math, "_cache", {})
    assert not notes_math.matplotlib_available()
    doc = notes_math.notes_document()
    assert doc.images == {} and doc.typeset == 0
    browser = notes_math.NotesBrowser()
    qtbot.addWidget(browser)
    shown = browser.toPlainText()
    assert "σ₁" in shown and "1.01³⁶⁵" in shown and "$" not in shown and "GSMATH" not in shown


def test_the_graph_above_opens_the_live_view(qtbot):
    from gatescope.gui.notes_math import FIGURE_LINKS, NotesBrowser
    text = _notes_text()
    for words, sentence, _ in FIGURE_LINKS:
        assert text.count(sentence) == 1 and words in sentence
    browser = NotesBrowser(math=False)
    qtbot.addWidget(browser)
    browser.resize(800, 600)
    browser.show()
    qtbot.waitExposed(browser)
    html_links = re.findall(r'<a href="(gatescope:[^"]*)">([^<]*)</a>', browser.document_.html)
    assert sum(1 for _, label in html_links if label.lower() == "the graph above") == \
        len(re.findall(r"the graph above", text, flags=re.I))
    cursor = browser.document().find("The graph above")
    cursor.setPosition(cursor.selectionStart() + 3)
    browser.setTextCursor(cursor)
    browser.ensureCursorVisible()
    pos = browser.cursorRect(cursor).center()
    views, links = [], []
    browser.view_requested.connect(views.append)
    browser.link_requested.connect(links.append)
    qtbot.mouseClick(browser.viewport(), Qt.LeftButton, pos=pos)
    assert views == ["flow"] and links and "preset=clouds-sky" in links[0]


@pytest.fixture
def warnings_shown(monkeypatch):
    from gatescope.gui import dialogs
    seen = []
    monkeypatch.setattr(dialogs, "warn", lambda parent, msg, details="": seen.append(msg))
    return seen


def test_open_lesson_names_the_line_of_a_bad_file_and_changes_nothing(lesson_window, warnings_shown):
    from gatescope.gui.lesson import open_lesson
    session, window, controller = lesson_window
    before = session.config
    assert not open_lesson(window, controller, str(DATA / "out-of-range.md"))
    assert warnings_shown == ["out-of-range.md, line 6: 'sigma1' = 5.0 is out of range [0.01, 3]"]
    assert not controller.active and session.config == before


def test_copy_then_paste_setup_link_restores_the_setup(lesson_window, warnings_shown, tmp_path):
    from gatescope.gui.lesson import copy_setup_link, open_lesson, paste_setup_link
    from PySide6.QtWidgets import QApplication
    session, window, controller = lesson_window
    path = tmp_path / "mine.md"
    path.write_text(LESSON, encoding="utf-8")
    assert open_lesson(window, controller, str(path)) and controller.number == 1
    controller.leave()
    session.update(sigma1=1.234, seed=9)
    session.wait_idle()
    session.set_step(17)
    wanted, step = session.config, session.step
    text = copy_setup_link(window)
    assert QApplication.clipboard().text() == text and "sigma1=1.234" in text and "step=17" in text
    session.set_config(Config(length=20))
    session.wait_idle()
    assert paste_setup_link(window, controller)
    session.wait_idle()
    assert session.config == wanted and session.step == step
    QApplication.clipboard().setText("gatescope:sigma1=99")
    assert not paste_setup_link(window, controller)
    assert len(warnings_shown) == 1 and "'sigma1' = 99.0 is out of range" in warnings_shown[0]
    assert session.config == wanted
