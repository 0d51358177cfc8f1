"""PyTorch state_dicts (.npz, .safetensors, .pt, live modules) → core.stack, against PyTorch's own
float64 outputs (fixtures made by tests/make_model_fixtures.py), and every bad layout refused with
one line naming what is unsupported."""
import json
import os
import struct
import sys
from pathlib import Path

import numpy as np
import pytest
from gatescope.core.cli.model import run_model, summary_lines
from gatescope.core.models import ModelError, load_model
from gatescope.core.stack import run_stack

DATA = Path(__file__).resolve().parent / "data" / "models"
CASES = sorted(p.name[:-len(".expected.npz")] for p in DATA.glob("*.expected.npz")
               if "options" in np.load(p).files)


def expected(case):
    with np.load(DATA / f"{case}.expected.npz") as f:
        ex = {k: f[k] for k in f.files}
    ex["options"] = json.loads(ex["options"].tobytes())
    return ex


@pytest.mark.parametrize("case", CASES)
def test_forward_equals_pytorch_float64(case):
    ex = expected(case)
    if ex["options"]["file"].endswith(".pt"):
        pytest.importorskip("torch")
    model = load_model(DATA / ex["options"]["file"], nonlinearity=ex["options"]["nonlinearity"])
    tr = run_stack(model.stack, ex["x"])
    np.testing.assert_allclose(tr.output, ex["output"], rtol=0, atol=1e-10)
    np.testing.assert_allclose(tr.h_n_array, ex["h_n"], rtol=0, atol=1e-10)
    if "c_n" in ex:
        np.testing.assert_allclose(tr.c_n_array, ex["c_n"], rtol=0, atol=1e-10)
    assert (tr.log10_jac_norm is None) == model.stack.bidirectional


def test_module_with_linear_readout():
    model = load_model(DATA / "gru_net_linear.npz")
    with np.load(DATA / "gru_net_linear.expected.npz") as f:
        x, logits = f["x"], f["logits"]
    run = model.run(x)
    np.testing.assert_allclose(run.outputs, logits, rtol=0, atol=1e-10)
    np.testing.assert_allclose(run.probabilities.sum(axis=1), 1.0)
    assert model.stack.num_layers == 2 and model.readout.size == 3


def test_rnn_runs_with_tanh_unless_told_otherwise():
    ex = expected("rnn_relu_l2")                      # a ReLU nn.RNN: the file does not say so
    default = load_model(DATA / "rnn_relu_l2.safetensors")
    assert default.stack.direction(0).nonlinearity == "tanh"
    assert not np.allclose(run_stack(default.stack, ex["x"]).output, ex["output"])
    relu = load_model(DATA / "rnn_relu_l2.safetensors", nonlinearity="relu")
    np.testing.assert_allclose(run_stack(relu.stack, ex["x"]).output, ex["output"], atol=1e-10)


class FakeTensor:
    """Duck-typed like a torch tensor: detach().cpu().numpy()."""

    def __init__(self, a):
        self.a = a

    def detach(self):
        return self

    def cpu(self):
        return self

    def numpy(self):
        return self.a


class FakeModule:
    def __init__(self, sd):
        self.sd = sd

    def state_dict(self):
        return {k: FakeTensor(v) for k, v in self.sd.items()}


def test_live_module_duck_typed_without_torch():
    with np.load(DATA / "lstm_l2_bi.npz") as f:
        sd = {k: f[k] for k in f.files}
    ex = expected("lstm_l2_bi")
    for obj in (FakeModule(sd), FakeModule(sd).state_dict()):
        tr = run_stack(load_model(obj).stack, ex["x"])
        np.testing.assert_allclose(tr.output, ex["output"], atol=1e-10)


def test_live_torch_module():
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    mod = torch.nn.LSTM(3, 4, num_layers=2, proj_size=2, bidirectional=True).double()
    x = torch.randn(5, 3, dtype=torch.float64)
    out, (h, c) = mod(x)
    tr = run_stack(load_model(mod).stack, x.numpy())
    np.testing.assert_allclose(tr.output, out.detach().numpy(), atol=1e-10)
    np.testing.assert_allclose(tr.c_n_array, c.detach().numpy(), atol=1e-10)


def test_pt_without_torch_says_how_to_export(monkeypatch):
    monkeypatch.setitem(sys.modules, "torch", None)      # import torch → ImportError
    with pytest.raises(ModelError, match=r"needs PyTorch.*np\.savez") as exc:
        load_model(DATA / "lstm_nobias_l1.pt")
    assert "\n" not in str(exc.value)


