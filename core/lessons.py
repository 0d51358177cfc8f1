"""Lessons: a Markdown file whose headings are steps, whose text is each step's caption and whose
`gatescope:` links drive the app (see core/setup_link.py for the link's keys).

    # Vanishing and exploding gradients          ← the lesson's title (a lone first `#`)
    ## The notes' table
    The gradient is exactly σ₁ᵗ: [show](gatescope:preset=notes-table&view=gradient&step=365)

Parsed with markdown-it-py (CommonMark, raw HTML off). Each step's state is resolved once, when
the lesson is read, so going to step k shows the same thing however one got there:

- the step's first `gatescope:` link is its setting: its setup starts from its `preset`, or from
  the previous step's setup (the defaults before the first); its `view` (default: the previous
  step's tab), `step` (default −1, the last), `play` (default pause) and `speed`;
- a step without a link keeps the previous step's state; further links in a caption are buttons
  the reader may press.

Every error names the line: LessonError("my-lesson.md, line 12: unknown preset 'explodng'").
Files are read bounded (MAX_LESSON_BYTES) and must be UTF-8 text.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass, field

from .config import Config
from .inputs import tokenize
from .resources import asset
from .setup_link import Link, SetupLinkError, parse_link, tab_of

MAX_LESSON_BYTES = 1024 * 1024
MAX_LESSON_STEPS = 500
LINK_SCHEME = "gatescope:"


class LessonError(ValueError):
    """A lesson cannot be used; `str()` is one line naming the file and line."""

    def __init__(self, message: str, line: int | None = None, name: str = "lesson"):
        self.line, self.name, self.reason = line, name, message
        where = f"{name}, line {line}" if line else name
        super().__init__(f"{where}: {message}" if where else message)


@dataclass(frozen=True)
class StepState:
    """What the app shows at a step: the setup, the view (tab or highlighted view), the step t
    (−1 = the last), play or pause and the speed (None = leave it)."""
    config: Config
    view: str = "explore"
    step: int = -1
    play: bool = False
    speed: float | None = None


@dataclass(frozen=True)
class LessonLink:
    label: str
    href: str
    link: Link
    line: int


@dataclass(frozen=True)
class LessonStep:
    number: int                        # 1-based, as shown: "step k of N"
    title: str
    line: int                          # the heading's line (1-based)
    caption_html: str                  # the caption rendered (links kept as <a href="gatescope:…">)
    caption_text: str                  # the caption as plain text
    state: StepState
    links: tuple[LessonLink, ...] = ()
    has_setting: bool = False          # False: the step keeps the previous step's state


@dataclass(frozen=True)
class Lesson:
    name: str
    title: str
    steps: tuple[LessonStep, ...]
    intro_html: str = ""
    source: str | None = field(default=None, compare=False)   # the file's path, if any

    def __len__(self) -> int:
        return len(self.steps)

    def step(self, number: int) -> LessonStep:
        """Step `number` (1-based); IndexError outside 1…N."""
        if not 1 <= number <= len(self.steps):
            raise IndexError(f"step {number}: the lesson has {len(self.steps)} steps")
        return self.steps[number - 1]


def _markdown():
    try:
        from markdown_it import MarkdownIt
    except ImportError:
        raise LessonError("reading lessons needs markdown-it-py (pip install markdown-it-py)",
                          name="") from None
    return MarkdownIt("commonmark", {"html": False})


# -- reading the bytes ---------------------------------------------------------------------------
def decode_lesson(raw: bytes, name: str = "lesson") -> str:
    """UTF-8 text from bytes (a BOM is dropped); LessonError naming the line of binary data."""
    if len(raw) > MAX_LESSON_BYTES:
        raise LessonError(f"larger than {MAX_LESSON_BYTES // 1024} KiB; lessons above that are refused",
                          name=name)
    nul = raw.find(b"\0")
    if nul >= 0:
        raise LessonError("not a text file (binary data)", raw[:nul].count(b"\n") + 1, name)
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise LessonError("not UTF-8 text", raw[:exc.start].count(b"\n") + 1, name) from None
    bad = re.search(r"[\x01-\x08\x0e-\x1f\x7f]", text)
    if bad:
        raise LessonError("not a text file (control characters)", text[:bad.start()].count("\n") + 1, name)
    return text


def read_lesson_file(path) -> Lesson:
    """Read and parse a lesson file, reading at most MAX_LESSON_BYTES + 1 bytes."""
    path = os.fspath(path)
    name = os.path.basename(path) or path
    if os.path.isdir(path):
        raise LessonError("is a folder, not a lesson file", name=name)
    try:
        with open(path, "rb") as fh:
            raw = fh.read(MAX_LESSON_BYTES + 1)
    except OSError as exc:
        raise LessonError(f"cannot open ({exc.strerror or exc})", name=name) from None
    lesson = parse_lesson(decode_lesson(raw, name), name)
    return Lesson(lesson.name, lesson.title, lesson.steps, lesson.intro_html, source=path)


# -- built-in lessons ----------------------------------------------------------------------------
def list_lessons() -> list[str]:
    """The built-in lessons' names (assets/lessons/NAME.md)."""
    folder = asset("lessons")
    if not folder.is_dir():
        return []
    return sorted(p.name[:-3] for p in folder.iterdir() if p.name.endswith(".md"))


