"""Bad files, random JSON, long sessions and interrupted saves: a clear error naming the problem,
nothing changed, nothing lost."""
import gc
import json
import os
import re
import zipfile

import numpy as np
import pytest
from gatescope.core import Config, WeightsError, load_weights
from gatescope.core.config import FIELDS
from gatescope.core.fileio import atomic_write_text
from gatescope.core.session_file import SessionFileError, parse_session, read_session, write_session
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

# ---------------------------------------------------------------------------------------------
# A corpus of malformed weight files: (name, writer(path), expected message fragment)


def npz(**arrays):
    return lambda p: np.savez(p, **arrays)


def raw(data: bytes):
    return lambda p: p.write_bytes(data)


def good_zip_then(mutate):
    def write(p):
        np.savez(p, weight_ih=np.zeros((4, 2)), weight_hh=np.zeros((4, 4)))
        mutate(p)
    return write


def zip_with(name, payload: bytes):
    def write(p):
        with zipfile.ZipFile(p, "w") as z:
            z.writestr(name, payload)
    return write


Z = np.zeros
WEIGHT_CORPUS = [
    ("empty", raw(b""), "empty"),
    ("text", raw(b"hello world\n" * 5), "no zip header"),
    ("npy-not-npz", lambda p: np.save(open(p, "wb"), Z((4, 4))), "no zip header"),
    ("truncated-10", good_zip_then(lambda p: p.write_bytes(p.read_bytes()[:10])), "not a readable"),
    ("truncated-half", good_zip_then(lambda p: p.write_bytes(p.read_bytes()[: len(p.read_bytes()) // 2])),
     "not a readable"),
    ("zip-bad-member", zip_with("weight_hh.npy", b"garbage"), "not a readable"),
    ("zip-no-arrays", lambda p: zipfile.ZipFile(p, "w").close(), "not a readable"),
    ("pickle-object", npz(weight_ih=np.array([None, 1], dtype=object), weight_hh=Z((4, 4))), "never unpickled"),
    ("missing-hh", npz(weight_ih=Z((4, 2))), "missing 'weight_hh'"),
    ("missing-ih", npz(weight_hh=Z((4, 4))), "missing 'weight_ih'"),
    ("unknown-name", npz(weight_ih=Z((4, 2)), weight_hh=Z((4, 4)), foo=Z(3)), "unknown weight name 'foo'"),
    ("layer-1", npz(weight_ih_l1=Z((4, 2)), weight_hh_l0=Z((4, 4))), "single-layer"),
    ("reverse", npz(weight_ih_l0_reverse=Z((4, 2)), weight_hh_l0=Z((4, 4))), "single-layer"),
    ("twice", npz(weight_ih=Z((4, 2)), weight_ih_l0=Z((4, 2)), weight_hh=Z((4, 4))), "given twice"),
    ("hh-1d", npz(weight_ih=Z((4, 2)), weight_hh=Z(16)), "2-D"),
    ("hh-3d", npz(weight_ih=Z((4, 2)), weight_hh=Z((4, 4, 1))), "2-D"),
    ("hh-2n", npz(weight_ih=Z((8, 2)), weight_hh=Z((8, 4))), "rows must be 1, 3 or 4"),
    ("hh-5n", npz(weight_ih=Z((20, 2)), weight_hh=Z((20, 4))), "rows must be 1, 3 or 4"),
    ("hh-not-multiple", npz(weight_ih=Z((7, 2)), weight_hh=Z((7, 4))), "rows must be 1, 3 or 4"),
    ("hh-empty", npz(weight_ih=Z((0, 2)), weight_hh=Z((0, 0))), "2-D"),
    ("ih-rows", npz(weight_ih=Z((3, 2)), weight_hh=Z((4, 4))), "weight_ih has shape"),
    ("ih-1d", npz(weight_ih=Z(4), weight_hh=Z((4, 4))), "weight_ih has shape"),
    ("ih-no-cols", npz(weight_ih=Z((4, 0)), weight_hh=Z((4, 4))), "weight_ih has shape"),
    ("lstm-ih-mismatch", npz(weight_ih=Z((12, 2)), weight_hh=Z((16, 4))), "weight_ih has shape"),
    ("gru-ih-mismatch", npz(weight_ih=Z((16, 2)), weight_hh=Z((12, 4))), "weight_ih has shape"),
    ("bias-ih-len", npz(weight_ih=Z((4, 2)), weight_hh=Z((4, 4)), bias_ih=Z(3)), "bias_ih has shape"),
    ("bias-hh-len", npz(weight_ih=Z((4, 2)), weight_hh=Z((4, 4)), bias_hh=Z(5)), "bias_hh has shape"),
    ("bias-2d", npz(weight_ih=Z((4, 2)), weight_hh=Z((4, 4)), bias_hh=Z((4, 1))), "bias_hh has shape"),
    ("nan-hh", npz(weight_ih=Z((4, 2)), weight_hh=np.full((4, 4), np.nan)), "NaN or infinite"),
    ("inf-ih", npz(weight_ih=np.full((4, 2), np.inf), weight_hh=Z((4, 4))), "NaN or infinite"),
    ("nan-bias", npz(weight_ih=Z((4, 2)), weight_hh=Z((4, 4)), bias_ih=np.full(4, np.nan)), "NaN or infinite"),
    ("strings", npz(weight_ih=Z((4, 2)), weight_hh=np.array([["a"] * 4] * 4)), "real numeric"),
    ("bytes", npz(weight_ih=Z((4, 2)), weight_hh=np.array([[b"a"] * 4] * 4)), "real numeric"),
    ("complex", npz(weight_ih=Z((4, 2)), weight_hh=Z((4, 4), complex)), "real numeric"),
    ("bool", npz(weight_ih=Z((4, 2)), weight_hh=Z((4, 4), bool)), "real numeric"),
    ("structured", npz(weight_ih=Z((4, 2)), weight_hh=Z((4, 4), dtype=[("a", "f8")])), "real numeric"),
    ("datetime", npz(weight_ih=Z((4, 2)), weight_hh=Z((4, 4), "datetime64[s]")), "real numeric"),
]

SESSION_CORPUS = [
    ("empty", b"", "empty"),
    ("spaces", b"   \n", "empty"),
    ("not-json", b"hello", "invalid JSON"),
    ("truncated", b'{"version": 1, "setup": {', "invalid JSON"),
    ("latin1", '{"version": 1, "setup": {"text": "café"}}'.encode("latin-1"), "not UTF-8"),
    ("utf16", '{"version": 1}'.encode("utf-16"), "not UTF-8"),
    ("list", b"[1, 2]", "no 'version'"),
    ("no-version", b'{"setup": {}}', "no 'version'"),
    ("version-str", b'{"version": "1", "setup": {}}', "whole number"),
    ("version-bool", b'{"version": true, "setup": {}}', "whole number"),
    ("version-new", b'{"version": 99, "setup": {}}', "newer Gatescope"),
    ("version-zero", b'{"version": 0, "setup": {}}', "unknown version"),
    ("no-setup", b'{"version": 1}', "missing 'setup'"),
    ("extra-key", b'{"version": 1, "setup": {}, "x": 1}', "unknown key 'x'"),
    ("setup-list", b'{"version": 1, "setup": []}', "must be a JSON object"),
    ("unknown-setting", b'{"version": 1, "setup": {"sigma2": 1}}', "unknown setting 'sigma2'"),
    ("sigma-str", b'{"version": 1, "setup": {"sigma1": "big"}}', "'sigma1' must be a number"),
    ("sigma-high", b'{"version": 1, "setup": {"sigma1": 3.5}}', "'sigma1' = 3.5 is out of range"),
    ("sigma-low", b'{"version": 1, "setup": {"sigma1": 0.001}}', "out of range"),
    ("sigma-nan", b'{"version": 1, "setup": {"sigma1": NaN}}', "not a valid number"),
    ("sigma-inf", b'{"version": 1, "setup": {"sigma1": Infinity}}', "not a valid number"),
    ("sigma-bool", b'{"version": 1, "setup": {"sigma1": true}}', "must be a number"),
    ("hidden-float", b'{"version": 1, "setup": {"hidden": 3.5}}', "whole number"),
    ("hidden-zero", b'{"version": 1, "setup": {"hidden": 0}}', "out of range"),
    ("hidden-huge", b'{"version": 1, "setup": {"hidden": 100000}}', "out of range"),
    ("length-neg", b'{"version": 1, "setup": {"length": -5}}', "out of range"),
    ("length-huge", b'{"version": 1, "setup": {"length": 5001}}', "out of range"),
    ("cell-bad", b'{"version": 1, "setup": {"cell": "cnn"}}', "'cell' must be one of"),
    ("cell-null", b'{"version": 1, "setup": {"cell": null}}', "must be text"),
    ("normal-str", b'{"version": 1, "setup": {"normal": "yes"}}', "true or false"),
    ("shape-bad", b'{"version": 1, "setup": {"shape": "round"}}', "must be one of"),
    ("text-empty", b'{"version": 1, "setup": {"source": "text", "text": "  "}}', "empty"),
    ("text-num", b'{"version": 1, "setup": {"text": 5}}', "must be text"),
    ("clip-neg", b'{"version": 1, "setup": {"clip": -1}}', "out of range"),
    ("scale-huge", b'{"version": 1, "setup": {"input_scale": 1e7}}', "out of range"),
    ("seed-neg", b'{"version": 1, "setup": {"seed": -1}}', "out of range"),
    ("step-neg", b'{"version": 1, "setup": {"step": -2}}', "out of range"),
    ("deep", b"[" * 100000 + b"]" * 100000, "invalid JSON|nested too deeply|no 'version'"),
]


def test_corpus_is_large_enough():
    assert len(WEIGHT_CORPUS) + len(SESSION_CORPUS) >= 50


@pytest.mark.parametrize("name, write, msg", WEIGHT_CORPUS, ids=[c[0] for c in WEIGHT_CORPUS])
def test_malformed_weight_file(tmp_path, name, write, msg):
    path = tmp_path / f"{name}.npz"
    write(path)
    with pytest.raises(WeightsError, match=msg) as info:
        load_weights(path)
    assert "\n" not in str(info.value) and str(path) in str(info.value)


@pytest.mark.parametrize("name, data, msg", SESSION_CORPUS, ids=[c[0] for c in SESSION_CORPUS])
def test_malformed_session_file(tmp_path, name, data, msg):
    path = tmp_path / f"{name}.json"
    path.write_bytes(data)
    with pytest.raises(SessionFileError, match=msg):
        read_session(path)


def test_session_paths_that_are_not_files(tmp_path):
    with pytest.raises(SessionFileError, match="directory"):
        read_session(tmp_path)
    with pytest.raises(SessionFileError, match="cannot open"):
        read_session(tmp_path / "missing.json")
    big = tmp_path / "big.json"
    big.write_bytes(b" " * (2 * 1024 * 1024))
    with pytest.raises(SessionFileError, match="refused"):
        read_session(big)


def test_huge_weight_file_is_refused_before_reading(tmp_path, monkeypatch):
    import gatescope.core.weights as w
    path = tmp_path / "w.npz"
    np.savez(path, weight_ih=np.zeros((4, 2)), weight_hh=np.zeros((4, 4)))
    monkeypatch.setattr(w, "MAX_WEIGHT_FILE_BYTES", 100)
    with pytest.raises(WeightsError, match="refused"):
        load_weights(path)


@pytest.mark.skipif(os.geteuid() == 0, reason="root can read any file")
def test_unreadable_weight_file(tmp_path):
    path = tmp_path / "w.npz"
    np.savez(path, weight_ih=np.zeros((4, 2)), weight_hh=np.zeros((4, 4)))
    path.chmod(0)
    with pytest.raises(WeightsError, match="permission|cannot"):
        load_weights(path)


def test_app_state_unchanged_by_every_bad_file(qtbot, tmp_path, monkeypatch):
    """Every malformed file, opened in the app: one specific message, and nothing changes."""
    from gatescope.gui import dialogs
    from gatescope.gui.app import create_window
    seen = []
    monkeypatch.setattr(dialogs, "warn", lambda parent, msg, details="": seen.append(msg))
    session, window = create_window(Config(cell="lstm", sigma1=0.93, length=40))
    qtbot.addWidget(window)
    window.show()
    session.wait_idle()
    before_config, before_analysis, before_step = session.config, session.analysis, session.step
    for name, write, msg in WEIGHT_CORPUS:
        path = tmp_path / f"{name}.npz"
        write(path)
        n = len(seen)
        window.open_weights(str(path))
        assert len(seen) == n + 1 and re.search(msg, seen[-1]), name
    for name, data, msg in SESSION_CORPUS:
        path = tmp_path / f"{name}.json"
        path.write_bytes(data)
        n = len(seen)
        window.open_session(str(path))
        assert len(seen) == n + 1 and re.search(msg, seen[-1]), name
    session.wait_idle()
    assert session.config == before_config
    assert session.analysis is before_analysis and session.step == before_step
    assert session.weights_name is None
    session.shutdown()


# ---------------------------------------------------------------------------------------------
# Fuzzing the session loader: valid setup, or SessionFileError — never anything else

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-10**6, 10**6) | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=20)
setup_values = st.dictionaries(st.sampled_from([f.name for f in FIELDS] + ["junk"]), json_values, max_size=6)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(json_values, st.fixed_dictionaries({"version": json_values, "setup": setup_values}),
                 st.fixed_dictionaries({"version": st.just(1), "setup": setup_values})))
