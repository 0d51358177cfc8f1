"""core.text: every formatter read back and checked against the number it stands for (to half a
unit of its last digit), the edge cases (0, ±∞, NaN, 10⁻³⁰⁸, 10⁶⁰², mantissas that round up to
10), scripts, names, and user text made safe for Qt's rich text and plain-text surfaces."""
import html
import math
from decimal import Decimal, getcontext

import pytest
from gatescope.core import text
from gatescope.core.text import (
    MINUS,
    SUB,
    SUP,
    WIDEST_TICK,
    escape_html,
    format_factor,
    format_log10_short,
    format_norm,
    format_positive,
    format_pow10,
    format_scale,
    format_sci,
    format_tick,
    format_value,
    plain,
    pow10_label,
    power_readout,
    subscript,
    superscript,
)
from hypothesis import given, settings
from hypothesis import strategies as st

UNSUP = {v: k for k, v in SUP.items() if k not in "−T"}
UNSUP.update({"⁻": "-", "·": "."})


def parse(s: str) -> tuple[float, int, float]:
    """A formatted number read back → (mantissa, exponent, half a unit of the last digit of the
    mantissa): "1.15×10⁶⁰²" → (1.15, 602, 0.005), "37.8" → (37.8, 0, 0.05), "−0.4721" → …"""
    s = s.replace(MINUS, "-")
    mant, _, exp = s.partition("×10")
    e = int("".join(UNSUP[c] for c in exp)) if exp else 0
    decimals = len(mant.partition(".")[2])
    return float(mant), e, 0.5 * 10.0 ** -decimals


def log10_of(s: str) -> tuple[float, float]:
    """(log10 of the formatted positive number, its allowed error in log10 from the rounding)."""
    m, e, half = parse(s)
    # |10^v − m·10^e| ≤ half·10^e  ⇔  log10 m − v within log10(m/(m − half)) (the wider side)
    return math.log10(m) + e, math.log10(m / (m - half)) + 1e-12


# -- powers of ten ---------------------------------------------------------------------------------

@settings(max_examples=400)
@given(st.floats(-1e4, 1e4, allow_nan=False))
def test_format_pow10_reads_back_to_its_number(v):
    s = format_pow10(v)
    got, err = log10_of(s)
    assert abs(got - v) <= err, s
    m, e, _ = parse(s)
    if "×10" in s:
        assert 1.0 <= m < 10.0 and (e >= 5 or e < -4), s            # never "10.00×10ᵏ"


@pytest.mark.parametrize("k", [-308, -307, -5, 5, 6, 300, 602, 10**6])
@pytest.mark.parametrize("mant", ["9.995", "9.9949", "9.9999999", "1", "1.005"])
def test_format_pow10_at_rounding_edges_and_far_beyond_float_range(k, mant):
    v = math.log10(float(mant)) + k
    s = format_pow10(v)
    m, e, _ = parse(s)
    assert 1.0 <= m < 10.0
    # the mantissa shown is the correctly rounded 10^(v − k), carried into the exponent at 10
    want = round(10.0 ** (v - k), 2)
    assert (m, e) == ((want, k) if want < 10 else (1.0, k + 1)), s


def test_format_pow10_exact_powers_of_two_beyond_float_range():
    # 2²⁰⁰⁰ and 2⁻²⁰⁰⁰ in exact integer / decimal arithmetic, independent of floats
    getcontext().prec = 60
    for p in (2000, -2000, 1024, -1075):
        x = Decimal(2) ** p
        e = x.adjusted()
        mant = (x.scaleb(-e)).quantize(Decimal("0.01"))
        if mant >= 10:
            mant, e = Decimal("1.00"), e + 1
        assert format_pow10(p * math.log10(2.0)) == f"{mant}×10" + str(e).translate(text.SUPERSCRIPT)
    assert power_readout(2.0, 2000) == "2²⁰⁰⁰ = " + format_pow10(2000 * math.log10(2.0))


def test_format_pow10_special_values():
    assert format_pow10(-math.inf) == "0"
    assert format_pow10(math.inf) == "∞"
    assert format_pow10(math.nan) == "undefined"
    assert format_norm(-math.inf, smooth=False) == "0"
    assert "underflow" in format_norm(-math.inf) and "10⁻³⁰⁸" in format_norm(-math.inf)
    assert power_readout(0.0, 5) == "0⁵ = 0"
    # the notes' table, computed from σ by exact decimal powering
    getcontext().prec = 50
    for sigma in ("1.01", "0.99", "1.02", "0.98"):
        exact = Decimal(sigma) ** 365
        got = power_readout(float(sigma), 365)
        assert got.startswith(f"{float(sigma):g}³⁶⁵ = ")
        m, e, half = parse(got.split(" = ")[1])
        assert abs(Decimal(repr(m)) * Decimal(10) ** e - exact) <= Decimal(repr(half)) * Decimal(10) ** e


