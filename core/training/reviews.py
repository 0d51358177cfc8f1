"""A small corpus of cereal reviews that Gatescope generates (seeded), for the cereal-review model.

Each review holds one, three or five sentiment cues — an opener ("Amazing!" / "Awful!"), the
breakfast ("a perfectly balanced breakfast" / "a soggy breakfast"), up to two remarks ("The taste
was great." / "The taste was awful.") and an ending ("will definitely be buying again!" / "will
never be buying again!"), always in that order, the ending last — with up to three neutral
sentences ("I ate half of it", "My kids tried it too") among the remarks. A review's cues need
not agree: fewer than half of them may take the other side. Label = the majority's side (1 =
positive, 0 = negative), so every cue counts until the review is decided. The notes' own review
(core.inputs.SENTENCES["cereal"]) is never generated verbatim: it is the held-out example.

    generate(count, seed) -> list of (label, text)
    corpus_text(rows) / read_corpus(text): one "label<TAB>text" line each (UTF-8).
"""
from __future__ import annotations

import numpy as np

from ..inputs import tokenize

OPENERS = {1: ("Amazing!", "Delicious!", "Great cereal.", "Loved it!", "Fantastic!", "So good!",
               "Wonderful!", "Really tasty."),
           0: ("Awful!", "Disgusting.", "Terrible cereal.", "Hated it!", "Disappointing.", "So bad.",
               "Horrible!", "Really bland.")}
BREAKFAST = {1: ("a perfectly balanced", "a healthy", "a tasty", "a crunchy", "a delicious", "a great"),
             0: ("a soggy", "a stale", "a bland", "an awful", "a sad", "a terrible")}
REMARKS = {1: ("The taste was great.", "The flakes stayed crunchy.", "It tasted of honey.",
               "The kids loved it."),
           0: ("The taste was awful.", "The flakes went soggy.", "It tasted of cardboard.",
               "The kids hated it.")}
ENDINGS = {1: ("will definitely be buying again!", "would buy again.", "highly recommend it.",
               "will be buying more soon!", "my new favourite."),
           0: ("will never be buying again!", "would not buy again.", "do not recommend it.",
               "will be returning it.", "what a waste of money.")}
NEUTRAL = ("I ate half of it.", "My kids tried it too.", "The box was big.", "It came on time.",
           "I had it with milk.", "As all things should be.", "We eat cereal every morning.",
           "This box of cereal arrived on Monday.", "I only ate half of it.", "It is made with oats.")
CONNECT = ("but", "and", "so", "")
#: How many cues a review has (1, 3 or 5) and how often; the cue slots are opener, breakfast,
#: two remarks and the ending.
CUE_COUNTS, CUE_P = (1, 3, 5), (0.3, 0.4, 0.3)
SLOTS = 5


def _pick(table, rng):
    return table[int(rng.integers(len(table)))]


def decisive(phrase: str, others) -> int:
    """Index of the token of `phrase` at which it parts from every phrase in `others` (the other
    side's phrases of its kind): the first word that tells the side."""
    words = tokenize(phrase)
    common = 0
    for other in others:
        o = tokenize(other)
        k = 0
        while k < min(len(words), len(o)) and words[k] == o[k]:
            k += 1
        common = max(common, k)
    return common


def _sides(label: int, rng: np.random.Generator) -> dict:
    """{slot: side} for the cues of one review: k slots, fewer than k/2 of them on the other side."""
    k = CUE_COUNTS[int(rng.choice(len(CUE_COUNTS), p=CUE_P))]
    slots = sorted(int(j) for j in rng.choice(SLOTS, size=k, replace=False))
    other = set(int(j) for j in rng.choice(k, size=int(rng.integers(0, k // 2 + 1)), replace=False))
    return {slot: (1 - label if j in other else label) for j, slot in enumerate(slots)}


def _cue(table, side, rng, lead: str = "", tail: str = ""):
    """(sentence, side, index of its decisive token) for a phrase of `table` on `side`."""
    phrase = _pick(table[side], rng)
    return lead + phrase + tail, side, len(tokenize(lead)) + decisive(phrase, table[1 - side])


def review(label: int, rng: np.random.Generator) -> tuple[str, list]:
    """One review whose majority of cues is on `label`'s side (module docstring), drawn from `rng`:
    (text, [(index of the token that tells a cue's side, that side), …])."""
    sides = _sides(label, rng)
    parts = []
    if 0 in sides:
        parts.append(_cue(OPENERS, sides[0], rng))
    if 1 in sides:
        parts.append(_cue(BREAKFAST, sides[1], rng, "This box of cereal gave me ", " breakfast."))
    remark = [int(j) for j in rng.choice(len(REMARKS[1]), size=2, replace=False)]
    middle = [(REMARKS[sides[s]][remark[s - 2]], sides[s],
               decisive(REMARKS[sides[s]][remark[s - 2]], REMARKS[1 - sides[s]])) for s in (2, 3) if s in sides]
    middle += [(NEUTRAL[int(k)], None, 0) for k in rng.choice(len(NEUTRAL), size=rng.integers(0, 4), replace=False)]
    parts += [middle[int(k)] for k in rng.permutation(len(middle))]
    if 4 in sides:
        c = _pick(CONNECT, rng)
        text, side, k = _cue(ENDINGS, sides[4], rng, c + " " if c else "")
        parts.append((text if c else text[0].upper() + text[1:], side, k))
    cues, at = [], 0
    for text, side, k in parts:
        if side is not None:
            cues.append((at + k, side))
        at += len(tokenize(text))
    return " ".join(text for text, _, _ in parts), cues


def generate_marked(count: int, seed: int = 0) -> list[tuple[int, str, list]]:
    """`count` reviews (label, text, cues), half positive and half negative (shuffled), from
    default_rng((seed, 11)); cues as `review` gives them."""
    rng = np.random.default_rng((int(seed), 11))
    labels = np.arange(count) % 2
    rng.shuffle(labels)
    return [(int(y), *review(int(y), rng)) for y in labels]


def generate(count: int, seed: int = 0) -> list[tuple[int, str]]:
    """The reviews of generate_marked as (label, text)."""
    return [(y, text) for y, text, _ in generate_marked(count, seed)]


def positive_target(steps: int, cues) -> np.ndarray:
    """(steps,) the target after each token: every cue told so far doubles the odds for its side,
    q = 2^m / (1 + 2^m) with m = positive − negative cues so far — ½ before any cue, 2/3 after
    one positive cue, 4/5 after two, 2/3 after two positive and one negative."""
    m = np.zeros(steps)
    for k, side in cues:
        m[k:] += 1.0 if side else -1.0
    return 1.0 / (1.0 + 2.0 ** -m)


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
