"""Explain: the notes' equations for the current cell and step with the live numbers of one chosen
unit substituted in (LSTM forget, input, candidate, cell update, output; GRU reset, update,
candidate, blend in the current convention; the RNN update and ∂h_t/∂h_0 = Wᵗ), and a line on
what to notice. values() returns the exact floats shown (the HTML rounds them)."""
from __future__ import annotations

import numpy as np
from gatescope.core.analysis import explain_values
from gatescope.core.text import (
    escape_html,
    format_factor,
    format_pow10,
    format_value,
    jacobian_norm_name,
    power_readout,
)
from PySide6.QtWidgets import QHBoxLayout, QLabel, QSpinBox, QTextBrowser, QVBoxLayout, QWidget

from .. import style

PHI = {"tanh": "tanh", "relu": "ReLU", "identity": "identity", "sigmoid": "σ"}
HX = "[h<sub>t−1</sub>, x<sub>t</sub>]"


def _b(v, color=style.PALETTE["MEASURED"][0]) -> str:
    return f"<b style='color:{color}'>{format_value(v)}</b>"


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
        self._dirty = False                       # values() behind the session (hidden since)
        self._text_behind = False                 # the typeset text behind it
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
        self._catch_up()
        return dict(self._values)

    def notice(self) -> str:
        self._catch_up()
        return self._notice

    def _catch_up(self):
        if self._dirty and self.session.analysis is not None:
            self._compose(self.session.analysis)

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
        """Typeset the text for the current analysis, step and unit — only while the panel is
        shown: hidden, it just notes that it is behind (shown again, or asked for values(), it
        catches up), so a slider drag or play never pays for a panel nobody sees."""
        a = self.session.analysis
        if a is None:
            return
        if not self.isVisible():
            self._dirty = self._text_behind = True
            return
        self.text.setHtml(self._compose(a))       # typesetting is the costly part
        self._text_behind = False

    def _compose(self, a) -> str:
        """The HTML for analysis a at the session's step and the chosen unit; sets values()."""
        self._dirty = False
        ev = explain_values(a, self.session.step, self.unit_spin.value())
        t, j, kind = ev.t, ev.unit, ev.kind
        head = (f"<p style='margin-bottom:2px'><b style='color:{self.theme.KIND_COLORS[kind]}; font-size:"
                f"{(style.BASE_POINT_SIZE + 3) * self.theme.scale:.0f}pt'>{kind.upper()}</b>"
                f"&nbsp; step <b>t = {t}</b>, unit <b>j = {j}</b>")
        if ev.token is not None:
            head += f", token “{escape_html(ev.token)}”"
        head += "</p>"
        if t == 0:
            body = self._initial(ev)
        else:
            body = {"lstm": self._lstm, "gru": self._gru, "rnn": self._rnn}[kind](ev)
            body += self._directions_and_reach(a, t, j)
        self._values = ev.as_dict()
        notice = f"<p style='background:#fff4d6; padding:4px'><b>What to notice:</b> {self._notice}</p>"
        html_text = head + body + notice
        if self.theme.high_contrast:        # every text at least 4.5:1 on white (WCAG)
            muted = self.theme.MUTED_TEXT
            html_text = html_text.replace("#555555", muted).replace("#666666", muted)
        return html_text

    def _directions_and_reach(self, a, t, j) -> str:
        """The notes' Σᵢ σᵢᵗ vᵢuᵢᵀ with the top three directions' live numbers, and how far back
        the inputs still reach h_t (each within a small time budget: skipped when too costly)."""
        from gatescope.core.explain_connectivity import reading_for
        from gatescope.core.explain_directions import directions_html
        out = ""
        try:
            html = directions_html(a, t, unit=j)
            if html:
                out += _line("Every direction (∂ℓ/∂h₀ = Σᵢ σᵢ vᵢuᵢᵀ ∂ℓ/∂hₜ)", html)
            reading = reading_for(a, t, getattr(self, "connectivity_k", 1))
            if reading is not None:
                out += _line("Which inputs still reach h<sub>t</sub> (connectivity)", reading.html())
        except (ValueError, FloatingPointError, np.linalg.LinAlgError):
            pass                   # an overflowed or degenerate trace: the equations above stand
        return out

    def showEvent(self, event):
        super().showEvent(event)
        if self._text_behind:
            self.render()

    # -- per cell --------------------------------------------------------------------------------
    def _gradient_lines(self, ev) -> str:
        v = ev.numbers
        # the measured norm in the gradient view's colour for it, σ₁ᵗ in σ₁'s
        out = (f"{jacobian_norm_name(ev.kind, rich=True)} = "
               f"<b style='color:{self.theme.MEASURED}'>{format_pow10(v['log10_jac'])}</b>"
               f" &nbsp;vs&nbsp; σ₁<sup>t</sup> = <span style='color:{self.theme.SIGMA1}'>"
               f"{power_readout(round(v['sigma1'], 6), ev.t)}</span>")
        if "log10_cell" in v:
            out += (f"<br>cell path {jacobian_norm_name(ev.kind, rich=True, cell_path=True)} = "
                    f"<b style='color:{self.theme.CELL_PATH}'>{format_pow10(v['log10_cell'])}</b>")
        return _line("Gradient back to step 0 (all units)", out)

    def _initial(self, ev) -> str:
        v = ev.numbers
        eq = f"h<sub>0</sub>[j] = {_b(v['h'])}"
        if "c" in v:
            eq += f", &nbsp;C<sub>0</sub>[j] = {_b(v['c'])}"
        self._notice = ("t = 0 is the initial state: no input has been read and no gate has acted yet, "
                        "and ∂s<sub>0</sub>/∂s<sub>0</sub> = I (norm 1). Step forward to see the equations.")
        return _line("The initial state", eq)

    def _lstm(self, ev) -> str:
        v = ev.numbers
        f, i, g, o = v["f"], v["i"], v["c_tilde"], v["o"]
        lines = [
            _line("Step 1 · forget gate", f"f<sub>t</sub> = σ(W<sub>f</sub>·{HX} + b<sub>f</sub>) = {_b(f)}"),
            _line("Step 2 · input gate", f"i<sub>t</sub> = σ(W<sub>i</sub>·{HX} + b<sub>i</sub>) = {_b(i)}"),
            _line("Step 2 · candidate", f"C̃<sub>t</sub> = tanh(W<sub>C</sub>·{HX} + b<sub>C</sub>) = {_b(g)}"),
            _line("Step 3 · cell update",
                  f"C<sub>t</sub> = f<sub>t</sub> ⊙ C<sub>t−1</sub> + i<sub>t</sub> ⊙ C̃<sub>t</sub>"
                  f" = {format_value(f)} × {format_factor(v['c_prev'])} + {format_value(i)} × "
                  f"{format_factor(g)} = {_b(v['c_check'])}",
                  f"simulated C<sub>t</sub> = {format_value(v['c'])}"),
            _line("Step 4 · output gate", f"o<sub>t</sub> = σ(W<sub>o</sub>·{HX} + b<sub>o</sub>) = {_b(o)}"),
            _line("Step 4 · output",
                  f"h<sub>t</sub> = o<sub>t</sub> ⊙ tanh(C<sub>t</sub>) = {format_value(o)} × "
                  f"tanh({format_value(v['c'])}) = {_b(v['h_check'])}",
                  f"h<sub>t−1</sub> = {format_value(v['h_prev'])}"),
            self._gradient_lines(ev),
        ]
        fs = format_value(f)
        if ev.keep_verdict == "keeps":
            s = (f"f = {fs} is near 1: this unit's cell state is carried almost unchanged (the "
                 "conveyor belt). Along it ∂C<sub>t</sub>/∂C<sub>t−1</sub> = f<sub>t</sub>, so the "
                 "gradient is multiplied by ≈ 1 per step, not by σ₁.")
        elif ev.keep_verdict == "cuts":
            s = (f"f = {fs} is near 0: this unit forgets C<sub>t−1</sub> here, and the gradient along "
                 "the cell path through it is cut.")
        else:
            s = (f"f = {fs}: this unit keeps only part of C<sub>t−1</sub>; over k such steps the "
                 f"cell path shrinks like f<sup>k</sup> (here {fs}<sup>10</sup> = {format_value(v['f_pow10'])}).")
        self._notice = s + self._sigma_sentence(ev)
        return "".join(lines)

    def _gru(self, ev) -> str:
        v = ev.numbers
        r, z, cand, h_prev = v["r"], v["z"], v["h_tilde"], v["h_prev"]
        seed = ev.convention == "seed"
        lines = [
            _line("Step 1 · reset gate", f"r<sub>t</sub> = σ(W<sub>r</sub>·{HX}) = {_b(r)}",
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
        lines.append(_line("Step 2 · update gate", f"z<sub>t</sub> = σ(W<sub>z</sub>·{HX}) = {_b(z)}"))
        omz, zs = format_value(v["one_minus_z"]), format_value(z)
        simulated = f"simulated h<sub>t</sub> = {format_value(v['h'])}"
        if seed:
            lines.append(_line("Step 2 · blend (the notes' convention)",
                               f"h<sub>t</sub> = (1 − z<sub>t</sub>) ⊙ h<sub>t−1</sub> + z<sub>t</sub> ⊙ h̃<sub>t</sub>"
                               f" = {omz} × {format_factor(h_prev)} + {zs} × {format_factor(cand)}"
                               f" = {_b(v['h_check'])}",
                               f"{simulated}; here z → 0 keeps h<sub>t−1</sub>"))
        else:
            lines.append(_line("Step 2 · blend (PyTorch's convention)",
                               f"h<sub>t</sub> = (1 − z<sub>t</sub>) ⊙ n<sub>t</sub> + z<sub>t</sub> ⊙ h<sub>t−1</sub>"
                               f" = {omz} × {format_factor(cand)} + {zs} × {format_factor(h_prev)}"
                               f" = {_b(v['h_check'])}",
                               f"{simulated}; here z → 1 keeps h<sub>t−1</sub> "
                               "(the notes' z is PyTorch's 1 − z)"))
        lines.append(self._gradient_lines(ev))
        w, keep = ("1 − z" if seed else "z"), format_value(v["keep"])
        if ev.keep_verdict == "keeps":
            s = (f"The weight on h<sub>t−1</sub> is {w} = {keep}, near 1: this unit keeps its state, "
                 "like an LSTM forget gate near 1, and the gradient passes through it almost intact.")
        elif ev.keep_verdict == "cuts":
            s = (f"The weight on h<sub>t−1</sub> is {w} = {keep}, near 0: this unit is overwritten by "
                 "the candidate, and the direct gradient path through it is cut.")
        else:
            s = (f"The weight on h<sub>t−1</sub> is {w} = {keep}: this unit mixes old state and "
                 "candidate; the direct gradient path shrinks by about that factor per step.")
        self._notice = s + self._sigma_sentence(ev)
        return "".join(lines)

    def _rnn(self, ev) -> str:
        v = ev.numbers
        phi = ev.nonlinearity
        name = PHI[phi]
        lines = [
            _line("The RNN update (notes §2, φ = " + name + ")",
                  "h<sub>t</sub> = φ(W<sup>hh</sup>h<sub>t−1</sub> + W<sup>hx</sup>x<sub>t</sub> + b)"),
            _line("pre-activation", f"a<sub>t</sub> = W<sup>hh</sup>h<sub>t−1</sub> + W<sup>hx</sup>x<sub>t</sub>"
                  f" + b = {_b(v['a'])}", f"h<sub>t−1</sub> = {format_value(v['h_prev'])}"),
            _line("new state", f"h<sub>t</sub> = {name}({format_value(v['a'])}) = {_b(v['h'])}"),
            _line("slope", f"φ'(a<sub>t</sub>) = {_b(v['slope'])}",
                  "∂h<sub>t</sub>/∂h<sub>t−1</sub> = diag(φ'(a<sub>t</sub>)) W<sup>hh</sup>"),
            _line("Back to step 0",
                  "∂h<sub>t</sub>/∂h<sub>0</sub> = ∏<sub>i=1..t</sub> diag(φ'(a<sub>i</sub>)) W<sup>hh</sup>"
                  + (" = (W<sup>hh</sup>)<sup>t</sup> (φ' = 1: the notes' case)" if phi == "identity" else "")),
            self._gradient_lines(ev),
        ]
        slope = format_value(v["slope"])
        s = {
            "identity": "φ is the identity, so φ' = 1 everywhere and ∂h<sub>t</sub>/∂h<sub>0</sub> = W<sup>t</sup>. ",
            "off": ("This ReLU unit is off (a<sub>t</sub> ≤ 0, φ' = 0): no gradient flows back through it at "
                    "this step. "),
            "saturated": (f"φ'(a<sub>t</sub>) = {slope} is small: the unit saturates, and saturation shrinks "
                          "the gradient through it on top of σ₁. "),
            "quarter": (f"σ'(a<sub>t</sub>) = {slope} ≤ ¼: even unsaturated, a sigmoid passes at most a "
                        "quarter of the gradient back at each step. "),
        }.get(ev.slope_verdict, f"φ'(a<sub>t</sub>) = {slope}: this unit is not saturated at this step. ")
        self._notice = s + self._sigma_sentence(ev)
        return "".join(lines)

    @staticmethod
    def _sigma_sentence(ev) -> str:
        """σ₁'s trend, and how the measured norm compares with σ₁ᵗ (ev.trend, ev.comparison)."""
        v = ev.numbers
        s1, ls = v["sigma1"], v["log10_sigma1t"]
        if ev.trend == "flat":             # an orthogonal W is 1 only up to rounding
            trend = "σ₁ = 1: σ₁<sup>t</sup> stays 1"
        elif ev.trend == "vanishes":
            trend = f"σ₁ = {s1:.4g} &lt; 1: σ₁<sup>t</sup> = {format_pow10(ls)} shrinks towards 0 as t grows (vanishes)"
        else:
            trend = f"σ₁ = {s1:.4g} &gt; 1: σ₁<sup>t</sup> = {format_pow10(ls)} grows without bound (explodes)"
        measured = f"the measured norm is {format_pow10(v['log10_jac'])}"
        if ev.comparison is None:
            return f" {trend}; {measured}."
        ratio = v["log10_ratio"]
        if ev.comparison == "follows":
            how = ", close to σ₁ᵗ: the gradient follows σ₁ᵗ"
        elif ev.comparison == "below":
            how = f", {format_pow10(-ratio)} times below σ₁ᵗ: " + ExplainView._why(ev)
        else:
            how = f", {format_pow10(ratio)} times above σ₁ᵗ" + (": " + ExplainView._why(ev) if ev.reasons else "")
        return f" {trend}; {measured}{how}."

    @staticmethod
    def _why(ev) -> str:
        """Why the measured norm is off σ₁ᵗ (ev.reasons): the gates; a non-normal W
        (‖Wᵗ‖^(1/t) → ρ < σ₁); σ' ≤ ¼; saturation; switched-off ReLU units."""
        text = {
            "gates": "the gates, not σ₁, decide it",
            "non_normal": (f"W is not normal (U ≠ V), so ‖W<sup>t</sup>‖ ≤ σ₁<sup>t</sup> and "
                           f"‖W<sup>t</sup>‖<sup>1/t</sup> → ρ = {ev.numbers['spectral_radius']:.4g}, "
                           "the spectral radius"),
            "sigmoid": ("σ' ≤ ¼ at every step (γ = ¼ in Pascanu's bound (γσ₁)<sup>t</sup>), less where "
                        "units saturate"),
            "saturation": "saturation (φ' &lt; 1) has shrunk it",
            "relu_off": "switched-off ReLU units (φ' = 0) have cut paths",
        }
        reasons = [text[r] for r in ev.reasons if r in text]
        return "; and ".join(reasons) if reasons else "rounding only"
