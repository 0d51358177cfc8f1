"""Keras 3 `.keras` archives → a Stack (and a Dense readout), with no code executed.

A `.keras` file is a zip of config.json (the model's structure), model.weights.h5 (the arrays,
read with h5py) and metadata.json. Supported: a Sequential of SimpleRNN, LSTM and GRU layers
(every layer but the last returning sequences), Dropout (inactive at inference) and one Dense
readout at the end. Keras' layouts, mapped to PyTorch's (core.cells):
    kernel (d, G·n) → weight_ih = kernelᵀ;  recurrent_kernel (n, G·n) → weight_hh = recurrentᵀ;
    SimpleRNN  h' = act(x K + h U + b)                        (act: tanh, relu, sigmoid, linear)
    LSTM       gates i, f, c, o: the same order as PyTorch's i, f, g, o; bias → bias_ih
    GRU        gates z, r, h → PyTorch's r, z, n (blocks reordered)
      reset_after=True (Keras' default): bias (2, 3n) = input and recurrent biases; exactly
        PyTorch's form, h' = z ⊙ h + (1 − z) ⊙ h̃ with r ⊙ (U_h h + b_rh).
      reset_after=False: h̃ = tanh(x K_h + b_h + (r ⊙ h) U_h), h' = z ⊙ h + (1 − z) ⊙ h̃: the
        notes' ("seed") form with its update gate z_seed = 1 − z_keras = σ(−a_z), so the z rows are
        negated; the states are identical, the z heatmap shows 1 − z_keras.
Bidirectional(…, merge_mode="concat") is a layer with a reverse direction (core.stack's); with
return_sequences=False Keras' output is the Dense of both halves' final states (`keras_output`).
Refused with one line naming what: Functional models, other merge modes, Embedding, convolution
and attention layers, go_backwards outside Bidirectional, other activations, NaN weights, shapes
that do not match.
"""
from __future__ import annotations

import io
import json
import re
import zipfile

import numpy as np

from ..safeio import clip_text, read_bounded
from ..stack import StackError, make_direction, make_stack
from .readout import ACTIVATIONS, Model, make_readout
from .torch_dict import MAX_FILE_BYTES, MAX_LAYERS, ModelError, max_hidden, max_input

MAX_CONFIG_BYTES = 4 * 1024 * 1024
#: The largest model within the limits (8 layers, n = 256, float32) needs ≈ 25 MiB of weights.
MAX_WEIGHTS_BYTES = 64 * 1024 * 1024
RNN_LAYERS = {"SimpleRNN": "rnn", "LSTM": "lstm", "GRU": "gru"}
SKIPPED = ("InputLayer", "Dropout", "SpatialDropout1D", "GaussianDropout", "GaussianNoise")
_SIMPLE_ACT = {"tanh": "tanh", "relu": "relu", "sigmoid": "sigmoid", "linear": "identity"}
_WHY = {"Embedding": "embedding layers are not supported (feed the embedded vectors as inputs)",
        "Attention": "attention layers are not supported", "MultiHeadAttention": "attention layers "
        "are not supported", "AdditiveAttention": "attention layers are not supported",
        "Masking": "masking is not supported", "TimeDistributed": "TimeDistributed is not supported"}


def _archive(path) -> tuple[dict, bytes]:
    """(config dict, weights .h5 bytes), every member's size checked before it is read."""
    data = read_bounded(path, MAX_FILE_BYTES)
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
        infos = {i.filename: i for i in zf.infolist()}
        if len(infos) > 16:
            raise ModelError(f"the archive holds {len(infos)} members; a .keras file has 3")
        for name in ("config.json", "model.weights.h5"):
            if name not in infos:
                raise ModelError(f"not a Keras 3 .keras file (no {name})")
        if sum(i.file_size for i in infos.values()) > MAX_FILE_BYTES:
            raise ModelError("the archive expands beyond 256 MiB; refused")
        if infos["config.json"].file_size > MAX_CONFIG_BYTES:
            raise ModelError("config.json is larger than 4 MiB")
        if infos["model.weights.h5"].file_size > MAX_WEIGHTS_BYTES:
            raise ModelError(f"model.weights.h5 is {infos['model.weights.h5'].file_size / 2**20:.0f} MiB; "
                             "a model within the limits needs at most 64 MiB")
        if any(i.flag_bits & 0x1 for i in infos.values()):
            raise ModelError("the archive is encrypted")
        raw = {}
        for name, limit in (("config.json", MAX_CONFIG_BYTES), ("model.weights.h5", MAX_WEIGHTS_BYTES)):
            with zf.open(infos[name]) as fh:
                raw[name] = fh.read(limit + 1)
            if len(raw[name]) > limit:
                raise ModelError(f"{name} expands beyond its declared size; refused")
    except ModelError:
        raise
    except (zipfile.BadZipFile, OSError, EOFError, ValueError, RuntimeError, NotImplementedError) as exc:
        raise ModelError(f"not a readable .keras archive ({clip_text(' '.join(str(exc).split()))})") from None
    try:
        config = json.loads(raw["config.json"])
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise ModelError("config.json is not valid JSON") from None
    return config, raw["model.weights.h5"]


