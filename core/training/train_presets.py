"""Train the shipped models (assets/models/*.npz) with the training lab, seeded:

    python -m core.training.train_presets --out assets/models [--only NAME] [--iters N] [--check]

(--check writes nothing and says whether the files in --out are reproduced byte for byte.)

Each model is a one-layer cell plus a softmax readout, trained by the lab's own pieces
(core.training.train: init_model, loss_and_grads, clip_by_norm, adam_step, evaluate — PyTorch's
initialisation, Adam lr 0.01, clipping at 1, batches of 64, the lab's curriculum ×1.5 from gap 5
at 95 % validation accuracy, early stop at 99 %), on real sentences: every token goes through
core.inputs.embed_token(token, 16, seed 0), the vectors Explore feeds a cell for a sentence, so
the same model runs on any sentence typed in the app. (The lab's own tasks use one-hot tokens of
a fixed vocabulary; that is why the sentences are generated here.) The readout reads h_T (the
cereal model's reads every h_t, below); the file stores it so that it can be read at every step
(the model's guess so far).

    trained-lstm-france, trained-gru-france, trained-rnn-france:
        "I grew up in {France|Germany|Spain|Italy} . <40 filler words> I speak fluent" → language
        (filler words drawn at random from core.inputs.FILLER; tested at gap 40 and 60)
    trained-rnn-clouds:  "<0–4 filler words> the {clouds|fish|worms|cows} are in the" → place
    cereal-review (= trained-lstm-cereal, the same weights under both names): a generated
        cereal review (core.training.reviews) → negative / positive (2500 generated reviews:
        0–1699 train, 1700–1999 validate, 2000–2499 test). Trained at every word, not on h_T
        alone (core.training.step_loss): the target after each token is the review's cues so far,
        each doubling the odds for its side (reviews.positive_target), with a small cost for
        opening the input gate and closing the forget gate (STEP_TRAINED), for a fixed number of
        iterations; so its guess and its gates move at the cue words and stay put elsewhere.

Files: PyTorch state_dict names (weight_ih_l0, …), the readout (weight_out, bias_out) and
"gatescope_meta" (UTF-8 JSON: kind, encoding, classes, texts, accuracies), written byte for byte
reproducibly (a zip with fixed dates); the review corpus as cereal-reviews.txt. The layout is
core.training.export's, which the lab's Save weights writes too.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from ..fileio import atomic_write_bytes
from ..inputs import FILLER, embed_token, france_sentence, tokenize
from .export import gatescope_arrays, model_meta, npz_bytes
from .reviews import corpus_text, generate_marked, positive_target
from .step_loss import step_loss_and_grads
from .train import AdamState, Model, adam_step, clip_by_norm, evaluate, init_model, loss_and_grads

EMBED_DIM, EMBED_SEED = 16, 0
COUNTRIES = ("france", "germany", "spain", "italy")
LANGUAGES = ("French", "German", "Spanish", "Italian")
SUBJECTS = ("clouds", "fish", "worms", "cows")
PLACES = ("sky", "sea", "ground", "field")
FILLER_WORDS = tuple(dict.fromkeys(FILLER))
CORPUS_FILE = "cereal-reviews.txt"
CEREAL = ("Amazing! This box of cereal gave me a perfectly balanced breakfast, as all things "
          "should be. In only ate half of it but will definitely be buying again!")


class SentenceTask:
    """Sentences as token lists → (ids (T, B), targets (B,)); embedded through a fixed table."""

    def __init__(self, name, classes, words, target_gap=0):
        self.name, self.classes, self.target_gap = name, tuple(classes), target_gap
        self.vocab = tuple(dict.fromkeys(words))
        self.index = {w: k for k, w in enumerate(self.vocab)}
        self.table = np.array([embed_token(w, EMBED_DIM, EMBED_SEED) for w in self.vocab])

    def embed(self, ids: np.ndarray) -> np.ndarray:
        return self.table[ids]                                   # (T, B, d)

    def batch(self, rng, B: int, gap: int):
        seqs, y = self.sample(rng, B, gap)
        ids = np.array([[self.index[w] for w in s] for s in seqs]).T
        return self.embed(ids), np.asarray(y, dtype=np.int64)


class France(SentenceTask):
    def __init__(self):
        super().__init__("france", LANGUAGES, ["i", "grew", "up", "in", ".", "speak", "fluent",
                                               *COUNTRIES, *FILLER_WORDS], target_gap=40)

    def sample(self, rng, B, gap):
        y = rng.integers(0, len(COUNTRIES), B)
        fill = rng.integers(0, len(FILLER_WORDS), (B, int(gap)))
        return [["i", "grew", "up", "in", COUNTRIES[k], "."] + [FILLER_WORDS[j] for j in f]
                + ["i", "speak", "fluent"] for k, f in zip(y, fill)], y


class Clouds(SentenceTask):
    def __init__(self):
        super().__init__("clouds", PLACES, ["the", "are", "in", *SUBJECTS, *FILLER_WORDS])

    def sample(self, rng, B, gap):
        y = rng.integers(0, len(SUBJECTS), B)
        lead = rng.integers(0, len(FILLER_WORDS), (B, int(rng.integers(0, 5))))
        return [[FILLER_WORDS[j] for j in f] + ["the", SUBJECTS[k], "are", "in", "the"]
                for k, f in zip(y, lead)], y


class Reviews(SentenceTask):
    """Reviews bucketed by length (a batch shares one length: the lab's batches are (T, B, d)).
    rows: (label, text) or (label, text, cues) — with cues, target_batch gives per-step targets."""

    def __init__(self, rows):
        self.rows = [(r[0], tokenize(r[1])) for r in rows]
        self.targets = [positive_target(len(s), r[2]) if len(r) > 2 else None
                        for r, (_, s) in zip(rows, self.rows)]
        super().__init__("cereal", ("negative", "positive"), [w for _, s in self.rows for w in s])
        self.by_len = {}
        for k, (_, s) in enumerate(self.rows):
            self.by_len.setdefault(len(s), []).append(k)
        self.lengths = sorted(self.by_len)

    def _draw(self, rng, B):
        pool = self.by_len[len(self.rows[int(rng.integers(len(self.rows)))][1])]
        return [pool[j] for j in rng.integers(0, len(pool), B)]

    def sample(self, rng, B, gap):
        k = self._draw(rng, B)
        return [self.rows[j][1] for j in k], [self.rows[j][0] for j in k]

    def target_batch(self, rng, B: int):
        """(x (T, B, d), targets (T, B, 2): [1 − q_t, q_t] with q_t = reviews.positive_target)."""
        k = self._draw(rng, B)
        if any(self.targets[j] is None for j in k):
            raise ValueError("per-step targets need reviews with their cues (reviews.generate_marked)")
        ids = np.array([[self.index[w] for w in self.rows[j][1]] for j in k]).T
        q = np.array([self.targets[j] for j in k]).T
        return self.embed(ids), np.stack([1.0 - q, q], axis=2)

    def all_batches(self):
        for L in self.lengths:
            pool = self.by_len[L]
            ids = np.array([[self.index[w] for w in self.rows[j][1]] for j in pool]).T
            yield self.embed(ids), np.array([self.rows[j][0] for j in pool], dtype=np.int64)


def _grads(model, task, rng, gap, step):
    """(loss, gradients) of one batch: the lab's loss on h_T, or (step: STEP_TRAINED settings) the
    loss at every step with the gate cost."""
    if step is None:
        x, y = task.batch(rng, 64, gap)
        return loss_and_grads(model, x, y)[:2]
    x, q = task.target_batch(rng, 64)
    return step_loss_and_grads(model, x, q, penalty=step["penalty"])[:2]


def fit(task: SentenceTask, kind: str, *, hidden: int, seed: int, iters: int, curriculum: bool,
        log=None, validate=None, step=None) -> tuple[Model, dict]:
    """The lab's loop (Adam 0.01, clip 1, B = 64, curriculum, early stop) on a SentenceTask.
    validate(model) → accuracy, if given, replaces the task's own validation batch. step (a
    STEP_TRAINED entry): the loss at every step, all `iters` iterations (no early stop)."""
    model = init_model(kind, EMBED_DIM, hidden, len(task.classes), seed=seed, forget_bias=1.0)
    rng = np.random.default_rng((seed, 1))
    target = task.target_gap
    gap = min(5, target) if curriculum else target
    adam, it, vals = AdamState(), 0, {}

    def val(g):
        if g not in vals:
            vals[g] = task.batch(np.random.default_rng((seed, 3, g)), 256, g)
        return evaluate(model, *vals[g])[1]

    for it in range(1, iters + 1):
        loss, grads = _grads(model, task, rng, gap, step)
        grads, _, _ = clip_by_norm(grads, 1.0)
        params, adam = adam_step(model.params, grads, adam, 0.01)
        model = Model(model.kind, params, model.nonlinearity, model.convention)
        if step is not None:
            if log and it % 250 == 0:
                log(f"  {task.name} {kind} it {it} loss {loss:.4f} val {validate(model):.3f}")
            continue
        if it % 25 == 0:
            acc = val(gap) if validate is None else validate(model)
            if log:
                log(f"  {task.name} {kind} it {it} gap {gap} loss {loss:.4f} val {acc:.3f}")
            if gap < target and acc >= 0.95:
                gap = min(target, max(gap + 1, int(round(gap * 1.5))))
            elif gap >= target and acc >= 0.99:
                break
    return model, {"iterations": it, "final_gap": gap}


def _test(task, model, seed, gap):
    x, y = task.batch(np.random.default_rng((seed, 2, gap)), 2000, gap)
    return evaluate(model, x, y)[1]


def _sentence_prediction(model: Model, task: SentenceTask, text: str):
    x, tokens = (np.array([embed_token(t, EMBED_DIM, EMBED_SEED) for t in tokenize(text)]),
                 tokenize(text))
    p = model.params
    from .train import forward
    h = forward(model, x[:, None, :])["h"][1:, 0]
    z = h @ p["weight_out"].T + p["bias_out"]
    z = np.exp(z - z.max(axis=1, keepdims=True))
    prob = z / z.sum(axis=1, keepdims=True)
    return tokens, prob


#: name: (task, cell, hidden size, seeds tried in order: the first reaching ACCEPT test accuracy
#: is kept, every attempt is recorded in the file's metadata).
SPECS = {
    "trained-lstm-france": ("france", "lstm", 32, (0, 1, 2)),
    "trained-gru-france": ("france", "gru", 32, (0, 1, 2)),
    "trained-rnn-france": ("france", "rnn", 32, (0, 1, 2, 3, 4)),
    "trained-rnn-clouds": ("clouds", "rnn", 16, (0, 1, 2)),
    "trained-lstm-cereal": ("cereal", "lstm", 16, (0, 1, 2)),
    "cereal-review": ("cereal", "lstm", 16, (0, 1, 2)),
}
ACCEPT = 0.9
#: Tasks trained at every step (fit's `step`): the gate cost's λ and the iterations.
STEP_TRAINED = {"cereal": {"penalty": 0.03, "iters": 3000}}


def _texts(task_name):
    if task_name == "france":
        text = france_sentence(40)
        return text, text.rsplit(" ", 1)[0]                      # prompt without "French"
    if task_name == "clouds":
        return "the clouds are in the sky", "the clouds are in the"
    return CEREAL, CEREAL


def corpus_accuracy(model: Model, reviews: Reviews) -> float:
    """Accuracy over every review of a Reviews set (all lengths)."""
    return sum(float(evaluate(model, x, y)[1]) * x.shape[1]
               for x, y in reviews.all_batches()) / len(reviews.rows)


def _attempt(task, task_name, kind, hidden, seed, iters, rows, log):
    validate = None
    if task_name == "cereal":                       # reviews 1700–1999 validate, 2000–2499 test
        val_set = Reviews(rows[1700:2000])
        validate = lambda m: corpus_accuracy(m, val_set)  # noqa: E731
    step = STEP_TRAINED.get(task_name)
    model, info = fit(task, kind, hidden=hidden, seed=seed, iters=iters or (step or {}).get("iters", 3000),
                      curriculum=task_name == "france", log=log, validate=validate, step=step)
    summary = {"iterations": info["iterations"], "seed": seed, "hidden": hidden}
    if step is not None:
        summary["training"] = {"loss": "every step", "target": "each cue doubles the odds",
                               "gate_cost": step["penalty"]}
    if task_name == "cereal":
        summary["test_accuracy"] = corpus_accuracy(model, Reviews(rows[2000:]))
        summary["validation_accuracy"] = corpus_accuracy(model, val_set)
        summary["train_accuracy"] = corpus_accuracy(model, task)
    else:
        summary["test_accuracy"] = _test(task, model, seed, task.target_gap)
        if task_name == "france":
            summary["test_accuracy_gap60"] = _test(task, model, seed, 60)
    return model, summary


def train_one(name: str, rows, *, iters: int | None = None, log=None) -> tuple[dict, dict]:
    """(arrays for the file, summary) for one SPECS entry: its seeds in order until one reaches
    ACCEPT test accuracy (all attempts listed in summary["attempts"])."""
    task_name, kind, hidden, seeds = SPECS[name]
    task = {"france": France, "clouds": Clouds}.get(task_name)
    task = task() if task else Reviews(rows[:1700])
    attempts, best = [], None
    for seed in seeds:
        model, summary = _attempt(task, task_name, kind, hidden, seed, iters, rows, log)
        attempts.append({"seed": seed, "test_accuracy": summary["test_accuracy"],
                         "iterations": summary["iterations"]})
        if best is None or summary["test_accuracy"] > best[1]["test_accuracy"]:
            best = (model, summary)
        if summary["test_accuracy"] >= ACCEPT:
            break
    model, summary = best                  # none reached ACCEPT: the best attempt, said so
    summary["attempts"] = attempts
    text, prompt = _texts(task_name)
    tokens, prob = _sentence_prediction(model, task, prompt)
    k = int(np.argmax(prob[-1]))
    summary.update(prompt_prediction=task.classes[k], prompt_probability=float(prob[-1, k]))
    meta = model_meta(model, name=name, task=task_name,
                      encoding={"type": "embed_text", "dim": EMBED_DIM, "seed": EMBED_SEED},
                      classes=list(task.classes), activation="softmax", text=text, prompt=prompt,
                      vocabulary=list(task.vocab), trained_by="python -m core.training.train_presets",
                      **summary)
    return gatescope_arrays(model, meta), summary


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m core.training.train_presets",
                                 description="Train Gatescope's shipped models (seeded).")
    ap.add_argument("--out", default="assets/models", help="folder for the .npz files")
    ap.add_argument("--only", action="append", choices=sorted(SPECS), help="train only this model")
    ap.add_argument("--iters", type=int, default=None, help="at most this many iterations")
    ap.add_argument("--check", action="store_true",
                    help="write nothing: train and say whether the files in --out are reproduced byte for byte")
    ap.add_argument("--quiet", action="store_true")
    args = ap.parse_args(argv)
    out = Path(args.out)
    if not args.check:
        out.mkdir(parents=True, exist_ok=True)
    rows = generate_marked(2500, seed=0)
    files = {CORPUS_FILE: corpus_text(r[:2] for r in rows).encode("utf-8")}
    log = None if args.quiet else (lambda s: print(s, file=sys.stderr, flush=True))
    done = {}
    for name in args.only or SPECS:
        if SPECS[name] not in done:                # the same SPECS entry: trained once
            done[SPECS[name]] = train_one(name, rows, iters=args.iters, log=log)
        arrays, summary = renamed(*done[SPECS[name]], name)
        files[f"{name}.npz"] = npz_bytes(arrays)
        print(name, json.dumps(summary), flush=True)
    if args.check:
        differ = [f for f, data in files.items() if not (out / f).is_file() or (out / f).read_bytes() != data]
        print("reproduced: " + ", ".join(files) if not differ else "not reproduced: " + ", ".join(differ))
        return 1 if differ else 0
    for f, data in files.items():
        atomic_write_bytes(out / f, data)
    return 0


def renamed(arrays: dict, summary: dict, name: str) -> tuple[dict, dict]:
    """The file's arrays with `name` in its metadata (the same weights under another name)."""
    meta = json.loads(bytes(arrays["gatescope_meta"]).decode())
    meta["name"] = name
    return {**arrays, "gatescope_meta": np.frombuffer(json.dumps(meta, ensure_ascii=False).encode(),
                                                      np.uint8)}, summary


if __name__ == "__main__":
    sys.exit(main())
