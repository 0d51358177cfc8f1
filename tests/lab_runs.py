"""A tiny real Training-lab run for the lab's layout tests: one Step, the rest of the run, then a
sweep with one seed, all in this process."""
from PySide6.QtCore import Qt


def run_tiny_lab(qtbot, window, iters: int, gaps):
    window.pages.setCurrentIndex(2)
    view, lab = window.train_view, window.lab
    qtbot.waitUntil(view.isVisible)
    lab.update(task="clouds", cell="lstm", gap=4, hidden=6, batch=8, iters=iters, eval_every=4, val_size=16,
               test_size=16, curriculum=False, stop_accuracy=None, seed=2)
    view.phase_ms = 5
    qtbot.mouseClick(view.step_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: view.step_phase == "update", timeout=20000)
    lab.resume()
    qtbot.waitUntil(lambda: lab.state == "finished", timeout=30000)
    lab.update(iters=20, eval_every=10)
    lab.sweep_workers = 1
    sweep = window.sweep_view
    sweep.gaps.setText(",".join(map(str, gaps)))
    sweep.seeds.setText("0")
    qtbot.mouseClick(sweep.run_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: lab.sweep_state == "finished", timeout=30000)
