"""Setup links: every valid setup round-trips through its `gatescope:` text, the text holds only
the fields that differ from the defaults, and every malformed text gets one clear message."""
from urllib.parse import unquote

import pytest
from gatescope.core.config import FIELDS, Config, ConfigError
from gatescope.core.presets import get_preset, list_presets
from gatescope.core.setup_link import (
    MAX_LINK_CHARS,
    SETUP_FIELDS,
    SetupLinkError,
    parse_link,
    parse_setup_link,
    setup_link,
)
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st


def _field_strategy(f):
    if f.choices is not None:
        return st.sampled_from(f.choices)
    if f.type is bool:
        return st.booleans()
    if f.type is int:
        return st.integers(int(f.lo), int(f.hi))
    if f.type is float:
        return st.floats(f.lo, f.hi, allow_nan=False, allow_infinity=False)
    return st.text(min_size=1, max_size=40)


@st.composite
def configs(draw):
    """Any valid Config: each field drawn from its own table row (type, range, choices); a field
    left out keeps its default, so links of every length are drawn."""
    kw = {}
    for f in FIELDS:
        if draw(st.booleans()):
            kw[f.name] = draw(_field_strategy(f))
    try:
        return Config(**kw)
    except ConfigError:
        assume(False)


def _query(link: str) -> dict:
    assert link.startswith("gatescope:")
    body = link[len("gatescope:"):]
    return dict(part.split("=", 1) for part in body.split("&")) if body else {}


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(configs())
def test_every_valid_setup_round_trips_through_its_link(config):
    link = setup_link(config)
    assert parse_setup_link(link) == config
    # only the fields that differ from the defaults are written
    default = Config()
    differ = {f.name for f in SETUP_FIELDS if getattr(config, f.name) != getattr(default, f.name)}
    assert set(_query(link)) == differ
    # a link is one line of URL-safe text: no raw spaces, '&' or '=' inside a value
    assert all(c.isascii() and not c.isspace() for c in link)


@settings(max_examples=100, deadline=None)
@given(configs(), st.integers(-1, 5000), st.sampled_from(["gradient", "compare", "lab", "states"]),
       st.booleans(), st.floats(0.5, 200, allow_nan=False))
def test_view_keys_round_trip_and_stay_out_of_the_setup(config, step, view, play, speed):
    link = setup_link(config, step=step, view=view, play=play, speed=speed)
    parsed = parse_link(link)
    assert (parsed.step, parsed.view, parsed.play, parsed.speed) == (step, view, play, speed)
    assert parsed.config() == config


def test_text_with_url_syntax_and_emoji_survives():
    text = "if a < b & c = d then 100% + σ₁ᵗ 🙂 ?x=1#frag"
    config = Config(source="text", text=text)
    link = setup_link(config)
    assert "&" not in _query(link)["text"] and "=" not in _query(link)["text"]
    assert unquote(_query(link)["text"]) == text
    assert parse_setup_link(link).text == text


def test_defaults_are_the_bare_scheme_and_a_preset_link_starts_from_the_preset():
    assert setup_link(Config()) == "gatescope:"
    assert parse_setup_link("gatescope:") == Config()
    preset = list_presets()[0]
    assert parse_setup_link(setup_link(preset.config)) == preset.config
    exploding = get_preset("exploding").config
    got = parse_setup_link("gatescope:preset=exploding&seed=3")
    assert got == exploding.replace(seed=3) and got != Config(seed=3)


def test_pasted_text_with_whitespace_and_upper_case_scheme_is_accepted():
    assert parse_setup_link("  GateScope:sigma1=0.9\n").sigma1 == 0.9


@pytest.mark.parametrize("text, words", [
    ("http://example.com/?sigma1=1", "must start with 'gatescope:'"),
    ("gatescope:sigma1=5", "'sigma1' = 5.0 is out of range"),
    ("gatescope:sigma=1", "unknown key 'sigma' (did you mean 'sigma1'?)"),
    ("gatescope:preset=nope", "unknown preset 'nope'"),
    ("gatescope:text=%FF%FE", "'text' is not UTF-8"),
    ("gatescope:hidden=1.5", "'hidden' must be a whole number"),
    ("gatescope:sigma1=abc", "'sigma1' must be a number"),
    ("gatescope:sigma1=nan", "'sigma1' must be a number"),
    ("gatescope:sigma1=1e999", "'sigma1' must be a finite number"),
    ("gatescope:cell=tree", "'cell' must be one of rnn, lstm, gru"),
    ("gatescope:cell=rnn&cell=gru", "'cell' is given twice"),
    ("gatescope:seed", "'seed' has no value"),
    ("gatescope:step=6000", "'step' = 6000 is out of range"),
    ("gatescope:view=sky", "'view' must be one of"),
    ("gatescope:play=maybe", "'play' must be 1 or 0"),
    ("gatescope:speed=0", "'speed' = 0 is out of range"),
    ("gatescope:source=text&text=%20%20", "'text' is empty"),
])
def test_malformed_links_name_the_problem_in_one_line(text, words):
    with pytest.raises(SetupLinkError) as err:
        parse_setup_link(text)
    message = str(err.value)
    assert words in message and "\n" not in message


def test_an_oversized_link_is_refused_before_it_is_decoded():
    with pytest.raises(SetupLinkError, match="characters; at most"):
        parse_setup_link("gatescope:text=" + "a" * MAX_LINK_CHARS)


def test_non_text_is_refused():
    with pytest.raises(SetupLinkError, match="must be text"):
        parse_setup_link(b"gatescope:")
