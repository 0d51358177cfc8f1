"""The notes with their mathematics set as mathematics: each `$…$` and `$$…$$` of assets/notes.md
typeset by matplotlib's mathtext into an image embedded in the notes viewer, the Markdown around it
rendered by markdown-it-py. Where the notes point at a figure ("the graph above", "the LSTM
diagram"), the words become a link that opens the live view drawing it.

matplotlib is optional: without it (or for a formula mathtext cannot set) the formula is shown as
today, in Unicode text (σ₁ᵗ, ∂hₜ/∂h₀, ∑…). Typesetting runs once per formula and size, on a worker
thread; the notes open at once in Unicode and the typeset formulas replace it when ready.
"""
from __future__ import annotations

import html
import re
import threading
from dataclasses import dataclass

import numpy as np
from PySide6.QtCore import QObject, QUrl, Signal
from PySide6.QtGui import QDesktopServices, QImage, QTextDocument
from PySide6.QtWidgets import QTextBrowser

from .notes import NOTES_PATH, latex_to_text

#: Words of the notes that point at a figure → (the sentence they are in, the link that opens the
#: live view drawing it). Each must occur in the notes exactly once.
FIGURE_LINKS = (
    ("The graph above", "The graph above illustrates the input and output of a single neuron",
     "gatescope:preset=clouds-sky&view=flow"),
    ("the LSTM diagram", "walk through the LSTM diagram step by step",
     "gatescope:preset=lstm-carousel&view=flow"),
    ("the diagram", "running through the top of the diagram",
     "gatescope:preset=lstm-carousel&view=flow"),
    ("the graph above", "Note that in the graph above",
     "gatescope:preset=gru-notes-form&view=flow"),
)
_MARK = "GSMATH{}X"                 # a placeholder Markdown leaves alone (letters and digits)


@dataclass(frozen=True)
class Formula:
    tex: str
    display: bool


# -- the notes' LaTeX as mathtext -----------------------------------------------------------------
_REWRITES = (
    (r"\\begin\{align\}|\\end\{align\}", ""),
    (r"\\limits(?![A-Za-z])\s*", ""),
    (r"\\boldsymbol\{", r"\\mathbf{"),
    (r"\\geqslant\b", r"\\geq"),
    (r"\|\|", r"\\|"),
    (r"∗", r"\\ast "),
    (r"−", "-"),
    (r"\\text\{([^{}]*)\}", lambda m: r"\mathrm{" + m.group(1).replace(" ", r"\ ") + "}"),
    (r"(?<![\\A-Za-z])softmax\b", r"\\mathrm{softmax}"),
)


def mathtext_source(tex: str) -> str:
    """The notes' LaTeX rewritten into what mathtext reads (no align, \\limits, \\boldsymbol…)."""
    s = tex
    for pattern, repl in _REWRITES:
        s = re.sub(pattern, repl, s)
    return " ".join(s.split())


def display_rows(tex: str) -> list[list[str]]:
    """A display formula's rows (split at \\\\), each split at & into cells; empty rows dropped."""
    body = re.sub(r"\\begin\{align\}|\\end\{align\}", "", tex)
    rows = []
    for row in re.split(r"\\\\", body):
        if row.strip():
            rows.append([cell.strip() for cell in row.split("&")])
    return rows


# -- typesetting (any thread; matplotlib is used by nothing else) --------------------------------
_cache: dict = {}
_parser: dict = {}
_lock = threading.Lock()