def load_lesson(name_or_path) -> Lesson:
    """A built-in lesson by name, or a lesson file by path."""
    text = os.fspath(name_or_path)
    if text in list_lessons():
        res = asset("lessons", f"{text}.md")
        return parse_lesson(decode_lesson(res.read_bytes(), f"{text}.md"), f"{text}.md")
    if os.path.exists(text) or text.lower().endswith(".md"):
        return read_lesson_file(text)
    names = ", ".join(list_lessons()) or "none"
    raise LessonError(f"unknown lesson '{text}' (built-in: {names}; or give a .md file)", name="")


# -- parsing -------------------------------------------------------------------------------------
def _plain(inline) -> str:
    """The text of an inline token (emphasis, code and link labels kept, markup dropped)."""
    parts = []
    for c in inline.children or ():
        if c.type in ("text", "code_inline"):
            parts.append(c.content)
        elif c.type in ("softbreak", "hardbreak"):
            parts.append(" ")
    return "".join(parts).strip()


def _link_line(lines, block_map, href, refs, normalize, cursor) -> tuple[int, int]:
    """The 1-based line of a link in its block, searching forward from `cursor` (line, column)
    for the `gatescope:` text that normalises to `href`; else its reference definition's line."""
    start, stop = block_map
    line, col = cursor
    pattern = re.compile(re.escape(LINK_SCHEME), re.I)
    for k in range(max(line, start), stop):
        for m in pattern.finditer(lines[k], col if k == line else 0):
            raw = re.split(r"[\s)>]", lines[k][m.start():], maxsplit=1)[0]
            if normalize(raw) == href:
                return k + 1, (k, m.end())
    for ref in refs.values():
        if ref.get("href") == href and ref.get("map"):
            return ref["map"][0] + 1, cursor
    return start + 1, cursor


def _label(children, i: int) -> str:
    """The text of the link that opens at children[i]."""
    parts = []
    for x in children[i + 1:]:
        if x.type == "link_close":
            break
        if x.type in ("text", "code_inline"):
            parts.append(x.content)
    return "".join(parts).strip()[:80]


def _links(tokens, lines, refs, normalize, name) -> list[LessonLink]:
    """Every `gatescope:` link in these block tokens, parsed, with its line."""
    found = []
    for tok in tokens:
        if tok.type != "inline" or not tok.map:
            continue
        cursor = (tok.map[0], 0)
        children = tok.children or []
        for i, c in enumerate(children):
            href = c.attrGet("href") if c.type == "link_open" else None
            if not isinstance(href, str) or not href.lower().startswith(LINK_SCHEME):
                continue
            line, cursor = _link_line(lines, tok.map, href, refs, normalize, cursor)
            label = _label(children, i)
            try:
                link = parse_link(href)
            except SetupLinkError as exc:
                raise LessonError(str(exc), line, name) from None
            found.append(LessonLink(label, href, link, line))
    return found


def _sections(tokens, name):
    """(title, intro token slice, [(heading index, next heading index)…]) of the token stream."""
    heads = [i for i, t in enumerate(tokens) if t.type == "heading_open"]
    if not heads:
        raise LessonError("no steps: each heading (# …) starts a step", name=name)
    titled = (tokens[heads[0]].tag == "h1" and len(heads) > 1
              and all(tokens[i].tag != "h1" for i in heads[1:]))
    title = _plain(tokens[heads[0] + 1]) if titled else None
    step_heads = heads[1:] if titled else heads
    bounds = [*step_heads, len(tokens)]
    intro = (heads[0] + 3, step_heads[0]) if titled else (0, 0)
    return title, intro, list(zip(bounds[:-1], bounds[1:]))


def _resolve(prev: StepState, links: list[LessonLink], name: str) -> StepState:
    """The state a step with these links shows (its first link is its setting)."""
    if not links:
        return prev
    first = links[0]
    try:
        config = first.link.config(prev.config)
        for extra in links[1:]:
            extra.link.config(config)           # the reader's buttons must work here too
    except SetupLinkError as exc:
        raise LessonError(str(exc), first.line, name) from None
    view = first.link.view or tab_of(prev.view)
    step = -1 if first.link.step is None else first.link.step
    steps = len(tokenize(config.text)) if config.source == "text" else config.length
    if step > steps:
        raise LessonError(f"'step' = {step} is beyond the setup's last step ({steps})", first.line, name)
    return StepState(config, view, step, bool(first.link.play), first.link.speed)


