"""The training lab's tasks, generated from a seed (pure NumPy, float64).

Every task yields a batch (x, y): inputs x (T, B, d) float64 (time first, like `simulate`'s (T, d)
with a batch axis), and targets y (B,) — class indices (int64) for the recall tasks, sums (float64)
for the adding problem. The readout sees only the last hidden state h_T.

recall ("france", "clouds") — one-hot tokens, vocabulary d = K keys + D distractors + 1 query:
    [lead distractors] key [gap distractors] query          T = lead + gap + 2
    target = the key's class ("France" → "French", "clouds" → "sky"); chance accuracy = 1/K.
    france: the notes' long-gap example, "I grew up in France … I speak fluent [French]".
    clouds: the short-gap contrast, "the clouds are in the [sky]" (gap 3 by default).
adding (Hochreiter & Schmidhuber 1997, in the form of Le, Jaitly & Hinton 2015) — d = 2:
    x_t = (u_t, m_t), u_t ~ U[0, 1], m_t = 1 at one step in the first half and one in the second
    half, else 0; T = gap (≥ 2); target = Σ_t u_t m_t. "Correct" means |ŷ − y| < 0.04 (H&S's
    criterion); always answering 1 scores 1 − 0.96² = 0.0784 (chance) with mean squared error 1/6.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

TASKS = ("france", "clouds", "adding")
COUNTRIES = ("France", "Germany", "Spain", "Italy", "Japan", "China", "Brazil", "Russia",
             "Greece", "Turkey", "Poland", "Sweden")
LANGUAGES = ("French", "German", "Spanish", "Italian", "Japanese", "Chinese", "Portuguese", "Russian",
             "Greek", "Turkish", "Polish", "Swedish")
SUBJECTS = ("clouds", "fish", "worms", "cows", "stars", "trains", "boats", "planes",
            "bees", "moles", "ships", "kites")
PLACES = ("sky", "sea", "ground", "field", "night", "station", "harbour", "air",
          "hive", "earth", "port", "wind")
DISTRACTORS = ("the", "food", "was", "good", "and", "we", "lived", "there", "for", "many", "years",
               "with", "friends", "in", "a", "small", "town", "by", "river", "then", "moved", "away",
               "to", "work", "on", "farm", "every", "day", "it", "rained", "often", "so")
QUERY = {"france": "I speak fluent", "clouds": "are in the"}
#: H&S's criterion for a correct answer on the adding problem.
ADDING_TOLERANCE = 0.04
MAX_GAP = 5000
MAX_CLASSES = len(COUNTRIES)


class TaskError(ValueError):
    """Bad task parameters (a one-line message)."""


@dataclass(frozen=True)
class Task:
    """A task's parameters. `gap`: distractors between key and query (recall) or T (adding)."""

    name: str = "france"
    gap: int = 40
    n_classes: int = 4          # K (recall tasks)
    n_distractors: int = 8      # D (recall tasks)
    lead: int = 0               # distractors before the key (recall tasks)

    @property
    def is_regression(self) -> bool:
        return self.name == "adding"

    @property
    def input_size(self) -> int:
        return 2 if self.is_regression else self.n_classes + self.n_distractors + 1

    @property
    def output_size(self) -> int:
        return 1 if self.is_regression else self.n_classes

    @property
    def length(self) -> int:
        return self.gap if self.is_regression else self.lead + self.gap + 2

    @property
    def chance(self) -> float:
        """Accuracy of the best input-blind guess: 1/K, or 1 − (1 − 0.04)² for adding."""
        if self.is_regression:
            return 1.0 - (1.0 - ADDING_TOLERANCE) ** 2
        return 1.0 / self.n_classes

    @property
    def chance_loss(self) -> float:
        """Loss of the best input-blind guess: log K (cross-entropy) or Var(u₁+u₂) = 1/6 (MSE)."""
        return 1.0 / 6.0 if self.is_regression else float(np.log(self.n_classes))

    def vocabulary(self) -> tuple[str, ...]:
        """Names of the d one-hot input tokens (recall), or of the two input channels (adding)."""
        if self.is_regression:
            return ("value", "marker")
        keys = COUNTRIES if self.name == "france" else SUBJECTS
        dis = tuple(DISTRACTORS[k % len(DISTRACTORS)] + ("" if k < len(DISTRACTORS) else f"{k}")
                    for k in range(self.n_distractors))
        return keys[:self.n_classes] + dis + (QUERY[self.name],)

    def class_names(self) -> tuple[str, ...]:
        if self.is_regression:
            return ("sum",)
        return (LANGUAGES if self.name == "france" else PLACES)[:self.n_classes]

    def with_gap(self, gap: int) -> Task:
        return Task(self.name, int(gap), self.n_classes, self.n_distractors, self.lead)


