"""Input sequences: the notes' sentences through a seeded embedding, and synthetic signals.

Every token maps to a fixed vector e(token) ∈ R^d, e ~ N(0, I/d), drawn from a generator seeded
by (embedding seed, a stable hash of the token): the same word always gets the same vector.
"""
from __future__ import annotations

import re
import zlib

import numpy as np

#: The notes' examples (§1 and §3.2). "france" carries the notes' "…" as filler words, the gap.
SENTENCES = {
    "clouds": "the clouds are in the sky",
    "france": "I grew up in France … I speak fluent French",
    "cereal": ("Amazing! This box of cereal gave me a perfectly balanced breakfast, as all things "
               "should be. In only ate half of it but will definitely be buying again!"),
}
FILLER = ("and then we moved to another town where the weather was mild and the days were long "
          "so we spent our time outside with friends at school and at home").split()
SIGNALS = ("zeros", "impulse", "noise", "sine")
_TOKEN = re.compile(r"\w+|[^\w\s]")


def tokenize(text: str) -> list[str]:
    """Words and punctuation marks, lower-cased: "Amazing!" → ["amazing", "!"]."""
    return [t.lower() for t in _TOKEN.findall(text)]


def france_sentence(gap: int) -> str:
    """ "I grew up in France", `gap` filler words, then "I speak fluent French" (the long gap)."""
    words = [FILLER[k % len(FILLER)] for k in range(max(0, int(gap)))]
    return " ".join(["I grew up in France ."] + words + ["I speak fluent French"])


def embed_token(token: str, d: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng([seed, zlib.crc32(token.encode("utf-8"))])
    return rng.standard_normal(d) / np.sqrt(d)


def embed_text(text: str, d: int, seed: int = 0) -> tuple[np.ndarray, list[str]]:
    """(T, d) token vectors and the T tokens."""
    tokens = tokenize(text)
    if not tokens:
        raise ValueError("the sentence has no words")
    return np.array([embed_token(t, d, seed) for t in tokens]), tokens


def signal(kind: str, T: int, d: int, seed: int = 0) -> np.ndarray:
    """Synthetic inputs (T, d): zeros; impulse (x_0 = 1/√d · 1, then 0); seeded noise N(0, 1/d);
    sine (x_t[j] = sin(2π t/20 + 2π j/d))."""
    if kind not in SIGNALS:
        raise ValueError(f"unknown signal {kind!r}; choose one of {', '.join(SIGNALS)}")
    if T < 1 or d < 1:
        raise ValueError("a signal needs T >= 1 and d >= 1")
    x = np.zeros((T, d))
    if kind == "impulse":
        x[0] = 1.0 / np.sqrt(d)
    elif kind == "noise":
        x = np.random.default_rng([seed, 7]).standard_normal((T, d)) / np.sqrt(d)
    elif kind == "sine":
        t = np.arange(T)[:, None]
        j = np.arange(d)[None, :]
        x = np.sin(2 * np.pi * t / 20 + 2 * np.pi * j / d)
    return x
