"""Text the app shows, written in one place: numbers as the notes write them (37.8, 0.0006,
1.15×10⁶⁰²), compact colour-bar ticks (−1.6×10²⁹⁹), Unicode super- and subscripts, the names of
states, norms and gates (hₜ, Cₜ₋₁, ‖∂[h;C]ₜ/∂[h;C]₀‖), and user text made safe for Qt's rich
text (HTML) and for plain-text surfaces. Pure Python: no Qt, no NumPy.

Every number formatter takes floats (or their log10, for values beyond float64 range), handles
0, ±∞ and NaN, and never rounds a mantissa up to "10.0": 9.9996×10⁴ is written 1.00×10⁵.
"""
from __future__ import annotations

import html
import math
import re

MINUS = "\u2212"
#: exponent digits (and signs, the decimal point as a raised dot) in superscript
SUPERSCRIPT = str.maketrans("0123456789-−.", "⁰¹²³⁴⁵⁶⁷⁸⁹⁻⁻·")
#: every character with a Unicode superscript (or subscript) form used by the notes
SUP = dict(zip("0123456789+-−=()tTirhxjknᵀ", "⁰¹²³⁴⁵⁶⁷⁸⁹⁺⁻⁻⁼⁽⁾ᵗᵀⁱʳʰˣʲᵏⁿᵀ"))
SUB = dict(zip("0123456789+-−=()aehijklmnoprstuvx", "₀₁₂₃₄₅₆₇₈₉₊₋₋₌₍₎ₐₑₕᵢⱼₖₗₘₙₒₚᵣₛₜᵤᵥₓ"))


# -- scripts ---------------------------------------------------------------------------------------

def _script(body: str, table: dict, mark: str) -> str:
    body = (body or "").strip()
    if not body:
        return ""
    if all(c in table for c in body):
        return "".join(table[c] for c in body)
    return mark + (body if len(body) == 1 or body[0] in "([" else f"({body})")


def superscript(text: str) -> str:
    """"t−1" → "ᵗ⁻¹" where every character has a superscript; else written out: "(S)" → "^(S)"."""
    return _script(str(text), SUP, "^")


def subscript(text: str) -> str:
    """"t−1" → "ₜ₋₁" where every character has a subscript; else written out: "in" → "_(in)"."""
    return _script(str(text), SUB, "_")


def minus(text: str) -> str:
    """ASCII hyphen-minus → the typographic minus sign U+2212."""
    return str(text).replace("-", MINUS)


# -- numbers -------------------------------------------------------------------------------------

def _mantissa(log10_value: float, decimals: int) -> tuple[str, int]:
    """(mantissa text with `decimals` decimals in [1, 10), exponent) of 10^log10_value."""
    e = math.floor(log10_value)
    text = f"{10.0 ** (log10_value - e):.{decimals}f}"
    if float(text) >= 10.0:                  # 9.996 rounds to 10.00: carry into the exponent
        e += 1
        text = f"{10.0 ** (log10_value - e):.{decimals}f}"
        if float(text) < 1.0:
            text = f"{1.0:.{decimals}f}"
    return text, e


def format_pow10(log10_value: float, digits: int = 3) -> str:
    """A positive number given by its log10, as the notes write it: 37.8, 0.03, 0.0006, or
    1.15×10⁶⁰² (from 10⁵ up and below 10⁻⁴). Works far beyond float range (only the log is used);
    log10 −∞ is "0", +∞ "∞", NaN "undefined"."""
    v = float(log10_value)
    if math.isnan(v):
        return "undefined"
    if v == -math.inf:
        return "0"
    if v == math.inf:
        return "∞"
    if -4 <= v < 5:
        x = 10.0 ** v
        if x >= 100:
            return f"{x:.1f}"
        if x >= 1:
            return f"{x:.{digits}g}"
        # the notes' rounding: one significant digit below 0.1 (0.03, 0.0006), else two
        return f"{x:.1g}" if x < 0.1 else f"{x:.2g}"
    mant, e = _mantissa(v, 2)
    return f"{mant}×10{str(e).translate(SUPERSCRIPT)}"