def test_run_model_writes_the_trace(tmp_path):
    ex = expected("lstm_proj_l2")
    out = tmp_path / "trace.npz"
    s = run_model(DATA / "lstm_proj_l2.safetensors", ex["x"], out)
    with np.load(out) as f:
        t = {k: f[k] for k in f.files}
    T = ex["x"].shape[0]
    np.testing.assert_allclose(t["output"], ex["output"], atol=1e-10)
    np.testing.assert_allclose(t["h_n"], ex["h_n"], atol=1e-10)
    np.testing.assert_allclose(t["c_n"], ex["c_n"], atol=1e-10)
    assert t["h_l0"].shape == (T + 1, 2) and t["c_l1"].shape == (T + 1, 5)
    np.testing.assert_allclose(t["h_l1"][1:], ex["output"], atol=1e-10)
    assert t["log10_jac_norm"].shape == (T + 1,) and s["log10_jac_norm_T"] == t["log10_jac_norm"][-1]
    assert s["layers"] == 2 and s["proj_size"] == 2 and len(summary_lines(s)) == 4


def test_run_model_bidirectional_layers_and_npy_inputs(tmp_path):
    ex = expected("rnn_tanh_l3_bi_nobias")
    np.save(tmp_path / "x.npy", ex["x"])
    run_model(DATA / "rnn_tanh_l3_bi_nobias.npz", str(tmp_path / "x.npy"), tmp_path / "t.npz")
    with np.load(tmp_path / "t.npz") as f:
        keys = set(f.files)
        rev = f["h_l2_reverse"]
        out = f["output"]
    assert {"h_l0", "h_l0_reverse", "h_l2", "h_l2_reverse", "h_n"} <= keys
    assert "log10_jac_norm" not in keys and "c_n" not in keys
    np.testing.assert_allclose(out[:, 3:], rev[1:][::-1], atol=0)     # reverse: its own time
    with pytest.raises(ModelError, match=r"the model needs \(T, 2\)"):
        run_model(DATA / "rnn_tanh_l3_bi_nobias.npz", np.zeros((4, 3)))


# ----------------------------------------------------------------------------------------------
# Bad layouts and files

def base_sd():
    with np.load(DATA / "lstm_l2_bi.npz") as f:
        return {k: f[k] for k in f.files}


def edit(**changes):
    def make():
        sd = base_sd()
        for k, v in changes.items():
            if v is None:
                sd.pop(k.replace("__", "."))
            else:
                sd[k.replace("__", ".")] = v(sd) if callable(v) else v
        return sd
    return make


BAD = [
    (edit(**{"attn__in_proj_weight": np.zeros((12, 4))}), "attention layers are not supported"),
    (edit(**{"conv__weight": np.zeros((4, 3, 3))}), "convolution layers are not supported"),
    (edit(**{"embedding__weight": np.zeros((10, 3))}), "embedding layers are not supported"),
    (edit(**{"bn__running_mean": np.zeros(4)}), "normalisation layers are not supported"),
    (edit(gamma=np.zeros(3)), "unknown key 'gamma'"),
    (edit(weight_hh_l1=None), "missing 'weight_hh_l1'"),
    (edit(weight_ih_l1_reverse=None, weight_hh_l1_reverse=None, bias_ih_l1_reverse=None,
          bias_hh_l1_reverse=None), r"layer 1 \(reverse\): no weights"),
    (edit(weight_ih_l3=np.zeros((16, 8)), weight_hh_l3=np.zeros((16, 4))), "layer 2 is missing"),
    (edit(weight_ih_l1=np.zeros((16, 5))), r"'weight_ih_l1' has shape \(16, 5\); layer 1 reads the 8"),
    (edit(weight_hh_l0=lambda sd: np.where(np.eye(16, 4) > 0, np.nan, sd["weight_hh_l0"])),
     "'weight_hh_l0' contains NaN"),
    (edit(bias_ih_l0=lambda sd: np.full(16, np.inf)), "contains NaN or infinite"),
    (edit(bias_hh_l0=None, bias_hh_l0_reverse=None), "given for some layers but not others"),
    (edit(**{"other__weight_hh_l0": np.zeros((16, 4))}), "two recurrent modules"),
    (edit(**{"fc__weight": np.zeros((2, 8)), "head__weight": np.zeros((2, 8))}), "more than one Linear"),
    (edit(**{"fc__weight": np.zeros((2, 5))}), "the stack gives 8 features"),
    (edit(weight_hh_l0=np.zeros((12, 4))), "weights are a GRU|differ|kinds|rows must be|weight_ih has shape"),
    (edit(weight_hh_l0=np.zeros((8, 4))), "rows must be 1, 3 or 4"),
    (lambda: {"weight_ih_l0": np.zeros((4 * 300, 3)), "weight_hh_l0": np.zeros((4 * 300, 300))},
     r"'weight_ih_l0' has shape \(1200, 3\): beyond the limits \(hidden size ≤ 256"),
    (lambda: {"fc.weight": np.zeros((2, 3))}, "no recurrent weights"),
    (edit(weight_hh_l0=lambda sd: sd["weight_hh_l0"].astype(np.complex128)), "complex"),
]


