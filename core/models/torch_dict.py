"""PyTorch state_dict layouts → a Stack (and a Linear readout), from `.npz`, `.safetensors`, `.pt`.

Keys (as `nn.RNN / nn.LSTM / nn.GRU(...).state_dict()` writes them, optionally under one module
prefix such as "rnn."):  weight_ih_l{k}[_reverse], weight_hh_l{k}[_reverse], bias_ih_l{k}[…],
bias_hh_l{k}[…], weight_hr_l{k}[…] (LSTM proj_size). The bare one-layer names (weight_ih, …) are
layer 0. One Linear readout may sit beside it: "<name>.weight" (C, D·p) and "<name>.bias" (C,),
or the training lab's weight_out / bias_out. Everything else is refused by name: attention,
convolution, embedding and normalisation layers, unknown keys.

Files are never unpickled: `.npz` through core.safe_npz.read_npz (headers first), `.safetensors`
parsed here from its JSON header (offsets and sizes checked before any array is made), `.pt`
only through torch.load(weights_only=True) when torch is installed.
"""
from __future__ import annotations

import io
import json
import re
import zipfile

import numpy as np

from ..config import FIELD
from ..safe_npz import read_npz
from ..safeio import SafeIOError, clip_text, finite_float64, open_regular, read_bounded
from ..stack import Stack, StackError, make_direction, make_stack
from ..weights import WeightsError

MAX_FILE_BYTES = 256 * 1024 * 1024
MAX_LAYERS = 8
MAX_CLASSES = 4096
MAX_META_BYTES = 1024 * 1024
META_KEY = "gatescope_meta"
_KEY = re.compile(r"^(?P<prefix>(?:[\w-]+\.)*)(?P<name>weight_ih|weight_hh|bias_ih|bias_hh|weight_hr)"
                  r"(?:_l(?P<layer>\d{1,3}))?(?P<rev>_reverse)?$")
_UNSUPPORTED = (
    (("attn", "attention", "in_proj", "q_proj", "k_proj", "v_proj", "query", "transformer"),
     "attention layers are not supported"),
    (("conv",), "convolution layers are not supported"),
    (("embed",), "embedding layers are not supported (feed the embedded vectors as inputs)"),
    (("norm", "running_mean", "running_var", "num_batches_tracked", "bn."),
     "normalisation layers are not supported"),
)


class ModelError(WeightsError):
    """A model file or mapping cannot be turned into a stack; one line saying what is unsupported."""


def max_hidden() -> int:
    return int(FIELD["hidden"].hi)


def max_input() -> int:
    return int(FIELD["input_size"].hi)


def unsupported(key: str, ndim: int | None = None) -> str | None:
    """Why `key` names a layer Gatescope does not run (attention, convolution, …), or None."""
    low = key.lower()
    for words, why in _UNSUPPORTED:
        if any(w in low for w in words):
            return why
    if ndim is not None and ndim >= 3:
        return "convolution layers are not supported"
    return None


def _refuse(key: str, ndim: int | None = None, extra: str = ""):
    why = unsupported(key, ndim)
    if why:
        raise ModelError(f"'{clip_text(key)}': {why}")
    raise ModelError(f"unknown key '{clip_text(key)}'{extra}; expected PyTorch recurrent names "
                     "(weight_ih_l0, weight_hh_l0, …) and at most one Linear readout")


