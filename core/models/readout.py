"""A model: a recurrent stack, its input encoding and a Dense/Linear readout at every step.

    features_t = output_t of the stack's last layer (D·p)
    y_t = act(W_out features_t + b_out)            W_out (C, F), b_out (C,)
act: "linear" (logits), "softmax", "sigmoid", "tanh" or "relu". The predicted word at step t is
the class with the largest probability, where the probabilities are softmax(y_t) for "linear"
(logits, as cross-entropy training reads them), y_t for "softmax", and for a single "sigmoid"
output the pair (1 − y_t, y_t).

Input encodings: {"type": "embed_text", "dim": d, "seed": s}: the tokens of a sentence through
core.inputs.embed_text(text, d, s) — the same vectors Explore feeds a cell for a sentence;
{"type": "one_hot", "vocabulary": [V entries]}: the training lab's one-hot tokens (d = V), an
entry being a word or a phrase ("I speak fluent"), matched case-insensitively, longest first.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..config import MAX_STEPS
from ..inputs import embed_text, tokenize
from ..safeio import clip_text
from ..stack import Stack, StackTrace, run_stack
from .torch_dict import ModelError

ACTIVATIONS = ("linear", "softmax", "sigmoid", "tanh", "relu")
#: The most entries a one-hot vocabulary may have, and the longest entry (characters).
MAX_VOCABULARY, MAX_ENTRY = 4096, 200


def softmax(z: np.ndarray) -> np.ndarray:
    """softmax over the last axis, shifted by the maximum (no overflow)."""
    e = np.exp(z - np.max(z, axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


@dataclass(frozen=True, eq=False)
class Readout:
    """y = act(W x + b): weight (C, F), bias (C,), class names (C of them, or 2 for a single
    sigmoid output), or None."""

    weight: np.ndarray
    bias: np.ndarray
    activation: str = "linear"
    classes: tuple | None = None

    @property
    def size(self) -> int:
        return self.weight.shape[0]

    def __call__(self, features: np.ndarray) -> np.ndarray:
        """(T, F) → (T, C)."""
        z = features @ self.weight.T + self.bias
        act = self.activation
        if act == "softmax":
            return softmax(z)
        if act == "sigmoid":
            e = np.exp(-np.abs(z))
            return np.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e))
        if act == "tanh":
            return np.tanh(z)
        if act == "relu":
            return np.maximum(z, 0.0)
        return z

    def jacobian(self, features: np.ndarray) -> np.ndarray:
        """∂y_t/∂features_t (T, C, F): diag(act'(z_t)) W, and for softmax (diag(p) − p pᵀ) W."""
        z = features @ self.weight.T + self.bias
        y = self(features)
        W = self.weight
        if self.activation == "softmax":
            return y[:, :, None] * W[None] - y[:, :, None] * (y @ W)[:, None, :]
        slope = {"linear": np.ones_like(z), "sigmoid": y * (1.0 - y), "tanh": 1.0 - y * y,
                 "relu": (z > 0).astype(np.float64)}[self.activation]
        return slope[:, :, None] * W[None]

    def probabilities(self, y: np.ndarray) -> np.ndarray | None:
        """(T, K) class probabilities from outputs y (T, C), or None (tanh / relu outputs)."""
        if self.activation == "linear":
            return softmax(y) if self.size > 1 else None
        if self.activation == "softmax":
            return y
        if self.activation == "sigmoid":
            return np.concatenate([1.0 - y, y], axis=1) if self.size == 1 else y
        return None


def make_readout(weight, bias=None, activation="linear", classes=None) -> Readout:
    w = np.array(weight, dtype=np.float64)
    if w.ndim != 2 or not np.all(np.isfinite(w)):
        raise ModelError("the readout weight must be a finite 2-D matrix")
    b = np.zeros(w.shape[0]) if bias is None else np.array(bias, dtype=np.float64)
    if b.shape != (w.shape[0],) or not np.all(np.isfinite(b)):
        raise ModelError(f"the readout bias must be {w.shape[0]} finite numbers")
    if activation not in ACTIVATIONS:
        raise ModelError(f"readout activation '{activation}' is not supported; "
                         f"choose one of {', '.join(ACTIVATIONS)}")
    if classes is not None:
        classes = tuple(str(c)[:60] for c in classes)
        need = 2 if (activation == "sigmoid" and w.shape[0] == 1) else w.shape[0]
        if len(classes) != need:
            raise ModelError(f"{len(classes)} class names for a readout with {need} classes")
    for a in (w, b):
        a.flags.writeable = False
    return Readout(w, b, activation, classes)


def vocabulary_problem(vocabulary) -> str | None:
    """Why a one-hot vocabulary is unusable (not a list of 1–MAX_VOCABULARY distinct entries of
    at most MAX_ENTRY characters, each one or more words), or None."""
    if not isinstance(vocabulary, list) or not 1 <= len(vocabulary) <= MAX_VOCABULARY:
        return f"a vocabulary is a list of 1 to {MAX_VOCABULARY} entries"
    seen = set()
    for v in vocabulary:
        if not isinstance(v, str) or len(v) > MAX_ENTRY:
            return f"every vocabulary entry is text of at most {MAX_ENTRY} characters"
        words = tuple(tokenize(v))
        if not words or words in seen:
            return f"vocabulary entry '{clip_text(v)}' is empty or repeated"
        seen.add(words)
    return None


def one_hot_text(text: str, vocabulary) -> tuple[np.ndarray, list[str]]:
    """(T, V) one-hot inputs and the T entries read: the sentence's words (core.inputs.tokenize)
    matched against the vocabulary's entries, the longest entry first at every position (so "are
    in the" is one token where it is an entry, "in" another). ModelError for a word outside it."""
    words = tokenize(text)
    if not words:
        raise ModelError("the sentence has no words")
    entries = {tuple(tokenize(v)): k for k, v in enumerate(vocabulary)}
    longest = max(len(e) for e in entries)
    ids, i = [], 0
    while i < len(words):
        for L in range(min(longest, len(words) - i), 0, -1):
            k = entries.get(tuple(words[i:i + L]))
            if k is not None:
                break
        else:
            shown = ", ".join(vocabulary[:6]) + (", …" if len(vocabulary) > 6 else "")
            raise ModelError(f"'{clip_text(words[i])}' is not in this model's vocabulary ({shown})")
        ids.append(k)
        i += L
    x = np.zeros((len(ids), len(vocabulary)))
    x[np.arange(len(ids)), ids] = 1.0
    return x, [vocabulary[k] for k in ids]


@dataclass(frozen=True, eq=False)
class ModelRun:
    """One run: the stack's trace, the readout's outputs (T, C) and probabilities (T, K) (None
    without a readout), and the tokens when the input was a sentence."""

    trace: StackTrace
    outputs: np.ndarray | None = None
    probabilities: np.ndarray | None = None
    tokens: list | None = None


@dataclass(frozen=True, eq=False)
class Model:
    """A stack with (optionally) a readout and an input encoding; `meta` holds the file's other
    descriptive fields (name, description, accuracies of a trained preset)."""

    stack: Stack
    readout: Readout | None = None
    encoding: dict | None = None
    name: str = ""
    source: str = ""
    meta: dict = field(default_factory=dict)

    @property
    def classes(self) -> tuple | None:
        return None if self.readout is None else self.readout.classes

    def describe(self) -> str:
        """One line for a status bar: name, kind, layers, sizes, readout."""
        text = (f"{self.name}: " if self.name else "") + self.stack.describe()
        if self.readout is not None:
            text += f", readout {self.readout.size} ({self.readout.activation})"
        return text

    def encode(self, text: str) -> tuple[np.ndarray, list[str]]:
        """(T, d) inputs and the T tokens of a sentence, through the model's encoding."""
        enc = self.encoding
        kind = enc.get("type") if enc else None
        if kind not in ("embed_text", "one_hot"):
            raise ModelError("this model has no text encoding; give it input vectors (T, d)")
        try:
            if kind == "one_hot":
                x, tokens = one_hot_text(text, enc["vocabulary"])
            else:
                x, tokens = embed_text(text, int(enc["dim"]), int(enc.get("seed", 0)))
        except ModelError:
            raise
        except (ValueError, TypeError, UnicodeError) as exc:
            raise ModelError(str(exc)) from None
        if len(tokens) > MAX_STEPS:
            raise ModelError(f"the sentence has {len(tokens)} tokens; at most {MAX_STEPS}")
        return x, tokens

    def run(self, inputs, **options) -> ModelRun:
        """Run on a sentence (str, through `encode`) or on vectors (T, d). Options go to
        core.stack.run_stack (h0, c0, stacked_norm, progress)."""
        tokens = None
        if isinstance(inputs, str):
            inputs, tokens = self.encode(inputs)
        trace = run_stack(self.stack, inputs, **options)
        if self.readout is None:
            return ModelRun(trace, tokens=tokens)
        y = self.readout(trace.output)
        return ModelRun(trace, y, self.readout.probabilities(y), tokens)


def predict(model: Model, text: str, **options) -> list[tuple[str, str, float]]:
    """(token, predicted word, its probability) at every step of a sentence."""
    if model.readout is None:
        raise ModelError("this model has no readout, so it predicts nothing")
    run = model.run(text, stacked_norm=False, **options)
    if run.probabilities is None:
        raise ModelError(f"a '{model.readout.activation}' readout gives no probabilities")
    names = model.classes or tuple(str(k) for k in range(run.probabilities.shape[1]))
    best = np.argmax(run.probabilities, axis=1)
    return [(tok, names[k], float(run.probabilities[t, k]))
            for t, (tok, k) in enumerate(zip(run.tokens, best))]
