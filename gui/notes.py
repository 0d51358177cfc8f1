"""Help → the notes: the seed notes (assets/notes.md) rendered, with their LaTeX turned into
readable Unicode (σ₁ᵗ, ∂h_t/∂h_0, ∏, ∑…) since Qt's Markdown renderer has no math."""
from __future__ import annotations

import re
import unicodedata
from pathlib import Path

from gatescope.core.resources import asset
from gatescope.core.text import subscript, superscript

NOTES_PATH = asset("notes.md")

SYMBOLS = {
    r"\sigma": "σ", r"\partial": "∂", r"\ell": "ℓ", r"\prod": "∏", r"\sum": "∑", r"\infty": "∞",
    r"\lim": "lim", r"\rightarrow": "→", r"\leftarrow": "←", r"\geqslant": "≥", r"\cdot": "·",
    r"\approx": "≈", r"\limits": "", r"\top": "ᵀ", r"\quad": " ", r"\ ": " ", r"\,": " ",
    r"\text": "", r"\boldsymbol": "", r"\mathbf": "", r"\left": "", r"\right": "", r"\\": "\n",
    r"\begin{align}": "", r"\end{align}": "", r"\hat{g}": "ĝ", r"\tilde{C}": "C̃", r"\tilde{h}": "h̃",
    r"\times": "×", r"\leq": "≤", r"\geq": "≥", r"\Sigma": "Σ", r"\|": "‖",
}


def latex_to_text(tex: str) -> str:
    s = tex
    s = re.sub(r"\\(?:text|boldsymbol|mathbf|mathrm)\{([^{}]*)\}", r"\1", s)
    s = re.sub(r"\\tilde\{(\w)\}", lambda m: m.group(1) + "\u0303", s)
    s = re.sub(r"\\hat\{(\w)\}", lambda m: m.group(1) + "\u0302", s)
    for k in sorted(SYMBOLS, key=len, reverse=True):
        s = s.replace(k, SYMBOLS[k])
    s = re.sub(r"\^\{([^{}]*)\}|\^(\S)", lambda m: superscript(m.group(1) or m.group(2)), s)
    s = re.sub(r"_\{([^{}]*)\}|_([^\s{\\])", lambda m: subscript(m.group(1) or m.group(2)), s)
    for _ in range(4):   # \frac{a}{b}, innermost first
        s = re.sub(r"\\frac\s*\{([^{}]*)\}\s*\{([^{}]*)\}", r"(\1)/(\2)", s)
    s = s.replace("{", "").replace("}", "").replace("&", "")
    return unicodedata.normalize("NFC", re.sub(r"[ \t]+", " ", s))     # ŷ as one character


def notes_markdown(path: Path = NOTES_PATH) -> str:
    text = path.read_text(encoding="utf-8")
    # display math → indented plain lines; inline math → Unicode
    text = re.sub(r"\$\$(.*?)\$\$", lambda m: "\n" + "\n".join(
        "    " + line.strip() for line in latex_to_text(m.group(1)).splitlines() if line.strip()) + "\n",
        text, flags=re.S)
    text = re.sub(r"\$([^$\n]+)\$", lambda m: latex_to_text(m.group(1)), text)
    return text
