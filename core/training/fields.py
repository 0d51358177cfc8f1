"""The training configuration as one table, TRAIN_FIELDS: every setting's type, default, range or
choices and help. TrainConfig's defaults, `validate_config`, the `train` / `sweep` command-line
options and the lab's form are all built from it (tests/test_train.py walks it).

Memory is bounded before anything is allocated: back-propagation through time keeps every step's
activations of one training batch, about T · B · ((3G + 6) n + d) float64 numbers (G gate blocks,
n hidden units, d inputs); a batch above MAX_BPTT_BYTES is refused. Evaluation, validation and the
probe are streamed in chunks (core.training.tasks.DataSet), so --test-size costs time, not memory.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, replace

from ..cells import CONVENTIONS, GATE_BLOCKS, KINDS, NONLINEARITIES
from ..config import ConfigError, Field
from ..config import check_field as _check_field
from .tasks import MAX_CLASSES, MAX_GAP, TASKS, Task, TaskError, make_task

OPTIMIZERS = ("adam", "sgd")
#: Initialisations (core.training.inits): PyTorch's default; chrono gate biases (Tallec & Ollivier
#: 2018); IRNN, a ReLU RNN with W_hh = I (Le, Jaitly & Hinton 2015); orthogonal W_hh blocks.
INITS = ("default", "chrono", "irnn", "orthogonal")
#: The largest training batch back-propagation through time may hold (activations, float64).
MAX_BPTT_BYTES = 2 * 1024**3
MAX_HIDDEN = 256
MAX_SEED = 2**31 - 1
#: Settings whose value may also be None: gap (the task's default), clip and stop_accuracy (off).
OPTIONAL = ("gap", "clip", "stop_accuracy")
#: Command-line names that are not the field's name with dashes (kept from earlier releases).
CLI_NAMES = {"n_classes": "classes", "n_distractors": "distractors", "nonlinearity": "activation"}

_FIELD_KEYS = set(Field.__dataclass_fields__)


class TrainError(ValueError):
    """Bad training settings (a one-line, user-facing message)."""


def _f(name, type_, default, lo=None, hi=None, choices=None, help="", unit=""):
    """A Field; `unit` and the command-line name are passed where Field has them."""
    extra = {"unit": unit, "option": CLI_NAMES.get(name, "")}
    return Field(name, type_, default, lo, hi, choices, help,
                 **{k: v for k, v in extra.items() if k in _FIELD_KEYS})


TRAIN_FIELDS = (
    _f("task", str, "france", choices=TASKS,
       help="task: france = long-gap recall; clouds = short-gap contrast; adding = Hochreiter & "
            "Schmidhuber's adding problem (T = gap)"),
    _f("gap", int, None, 0, MAX_GAP, help="gap G: distractor tokens between the key and the "
       "query (adding: the sequence length, ≥ 2); default 40 (clouds 3)", unit="tokens"),
    _f("n_classes", int, 4, 2, MAX_CLASSES, help="number of countries K (chance = 1/K)"),
    _f("n_distractors", int, 8, 1, 256, help="number of distractor words D"),
    _f("lead", int, 0, 0, MAX_GAP, help="distractors before the key", unit="tokens"),
    _f("cell", str, "lstm", choices=KINDS, help="cell kind"),
    _f("hidden", int, 32, 1, MAX_HIDDEN, help="hidden size n", unit="units"),
    _f("nonlinearity", str, "tanh", choices=NONLINEARITIES, help="RNN nonlinearity φ; IRNN needs relu"),
    _f("convention", str, "pytorch", choices=CONVENTIONS,
       help="GRU equations: pytorch h' = (1−z)n + zh, or the notes' (seed) h' = (1−z)h + zh̃"),
    _f("init", str, "default", choices=INITS,
       help="initialisation: default = PyTorch's U(±1/√n); chrono = gate biases log U[1, T−1] "
            "(LSTM, GRU); irnn = ReLU RNN with W_hh = I; orthogonal = orthogonal W_hh blocks"),
    _f("forget_bias", float, 1.0, -20.0, 20.0, help="LSTM forget-gate bias b_f (not with chrono)"),
    _f("optimizer", str, "adam", choices=OPTIMIZERS, help="optimiser"),
    _f("lr", float, 0.01, 1e-6, 10.0, help="learning rate"),
    _f("batch", int, 64, 1, 4096, help="sequences per iteration", unit="sequences"),
    _f("iters", int, 1500, 0, 10**6, help="maximum training iterations", unit="iterations"),
    _f("clip", float, 1.0, 0.0, 1e6, help="clipping threshold: clip the gradient norm at it (0 = off)"),
    _f("curriculum", bool, True, help="curriculum: start at curriculum_start, grow the gap ×1.5 at the threshold"),
    _f("curriculum_start", int, 5, 0, MAX_GAP, help="the curriculum's first gap", unit="tokens"),
    _f("curriculum_threshold", float, 0.95, 0.05, 1.0,
       help="curriculum threshold: the validation accuracy at which the gap grows"),
    _f("eval_every", int, 25, 1, 10**6, help="iterations between evaluations", unit="iterations"),
    _f("val_size", int, 256, 1, 100000, help="validation sequences", unit="sequences"),
    _f("test_size", int, 2000, 1, 100000, help="test sequences", unit="sequences"),
    _f("stop_accuracy", float, 0.99, 0.0, 1.0,
       help="stop accuracy: stop early at this validation accuracy at the full gap (0 = never)"),
    _f("seed", int, 0, 0, MAX_SEED, help="random seed; the same seed gives the same run"),
)
TRAIN_FIELD = {f.name: f for f in TRAIN_FIELDS}


def option_name(f: Field) -> str:
    """The command-line option of a field: `--hidden`, `--forget-bias`, `--classes`."""
    return "--" + (CLI_NAMES.get(f.name) or f.name.replace("_", "-"))


def label(f: Field) -> str:
    """A setting's short name for messages: its help up to the first ':', ';' or '('."""
    text = f.help
    for sep in (":", ";", "("):
        text = text.split(sep)[0]
    return text.strip() or f.name


def check_value(name: str, value):
    """`value` converted to TRAIN_FIELD[name]'s type and checked against its range or choices
    (None allowed for OPTIONAL settings). Raises TrainError naming the setting."""
    if value is None and name in OPTIONAL:
        return None
    f = TRAIN_FIELD[name]
    try:
        return _check_field(f, value)
    except ConfigError as exc:
        raise TrainError(str(exc).replace(f"'{name}'", f"{label(f)} ('{name}')", 1)) from None


def _defaults() -> dict:
    return {f.name: f.default for f in TRAIN_FIELDS}


_D = _defaults()


@dataclass(frozen=True)
class TrainConfig:
    """Everything a run depends on (TRAIN_FIELDS). The same config (seed included) gives the same run.

    Curriculum (if on): train at gap `curriculum_start`, and whenever the validation accuracy at
    the current gap reaches `curriculum_threshold`, grow the gap ×1.5 (at least +1) up to `gap`.
    Early stop (stop_accuracy not None or 0): stop once the validation accuracy at the full gap
    reaches it. Not validated on construction: `validate_config` does that.
    """

    task: str = _D["task"]
    gap: int | None = _D["gap"]
    n_classes: int = _D["n_classes"]
    n_distractors: int = _D["n_distractors"]
    lead: int = _D["lead"]
    cell: str = _D["cell"]
    hidden: int = _D["hidden"]
    nonlinearity: str = _D["nonlinearity"]
    convention: str = _D["convention"]
    forget_bias: float = _D["forget_bias"]
    optimizer: str = _D["optimizer"]
    lr: float = _D["lr"]
    batch: int = _D["batch"]
    iters: int = _D["iters"]
    clip: float | None = _D["clip"]
    curriculum: bool = _D["curriculum"]
    curriculum_start: int = _D["curriculum_start"]
    curriculum_threshold: float = _D["curriculum_threshold"]
    eval_every: int = _D["eval_every"]
    val_size: int = _D["val_size"]
    test_size: int = _D["test_size"]
    stop_accuracy: float | None = _D["stop_accuracy"]
    seed: int = _D["seed"]
    init: str = _D["init"]

    def make_task(self) -> Task:
        try:
            return make_task(self.task, self.gap, n_classes=self.n_classes,
                             n_distractors=self.n_distractors, lead=self.lead)
        except TaskError as exc:
            raise TrainError(str(exc)) from None

    def replace(self, **changes) -> TrainConfig:
        return replace(self, **changes)

    def to_dict(self) -> dict:
        """Plain JSON-ready data (every field)."""
        return {f: getattr(self, f) for f in self.__dataclass_fields__}

    @classmethod
    def from_dict(cls, data: dict) -> TrainConfig:
        unknown = sorted(set(data) - set(TRAIN_FIELD))
        if unknown:
            raise TrainError(f"unknown training setting '{unknown[0]}'")
        return cls(**data)


def bptt_bytes(kind: str, length: int, batch: int, hidden: int, inputs: int) -> int:
    """Bytes of float64 activations BPTT keeps for one batch: T · B · ((3G + 6) n + d) · 8
    (inputs, pre-activations and their gradients per gate block, states and gate values)."""
    g = GATE_BLOCKS[kind]
    return int(length) * int(batch) * ((3 * g + 6) * int(hidden) + int(inputs)) * 8


def _check_combinations(cfg: TrainConfig, task: Task) -> None:
    if cfg.init == "irnn" and (cfg.cell != "rnn" or cfg.nonlinearity != "relu"):
        raise TrainError("IRNN is a ReLU RNN with W_hh = I: choose cell rnn and activation relu")
    if cfg.init == "chrono" and cfg.cell == "rnn":
        raise TrainError("chrono initialisation sets gate biases: choose an LSTM or a GRU")
    need = bptt_bytes(cfg.cell, task.length, cfg.batch, cfg.hidden, task.input_size)
    if need > MAX_BPTT_BYTES:
        raise TrainError(f"a batch of {cfg.batch} sequences of {task.length} steps with n = {cfg.hidden} "
                         f"needs {need / 2**30:.1f} GiB for back-propagation through time (at most "
                         f"{MAX_BPTT_BYTES / 2**30:.0f} GiB): lower the batch, the hidden size or the gap")


def validate_config(cfg: TrainConfig) -> Task:
    """Check every setting against TRAIN_FIELDS, then the combinations (IRNN ⇒ ReLU RNN, chrono ⇒
    gated cell, the memory of one BPTT batch); raise TrainError (one line); return the task."""
    for f in TRAIN_FIELDS:
        check_value(f.name, getattr(cfg, f.name))
    for name in ("lr", "clip", "forget_bias"):
        v = getattr(cfg, name)
        if v is not None and not math.isfinite(v):
            raise TrainError(f"'{name}' must be a finite number, got {v}")
    task = cfg.make_task()
    _check_combinations(cfg, task)
    return task
