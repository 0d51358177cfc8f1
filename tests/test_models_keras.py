"""Keras 3 .keras files (Sequential SimpleRNN / LSTM / GRU + Dense) against Keras's own float32
outputs (fixtures made by tests/make_model_fixtures.py), read with h5py and no code executed; bad
archives refused with one line. Keras itself is not needed here."""
import io
import json
import zipfile
from pathlib import Path

import numpy as np
import pytest

h5py = pytest.importorskip("h5py")
from gatescope.core.models import ModelError, load_model  # noqa: E402
from gatescope.core.models.keras_file import h5_name, keras_output  # noqa: E402

DATA = Path(__file__).resolve().parent / "data" / "models"
CASES = sorted(p.stem for p in DATA.glob("*.keras"))


@pytest.mark.parametrize("case", CASES)
def test_keras_outputs_match(case):
    with np.load(DATA / f"{case}.expected.npz") as f:
        x, y = f["x"][0], f["y"][0]
    model = load_model(DATA / f"{case}.keras")
    ours = keras_output(model, model.run(x))
    assert ours.shape == y.shape and model.meta["returns_sequences"] == (y.ndim == 2)
    np.testing.assert_allclose(ours, y, rtol=0, atol=1e-5)


def test_bidirectional_layers_are_reverse_directions():
    m = load_model(DATA / "bidir_lstm_gru_dense.keras")
    assert [len(layer) for layer in m.stack.layers] == [2, 2]
    assert m.stack.direction(1, reverse=True).convention == "seed"      # GRU reset_after=False
    m2 = load_model(DATA / "bidir_rnn_seq_then_lstm.keras")
    assert [len(layer) for layer in m2.stack.layers] == [2, 1] and m2.stack.layers[1][0].input_size == 6


def test_gru_reset_after_false_is_the_notes_form_with_z_flipped():
    m = load_model(DATA / "gru_reset_after_false_dense.keras")
    d = m.stack.direction(0)
    assert d.convention == "seed"
    # Keras: z = σ(x K_z + h U_z + b_z);  here z_seed = σ(−(…)): the z rows are negated
    with zipfile.ZipFile(DATA / "gru_reset_after_false_dense.keras") as zf:
        f = h5py.File(io.BytesIO(zf.read("model.weights.h5")), "r")
        kernel = f["layers/gru/cell/vars/0"][()]
    n = d.hidden_size
    np.testing.assert_allclose(d.weight_ih[n:2 * n], -kernel[:, :n].T.astype(np.float64))
    np.testing.assert_allclose(d.weight_ih[:n], kernel[:, n:2 * n].T.astype(np.float64))


def test_h5_names_follow_keras():
    used = {}
    assert [h5_name(c, used) for c in ("SimpleRNN", "LSTM", "LSTM", "Dense", "GRU", "Dropout")] == \
        ["simple_rnn", "lstm", "lstm_1", "dense", "gru", "dropout"]


def rewrite(tmp_path, case, config_edit=None, weights_edit=None, drop=None):
    """A copy of a fixture archive with its config.json and/or weights edited."""
    src = zipfile.ZipFile(DATA / f"{case}.keras")
    cfg = json.loads(src.read("config.json"))
    if config_edit:
        config_edit(cfg)
    h5 = src.read("model.weights.h5")
    if weights_edit:
        buf = io.BytesIO(h5)
        with h5py.File(buf, "r+") as f:
            weights_edit(f)
        h5 = buf.getvalue()
    path = tmp_path / f"{case}-edited.keras"
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in (("config.json", json.dumps(cfg)), ("model.weights.h5", h5),
                           ("metadata.json", src.read("metadata.json"))):
            if name != drop:
                zf.writestr(name, data)
    return path


def layer(cfg, k):
    return cfg["config"]["layers"][k]


def nan_weights(f):
    ds = f["layers/lstm/cell/vars/1"]
    a = ds[()]
    a[0, 0] = np.nan
    ds[...] = a