def format_norm(log10_value: float, smooth: bool = True) -> str:
    """A gradient norm from its log10. An exactly zero Jacobian product is a true 0 only where
    the derivatives can be 0 (ReLU units that are off); with smooth nonlinearities (tanh, sigmoid,
    the gates) it means a saturated unit's derivative underflowed float64 (< 10⁻³⁰⁸)."""
    if log10_value == -math.inf and smooth:
        return "≈ 0 (underflow: φ' of saturated units < 10⁻³⁰⁸)"
    return format_pow10(log10_value)


def power_readout(sigma: float, t: int) -> str:
    """ "1.01³⁶⁵ = 37.8": σᵗ in the notes' form, computed in log space."""
    head = f"{sigma:g}{str(t).translate(SUPERSCRIPT)}"
    if sigma <= 0:
        return f"{head} = 0"
    return f"{head} = {format_pow10(t * math.log10(sigma))}"


def format_positive(v: float) -> str:
    """A positive value the way the app writes norms (8.16×10⁻⁵); 0, negatives and non-finite
    values as they are (0, −1, inf)."""
    v = float(v)
    if v > 0 and math.isfinite(v):
        return format_pow10(math.log10(v))
    return minus(f"{v:g}")


def format_sci(v: float, digits: int = 3) -> str:
    """Scientific notation with `digits` decimals: −1.234×10⁻⁵ (Python's correctly rounded 'e')."""
    v = float(v)
    if not math.isfinite(v):
        return format_value(v)
    m, e = f"{v:.{digits}e}".split("e")
    return minus(m) + "×10" + str(int(e)).translate(SUPERSCRIPT)


def format_value(v: float) -> str:
    """A value substituted into an equation: 4 decimals (−0.4721), 4 significant digits for tiny or
    huge ones (3.142×10⁻⁵), and a gate within 5·10⁻⁵ of 1 written 1 − ε (∏ f over many steps
    depends on exactly how close to 1 it is). ±∞ "∞", "−∞"; NaN "NaN"."""
    v = float(v)
    if not math.isfinite(v):
        return "∞" if v > 0 else (MINUS + "∞" if v < 0 else "NaN")
    if 0.99995 <= v < 1.0:
        return f"1 {MINUS} {format_sci(1.0 - v)}"
    if v != 0.0 and (abs(v) < 1e-3 or abs(v) >= 1e5):
        return format_sci(v)
    return minus(f"{v:.4f}")


def format_factor(v: float) -> str:
    """format_value, in parentheses when negative (a factor of a product): 0.5 × (−0.2)."""
    text = format_value(v)
    return f"({text})" if text.startswith(MINUS) else text


def format_tick(v: float) -> str:
    """A colour-bar tick, short: 0.8, 80, −1.6×10²⁹⁹ (one decimal of mantissa at most)."""
    v = float(v)
    if v == 0:
        return "0"
    if not math.isfinite(v):
        return format_value(v)
    a = abs(v)
    if 1e-3 <= a < 1e5:
        body = f"{a:g}"
    else:
        m, e = f"{a:.1e}".split("e")
        body = f"{float(m):g}×10" + str(int(e)).translate(SUPERSCRIPT)
    return (MINUS if v < 0 else "") + body


#: the widest label `format_tick` gives a colour bar of an unbounded state (sized for it once)
WIDEST_TICK = MINUS + "1.6×10²⁹⁹"


def format_scale(m: float) -> str:
    """The end of a colour scale as the notes write numbers: 20, 5000, 2.00×10³⁰."""
    m = float(m)
    if m == 0 or not math.isfinite(m):
        return format_value(m)
    if 1e-3 <= abs(m) < 1e5:
        return minus(f"{m:g}")
    return (MINUS if m < 0 else "") + format_pow10(math.log10(abs(m)))


