"""Hostile files against the engine's readers and writers (core.safeio, core.weights,
core.fileio, core.export): every crafted file of tests/data/hostile/ is refused with its own
one-line message; valid files read exactly as NumPy reads them; random headers and lying zip
archives give arrays within the limits or SafeIOError, never anything else; a failed write
leaves the previous file intact and no temporary file behind."""
import errno
import io
import json
import os
import struct
import subprocess
import sys
import tracemalloc
import zipfile
from pathlib import Path

import numpy as np
import pytest
from gatescope.core import safeio
from gatescope.core.cli.simulate import CommandError, load_inputs
from gatescope.core.config import FIELD, Config
from gatescope.core.export import trace_csv, write_trace
from gatescope.core.fileio import (
    WriteError,
    atomic_write_bytes,
    atomic_write_text,
    atomic_writer,
    check_writable,
    clean_stale_temps,
)
from gatescope.core.safe_npz import read_npz
from gatescope.core.safeio import (
    SafeIOError,
    check_path,
    clip_text,
    finite_float64,
    one_line,
    read_bounded,
    read_npy,
)
from gatescope.core.simulate import simulate
from gatescope.core.weights import WeightsError, load_weights, save_weights
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

HOSTILE = Path(__file__).resolve().parent / "data" / "hostile"
MANIFEST = json.loads((HOSTILE / "MANIFEST.json").read_text(encoding="utf-8"))
WEIGHT_FILES = sorted(n for n in MANIFEST if n.endswith(".npz"))
INPUT_FILES = sorted(n for n in MANIFEST if n.endswith(".npy"))
D = Config().input_size            # the default setup's input size, which the inputs must match


def test_corpus_is_complete_and_small():
    on_disk = sorted(p.name for p in HOSTILE.iterdir() if p.name != "MANIFEST.json")
    assert on_disk == sorted(MANIFEST)
    assert len(WEIGHT_FILES) >= 50 and len(INPUT_FILES) >= 25
    assert sum(p.stat().st_size for p in HOSTILE.iterdir()) < 4 * 2 ** 20


def test_corpus_generator_is_reproducible(tmp_path):
    """The committed corpus is what tests/make_hostile_corpus.py writes (byte for byte) for a
    sample of cases, including a bomb."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    try:
        import make_hostile_corpus as mk
    finally:
        sys.path.pop(0)
    for name in ("encrypted.npz", "lying-size-small.npz", "in-header-200kb.npy", "rnn1024.npz"):
        build = {**mk.WEIGHTS, **mk.INPUTS}[name][0]
        assert build() == (HOSTILE / name).read_bytes(), name


def _check_message(msg: str, name: str, fragment: str):
    assert fragment in msg, msg
    assert name in msg and "\n" not in msg and "\r" not in msg
    assert len(msg) <= 300 + len(str(HOSTILE)), msg
    assert "Traceback" not in msg


@pytest.mark.parametrize("name", WEIGHT_FILES)
def test_every_hostile_weight_file_is_refused_with_its_message(name):
    with pytest.raises(WeightsError) as info:
        load_weights(HOSTILE / name)
    _check_message(str(info.value), name, MANIFEST[name])


@pytest.mark.parametrize("name", INPUT_FILES)
def test_every_hostile_inputs_file_is_refused_with_its_message(name):
    with pytest.raises(CommandError) as info:
        load_inputs(HOSTILE / name, D)
    _check_message(str(info.value), name, MANIFEST[name])


@pytest.mark.parametrize("name", sorted(MANIFEST))
def test_generic_readers_on_every_hostile_file(name):
    """read_npz and read_npy with their default limits: arrays of plain numbers within the
    limits, or SafeIOError — whatever the file (an .npz given to read_npy and vice versa)."""
    for read in (read_npz, read_npy):
        try:
            out = read(HOSTILE / name)
        except SafeIOError as exc:
            assert "\n" not in str(exc) and name in str(exc)
            continue
        for a in (out.values() if isinstance(out, dict) else [out]):
            assert a.dtype.kind in "iufc" and a.size <= safeio.DEFAULT_MAX_ARRAY_ELEMS


def test_zip_bombs_are_refused_before_they_expand():
    """The 512 MiB archives (a 4096-unit LSTM and two anonymous 256 MiB arrays, < 1 MiB on disk)
    are refused while Python allocates almost nothing (traced peak, numpy included)."""
    tracemalloc.start()
    try:
        with pytest.raises(SafeIOError, match="would expand to"):
            read_npz(HOSTILE / "generic-bomb.npz")
        with pytest.raises(WeightsError, match="hidden size above the limit"):
            load_weights(HOSTILE / "lstm4096-bomb.npz")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert (HOSTILE / "lstm4096-bomb.npz").stat().st_size < 2 ** 20
    assert peak < 8 * 2 ** 20, peak


def test_declared_sizes_that_lie_are_caught(tmp_path):
    """A member whose real stream is longer than its declared size: zipfile stops at the
    declared size, and the member's CRC (of the whole stream) exposes the lie."""
    with pytest.raises(WeightsError, match="CRC"):
        load_weights(HOSTILE / "lying-size-crc.npz")
    with pytest.raises(WeightsError, match="the member holds 872"):
        load_weights(HOSTILE / "lying-size-small.npz")