def typeset(tex: str, size_pt: float, dpi: float) -> np.ndarray | None:
    """(H, W) uint8 coverage of the formula set by mathtext, or None (no matplotlib, or a formula
    it cannot set). Cached by (formula, size, dpi)."""
    key = (tex, round(size_pt, 2), round(dpi, 1))
    with _lock:
        if key in _cache:
            return _cache[key]
    try:
        import matplotlib  # noqa: F401  (the package first: it may be absent)
        from matplotlib.font_manager import FontProperties
        from matplotlib.mathtext import MathTextParser
    except ImportError:
        return None
    try:
        with _lock:
            parser = _parser.get("agg") or _parser.setdefault("agg", MathTextParser("agg"))
            parsed = parser.parse(f"${mathtext_source(tex)}$", dpi=dpi, prop=FontProperties(size=size_pt))
        image = np.asarray(parsed.image, dtype=np.uint8)
    except Exception:  # noqa: BLE001 — mathtext's parse errors vary by version: fall back to text
        image = None
    with _lock:
        _cache[key] = image
    return image


def to_qimage(coverage: np.ndarray, rgb: tuple[int, int, int], ratio: float = 1.0) -> QImage:
    """A transparent ARGB image of the formula in one colour (coverage = alpha)."""
    h, w = coverage.shape
    argb = np.empty((h, w, 4), np.uint8)            # little-endian ARGB32 = B, G, R, A bytes
    argb[..., 0], argb[..., 1], argb[..., 2] = rgb[2], rgb[1], rgb[0]
    argb[..., 3] = coverage
    img = QImage(argb.data, w, h, 4 * w, QImage.Format_ARGB32).copy()
    img.setDevicePixelRatio(ratio)
    return img


def matplotlib_available() -> bool:
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return False
    return True


# -- the notes as HTML ---------------------------------------------------------------------------
def _link_figures(text: str) -> str:
    for words, sentence, link in FIGURE_LINKS:
        at = text.find(sentence)
        if at < 0:
            continue
        inner = sentence.replace(words, f"[{words}]({link})", 1)
        text = text[:at] + inner + text[at + len(sentence):]
    return text


def extract_formulas(markdown: str) -> tuple[str, list[Formula]]:
    """The Markdown with each formula replaced by a placeholder, and the formulas in order."""
    formulas: list[Formula] = []

    def take(display):
        def repl(m):
            formulas.append(Formula(m.group(1), display))
            mark = _MARK.format(len(formulas) - 1)
            return f"\n\n{mark}\n\n" if display else mark
        return repl
    text = re.sub(r"\$\$(.*?)\$\$", take(True), markdown, flags=re.S)
    text = re.sub(r"\$([^$\n]+)\$", take(False), text)
    return text, formulas


def _text_of(f: Formula) -> str:
    """The Unicode fallback of a formula, as HTML."""
    plain = latex_to_text(f.tex)
    if not f.display:
        return f"<i>{html.escape(plain)}</i>"
    lines = [html.escape(line.strip()) for line in plain.splitlines() if line.strip()]
    return "<p align='center'><i>" + "<br>".join(lines) + "</i></p>"


@dataclass
class NotesDocument:
    """The notes as HTML with `math:N` images; `images` maps each name to its QImage."""
    html: str
    images: dict
    formulas: list
    typeset: int = 0          # how many formulas (or display cells) are images


def _img(name: str, coverage, dpr: float, middle: bool) -> str:
    h, w = coverage.shape
    align = " style='vertical-align: middle'" if middle else ""
    return f"<img src='{name}' width='{round(w / dpr)}' height='{round(h / dpr)}'{align}>"


def notes_document(path=NOTES_PATH, *, size_pt: float = 11.0, dpi: float = 100.0, color=(0, 0, 0),
                   dpr: float = 1.0, math: bool = True) -> NotesDocument:
    """Render the notes: Markdown by markdown-it-py, each formula typeset (math=True and
    matplotlib present) or in Unicode; figure references as gatescope: links."""
    from markdown_it import MarkdownIt
    text, formulas = extract_formulas(_link_figures(path.read_text(encoding="utf-8")))
    body = MarkdownIt("commonmark", {"html": False}).render(text)
    images, done, parts = {}, 0, {}
    for k, f in enumerate(formulas):
        piece = None
        if math:
            piece, n = _typeset_formula(k, f, size_pt, dpi * dpr, color, dpr, images)
            done += n
        parts[k] = piece or _text_of(f)
    for k, piece in parts.items():
        mark = _MARK.format(k)
        body = body.replace(f"<p>{mark}</p>", piece).replace(mark, piece)
    return NotesDocument(body, images, formulas, done)


