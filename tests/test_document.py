"""The Session owns the document: sessions, weights, recent files and the last session, through
its API with no window at all; session files of the previous release still open."""
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from gatescope.core.config import Config, ViewState
from gatescope.core.session_file import read_session_doc
from gatescope.gui.document import DocumentError

DATA = Path(__file__).parent / "data"


@pytest.fixture
def make_session(sessions):
    """A session on `config` (default: Config(), what a fresh start opens); store_name: a
    settings file shared by the sessions that name it (a later start)."""
    return lambda config=None, store_name="settings.ini": sessions(config or Config(), store_name)


def test_open_save_reopen_and_restore_without_a_window(make_session, tmp_path):
    cfg = Config(cell="gru", hidden=10, sigma1=1.3, shape="geometric", structure="non-normal",
                 source="text", text="the clouds are in the sky", seed=4)
    a = make_session(cfg)
    a.set_step(3)
    a.set_tab("compare")
    a.set_scale(1.5)
    path = tmp_path / "one.json"
    a.document.save_session(path)
    assert a.document.path == str(path)
    assert a.document.recent_files() == [str(path)]
    doc = read_session_doc(path)
    assert doc.config == cfg and doc.view == ViewState(step=3, tab="compare", scale=1.5)

    b = make_session(store_name="other.ini")
    assert b.config == Config()
    b.document.open_session(path)
    assert b.wait_until_idle()
    assert b.config == cfg and b.step == 3 and b.view.tab == "compare" and b.view.scale == 1.5
    assert b.compare_mode
    assert b.analysis.trace.steps == 6      # the sentence's six words were simulated

    b.document.store_last_session()
    c = make_session(store_name="other.ini")       # the same stored state: a new start
    assert c.config == Config()
    assert c.document.restore_last_session() is True
    assert c.wait_until_idle()
    assert c.config == cfg and c.step == 3
    assert c.document.recent_files() == [str(path)]


def test_a_bad_file_changes_nothing(make_session, tmp_path):
    s = make_session(Config(sigma1=0.9))
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"version": 2, "setup": {"sigma1": 99}}))
    with pytest.raises(DocumentError, match="sigma1"):
        s.document.open_session(bad)
    with pytest.raises(DocumentError):
        s.document.open_session(str(tmp_path / "missing.json"))
    with pytest.raises(DocumentError):
        s.document.open_weights(str(tmp_path / "a\0b.npz"))
    assert s.config == Config(sigma1=0.9) and s.document.recent_files() == []


def test_a_release_1_session_file_opens(make_session, tmp_path):
    """tests/data/session-v1.json was written by Gatescope 0.1 (the step inside the setup,
    `normal: false`, text with <, &, quotes and an emoji)."""
    raw = json.loads((DATA / "session-v1.json").read_text(encoding="utf-8"))
    assert raw["version"] == 1 and "step" in raw["setup"] and raw["setup"]["normal"] is False
    s = make_session()
    s.document.open_session(DATA / "session-v1.json")
    assert s.wait_until_idle()
    c = s.config
    assert (c.cell, c.hidden, c.input_size, c.sigma1, c.shape, c.seed) == ("lstm", 12, 6, 1.2, "geometric", 3)
    assert c.structure == "non-normal" and c.forget_bias == 2.5
    assert c.text == raw["setup"]["text"]
    assert s.step == raw["setup"]["step"]
    # saved again, it is a version 2 file with the step in the view
    out = tmp_path / "again.json"
    s.document.save_session(out)
    doc = json.loads(out.read_text(encoding="utf-8"))
    assert doc["version"] == 2 and "step" not in doc["setup"] and doc["view"]["step"] == 5
    assert doc["setup"]["structure"] == "non-normal" and "normal" not in doc["setup"]


def test_a_release_1_session_with_weights_opens_them(make_session, tmp_path):
    shutil.copy(DATA / "session-v1-weights.json", tmp_path / "s.json")
    shutil.copy(DATA / "session-v1-gru.npz", tmp_path / "session-v1-gru.npz")
    s = make_session()
    s.document.open_session(tmp_path / "s.json")
    assert s.wait_until_idle()
    assert s.weights_name == "session-v1-gru.npz" and s.config.cell == "gru" and s.config.hidden == 5
    stored = np.load(tmp_path / "session-v1-gru.npz")
    np.testing.assert_array_equal(s.analysis.cell.weight_hh, stored["weight_hh"])


def test_corrupt_stored_state_is_ignored(make_session, tmp_path):
    s = make_session()
    store = s.document.store
    store.setValue("recent", 12345)
    assert s.document.recent_files() == []
    store.setValue("recent", ["ok.json", 7, "x" * 10000, "a\0b"])
    assert s.document.recent_files() == ["ok.json"]
    for bad in ('{"version": 2, "setup": {"hidden": ' + "9" * 5000 + '}}',
                '{"version": 2, "setup": {"sigma1": 1e999}}', "[" * 100000, 42):
        store.setValue("last_session", bad)
        assert s.document.restore_last_session() is False
    assert s.config == Config()