def check_header(name, dtype, shape) -> None:
    """Refuse a member from its header alone (before its data is read): unsupported layers, more
    than 2 dimensions, sizes beyond the setup table's limits."""
    if name == META_KEY:
        if len(shape) != 1 or dtype.kind != "u" or shape[0] > MAX_META_BYTES:
            raise ModelError(f"'{META_KEY}' must be UTF-8 JSON bytes of at most 1 MiB")
        return
    if not isinstance(name, str):
        raise ModelError("array names must be text")
    m = _KEY.match(name)
    if m is None and name not in ("weight_out", "bias_out") and not name.endswith((".weight", ".bias")):
        _refuse(name, len(shape))
    if m is None and unsupported(name, len(shape)):
        _refuse(name, len(shape))
    if len(shape) > 2:
        raise ModelError(f"'{clip_text(name)}' has {len(shape)} dimensions; recurrent and Linear "
                         "weights have at most 2")
    n, d = max_hidden(), max_input()
    if m is not None:        # (G·n, d) ≤ (4n, max(d, 2n)) for any layer; weight_hr (p, n) ≤ (n, n)
        limit = (n, n) if m["name"] == "weight_hr" else (4 * n, max(d, 2 * n))
    else:                    # a Linear readout (C, D·p)
        limit = (MAX_CLASSES, max(d, 2 * n))
    if any(k > lim for k, lim in zip(shape, limit)):
        raise ModelError(f"'{clip_text(name)}' has shape {clip_text(tuple(shape))}: beyond the "
                         f"limits (hidden size ≤ {n}, input size ≤ {d})")


# ----------------------------------------------------------------------------------------------
# state_dict → Stack

def _group(arrays: dict):
    """Split keys into recurrent {(layer, reverse): {name: array}} (one prefix) and readout parts."""
    rec, prefixes, linear = {}, set(), {}
    for key, value in arrays.items():
        if not isinstance(key, str):
            raise ModelError(f"array names must be text, got {clip_text(key)}")
        ndim = np.ndim(value)
        m = _KEY.match(key)
        if m is not None:
            prefixes.add(m["prefix"])
            layer = int(m["layer"]) if m["layer"] is not None else -1
            rec.setdefault((layer, bool(m["rev"])), {})[m["name"]] = (key, value)
            continue
        if key in ("weight_out", "bias_out"):
            linear.setdefault("", {})[key.split("_")[0]] = (key, value)
            continue
        base, _, leaf = key.rpartition(".")
        if leaf not in ("weight", "bias") or unsupported(key, ndim):
            _refuse(key, ndim)
        linear.setdefault(base, {})[leaf] = (key, value)
    if not rec:
        raise ModelError("no recurrent weights found (weight_ih_l0, weight_hh_l0, …)")
    if len(prefixes) > 1:
        a, b = sorted(prefixes)[:2]
        raise ModelError(f"two recurrent modules ('{clip_text(a or '(none)')}' and "
                         f"'{clip_text(b)}'); only one stack is supported")
    if any(layer == -1 for layer, _ in rec) and any(layer == 0 for layer, _ in rec):
        raise ModelError("layer 0 is given twice (with and without the _l0 suffix)")
    rec = {(max(layer, 0), rev): v for (layer, rev), v in rec.items()}
    prefix = prefixes.pop()
    linear.pop(prefix.rstrip(".") if prefix else None, None)
    if len(linear) > 1:
        names = sorted(k or "weight_out" for k in linear)
        raise ModelError(f"more than one Linear layer ({clip_text(', '.join(names))}); only a "
                         "single readout after the recurrent stack is supported")
    return rec, next(iter(linear.values()), None)


def _array(key, value) -> np.ndarray:
    try:
        return finite_float64(value, key)
    except SafeIOError as exc:
        raise ModelError(exc.reason) from None


def _kind(shapes: dict, key: str) -> str:
    hh = shapes["weight_hh"]
    if "weight_hr" in shapes:
        return "lstm"
    if len(hh) != 2 or hh[1] == 0:
        raise ModelError(f"'{key}' must be a 2-D (G·n, n) matrix, got shape {hh}")
    ratio, rest = divmod(hh[0], hh[1])
    kinds = {1: "rnn", 3: "gru", 4: "lstm"}
    if rest or ratio not in kinds:
        raise ModelError(f"'{key}' has shape {hh}: rows must be 1, 3 or 4 × {hh[1]} (RNN, GRU or LSTM)")
    return kinds[ratio]


