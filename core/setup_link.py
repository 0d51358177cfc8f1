"""Setup links: a whole setup (and what to show of it) as one short, pasteable line of text.

    gatescope:preset=exploding&sigma1=1.03&step=200&view=gradient&play=1

The text after `gatescope:` is a URL query: `key=value` pairs joined by `&`, values percent-encoded
as UTF-8 (`text=the%20clouds`). Keys:

- `preset=NAME`: start from that preset's setup instead of the defaults;
- any setup field of `config.FIELDS` by its name (`sigma1`, `forget_bias`, `text`, …), with the
  field's own type and range (booleans as 1/0, true/false, yes/no or on/off);
- view keys, which are not part of the setup: `step` (a step t ≥ 0, or `end` / −1 for the last),
  `view` (a tab or view to show, one of VIEWS), `play` (1 plays, 0 pauses) and `speed` (steps a
  second, 0.5–200).

`setup_link(config)` writes only the fields that differ from the defaults, in FIELDS order, so the
defaults are just `gatescope:`; `parse_setup_link(setup_link(c)) == c` for every valid Config.
Every malformed text raises SetupLinkError with a one-line message naming the key.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import quote, unquote

from . import config as _config
from .config import FIELD, FIELDS, Config, ConfigError

SCHEME = "gatescope:"
#: Longest link accepted (a 20 000-character sentence of 4-byte characters, percent-encoded, fits).
MAX_LINK_CHARS = 256 * 1024
#: The explore tab's views, and the other tabs / panels a link (or a lesson step) can show.
EXPLORE_VIEWS = ("gradient", "flow", "gates", "states", "spectrum", "explain")
VIEWS = ("explore", *EXPLORE_VIEWS, "compare", "lab")
VIEW_KEYS = ("step", "view", "play", "speed")
SPEED_RANGE = (0.5, 200.0)
#: Setup fields a link writes and reads as setup (the current step is a view key).
SETUP_FIELDS = tuple(f for f in FIELDS if f.name not in VIEW_KEYS)
_SETUP = {f.name: f for f in SETUP_FIELDS}
#: The highest step a link may name (the view table's range, where the config module has one).
MAX_STEP = int((FIELD.get("step") or getattr(_config, "VIEW_FIELD", {}).get("step")
                or _config.Field("step", int, -1, -1, _config.MAX_STEPS)).hi)
_TRUE, _FALSE = ("1", "true", "yes", "on"), ("0", "false", "no", "off")
_INT = re.compile(r"[+-]?\d{1,30}")
_FLOAT = re.compile(r"[+-]?(\d{1,400}(\.\d{0,400})?|\.\d{1,400})([eE][+-]?\d{1,4})?")
_SAFE = "+,:;@!*'()/"          # left as they are in values (unreserved characters always are)


class SetupLinkError(ValueError):
    """A setup link cannot be used; the message names the key and the problem."""


def tab_of(view: str) -> str:
    """The tab a view lives on: 'explore', 'compare' or 'lab'."""
    return view if view in ("compare", "lab") else "explore"


@dataclass(frozen=True)
class Link:
    """A parsed link: where to start (`preset`), the setup fields it sets, and the view keys
    (None where the link does not say)."""
    preset: str | None = None
    fields: tuple = ()                 # ((name, value), …) in the order written, each valid alone
    step: int | None = None            # −1 = the last step
    view: str | None = None
    play: bool | None = None
    speed: float | None = None

    def config(self, base: Config | None = None) -> Config:
        """The setup this link opens: the preset (or `base`, or the defaults) with its fields set.
        Raises SetupLinkError for an unknown preset or fields that do not go together."""
        if self.preset is not None:
            from .presets import get_preset
            try:
                base = get_preset(self.preset).config
            except ConfigError:
                raise SetupLinkError(f"unknown preset '{self.preset}'") from None
        base = Config() if base is None else base
        changes = dict(self.fields)
        if "step" in FIELD:                    # while Config still carries the step
            changes["step"] = -1 if self.step is None else self.step
        try:
            return base.replace(**changes)
        except ConfigError as exc:
            raise SetupLinkError(str(exc)) from None

    @property
    def sets_view(self) -> bool:
        return any(v is not None for v in (self.step, self.view, self.play, self.speed))


# -- writing -------------------------------------------------------------------------------------
def _format(value) -> str:
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float):
        text = repr(value)                    # the shortest text that reads back to the same float
        return text[:-2] if text.endswith(".0") else text
    return str(value)


def setup_link(config: Config, *, step: int | None = None, view: str | None = None,
               play: bool | None = None, speed: float | None = None) -> str:
    """`gatescope:` and the fields of `config` that differ from the defaults (FIELDS order), then
    the view keys given. While Config has a `step` field, a step ≥ 0 in it is written as `step`."""
    default = Config()
    parts = [(f.name, getattr(config, f.name)) for f in SETUP_FIELDS
             if getattr(config, f.name) != getattr(default, f.name)]
    if step is None and "step" in FIELD and config.step >= 0:
        step = config.step
    for key, value in (("step", step), ("view", view), ("play", play), ("speed", speed)):
        if value is not None:
            parts.append((key, value))
    return SCHEME + "&".join(f"{k}={quote(_format(v), safe=_SAFE)}" for k, v in parts)


# -- reading -------------------------------------------------------------------------------------
def _bool(key: str, raw: str) -> bool:
    low = raw.strip().lower()
    if low in _TRUE:
        return True
    if low in _FALSE:
        return False
    raise SetupLinkError(f"'{key}' must be 1 or 0 (true or false), got '{raw}'")


def _number(key: str, raw: str, kind: type):
    text = raw.strip()
    if kind is int:
        if not _INT.fullmatch(text):
            raise SetupLinkError(f"'{key}' must be a whole number, got '{raw}'")
        return int(text)
    if not _FLOAT.fullmatch(text):
        raise SetupLinkError(f"'{key}' must be a number, got '{raw}'")
    return float(text)


def _field_value(key: str, raw: str):
    """A setup field's value from its text, checked against the field's type and range."""
    f = _SETUP[key]
    if f.type is bool:
        value = _bool(key, raw)
    elif f.type in (int, float):
        value = _number(key, raw, f.type)
    else:
        value = raw
    try:
        Config().replace(**{key: value})       # the field's own check (type, range, choices)
    except ConfigError as exc:
        raise SetupLinkError(str(exc)) from None
    return value


def _view_value(key: str, raw: str):
    if key == "step":
        if raw.strip().lower() in ("end", "last"):
            return -1
        t = _number(key, raw, int)
        if not -1 <= t <= MAX_STEP:
            raise SetupLinkError(f"'step' = {t} is out of range [-1, {MAX_STEP}] (-1 or 'end' = the last)")
        return t
    if key == "view":
        if raw not in VIEWS:
            raise SetupLinkError(f"'view' must be one of {', '.join(VIEWS)}, got '{raw}'")
        return raw
    if key == "play":
        return _bool(key, raw)
    v = _number(key, raw, float)
    lo, hi = SPEED_RANGE
    if not lo <= v <= hi:
        raise SetupLinkError(f"'speed' = {v:g} is out of range [{lo:g}, {hi:g}] steps a second")
    return v


def _unknown_key(key: str) -> SetupLinkError:
    import difflib
    known = ["preset", *_SETUP, *VIEW_KEYS]
    near = difflib.get_close_matches(key, known, n=1)
    hint = f" (did you mean '{near[0]}'?)" if near else ""
    return SetupLinkError(f"unknown key '{key}'{hint}")


def _pairs(text: str):
    """(key, raw value) pairs of the query after the scheme, percent-decoded as UTF-8."""
    if not isinstance(text, str):
        raise SetupLinkError(f"a setup link must be text, got {type(text).__name__}")
    if len(text) > MAX_LINK_CHARS:
        raise SetupLinkError(f"the link has {len(text)} characters; at most {MAX_LINK_CHARS}")
    text = text.strip()
    if text[:len(SCHEME)].lower() != SCHEME:
        raise SetupLinkError("not a Gatescope setup link (it must start with 'gatescope:')")
    query = text[len(SCHEME):].removeprefix("//").removeprefix("?")
    for part in query.split("&") if query else ():
        if not part:
            continue
        key, eq, raw = part.partition("=")
        if not eq:
            raise SetupLinkError(f"'{unquote(key)}' has no value (write key=value)")
        try:
            yield unquote(key, errors="strict"), unquote(raw, errors="strict")
        except UnicodeDecodeError:
            raise SetupLinkError(f"the value of '{unquote(key)}' is not UTF-8 text") from None


def parse_link(text: str) -> Link:
    """Parse and validate a `gatescope:` link; SetupLinkError names the first bad key."""
    found: dict = {}
    for key, raw in _pairs(text):
        if key in found:
            raise SetupLinkError(f"'{key}' is given twice")
        if key == "preset":
            found[key] = raw
        elif key in _SETUP:
            found[key] = _field_value(key, raw)
        elif key in VIEW_KEYS:
            found[key] = _view_value(key, raw)
        else:
            raise _unknown_key(key)
    fields = tuple((k, v) for k, v in found.items() if k in _SETUP)
    link = Link(found.get("preset"), fields, found.get("step"), found.get("view"), found.get("play"),
                found.get("speed"))
    if link.preset is not None:
        link.config()                           # an unknown preset is an error of the link
    return link


def parse_setup_link(text: str, base: Config | None = None) -> Config:
    """The setup a link opens (the view keys are checked but not part of the setup: see
    `parse_link`). Without a preset the fields apply to `base` (default: the defaults)."""
    return parse_link(text).config(base)
