"""How much a cereal-review model's gates move at each word of the notes' review.

For an LSTM model with a readout (core.models.Model) run on a review, the movement at step t is

    m_t = mean_j |i_t[j] − i_{t−1}[j]| + mean_j |f_t[j] − f_{t−1}[j]| + |p_t − p_{t−1}|

(i, f the input and forget gates, p the readout's probability of "positive"). Before the first
word (t = 0) the model rests: h = c = 0 and no input, so i_{−1} = σ(b_i), f_{−1} = σ(b_f) — the
gates the cell gives a zero input from the zero state — and p_{−1} = the readout of h = 0.

The cue words of the review (CUES) are compared against every other token (words and
punctuation): their movements' medians, the ratio of the medians and each cue's rank (1 = the
largest movement in the review).

    gate_movement(model, text=None) -> Movement
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..inputs import SENTENCES
from ..stack import run_stack

CUES = ("amazing", "perfectly", "balanced", "definitely", "buying", "again")


@dataclass(frozen=True, eq=False)
class Movement:
    """Per token (T of them): di, df (mean |Δ| over units), dp (|Δ p(positive)|), total; p (the
    positive probability after each token; p_rest before the first); cue (bool mask) and the
    summary numbers."""

    tokens: list
    di: np.ndarray
    df: np.ndarray
    dp: np.ndarray
    p: np.ndarray
    cue: np.ndarray
    p_rest: float = 0.5

    @property
    def total(self) -> np.ndarray:
        return self.di + self.df + self.dp

    @property
    def cue_median(self) -> float:
        return float(np.median(self.total[self.cue]))

    @property
    def neutral_median(self) -> float:
        return float(np.median(self.total[~self.cue]))

    @property
    def ratio(self) -> float:
        """Median cue movement / median movement of the other tokens."""
        return self.cue_median / self.neutral_median

    def ranks(self) -> dict:
        """{cue token: its rank among all T tokens by movement (1 = largest)}."""
        order = np.argsort(-self.total, kind="stable")
        rank = np.empty(len(order), dtype=int)
        rank[order] = np.arange(1, len(order) + 1)
        return {self.tokens[t]: int(rank[t]) for t in np.flatnonzero(self.cue)}

    def report(self) -> str:
        rows = [f"{tok:>12} {'cue' if c else '':3} {m:.3f}  (i {a:.3f}, f {b:.3f}, p {d:.3f})"
                f"  p(positive) {q:.3f}"
                for tok, c, m, a, b, d, q in zip(self.tokens, self.cue, self.total, self.di,
                                                 self.df, self.dp, self.p)]
        rows.append(f"median cue {self.cue_median:.3f}, median other {self.neutral_median:.3f}, "
                    f"ratio {self.ratio:.2f}; cue ranks {self.ranks()}")
        return "\n".join(rows)

    def guess_before(self, t: int) -> float:
        """p(positive) before token t is read (p_rest for t = 0)."""
        return float(self.p[t - 1]) if t else self.p_rest


def _positive(model) -> int:
    return list(model.classes).index("positive")


def gate_movement(model, text: str | None = None) -> Movement:
    """The movement (module docstring) of a one-layer LSTM model on `text` (default: the notes'
    review, core.inputs.SENTENCES["cereal"])."""
    run = model.run(SENTENCES["cereal"] if text is None else text, stacked_norm=False)
    gates = run.trace.traces[0][0].gates
    rest = run_stack(model.stack, np.zeros((1, model.stack.input_size)), stacked_norm=False)
    rest_gates = rest.traces[0][0].gates
    k = _positive(model)
    p = run.probabilities[:, k]
    p_rest = model.readout.probabilities(model.readout(np.zeros((1, model.stack.output_size))))[0, k]

    def delta(name):
        g = np.vstack([rest_gates[name][:1], gates[name]])
        return np.abs(np.diff(g, axis=0)).mean(axis=1)

    dp = np.abs(np.diff(np.concatenate([[p_rest], p])))
    cue = np.array([t in CUES for t in run.tokens])
    return Movement(list(run.tokens), delta("i"), delta("f"), dp, p, cue, float(p_rest))