def stack_from_state_dict(arrays: dict, *, nonlinearity: str | None = None,
                          convention: str = "pytorch", kind: str | None = None):
    """(Stack, readout (weight (C, F), bias (C,) or None) or None) from a state_dict mapping."""
    rec, linear = _group(arrays)
    layers = sorted({layer for layer, _ in rec})
    L = len(layers)
    if layers != list(range(L)):
        missing = next(k for k in range(L + 1) if k not in layers)
        raise ModelError(f"layer {missing} is missing (found layers {clip_text(layers)})")
    if L > MAX_LAYERS:
        raise ModelError(f"{L} layers; at most {MAX_LAYERS} are supported")
    D = 2 if (0, True) in rec else 1
    want = {n for v in rec.values() for n in v}
    built = []
    for layer in range(L):
        dirs = []
        for rev in ((False, True) if D == 2 else (False,)):
            part = rec.get((layer, rev))
            where = f"layer {layer}{' (reverse)' if rev else ''}"
            if part is None:
                raise ModelError(f"{where}: no weights (the other layers are "
                                 f"{'bidirectional' if D == 2 else 'one-directional'})")
            if (layer, True) in rec and D == 1:
                raise ModelError(f"layer {layer} has _reverse weights but layer 0 does not")
            for name in ("weight_ih", "weight_hh"):
                if name not in part:
                    raise ModelError(f"{where}: missing '{name}_l{layer}{'_reverse' if rev else ''}'")
            if set(part) != want:
                odd = sorted(want ^ set(part))[0]
                raise ModelError(f"{where}: '{odd}' is given for some layers but not others")
            if ("bias_ih" in part) != ("bias_hh" in part):
                raise ModelError(f"{where}: bias_ih and bias_hh must both be given or both be absent")
            d = _direction(part, where, nonlinearity, convention, kind, layer == 0)
            if layer and d.input_size != D * built[-1][0].output_size:
                need = D * built[-1][0].output_size
                raise ModelError(f"'{clip_text(part['weight_ih'][0])}' has shape {d.weight_ih.shape}; "
                                 f"layer {layer} reads the {need} outputs of layer {layer - 1}, so "
                                 f"({d.weight_ih.shape[0]}, {need})")
            dirs.append(d)
        built.append(dirs)
    try:
        stack = make_stack(built)
    except StackError as exc:
        raise ModelError(str(exc)) from None
    if len({d.kind for _, _, d in stack.directions()}) != 1:
        raise ModelError("layers of different kinds in one PyTorch module")
    return stack, _readout(linear, stack)


def _direction(part: dict, where: str, nonlinearity, convention, kind, first: bool):
    shapes = {n: tuple(np.shape(v)) for n, (_, v) in part.items()}
    k = _kind(shapes, part["weight_hh"][0])
    if kind is not None and kind != k:
        raise ModelError(f"{where}: the weights are a {k.upper()}, not a {str(kind).upper()}")
    n = shapes["weight_hh"][0] // {"rnn": 1, "gru": 3, "lstm": 4}[k]
    if n > max_hidden():
        raise ModelError(f"{where}: hidden size {n} is above the limit {max_hidden()}")
    ih = shapes["weight_ih"]
    if first and len(ih) == 2 and ih[1] > max_input():
        raise ModelError(f"{where}: input size {ih[1]} is above the limit {max_input()}")
    a = {name: _array(key, v) for name, (key, v) in part.items()}
    try:
        return make_direction(k, a["weight_ih"], a["weight_hh"], a.get("bias_ih"), a.get("bias_hh"),
                              a.get("weight_hr"), nonlinearity=(nonlinearity or "tanh") if k == "rnn"
                              else "tanh", convention=convention)
    except StackError as exc:
        raise ModelError(f"{where}: {exc}") from None