def test_expansion_is_counted_across_members(tmp_path):
    """Each member within the limit, their sum not: refused once what they declare adds up."""
    path = tmp_path / "two.npz"
    np.savez_compressed(path, a=np.zeros(3000), b=np.zeros(3000))
    assert set(read_npz(path, max_total_bytes=50_000)) == {"a", "b"}
    with pytest.raises(SafeIOError, match="would expand to"):
        read_npz(path, max_total_bytes=40_000)
    with pytest.raises(SafeIOError, match="at most"):
        read_npz(path, max_total_bytes=20_000)


# -- paths and regular files ---------------------------------------------------------------------

def test_paths_that_are_not_files(tmp_path):
    (tmp_path / "zero").symlink_to("/dev/zero")
    os.mkfifo(tmp_path / "fifo")
    (tmp_path / "fifo-link").symlink_to(tmp_path / "fifo")
    (tmp_path / "loop").symlink_to(tmp_path / "loop")
    cases = [(tmp_path / "zero", "is a device"), (tmp_path / "fifo", "named pipe"),
             (tmp_path / "fifo-link", "named pipe"), (tmp_path, "is a directory"),
             (tmp_path / "missing", "no such file"), (tmp_path / "loop", "cannot open"),
             ("a\x00b.npz", "NUL character"), ("\ud800.npz", "cannot encode"), ("", "no file name"),
             (12.5, "not a file name")]
    for path, msg in cases:
        for read in (lambda p: read_bounded(p, 100), read_npz, read_npy, load_weights):
            with pytest.raises((SafeIOError, WeightsError), match=msg):
                read(path)


def test_read_bounded_reads_at_most_the_limit(tmp_path):
    path = tmp_path / "f"
    path.write_bytes(b"x" * 100)
    assert read_bounded(path, 100) == b"x" * 100
    assert read_bounded(os.fsencode(path), 100) == b"x" * 100
    with pytest.raises(SafeIOError, match="100 bytes; at most 99"):
        read_bounded(path, 99)
    # /proc files claim size 0 and hold more: the read itself is bounded (limit + 1 bytes)
    with pytest.raises(SafeIOError, match="larger than 10 bytes"):
        read_bounded("/proc/self/status", 10)


def test_undecodable_file_names_work_and_are_shown_escaped(tmp_path):
    name = os.fsdecode(b"w\xff.npz")                       # surrogateescape'd, as argv gives it
    save_weights(Config(hidden=3, input_size=2).build_cell(), tmp_path / name)
    assert load_weights(tmp_path / name).hidden_size == 3
    with pytest.raises(WeightsError) as info:
        load_weights(tmp_path / os.fsdecode(b"missing\xfe\n.npz"))
    msg = str(info.value)
    assert "\\udcfe" in msg and "\\n" in msg and "\n" not in msg
    msg.encode("utf-8")                                    # printable on any terminal


# -- .npy headers ---------------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", ["<f8", ">f4", "<f2", "<i2", "|u1", ">i8", "<c16"])
@pytest.mark.parametrize("shape, fortran", [((3, 4), False), ((3, 4), True), ((), False),
                                            ((0, 5), False), ((2, 3, 4), True)])
