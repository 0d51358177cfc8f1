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


# -- the form is TRAIN_FIELDS ----------------------------------------------------------------------

def test_every_form_widget_has_the_field_table_s_range_and_choices(qtbot, lab):
    from gatescope.core.training.fields import TRAIN_FIELD
    from gatescope.gui.views.train import FORM
    from PySide6.QtWidgets import QCheckBox, QComboBox
    view = TrainView(lab)
    qtbot.addWidget(view)
    for name in FORM:
        f, w = TRAIN_FIELD[name], view.fields[name]
        assert w.objectName() == f"train_{name}" and w.toolTip()
        if f.choices is not None:
            assert isinstance(w, QComboBox)
            assert [w.itemData(i) for i in range(w.count())] == list(f.choices)
        elif f.type is bool:
            assert isinstance(w, QCheckBox) and w.isChecked() == getattr(lab.config, name)
        else:
            assert (w.minimum(), w.maximum()) == (f.lo, f.hi), name
            if name != "gap":
                assert w.value() == pytest.approx(getattr(lab.config, name) or 0)
    # the ends of every range are accepted by the validator, and set through the form
    for name in FORM:
        f, w = TRAIN_FIELD[name], view.fields[name]
        if f.lo is None or name == "gap":
            continue
        for v in (f.lo, f.hi):
            w.setValue(v)
            assert getattr(lab.config, name) == (None if name == "clip" and v == 0 else v), name
        w.setValue(f.default or 0)
    assert not lab.messages


def test_choosing_irnn_makes_a_relu_rnn_and_chrono_needs_gates(qtbot, lab):
    view = TrainView(lab)
    qtbot.addWidget(view)
    view.init.setCurrentIndex(view.init.findData("irnn"))
    c = lab.config
    assert (c.init, c.cell, c.nonlinearity) == ("irnn", "rnn", "relu")
    assert view.cell.currentData() == "rnn" and view.nonlinearity.currentData() == "relu"
    view.cell.setCurrentIndex(view.cell.findData("gru"))
    assert lab.config.cell == "gru" and lab.config.init == "default" and view.init.currentData() == "default"
    view.init.setCurrentIndex(view.init.findData("chrono"))
    assert lab.config.init == "chrono"
    view.cell.setCurrentIndex(view.cell.findData("rnn"))
    assert lab.config.init == "default" and not lab.messages


# -- Step: one batch as three phases -----------------------------------------------------------------

def test_step_draws_the_forward_pass_the_backward_pass_and_the_update(qtbot, lab):
    from gatescope.core.training.train import Trainer
    from gatescope.gui.views.train import PHASES
    view = TrainView(lab)
    qtbot.addWidget(view)
    view.show()
    view.phase_ms = 30
    phases = []
    view.phase_changed.connect(phases.append)
    qtbot.mouseClick(view.step_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: view.step_phase == "update", timeout=20000)
    assert phases == list(PHASES) and lab.state == "paused" and lab.iterations == [1]
    assert view.tabs.currentIndex() == 1 and "3 · update" in view.phase_label.text()
    # the same iteration computed independently by the engine
    _, rec = Trainer(lab.config).step(detail=True)
    _, image = view.drawn("fwd_image")
    np.testing.assert_allclose(image, rec.h0[1:].T, rtol=1e-12)
    x, top = view.drawn("bwd_bars")
    np.testing.assert_allclose(10 ** top[np.argsort(x)], rec.contrib[rec.contrib > 0], rtol=1e-9)
    _, curve = view.drawn("bwd_curve")
    np.testing.assert_allclose(10 ** curve, rec.grad_h, rtol=1e-9)
    _, rel = view.drawn("upd_bars")
    before, after = rec.model_before.params, rec.model_after.params
    expect = [np.linalg.norm(after[k] - before[k]) / np.linalg.norm(before[k]) for k in before]
    np.testing.assert_allclose(10 ** rel, expect, rtol=1e-9)
    # a second Step goes on from the first; Resume trains on; Stop evaluates
    phases.clear()
    qtbot.mouseClick(view.step_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: phases == list(PHASES), timeout=20000)
    assert lab.iterations == [1, 2] and lab.last_step.iteration == 2
    assert not view.start_button.isEnabled() and view.pause_button.text() == "Resume"
    qtbot.mouseClick(view.pause_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: len(lab.iterations) > 5, timeout=20000)
    qtbot.mouseClick(view.stop_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: lab.state == "stopped", timeout=20000)
    assert lab.iterations[:3] == [1, 2, 3]


def test_trained_weights_save_and_open_in_explore(qtbot, lab, tmp_path):
    from gatescope.core.models import load_weights_or_model, single_cell
    view = TrainView(lab)
    qtbot.addWidget(view)
    assert lab.trained_cell() is None and not view.save_button.isEnabled()
    lab.update(iters=20)
    lab.start()
    qtbot.waitUntil(lambda: lab.state == "finished", timeout=60000)
    assert view.save_button.isEnabled() and view.explore_button.isEnabled()
    cell = lab.trained_cell()
    path = tmp_path / "lab.npz"
    view.save_weights(str(path))
    loaded = single_cell(load_weights_or_model(path))
    for k, v in cell.to_state_dict().items():
        np.testing.assert_array_equal(loaded.to_state_dict()[k], v)
    with qtbot.waitSignal(lab.open_in_explore, timeout=2000) as sig:
        qtbot.mouseClick(view.explore_button, Qt.LeftButton)
    sent = single_cell(sig.args[0])                   # a core.models.Model around the trained cell
    assert sent.kind == lab.config.cell and sig.args[0].readout is not None
    np.testing.assert_array_equal(sent.weight_hh, cell.weight_hh)
    view.save_weights(str(tmp_path / "missing" / "x.npz"))
    assert "Cannot save the weights" in lab.messages[-1]


def test_a_finished_gated_run_explains_a_falling_first_gradient(qtbot, lab):
    view = TrainView(lab)
    qtbot.addWidget(view)
    lab.update(cell="gru", iters=60, lr=0.02)
    lab.start()
    qtbot.waitUntil(lambda: lab.state == "finished", timeout=60000)
    s = lab.summary
    text = view.explain.text()
    assert "‖∂ℓ/∂h₁‖ went from" in text and f"10^{s['log10_ratio_h1_final']:.1f}" in text
    view.redraw()
    _, share = view.drawn("share_curve")                       # ‖∂ℓ/∂h_k‖/‖∂ℓ/∂h_T‖ ends at 1
    assert share[-1] == pytest.approx(0.0, abs=1e-12)
    x, top = view.drawn("contrib_bars")
    assert len(x) == len(lab.contrib_final[lab.contrib_final > 0])


def test_cancelled_sweep_leaves_no_worker_process(qtbot, lab):
    import multiprocessing
    lab.update(iters=100000, eval_every=100000, stop_accuracy=None)
    view = SweepView(lab)
    qtbot.addWidget(view)
    view.gaps.setText("20")
    view.seeds.setText("0,1")
    view.cells.setText("lstm")
    qtbot.mouseClick(view.run_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: len(multiprocessing.active_children()) >= 1, timeout=30000)
    qtbot.mouseClick(view.cancel_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: lab.sweep_state == "cancelled", timeout=30000)
    assert lab.sweep_rows == [] and not multiprocessing.active_children()