def test_session_loader_fuzz(doc):
    text = json.dumps(doc)
    try:
        config = parse_session(text)
    except SessionFileError as exc:
        assert str(exc) and "\n" not in str(exc)
        return
    assert isinstance(config, Config)
    assert Config.from_dict(config.to_dict()) == config


@settings(max_examples=100, deadline=None)
@given(st.binary(max_size=200))
def test_session_loader_fuzz_bytes(data):
    try:
        parse_session(data)
    except SessionFileError:
        pass


def test_session_round_trip(tmp_path):
    from gatescope.core.config import ViewState
    from gatescope.core.session_file import read_session_doc
    cfg = Config(cell="gru", convention="seed", sigma1=0.777, text="héllo wörld", source="text")
    view = ViewState(step=3, tab="compare", scale=1.5, high_contrast=True)
    write_session(tmp_path / "s.json", cfg, view=view)
    assert read_session(tmp_path / "s.json") == cfg
    doc = read_session_doc(tmp_path / "s.json")
    assert doc.view == view and doc.version == 2


# ---------------------------------------------------------------------------------------------
# Saving is atomic: a crash half-way leaves the previous file intact


def test_interrupted_save_keeps_the_previous_file(tmp_path, monkeypatch):
    import gatescope.core.fileio as fileio
    path = tmp_path / "s.json"
    write_session(path, Config(sigma1=0.9))
    good = path.read_bytes()

    class Crash(Exception):
        pass

    real_fdopen = os.fdopen

    def dying_fdopen(fd, mode):
        fh = real_fdopen(fd, mode)
        real_write = fh.write

        def write(data):
            real_write(data[: len(data) // 2])     # half the bytes reach the disk, then the crash
            raise Crash()
        fh.write = write
        return fh
    monkeypatch.setattr(fileio.os, "fdopen", dying_fdopen)
    with pytest.raises(Crash):
        write_session(path, Config(sigma1=1.1))
    monkeypatch.undo()
    assert path.read_bytes() == good
    assert read_session(path).sigma1 == 0.9
    assert [p.name for p in tmp_path.iterdir()] == ["s.json"]      # no temporary file left behind


def test_full_disk_on_replace_keeps_the_previous_file(tmp_path, monkeypatch):
    import gatescope.core.fileio as fileio
    path = tmp_path / "t.txt"
    atomic_write_text(path, "old")

    def no_space(*a, **k):
        raise OSError(28, "No space left on device")
    monkeypatch.setattr(fileio.os, "replace", no_space)
    with pytest.raises(OSError):
        atomic_write_text(path, "new")
    monkeypatch.undo()
    assert path.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["t.txt"]


# ---------------------------------------------------------------------------------------------
# Long sessions: playing does not accumulate Python objects


def test_play_soak_keeps_objects_bounded(qtbot):
    from gatescope.gui.app import create_window
    session, window = create_window(Config(cell="lstm", length=200))
    qtbot.addWidget(window)
    window.resize(1600, 1000)
    window.show()
    session.wait_idle()

    def play(n):
        for _ in range(n):
            session._tick()                    # exactly what the play timer does
            if session.step >= session.steps:
                session.set_step(0)
        qtbot.wait(1)
    play(300)
    gc.collect()
    before = len(gc.get_objects())
    play(2000)
    gc.collect()
    after = len(gc.get_objects())
    assert after - before < 500, (before, after)
    session.shutdown()