def _readout(linear, stack: Stack):
    if linear is None:
        return None
    if "weight" not in linear:
        raise ModelError(f"'{clip_text(linear['bias'][0])}' without its weight")
    key, w = linear["weight"]
    if np.ndim(w) != 2:
        raise ModelError(f"'{clip_text(key)}' has {np.ndim(w)} dimensions; a Linear readout has 2")
    C, F = np.shape(w)
    if F != stack.output_size:
        raise ModelError(f"readout '{clip_text(key)}' has shape {(C, F)}; the stack gives "
                         f"{stack.output_size} features")
    if not 1 <= C <= MAX_CLASSES:
        raise ModelError(f"readout '{clip_text(key)}' has {C} outputs; at most {MAX_CLASSES}")
    b = np.zeros(C)
    if "bias" in linear:
        bkey, bv = linear["bias"]
        if np.shape(bv) != (C,):
            raise ModelError(f"'{clip_text(bkey)}' has shape {np.shape(bv)}; expected ({C},)")
        b = _array(bkey, bv)
    return _array(key, w), b


# ----------------------------------------------------------------------------------------------
# Files

def parse_meta(raw) -> dict | None:
    """The JSON object stored under META_KEY (uint8 bytes, or text), or None."""
    if raw is None:
        return None
    data = raw if isinstance(raw, str) else np.asarray(raw, dtype=np.uint8).tobytes()
    if len(data) > MAX_META_BYTES:
        raise ModelError(f"'{META_KEY}' is larger than 1 MiB")
    try:
        meta = json.loads(data)
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise ModelError(f"'{META_KEY}' is not valid JSON") from None
    if not isinstance(meta, dict):
        raise ModelError(f"'{META_KEY}' must be a JSON object")
    return meta


def read_npz_dict(path) -> tuple[dict, dict | None]:
    arrays = read_npz(path, max_file_bytes=MAX_FILE_BYTES, max_total_bytes=MAX_FILE_BYTES,
                      max_members=5 * 2 * MAX_LAYERS + 8, check=check_header)
    return arrays, parse_meta(arrays.pop(META_KEY, None))


_ST_DTYPES = {"F64": "<f8", "F32": "<f4", "F16": "<f2", "I64": "<i8", "I32": "<i4", "I16": "<i2",
              "I8": "i1", "U8": "u1", "BF16": "bf16"}


def read_safetensors(path) -> tuple[dict, dict | None]:
    """{name: array} of a `.safetensors` file: 8-byte little-endian header length, a JSON header
    {name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__": {…}}, then the data."""
    data = read_bounded(path, MAX_FILE_BYTES)
    if len(data) < 10:
        raise ModelError("not a .safetensors file (too short)")
    hlen = int.from_bytes(data[:8], "little")
    if hlen > min(len(data) - 8, 16 * 1024 * 1024):
        raise ModelError(f"not a .safetensors file (header length {clip_text(hlen)} exceeds the file)")
    try:
        header = json.loads(data[8:8 + hlen])
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise ModelError("not a .safetensors file (its header is not JSON)") from None
    if not isinstance(header, dict):
        raise ModelError("not a .safetensors file (its header is not a JSON object)")
    meta = header.pop("__metadata__", None)
    if len(header) > 5 * 2 * MAX_LAYERS + 8:
        raise ModelError(f"{len(header)} tensors; a recurrent stack has at most {10 * MAX_LAYERS + 8}")
    body = memoryview(data)[8 + hlen:]
    out = {}
    for name, info in header.items():
        out[name] = _st_tensor(name, info, body)
    return out, parse_meta(meta.get(META_KEY)) if isinstance(meta, dict) else None


