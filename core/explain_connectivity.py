"""How to read the connectivity, in words: pure functions of the numbers of one row
A[t−1, :] = log10 ‖∂h_t/∂x_k‖ (k = 1…t), for the Connectivity view and the Explain panel alike.

    "x_k's influence on h_t: 10^a, down 10^b over the c steps since (×d a step)"
        (`influence.Influence.describe`, with the tokens of x_k and h_t when the input is text);
    and what the row's shape means for memory, from its ends and its reach:
        b₁ = A[t−1, 0] − A[t−1, t−1]   (x_1 against the newest input x_t, over t − 1 steps),
        flat     |b₁| ≤ FLAT_DECADES:  every input still reaches h_t — a long memory;
        falling  b₁ < −FLAT_DECADES:   h_t forgets, the vanishing gradient seen from the inputs;
        rising   b₁ > +FLAT_DECADES:   old inputs dominate, the exploding side;
        reach    the steps back before the influence first drops below 10^−REACH_DECADES of x_t's.

`reading_for(analysis, t, k)` is the Explain panel's entry point: it prepares the analysis' sequence
once (kept for the next steps) and reads row t, or returns None when that would take longer than
`budget_s` (a large setup: the Connectivity view computes it off the GUI thread).
"""
from __future__ import annotations

import html
import math
import re
from dataclasses import dataclass

import numpy as np

from .influence import Influence, influence

__all__ = ["FLAT_DECADES", "REACH_DECADES", "Reading", "as_html", "how_to_read", "influence_sentence",
           "memory_sentence", "prepare_seconds", "reach", "reading_for", "row_seconds"]

#: A row whose ends differ by at most this many decades (a factor 10) is "flat".
FLAT_DECADES = 1.0
#: The reach: steps back while the influence stays within 10^−3 of the newest input's.
REACH_DECADES = 3.0


@dataclass(frozen=True)
class Reading:
    """What the view and the Explain panel print for step t and input k.

    influence: the numbers of x_k (`Influence`); verdict: "fresh" (t = 1), "flat", "falling",
    "rising", "cut" (a path exactly 0), "unknown" (NaN: the state left float64 range);
    log10_span = b₁ over span_steps = t − 1; reach: steps back within 10^−3 of x_t (None if
    unknown); influence_text, memory_text: the two sentences, plain text."""

    influence: Influence
    verdict: str
    log10_span: float
    span_steps: int
    reach: int | None
    influence_text: str
    memory_text: str

    @property
    def text(self) -> str:
        return self.influence_text + "\n" + self.memory_text

    def html(self) -> str:
        """Both sentences as HTML: x_5 → x<sub>5</sub>, 10^-3.12 → 10<sup>−3.12</sup>."""
        return as_html(self.influence_text) + "<br>" + as_html(self.memory_text)


def as_html(text: str) -> str:
    """A sentence of this module as HTML (escaped; subscripts and powers of ten set)."""
    out = html.escape(text, quote=False)
    out = re.sub(r"10\^(-?[0-9.]+)", lambda m: f"10<sup>{m.group(1).replace('-', '−')}</sup>", out)
    return re.sub(r"\b([xhŷ])_(\d+|t|k)", r"\1<sub>\2</sub>", out)


def _factor(log10_per_step: float) -> str:
    """×d a step: 3 significant digits, or a power of ten beyond [10⁻³, 10³]."""
    if abs(log10_per_step) <= 3:
        return f"{10.0 ** log10_per_step:.3g}"
    return f"10^{log10_per_step:.2f}"


def _tok(tokens, i: int) -> str:
    """The token read at step i, made safe to show (no direction overrides or control codes)."""
    from .text import plain
    return f" (“{plain(tokens[i - 1])}”)" if tokens and 1 <= i <= len(tokens) else ""


def influence_sentence(info: Influence, *, tokens=None, x: str = "x", h: str = "h") -> str:
    """`Influence.describe` with the tokens read at steps k and t: "x_5 (“france”)'s influence
    on h_50 (“french”): 10^-7.31, down 10^6.90 over the 45 steps since (×0.703 a step)"."""
    body = info.describe(x, h).split(": ", 1)[1]
    return (f"{x}_{info.k}{_tok(tokens, info.k)}'s influence on {h}_{info.t}{_tok(tokens, info.t)}"
            f": {body}")


def reach(row, t: int, decades: float = REACH_DECADES) -> int | None:
    """Steps back from t before log10 ‖∂h_t/∂x_k‖ first drops below the newest input's minus
    `decades` (t − 1: it never does), None if the newest is not finite."""
    r = np.asarray(row, dtype=np.float64)[:t][::-1]            # lag j = 0 … t − 1
    if not np.isfinite(r[0]):
        return None
    with np.errstate(invalid="ignore"):
        low = ~(r >= r[0] - decades)                            # NaN counts as lost
    return int(np.argmax(low)) - 1 if low.any() else t - 1