@pytest.mark.parametrize("make, msg", BAD, ids=[m for _, m in BAD])
def test_bad_state_dicts_are_refused_naming_the_problem(tmp_path, make, msg):
    sd = make()
    with pytest.raises(ModelError, match=msg) as exc:
        load_model(sd)
    assert "\n" not in str(exc.value) and len(str(exc.value)) < 300
    path = tmp_path / "bad.npz"                                  # the same through a file
    np.savez(path, **sd)
    with pytest.raises(ModelError, match=msg) as exc:
        load_model(path)
    assert str(exc.value).startswith(str(path))


def st_file(path, header: dict, body: bytes, hlen=None):
    h = json.dumps(header).encode()
    path.write_bytes(struct.pack("<Q", len(h) if hlen is None else hlen) + h + body)
    return path


@pytest.mark.parametrize("header, body, hlen, msg", [
    ({"weight_hh_l0": {"dtype": "F64", "shape": [4, 4], "data_offsets": [0, 999]}}, b"\0" * 128,
     None, "data offsets"),
    ({"weight_hh_l0": {"dtype": "F64", "shape": [10 ** 6, 10 ** 6], "data_offsets": [0, 8]}},
     b"\0" * 8, None, "beyond the limits"),
    ({"w": {"dtype": "F64", "shape": [1], "data_offsets": [0, 8]}}, b"\0" * 8, None, "unknown key 'w'"),
    ({"w": {"dtype": "BOOL", "shape": [2], "data_offsets": [0, 2]}}, b"\0\0", None, "dtype BOOL"),
    ({"w": {"dtype": "F32", "shape": [-1], "data_offsets": [0, 4]}}, b"\0" * 4, None, "malformed shape"),
    ({"w": {"dtype": "F32", "shape": [1]}}, b"\0" * 4, 2 ** 40, "header length"),
    ({"weight_ih_l0": {"dtype": "F32", "shape": [4, 2], "data_offsets": [0, 32]},
      "weight_hh_l0": {"dtype": "F32", "shape": [4, 4], "data_offsets": [32, 96]}},
     np.r_[np.zeros(8), np.full(16, np.nan)].astype("<f4").tobytes(), None, "NaN"),
])
def test_bad_safetensors(tmp_path, header, body, hlen, msg):
    path = st_file(tmp_path / "bad.safetensors", header, body, hlen)
    with pytest.raises(ModelError, match=msg):
        load_model(path)


def test_safetensors_bf16_and_f32_read(tmp_path):
    st = pytest.importorskip("safetensors.numpy")
    sd = {k: v.astype(np.float32) for k, v in base_sd().items()}
    st.save_file(sd, str(tmp_path / "f32.safetensors"))
    a = load_model(tmp_path / "f32.safetensors").stack.direction(1, True).weight_hh
    np.testing.assert_array_equal(a, sd["weight_hh_l1_reverse"].astype(np.float64))
    # bfloat16: the top 16 bits of each float32, written by hand
    w = np.array([[1.5, -2.0], [0.25, 3.0]], np.float32)
    bits = (w.view(np.uint32) >> 16).astype("<u2").tobytes()
    hdr = {"weight_ih_l0": {"dtype": "BF16", "shape": [2, 2], "data_offsets": [0, 8]},
           "weight_hh_l0": {"dtype": "BF16", "shape": [2, 2], "data_offsets": [8, 16]}}
    m = load_model(st_file(tmp_path / "bf.safetensors", hdr, bits * 2))
    np.testing.assert_array_equal(m.stack.direction(0).weight_hh, w)


