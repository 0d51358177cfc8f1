"""A small corpus of cereal reviews that Gatescope generates (seeded), for the cereal-review model.

Each review is a few sentences: one to three sentiment cues of one polarity ("Amazing!",
"a perfectly balanced breakfast", "will definitely be buying again!" — or "Awful!", "a soggy
breakfast", "will never be buying again!") placed among neutral sentences ("I ate half of it",
"my kids tried it too"). Label 1 = positive, 0 = negative. The notes' own review
(core.inputs.SENTENCES["cereal"]) is never generated verbatim: it is the held-out example.

    generate(count, seed) -> list of (label, text)
    write_corpus(path, …) / read_corpus(path): one "label<TAB>text" line each (UTF-8).
"""
from __future__ import annotations

import numpy as np

OPENERS = {1: ("Amazing!", "Delicious!", "Great cereal.", "Loved it!", "Fantastic!", "So good!",
               "Wonderful!", "Really tasty."),
           0: ("Awful!", "Disgusting.", "Terrible cereal.", "Hated it!", "Disappointing.", "So bad.",
               "Horrible!", "Really bland.")}
BREAKFAST = {1: ("a perfectly balanced", "a healthy", "a tasty", "a crunchy", "a delicious", "a great"),
             0: ("a soggy", "a stale", "a bland", "an awful", "a sad", "a terrible")}
ENDINGS = {1: ("will definitely be buying again!", "would buy again.", "highly recommend it.",
               "will be buying more soon!", "my new favourite."),
           0: ("will never be buying again!", "would not buy again.", "do not recommend it.",
               "will be returning it.", "what a waste of money.")}
NEUTRAL = ("I ate half of it.", "My kids tried it too.", "The box was big.", "It came on time.",
           "I had it with milk.", "As all things should be.", "We eat cereal every morning.",
           "This box of cereal arrived on Monday.", "I only ate half of it.", "It is made with oats.")
CONNECT = ("but", "and", "so", "")


def review(label: int, rng: np.random.Generator) -> str:
    """One review of the given polarity: cues (opener, breakfast, ending; at least one) among
    zero to three neutral sentences, in an order drawn from `rng`."""
    use = rng.random(3) < 0.6
    if not use.any():
        use[rng.integers(3)] = True
    parts = []
    if use[0]:
        parts.append(OPENERS[label][rng.integers(len(OPENERS[label]))])
    neutral = list(rng.choice(len(NEUTRAL), size=rng.integers(0, 4), replace=False))
    if use[1]:
        parts.append("This box of cereal gave me " + BREAKFAST[label][rng.integers(len(BREAKFAST[label]))]
                     + " breakfast.")
    for k in neutral:
        parts.append(NEUTRAL[k])
    if use[2]:
        c = CONNECT[rng.integers(len(CONNECT))]
        end = ENDINGS[label][rng.integers(len(ENDINGS[label]))]
        parts.append((c + " " + end).strip() if c else end[0].upper() + end[1:])
    return " ".join(parts)


def generate(count: int, seed: int = 0) -> list[tuple[int, str]]:
    """`count` reviews, half positive and half negative (shuffled), from default_rng((seed, 11))."""
    rng = np.random.default_rng((int(seed), 11))
    labels = np.arange(count) % 2
    rng.shuffle(labels)
    return [(int(y), review(int(y), rng)) for y in labels]


def corpus_text(rows) -> str:
    return "".join(f"{y}\t{text}\n" for y, text in rows)


def read_corpus(text: str) -> list[tuple[int, str]]:
    """Rows from "label<TAB>text" lines (label 0 or 1); ValueError naming the first bad line."""
    rows = []
    for k, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        label, sep, body = line.partition("\t")
        if not sep or label not in ("0", "1") or not body.strip():
            raise ValueError(f"corpus line {k}: expected '0<TAB>text' or '1<TAB>text'")
        rows.append((int(label), body))
    return rows