def _layers(config) -> list:
    if not isinstance(config, dict):
        raise ModelError("config.json is not a JSON object")
    cls = config.get("class_name")
    if cls != "Sequential":
        raise ModelError(f"a {clip_text(cls)} model: only Keras Sequential models are supported")
    inner = config.get("config")
    layers = inner.get("layers") if isinstance(inner, dict) else None
    if not isinstance(layers, list) or not all(isinstance(x, dict) for x in layers):
        raise ModelError("config.json has no list of layers")
    return layers


def h5_name(cls: str, used: dict) -> str:
    """The group Keras 3 saves a Sequential's layer under: its class name in snake case
    ("SimpleRNN" → "simple_rnn"), "_1", "_2", … for repeats (keras.saving: names are not used)."""
    name = re.sub(r"\W+", "", cls)
    name = re.sub("(.)([A-Z][a-z]+)", r"\1_\2", name)
    name = re.sub("([a-z])([A-Z])", r"\1_\2", name).lower()
    if name in used:
        used[name] += 1
        return f"{name}_{used[name]}"
    used[name] = 0
    return name


def _h5_vars(f, name: str, sub: str) -> list[np.ndarray]:
    """The arrays at layers/<name>/<sub>vars/0, 1, … (hard links only, shapes checked first)."""
    import h5py
    node = f
    for part in ("layers", name, *filter(None, sub.split("/")), "vars"):
        link = node.get(part, getlink=True) if isinstance(node, h5py.Group) else None
        if not isinstance(link, h5py.HardLink):
            raise ModelError(f"model.weights.h5 has no weights for layer '{clip_text(name)}'")
        node = node[part]
    if not isinstance(node, h5py.Group) or len(node) > 8:
        raise ModelError(f"layer '{clip_text(name)}': malformed weights")
    out = []
    for k in range(len(node)):
        link = node.get(str(k), getlink=True)
        ds = node.get(str(k)) if isinstance(link, h5py.HardLink) else None
        if not isinstance(ds, h5py.Dataset):
            raise ModelError(f"layer '{clip_text(name)}': weight {k} is missing")
        if ds.external or ds.is_virtual or ds.dtype.kind != "f" or len(ds.shape) > 2 \
                or any(s > 4096 for s in ds.shape) or int(np.prod(ds.shape)) > 2 ** 22:
            raise ModelError(f"layer '{clip_text(name)}': weight {k} ({ds.dtype}, shape "
                             f"{clip_text(ds.shape)}) is not a supported float matrix")
        a = np.asarray(ds[()], dtype=np.float64)
        if not np.all(np.isfinite(a)):
            raise ModelError(f"layer '{clip_text(name)}': weight {k} contains NaN or infinite values")
        out.append(a)
    return out


def _check_rnn_config(cls: str, cfg: dict, name: str, backwards: bool = False):
    if bool(cfg.get("go_backwards")) != backwards:
        raise ModelError(f"layer '{name}': go_backwards is not supported"
                         + (" outside a Bidirectional layer" if not backwards else
                            " off in a Bidirectional layer's backward half"))
    act = cfg.get("activation", "tanh")
    if cls == "SimpleRNN":
        if act not in _SIMPLE_ACT:
            raise ModelError(f"layer '{name}': activation '{clip_text(act)}' is not supported "
                             f"(tanh, relu, sigmoid, linear)")
        return _SIMPLE_ACT[act]
    if act != "tanh" or cfg.get("recurrent_activation", "sigmoid") != "sigmoid":
        raise ModelError(f"layer '{name}': {cls} with activation '{clip_text(act)}' and recurrent "
                         f"activation '{clip_text(cfg.get('recurrent_activation'))}' is not supported "
                         "(tanh and sigmoid)")
    return "tanh"


