"""The whole setup as one validated, frozen table of properties (serialised as JSON).

One row of FIELDS per property: its type, default, allowed range or choices and what it means.
`Config.from_dict` validates every value before building anything and raises ConfigError with a
message naming the property; unknown keys are refused. Presets and session files use this table.
"""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import numpy as np

from .build import build_cell
from .cells import CONVENTIONS, KINDS, NONLINEARITIES, Cell
from .inputs import SENTENCES, SIGNALS, embed_text, signal
from .spectra import SHAPES, spectrum

SESSION_VERSION = 2
MAX_HIDDEN = 256
MAX_STEPS = 5000
MAX_INPUT = 256
MAX_TEXT = 20000
#: The structures of W (see core/spectra.py); "symmetric" is W = QΣQᵀ.
STRUCTURES = ("symmetric", "rotation", "non-normal")


class ConfigError(ValueError):
    """A setup value is missing, of the wrong type or out of range; the message names it."""


@dataclass(frozen=True)
class Field:
    """One setting: its name (the key in files, `--name-with-dashes` on the command line), type,
    default, inclusive range [lo, hi] or choices, unit and help text. Every surface (the control
    dock, the command line, session, preset and lesson files) is built from or checked against it."""
    name: str
    type: type
    default: object
    lo: float | None = None
    hi: float | None = None
    choices: tuple | None = None
    help: str = ""
    unit: str = ""
    #: the command-line option ("" = the name with dashes; None = no option)
    option: str | None = ""

    @property
    def flag(self) -> str | None:
        if self.option is None:
            return None
        return "--" + (self.option or self.name.replace("_", "-"))


FIELDS = (
    Field("cell", str, "rnn", choices=KINDS, help="cell kind"),
    Field("activation", str, "identity", choices=NONLINEARITIES, help="RNN nonlinearity φ"),
    Field("convention", str, "pytorch", choices=CONVENTIONS, help="GRU equations"),
    Field("hidden", int, 16, 1, MAX_HIDDEN, help="hidden size n", unit="units"),
    Field("input_size", int, 8, 1, MAX_INPUT, help="input size d", unit="inputs"),
    Field("sigma1", float, 1.01, 0.01, 3.0, help="largest singular value σ₁ of every W_h·"),
    Field("shape", str, "spike", choices=SHAPES, help="shape of the rest of the spectrum"),
    Field("structure", str, "symmetric", choices=STRUCTURES,
          help="W = QΣQᵀ (symmetric), normal with rotations (U ≠ V, still ‖Wᵗ‖ = σ₁ᵗ), or UΣVᵀ "
               "(non-normal)"),
    Field("seed", int, 0, 0, 2**31 - 1, help="random seed of weights and inputs"),
    Field("forget_bias", float, 1.0, -20.0, 20.0, help="LSTM forget-gate bias b_f"),
    Field("update_bias", float, 0.0, -20.0, 20.0, help="GRU update-gate bias b_z"),
    Field("input_scale", float, 1.0, 0.0, 1e6, help="scale of the input weights W_ih"),
    Field("source", str, "signal", choices=("text", "signal"), help="input: sentence or signal",
          option=None),
    Field("text", str, SENTENCES["france"], help="the sentence (source = text)"),
    Field("signal", str, "noise", choices=SIGNALS, help="synthetic signal (source = signal)"),
    Field("length", int, 365, 1, MAX_STEPS, help="sequence length T of a synthetic signal",
          unit="steps"),
    Field("clip", float, 0.0, 0.0, 1e6, help="gradient-clipping threshold (0 = off)"),
    Field("model", str, "", help="a trained model shipped with Gatescope (the trained-… presets) "
                                 "instead of the cell built from this setup; empty = none"),
)
FIELD = {f.name: f for f in FIELDS}