def _st_tensor(name, info, body) -> np.ndarray:
    if not isinstance(info, dict) or set(info) - {"dtype", "shape", "data_offsets"}:
        raise ModelError(f"'{clip_text(name)}': malformed tensor entry")
    dt, shape, offs = info.get("dtype"), info.get("shape"), info.get("data_offsets")
    if not isinstance(dt, str) or dt not in _ST_DTYPES:
        raise ModelError(f"'{clip_text(name)}': dtype {clip_text(dt)} is not supported (floats or ints)")
    if (not isinstance(shape, list) or not all(isinstance(k, int) and not isinstance(k, bool)
                                               and k >= 0 for k in shape)):
        raise ModelError(f"'{clip_text(name)}': malformed shape {clip_text(shape)}")
    dtype = np.dtype("<u2" if dt == "BF16" else _ST_DTYPES[dt])
    check_header(name, dtype, tuple(shape))
    count = int(np.prod(shape, dtype=object))
    if (not isinstance(offs, list) or len(offs) != 2 or not all(isinstance(k, int) for k in offs)
            or not 0 <= offs[0] <= offs[1] <= len(body) or offs[1] - offs[0] != count * dtype.itemsize):
        raise ModelError(f"'{clip_text(name)}': data offsets {clip_text(offs)} do not match its "
                         f"shape {clip_text(shape)} or the file")
    a = np.frombuffer(body, dtype=dtype, count=count, offset=offs[0]).reshape(shape)
    if dt == "BF16":                     # bfloat16: the top half of a float32
        a = (a.astype(np.uint32) << 16).view(np.float32)
    return a


PT_EXPORT_HINT = ("export the state_dict instead: np.savez('w.npz', **{k: v.detach().cpu().numpy() "
                  "for k, v in model.state_dict().items()}), or save it as .safetensors")


def read_pt(path) -> tuple[dict, dict | None]:
    """A `.pt` / `.pth` state_dict through torch.load(weights_only=True) (never a plain unpickle)."""
    try:
        import torch
    except ImportError:
        raise ModelError(f"reading .pt files needs PyTorch, which is not installed; "
                         f"{PT_EXPORT_HINT}") from None
    data = read_bounded(path, MAX_FILE_BYTES)
    if data[:4] == b"PK\x03\x04":
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as zf:
                infos = zf.infolist()
        except (zipfile.BadZipFile, ValueError, OSError, EOFError) as exc:
            raise ModelError(f"not a readable PyTorch file ({clip_text(str(exc))})") from None
        if len(infos) > 10000 or sum(i.file_size for i in infos) > MAX_FILE_BYTES:
            raise ModelError("the archive expands beyond 256 MiB; refused")
    try:
        obj = torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - torch raises many kinds; all mean "cannot read"
        msg = " ".join(str(exc).split())
        raise ModelError(f"not a readable PyTorch state_dict ({clip_text(msg, 80)}); "
                         f"{PT_EXPORT_HINT}") from None
    for key in ("state_dict", "model_state_dict"):
        if isinstance(obj, dict) and isinstance(obj.get(key), dict):
            obj = obj[key]
    if not isinstance(obj, dict):
        raise ModelError(f"holds a {type(obj).__name__}, not a state_dict; {PT_EXPORT_HINT}")
    out = {}
    for k, v in obj.items():
        if not isinstance(v, torch.Tensor):
            raise ModelError(f"'{clip_text(k)}' is a {type(v).__name__}, not a tensor")
        check_header(k, np.dtype("f8"), tuple(v.shape))
        if v.is_complex() or v.dtype == torch.bool:
            raise ModelError(f"'{clip_text(k)}' must hold real numbers, got {v.dtype}")
        out[k] = v.detach().cpu().to(torch.float64).numpy()
    return out, None


def read_state_dict_file(path) -> tuple[dict, dict | None, str]:
    """(arrays, metadata or None, format) by extension, or by content for other names."""
    p = str(path)
    low = p.lower()
    if low.endswith(".safetensors"):
        return (*read_safetensors(p), "safetensors")
    if low.endswith((".pt", ".pth")):
        return (*read_pt(p), "pt")
    if low.endswith(".npz"):
        return (*read_npz_dict(p), "npz")
    fh, _ = open_regular(p, MAX_FILE_BYTES)
    with fh:
        head = fh.read(9)
    if head[:4] == b"PK\x03\x04":
        return (*read_npz_dict(p), "npz")
    if len(head) > 8 and head[8:9] == b"{":
        return (*read_safetensors(p), "safetensors")
    raise ModelError("not a recognised model file (.npz, .safetensors, .pt/.pth or .keras)")