def test_read_npy_matches_numpy(tmp_path, dtype, shape, fortran):
    rng = np.random.default_rng(1)
    a = (rng.standard_normal(shape) * 50).astype(dtype)
    a = np.asfortranarray(a) if fortran else a
    np.save(tmp_path / "a.npy", a)
    b = read_npy(tmp_path / "a.npy")
    ref = np.load(tmp_path / "a.npy", allow_pickle=False)
    assert b.dtype == ref.dtype and b.shape == ref.shape
    np.testing.assert_array_equal(b, ref)


@pytest.mark.parametrize("compressed", [False, True])
def test_read_npz_matches_numpy(tmp_path, compressed):
    rng = np.random.default_rng(2)
    arrays = {"w": rng.standard_normal((5, 3)), "i": np.arange(7, dtype=np.int32),
              "f": np.asfortranarray(rng.standard_normal((2, 6)).astype(np.float32))}
    (np.savez_compressed if compressed else np.savez)(tmp_path / "a.npz", **arrays)
    out = read_npz(tmp_path / "a.npz")
    with np.load(tmp_path / "a.npz", allow_pickle=False) as ref:
        assert set(out) == set(ref.files)
        for k in out:
            assert out[k].dtype == ref[k].dtype
            np.testing.assert_array_equal(out[k], ref[k])


def test_a_huge_header_is_called_malformed_not_object_arrays():
    with pytest.raises(SafeIOError) as info:
        read_npy(HOSTILE / "in-header-200kb.npy")
    assert "malformed .npy header" in str(info.value) and "object" not in str(info.value)


def test_header_limits(tmp_path):
    np.save(tmp_path / "a.npy", np.zeros((10, 10)))
    assert read_npy(tmp_path / "a.npy", max_elems=100).shape == (10, 10)
    with pytest.raises(SafeIOError, match="declares 100 elements; at most 99"):
        read_npy(tmp_path / "a.npy", max_elems=99)
    with open(tmp_path / "a.npy", "rb") as fh:
        with pytest.raises(SafeIOError, match="800 bytes; at most 799"):
            safeio.read_npy_header(fh, max_elems=100, max_bytes=799)
    # a shape of 4000-digit numbers: a count described, never printed in full
    header = b"{'descr': '<f8', 'fortran_order': False, 'shape': (" + b"9" * 4000 + b", 2)}\n"
    (tmp_path / "huge.npy").write_bytes(b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header))
                                        + header)
    with pytest.raises(SafeIOError, match="about 10\\^4000 elements") as info:
        read_npy(tmp_path / "huge.npy")
    assert len(str(info.value)) < 300
    (tmp_path / "huge.npy").write_bytes(b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header) + 1000)
                                        + header.replace(b"9" * 4000, b"9" * 5000))
    with pytest.raises(SafeIOError, match="malformed .npy header"):
        read_npy(tmp_path / "huge.npy")          # Python itself refuses > 4300 digits


def test_extended_precision_and_non_finite_values():
    assert finite_float64(np.array([1.5, -2.0], np.longdouble)).dtype == np.float64
    np.testing.assert_array_equal(finite_float64(np.array([3, -4], np.int64)), [3.0, -4.0])
    with pytest.raises(SafeIOError, match="beyond float64"):
        finite_float64(np.array([np.longdouble("1e400")]), "w")
    with pytest.raises(SafeIOError, match="'w' contains NaN"):
        finite_float64(np.array([np.longdouble("inf")]), "w")
    with pytest.raises(SafeIOError, match="complex"):
        finite_float64(np.zeros(2, complex), "w")
    with pytest.raises(SafeIOError, match="real numeric"):
        finite_float64(np.zeros(2, bool), "w")


# -- short messages ---------------------------------------------------------------------------------

def test_clip_text():
    assert clip_text("short") == "short"
    long = clip_text("x" * 900_066)
    assert long == "x" * 60 + "…"
    assert clip_text("a\nb\tc\x1b\udcff") == "a\\nb\\tc\\x1b\\udcff"
    assert clip_text(10 ** 5000) == "<a whole number of about 5001 digits>"
    assert clip_text(12345) == "12345" and clip_text(1e300) == "1e+300"
    assert clip_text(b"\xff" * 100).startswith("b'\\xff") and len(clip_text(b"\xff" * 100)) == 61
    assert len(clip_text(list(range(10 ** 5)))) <= 61
    assert one_line("a\nb\r\n\tc  d") == "a b c d"


