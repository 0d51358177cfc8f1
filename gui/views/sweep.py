"""The sweep: test accuracy against the gap G for RNN, LSTM and GRU (several seeds each: mean, and
every seed's run as a cross), and the gradient that reaches the first token, ‖∂ℓ/∂h₁‖, against G
at initialisation and after training. The runs go to a local process pool (every core), with a
progress bar; Cancel stops the worker processes within one iteration; results kept and exportable."""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from gatescope.core.training.train import TrainError
from PySide6.QtCore import Qt
from PySide6.QtGui import QFontMetricsF
from PySide6.QtWidgets import (
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from .. import dialogs, style
from ..wrapped_label import WrappedLabel
from .train import PlotFit, ScrollColumn, keep_decades, lab_axes, row_legend

CELLS = ("rnn", "lstm", "gru")


def parse_cells(text: str) -> tuple[str, ...]:
    cells = tuple(c for c in text.replace(" ", "").lower().split(",") if c)
    if not cells or any(c not in CELLS for c in cells):
        raise TrainError("Cells: write some of rnn, lstm, gru separated by commas")
    return tuple(dict.fromkeys(cells))


def parse_ints(text: str, what: str) -> tuple[int, ...]:
    try:
        values = tuple(int(v) for v in text.replace(" ", "").split(",") if v)
    except ValueError:
        raise TrainError(f"{what}: write whole numbers separated by commas, e.g. 5,10,20") from None
    if not values:
        raise TrainError(f"{what}: give at least one value")
    if any(v < 0 for v in values):
        raise TrainError(f"{what}: values must be ≥ 0")
    return values


class SweepView(QWidget):
    def __init__(self, lab, parent=None):
        super().__init__(parent)
        self.setObjectName("sweep_view")
        self.lab = lab
        self.theme = style.DEFAULT
        lay = QHBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        box = QGroupBox("Sweep")
        form = QFormLayout(box)
        form.setRowWrapPolicy(QFormLayout.DontWrapRows)
        self.gaps = QLineEdit("5,10,20,40,80,160")
        self.gaps.setObjectName("sweep_gaps")
        self.gaps.setToolTip("Gaps G to train at, comma-separated.")
        self.seeds = QLineEdit("0,1,2")
        self.seeds.setObjectName("sweep_seeds")
        self.seeds.setToolTip("Seeds: each (cell, gap) is trained once per seed and averaged, so the "
                              "trend is not one lucky run.")
        self.cells = QLineEdit(",".join(CELLS))
        self.cells.setObjectName("sweep_cells")
        self.cells.setToolTip("Cells to train, comma-separated: rnn, lstm, gru.")
        form.addRow("Gaps", self.gaps)
        form.addRow("Seeds", self.seeds)
        form.addRow("Cells", self.cells)
        row = QHBoxLayout()
        self.run_button = QPushButton("Run sweep")
        self.run_button.setObjectName("sweep_run")
        self.run_button.setToolTip(f"Train every (cell, gap, seed) with the Train tab's settings (chrono applies "
                                   f"to the gated cells only, IRNN to the RNN only), in {lab.sweep_workers} "
                                   f"processes.")
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setObjectName("sweep_cancel")
        self.export_button = QPushButton("Export…")
        self.export_button.setObjectName("sweep_export")
        for b in (self.run_button, self.cancel_button, self.export_button):
            row.addWidget(b)
        form.addRow(row)
        self.progress = QProgressBar()
        self.progress.setObjectName("sweep_progress")
        form.addRow(self.progress)
        self.status = WrappedLabel()
        self.status.setObjectName("sweep_status")
        form.addRow(self.status)
        left = QWidget()
        col = QVBoxLayout(left)
        col.setContentsMargins(0, 0, 0, 0)
        col.addWidget(box)
        col.addStretch(1)
        self.form_column = ScrollColumn(left, fit_width=True)
        self.form_column.setObjectName("sweep_form_column")
        lay.addWidget(self.form_column)
        self.graphs = pg.GraphicsLayoutWidget()
        self.plot_column = ScrollColumn(self.graphs)
        self.plot_column.setObjectName("sweep_plot_column")
        lay.addWidget(self.plot_column, 1)
        self.acc_plot = self.graphs.addPlot(row=0, col=0, axisItems=lab_axes(short_left="accuracy"))
        self.grad_plot = self.graphs.addPlot(row=0, col=1, axisItems=lab_axes("log10"))
        keep_decades(self.grad_plot)
        style.style_plot(self.acc_plot, left="test accuracy", bottom="gap G")
        style.style_plot(self.grad_plot, left="‖∂ℓ/∂h<sub>1</sub>‖", bottom="gap G")
        self.acc_plot.setTitle("mean over seeds (× each seed)")
        self.grad_plot.setTitle("start dashed, trained solid")
        self.acc_plot.setYRange(0, 1.02, padding=0)
        self.chance = pg.InfiniteLine(angle=0, movable=False, pen=style.pen("#888888", 1.5, Qt.DashLine))
        self.acc_plot.addItem(self.chance)
        self.acc_curves, self.acc_dots, self.grad_init, self.grad_final = {}, {}, {}, {}
        for kind in CELLS:
            color = style.KIND_COLORS[kind]
            self.acc_curves[kind] = self.acc_plot.plot(pen=style.pen(color, 2.5), symbol="o", symbolSize=8,
                                                       symbolBrush=color)
            self.acc_dots[kind] = self.acc_plot.plot(pen=None, symbol="x", symbolSize=7, symbolPen=color)
            self.grad_init[kind] = self.grad_plot.plot(pen=style.pen(color, 1.5, Qt.DashLine))
            self.grad_final[kind] = self.grad_plot.plot(pen=style.pen(color, 2.5), symbol="o", symbolSize=7,
                                                        symbolBrush=color)
        # under the plot, in a row of its own: never over a curve or a seed's cross
        self.legend = row_legend(self.acc_plot, [(self.acc_curves[kind], kind.upper()) for kind in CELLS])
        # side by side where the width holds both whole and readable, else one above the other
        self.plot_fit = PlotFit(self.plot_column, [(self.graphs, (self.acc_plot, self.grad_plot), 2)], self)
        self._gap_span = None                # (first, last) gap the x axes show
        self.gaps.textChanged.connect(self._frame_plots)
        for plot in (self.acc_plot, self.grad_plot):
            plot.vb.sigResized.connect(self._fit_gap_range)
        self._frame_plots(self.gaps.text())
        self.run_button.clicked.connect(self._run)
        self.cancel_button.clicked.connect(lab.cancel_sweep)
        self.export_button.clicked.connect(lambda: self.export())
        lab.sweep_state_changed.connect(self._on_state)
        lab.sweep_progress.connect(self._on_progress)
        lab.sweep_row.connect(lambda _: self.redraw())
        self._on_state(lab.sweep_state)
        self.apply_style(self.theme)

    def apply_style(self, theme=None):
        self.theme = theme or style.DEFAULT
        for plot in (self.acc_plot, self.grad_plot):     # ticks, labels and titles at the scale
            self.theme.restyle_axes(plot)
        self.legend.restyle(self.theme)
        self.plot_fit.fit(self.theme)
        self._fit_gap_range()                    # the room at the ends follows the tick font

    def _frame_plots(self, text):
        """The gap axis spans the gaps to sweep, also before any run (not 0…1)."""
        if self.lab.sweep_rows:              # results on screen: their own range stays
            return
        try:
            gaps = parse_ints(text, "Gaps")
        except (TrainError, ValueError, OverflowError):
            return
        if max(gaps) > 10**6:
            return
        self._gap_span = (min(gaps), max(max(gaps), min(gaps) + 1))
        self._fit_gap_range()

    def _fit_gap_range(self, *_):
        """Each x axis spans the gaps and, beyond the first and the last, room for half a tick
        label and a little more, in pixels: the end gaps are labelled at every width and scale (a
        4 % padding left a sweep of gaps 2 and 3 with no labels at ×2)."""
        if self._gap_span is None:
            return
        lo, hi = self._gap_span
        for plot in (self.acc_plot, self.grad_plot):
            ax, size = plot.getAxis("bottom"), plot.vb.width()
            if size <= 0:
                continue
            font = ax.style.get("tickFont")
            fm = QFontMetricsF(font if font is not None else ax.font())
            widest = max(fm.horizontalAdvance(t) for t in ("0000", str(lo), str(hi)))   # "0000": the axis' own guess
            pad = min(0.5 * widest + 4 + 0.03 * size, 0.3 * size)     # px at each end
            per_px = (hi - lo) / (size - 2 * pad)
            plot.setXRange(lo - pad * per_px, hi + pad * per_px, padding=0)

    def _run(self):
        try:
            gaps = parse_ints(self.gaps.text(), "Gaps")
            seeds = parse_ints(self.seeds.text(), "Seeds")
            self.lab.start_sweep(gaps, seeds, parse_cells(self.cells.text()))
        except TrainError as exc:
            dialogs.warn(self, str(exc))

    def _on_state(self, state):
        running = state == "running"
        self.run_button.setEnabled(not running and self.lab.state not in ("running", "paused"))
        self.cancel_button.setEnabled(running)
        self.export_button.setEnabled(bool(self.lab.sweep_rows) and not running)
        self.status.setText({"idle": "", "running": f"running in {self.lab.sweep_workers} processes…",
                             "finished": "finished",
                             "cancelled": "cancelled: the runs finished so far are kept"}[state])
        self.redraw()

    def _on_progress(self, done, total):
        self.progress.setRange(0, max(total, 1))
        self.progress.setValue(done)
        self.progress.setFormat(f"{done} / {total} runs")

    def redraw(self):
        summary = self.lab.sweep_summary()
        rows = self.lab.sweep_rows
        for kind in CELLS:
            s = [r for r in summary if r["cell"] == kind]
            g = np.array([r["gap"] for r in s], float)
            self.acc_curves[kind].setData(g, np.array([r["acc_mean"] for r in s]))
            dots = [r for r in rows if r["cell"] == kind]
            self.acc_dots[kind].setData(np.array([r["gap"] for r in dots], float),
                                        np.array([r["test_accuracy"] for r in dots]))
            for item, key in ((self.grad_init[kind], "log10_h1_init"), (self.grad_final[kind], "log10_h1_final")):
                y = np.array([r[key] for r in s], float)
                y[~np.isfinite(y)] = np.nan
                item.setData(g, y, connect="finite")
        if summary:
            self.chance.setValue(summary[0]["chance"])
        self.export_button.setEnabled(bool(rows) and self.lab.sweep_state != "running")

    def export(self, path=None):
        if not path:
            path, _ = QFileDialog.getSaveFileName(self, "Export sweep", "sweep.csv", "CSV (*.csv);;JSON (*.json)")
            if not path:
                return
        try:
            self.lab.export_sweep(path)
        except (OSError, ValueError) as exc:
            dialogs.warn(self, f"Cannot export the sweep: {exc}")