def _typeset_formula(k, f: Formula, size_pt, dpi, color, dpr, images):
    """HTML for one formula from images (None if any part cannot be typeset) and its image count."""
    if not f.display:
        cov = typeset(f.tex, size_pt, dpi)
        if cov is None:
            return None, 0
        images[f"math:{k}"] = to_qimage(cov, color, dpr)
        return _img(f"math:{k}", cov, dpr, True), 1
    rows = display_rows(f.tex)
    cells_html, n = [], 0
    for r, row in enumerate(rows):
        tds = []
        for c, cell in enumerate(row):
            if not cell:
                tds.append("<td></td>")
                continue
            cov = typeset(re.sub(r"\\frac(?![A-Za-z])", r"\\dfrac", cell), size_pt * 1.1, dpi)
            if cov is None:
                return None, 0
            name = f"math:{k}.{r}.{c}"
            images[name] = to_qimage(cov, color, dpr)
            side = "right" if c == 0 and len(row) > 1 else "left"
            tds.append(f"<td align='{side}' style='padding: 2px'>{_img(name, cov, dpr, False)}</td>")
            n += 1
        cells_html.append("<tr>" + "".join(tds) + "</tr>")
    return "<table align='center' cellspacing='0'>" + "".join(cells_html) + "</table>", n


# -- the viewer ----------------------------------------------------------------------------------
class _Typesetter(QObject):
    done = Signal(object)          # NotesDocument


class NotesBrowser(QTextBrowser):
    """The notes viewer: opens at once with formulas in Unicode, then shows them typeset (when
    matplotlib is installed). A `gatescope:` link (a figure reference) emits `link_requested(link)`
    and `view_requested(view)`; other links open in the web browser."""

    view_requested = Signal(str)
    link_requested = Signal(str)
    typeset_done = Signal()

    def __init__(self, parent=None, *, path=NOTES_PATH, math: bool = True):
        super().__init__(parent)
        self.setObjectName("notes_text")
        self.setOpenLinks(False)
        self.anchorClicked.connect(self._on_anchor)
        self.path = path
        self.document_: NotesDocument | None = None
        self._relay = _Typesetter(self)
        self._relay.done.connect(self._show)
        self._show(notes_document(path, math=False))
        if math and matplotlib_available():
            self._start_typesetting()

    def _start_typesetting(self):
        size = self.font().pointSizeF() if self.font().pointSizeF() > 0 else 11.0
        c = self.palette().text().color()
        options = dict(size_pt=size, color=(c.red(), c.green(), c.blue()),
                       dpr=self.devicePixelRatioF() or 1.0, dpi=self.logicalDpiY() or 96)
        relay, path = self._relay, self.path

        def run():
            doc = notes_document(path, **options)
            try:
                relay.done.emit(doc)
            except RuntimeError:              # the viewer was closed meanwhile
                pass
        threading.Thread(target=run, name="gatescope-notes-math", daemon=True).start()

    def _show(self, doc: NotesDocument):
        bar = self.verticalScrollBar()
        at = bar.value() / max(1, bar.maximum())
        for name, image in doc.images.items():
            self.document().addResource(QTextDocument.ImageResource, QUrl(name), image)
        self.setHtml(doc.html)
        bar.setValue(round(at * bar.maximum()))
        self.document_ = doc
        if doc.images:
            self.typeset_done.emit()

    def _on_anchor(self, url: QUrl):
        link = url.toString()
        if link.lower().startswith("gatescope:"):
            from gatescope.core.setup_link import SetupLinkError, parse_link
            try:
                view = parse_link(link).view
            except SetupLinkError:
                return
            self.link_requested.emit(link)
            if view:
                self.view_requested.emit(view)
            return
        QDesktopServices.openUrl(url)