#: View-only state: where the user is looking, not what is simulated (the session file's "view").
VIEW_TABS = ("explore", "compare", "lab")
SCALES = (1.0, 1.5, 2.0, 3.0)
VIEW_FIELDS = (
    Field("step", int, -1, -1, MAX_STEPS, help="current step t (−1 = the last)", unit="steps"),
    Field("tab", str, "explore", choices=VIEW_TABS, help="the page shown", option="view"),
    Field("scale", float, 1.0, choices=SCALES, help="presentation scale"),
    Field("high_contrast", bool, False, help="high-contrast theme"),
    # the layer and direction drawn of a loaded model (0 and false without one); 7 is
    # core.models.MAX_LAYERS − 1 (that package imports this module, so the number is written here)
    Field("layer", int, 0, 0, 7, help="the loaded model's layer drawn (0 = the first)", option=None),
    Field("reverse", bool, False, help="its reverse direction drawn (a bidirectional layer)",
          option=None),
)
VIEW_FIELD = {f.name: f for f in VIEW_FIELDS}


def _short(value) -> str:
    """A refused value as the message quotes it: at most 60 characters."""
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) >= 10**40:
        return f"a {int(value.bit_length() * 0.30103) + 1}-digit number"   # str() may refuse
    text = repr(value)
    return text if len(text) <= 60 else text[:59] + "…"


def check_field(f: Field, value):
    """`value` converted to the field's type and checked against its range or choices."""
    name = f.name
    if f.type is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"'{name}' must be true or false, got {_short(value)}")
        return value
    if f.type is int:
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
            if isinstance(value, float) and math.isfinite(value) and value.is_integer():
                value = int(value)
            else:
                raise ConfigError(f"'{name}' must be a whole number, got {_short(value)}")
        value = int(value)
    elif f.type is float:
        if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
            raise ConfigError(f"'{name}' must be a number, got {_short(value)}")
        try:
            value = float(value)
        except OverflowError:
            value = math.inf
        if not math.isfinite(value):
            raise ConfigError(f"'{name}' must be a finite number, got {_short(value)}")
    elif f.type is str:
        if not isinstance(value, str):
            raise ConfigError(f"'{name}' must be text, got {_short(value)}")
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise ConfigError(f"'{name}' is not valid Unicode text (a lone surrogate?)") from None
    if f.choices is not None and value not in f.choices:
        shown = ", ".join(f"{c:g}" if isinstance(c, float) else str(c) for c in f.choices)
        raise ConfigError(f"'{name}' must be one of {shown}, got {_short(value)}")
    if f.lo is not None and not (f.lo <= value <= f.hi):
        raise ConfigError(f"'{name}' = {_short(value)} is out of range [{f.lo:g}, {f.hi:g}]")
    return value