def pow10_label(k: float) -> str:
    """An axis tick at log10 value k: "10³", "10⁻⁶⁰²" for whole k, else "10^1.5"."""
    k = float(k)
    if not math.isfinite(k):
        return "0" if k == -math.inf else format_value(k)
    if abs(k - round(k)) < 1e-9:
        return "10" + str(int(round(k))).translate(SUPERSCRIPT)
    return minus(f"10^{k:.1f}")


def format_log10_short(v: float) -> str:
    """A log10 value as a short power of ten for tables: 1e−1.7 (0 for −∞, – for undefined)."""
    v = float(v)
    if not math.isfinite(v):
        return "0" if v == -math.inf else "–"
    return minus(f"1e{v:+.1f}")


# -- user text -----------------------------------------------------------------------------------

#: bidirectional embeddings, overrides and isolates: a token holding one would reverse the rest
#: of the readout it is shown in
_BIDI = re.compile("[\u202a-\u202e\u2066-\u2069]")
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def plain(text) -> str:
    """User text made safe for any plain-text surface (tooltips, axis ticks, hover text, window
    titles): a surrogate pair written as two code points becomes its character, a lone surrogate
    (which Qt drops silently) becomes U+FFFD, line breaks and other control characters a space,
    bidirectional overrides U+FFFD. Emoji and every other character are kept."""
    s = str(text)
    if any("\ud800" <= ch <= "\udfff" for ch in s):
        s = s.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")
    return _BIDI.sub("\ufffd", _CONTROL.sub(" ", s))


def escape_html(text) -> str:
    """User text for Qt rich text (HTML readouts, labels, legends): `plain`, then <, >, &, " and '
    as entities, so "if a < b" shows whole instead of cutting the readout short."""
    return html.escape(plain(text), quote=True)


# -- names of states, norms and gates --------------------------------------------------------------

#: s for each kind: h, or [h;C] for the LSTM
STATE_SYMBOL = {"rnn": "h", "gru": "h", "lstm": "[h;C]"}
#: gate keys (PyTorch's blocks) → the notes' symbols
GATE_SYMBOL = {"lstm": {"i": "i", "f": "f", "g": "C̃", "o": "o"}, "gru": {"r": "r", "z": "z", "n": "h̃"}}
GATE_TITLE = {"lstm": {"i": "input gate", "f": "forget gate", "g": "candidate", "o": "output gate"},
              "gru": {"r": "reset gate", "z": "update gate", "n": "candidate"}}


def indexed(symbol: str, index, rich: bool = False) -> str:
    """symbol with a subscript: ("h", "t−1") → "hₜ₋₁", rich → "h<sub>t−1</sub>"."""
    index = minus(str(index))
    if rich:
        return f"{escape_html(symbol)}<sub>{escape_html(index)}</sub>"
    return symbol + subscript(index)


def gate_symbol(kind: str, key: str, convention: str = "seed") -> str:
    """The notes' symbol of a gate: LSTM g → C̃, GRU n → h̃ (n in PyTorch's form)."""
    if kind == "gru" and key == "n" and convention == "pytorch":
        return "n"
    return GATE_SYMBOL[kind][key]


def gate_label(kind: str, key: str, rich: bool = False, index="t", convention: str = "seed") -> str:
    """fₜ, C̃ₜ, h̃ₜ (or f<sub>t</sub> …): a gate at step `index`."""
    return indexed(gate_symbol(kind, key, convention), index, rich)


def jacobian_norm_name(kind: str, rich: bool = False, cell_path: bool = False) -> str:
    """‖∂sₜ/∂s₀‖ with s = h (RNN, GRU) or [h;C] (LSTM); cell_path: the LSTM's ‖∂Cₜ/∂C₀‖."""
    s = "C" if cell_path else STATE_SYMBOL[kind]
    return f"‖∂{indexed(s, 't', rich)}/∂{indexed(s, '0', rich)}‖"


def power_name(base: str, exponent="t", rich: bool = False) -> str:
    """σ₁ᵗ, or σ₁<sup>t</sup>."""
    if rich:
        return f"{escape_html(base)}<sup>{escape_html(minus(str(exponent)))}</sup>"
    return base + superscript(minus(str(exponent)))