def make_task(name: str = "france", gap: int | None = None, *, n_classes: int = 4,
              n_distractors: int = 8, lead: int = 0) -> Task:
    """Validate and build a Task. Default gap: 40 (france), 3 (clouds), 40 (adding: T = 40)."""
    if name not in TASKS:
        raise TaskError(f"unknown task {name!r}; choose one of {', '.join(TASKS)}")
    if gap is None:
        gap = 3 if name == "clouds" else 40
    gap, lead = int(gap), int(lead)
    if name == "adding":
        if not 2 <= gap <= MAX_GAP:
            raise TaskError(f"the adding problem needs a length (gap) between 2 and {MAX_GAP}, got {gap}")
        return Task(name, gap, 1, 0, 0)
    if not 0 <= gap <= MAX_GAP:
        raise TaskError(f"gap must be between 0 and {MAX_GAP}, got {gap}")
    if not 0 <= lead <= MAX_GAP:
        raise TaskError(f"lead must be between 0 and {MAX_GAP}, got {lead}")
    if not 2 <= n_classes <= MAX_CLASSES:
        raise TaskError(f"the number of classes K must be between 2 and {MAX_CLASSES}, got {n_classes}")
    if not 1 <= n_distractors <= 256:
        raise TaskError(f"the number of distractor tokens must be between 1 and 256, got {n_distractors}")
    return Task(name, gap, int(n_classes), int(n_distractors), lead)


def make_batch(task: Task, batch: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """A batch drawn with `rng`: x (T, B, d) float64, y (B,) int64 classes or float64 sums."""
    B, T = int(batch), task.length
    if task.is_regression:
        x = np.zeros((T, B, 2))
        x[:, :, 0] = rng.random((T, B))
        half = T // 2
        first = rng.integers(0, half, size=B)
        second = rng.integers(half, T, size=B)
        cols = np.arange(B)
        x[first, cols, 1] = 1.0
        x[second, cols, 1] = 1.0
        y = x[first, cols, 0] + x[second, cols, 0]
        return x, y
    K, D = task.n_classes, task.n_distractors
    tokens = K + rng.integers(0, D, size=(T, B))          # distractors K..K+D−1
    y = rng.integers(0, K, size=B)
    tokens[task.lead] = y                                 # the key ("France")
    tokens[-1] = K + D                                    # the query ("I speak fluent")
    x = np.zeros((T, B, task.input_size))
    np.put_along_axis(x, tokens[:, :, None], 1.0, axis=2)
    return x, y.astype(np.int64)


#: Sequences per generated chunk of a DataSet: fixed, so the data never depend on memory limits.
DATA_CHUNK = 256
#: A DataSet up to this size is generated once and kept; larger ones are regenerated per pass.
KEEP_BYTES = 64 * 1024**2


class DataSet:
    """`size` sequences of `task`, generated chunk by chunk: chunk c (DATA_CHUNK sequences, the
    last one shorter) is make_batch(task, ·, default_rng((*key, c))). Iterating yields (x, y)
    chunks with x (T, b, d); the whole set never has to be in memory at once (a set above
    KEEP_BYTES is regenerated on every pass, identically)."""

    def __init__(self, task: Task, size: int, key: tuple):
        self.task, self.size, self.key = task, int(size), tuple(int(k) for k in key)
        self.nbytes = task.length * self.size * (task.input_size + 1) * 8
        self._kept = None

    def chunk(self, c: int) -> tuple[np.ndarray, np.ndarray]:
        b = min(DATA_CHUNK, self.size - c * DATA_CHUNK)
        return make_batch(self.task, b, np.random.default_rng((*self.key, c)))

    def __len__(self) -> int:
        return self.size

    def __iter__(self):
        if self._kept is not None:
            yield from self._kept
            return
        n = -(-self.size // DATA_CHUNK)
        chunks = (self.chunk(c) for c in range(n))
        if self.nbytes > KEEP_BYTES:
            yield from chunks
            return
        kept = []
        for item in chunks:
            kept.append(item)
            yield item
        self._kept = kept

    def first(self, count: int) -> tuple[np.ndarray, np.ndarray]:
        """The first min(count, size) sequences as one batch (count ≤ DATA_CHUNK)."""
        x, y = self.chunk(0)
        return x[:, :count], y[:count]


def batch_tokens(task: Task, x: np.ndarray) -> np.ndarray:
    """Token indices (T, B) of a recall batch (for display)."""
    if task.is_regression:
        raise TaskError("the adding problem has no tokens")
    return np.argmax(x, axis=2)


def describe(task: Task, x: np.ndarray, y, b: int = 0) -> str:
    """One sequence of a batch as text, e.g. "France the food … I speak fluent → French"."""
    if task.is_regression:
        marks = np.flatnonzero(x[:, b, 1])
        vals = ", ".join(f"u_{t + 1} = {x[t, b, 0]:.3f}" for t in marks)
        return f"T = {task.length}, marked {vals} → {float(y[b]):.3f}"
    vocab = task.vocabulary()
    words = [vocab[k] for k in batch_tokens(task, x)[:, b]]
    return " ".join(words) + " → " + task.class_names()[int(y[b])]