def test_check_path_gives_text():
    assert check_path(b"abc") == "abc"
    assert check_path(Path("x/y")) == "x/y"


# -- hypothesis: structured bad headers and archives ---------------------------------------------

DESCRS = ["<f8", "<f4", ">i2", "|u1", "<c8", "<f16", "|b1", "|O", "|V8", "<U2", "S3", "<M8[s]",
          "V2000000000", "f8,f8", "(2,)f8", "<q9", "", "O"]
shapes = st.one_of(st.tuples(), st.lists(st.integers(-3, 2 ** 63), max_size=4).map(tuple),
                   st.lists(st.integers(0, 6), max_size=3).map(tuple), st.text(max_size=5),
                   st.lists(st.integers(0, 4), max_size=2))
headers = st.one_of(
    st.fixed_dictionaries({"descr": st.sampled_from(DESCRS) | st.text(max_size=8),
                           "fortran_order": st.sampled_from([False, True, 0, None, "x"]),
                           "shape": shapes}).map(repr),
    st.dictionaries(st.sampled_from(["descr", "shape", "fortran_order", "x"]),
                    st.integers() | st.text(max_size=5) | st.none(), max_size=4).map(repr),
    st.text(max_size=80))


def npy_bytes(header: str, version, hlen_delta: int, data: bytes) -> bytes:
    raw = header.encode("utf-8", "surrogatepass") + b"\n"
    fmt = "<H" if version == (1, 0) else "<I"
    hlen = max(0, min(len(raw) + hlen_delta, 65535))
    return b"\x93NUMPY" + bytes(version) + struct.pack(fmt, hlen) + raw + data


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(header=headers, version=st.sampled_from([(1, 0), (2, 0), (3, 0), (4, 0)]),
       hlen_delta=st.sampled_from([0, 0, 0, -3, 5, 20000]), data=st.binary(max_size=300))
def test_random_npy_headers(tmp_path, header, version, hlen_delta, data):
    path = tmp_path / "h.npy"
    path.write_bytes(npy_bytes(header, version, hlen_delta, data))
    try:
        a = read_npy(path, max_elems=10 ** 5)
    except SafeIOError as exc:
        assert str(exc) and "\n" not in str(exc)
        return
    assert a.dtype.kind in "iufc" and a.size <= 10 ** 5


def _valid_npy(a) -> bytes:
    buf = io.BytesIO()
    np.save(buf, a)
    return buf.getvalue()


members = st.tuples(
    st.sampled_from(["weight_ih.npy", "weight_hh.npy", "bias_ih.npy", "bias_hh_l0.npy", "w.npy",
                     "x", "weight_hh.npy"]),
    st.one_of(st.sampled_from([(4, 2), (4, 4), (4,), (12, 4), (16, 4), (3,)]).map(
        lambda s: _valid_npy(np.ones(s))),
        st.builds(npy_bytes, headers, st.just((1, 0)), st.just(0), st.binary(max_size=64))),
    st.sampled_from([zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED]))
lies = st.lists(st.tuples(st.sampled_from(["size", "csize", "crc", "flags", "method"]),
                          st.integers(0, 2 ** 32 - 1), st.booleans()), max_size=3)