# -- values, factors, scientific -----------------------------------------------------------------

@settings(max_examples=400)
@given(st.floats(allow_nan=False, allow_infinity=False))
def test_format_value_reads_back(v):
    s = format_value(v)
    if s.startswith(f"1 {MINUS} "):                               # a gate just below 1: 1 − ε
        m, e, half = parse(s[4:])
        assert 0.99995 <= v < 1 and abs((1 - v) - m * 10.0 ** e) <= half * 10.0 ** e * 1.0001
        return
    m, e, half = parse(s)
    if "×10" in s:
        assert 1.0 <= abs(m) < 10.0
        assert abs(Decimal(v).scaleb(-e) - Decimal(repr(m))) <= Decimal(repr(half))
    else:
        assert abs(v - m) <= half * 1.0001 and len(s.partition(".")[2]) == 4
    assert "-" not in s                                           # the typographic minus


def test_format_value_edges():
    assert format_value(math.inf) == "∞" and format_value(-math.inf) == f"{MINUS}∞"
    assert format_value(math.nan) == "NaN"
    assert format_value(0.0) == "0.0000" and format_value(-0.5) == f"{MINUS}0.5000"
    assert format_factor(-0.25) == f"({MINUS}0.2500)" and format_factor(0.25) == "0.2500"
    assert format_sci(-1.23456e-5) == f"{MINUS}1.235×10⁻⁵"
    assert format_sci(9.9996e4) == "1.000×10⁵"                    # rounds up into the exponent
    assert format_sci(1e-308) == "1.000×10⁻³⁰⁸" and format_sci(5e-324) == "4.941×10⁻³²⁴"


# -- colour-bar ticks and scales ---------------------------------------------------------------------

@settings(max_examples=400)
@given(st.floats(allow_nan=False, allow_infinity=False, allow_subnormal=True))
def test_format_tick_reads_back_within_its_one_decimal(v):
    s = format_tick(v)
    if v == 0:
        assert s == "0"
        return
    assert s.startswith(MINUS) == (v < 0) and "-" not in s
    m, e, _ = parse(s)
    if "×10" in s:
        assert 1.0 <= abs(m) < 10.0 and len(s.partition(".")[2].partition("×")[0]) <= 1
        mant = Decimal(abs(v)).scaleb(-e)                         # exact: v is a binary float
        assert abs(mant - Decimal(repr(abs(m)))) <= Decimal("0.05")
    else:
        assert 1e-3 <= abs(v) < 1e5 and abs(abs(m) - abs(v)) <= 5e-6 * abs(v)


def test_widest_tick_is_the_widest_a_states_colour_bar_shows():
    # the bar's ticks are ±0.8·m (and 0) for m a 1-2-5 level from 10⁻¹² up to float64's end
    from gatescope.core.theory import nice_level
    levels = [nice_level(m * 10.0 ** k) for k in range(-12, 308) for m in (1.0, 2.0, 5.0)]
    widths = {len(format_tick(sign * 0.8 * m)) for m in levels if m < 1.8e308 for sign in (1, -1)}
    assert max(widths) == len(WIDEST_TICK)


def test_format_tick_and_scale_edges():
    assert format_tick(-1.6e299) == WIDEST_TICK
    assert format_tick(9.96e5) == "1×10⁶"                         # 9.96 rounds to 10.0: carried
    assert format_tick(0.8) == "0.8" and format_tick(-80.0) == f"{MINUS}80"
    assert format_tick(math.inf) == "∞" and format_tick(math.nan) == "NaN"
    assert format_scale(20.0) == "20" and format_scale(5000.0) == "5000"
    assert format_scale(2e30) == format_pow10(math.log10(2e30)) == "2.00×10³⁰"
    assert format_scale(0.0) == "0.0000"
    assert format_positive(8.16e-5) == format_pow10(math.log10(8.16e-5)) and format_positive(0.0) == "0"
    assert format_positive(-1.0) == f"{MINUS}1" and format_positive(math.inf) == "inf"


def test_pow10_labels_read_back():
    for k in (-1000, -602, -1, 0, 3, 602, 10000):
        s = pow10_label(k)
        assert s.startswith("10") and parse("1×" + s)[1] == k
    assert pow10_label(1.5) == "10^1.5" and pow10_label(-1.5) == f"10^{MINUS}1.5"
    assert pow10_label(-math.inf) == "0"
    assert format_log10_short(-1.74) == f"1e{MINUS}1.7" and format_log10_short(2.0) == "1e+2.0"
    assert format_log10_short(-math.inf) == "0" and format_log10_short(math.nan) == "–"


