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

SESSION_VERSION = 1
MAX_HIDDEN = 256
MAX_STEPS = 5000


class ConfigError(ValueError):
    """A setup value is missing, of the wrong type or out of range; the message names it."""


@dataclass(frozen=True)
class Field:
    name: str
    type: type
    default: object
    lo: float | None = None
    hi: float | None = None
    choices: tuple | None = None
    help: str = ""


FIELDS = (
    Field("cell", str, "rnn", choices=KINDS, help="cell kind"),
    Field("activation", str, "identity", choices=NONLINEARITIES, help="RNN nonlinearity φ"),
    Field("convention", str, "pytorch", choices=CONVENTIONS, help="GRU equations"),
    Field("hidden", int, 16, 1, MAX_HIDDEN, help="hidden size n"),
    Field("input_size", int, 8, 1, 256, help="input size d"),
    Field("sigma1", float, 1.01, 0.01, 3.0, help="largest singular value σ₁ of every W_h·"),
    Field("shape", str, "spike", choices=SHAPES, help="shape of the rest of the spectrum"),
    Field("normal", bool, True, help="W = QΣQᵀ (normal) or UΣVᵀ (non-normal)"),
    Field("seed", int, 0, 0, 2**31 - 1, help="random seed of weights and inputs"),
    Field("forget_bias", float, 1.0, -20.0, 20.0, help="LSTM forget-gate bias b_f"),
    Field("update_bias", float, 0.0, -20.0, 20.0, help="GRU update-gate bias b_z"),
    Field("input_scale", float, 1.0, 0.0, 1e6, help="scale of the input weights W_ih"),
    Field("source", str, "signal", choices=("text", "signal"), help="input: sentence or signal"),
    Field("text", str, SENTENCES["france"], help="the sentence (source = text)"),
    Field("signal", str, "noise", choices=SIGNALS, help="synthetic signal (source = signal)"),
    Field("length", int, 365, 1, MAX_STEPS, help="sequence length T of a synthetic signal"),
    Field("clip", float, 0.0, 0.0, 1e300, help="gradient-clipping threshold (0 = off)"),
    Field("step", int, -1, -1, MAX_STEPS, help="current step t (−1 = the last)"),
)
FIELD = {f.name: f for f in FIELDS}


def _check(f: Field, value):
    name = f.name
    if f.type is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"'{name}' must be true or false, got {value!r}")
        return value
    if f.type is int:
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
            if isinstance(value, float) and value.is_integer():
                value = int(value)
            else:
                raise ConfigError(f"'{name}' must be a whole number, got {value!r}")
        value = int(value)
    elif f.type is float:
        if isinstance(value, bool) or not isinstance(value, (int, float, np.number)):
            raise ConfigError(f"'{name}' must be a number, got {value!r}")
        value = float(value)
        if not math.isfinite(value):
            raise ConfigError(f"'{name}' must be finite, got {value!r}")
    elif f.type is str:
        if not isinstance(value, str):
            raise ConfigError(f"'{name}' must be text, got {value!r}")
    if f.choices is not None and value not in f.choices:
        raise ConfigError(f"'{name}' must be one of {', '.join(f.choices)}, got {value!r}")
    if f.lo is not None and not (f.lo <= value <= f.hi):
        raise ConfigError(f"'{name}' = {value!r} is out of range [{f.lo:g}, {f.hi:g}]")
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
    normal: bool = FIELD["normal"].default
    seed: int = FIELD["seed"].default
    forget_bias: float = FIELD["forget_bias"].default
    update_bias: float = FIELD["update_bias"].default
    input_scale: float = FIELD["input_scale"].default
    source: str = FIELD["source"].default
    text: str = FIELD["text"].default
    signal: str = FIELD["signal"].default
    length: int = FIELD["length"].default
    clip: float = FIELD["clip"].default
    step: int = FIELD["step"].default

    def __post_init__(self):
        for f in FIELDS:
            object.__setattr__(self, f.name, _check(f, getattr(self, f.name)))
        if self.source == "text" and not self.text.strip():
            raise ConfigError("'text' is empty: type a sentence or choose a signal")
        if len(self.text) > 20000:
            raise ConfigError("'text' is longer than 20000 characters")

    @classmethod
    def from_dict(cls, data) -> Config:
        """Validate a (possibly partial) dict; missing keys take defaults; unknown keys are errors."""
        if not isinstance(data, dict):
            raise ConfigError(f"a setup must be a JSON object, got {type(data).__name__}")
        unknown = sorted(set(data) - set(FIELD))
        if unknown:
            raise ConfigError(f"unknown setting '{unknown[0]}'")
        return cls(**data)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    def replace(self, **changes) -> Config:
        return dataclasses.replace(self, **changes)

    # -- what the setup builds ------------------------------------------------------------------
    def singular_values(self) -> np.ndarray:
        return spectrum(self.sigma1, self.hidden, self.shape)

    def build_cell(self) -> Cell:
        return build_cell(self.cell, self.hidden, self.input_size, sigma1=self.sigma1,
                          shape=self.shape, normal=self.normal, seed=self.seed,
                          input_scale=self.input_scale, forget_bias=self.forget_bias,
                          update_bias=self.update_bias, nonlinearity=self.activation,
                          convention=self.convention)

    def build_inputs(self, input_size: int | None = None) -> tuple[np.ndarray, list[str] | None]:
        """(T, d) inputs and the tokens (None for a signal)."""
        d = self.input_size if input_size is None else input_size
        if self.source == "text":
            x, tokens = embed_text(self.text, d, self.seed)
            if len(tokens) > MAX_STEPS:
                raise ConfigError(f"the sentence has {len(tokens)} tokens; at most {MAX_STEPS}")
            return x, tokens
        return signal(self.signal, self.length, d, self.seed), None