def _lying_zip(parts, lie_list) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, data, method in parts:
            zf.writestr(zipfile.ZipInfo(name), data, compress_type=method)
    data = bytearray(buf.getvalue())
    if not parts:
        return bytes(data)
    with zipfile.ZipFile(io.BytesIO(bytes(data))) as zf:
        local = [i.header_offset for i in zf.infolist()]
    central = [i for i in range(len(data) - 4) if data[i:i + 4] == b"PK\x01\x02"]
    offsets = {"size": (22, 24, 4), "csize": (18, 20, 4), "crc": (14, 16, 4), "flags": (6, 8, 2),
               "method": (8, 10, 2)}
    for k, (field, value, in_central) in enumerate(lie_list):
        lo, co, width = offsets[field]
        base = (central[k % len(central)] + co) if in_central and central else \
            local[k % len(local)] + lo
        data[base:base + width] = (value % 2 ** (8 * width)).to_bytes(width, "little")
    return bytes(data)


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(parts=st.lists(members, max_size=5), lie_list=lies)
def test_random_lying_archives(tmp_path, parts, lie_list):
    import warnings
    path = tmp_path / "z.npz"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")               # zipfile: "Duplicate name"
        path.write_bytes(_lying_zip(parts, lie_list))
    try:
        out = read_npz(path, max_total_bytes=10 ** 6)
    except SafeIOError as exc:
        assert str(exc) and "\n" not in str(exc)
    else:
        assert all(a.dtype.kind in "iufc" and a.nbytes <= 10 ** 6 for a in out.values())
    try:
        cell = load_weights(path)
    except WeightsError as exc:
        assert str(exc) and "\n" not in str(exc)
    else:
        assert cell.weight_hh.dtype == np.float64 and np.all(np.isfinite(cell.weight_hh))


# -- atomic writes ----------------------------------------------------------------------------------

def _enospc(*args, **kwargs):
    raise OSError(errno.ENOSPC, "No space left on device")


@pytest.mark.parametrize("where", ["write", "fsync", "replace", "close"])
def test_full_disk_keeps_the_previous_file(tmp_path, monkeypatch, where):
    import gatescope.core.fileio as fileio
    path = tmp_path / "out.bin"
    atomic_write_bytes(path, b"previous")
    if where in ("fsync", "replace"):
        monkeypatch.setattr(fileio.os, where, _enospc)
    else:
        real_fdopen = os.fdopen

        def fdopen(fd, mode):
            fh = real_fdopen(fd, mode)
            setattr(fh, where, _enospc) if where == "write" else None
            if where == "close":
                fh.flush = _enospc
            return fh
        monkeypatch.setattr(fileio.os, "fdopen", fdopen)
    with pytest.raises(WriteError) as info:
        atomic_write_bytes(path, b"new contents")
    monkeypatch.undo()
    assert info.value.errno == errno.ENOSPC and isinstance(info.value, OSError)
    assert str(info.value) == f"cannot write {path}: No space left on device"
    assert path.read_bytes() == b"previous"
    assert [p.name for p in tmp_path.iterdir()] == ["out.bin"]


def test_a_failing_exporter_callback_changes_nothing(tmp_path):
    path = tmp_path / "plot.svg"
    atomic_write_text(path, "<svg/>")

    class Boom(Exception):
        pass
    with pytest.raises(Boom):
        with atomic_writer(path) as fh:
            fh.write(b"<svg half")
            raise Boom()
    assert path.read_text() == "<svg/>" and [p.name for p in tmp_path.iterdir()] == ["plot.svg"]


def test_stale_temporaries_of_a_killed_save_are_cleaned(tmp_path):
    path = tmp_path / "s.json"
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True).stdout.strip()
    stale = tmp_path / f".s.json.{dead}-deadbeef.gatescope-tmp"
    mine = tmp_path / f".s.json.{os.getpid()}-0badcafe.gatescope-tmp"
    alive = tmp_path / ".s.json.1-12345678.gatescope-tmp"       # pid 1 is always running
    other = tmp_path / ".t.json.999999-00000000.gatescope-tmp"    # another target's
    for p in (stale, mine, alive, other):
        p.write_bytes(b"half")
    atomic_write_text(path, "{}")
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([alive.name, other.name, "s.json"])
    assert clean_stale_temps(path) == []


def test_check_writable_refuses_before_any_work(tmp_path):
    (tmp_path / "file").write_text("x")
    os.mkfifo(tmp_path / "fifo")
    for path, msg in [(tmp_path / "nope" / "t.csv", "folder does not exist"),
                      (tmp_path / "file" / "t.csv", "Not a directory"),
                      (tmp_path, "it is a folder"), (tmp_path / "fifo", "not a regular file"),
                      ("a\x00.csv", "NUL"), ("/dev/null", "not a regular file")]:
        with pytest.raises(WriteError, match=msg):
            check_writable(path)
    with pytest.raises(WriteError, match="free"):
        check_writable(tmp_path / "t.csv", need_bytes=2 ** 62)
    assert check_writable(tmp_path / "t.csv") == str(tmp_path / "t.csv")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fifo", "file"]