def _rnn_direction(cls: str, cfg: dict, arrays: list, name: str, nonlin: str):
    use_bias = cfg.get("use_bias", True)
    if len(arrays) != (3 if use_bias else 2):
        raise ModelError(f"layer '{name}': {len(arrays)} weight arrays, expected {3 if use_bias else 2}")
    kernel, rec = arrays[0], arrays[1]
    bias = arrays[2] if use_bias else None
    n = rec.shape[0] if rec.ndim == 2 else 0
    units = cfg.get("units")
    if units != n or not 1 <= n <= max_hidden():
        raise ModelError(f"layer '{name}': {clip_text(units)} units with a recurrent kernel of shape "
                         f"{rec.shape} (hidden size 1–{max_hidden()})")
    kind = RNN_LAYERS[cls]
    w_ih, w_hh = kernel.T, rec.T
    b_ih, b_hh, convention = bias, None, "pytorch"
    if kind == "gru":
        if w_ih.shape[0] != 3 * n or w_hh.shape[0] != 3 * n:
            raise ModelError(f"layer '{name}': kernels of shape {kernel.shape}, {rec.shape} for {n} units")
        order = np.r_[n:2 * n, 0:n, 2 * n:3 * n]            # z, r, h → r, z, n
        w_ih, w_hh = w_ih[order], w_hh[order]
        reset_after = cfg.get("reset_after", True)
        if bias is not None:
            if reset_after and bias.shape != (2, 3 * n) or not reset_after and bias.shape != (3 * n,):
                raise ModelError(f"layer '{name}': bias of shape {bias.shape} (reset_after={reset_after})")
            b_ih, b_hh = (bias[0][order], bias[1][order]) if reset_after else (bias[order], None)
        if not reset_after:                                   # z_seed = 1 − z_keras: negate a_z
            convention = "seed"
            w_ih, w_hh = w_ih.copy(), w_hh.copy()
            w_ih[n:2 * n] *= -1.0
            w_hh[n:2 * n] *= -1.0
            if b_ih is not None:
                b_ih = b_ih.copy()
                b_ih[n:2 * n] *= -1.0
    try:
        return make_direction(kind, w_ih, w_hh, b_ih, b_hh, nonlinearity=nonlin, convention=convention)
    except StackError as exc:
        raise ModelError(f"layer '{name}': {exc}") from None


def _inner(cfg: dict, key: str, name: str) -> tuple[str, dict]:
    entry = cfg.get(key)
    if not isinstance(entry, dict) or not isinstance(entry.get("config"), dict):
        raise ModelError(f"layer '{name}': a Bidirectional layer without its '{key}'")
    cls = entry.get("class_name")
    if cls not in RNN_LAYERS:
        raise ModelError(f"layer '{name}': Bidirectional around '{clip_text(cls)}' is not supported")
    return cls, entry["config"]


def _recurrent_layer(f, cls: str, cfg: dict, group: str, name: str):
    """([Direction] or [forward, backward], returns sequences?) of a SimpleRNN/LSTM/GRU layer or a
    Bidirectional one (merge_mode "concat": Keras' backward half reads x_T … x_1 and its sequence
    output is re-reversed, exactly core.stack's reverse direction)."""
    if cls in RNN_LAYERS:
        nonlin = _check_rnn_config(cls, cfg, name)
        d = _rnn_direction(cls, cfg, _h5_vars(f, group, "cell"), name, nonlin)
        return [d], bool(cfg.get("return_sequences", False))
    if cfg.get("merge_mode", "concat") != "concat":
        raise ModelError(f"layer '{name}': Bidirectional merge_mode '{clip_text(cfg.get('merge_mode'))}' "
                         "is not supported (only concat)")
    fcls, fcfg = _inner(cfg, "layer", name)
    bcls, bcfg = _inner(cfg, "backward_layer", name) if "backward_layer" in cfg else (
        fcls, dict(fcfg, go_backwards=True))
    dirs = []
    for half, c, k, back in (("forward_layer", fcfg, fcls, False), ("backward_layer", bcfg, bcls, True)):
        nonlin = _check_rnn_config(k, c, name, backwards=back)
        dirs.append(_rnn_direction(k, c, _h5_vars(f, group, half + "/cell"), name, nonlin))
    seq = {bool(fcfg.get("return_sequences", False)), bool(bcfg.get("return_sequences", False))}
    if len(seq) != 1:
        raise ModelError(f"layer '{name}': its two halves differ in return_sequences")
    return dirs, seq.pop()


def keras_output(model: Model, run) -> np.ndarray:
    """What Keras' model.predict returns for this run (a batch of one, without the batch axis):
    the per-step outputs if the last recurrent layer returns sequences, else the output after
    the last step — for a Bidirectional last layer, Keras concatenates the forward half's state
    after x_T with the backward half's after x_1 (its final states), not the output at T."""
    per_step = run.outputs if run.outputs is not None else run.trace.output
    if model.meta.get("returns_sequences", True):
        return per_step
    last = model.stack.layers[-1]
    if len(last) == 1:
        return per_step[-1]
    feats = np.concatenate(run.trace.h_n[-2:])
    return feats if model.readout is None else model.readout(feats[None])[0]


