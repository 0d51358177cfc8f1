"""Hostile files and extreme settings in the app: every open path refuses with a short message
and changes nothing; settings inside the documented limits never raise in a slot; the stored
state is validated like a file the user opens."""
import json
import os

import numpy as np
import pytest
from gatescope.core.config import Config
from gatescope.gui.document import DocumentError
from gatescope.gui.session import Session
from gatescope.gui.settings_store import SettingsStore


@pytest.fixture
def session(qapp, tmp_path):
    s = Session(Config(sigma1=0.93, length=40), store=SettingsStore(str(tmp_path / "s.ini")))
    s.refresh()
    assert s.wait_until_idle()
    yield s
    s.shutdown()


def _state(s):
    return (s.config, s.weights_name, s.weights_path, s.view, s.analysis, s.document.recent_files())


def _refused(s, method, path):
    before = _state(s)
    with pytest.raises(DocumentError) as info:
        method(path)
    msg = str(info.value)
    assert "\n" not in msg and len(msg) <= 300, msg
    assert _state(s) == before
    return msg


def test_devices_pipes_and_bad_names_are_refused_at_once(session, tmp_path):
    zero = tmp_path / "zero.json"
    os.symlink("/dev/zero", zero)
    fifo = tmp_path / "pipe.json"
    os.mkfifo(fifo)
    for path in (zero, fifo, tmp_path):
        _refused(session, session.document.open_session, str(path))
        _refused(session, session.document.open_weights, str(path).replace(".json", ".npz"))
    _refused(session, session.document.open_session, str(tmp_path / "a\0b.json"))
    _refused(session, session.document.open_weights, str(tmp_path / "a\0b.npz"))


@pytest.mark.parametrize("setup,field", [
    ('"hidden": ' + "9" * 401, "hidden"), ('"hidden": ' + "9" * 5000, "hidden"),
    ('"sigma1": 1' + "0" * 400, "sigma1"), ('"sigma1": 1e999', "sigma1"),
    ('"source": "text", "text": "' + "x " * 10001 + '"', "text"),
    ('"seed": -1', "seed"), ('"source": "text", "text": "bad \\ud800 text"', "text"),
])
def test_session_files_with_extreme_values_change_nothing(session, tmp_path, setup, field):
    path = tmp_path / "s.json"
    path.write_text('{"version": 2, "setup": {' + setup + '}}')
    msg = _refused(session, session.document.open_session, str(path))
    assert field in msg and len(msg) <= 200, msg


def test_a_huge_last_session_number_does_not_stop_the_start(session):
    store = session.document.store
    store.setValue("last_session", json.dumps({"version": 2, "setup": {"hidden": 10 ** 500}}))
    assert session.document.restore_last_session() is False
    store.setValue("recent", {"not": "a list"})
    assert session.document.recent_files() == []


def test_refusals_of_the_setup_change_nothing(session):
    from gatescope.core.config import ConfigError
    before = _state(session)
    for bad in ({"text": "w " * 6000, "source": "text"}, {"text": "x\ud800y", "source": "text"},
                {"hidden": 10 ** 400}, {"sigma1": float("inf")}):
        with pytest.raises(ConfigError):
            session.update(**bad)
        assert _state(session) == before


@pytest.mark.parametrize("changes", [
    dict(cell="rnn", activation="identity", sigma1=3.0, length=5000),
    dict(cell="rnn", activation="relu", sigma1=3.0, length=5000),
])
def test_extreme_settings_inside_the_limits_compute_without_error(session, changes):
    errors = []
    session.error.connect(lambda m, d: errors.append((m, d)))
    session.update(**changes)
    assert session.wait_until_idle(120000)
    assert errors == []
    assert session.analysis.trace.overflow_step is not None      # said where it left float64


def test_compare_with_identity_sigma_3_over_2000_steps(session):
    errors = []
    session.error.connect(lambda m, d: errors.append((m, d)))
    session.update(cell="rnn", activation="identity", sigma1=3.0, length=2000, forget_bias=20.0,
                   update_bias=20.0)
    session.set_compare_mode(True)
    assert session.wait_until_idle(120000)
    assert errors == [] and set(session.comparison) == {"rnn", "lstm", "gru"}


def test_weights_near_the_float64_limit_are_drawn(qtbot, tmp_path):
    from gatescope.gui.app import create_window
    rng = np.random.default_rng(0)
    n = 4
    w = tmp_path / "big.npz"
    np.savez(w, weight_ih=rng.standard_normal((n, 2)), weight_hh=np.full((n, n), 1e307))
    s, win = create_window(Config(length=20))
    qtbot.addWidget(win)
    win.show()
    qtbot.waitExposed(win)
    assert s.wait_until_idle()
    try:
        s.document.open_weights(str(w))
    except DocumentError:
        pass                            # refused is fine; a crash while painting is not
    assert s.wait_until_idle()
    win.grab()                          # paints every view
    qtbot.wait(20)
    s.shutdown()