def parse_lesson(text: str, name: str = "lesson") -> Lesson:
    """Parse lesson Markdown into resolved steps; LessonError names the line of any problem."""
    if not isinstance(text, str):
        raise LessonError(f"a lesson must be text, got {type(text).__name__}", name=name)
    if len(text.encode("utf-8", "surrogatepass")) > MAX_LESSON_BYTES:
        raise LessonError(f"larger than {MAX_LESSON_BYTES // 1024} KiB; lessons above that are refused",
                          name=name)
    md, env = _markdown(), {}
    tokens = md.parse(text, env)
    lines = text.splitlines() or [""]
    refs = env.get("references", {})
    title, intro, sections = _sections(tokens, name)
    if len(sections) > MAX_LESSON_STEPS:
        line = tokens[sections[MAX_LESSON_STEPS][0]].map[0] + 1
        raise LessonError(f"more than {MAX_LESSON_STEPS} steps", line, name)
    render = md.renderer.render
    steps, state = [], StepState(Config())
    for number, (a, b) in enumerate(sections, start=1):
        line = tokens[a].map[0] + 1
        heading = _plain(tokens[a + 1])
        if not heading:
            raise LessonError("a step's heading is empty", line, name)
        links = _links(tokens[a:b], lines, refs, md.normalizeLink, name)
        state = _resolve(state, links, name)
        body = tokens[a + 3:b]
        caption_text = " ".join(_plain(t) for t in body if t.type == "inline")
        steps.append(LessonStep(number, heading, line, render(body, md.options, env).strip(),
                                caption_text, state, tuple(links), bool(links)))
    intro_html = render(tokens[intro[0]:intro[1]], md.options, env).strip()
    stem = name[:-3] if name.lower().endswith(".md") else name
    return Lesson(stem, title or stem, tuple(steps), intro_html)


# -- the command line (`--lesson`, `--lesson-step`, `--list-steps`, `--setup`) --------------------
def add_lesson_arguments(parser) -> None:
    """The lesson and setup-link options, for the app's argument parser."""
    g = parser.add_argument_group("lessons and setup links")
    g.add_argument("--lesson", metavar="NAME|FILE",
                   help=f"start a lesson: a built-in one ({', '.join(list_lessons()) or 'none'}) "
                        "or a Markdown file whose headings are steps")
    g.add_argument("--lesson-step", type=int, metavar="K", help="start the lesson at step K (1 = the first)")
    g.add_argument("--list-steps", action="store_true",
                   help="print the lesson's steps, one a line (number, title), and exit")
    g.add_argument("--setup", metavar="TEXT", help="open the setup of a 'gatescope:…' setup link")


def check_lesson_arguments(args, out=None, err=None) -> int | None:
    """Validate the lesson options before any window opens. Returns an exit code to stop with (0
    after --list-steps; 2 after one error line on `err`) or None to go on. On success it leaves
    `args.lesson_obj` (Lesson or None), `args.setup_link_obj` (Link or None) and
    `args.setup_config` (the Config that --setup opens, or None)."""
    import sys
    out, err = out or sys.stdout, err or sys.stderr
    args.lesson_obj = args.setup_link_obj = args.setup_config = None
    try:
        lesson = _lesson_of_args(args)
        if args.setup is not None:
            base = None
            if getattr(args, "preset", None):
                from .presets import get_preset
                base = get_preset(args.preset).config
            link = parse_link(args.setup)
            args.setup_link_obj, args.setup_config = link, link.config(base)
    except SetupLinkError as exc:
        return _fail(err, f"--setup: {exc}")
    except LessonError as exc:
        return _fail(err, str(exc))
    except ValueError as exc:          # an unknown --preset
        return _fail(err, str(exc))
    if args.list_steps:
        for step in lesson.steps:
            print(f"{step.number}\t{step.title}", file=out)
        return 0
    args.lesson_obj = lesson
    return None


def _lesson_of_args(args) -> Lesson | None:
    name = args.lesson or ("notes" if args.list_steps else None)
    if args.lesson_step is not None and name is None:
        raise LessonError("--lesson-step needs --lesson", name="")
    lesson = load_lesson(name) if name else None
    if lesson is not None and args.lesson_step is not None and not 1 <= args.lesson_step <= len(lesson):
        raise LessonError(f"--lesson-step {args.lesson_step}: the lesson '{lesson.name}' has steps 1 "
                          f"to {len(lesson)}", name="")
    return lesson


def _fail(err, message: str) -> int:
    print(f"main.py: error: {message}", file=err)
    return 2
