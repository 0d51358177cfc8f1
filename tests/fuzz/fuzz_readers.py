"""Coverage-guided fuzzing of the hostile-file readers with atheris (not collected by pytest).

    pip install atheris
    python tests/fuzz/fuzz_readers.py [--instrument-all] [CORPUS_DIR ...] -max_len=20000 -atheris_runs=N

Each input's bytes are written to a temporary file and opened as weights (`load_weights`, which
reads through `safe_npz.read_npz`) and as an inputs `.npy` (`safeio.read_npy`). The only accepted
outcomes are arrays within the limits or SafeIOError / WeightsError; anything else (another
exception, a crash, a hang, runaway memory — libFuzzer's -timeout and -rss_limit_mb) is a finding.
Save a finding under tests/data/hostile/ and add it to the corpus test.
`python tests/fuzz/fuzz_readers.py --seeds DIR` writes a few valid files to start from.
"""
import io
import os
import struct
import sys
import tempfile
import warnings
import zipfile as _zipfile

import atheris

with atheris.instrument_imports(include=["gatescope.core.safeio", "gatescope.core.weights",
                                         "zipfile"]):
    from gatescope.core.safe_npz import read_npz
    from gatescope.core.safeio import DEFAULT_MAX_ARRAY_ELEMS, SafeIOError, read_npy
    from gatescope.core.weights import WeightsError, load_weights

import numpy as np

warnings.simplefilter("ignore")          # zipfile's "Duplicate name" while building inputs
PATH = os.path.join(tempfile.mkdtemp(prefix="gatescope-fuzz-"), "input")


DESCRS = ["<f8", "<f4", ">f8", "<f2", "<f16", "<c16", "<i8", "|u1", "|b1", "|O", "|V8", "<U3",
          "|S2", "<M8[s]", "V2000000000", "f8,f8", "(2,)f8", "<f8 ", "x", ""]


def npy_bytes(fdp) -> bytes:
    """A structured .npy: a header dict built from fuzz data (known and odd dtypes, shapes of
    small, large and negative sizes, odd fortran_order values), sometimes raw header text."""
    if fdp.ConsumeBool():
        header = fdp.ConsumeUnicodeNoSurrogates(fdp.ConsumeIntInRange(0, 300))
    else:
        descr = DESCRS[fdp.ConsumeIntInRange(0, len(DESCRS) - 1)]
        shape = tuple(fdp.ConsumeIntInRange(-2, 2 ** 40 if fdp.ConsumeBool() else 6)
                      for _ in range(fdp.ConsumeIntInRange(0, 4)))
        fortran = [False, True, 0, None, "x"][fdp.ConsumeIntInRange(0, 4)]
        header = repr({"descr": descr, "fortran_order": fortran, "shape": shape})
    version = [(1, 0), (2, 0), (3, 0), (9, 9)][fdp.ConsumeIntInRange(0, 3)]
    raw = header.encode("utf-8", "surrogatepass") + b"\n"
    size = struct.pack("<H" if version == (1, 0) else "<I",
                       min(len(raw), 65535) if fdp.ConsumeBool() else fdp.ConsumeIntInRange(0, 65535))
    return b"\x93NUMPY" + bytes(version) + size + raw + fdp.ConsumeBytes(fdp.ConsumeIntInRange(0, 512))


def zip_bytes(fdp) -> bytes:
    """An archive of structured .npy members, sometimes with a lying declared size or flags."""
    buf = io.BytesIO()
    with _zipfile.ZipFile(buf, "w") as zf:
        for _ in range(fdp.ConsumeIntInRange(0, 4)):
            name = ["weight_hh.npy", "weight_ih.npy", "bias_ih.npy", "x.npy", "a/b", "x.npy"][
                fdp.ConsumeIntInRange(0, 5)]
            method = _zipfile.ZIP_DEFLATED if fdp.ConsumeBool() else _zipfile.ZIP_STORED
            try:
                zf.writestr(_zipfile.ZipInfo(name), npy_bytes(fdp), compress_type=method)
            except (ValueError, OverflowError):
                pass
    data = bytearray(buf.getvalue())
    for _ in range(fdp.ConsumeIntInRange(0, 3)):       # poke a few header fields
        if data:
            pos = fdp.ConsumeIntInRange(0, len(data) - 1)
            data[pos] = fdp.ConsumeIntInRange(0, 255)
    return bytes(data)


def make_input(data: bytes) -> bytes:
    if not data:
        return data
    fdp = atheris.FuzzedDataProvider(data[1:])
    return [lambda: data[1:], lambda: npy_bytes(fdp), lambda: zip_bytes(fdp)][data[0] % 3]()


def check(data: bytes) -> None:
    with open(PATH, "wb") as fh:
        fh.write(make_input(data))
    for read in (lambda: read_npz(PATH), lambda: read_npy(PATH), lambda: load_weights(PATH)):
        try:
            out = read()
        except (SafeIOError, WeightsError) as exc:
            msg = str(exc)
            assert msg and "\n" not in msg and len(msg) < 400, msg
            continue
        arrays = out.values() if isinstance(out, dict) else [out] if isinstance(out, np.ndarray) \
            else [out.weight_hh]
        for a in arrays:
            assert a.dtype.kind in "iufc" and a.size <= DEFAULT_MAX_ARRAY_ELEMS, (a.dtype, a.shape)


def write_seeds(folder: str) -> None:
    os.makedirs(folder, exist_ok=True)
    rng = np.random.default_rng(0)
    w = {"weight_ih": rng.standard_normal((8, 3)), "weight_hh": rng.standard_normal((8, 2)),
         "bias_ih": np.zeros(8, np.float32)}
    np.savez(os.path.join(folder, "lstm.npz"), **w)
    np.savez_compressed(os.path.join(folder, "lstm-compressed.npz"), **w)
    np.save(os.path.join(folder, "inputs.npy"), rng.standard_normal((5, 3)))
    np.save(os.path.join(folder, "fortran.npy"), np.asfortranarray(np.ones((3, 2), np.int16)))


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--seeds":
        write_seeds(sys.argv[2])
        sys.exit(0)
    if "--instrument-all" in sys.argv:     # coverage inside zipfile, ast, numpy too (slower)
        sys.argv.remove("--instrument-all")
        atheris.instrument_all()
    atheris.Setup(sys.argv, check)
    atheris.Fuzz()
