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
