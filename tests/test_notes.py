"""Help → the notes: the seed text's LaTeX becomes readable Unicode, and the banner states every
place where the notes are imprecise."""
import re

import pytest
from gatescope.gui.notes import latex_to_text, notes_markdown


@pytest.mark.parametrize("tex, text", [
    (r"h_t = \sigma(W^{hh}h_{t-1} + W^{hx}x_{[t]})", "hₜ = σ(Wʰʰhₜ₋₁ + Wʰˣx_[t])"),
    (r"\hat{y} = softmax(W^{(S)}h_t)", "ŷ = softmax(W^(S)hₜ)"),
    (r"\sum^{r}_{i=1}\sigma_i^t u_i v_i^\top", "∑ʳᵢ₌₁σᵢᵗ uᵢ vᵢᵀ"),
    (r"\prod_{i=1}^{t} W", "∏ᵢ₌₁ᵗ W"),
    (r"C_t = f_t * C_{t-1} + i_t * \tilde{C}_t", "Cₜ = fₜ * Cₜ₋₁ + iₜ * C̃ₜ"),
    (r"\|\hat{g}\| \geqslant threshold", "‖ĝ‖ ≥ threshold"),
    (r"1.01^{365}", "1.01³⁶⁵"),
])
def test_latex_to_unicode(tex, text):
    assert latex_to_text(tex) == text


def test_rendered_notes_have_no_latex_left_and_state_the_corrections():
    md = notes_markdown()
    assert "$" not in md and not re.search(r"\\[a-zA-Z]+", md)
    assert "{" not in md and "}" not in md
    banner = md.split("# LSTM and GRU")[0]
    for must in ("U = V", "singular value", "typo for W_r", '"seed"', '"pytorch"', "z = 1"):
        assert must in banner
    assert "1.01³⁶⁵" in md or "1.01^365" in md