def memory_sentence(row, t: int, *, h: str = "h") -> tuple[str, str]:
    """(verdict, sentence) for the shape of row t: flat, falling or rising (see the module)."""
    row = np.asarray(row, dtype=np.float64)
    if t <= 1:
        return "fresh", (f"Only one input has reached {h}_1 so far: step on to see how earlier inputs "
                         "fade (a falling row) or persist (a flat row).")
    first, fresh = float(row[0]), float(row[t - 1])
    if math.isnan(first) or math.isnan(fresh):
        return "unknown", f"Row {t} is unknown: the state left float64 range before step {t}."
    if first == -math.inf or fresh == -math.inf:
        return "cut", (f"A path to {h}_{t} is exactly 0 (switched-off ReLU units): those inputs cannot "
                       f"reach {h}_{t} at all.")
    b, c = first - fresh, t - 1
    per, span = _factor(b / c), reach(row, t)
    if abs(b) <= FLAT_DECADES:
        return "flat", (f"A flat row: x_1 still reaches {h}_{t} within 10^{abs(b):.2f} of the newest "
                        f"input over {c} steps — the state keeps a long memory, and the gradient from "
                        f"{h}_{t} reaches every earlier step (a carousel: f ≈ 1, a kept GRU unit, "
                        "σ₁ ≈ 1).")
    if b < 0:
        head = (f"A falling row: from x_{t} back to x_1 the influence drops 10^{-b:.2f} over {c} steps "
                f"(×{per} a step); ")
        if span is not None and span < c:
            head += (f"inputs more than {span} steps back reach {h}_{t} with less than "
                     f"10^-{REACH_DECADES:g} of the newest's — {h}_{t} forgets them")
        else:                                   # not yet below 10^−3: the rate says when
            head += (f"at this rate an input keeps 10^-{REACH_DECADES:g} of its influence for about "
                     f"{REACH_DECADES * c / -b:.0f} steps — {h}_{t} forgets")
        return "falling", head + ": the vanishing gradient, seen from the inputs."
    return "rising", (f"A rising row: x_1 reaches {h}_{t} 10^{b:.2f} more strongly than the newest "
                      f"input (×{per} a step back): the exploding side — old inputs dominate, and the "
                      f"gradient from {h}_{t} grows on its way back.")


def how_to_read(row, t: int, k: int = 1, *, tokens=None, target: str = "h") -> Reading:
    """The Reading of row t (A[t−1, :], length ≥ t) for input k (1 ≤ k ≤ t); target: the symbol
    of what is reached ("h", or "ŷ" for a readout)."""
    info = influence(row, t, k)
    verdict, memory = memory_sentence(row, t, h=target)
    r = np.asarray(row, dtype=np.float64)
    with np.errstate(invalid="ignore"):                          # −inf − (−inf): NaN, unknown
        span = float(r[0] - r[t - 1]) if t > 1 else 0.0
    return Reading(info, verdict, span, t - 1, reach(r, t),
                   influence_sentence(info, tokens=tokens, h=target), memory)


# ----------------------------------------------------------------------------------------------
# Cost estimates (seconds on an ordinary laptop core) and the Explain panel's entry point

def row_seconds(cell, t: int, q: int | None = None) -> float:
    """One backward sweep of row t: a Python step (≈ 8 µs) and q·m·(m + d) multiply-adds a step
    (q = rows of the head: n, or p for a readout)."""
    m, d = cell.state_size, cell.input_size
    q = cell.hidden_size if q is None else q
    return t * (8e-6 + q * m * (m + d) / 2e9)


def prepare_seconds(cell, T: int) -> float:
    """The forward pass `prepare` runs: ≈ 20 µs a step plus the gates' (g·n)·(n + d) a step."""
    g = {"rnn": 1, "lstm": 4, "gru": 3}[cell.kind]
    n = cell.hidden_size
    return T * (2e-5 + g * n * (n + cell.input_size) / 1e9)


_PREPARED: list = [None, None]          # (the trace it was prepared for, its Connectivity)


def reading_for(analysis, t: int, k: int = 1, *, budget_s: float = 0.02) -> Reading | None:
    """The Reading at step t (1 ≤ t ≤ T) for input k (clamped to 1…t) of an `Analysis`, or None
    at t = 0 or when preparing or sweeping would take longer than budget_s. Call it on the GUI
    thread only (it keeps the last prepared sequence for the next steps)."""
    from .connectivity import prepare
    tr = analysis.trace
    T, cell = tr.steps, analysis.cell
    t = int(t)
    if not 1 <= t <= T:
        return None
    if _PREPARED[0] is not tr:
        if prepare_seconds(cell, T) > budget_s:
            return None
        _PREPARED[:] = [tr, prepare(cell, tr.inputs)]
    conn = _PREPARED[1]
    if row_seconds(cell, T if conn.linear else t) > budget_s:     # linear: all lags at once
        return None
    return how_to_read(conn.row(t), t, min(max(1, int(k)), t), tokens=analysis.tokens)