BAD = [
    ("lstm2_dense_softmax", lambda c: c.update(class_name="Functional"), None, None,
     "only Keras Sequential"),
    ("lstm2_dense_softmax", lambda c: layer(c, 1).update(class_name="Bidirectional"), None, None,
     "Bidirectional layer without its 'layer'"),
    ("bidir_lstm_gru_dense", lambda c: layer(c, 1)["config"].update(merge_mode="sum"), None, None,
     "merge_mode 'sum'"),
    ("bidir_lstm_gru_dense", lambda c: layer(c, 1)["config"]["backward_layer"]["config"].update(
        go_backwards=False), None, None, "backward half"),
    ("bidir_lstm_gru_dense", None, lambda f: f.__delitem__("layers/bidirectional/backward_layer"),
     None, "no weights for layer"),
    ("lstm2_dense_softmax", lambda c: layer(c, 1).update(class_name="Embedding"), None, None,
     "embedding layers"),
    ("lstm2_dense_softmax", lambda c: layer(c, 1).update(class_name="Conv1D"), None, None,
     "convolution layers"),
    ("lstm2_dense_softmax", lambda c: layer(c, 1).update(class_name="MultiHeadAttention"), None, None,
     "attention layers"),
    ("lstm2_dense_softmax", lambda c: layer(c, 1)["config"].update(go_backwards=True), None, None,
     "go_backwards"),
    ("lstm2_dense_softmax", lambda c: layer(c, 1)["config"].update(activation="elu"), None, None,
     "activation 'elu'"),
    ("lstm2_dense_softmax", lambda c: layer(c, 1)["config"].update(return_sequences=False), None, None,
     "returns only its last output"),
    ("lstm2_dense_softmax", lambda c: layer(c, 1)["config"].update(units=7), None, None, "7 units"),
    ("lstm2_dense_softmax", None, nan_weights, None, "NaN"),
    ("lstm2_dense_softmax", None, lambda f: f.__delitem__("layers/lstm_1"), None,
     "no weights for layer"),
    ("lstm2_dense_softmax", None, None, "config.json", "no config.json"),
    ("simple_rnn_relu_dense", lambda c: layer(c, 2)["config"].update(activation="gelu"), None, None,
     "Dense activation 'gelu'"),
    ("simple_rnn_relu_dense", lambda c: c["config"]["layers"].append(layer(c, 1)), None, None,
     "after the Dense readout"),
]


@pytest.mark.parametrize("case, cfg_edit, w_edit, drop, msg", BAD, ids=[b[-1] for b in BAD])
def test_bad_keras_files(tmp_path, case, cfg_edit, w_edit, drop, msg):
    path = rewrite(tmp_path, case, cfg_edit, w_edit, drop)
    with pytest.raises(ModelError, match=msg) as exc:
        load_model(path)
    assert "\n" not in str(exc.value) and str(exc.value).startswith(str(path))


def test_not_an_archive_and_bad_json(tmp_path):
    (tmp_path / "a.keras").write_bytes(b"hello" * 10)
    with pytest.raises(ModelError, match="not a readable .keras archive"):
        load_model(tmp_path / "a.keras")
    with zipfile.ZipFile(tmp_path / "b.keras", "w") as zf:
        zf.writestr("config.json", "{not json")
        zf.writestr("model.weights.h5", b"")
    with pytest.raises(ModelError, match="config.json is not valid JSON"):
        load_model(tmp_path / "b.keras")
    with zipfile.ZipFile(tmp_path / "c.keras", "w") as zf:
        zf.writestr("config.json", json.dumps({"class_name": "Sequential", "config": {"layers": []}}))
        zf.writestr("model.weights.h5", b"garbage")
    with pytest.raises(ModelError, match="not a readable HDF5"):
        load_model(tmp_path / "c.keras")


def test_weights_member_too_large_is_refused_before_reading(tmp_path):
    with zipfile.ZipFile(tmp_path / "big.keras", "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("config.json", json.dumps({"class_name": "Sequential", "config": {"layers": []}}))
        zf.writestr("model.weights.h5", bytes(65 * 1024 * 1024))      # compresses to ~64 KiB
    with pytest.raises(ModelError, match="model.weights.h5 is 65 MiB"):
        load_model(tmp_path / "big.keras")
