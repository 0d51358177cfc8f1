"""The training lab driven like a user: Start / Pause / Stop / Reset, the plots receive the run's
numbers, and a cancelled sweep leaves the app usable."""
import numpy as np
import pytest
from gatescope.core.training.train import TrainConfig
from gatescope.gui import dialogs
from gatescope.gui.train_session import TrainSession
from gatescope.gui.views.sweep import SweepView
from gatescope.gui.views.train import TrainView
from PySide6.QtCore import Qt

SMALL = TrainConfig(task="clouds", hidden=8, batch=16, iters=400, eval_every=5, val_size=32,
                    test_size=64, curriculum=False, stop_accuracy=None, seed=1)


@pytest.fixture
def lab(qtbot, monkeypatch):
    seen = []
    monkeypatch.setattr(dialogs, "warn", lambda parent, msg, details="": seen.append(msg))
    lab = TrainSession(SMALL)
    lab.messages = seen
    yield lab
    lab.shutdown()


def test_start_pause_resume_stop_and_the_plots_receive_data(qtbot, lab):
    lab.update(iters=50_000)            # far more than the test lets run: no race with the end
    view = TrainView(lab)
    qtbot.addWidget(view)
    view.show()
    qtbot.mouseClick(view.start_button, Qt.LeftButton)
    assert lab.state == "running"
    qtbot.waitUntil(lambda: len(lab.iterations) >= 20, timeout=20000)
    qtbot.mouseClick(view.pause_button, Qt.LeftButton)
    assert lab.state == "paused" and view.pause_button.text() == "Resume"
    qtbot.wait(150)
    n = len(lab.iterations)
    qtbot.wait(300)
    assert len(lab.iterations) <= n + 1            # paused: at most the iteration under way
    assert not view.task.isEnabled()
    qtbot.mouseClick(view.pause_button, Qt.LeftButton)
    assert lab.state == "running"
    qtbot.waitUntil(lambda: len(lab.iterations) > n + 5, timeout=20000)
    qtbot.mouseClick(view.stop_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: lab.state == "stopped", timeout=20000)
    assert lab.summary["iterations"] < 50_000
    view.redraw()
    x, y = view.drawn("loss_curve")
    np.testing.assert_array_equal(x, lab.iterations)
    np.testing.assert_allclose(y, lab.loss)
    x, y = view.drawn("reach_curve")
    assert len(x) == len(lab.grad_h) and np.allclose(10 ** y, lab.grad_h)
    _, after = view.drawn("norm_after")
    assert np.all(10 ** after <= SMALL.clip * (1 + 1e-12))
    _, before = view.drawn("norm_before")
    np.testing.assert_allclose(10 ** before, lab.grad_norm)
    assert "test accuracy" in view.status.text()
    assert view.task.isEnabled()
    qtbot.mouseClick(view.reset_button, Qt.LeftButton)
    assert lab.state == "idle" and lab.iterations == []


def test_a_short_run_learns_the_short_gap_task(qtbot, lab):
    lab.update(iters=150, lr=0.02)
    lab.start()
    qtbot.waitUntil(lambda: lab.state == "finished", timeout=60000)
    s = lab.summary
    assert s["test_loss"] < s["chance_loss"]
    first = np.mean(lab.loss[:10])
    last = np.mean(lab.loss[-10:])
    assert last < first


def test_bad_settings_are_refused_with_a_message(qtbot, lab):
    view = TrainView(lab)
    qtbot.addWidget(view)
    before = lab.config
    view._set(lr=-1.0)
    assert lab.messages and "learning rate" in lab.messages[-1]
    assert lab.config == before


def test_cancelled_sweep_keeps_finished_runs_and_the_app_usable(qtbot, lab, tmp_path):
    lab.update(iters=30, eval_every=10)
    view = SweepView(lab)
    qtbot.addWidget(view)
    view.gaps.setText("2,3")
    view.seeds.setText("0,1")
    qtbot.mouseClick(view.run_button, Qt.LeftButton)
    assert lab.sweep_state == "running"
    qtbot.waitUntil(lambda: len(lab.sweep_rows) >= 2, timeout=60000)
    qtbot.mouseClick(view.cancel_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: lab.sweep_state == "cancelled", timeout=60000)
    kept = len(lab.sweep_rows)
    assert 2 <= kept < 12
    view.redraw()
    shown = sum(0 if view.acc_dots[k].getData()[0] is None else len(view.acc_dots[k].getData()[0])
                for k in ("rnn", "lstm", "gru"))
    assert shown == kept
    view.export(str(tmp_path / "sweep.csv"))
    assert (tmp_path / "sweep.csv").read_text().count("\n") == kept + 1
    # the lab still works after the cancel
    lab.start()
    qtbot.waitUntil(lambda: lab.state == "finished", timeout=60000)
    view.gaps.setText("a,b")
    qtbot.mouseClick(view.run_button, Qt.LeftButton)
    assert "whole numbers" in lab.messages[-1]


def test_the_gru_form_is_chosen_in_the_lab(qtbot, lab):
    view = TrainView(lab)
    qtbot.addWidget(view)
    form = view.findChild(object, "train_convention")
    assert not form.isEnabled()                                 # only for the GRU
    cell = view.findChild(object, "train_cell")
    cell.setCurrentIndex(cell.findData("gru"))
    assert lab.config.cell == "gru" and form.isEnabled()
    form.setCurrentIndex(form.findData("seed"))
    assert lab.config.convention == "seed"
    lab.update(iters=3)
    lab.start()
    qtbot.waitUntil(lambda: lab.state == "finished", timeout=20000)
    assert lab.summary["iterations"] == 3 and form.isEnabled()
    cell.setCurrentIndex(cell.findData("lstm"))
    assert not form.isEnabled()