@dataclass(frozen=True)
class Config:
    cell: str = FIELD["cell"].default
    activation: str = FIELD["activation"].default
    convention: str = FIELD["convention"].default
    hidden: int = FIELD["hidden"].default
    input_size: int = FIELD["input_size"].default
    sigma1: float = FIELD["sigma1"].default
    shape: str = FIELD["shape"].default
    structure: str = FIELD["structure"].default
    seed: int = FIELD["seed"].default
    forget_bias: float = FIELD["forget_bias"].default
    update_bias: float = FIELD["update_bias"].default
    input_scale: float = FIELD["input_scale"].default
    source: str = FIELD["source"].default
    text: str = FIELD["text"].default
    signal: str = FIELD["signal"].default
    length: int = FIELD["length"].default
    clip: float = FIELD["clip"].default
    model: str = FIELD["model"].default

    def __post_init__(self):
        for f in FIELDS:
            object.__setattr__(self, f.name, check_field(f, getattr(self, f.name)))
        if len(self.text) > MAX_TEXT:
            raise ConfigError(f"'text' is longer than {MAX_TEXT} characters")
        if self.source == "text":
            if not self.text.strip():
                raise ConfigError("'text' is empty: type a sentence or choose a signal")
            from .inputs import tokenize
            tokens = len(tokenize(self.text))
            if tokens > MAX_STEPS:
                raise ConfigError(f"'text' has {tokens} words; at most {MAX_STEPS}")

    @property
    def normal(self) -> bool:
        """W is a normal matrix (WᵀW = WWᵀ), so ‖Wᵗ‖ = σ₁ᵗ exactly."""
        return self.structure != "non-normal"

    @classmethod
    def from_dict(cls, data) -> Config:
        """Validate a (possibly partial) dict; missing keys take defaults; unknown keys are errors."""
        if not isinstance(data, dict):
            raise ConfigError(f"a setup must be a JSON object, got {type(data).__name__}")
        unknown = sorted(set(data) - set(FIELD))
        if unknown:
            raise ConfigError(f"unknown setting '{_short(unknown[0])[1:-1]}'")
        return cls(**data)

    @classmethod
    def from_legacy_dict(cls, data) -> tuple[Config, dict]:
        """A setup written by Gatescope 0.1 (session version 1): its `step` moves to the view and
        `normal: true/false` becomes `structure: symmetric/non-normal`. Returns (setup, view)."""
        if not isinstance(data, dict):
            return cls.from_dict(data), {}
        data, view = dict(data), {}
        if "step" in data:
            view["step"] = data.pop("step")
        if "normal" in data:
            normal = data.pop("normal")
            if not isinstance(normal, bool):
                raise ConfigError(f"'normal' must be true or false, got {_short(normal)}")
            data.setdefault("structure", "symmetric" if normal else "non-normal")
        return cls.from_dict(data), view

    def differences(self) -> dict:
        """The fields that differ from the defaults (what a setup link carries)."""
        return {f.name: getattr(self, f.name) for f in FIELDS if getattr(self, f.name) != f.default}

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    def replace(self, **changes) -> Config:
        return dataclasses.replace(self, **changes)

    # -- what the setup builds ------------------------------------------------------------------
    def singular_values(self) -> np.ndarray:
        return spectrum(self.sigma1, self.hidden, self.shape, self.structure)

    def build_cell(self) -> Cell:
        return build_cell(self.cell, self.hidden, self.input_size, sigma1=self.sigma1,
                          shape=self.shape, structure=self.structure, seed=self.seed,
                          input_scale=self.input_scale, forget_bias=self.forget_bias,
                          update_bias=self.update_bias, nonlinearity=self.activation,
                          convention=self.convention)

    def build_inputs(self, input_size: int | None = None) -> tuple[np.ndarray, list[str] | None]:
        """(T, d) inputs and the tokens (None for a signal)."""
        d = self.input_size if input_size is None else input_size
        if self.source == "text":
            x, tokens = embed_text(self.text, d, self.seed)
            return x, tokens
        return signal(self.signal, self.length, d, self.seed), None


@dataclass(frozen=True)
class ViewState:
    """Where the user is looking (VIEW_FIELDS): the step, the page, the presentation scale, the
    theme and the layer and direction of a loaded model drawn. Not part of the setup: changing it
    never simulates anything again."""
    step: int = VIEW_FIELD["step"].default
    tab: str = VIEW_FIELD["tab"].default
    scale: float = VIEW_FIELD["scale"].default
    high_contrast: bool = VIEW_FIELD["high_contrast"].default
    layer: int = VIEW_FIELD["layer"].default
    reverse: bool = VIEW_FIELD["reverse"].default

    def __post_init__(self):
        for f in VIEW_FIELDS:
            object.__setattr__(self, f.name, check_field(f, getattr(self, f.name)))

    @classmethod
    def from_dict(cls, data) -> ViewState:
        if not isinstance(data, dict):
            raise ConfigError(f"a view must be a JSON object, got {type(data).__name__}")
        unknown = sorted(set(data) - set(VIEW_FIELD))
        if unknown:
            raise ConfigError(f"unknown view setting '{_short(unknown[0])[1:-1]}'")
        return cls(**data)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    def replace(self, **changes) -> ViewState:
        return dataclasses.replace(self, **changes)
