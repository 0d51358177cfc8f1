"""Make the small model fixtures in tests/data/models/ (run by hand; needs torch, safetensors and
keras with the torch backend):

    KERAS_BACKEND=torch python tests/make_model_fixtures.py [keras | KERAS_CASE …]

PyTorch cases: an nn.RNN / nn.LSTM / nn.GRU in float64 (seeded), its state_dict written as a user
would export it (.npz, .safetensors or .pt), and `<case>.expected.npz` with the inputs x (T, d),
PyTorch's output (T, D·p), h_n, c_n and the options the case needs. Keras cases: a Sequential
model saved as `.keras`, and `<case>.expected.npz` with x (1, T, d) and Keras's own float32 output.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

OUT = Path(__file__).resolve().parent / "data" / "models"

TORCH_CASES = {
    # name: (module, kwargs, file format)
    "rnn_tanh_l1": ("RNN", dict(input_size=3, hidden_size=4), "npz"),
    "rnn_relu_l2": ("RNN", dict(input_size=3, hidden_size=4, num_layers=2, nonlinearity="relu"),
                    "safetensors"),
    "rnn_tanh_l3_bi_nobias": ("RNN", dict(input_size=2, hidden_size=3, num_layers=3,
                                          bidirectional=True, bias=False), "npz"),
    "lstm_l2_bi": ("LSTM", dict(input_size=3, hidden_size=4, num_layers=2, bidirectional=True), "npz"),
    "lstm_proj_l2": ("LSTM", dict(input_size=3, hidden_size=5, num_layers=2, proj_size=2),
                     "safetensors"),
    "lstm_proj_bi_l1": ("LSTM", dict(input_size=2, hidden_size=4, proj_size=3, bidirectional=True),
                        "npz"),
    "lstm_nobias_l1": ("LSTM", dict(input_size=3, hidden_size=3, bias=False), "pt"),
    "gru_l3": ("GRU", dict(input_size=3, hidden_size=4, num_layers=3), "npz"),
    "gru_bi_nobias": ("GRU", dict(input_size=2, hidden_size=3, num_layers=2, bidirectional=True,
                                  bias=False), "safetensors"),
}


def torch_cases():
    import torch
    from safetensors.numpy import save_file
    torch.manual_seed(0)
    for k, (name, (cls, kw, fmt)) in enumerate(TORCH_CASES.items()):
        torch.manual_seed(100 + k)
        mod = getattr(torch.nn, cls)(**kw).double()
        with torch.no_grad():
            for p in mod.parameters():            # larger weights than the default: saturating
                p.mul_(2.0)
        T = 7
        x = torch.randn(T, kw["input_size"], dtype=torch.float64)
        out, hc = mod(x)
        h_n, c_n = (hc if cls == "LSTM" else (hc, None))
        sd = {key: v.detach().cpu().numpy() for key, v in mod.state_dict().items()}
        path = OUT / f"{name}.{fmt}"
        if fmt == "npz":
            np.savez(path, **sd)
        elif fmt == "safetensors":
            save_file({key: np.ascontiguousarray(v) for key, v in sd.items()}, str(path))
        else:
            torch.save(mod.state_dict(), path)
        exp = {"x": x.numpy(), "output": out.detach().numpy(), "h_n": h_n.detach().numpy(),
               "options": np.frombuffer(json.dumps({"nonlinearity": kw.get("nonlinearity", "tanh"),
                                                    "file": path.name}).encode(), dtype=np.uint8)}
        if c_n is not None:
            exp["c_n"] = c_n.detach().numpy()
        np.savez(OUT / f"{name}.expected.npz", **exp)

    # a module with a recurrent part and a Linear readout (keys with prefixes)
    class Net(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.rnn = torch.nn.GRU(3, 4, num_layers=2, batch_first=True)
            self.fc = torch.nn.Linear(4, 3)

        def forward(self, x):
            h, _ = self.rnn(x)
            return self.fc(h)

    torch.manual_seed(7)
    net = Net().double()
    x = torch.randn(1, 6, 3, dtype=torch.float64)
    logits = net(x)
    np.savez(OUT / "gru_net_linear.npz",
             **{key: v.detach().numpy() for key, v in net.state_dict().items()})
    np.savez(OUT / "gru_net_linear.expected.npz", x=x[0].numpy(), logits=logits[0].detach().numpy())


KERAS_CASES = ("simple_rnn_relu_dense", "lstm2_dense_softmax", "gru_reset_after_true",
               "gru_reset_after_false_dense", "gru_lstm_mixed_nobias", "simplernn_sigmoid_seq",
               "bidir_lstm_gru_dense", "bidir_rnn_seq_then_lstm")


def keras_model(name, keras, d):
    L = keras.layers
    if name == "simple_rnn_relu_dense":
        layers = [L.SimpleRNN(4, activation="relu"), L.Dense(2)]
    elif name == "lstm2_dense_softmax":
        layers = [L.LSTM(5, return_sequences=True), L.LSTM(3), L.Dense(4, activation="softmax")]
    elif name == "gru_reset_after_true":
        layers = [L.GRU(4, reset_after=True, return_sequences=True)]
    elif name == "gru_reset_after_false_dense":
        layers = [L.GRU(4, reset_after=False), L.Dense(3, activation="sigmoid")]
    elif name == "gru_lstm_mixed_nobias":
        layers = [L.GRU(3, use_bias=False, return_sequences=True), L.LSTM(4, use_bias=False)]
    elif name == "simplernn_sigmoid_seq":
        layers = [L.SimpleRNN(3, activation="sigmoid", return_sequences=True),
                  L.Dense(2, activation="softmax")]
    elif name == "bidir_lstm_gru_dense":
        layers = [L.Bidirectional(L.LSTM(4, return_sequences=True)),
                  L.Bidirectional(L.GRU(3, reset_after=False)), L.Dense(2, activation="softmax")]
    else:
        layers = [L.Bidirectional(L.SimpleRNN(3, return_sequences=True)), L.LSTM(2, return_sequences=True)]
    return keras.Sequential([keras.Input((None, d)), *layers])


def keras_cases(only=None):
    os.environ.setdefault("KERAS_BACKEND", "torch")
    import keras
    for k, name in enumerate(KERAS_CASES):
        if only and name not in only:
            continue
        rng = np.random.default_rng((5, k))
        keras.utils.set_random_seed(200 + k)
        d = 3
        model = keras_model(name, keras, d)
        for w in model.weights:                  # random biases too (Keras starts them at zero)
            w.assign(rng.uniform(-0.8, 0.8, w.shape).astype("float32"))
        x = rng.standard_normal((1, 6, d)).astype("float32")
        y = np.asarray(model.predict(x, verbose=0))
        model.save(OUT / f"{name}.keras")
        np.savez(OUT / f"{name}.expected.npz", x=x, y=y)


if __name__ == "__main__":
    import sys
    OUT.mkdir(parents=True, exist_ok=True)
    args = sys.argv[1:]                          # e.g. "keras" or keras case names; none: all
    if not args:
        torch_cases()
    keras_cases([a for a in args if a != "keras"] or None)
    print("fixtures written to", OUT)
