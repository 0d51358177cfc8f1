"""Explain: the notes' equations for the current cell and step with the live numbers of one chosen
unit substituted in (LSTM forget, input, candidate, cell update, output; GRU reset, update,
candidate, blend in the current convention; the RNN update and ∂h_t/∂h_0 = Wᵗ), and a line on
what to notice. values() returns the exact floats shown (the HTML rounds them)."""
from __future__ import annotations

import html
import math

import numpy as np
from gatescope.core.theory import format_pow10, power_readout
from PySide6.QtWidgets import QHBoxLayout, QLabel, QSpinBox, QTextBrowser, QVBoxLayout, QWidget

from .. import style

PHI = {"tanh": "tanh", "relu": "ReLU", "identity": "identity", "sigmoid": "σ"}
SUP = str.maketrans("0123456789", "⁰¹²³⁴⁵⁶⁷⁸⁹")


def fmt(v: float) -> str:
    """4 decimals (4 significant digits for tiny or huge values); a gate within 5·10⁻⁵ of 1 is
    written 1 − ε, since ∏ f over many steps depends on exactly how close to 1 it is."""
    v = float(v)
    if not math.isfinite(v):
        return "∞" if v > 0 else ("−∞" if v < 0 else "NaN")
    if 0.99995 <= v < 1.0:
        return f"1 − {_sci(1.0 - v)}"
    if v != 0.0 and (abs(v) < 1e-3 or abs(v) >= 1e5):
        return _sci(v)
    return f"{v:.4f}".replace("-", "−")


def _sci(v: float) -> str:
    m, e = f"{v:.3e}".split("e")
    return f"{m}×10{str(int(e)).translate(SUP).replace('-', '⁻')}".replace("-", "−")


def fmtp(v: float) -> str:
    """fmt, in parentheses when negative (a factor of a product)."""
    text = fmt(v)
    return f"({text})" if text.startswith("−") else text


def _b(v, color=style.PALETTE["MEASURED"][0]) -> str:
    return f"<b style='color:{color}'>{fmt(v)}</b>"


def _line(step: str, eq: str, note: str = "") -> str:
    head = f"<span style='color:#555555'>{step}</span><br>" if step else ""
    tail = f"<br><span style='color:#666666'>{note}</span>" if note else ""
    return f"<p style='margin-top:6px; margin-bottom:6px'>{head}{eq}{tail}</p>"