# -- scripts and names --------------------------------------------------------------------------------

@given(st.text(alphabet=sorted(set(SUP) - {"−", "T", "ᵀ"}), min_size=1, max_size=8).map(str.strip).filter(bool))
def test_superscripts_read_back(s):
    inverse = {v: k for k, v in SUP.items() if k not in ("−", "T", "ᵀ")}
    assert "".join(inverse[c] for c in superscript(s)) == s


@given(st.text(alphabet=sorted(set(SUB) - {"−"}), min_size=1, max_size=8).map(str.strip).filter(bool))
def test_subscripts_read_back(s):
    inverse = {v: k for k, v in SUB.items() if k != "−"}
    assert "".join(inverse[c] for c in subscript(s)) == s


def test_scripts_written_out_where_unicode_has_none():
    assert superscript("(S)") == "^(S)" and superscript("S") == "^S" and superscript("ab") == "^(ab)"
    assert subscript("t−1") == "ₜ₋₁" and subscript("T") == "_T" and subscript(" ") == ""


def test_state_and_gate_names():
    assert text.jacobian_norm_name("rnn") == "‖∂hₜ/∂h₀‖" == text.jacobian_norm_name("gru")
    assert text.jacobian_norm_name("lstm") == "‖∂[h;C]ₜ/∂[h;C]₀‖"
    assert text.jacobian_norm_name("lstm", cell_path=True) == "‖∂Cₜ/∂C₀‖"
    assert text.jacobian_norm_name("rnn", rich=True) == "‖∂h<sub>t</sub>/∂h<sub>0</sub>‖"
    assert text.indexed("C", "t-1") == "Cₜ₋₁" and text.indexed("h", "t-1", rich=True) == f"h<sub>t{MINUS}1</sub>"
    assert text.gate_label("lstm", "g") == "C̃ₜ" and text.gate_label("gru", "n") == "h̃ₜ"
    assert text.gate_label("gru", "n", convention="pytorch") == "nₜ"
    assert text.power_name("σ₁") == "σ₁ᵗ" and text.power_name("σ₁", rich=True) == "σ₁<sup>t</sup>"
    assert set(text.GATE_SYMBOL["lstm"]) == set("ifgo") and set(text.GATE_SYMBOL["gru"]) == set("rzn")


# -- user text --------------------------------------------------------------------------------------

TOKENS = ["if a < b", "<", ">", "&", "&amp;", '"', "'", "<b>bold</b>", "😀", "👩‍💻", "e\u0301",
          "\ud800", "x\udfff", "\ud83d\ude00", "\u202eevil", "a\nb", "tab\tstop", "", "σ₁ᵗ"]
any_text = st.text(alphabet=st.characters(min_codepoint=0, max_codepoint=0x10FFFF, exclude_categories=()))


@settings(max_examples=300)
@given(any_text)
def test_plain_is_always_representable_and_keeps_ordinary_text(s):
    p = plain(s)
    p.encode("utf-8")                                             # no lone surrogates left
    assert not any(ord(c) < 32 or 0x7F <= ord(c) <= 0x9F for c in p)
    ordinary = all(not ("\ud800" <= c <= "\udfff") and ord(c) >= 32 and not 0x7F <= ord(c) <= 0x9F
                   and c not in "\u2028\u2029\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069" for c in s)
    if ordinary:
        assert p == s


@settings(max_examples=300)
@given(any_text)
def test_escape_html_round_trips_and_leaves_no_markup(s):
    e = escape_html(s)
    assert "<" not in e and ">" not in e and '"' not in e and "'" not in e
    assert html.unescape(e) == plain(s)


def test_plain_and_escape_examples():
    assert escape_html("if a < b") == "if a &lt; b"
    assert plain("\ud800") == "\ufffd" and plain("\ud83d\ude00") == "😀" and plain("👩‍💻") == "👩‍💻"
    assert plain("a\nb") == "a b" and plain("\u202eevil") == "\ufffdevil"


def test_escaped_tokens_show_whole_in_qt_rich_text(qapp):
    from PySide6.QtGui import QTextDocument
    doc = QTextDocument()
    for token in TOKENS:
        doc.setHtml(f"token “<b>{escape_html(token)}</b>” · t = 3")
        assert doc.toPlainText() == f"token “{plain(token)}” · t = 3", token
