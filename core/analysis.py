"""Everything the app draws for one setup, computed in one pure function (run off the GUI thread).

Analysis = the cell, its trace, and the closed-form companions of the measured curve:
σ_iᵗ of the recurrent weights (as t·log10 σ_i), Pascanu's bound (γσ₁)ᵗ, the clipped norm, ρᵗ,
the states' colour scales; `explain_values` gives every number the Explain panel shows.

A whole model (core.models.Model: layers × directions, a readout) is drawn one cell at a time:
`analyse_model` gives the Analysis of the selected layer and direction — its Cell and Trace, so
every view works unchanged — with the stack's extras as optional attributes (layer_label,
stack_log10_jac_norm, predictions, readout, model_line).
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

from .cell_step import GAMMA, Cell, sigmoid, step_cache
from .config import Config
from .simulate import Trace, simulate
from .theory import clipped_log_norm, pascanu_bound, power_curves, state_levels


@dataclass(frozen=True, eq=False)
class Analysis:
    config: Config
    cell: Cell
    trace: Trace
    tokens: list | None
    singular_values: dict          # block name → (n,) singular values, descending
    eigenvalues: dict              # block name → (n,) complex eigenvalues
    sigma1: float                  # largest singular value over all recurrent blocks
    sigma_curves: np.ndarray       # (n, T+1): t·log10 σ_i for the block holding σ₁
    pascanu: np.ndarray            # (T+1,): log10 (γσ₁)ᵗ
    clipped: np.ndarray            # (T+1,): log10 min(‖∂s_t/∂s_0‖, threshold)
    weights_name: str | None = None
    # -- a layer of a model (analyse_model); None / 0 for a single cell -------------------------
    layer: int = 0                 # the layer drawn (0-based)
    reverse: bool = False          # its reverse direction: trace and tokens in the reverse's time
    layer_label: str | None = None   # "layer 2 of 3 (reverse)"; None for a one-cell model
    stack_log10_jac_norm: np.ndarray | None = None   # (T+1,) log10 ‖∂S_t/∂S_0‖₂, whole stack
    predictions: list | None = None   # [(token, word, p)] per input position, forward time
    readout: object | None = None     # core.models.Readout reading this cell's h_t, or None
    model_line: str | None = None     # "name: LSTM, 2 layers, n = 32, d = 16, readout 4 (softmax)"

    @property
    def steps(self) -> int:
        return self.trace.steps

    def prediction_at(self, t: int):
        """(token, word, p) after the input the drawn direction read at its step t (1..T; the
        reverse direction's step t is input position T − t + 1), or None (t = 0, no readout)."""
        if not self.predictions or not 1 <= t <= len(self.predictions):
            return None
        return self.predictions[len(self.predictions) - t if self.reverse else t - 1]

    @property
    def top_block(self) -> str:
        """The recurrent block holding σ₁ (the one sigma_curves describe)."""
        return max(self.singular_values, key=lambda k: self.singular_values[k][0])

    @property
    def spectral_radius(self) -> float:
        """ρ = max |λ| of the block holding σ₁; ‖Wᵗ‖^(1/t) → ρ (Gelfand), ρ ≤ σ₁."""
        return float(np.max(np.abs(self.eigenvalues[self.top_block])))

    def is_normal(self, block: str | None = None) -> bool:
        """W Wᵀ = Wᵀ W (to rounding) for `block` (default: the top block): then ‖Wᵗ‖ = σ₁ᵗ = ρᵗ."""
        return self._normality[block or self.top_block]

    @property
    def rho_below_sigma1(self) -> bool:
        """W (the top block) is not normal and ρ < σ₁: ‖Wᵗ‖ then follows ρᵗ, not σ₁ᵗ (Gelfand)."""
        return not self.is_normal() and 0 < self.spectral_radius < self.sigma1 * (1 - 1e-6)

    @cached_property
    def rho_curve(self) -> np.ndarray | None:
        """(T+1,) t · log10 ρ for a plain RNN whose W is not normal and ρ < σ₁ (the curve its
        gradient ends parallel to), else None."""
        if self.cell.kind != "rnn" or not self.rho_below_sigma1:
            return None
        return power_curves([self.spectral_radius], self.steps)[0]

    @property
    def gamma(self) -> float | None:
        """γ = sup |φ'| of a plain RNN (Pascanu's bound (γσ₁)ᵗ); None for the gated cells."""
        return GAMMA[self.cell.nonlinearity] if self.cell.kind == "rnn" else None

    @property
    def shows_pascanu(self) -> bool:
        """Pascanu's bound differs from σ₁ᵗ (γ ≠ 1: a sigmoid RNN): then it is drawn on its own."""
        return self.gamma is not None and self.gamma != 1.0

    @cached_property
    def state_levels(self) -> dict:
        """name → (bounded, m): the symmetric colour scale ±m of "h" (and the LSTM's "c")."""
        return state_levels(self.cell, self.trace)

    @cached_property
    def _normality(self) -> dict:
        blocks = self.cell.recurrent_blocks()
        return {k: normal_matrix(w, float(self.singular_values[k][0])) for k, w in blocks.items()}

    @property
    def smooth(self) -> bool:
        """True unless the derivatives can be exactly 0 (a ReLU RNN): then a zero Jacobian
        product can only be float64 underflow."""
        return not (self.cell.kind == "rnn" and self.cell.nonlinearity == "relu")


def normal_matrix(w: np.ndarray, sigma1: float) -> bool:
    """W Wᵀ = Wᵀ W up to rounding (relative to σ₁²): W is normal."""
    return bool(np.allclose(w @ w.T, w.T @ w, atol=1e-10 * max(1.0, sigma1 ** 2)))


def analyse(config: Config, cell: Cell | None = None, *, weights_name=None,
            progress=None, steps: int | None = None, inputs=None) -> Analysis:
    """Build (or take) the cell and inputs for `config`, simulate, and add the theory curves.
    `steps`: only the first steps of the sequence (a causal prefix: the same numbers);
    `inputs`: (T, d) vectors to read instead of the setup's sentence or signal."""
    cell = config.build_cell() if cell is None else cell
    x, tokens = config.build_inputs(cell.input_size) if inputs is None else (inputs, None)
    if steps is not None:
        x, tokens = x[:steps], (tokens[:steps] if tokens else tokens)
    trace = simulate(cell, x, progress=progress)
    return assemble(config, cell, trace, tokens, weights_name)


def assemble(config: Config, cell: Cell, trace: Trace, tokens, weights_name=None, **extra) -> Analysis:
    """The Analysis of a computed trace: the spectra of its recurrent blocks and the curves."""
    blocks = cell.recurrent_blocks()
    svals = {k: np.linalg.svd(w, compute_uv=False) for k, w in blocks.items()}
    eigs = {k: np.linalg.eigvals(w) for k, w in blocks.items()}
    top = max(svals, key=lambda k: svals[k][0])
    s1 = float(svals[top][0])
    T = trace.steps
    gamma_kind = cell.nonlinearity if cell.kind == "rnn" else "tanh"
    return Analysis(config, cell, trace, tokens, svals, eigs, s1, power_curves(svals[top], T),
                    pascanu_bound(s1, T, gamma_kind), clipped_log_norm(trace.log10_jac_norm,
                                                                       config.clip or None),
                    weights_name, **extra)


# ----------------------------------------------------------------------------------------------
# A layer of a model

def model_inputs(config: Config, model, inputs=None):
    """(T, d) inputs and tokens (or None) for a model: `inputs` as given; a sentence through the
    model's own encoding (a trained model: the vectors it was trained on), else the setup's."""
    if inputs is not None:
        return inputs, None
    if config.source == "text" and model.encoding:
        return model.encode(config.text)
    return config.build_inputs(model.stack.input_size)


def _predictions(model, run) -> list | None:
    """(token, word, p) at every input position: the most probable class of the readout."""
    probs = run.probabilities
    if probs is None:
        return None
    names = model.classes or tuple(str(k) for k in range(probs.shape[1]))
    best = np.argmax(probs, axis=1)
    tokens = run.tokens or [None] * len(best)
    return [(tok, names[k], float(probs[t, k])) for t, (tok, k) in enumerate(zip(tokens, best))]


def _cell_readout(model, layer: int, d):
    """The readout as a function of the drawn cell's h_t, when it reads that cell alone: the last
    layer of a stack that is one-directional there (a projected LSTM: W_out W_hr on h̄_t)."""
    from .models.readout import make_readout
    ro, stack = model.readout, model.stack
    if ro is None or layer != stack.num_layers - 1 or len(stack.layers[-1]) != 1:
        return None
    if d.weight_hr is None:
        return ro
    return make_readout(ro.weight @ d.weight_hr, ro.bias, ro.activation, ro.classes)


def analyse_model(config: Config, model, *, layer: int = 0, reverse: bool = False, inputs=None,
                  run=None, progress=None, steps: int | None = None):
    """(Analysis of layer `layer`, direction `reverse`, ModelRun) of a core.models.Model.

    inputs: (T, d) or None (`model_inputs`); run: a ModelRun of the same model and inputs to
    reuse (switching layers computes nothing again); steps: only the first steps.
    The Analysis's cell is the direction's Cell — for an LSTM with a projection the equivalent
    unprojected LSTM on h̄ = o ⊙ tanh(c) (core.stack.equivalent_cell), whose trace is simulated
    here — and its trace that direction's own (‖∂s_t/∂s_0‖ of that layer on its own); a reverse
    direction's trace and tokens run in its own time (x_T first)."""
    from .stack import equivalent_cell
    stack = model.stack
    if not (0 <= layer < stack.num_layers and (not reverse or len(stack.layers[layer]) == 2)):
        raise ValueError(f"the model has no layer {layer + 1}{' (reverse)' if reverse else ''}")
    if run is None:
        x, tokens = model_inputs(config, model, inputs)
        if steps is not None:
            x, tokens = x[:steps], (tokens[:steps] if tokens else tokens)
        run = model.run(x, progress=progress)
        if tokens is not None:
            run = dataclasses.replace(run, tokens=list(tokens))
    d = stack.direction(layer, reverse)
    trace = run.trace.traces[layer][1 if reverse else 0]
    cell = equivalent_cell(d)
    if d.cell is None:
        trace = simulate(cell, trace.inputs)
    tokens = run.tokens[::-1] if reverse and run.tokens else run.tokens
    label = f"layer {layer + 1} of {stack.num_layers}" + (" (reverse)" if reverse else "")
    if d.weight_hr is not None:
        label += f", h̄ = o ⊙ tanh(c) before the projection to {d.output_size}"
    elif stack.num_layers == 1 and not stack.bidirectional:
        label = None                                   # one cell: nothing to say which
    stacked = run.trace.log10_jac_norm if stack.num_layers > 1 else None
    analysis = assemble(config, cell, trace, tokens, model.name or None, layer=layer,
                        reverse=bool(reverse), layer_label=label, stack_log10_jac_norm=stacked,
                        predictions=_predictions(model, run), readout=_cell_readout(model, layer, d),
                        model_line=model.describe())
    return analysis, run


# ----------------------------------------------------------------------------------------------
# The Explain panel's numbers

#: thresholds of the "what to notice" line
KEEP_HIGH, KEEP_LOW = 0.9, 0.1           # weight on the old state: keeps / cuts
SATURATED_SLOPE = 0.1                    # φ'(a) at or below this: a saturated unit
FOLLOWS_DECADES = 0.3                    # |log10 measured − log10 σ₁ᵗ| within this: follows σ₁ᵗ


@dataclass(frozen=True)
class ExplainValues:
    """Every number the Explain panel shows at step t for unit j, and the verdicts of its "what to
    notice" line; the view only formats them.

    numbers (name → float), at t = 0: h (and c). At t ≥ 1 always log10_jac, log10_sigma1t,
    sigma1, spectral_radius, log10_ratio (log10 of measured / σ₁ᵗ, when both are finite), the
    LSTM's log10_cell, and per kind:
      LSTM f, i, c_tilde, o, c_prev, c, h_prev, h, keep (= f), f_pow10 (f¹⁰), and c_check, h_check:
           C_t and h_t from the reference step (cells.step_cache) at the trace's state t−1;
      GRU  r, z, h_tilde, h_prev, h, one_minus_z (= σ(−a_z)), keep (the weight on h_{t−1}: z in
           PyTorch's form, 1 − z in the notes'), h_check (the reference step's h_t);
      RNN  a (the pre-activation), slope (φ'(a)), h_prev, h.
    keep_verdict (LSTM, GRU): "keeps" (keep ≥ 0.9), "cuts" (≤ 0.1), "mixes". slope_verdict (RNN):
    "identity", "off" (ReLU, φ' = 0), "saturated" (φ' ≤ 0.1), "quarter" (sigmoid), "active".
    trend: "flat" (|σ₁ − 1| ≤ 1e-9), "vanishes", "explodes". comparison of the measured norm with
    σ₁ᵗ: "follows" (within 0.3 decades), "below", "above", or None (not finite). reasons: why it is
    below (or, for gated cells, above): "gates", "non_normal", "sigmoid", "saturation", "relu_off".
    """

    kind: str
    convention: str
    nonlinearity: str
    t: int
    unit: int
    token: str | None = None
    numbers: dict = field(default_factory=dict)
    keep_verdict: str | None = None
    slope_verdict: str | None = None
    trend: str | None = None
    comparison: str | None = None
    reasons: tuple = ()

    def as_dict(self) -> dict:
        """t, unit and every number, in one dict."""
        return {"t": self.t, "unit": self.unit, **self.numbers}


def _reference_step(a: Analysis, t: int) -> dict:
    """Step t recomputed by the reference equations from the trace's state at t−1."""
    cell, tr = a.cell, a.trace
    xw = cell.weight_ih @ tr.inputs[t - 1] + cell.bias_ih
    return step_cache(cell, xw, tr.h[t - 1], None if tr.c is None else tr.c[t - 1])


def _gated_numbers(a: Analysis, t: int, j: int) -> dict:
    tr, ref = a.trace, _reference_step(a, t)
    g = {k: float(v[t - 1, j]) for k, v in tr.gates.items()}
    out = {"h_prev": float(tr.h[t - 1, j]), "h": float(tr.h[t, j])}
    if a.cell.kind == "lstm":
        out.update(f=g["f"], i=g["i"], c_tilde=g["g"], o=g["o"], c_prev=float(tr.c[t - 1, j]),
                   c=float(tr.c[t, j]), keep=g["f"], f_pow10=g["f"] ** 10,
                   c_check=float(ref["c"][j]), h_check=float(ref["h"][j]))
        return out
    one_minus_z = float(sigmoid(-ref["a_z"][j]))             # 1 − z = σ(−a_z), accurate near z = 1
    keep = one_minus_z if a.cell.convention == "seed" else g["z"]
    out.update(r=g["r"], z=g["z"], h_tilde=g["n"], one_minus_z=one_minus_z, keep=keep,
               h_check=float(ref["h"][j]))
    return out


def _slope_verdict(phi: str, slope: float) -> str:
    if phi == "identity":
        return "identity"
    if phi == "relu" and slope == 0.0:
        return "off"
    if slope <= SATURATED_SLOPE:
        return "saturated"
    return "quarter" if phi == "sigmoid" else "active"


def _comparison(a: Analysis, lj: float, ls: float, gated: bool) -> tuple:
    """(trend, comparison, reasons) of the measured norm against σ₁ᵗ."""
    s1 = a.sigma1
    trend = "flat" if abs(s1 - 1.0) <= 1e-9 else ("vanishes" if s1 < 1 else "explodes")
    if not (np.isfinite(lj) and np.isfinite(ls)):
        return trend, None, ()
    ratio = lj - ls
    if abs(ratio) <= FOLLOWS_DECADES:
        return trend, "follows", ()
    if gated:
        return trend, "below" if ratio < 0 else "above", ("gates",)
    if ratio > 0:
        return trend, "above", ()
    reasons = ["non_normal"] if a.rho_below_sigma1 else []
    reasons += {"sigmoid": ["sigmoid"], "tanh": ["saturation"], "relu": ["relu_off"]}.get(a.cell.nonlinearity, [])
    return trend, "below", tuple(reasons)


def explain_values(a: Analysis, t: int, unit: int) -> ExplainValues:
    """The Explain panel's numbers and verdicts at step t (clamped to 0..T) for unit j (clamped)."""
    tr, cell = a.trace, a.cell
    t = min(max(0, int(t)), tr.steps)
    j = min(max(0, int(unit)), cell.hidden_size - 1)
    base = dict(kind=cell.kind, convention=cell.convention, nonlinearity=cell.nonlinearity, t=t, unit=j)
    if t == 0:
        numbers = {"h": float(tr.h[0, j])}
        if tr.c is not None:
            numbers["c"] = float(tr.c[0, j])
        return ExplainValues(**base, numbers=numbers)
    lj, ls = float(tr.log10_jac_norm[t]), float(a.sigma_curves[0][t])
    numbers = {"log10_jac": lj, "log10_sigma1t": ls, "sigma1": float(a.sigma1),
               "spectral_radius": a.spectral_radius}
    if np.isfinite(lj) and np.isfinite(ls):
        numbers["log10_ratio"] = lj - ls
    if tr.log10_cell_norm is not None:
        numbers["log10_cell"] = float(tr.log10_cell_norm[t])
    gated = cell.kind != "rnn"
    keep_verdict = slope_verdict = None
    if gated:
        numbers.update(_gated_numbers(a, t, j))
        keep = numbers["keep"]
        keep_verdict = "keeps" if keep >= KEEP_HIGH else ("cuts" if keep <= KEEP_LOW else "mixes")
    else:
        numbers.update(a=float(tr.preact[t - 1, j]), slope=float(tr.slope[t - 1, j]),
                       h_prev=float(tr.h[t - 1, j]), h=float(tr.h[t, j]))
        slope_verdict = _slope_verdict(cell.nonlinearity, numbers["slope"])
    trend, comparison, reasons = _comparison(a, lj, ls, gated)
    token = a.tokens[t - 1] if a.tokens and t - 1 < len(a.tokens) else None
    return ExplainValues(**base, token=token, numbers=numbers, keep_verdict=keep_verdict,
                         slope_verdict=slope_verdict, trend=trend, comparison=comparison, reasons=reasons)