class ExplainView(QWidget):
    """Public: unit_spin (QSpinBox "explain_unit"), text (QTextBrowser "explain_text"),
    values() → dict of the numbers shown, notice() → the "what to notice" sentence."""

    def __init__(self, session, parent=None, *, theme=None):
        super().__init__(parent)
        self.theme = theme or style.DEFAULT
        self.setObjectName("explain_view")
        self.session = session
        self.unit_spin = QSpinBox()
        self.unit_spin.setObjectName("explain_unit")
        self.unit_spin.setRange(0, 0)
        self.unit_spin.setToolTip("which unit j of the state vector to substitute into the equations")
        self.unit_label = QLabel("unit j =")
        self.text = QTextBrowser()
        self.text.setObjectName("explain_text")
        self.text.setOpenLinks(False)
        row = QHBoxLayout()
        row.addWidget(self.unit_label)
        row.addWidget(self.unit_spin)
        row.addStretch(1)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.addLayout(row)
        lay.addWidget(self.text, 1)
        self._values: dict = {}
        self._notice = ""
        self.unit_spin.valueChanged.connect(lambda _: self.render())
        self.apply_style()
        session.analysis_changed.connect(self._on_analysis)
        session.step_changed.connect(lambda _: self.render())
        if session.analysis is not None:
            self._on_analysis(session.analysis)
        else:
            self.text.setHtml("<p>No simulation yet.</p>")

    def apply_style(self, theme=None):
        if theme is not None:
            self.theme = theme
        for w in (self.unit_label, self.unit_spin, self.text):
            w.setFont(self.theme.font(1))
        if self.session.analysis is not None:
            self.render()      # the HTML carries font sizes

    # -- public ----------------------------------------------------------------------------------
    def values(self) -> dict:
        """The exact numbers substituted into the text (floats; t and unit as ints)."""
        return dict(self._values)

    def notice(self) -> str:
        return self._notice

    def unit(self) -> int:
        return self.unit_spin.value()

    # -- session events --------------------------------------------------------------------------
    def _on_analysis(self, a):
        n = a.cell.hidden_size
        self.unit_spin.blockSignals(True)
        self.unit_spin.setRange(0, n - 1)
        self.unit_spin.blockSignals(False)
        self.render()

    def render(self):
        a = self.session.analysis
        if a is None:
            return
        tr = a.trace
        t = min(max(0, self.session.step), tr.steps)
        j = min(self.unit_spin.value(), a.cell.hidden_size - 1)
        kind = a.cell.kind
        head = (f"<p style='margin-bottom:2px'><b style='color:{self.theme.KIND_COLORS[kind]}; font-size:"
                f"{(style.BASE_POINT_SIZE + 3) * self.theme.scale:.0f}pt'>{kind.upper()}</b>"
                f"&nbsp; step <b>t = {t}</b>, unit <b>j = {j}</b>")
        if a.tokens and t > 0:
            head += f", token “{html.escape(a.tokens[t - 1])}”"
        head += "</p>"
        vals = {"t": t, "unit": j}
        if t == 0:
            body = self._initial(a, j, vals)
        else:
            body = {"lstm": self._lstm, "gru": self._gru, "rnn": self._rnn}[kind](a, t, j, vals)
        self._values = vals
        notice = f"<p style='background:#fff4d6; padding:4px'><b>What to notice:</b> {self._notice}</p>"
        html_text = head + body + notice
        if self.isVisible():
            self.text.setHtml(html_text)       # typesetting is the costly part: only when shown
            self._stale = None
        else:
            self._stale = html_text

    def showEvent(self, event):
        if getattr(self, "_stale", None):
            self.text.setHtml(self._stale)
            self._stale = None
        super().showEvent(event)

    # -- per cell --------------------------------------------------------------------------------
    def _gradient_lines(self, a, t, vals, name="‖∂h<sub>t</sub>/∂h<sub>0</sub>‖") -> str:
        tr = a.trace
        lj, ls = float(tr.log10_jac_norm[t]), float(a.sigma_curves[0][t])
        vals.update(log10_jac=lj, log10_sigma1t=ls, sigma1=float(a.sigma1))
        # the measured norm in the gradient view's colour for it, σ₁ᵗ in σ₁'s
        out = (f"{name} = <b style='color:{self.theme.MEASURED}'>{format_pow10(lj)}</b>"
               f" &nbsp;vs&nbsp; σ₁<sup>t</sup> = <span style='color:{self.theme.SIGMA1}'>"
               f"{power_readout(round(a.sigma1, 6), t)}</span>")
        if tr.log10_cell_norm is not None:
            lc = float(tr.log10_cell_norm[t])
            vals["log10_cell"] = lc
            out += (f"<br>cell path ‖∂C<sub>t</sub>/∂C<sub>0</sub>‖ = "
                    f"<b style='color:{self.theme.CELL_PATH}'>{format_pow10(lc)}</b>")
        return _line("Gradient back to step 0 (all units)", out)

    def _initial(self, a, j, vals) -> str:
        tr = a.trace
        vals["h"] = float(tr.h[0, j])
        eq = f"h<sub>0</sub>[j] = {_b(vals['h'])}"
        if tr.c is not None:
            vals["c"] = float(tr.c[0, j])
            eq += f", &nbsp;C<sub>0</sub>[j] = {_b(vals['c'])}"
        self._notice = ("t = 0 is the initial state: no input has been read and no gate has acted yet, "
                        "and ∂s<sub>0</sub>/∂s<sub>0</sub> = I (norm 1). Step forward to see the equations.")
        return _line("The initial state", eq)

    def _lstm(self, a, t, j, vals) -> str:
        tr = a.trace
        g = {k: float(tr.gates[k][t - 1, j]) for k in "ifgo"}
        c_prev, c = float(tr.c[t - 1, j]), float(tr.c[t, j])
        h_prev, h = float(tr.h[t - 1, j]), float(tr.h[t, j])
        c_check = g["f"] * c_prev + g["i"] * g["g"]
        h_check = g["o"] * math.tanh(c)
        vals.update(f=g["f"], i=g["i"], c_tilde=g["g"], o=g["o"], c_prev=c_prev, c=c, h_prev=h_prev,
                    h=h, c_check=c_check, h_check=h_check)
        hx = "[h<sub>t−1</sub>, x<sub>t</sub>]"
        lines = [
            _line("Step 1 · forget gate", f"f<sub>t</sub> = σ(W<sub>f</sub>·{hx} + b<sub>f</sub>) = {_b(g['f'])}"),
            _line("Step 2 · input gate", f"i<sub>t</sub> = σ(W<sub>i</sub>·{hx} + b<sub>i</sub>) = {_b(g['i'])}"),
            _line("Step 2 · candidate", f"C̃<sub>t</sub> = tanh(W<sub>C</sub>·{hx} + b<sub>C</sub>) = {_b(g['g'])}"),
            _line("Step 3 · cell update",
                  f"C<sub>t</sub> = f<sub>t</sub> ⊙ C<sub>t−1</sub> + i<sub>t</sub> ⊙ C̃<sub>t</sub>"
                  f" = {fmt(g['f'])} × {fmtp(c_prev)} + {fmt(g['i'])} × {fmtp(g['g'])} = {_b(c_check)}",
                  f"simulated C<sub>t</sub> = {fmt(c)}"),
            _line("Step 4 · output gate", f"o<sub>t</sub> = σ(W<sub>o</sub>·{hx} + b<sub>o</sub>) = {_b(g['o'])}"),
            _line("Step 4 · output",
                  f"h<sub>t</sub> = o<sub>t</sub> ⊙ tanh(C<sub>t</sub>) = {fmt(g['o'])} × tanh({fmt(c)})"
                  f" = {_b(h_check)}", f"h<sub>t−1</sub> = {fmt(h_prev)}"),
            self._gradient_lines(a, t, vals, "‖∂[h;C]<sub>t</sub>/∂[h;C]<sub>0</sub>‖"),
        ]
        f = g["f"]
        if f >= 0.9:
            s = (f"f = {fmt(f)} is near 1: this unit's cell state is carried almost unchanged (the "
                 "conveyor belt). Along it ∂C<sub>t</sub>/∂C<sub>t−1</sub> = f<sub>t</sub>, so the "
                 "gradient is multiplied by ≈ 1 per step, not by σ₁.")
        elif f <= 0.1:
            s = (f"f = {fmt(f)} is near 0: this unit forgets C<sub>t−1</sub> here, and the gradient along "
                 "the cell path through it is cut.")
        else:
            s = (f"f = {fmt(f)}: this unit keeps only part of C<sub>t−1</sub>; over k such steps the "
                 f"cell path shrinks like f<sup>k</sup> (here {fmt(f)}<sup>10</sup> = {fmt(f ** 10)}).")
        s += self._sigma_sentence(a, t, gated=True)
        self._notice = s
        return "".join(lines)

    def _gru(self, a, t, j, vals) -> str:
        tr = a.trace
        r, z, cand = (float(tr.gates[k][t - 1, j]) for k in "rzn")
        h_prev, h = float(tr.h[t - 1, j]), float(tr.h[t, j])
        seed = a.cell.convention == "seed"
        keep = (1.0 - z) if seed else z
        h_check = (1.0 - z) * h_prev + z * cand if seed else (1.0 - z) * cand + z * h_prev
        vals.update(r=r, z=z, h_tilde=cand, h_prev=h_prev, h=h, h_check=h_check, keep=keep)
        hx = "[h<sub>t−1</sub>, x<sub>t</sub>]"
        lines = [
            _line("Step 1 · reset gate", f"r<sub>t</sub> = σ(W<sub>r</sub>·{hx}) = {_b(r)}",
                  "the notes print W<sub>z</sub> here: a typo for W<sub>r</sub>"),
        ]
        if seed:
            lines.append(_line("Step 1 · candidate (notes: r before the matmul)",
                               f"h̃<sub>t</sub> = tanh(W·[r<sub>t</sub> ⊙ h<sub>t−1</sub>, x<sub>t</sub>]) = "
                               f"{_b(cand)}"))
        else:
            lines.append(_line("Step 1 · candidate (PyTorch: r after the matmul)",
                               f"n<sub>t</sub> = tanh(W<sub>in</sub>x<sub>t</sub> + b<sub>in</sub> + r<sub>t</sub>"
                               f" ⊙ (W<sub>hn</sub>h<sub>t−1</sub> + b<sub>hn</sub>)) = {_b(cand)}"))
        lines.append(_line("Step 2 · update gate", f"z<sub>t</sub> = σ(W<sub>z</sub>·{hx}) = {_b(z)}"))
        if seed:
            lines.append(_line("Step 2 · blend (the notes' convention)",
                               f"h<sub>t</sub> = (1 − z<sub>t</sub>) ⊙ h<sub>t−1</sub> + z<sub>t</sub> ⊙ h̃<sub>t</sub>"
                               f" = {fmt(1 - z)} × {fmtp(h_prev)} + {fmt(z)} × {fmtp(cand)} = {_b(h_check)}",
                               f"simulated h<sub>t</sub> = {fmt(h)}; here z → 0 keeps h<sub>t−1</sub>"))
        else:
            lines.append(_line("Step 2 · blend (PyTorch's convention)",
                               f"h<sub>t</sub> = (1 − z<sub>t</sub>) ⊙ n<sub>t</sub> + z<sub>t</sub> ⊙ h<sub>t−1</sub>"
                               f" = {fmt(1 - z)} × {fmtp(cand)} + {fmt(z)} × {fmtp(h_prev)} = {_b(h_check)}",
                               f"simulated h<sub>t</sub> = {fmt(h)}; here z → 1 keeps h<sub>t−1</sub> "
                               "(the notes' z is PyTorch's 1 − z)"))
        lines.append(self._gradient_lines(a, t, vals))
        w = "1 − z" if seed else "z"
        if keep >= 0.9:
            s = (f"The weight on h<sub>t−1</sub> is {w} = {fmt(keep)}, near 1: this unit keeps its state, "
                 "like an LSTM forget gate near 1, and the gradient passes through it almost intact.")
        elif keep <= 0.1:
            s = (f"The weight on h<sub>t−1</sub> is {w} = {fmt(keep)}, near 0: this unit is overwritten by "
                 "the candidate, and the direct gradient path through it is cut.")
        else:
            s = (f"The weight on h<sub>t−1</sub> is {w} = {fmt(keep)}: this unit mixes old state and "
                 "candidate; the direct gradient path shrinks by about that factor per step.")
        s += self._sigma_sentence(a, t, gated=True)
        self._notice = s
        return "".join(lines)

    def _rnn(self, a, t, j, vals) -> str:
        tr = a.trace
        phi = a.cell.nonlinearity
        pre, slope = float(tr.preact[t - 1, j]), float(tr.slope[t - 1, j])
        h_prev, h = float(tr.h[t - 1, j]), float(tr.h[t, j])
        vals.update(a=pre, slope=slope, h_prev=h_prev, h=h)
        name = PHI[phi]
        lines = [
            _line("The RNN update (notes §2, φ = " + name + ")",
                  "h<sub>t</sub> = φ(W<sup>hh</sup>h<sub>t−1</sub> + W<sup>hx</sup>x<sub>t</sub> + b)"),
            _line("pre-activation", f"a<sub>t</sub> = W<sup>hh</sup>h<sub>t−1</sub> + W<sup>hx</sup>x<sub>t</sub>"
                  f" + b = {_b(pre)}", f"h<sub>t−1</sub> = {fmt(h_prev)}"),
            _line("new state", f"h<sub>t</sub> = {name}({fmt(pre)}) = {_b(h)}"),
            _line("slope", f"φ'(a<sub>t</sub>) = {_b(slope)}",
                  "∂h<sub>t</sub>/∂h<sub>t−1</sub> = diag(φ'(a<sub>t</sub>)) W<sup>hh</sup>"),
            _line("Back to step 0",
                  "∂h<sub>t</sub>/∂h<sub>0</sub> = ∏<sub>i=1..t</sub> diag(φ'(a<sub>i</sub>)) W<sup>hh</sup>"
                  + (" = (W<sup>hh</sup>)<sup>t</sup> (φ' = 1: the notes' case)" if phi == "identity" else "")),
            self._gradient_lines(a, t, vals),
        ]
        if phi == "identity":
            s = "φ is the identity, so φ' = 1 everywhere and ∂h<sub>t</sub>/∂h<sub>0</sub> = W<sup>t</sup>. "
        elif phi == "relu" and slope == 0.0:
            s = ("This ReLU unit is off (a<sub>t</sub> ≤ 0, φ' = 0): no gradient flows back through it at "
                 "this step. ")
        elif slope <= 0.1:
            s = (f"φ'(a<sub>t</sub>) = {fmt(slope)} is small: the unit saturates, and saturation shrinks the "
                 "gradient through it on top of σ₁. ")
        elif phi == "sigmoid":
            s = (f"σ'(a<sub>t</sub>) = {fmt(slope)} ≤ ¼: even unsaturated, a sigmoid passes at most a "
                 "quarter of the gradient back at each step. ")
        else:
            s = f"φ'(a<sub>t</sub>) = {fmt(slope)}: this unit is not saturated at this step. "
        self._notice = s + self._sigma_sentence(a, t, gated=False)
        return "".join(lines)

    @staticmethod
    def _sigma_sentence(a, t, *, gated: bool) -> str:
        s1 = a.sigma1
        lj = float(a.trace.log10_jac_norm[t])
        ls = float(a.sigma_curves[0][t])
        if abs(s1 - 1.0) <= 1e-9:          # an orthogonal W is 1 only up to rounding
            trend = "σ₁ = 1: σ₁<sup>t</sup> stays 1"
        elif s1 < 1:
            trend = f"σ₁ = {s1:.4g} &lt; 1: σ₁<sup>t</sup> = {format_pow10(ls)} shrinks towards 0 as t grows (vanishes)"
        else:
            trend = f"σ₁ = {s1:.4g} &gt; 1: σ₁<sup>t</sup> = {format_pow10(ls)} grows without bound (explodes)"
        measured = f"the measured norm is {format_pow10(lj)}"
        if not (np.isfinite(lj) and np.isfinite(ls)):
            return f" {trend}; {measured}."
        ratio = lj - ls
        if abs(ratio) <= 0.3:
            how = ", close to σ₁ᵗ: the gradient follows σ₁ᵗ"
        elif ratio < 0:
            how = f", {format_pow10(-ratio)} times below σ₁ᵗ: " + ExplainView._why_below(a, gated)
        else:
            how = f", {format_pow10(ratio)} times above σ₁ᵗ" + (": the gates, not σ₁, decide it" if gated else "")
        return f" {trend}; {measured}{how}."

    @staticmethod
    def _why_below(a, gated: bool) -> str:
        """Why the measured norm is below σ₁ᵗ: the gates; a non-normal W (‖Wᵗ‖^(1/t) → ρ < σ₁);
        saturation; switched-off ReLU units."""
        if gated:
            return "the gates, not σ₁, decide it"
        reasons = []
        if a.rho_below_sigma1:
            reasons.append(f"W is not normal (U ≠ V), so ‖W<sup>t</sup>‖ ≤ σ₁<sup>t</sup> and "
                           f"‖W<sup>t</sup>‖<sup>1/t</sup> → ρ = {a.spectral_radius:.4g}, the spectral radius")
        phi = a.cell.nonlinearity
        if phi == "sigmoid":
            reasons.append("σ' ≤ ¼ at every step (γ = ¼ in Pascanu's bound (γσ₁)<sup>t</sup>), less where "
                           "units saturate")
        elif phi == "tanh":
            reasons.append("saturation (φ' &lt; 1) has shrunk it")
        elif phi == "relu":
            reasons.append("switched-off ReLU units (φ' = 0) have cut paths")
        return "; and ".join(reasons) if reasons else "rounding only"