def test_atomic_write_keeps_mode_and_writes_through_links(tmp_path):
    real = tmp_path / "real.json"
    atomic_write_text(real, "old")
    real.chmod(0o640)
    link = tmp_path / "link.json"
    link.symlink_to(real)
    atomic_write_text(link, "new")
    assert link.is_symlink() and real.read_text() == "new"
    assert (real.stat().st_mode & 0o777) == 0o640
    with pytest.raises(WriteError, match="cannot encode"):
        atomic_write_text(real, "lone \ud800 surrogate")
    assert real.read_text() == "new"


def test_trace_export_streams_what_trace_csv_says(tmp_path, monkeypatch):
    import gatescope.core.fileio as fileio
    cfg = Config(cell="lstm", hidden=3, input_size=2, source="text", text="a b c")
    x, tokens = cfg.build_inputs()
    trace = simulate(cfg.build_cell(), x)
    tokens = ["a", "\udcff", "c"]
    write_trace(trace, tmp_path / "t.csv", tokens)
    text = (tmp_path / "t.csv").read_text(encoding="utf-8")
    assert text == trace_csv(trace, tokens).replace("\udcff", "\\udcff")
    write_trace(trace, tmp_path / "t.npz")
    with np.load(tmp_path / "t.npz") as z:
        np.testing.assert_array_equal(z["log10_jac_norm"], trace.log10_jac_norm)
    before = (tmp_path / "t.npz").read_bytes()
    monkeypatch.setattr(fileio.os, "fsync", _enospc)
    with pytest.raises(WriteError, match="t.npz: No space left"):
        write_trace(trace, tmp_path / "t.npz")
    monkeypatch.undo()
    assert (tmp_path / "t.npz").read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["t.csv", "t.npz"]


def test_weights_limits_come_from_the_setup_table(tmp_path):
    n_max, d_max = int(FIELD["hidden"].hi), int(FIELD["input_size"].hi)
    ok = Config(hidden=n_max, input_size=2).build_cell()
    save_weights(ok, tmp_path / "max.npz")
    assert load_weights(tmp_path / "max.npz").hidden_size == n_max
    np.savez(tmp_path / "over.npz", weight_ih=np.zeros((n_max + 1, 2)),
             weight_hh=np.zeros((n_max + 1, n_max + 1)))
    with pytest.raises(WeightsError, match=f"hidden size n = {n_max + 1} is above the limit {n_max}"):
        load_weights(tmp_path / "over.npz")
    np.savez(tmp_path / "wide.npz", weight_ih=np.zeros((4, d_max + 1)), weight_hh=np.zeros((4, 4)))
    with pytest.raises(WeightsError, match=f"input size d = {d_max + 1} is above the limit {d_max}"):
        load_weights(tmp_path / "wide.npz")


def test_a_crc_error_is_reported(tmp_path):
    path = tmp_path / "w.npz"
    np.savez(path, weight_ih=np.zeros((4, 2)), weight_hh=np.zeros((4, 4)))
    data = bytearray(path.read_bytes())
    i = data.find(b"weight_hh.npy") + len("weight_hh.npy") + 140
    data[i] ^= 1
    path.write_bytes(bytes(data))
    with pytest.raises(WeightsError, match="CRC"):
        load_weights(path)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(name=st.text(max_size=300), limit=st.integers(1, 100))
def test_any_file_name_and_any_text(tmp_path, name, limit):
    """Any name (NUL, lone surrogates, separators, 300 characters): bytes or SafeIOError; any
    text clipped to `limit` characters (+ "…") and made one printable line."""
    try:
        data = read_bounded(os.path.join(tmp_path, name), 10)
    except SafeIOError as exc:
        assert "\n" not in str(exc)
        str(exc).encode("utf-8")
    else:
        assert len(data) <= 10
    clipped = clip_text(name, limit)
    assert len(clipped) <= limit + 1 and (len(clipped) <= limit or clipped.endswith("…"))
    clipped.encode("utf-8")
    line = one_line(name)
    assert all(c.isprintable() for c in line) and line == line.strip()
