"""`gatescope FILE` (what the desktop entry runs for a file): a session or a model file given on
the command line is opened instead of the last session; a bad one gets one line and exit code 2;
a word that is not a file is still an unknown command."""
import os

import numpy as np
from gatescope.core.models import load_model
from gatescope.core.stack import run_stack
from gatescope.gui import app as app_module

from gatescope.launcher import build_parser, main

DATA = os.path.join(os.path.dirname(__file__), "data")


def run(monkeypatch, argv):
    made = []
    real = app_module.create_window
    monkeypatch.setattr(app_module, "create_window", lambda *a, **k: made.append(real(*a, **k)) or made[-1])
    rc = app_module.run_app(build_parser().parse_args(argv))
    return rc, (made[0] if made else (None, None))


def test_a_model_file_opens_with_its_layers(monkeypatch, tmp_path, qtbot):
    path = os.path.join(DATA, "models", "lstm_l2_bi.npz")
    shot = tmp_path / "shot.png"
    rc, (session, window) = run(monkeypatch, [path, "--screenshot", str(shot), "--size", "1280x720"])
    qtbot.addWidget(window)
    assert rc == 0 and shot.stat().st_size > 0
    assert session.weights_path == os.path.abspath(path)
    assert [label for *_, label in session.layer_choices()][:2] == \
        ["layer 1 of 2: LSTM n = 4", "layer 1 of 2 (reverse): LSTM n = 4"]
    model = load_model(path)                   # the drawn trace is the file's first layer's
    x = session.analysis.trace.inputs
    ref = run_stack(model.stack, x)
    np.testing.assert_allclose(session.analysis.trace.h[1:], ref.traces[0][0].h[1:], rtol=0, atol=1e-12)


def test_a_session_file_opens(monkeypatch, tmp_path, qtbot):
    path = os.path.join(DATA, "session-v1.json")
    rc, (session, window) = run(monkeypatch, [path, "--screenshot", str(tmp_path / "s.png")])
    qtbot.addWidget(window)
    assert rc == 0 and session.document.path == os.path.abspath(path)


def test_a_bad_file_or_word_gets_one_line(tmp_path, capsys):
    bad = tmp_path / "broken.npz"
    bad.write_bytes(b"not a zip")
    assert main([str(bad), "--screenshot", str(tmp_path / "s.png")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "broken.npz" in err[0]
    assert not (tmp_path / "s.png").exists()
    assert main(["frobnicate"]) == 2
    assert "unknown command 'frobnicate'" in capsys.readouterr().err