def _open_h5(h5bytes: bytes):
    """model.weights.h5 as an open read-only h5py.File (h5py imported only here)."""
    try:
        import h5py
    except ImportError:
        raise ModelError("reading .keras files needs h5py (pip install h5py)") from None
    try:
        return h5py.File(io.BytesIO(h5bytes), "r")
    except (OSError, ValueError) as exc:
        raise ModelError(f"model.weights.h5 is not a readable HDF5 file ({clip_text(str(exc))})") from None


def _dense(f, cfg: dict, group: str, name: str) -> tuple:
    """(W (C, p), b (C,) or None, activation) of a Dense readout: kernel (p, C) → W = kernelᵀ."""
    act = cfg.get("activation", "linear")
    if act not in ACTIVATIONS:
        raise ModelError(f"Dense activation '{clip_text(act)}' is not supported")
    ws = _h5_vars(f, group, "")
    if len(ws) not in (1, 2) or ws[0].ndim != 2:
        raise ModelError(f"layer '{name}': malformed Dense weights")
    return ws[0].T, ws[1] if len(ws) == 2 else None, act


def _unsupported(cls, name: str) -> ModelError:
    """The refusal of a layer type that is neither recurrent, skipped nor Dense."""
    why = _WHY.get(cls) or ("convolution layers are not supported" if "Conv" in str(cls)
                            else f"layer type '{clip_text(cls)}' is not supported")
    return ModelError(f"layer '{name}': {why}")


def _read_layers(f, layer_cfgs: list) -> tuple[list, tuple | None, bool]:
    """The Sequential's layers in order → (directions of each recurrent layer, the Dense readout
    (W, b, activation) or None, whether the last recurrent layer returns sequences)."""
    built, readout, last_seq, used = [], None, True, {}
    for entry in layer_cfgs:
        cls, cfg = entry.get("class_name"), entry.get("config") or {}
        if not isinstance(cls, str) or not isinstance(cfg, dict):
            raise ModelError("config.json: a layer entry without a class name and config")
        name = clip_text(str(cfg.get("name", cls)), 40)
        if cls == "InputLayer":
            continue
        group = h5_name(str(cls), used)
        if cls in SKIPPED:
            continue
        if readout is not None:
            raise ModelError(f"layer '{name}' ({clip_text(cls)}) after the Dense readout is not supported")
        if cls in RNN_LAYERS or cls == "Bidirectional":
            if built and not last_seq:
                raise ModelError(f"layer '{name}' follows a layer that returns only its last output")
            if len(built) >= MAX_LAYERS:
                raise ModelError(f"more than {MAX_LAYERS} recurrent layers")
            dirs, last_seq = _recurrent_layer(f, cls, cfg, group, name)
            built.append(dirs)
        elif cls == "Dense":
            if not built:
                raise ModelError("a Dense layer before any recurrent layer is not supported")
            readout = _dense(f, cfg, group, name)
        else:
            raise _unsupported(cls, name)
    return built, readout, last_seq


def _assemble(config: dict, built: list, readout, last_seq: bool) -> Model:
    """The Model of the layers _read_layers found: their Stack, checked against the input limit and
    the Dense readout's width (D · p of the last layer)."""
    if not built:
        raise ModelError("no SimpleRNN, LSTM or GRU layer in the model")
    if built[0][0].input_size > max_input():
        raise ModelError(f"input size {built[0][0].input_size} is above the limit {max_input()}")
    try:
        stack = make_stack(built)
    except StackError as exc:
        raise ModelError(str(exc)) from None
    ro = None
    if readout is not None:
        if readout[0].shape[1] != stack.output_size:
            raise ModelError(f"the Dense kernel has {readout[0].shape[1]} inputs; the last recurrent "
                             f"layer gives {stack.output_size}")
        ro = make_readout(readout[0], readout[1], readout[2], None)
    meta = {"format": "keras", "returns_sequences": last_seq}
    return Model(stack, ro, None, str(config["config"].get("name", "keras"))[:80], "keras", meta)


def load_keras(path) -> Model:
    """A Model from a `.keras` file (see the module docstring)."""
    config, h5bytes = _archive(path)
    layer_cfgs = _layers(config)
    with _open_h5(h5bytes) as f:
        built, readout, last_seq = _read_layers(f, layer_cfgs)
    return _assemble(config, built, readout, last_seq)
