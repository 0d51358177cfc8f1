"""Training lab: train an RNN, LSTM or GRU on France → French (or clouds → sky, or the adding
problem) and watch, live, the loss and accuracy, how far back the gradient reaches
(‖∂ℓ/∂h_k‖ against k, log scale) and the gradient norm before and after clipping."""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from gatescope.core.training.train import TrainError
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from .. import dialogs, style
from .axes import PowerOfTenAxis

REDRAW_MS = 80


def log10_safe(values) -> np.ndarray:
    v = np.asarray(values, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.log10(v)
    out[~np.isfinite(out)] = np.nan
    return out


def _pow10(v) -> str:
    """A norm the way the rest of the app writes it: 8.16×10⁻⁵ (0 and non-finite as they are)."""
    from gatescope.core.theory import format_pow10
    v = float(v)
    return format_pow10(np.log10(v)) if v > 0 and np.isfinite(v) else f"{v:g}"


class TrainView(QWidget):
    def __init__(self, lab, parent=None):
        super().__init__(parent)
        self.setObjectName("train_view")
        self.lab = lab
        self._drawn_version = -1
        lay = QHBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.addWidget(self._controls())
        right = QVBoxLayout()
        right.addWidget(self.status)
        self.graphs = pg.GraphicsLayoutWidget()
        right.addWidget(self.graphs, 1)
        lay.addLayout(right, 1)
        self._plots()
        self.timer = QTimer(self)
        self.timer.setInterval(REDRAW_MS)
        self.timer.timeout.connect(self.redraw)
        lab.state_changed.connect(self._on_state)
        lab.config_changed.connect(self.sync)
        lab.run_finished.connect(self._on_finished)
        lab.error.connect(lambda msg, details: dialogs.warn(self, msg, details))
        self.sync(lab.config)
        self._on_state(lab.state)

    # -- controls --------------------------------------------------------------------------------
    def _controls(self):
        box = QGroupBox("Run")
        box.setMaximumWidth(330)
        form = QFormLayout(box)
        c = self.lab.config

        def combo(name, items, tip, key):
            w = QComboBox()
            w.setObjectName(name)
            for label, data in items:
                w.addItem(label, data)
            w.setToolTip(tip)
            w.currentIndexChanged.connect(lambda _: self._set(**{key: w.currentData()}))
            return w

        def spin(name, lo, hi, tip, key, double=False, decimals=4, step=1.0, special=None):
            w = QDoubleSpinBox() if double else QSpinBox()
            w.setObjectName(name)
            if double:
                w.setDecimals(decimals)
                w.setSingleStep(step)
            w.setRange(lo, hi)
            w.setToolTip(tip)
            if special:
                w.setSpecialValueText(special)
            w.valueChanged.connect(lambda v: self._set(**{key: (float(v) if double else int(v))}))
            return w

        self.task = combo("train_task", [("France → French (long gap)", "france"),
                                         ("clouds → sky (short gap)", "clouds"),
                                         ("adding problem", "adding")],
                          "France → French: remember the country at the start across G distractor "
                          "tokens; chance = 1/K. clouds → sky: the short-gap contrast. Adding: "
                          "Hochreiter & Schmidhuber's two marked numbers.", "task")
        self.gap = spin("train_gap", 0, 1000, "Gap G: distractor tokens between the key word and "
                        "'I speak fluent' (adding: sequence length).", "gap")
        self.cell = combo("train_cell", [("RNN (tanh)", "rnn"), ("LSTM", "lstm"), ("GRU", "gru")],
                          "The cell to train.", "cell")
        self.convention = combo("train_convention", [("PyTorch / Keras", "pytorch"), ("the notes' (seed)", "seed")],
                                "GRU equations: PyTorch's h' = (1−z)⊙n + z⊙h, or the notes' "
                                "hₜ = (1−z)⊙hₜ₋₁ + z⊙h̃ (r applied before the matmul).", "convention")
        self.hidden = spin("train_hidden", 2, 256, "Hidden size n.", "hidden")
        self.optimizer = combo("train_optimizer", [("Adam", "adam"), ("SGD", "sgd")],
                               "Optimiser.", "optimizer")
        self.lr = spin("train_lr", 1e-5, 10.0, "Learning rate.", "lr", True, 5, 0.001)
        self.clip = spin("train_clip", 0.0, 1e6, "Gradient clipping threshold (notes §3.1): if "
                         "‖ĝ‖ ≥ threshold then ĝ ← threshold/‖ĝ‖ · ĝ. 0 = off.", "clip", True, 2, 0.5, "off")
        self.iters = spin("train_iters", 1, 100000, "Maximum iterations (batches).", "iters")
        self.seed = spin("train_seed", 0, 2**31 - 1, "Random seed: the same seed gives the same run.",
                         "seed")
        self.curriculum = QCheckBox("curriculum (start short, grow the gap)")
        self.curriculum.setObjectName("train_curriculum")
        self.curriculum.setToolTip("Train at a short gap first and grow it ×1.5 whenever the "
                                   "validation accuracy reaches the threshold.")
        self.curriculum.toggled.connect(lambda on: self._set(curriculum=bool(on)))
        for label, w in (("Task", self.task), ("Gap G", self.gap), ("Cell", self.cell),
                         ("GRU form", self.convention), ("Hidden n", self.hidden),
                         ("Optimiser", self.optimizer), ("Learning rate", self.lr),
                         ("Clip at", self.clip), ("Iterations", self.iters), ("Seed", self.seed)):
            form.addRow(label, w)
        form.addRow(self.curriculum)
        buttons = QHBoxLayout()
        self.start_button = QPushButton("Start")
        self.start_button.setObjectName("train_start")
        self.pause_button = QPushButton("Pause")
        self.pause_button.setObjectName("train_pause")
        self.stop_button = QPushButton("Stop")
        self.stop_button.setObjectName("train_stop")
        self.reset_button = QPushButton("Reset")
        self.reset_button.setObjectName("train_reset")
        for b in (self.start_button, self.pause_button, self.stop_button, self.reset_button):
            buttons.addWidget(b)
        self.start_button.clicked.connect(self._start)
        self.pause_button.clicked.connect(self._pause)
        self.stop_button.clicked.connect(self.lab.stop)
        self.reset_button.clicked.connect(self.lab.reset)
        form.addRow(buttons)
        self.status = QLabel()
        self.status.setObjectName("train_status")
        self.status.setWordWrap(True)
        self.status.setTextFormat(Qt.RichText)
        self.status.setFont(style.font(1))
        self.control_widgets = [self.task, self.gap, self.cell, self.convention, self.hidden, self.optimizer,
                                self.lr, self.clip, self.iters, self.seed, self.curriculum]
        del c
        return box

    def _set(self, **changes):
        if "clip" in changes and changes["clip"] == 0:
            changes["clip"] = None
        try:
            self.lab.update(**changes)
        except TrainError as exc:
            dialogs.warn(self, str(exc))
            self.sync(self.lab.config)

    def _frame_plots(self, c):
        """x ranges from the setup, so the empty plots already read in iterations and steps
        (not 0…1), and a run fills them left to right."""
        try:
            length = c.make_task().length
        except (TrainError, ValueError):
            return
        for plot in (self.loss_plot, self.acc_plot, self.norm_plot):
            plot.setXRange(0, max(c.iters, 1), padding=0.02)
        self.reach_plot.setXRange(1, max(length, 2), padding=0.02)

    def sync(self, c):
        self._frame_plots(c)
        for w in self.control_widgets:
            w.blockSignals(True)
        try:
            for w, v in ((self.task, c.task), (self.cell, c.cell), (self.optimizer, c.optimizer),
                         (self.convention, c.convention)):
                w.setCurrentIndex(max(0, w.findData(v)))
            self.convention.setEnabled(c.cell == "gru")
            task = c.make_task()
            self.gap.setValue(task.gap)
            self.hidden.setValue(c.hidden)
            self.lr.setValue(c.lr)
            self.clip.setValue(c.clip or 0.0)
            self.iters.setValue(c.iters)
            self.seed.setValue(c.seed)
            self.curriculum.setChecked(c.curriculum)
        finally:
            for w in self.control_widgets:
                w.blockSignals(False)

    def _start(self):
        try:
            self.lab.start()
        except TrainError as exc:
            dialogs.warn(self, str(exc))

    def _pause(self):
        (self.lab.resume if self.lab.state == "paused" else self.lab.pause)()

    def _on_state(self, state):
        running = state in ("running", "paused")
        self.start_button.setEnabled(not running)
        self.pause_button.setEnabled(running)
        self.pause_button.setText("Resume" if state == "paused" else "Pause")
        self.stop_button.setEnabled(running)
        for w in self.control_widgets:
            w.setEnabled(not running)
        self.convention.setEnabled(not running and self.lab.config.cell == "gru")
        if running:
            self.timer.start()
        else:
            self.timer.stop()
            self.redraw()
        self._status()

    def _on_finished(self, summary):
        self.redraw()
        self._status()

    def _status(self):
        lab = self.lab
        s = lab.summary
        if s is not None and lab.state in ("finished", "stopped"):
            self.status.setText(
                f"<b>{'Stopped' if lab.state == 'stopped' else 'Done'}</b> after {s['iterations']} "
                f"iterations, {s['seconds']:.1f} s · test accuracy <b>{s['test_accuracy']:.1%}</b> "
                f"(chance {s['chance']:.1%}) · test loss {s['test_loss']:.4f} · "
                f"‖∂ℓ/∂h₁‖ {_pow10(s['grad_h1_init'])} at start → {_pow10(s['grad_h1_final'])} trained")
        elif lab.iterations:
            it = lab.iterations[-1]
            va = f", validation accuracy {lab.val_accuracy[-1]:.1%}" if lab.val_accuracy else ""
            self.status.setText(f"{lab.state}: iteration {it} / {lab.config.iters}, gap {lab.gaps[-1]}{va}")
        else:
            self.status.setText("Choose the settings and press <b>Start</b>." if lab.state == "idle" else lab.state)

    # -- plots -----------------------------------------------------------------------------------
    def _plots(self):
        g = self.graphs
        self.loss_plot = g.addPlot(row=0, col=0)
        self.acc_plot = g.addPlot(row=0, col=1)
        self.reach_plot = g.addPlot(row=1, col=0, axisItems={"left": PowerOfTenAxis("left")})
        self.norm_plot = g.addPlot(row=1, col=1, axisItems={"left": PowerOfTenAxis("left")})
        style.style_plot(self.loss_plot, left="loss", bottom="iteration")
        style.style_plot(self.acc_plot, left="accuracy", bottom="iteration")
        style.style_plot(self.reach_plot, left="‖∂ℓ/∂h<sub>k</sub>‖", bottom="step k (the key word is k = 1)")
        style.style_plot(self.norm_plot, left="‖g‖", bottom="iteration")
        for p, title in ((self.loss_plot, "loss"), (self.acc_plot, "accuracy (chance dashed)"),
                         (self.reach_plot, "how far back the gradient reaches"),
                         (self.norm_plot, "gradient norm before / after clipping")):
            p.setTitle(title)
        self.loss_curve = self.loss_plot.plot(pen=style.pen(style.MEASURED, 1.5), name="train")
        self.val_loss_curve = self.loss_plot.plot(pen=None, symbol="o", symbolSize=6,
                                                  symbolBrush=style.CLIPPED, name="validation")
        self.acc_curve = self.acc_plot.plot(pen=style.pen(style.MEASURED, 1.5))
        self.val_acc_curve = self.acc_plot.plot(pen=style.pen(style.CLIPPED, 2), symbol="o", symbolSize=6,
                                                symbolBrush=style.CLIPPED)
        self.chance_line = pg.InfiniteLine(angle=0, movable=False, pen=style.pen("#888888", 1.5, Qt.DashLine))
        self.acc_plot.addItem(self.chance_line)
        self.acc_plot.setYRange(0, 1.02, padding=0)
        self.reach_init = self.reach_plot.plot(pen=style.pen(style.SIGMA_I, 2, Qt.DashLine))
        self.reach_curve = self.reach_plot.plot(pen=style.pen(style.MEASURED, 2.5))
        self.reach_c = self.reach_plot.plot(pen=style.pen(style.CELL_PATH, 2))
        legend = self.reach_plot.addLegend(offset=(-10, 10))
        legend.addItem(self.reach_curve, "‖∂ℓ/∂hₖ‖ now")
        legend.addItem(self.reach_init, "at initialisation")
        legend.addItem(self.reach_c, "‖∂ℓ/∂Cₖ‖ (LSTM)")
        self.norm_before = self.norm_plot.plot(pen=style.pen(style.SIGMA1, 1))
        self.norm_after = self.norm_plot.plot(pen=style.pen(style.CLIPPED, 1.5))
        legend = self.norm_plot.addLegend(offset=(-10, 10))
        legend.addItem(self.norm_before, "before clipping")
        legend.addItem(self.norm_after, "after clipping")

    def redraw(self):
        lab = self.lab
        with lab._lock:
            if lab.version == self._drawn_version:
                return
            self._drawn_version = lab.version
            it = np.asarray(lab.iterations, float)
            loss, acc = np.asarray(lab.loss), np.asarray(lab.accuracy)
            gb, ga = np.asarray(lab.grad_norm), np.asarray(lab.clipped_norm)
            ev, va, vl = np.asarray(lab.eval_iterations, float), np.asarray(lab.val_accuracy), np.asarray(lab.val_loss)
            gh, gc, gh0 = lab.grad_h, lab.grad_c, lab.grad_h_init
        self.loss_curve.setData(it, loss)
        self.val_loss_curve.setData(ev, vl)
        self.acc_curve.setData(it, acc)
        self.val_acc_curve.setData(ev, va)
        try:
            self.chance_line.setValue(self.lab.config.make_task().chance)
        except TrainError:
            pass
        self.norm_before.setData(it, log10_safe(gb), connect="finite")
        self.norm_after.setData(it, log10_safe(ga), connect="finite")
        for curve, data in ((self.reach_curve, gh), (self.reach_c, gc), (self.reach_init, gh0)):
            if data is None:
                curve.setData([], [])
            else:
                curve.setData(np.arange(1, len(data) + 1), log10_safe(data), connect="finite")
        self._status()

    def drawn(self, name):
        """(x, y) of a named curve, for tests."""
        x, y = getattr(self, name).getData()
        return (np.zeros(0), np.zeros(0)) if x is None else (np.asarray(x), np.asarray(y))

