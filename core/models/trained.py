"""Gatescope's shipped trained models (assets/models/<name>.npz, made by
`python -m core.training.train_presets --out assets/models`).

    list_trained() -> names;  load_trained(name) -> Model (with vocabulary, encoding, readout)
    predict(model, text) -> [(token, predicted word, probability)] at every step
    predict_last(model, text=None) -> (token, word, probability) after the prompt's last word
    preset_info(name) -> {"title", "description", "config"}: what an Explore preset needs
"""
from __future__ import annotations

from importlib import resources

import numpy as np

from ..inputs import tokenize
from ..resources import asset
from . import load_model
from .readout import Model, predict
from .torch_dict import ModelError

__all__ = ["TITLES", "list_trained", "load_trained", "predict", "predict_last", "preset_info", "prompt_text"]

TITLES = {
    "trained-lstm-france": ("Trained LSTM: I grew up in France … I speak fluent [French]",
                            "An LSTM trained by Gatescope's training lab on the long gap (40 filler "
                            "words): units whose forget gate stays near 1 carry the country in C "
                            "until 'fluent'."),
    "trained-gru-france": ("Trained GRU: I grew up in France … I speak fluent [French]",
                           "A GRU trained by the lab on the long gap: units whose update gate "
                           "stays near 1 keep h across the filler words."),
    "trained-rnn-france": ("Trained tanh RNN: I grew up in France … I speak fluent [French]",
                           "A plain tanh RNN trained by the lab on the 40-word gap (with the lab's "
                           "curriculum). It solves that gap with a W_hh grown well past σ₁ = 1, "
                           "so its gradient back to 'France' does not vanish — but what it "
                           "learned is tied to that length: compare a 60-word gap."),
    "trained-rnn-clouds": ("Trained tanh RNN: the clouds are in the [sky]",
                           "A plain tanh RNN trained on the short gap: 'clouds' is 4 steps back, "
                           "easy even for an RNN."),
    "trained-lstm-cereal": ("Trained LSTM: the cereal review",
                            "The LSTM of the cereal-review preset (the same weights), trained on a "
                            "small corpus of cereal reviews that Gatescope generates "
                            "(cereal-reviews.txt), at every word. After 'Amazing!' its guess is "
                            "positive (after 'Awful!' negative). Swap 'definitely' for 'never' and its "
                            "gates change at that word; it reads 'I only ate half of it but will "
                            "never be buying again!' as negative, though in this whole review the "
                            "positive cues still win."),
    "cereal-review": ("The cereal review through a trained LSTM",
                      "An LSTM (n = 16) trained on a small corpus of cereal reviews that Gatescope "
                      "generates and ships (cereal-reviews.txt), at every word: after each word its "
                      "guess follows the review's cues so far, each cue doubling the odds for its "
                      "side, and its gates pay a small cost whenever they leave rest (input gate "
                      "shut, forget and output gates open). So they move where the review says "
                      "something: at the cue words (Amazing, perfectly, balanced, definitely, "
                      "buying, again) its input and forget gates and its guess move a median "
                      "3.3× as much as at the other words, and its guess of positive rises to "
                      "0.66 at 'Amazing', 0.82 at 'perfectly' and 0.84 at 'definitely'."),
}


def list_trained() -> list[str]:
    """Names of the shipped models (their .npz files in assets/models)."""
    folder = asset("models")
    if not folder.is_dir():
        return []
    return sorted(p.name[:-4] for p in folder.iterdir() if p.name.endswith(".npz"))


def load_trained(name: str) -> Model:
    """A shipped model by name, read like any weight file (same checks)."""
    if name not in list_trained():
        raise ModelError(f"unknown trained model '{str(name)[:60]}'; choose one of "
                         f"{', '.join(list_trained()) or '(none shipped)'}")
    with resources.as_file(asset("models", f"{name}.npz")) as path:
        model = load_model(path)
    return Model(model.stack, model.readout, model.encoding, name, "gatescope", model.meta)


def prompt_text(model: Model, text: str | None = None) -> str:
    """The text the last-word prediction reads: `text` (default: the model's prompt, e.g. "… I
    speak fluent"); if it ends with the answer itself (a class name: "… fluent French"), that word
    is dropped — the model predicts it, it does not read it."""
    text = str(model.meta.get("prompt", "")) if text is None else text
    classes = {c.lower() for c in (model.classes or ())}
    tokens = tokenize(text)
    if len(tokens) > 1 and tokens[-1] in classes and model.meta.get("task") in ("france", "clouds"):
        text = text[:text.lower().rfind(tokens[-1])]
    return text


def predict_last(model: Model, text: str | None = None) -> tuple[str, str, float]:
    """(last token read, predicted word, probability) after `prompt_text(model, text)`."""
    return predict(model, prompt_text(model, text))[-1]


def preset_info(name: str) -> dict:
    """Title, description (with the measured test accuracy) and an Explore setup for a model."""
    model = load_trained(name)
    meta = model.meta
    title, desc = TITLES.get(name, (name, ""))
    acc, acc60 = meta.get("test_accuracy"), meta.get("test_accuracy_gap60")
    if isinstance(acc, (int, float)):
        desc += f" Test accuracy {100 * acc:.1f} %"
        desc += f" (on a 60-word gap: {100 * acc60:.1f} %)." if isinstance(acc60, (int, float)) else "."
    top = model.stack.direction(0)
    if top.kind == "rnn":
        desc += f" σ₁(W_hh) = {np.linalg.norm(top.weight_hh, 2):.2f}."
    config = {"cell": top.kind, "hidden": top.hidden_size, "input_size": top.input_size,
              "seed": int(model.encoding["seed"]), "source": "text", "text": str(meta.get("text", ""))}
    if top.kind == "rnn":
        config["activation"] = top.nonlinearity
    if top.kind == "gru":
        config["convention"] = top.convention
    return {"title": title, "description": desc, "config": config}