def test_bad_files(tmp_path):
    (tmp_path / "empty.npz").write_bytes(b"")
    (tmp_path / "junk.npz").write_bytes(b"not a zip" * 20)
    (tmp_path / "junk.bin").write_bytes(b"\x01" * 64)
    (tmp_path / "dir.npz").mkdir()
    big = tmp_path / "big.safetensors"
    with open(big, "wb") as fh:                       # sparse: 257 MiB on paper, nothing on disk
        fh.truncate(257 * 1024 * 1024)
    np.savez(tmp_path / "text.npz", weight_ih_l0=np.array(["a", "b"]), weight_hh_l0=np.zeros((4, 4)))
    cases = {"empty.npz": "empty", "junk.npz": "not a readable .npz", "junk.bin": "not a recognised",
             "dir.npz": "directory", "big.safetensors": "256 MiB", "text.npz": "not real numeric",
             "missing.npz": "no such file"}
    for name, msg in cases.items():
        with pytest.raises(ModelError, match=msg) as exc:
            load_model(tmp_path / name)
        assert "\n" not in str(exc.value)


def test_bad_pt_with_torch(tmp_path):
    torch = pytest.importorskip("torch")
    (tmp_path / "junk.pt").write_bytes(os.urandom(200))
    with pytest.raises(ModelError, match="not a readable PyTorch"):
        load_model(tmp_path / "junk.pt")
    torch.save({"weight_ih_l0": torch.zeros(4, 2), "weight_hh_l0": torch.zeros(4, 4),
                "attn.in_proj_weight": torch.zeros(3, 3)}, tmp_path / "attn.pt")
    with pytest.raises(ModelError, match="attention"):
        load_model(tmp_path / "attn.pt")
    torch.save({"state_dict": {"weight_ih_l0": torch.zeros(4, 2), "weight_hh_l0": torch.zeros(4, 4)}},
               tmp_path / "ckpt.pth")
    assert load_model(tmp_path / "ckpt.pth").stack.kind == "rnn"


# ----------------------------------------------------------------------------------------------
# Property-based: whatever the header says, one ModelError line (never another exception)

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

json_values = st.recursive(st.none() | st.booleans() | st.integers(-2**70, 2**70) | st.floats()
                           | st.text(max_size=8),
                           lambda kids: st.lists(kids, max_size=4) | st.dictionaries(st.text(max_size=6), kids,
                                                                                      max_size=4),
                           max_leaves=12)
entries = st.fixed_dictionaries({}, optional={
    "dtype": st.sampled_from(["F64", "F32", "BF16", "I8", "BOOL", "X"]) | json_values,
    "shape": st.lists(st.integers(-2, 2**40), max_size=4) | json_values,
    "data_offsets": st.lists(st.integers(-5, 2**40), max_size=3) | json_values})
names = st.sampled_from(["weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "weight_hr_l0",
                         "fc.weight", "__metadata__", "x"])


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(header=st.dictionaries(names, entries | json_values, max_size=4),
       body=st.binary(max_size=96), lie=st.none() | st.integers(0, 2**64 - 1))
def test_safetensors_fuzz_gives_one_line(tmp_path, header, body, lie):
    path = st_file(tmp_path / "f.safetensors", header, body, lie)
    try:
        load_model(path)
    except ModelError as exc:
        assert "\n" not in str(exc) and len(str(exc)) < 400


@settings(max_examples=40, deadline=None)
@given(sd=st.dictionaries(st.sampled_from(["weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0",
                                           "weight_hr_l0", "weight_ih_l1", "weight_hh_l1",
                                           "weight_ih_l0_reverse", "fc.weight", "fc.bias"]),
                          st.tuples(st.integers(0, 9), st.integers(0, 9)) | st.tuples(st.integers(0, 9)),
                          min_size=1, max_size=6))
def test_state_dict_shapes_fuzz(sd):
    arrays = {k: np.ones(shape) for k, shape in sd.items()}
    try:
        model = load_model(arrays)
    except ModelError as exc:
        assert "\n" not in str(exc)
    else:                                   # whatever loads also runs
        model.run(np.zeros((3, model.stack.input_size)))


def test_keras_without_h5py_says_what_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "h5py", None)
    with pytest.raises(ModelError, match=r"needs h5py \(pip install h5py\)"):
        load_model(DATA / "lstm2_dense_softmax.keras")


def test_model_modules_import_no_qt_torch_or_h5py():
    import subprocess
    code = ("import sys, gatescope.core.models, gatescope.core.cli.model, gatescope.core.models.trained, "
            "gatescope.core.models.keras_file, gatescope.core.stack; "
            "bad = [m for m in sys.modules if m.split('.')[0] in "
            "('PySide6', 'torch', 'h5py', 'keras', 'safetensors', 'pyqtgraph')]; sys.exit(1 if bad else 0)")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                       cwd=Path(__file__).resolve().parent.parent, timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr
