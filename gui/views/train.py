"""Training lab: train an RNN, LSTM or GRU on France → French (or clouds → sky, or the adding
problem) and watch, live, the loss and accuracy, how far back the gradient reaches (‖∂ℓ/∂h_k‖ and
its share ‖∂ℓ/∂h_k‖/‖∂ℓ/∂h_T‖ against k, log scale), the gradient norm before and after clipping,
and where ∂ℓ/∂W_hh comes from (each step's contribution, RNNbow). Step runs one batch in slow
motion: its forward pass, its backward pass and the update, drawn one phase after the other.

The form is built from core.training.fields.TRAIN_FIELDS (ranges, defaults, choices, help)."""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from gatescope.core.training.contributions import explain_reach
from gatescope.core.training.fields import TRAIN_FIELD, TrainError
from PySide6.QtCore import QEvent, QObject, QSize, Qt, QTimer, Signal
from PySide6.QtGui import QFontMetrics, QFontMetricsF
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QFrame,
    QGroupBox,
    QHBoxLayout,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QSpinBox,
    QStyle,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from .. import dialogs, style
from ..wrapped_label import WrappedLabel
from .axes import PowerOfTenAxis, ReadableAxis, fit_legend_columns, fitting_label, label_room, show_label_html

REDRAW_MS = 80
#: How long each phase of a Step stays on screen before the next one is drawn.
PHASE_MS = 700
PHASES = ("forward", "backward", "update")
#: The lab's headline, above its form and plots: the question, as measured.
HEADLINE = ("Training lab: does a plain RNN fail where an LSTM / GRU learns "
            "“I grew up in France… I speak fluent [French]”?")
#: What the sweeps measured (benchmarks/training_results.md), said plainly, under the headline.
MEASURED = ("Measured over 10 seeds: without a curriculum, at gaps 80 and 160, chrono-initialised LSTMs and "
            "GRUs learn (19 and 20 of 20 seeds) while the plain RNN learns only 5 of 20 — the notes' claim, "
            "in the mean. At gap 40 the RNN learns 7 of 10 seeds even without a curriculum, and with the "
            "curriculum (the default) it learns 25 of 30 seeds over gaps 40–160 by latching the country "
            "in saturated units. Try it: the Sweep tab runs any of these.")

FORM = ("task", "gap", "cell", "nonlinearity", "convention", "init", "hidden", "optimizer", "lr",
        "clip", "iters", "seed", "curriculum")
LABELS = {"task": "Task", "gap": "Gap G", "cell": "Cell", "nonlinearity": "RNN φ", "convention": "GRU form",
          "init": "Initialisation", "hidden": "Hidden n", "optimizer": "Optimiser", "lr": "Learning rate",
          "clip": "Clip at", "iters": "Iterations", "seed": "Seed"}
CHOICE_LABELS = {
    "task": {"france": "France → French (long gap)", "clouds": "clouds → sky (short gap)",
             "adding": "adding problem"},
    "cell": {"rnn": "RNN", "lstm": "LSTM", "gru": "GRU"},
    "convention": {"pytorch": "PyTorch / Keras", "seed": "the notes' (seed)"},
    "init": {"default": "PyTorch default", "chrono": "chrono (gate biases)", "irnn": "IRNN (ReLU, W = I)",
             "orthogonal": "orthogonal W_hh"},
    "optimizer": {"adam": "Adam", "sgd": "SGD"},
}
TIPS = {
    "task": "France → French: remember the country at the start across G distractor tokens; chance "
            "= 1/K. clouds → sky: the short-gap contrast. Adding: Hochreiter & Schmidhuber's two "
            "marked numbers (IRNN's test in Le, Jaitly & Hinton 2015).",
    "gap": "Gap G: distractor tokens between the key word and 'I speak fluent' (adding: the length).",
    "convention": "GRU equations: PyTorch's h' = (1−z)⊙n + z⊙h, or the notes' hₜ = (1−z)⊙hₜ₋₁ + z⊙h̃ "
                  "(r applied before the matmul).",
    "init": "PyTorch default: U(±1/√n), LSTM forget bias 1. Chrono (Tallec & Ollivier 2018): gate "
            "biases log U[1, T−1], so the gates' forgetting times 1/(1−σ(b)) spread over [2, T]. IRNN "
            "(Le, Jaitly & Hinton 2015): a ReLU RNN with W_hh = I. Orthogonal: every W_hh block "
            "orthogonal, all singular values 1.",
    "clip": "Gradient clipping threshold (notes §3.1): if ‖ĝ‖ ≥ threshold then ĝ ← threshold/‖ĝ‖ · ĝ. 0 = off.",
}
DECIMALS = {"lr": 6, "clip": 2, "forget_bias": 2, "curriculum_threshold": 2, "stop_accuracy": 2}
STEPS = {"lr": 0.001, "clip": 0.5, "forget_bias": 0.5}


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


def field_widget(name: str):
    """A widget for TRAIN_FIELD[name]: a combo box (choices), a check box (bool) or a spin box
    whose range is the field's [lo, hi]. objectName train_<name>; tooltip from the field's help."""
    f = TRAIN_FIELD[name]
    if f.choices is not None:
        w = QComboBox()
        w.setSizeAdjustPolicy(QComboBox.AdjustToContents)      # its longest item whole, at every scale
        labels = CHOICE_LABELS.get(name, {})
        for c in f.choices:
            w.addItem(labels.get(c, str(c)), c)
    elif f.type is bool:
        w = QCheckBox("curriculum (start short, grow the gap)" if name == "curriculum" else f.help)
    elif f.type is int:
        w = QSpinBox()
        w.setRange(int(f.lo), int(f.hi))
    else:
        w = QDoubleSpinBox()
        w.setDecimals(DECIMALS.get(name, 3))
        w.setSingleStep(STEPS.get(name, 0.1))
        w.setRange(float(f.lo), float(f.hi))
        if name == "clip":
            w.setSpecialValueText("off")
    w.setObjectName(f"train_{name}")
    w.setToolTip(TIPS.get(name, f.help[:1].upper() + f.help[1:] + "."))
    return w


def coherent(config, changes: dict) -> dict:
    """The form's changes plus what they imply: IRNN is a ReLU RNN (choosing it sets both); a
    cell or activation that IRNN or chrono cannot have sets the initialisation back to default."""
    out = dict(changes)
    if changes.get("init") == "irnn":
        out.update(cell="rnn", nonlinearity="relu")
        return out
    new = config.replace(**out)
    if "init" not in changes and ((new.init == "irnn" and (new.cell != "rnn" or new.nonlinearity != "relu"))
                                  or (new.init == "chrono" and new.cell == "rnn")):
        out["init"] = "default"
    return out


class LabelRoom:
    """An axis whose label sits beside its tick labels, never on them. pyqtgraph leaves the label
    0.8 of its bounding rectangle across the axis and puts it 5 px beyond the axis' outer edge: at
    ×2 the text reached into the tick labels ("step k" touched them, a left label sat on "10⁰").
    Here the axis holds the label's whole text, flush with its outer edge, and a gap of a quarter
    of a tick label's height between it and the ticks. Where the label runs longer than the axis
    (a short plot at ×2, by axes.fitting_label: the rule of every view's axes), the axis shows
    `short_label` instead, when it has one; its labelText stays the long one (a restyle sets it
    again, the choice is made again at the next resize)."""

    short_label = ""
    _shows_short = False

    def _tick_font_px(self) -> float:
        font = self.style.get("tickFont")
        return QFontMetricsF(font if font is not None else self.font()).height()

    def _label_room(self) -> float:
        """The label's text height across the axis and the gap to the tick labels."""
        m = self.label.document().documentMargin()
        return self.label.boundingRect().height() - 2 * m + max(3.0, 0.25 * self._tick_font_px())

    def _base_size(self, across: int) -> float:
        """pyqtgraph's width (across 0) or height (1) of the axis without its label: the tick
        text, its offset and the tick length."""
        if not self.style["showValues"]:
            return 0.0
        text = (self.textWidth, self.textHeight)[across] if self.style["autoExpandTextSpace"] \
            else self.style[("tickTextWidth", "tickTextHeight")[across]]
        return text + self.style["tickTextOffset"][across] + max(0, self.style["tickLength"])

    def _hold_size(self, across: int, set_min, set_max):
        """Fix the axis' width (across 0) or height (1): its tick part and, when shown, the
        label's room."""
        size = self._base_size(across) + (self._label_room() if self.label.isVisible() else 0.0)
        set_max(size)
        set_min(size)
        self.picture = None

    def _updateWidth(self):                      # noqa: N802 (pyqtgraph's name)
        if self.fixedWidth is not None or not self.isVisible():
            return super()._updateWidth()
        self._hold_size(0, self.setMinimumWidth, self.setMaximumWidth)

    def _updateHeight(self):                     # noqa: N802 (pyqtgraph's name)
        if self.fixedHeight is not None or not self.isVisible():
            return super()._updateHeight()
        self._hold_size(1, self.setMinimumHeight, self.setMaximumHeight)

    def labelString(self):                       # noqa: N802 (pyqtgraph's name)
        if not (self._shows_short and self.short_label):
            return super().labelString()
        long = self.labelText
        self.labelText = self.short_label
        try:
            return super().labelString()
        finally:
            self.labelText = long

    def resizeEvent(self, ev=None):              # noqa: N802 (Qt's name)
        if self.label is None:
            return super().resizeEvent(ev)
        if self.short_label and label_room(self) > 0:    # the views' one rule (axes.fitting_label)
            short = fitting_label(self, (self.labelText, self.short_label)) != self.labelText
            if short != self._shows_short:
                self._shows_short = short
                show_label_html(self, self.labelString())
        super().resizeEvent(ev)
        br, m = self.label.boundingRect(), self.label.document().documentMargin()
        if self.orientation == "left":           # rotated: its text from the axis' left edge
            self.label.setPos(-m, int(self.size().height() / 2 + br.width() / 2))
        elif self.orientation == "bottom":       # its text ending at the axis' bottom edge
            self.label.setPos(int(self.size().width() / 2 - br.width() / 2), self.size().height() - br.height() + m)


class LabAxis(LabelRoom, ReadableAxis):
    """A ReadableAxis whose label keeps clear of its ticks (LabelRoom)."""


class LabPowerAxis(LabelRoom, PowerOfTenAxis):
    """A PowerOfTenAxis whose label keeps clear of its ticks (LabelRoom)."""


class ParamAxis(LabAxis):
    """The update plot's x axis: one tick per parameter at 0, 1, …, labelled with its name (W_ih,
    b_out). On one line where every name fits its slot with a gap, else on two (W over ih): at
    ×2 "W_out" and "b_out" ran into each other. The axis is never narrower than the two-line
    names need, so the lab's layout gives it that room (fewer columns of plots)."""

    def __init__(self):
        super().__init__("bottom", integer=True)
        self.names: list[str] = []
        self._two_lines = False

    def _metrics(self) -> QFontMetricsF:
        font = self.style.get("tickFont")
        return QFontMetricsF(font if font is not None else self.font())

    def _need(self, two_lines: bool) -> float:
        """A slot's width for the widest name (on one or two lines) and the gap after it."""
        fm = self._metrics()
        names = self.names or ["W_out"]                 # the widest of every cell's parameters
        texts = [t for n in names for t in (self._split(n).split("\n") if two_lines else [n])]
        return max(fm.horizontalAdvance(t) for t in texts) + 0.8 * fm.horizontalAdvance("0")

    @staticmethod
    def _split(name: str) -> str:
        return "\n".join(name.split("_", 1))

    def _fit_minimum(self):
        self.setMinimumWidth(int(max(len(self.names), 6) * self._need(True) + 1))

    def set_names(self, names):
        names = list(names)
        if names != self.names:
            self.names = names
            self._fit_minimum()
            self.picture = None
            self.update()

    def setTickFont(self, font):                 # noqa: N802 (pyqtgraph's name)
        super().setTickFont(font)
        self._fit_minimum()

    def tickValues(self, minVal, maxVal, size):
        if not self.names or size <= 0 or not maxVal > minVal:
            return []
        self._two_lines = self._need(False) > size / (maxVal - minVal)
        return [(1.0, [float(k) for k in range(len(self.names)) if minVal <= k <= maxVal])]

    def tickStrings(self, values, scale, spacing):
        names = [self.names[int(round(v))] if 0 <= int(round(v)) < len(self.names) else "" for v in values]
        return [self._split(n) for n in names] if self._two_lines else names


#: The narrowest span, in decades, of a lab plot on a power-of-ten axis: three of 1, 2, 5 × 10ᵏ
#: fit in any 1.5 decades at the lab's smallest plot height (a nearly flat ‖g‖ left one label)
MIN_DECADES = 1.5


def lab_axes(left: str = "linear", short_left: str = "", short_bottom: str = "") -> dict:
    """axisItems for a lab plot: a LabAxis or (left="log10") a LabPowerAxis on the left, a
    whole-number LabAxis at the bottom; each with the short label it shows when its own is
    longer than the axis."""
    axes = {"left": LabPowerAxis("left") if left == "log10" else LabAxis("left"),
            "bottom": LabAxis("bottom", integer=True)}
    axes["left"].short_label, axes["bottom"].short_label = short_left, short_bottom
    return axes


def keep_decades(plot: pg.PlotItem, decades: float = MIN_DECADES):
    """A plot on a power-of-ten axis never spans fewer than `decades` (a flat curve, a narrow
    band of bars): it always shows three labelled ticks."""
    plot.vb.setLimits(minYRange=decades)


#: The smallest data area the lab's plots get, in pixels (a little more at larger scales): where
#: the width does not hold them (and their titles and axes whole), the plots move to fewer
#: columns and more rows, and the column scrolls.
MIN_PLOT_HEIGHT = 150
MIN_PLOT_WIDTH = 160


class ScrollColumn(QScrollArea):
    """A column that scrolls up and down, never sideways: its content keeps its natural size (a
    form's rows their heights, a combo box its longest item). With fit_width the column is as wide
    as its content asks (plus the scroll bar), following a font or scale change."""

    def __init__(self, content: QWidget, fit_width: bool = False, parent=None):
        super().__init__(parent)
        self.fit_width = fit_width
        self.setWidgetResizable(True)
        self.setFrameShape(QFrame.NoFrame)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarAlwaysOff)
        self.setWidget(content)
        content.installEventFilter(self)

    def eventFilter(self, obj, event):
        if obj is self.widget() and event.type() == QEvent.LayoutRequest:
            self.updateGeometry()           # the content's size hint changed: so does the column's
        return super().eventFilter(obj, event)

    def _fit(self, hint: QSize) -> QSize:
        if self.fit_width and self.widget() is not None:
            bar = self.style().pixelMetric(QStyle.PM_ScrollBarExtent, None, self)
            hint.setWidth(self.widget().sizeHint().width() + bar + 2 * self.frameWidth())
        return hint

    def sizeHint(self):
        return self._fit(super().sizeHint())

    def minimumSizeHint(self):
        return self._fit(super().minimumSizeHint())


def plot_overhead(theme) -> int:
    """Pixels of a plot that are not data: its title, the bottom axis' ticks and label, margins."""
    tick = QFontMetrics(theme.font(-1)).height()
    label = QFontMetrics(theme.font(0)).height()
    return 30 + tick + label + 24


def min_plot_height(theme) -> int:
    """The shortest row of plots: MIN_PLOT_HEIGHT of data (a little more at ×1.5, ×2) and the rest."""
    return int(MIN_PLOT_HEIGHT * max(1.0, theme.scale ** 0.5)) + plot_overhead(theme)


def min_plot_width(theme) -> int:
    """The narrowest column of plots: MIN_PLOT_WIDTH of data, the left axis' tick labels and label."""
    ticks = QFontMetrics(theme.font(-1)).horizontalAdvance("0.000")
    return MIN_PLOT_WIDTH + ticks + QFontMetrics(theme.font(0)).height() + 20


class RowLegend(pg.LegendItem):
    """A plot's legend in a row of its own under the plot (arrange() puts it there), never over
    its curves: its text at the theme's legend size, a gap after each entry, and its place and
    size the layout's. pyqtgraph's legend moves itself to (0, 0) at its new size whenever its
    entries or columns change, which suits a legend floating over a plot; this one asks its
    layout instead."""

    def __init__(self, theme=None):
        theme = theme or style.DEFAULT
        super().__init__(verSpacing=-4, labelTextSize=theme.legend_size())
        self.gap = round(12 * theme.scale)
        # as tall as its entries and no wider: centred under its plot, the row never stretched
        self.setSizePolicy(QSizePolicy.Maximum, QSizePolicy.Fixed)

    def restyle(self, theme):
        """The text drawn at the theme's legend size now (setLabelTextSize only records the size
        for labels made later) and the gaps at its scale."""
        self.gap = round(12 * theme.scale)
        self.setLabelTextSize(theme.legend_size())
        for _, label in self.items:
            label.setText(label.text)
        self.updateSize()

    def _addItemToLayout(self, sample, label):
        # entry i in row i // columns, column i % columns. pyqtgraph's own placing reads the grid's
        # row and column counts, which stay at their old values after a change of columns
        # empties the grid: its entries landed in columns beyond the new count
        i = next(k for k, (s, _) in enumerate(self.items) if s is sample)
        row, col = divmod(i, max(1, self.columnCount))
        self.layout.addItem(sample, row, 2 * col, alignment=Qt.AlignVCenter)
        self.layout.addItem(label, row, 2 * col + 1)
        self.rowCount = max(self.rowCount, row + 1)

    def mouseDragEvent(self, ev):
        ev.ignore()                 # its place is its row's: not dragged over the plot

    def updateSize(self):
        # the gap after each label, set again each time: the layout forgets a column's spacing
        # when a change of columns empties the column
        for c in range(1, self.layout.columnCount(), 2):
            if self.layout.columnSpacing(c) != self.gap:
                self.layout.setColumnSpacing(c, self.gap)
        self.updateGeometry()


def row_legend(plot: pg.PlotItem, entries, theme=None) -> RowLegend:
    """A RowLegend for `plot` (entries: (item, name) pairs). It is the plot's `legend`, so a curve
    later plotted with a name joins it and the theme's restyle of the plot finds it."""
    legend = RowLegend(theme)
    for item, name in entries:
        legend.addItem(item, name)
    plot.legend = legend
    return legend


def legend_of(plot) -> RowLegend | None:
    """The plot's RowLegend, or None."""
    legend = getattr(plot, "legend", None)
    return legend if isinstance(legend, RowLegend) else None


def legend_need(legend, theme) -> float:
    """The narrowest width that holds the legend in one column, its labels at the theme's legend
    size: fit_legend_columns' measure of an entry (sample, label, spacing) and its margin."""
    if legend is None or not legend.items:
        return 0.0
    fm = QFontMetricsF(theme.font(-1))
    return max(sample.boundingRect().width() + 40 + 1.08 * fm.horizontalAdvance(label.text)
               for sample, label in legend.items) + 16


def grid_width(plots, columns: int, floor: int = 0, theme=None) -> float:
    """The narrowest width the plots take in rows of `columns`: each column as wide as its widest
    plot needs (its title and axes whole, its legend in one column) and at least `floor`."""
    theme = theme or style.DEFAULT
    widths = [max(floor, p.effectiveSizeHint(Qt.MinimumSize).width(), legend_need(legend_of(p), theme))
              for p in plots]
    return sum(max(widths[c::columns]) for c in range(min(columns, len(plots)))) + 4 * columns


def columns_for(plots, width: float, floor: int, most: int = 3, theme=None) -> int:
    """The most columns (≤ most) whose plots fit `width` whole and readable; at least one."""
    for columns in range(most, 1, -1):
        if grid_width(plots, columns, floor, theme) <= width:
            return columns
    return 1


def grid_rows(plots, columns: int):
    """The plots in rows of `columns`, each row [(plot, its legend or None)]."""
    return [[(p, legend_of(p)) for p in plots[i:i + columns]] for i in range(0, len(plots), columns)]


def arrange(graphs: pg.GraphicsLayoutWidget, plots, columns: int) -> int:
    """Lay the plots out in rows of `columns` (in order), each plot's row legend in a row of its
    own under the plot's row, in the plot's column; the number of rows of plots."""
    ci = graphs.ci
    plots = list(plots)
    want, legend_rows, row = {}, [], 0
    for line in grid_rows(plots, columns):
        for c, (p, legend) in enumerate(line):
            want[p] = [(row, c)]
            if legend is not None:
                want[legend] = [(row + 1, c)]
        if any(legend is not None for _, legend in line):
            legend_rows.append(row + 1)
            row += 2
        else:
            row += 1
    if any(ci.items.get(item) != where for item, where in want.items()):
        for item in want:
            if item in ci.items:
                ci.removeItem(item)
        ci.rows.clear()
        for item, [(r, c)] in want.items():
            ci.addItem(item, row=r, col=c)
            if r in legend_rows:
                ci.layout.setAlignment(item, Qt.AlignHCenter | Qt.AlignTop)
        for r in range(row):             # the plots take the room to spare, the legends none
            ci.layout.setRowStretchFactor(r, 0 if r in legend_rows else 1)
    return -(-len(plots) // columns)


class PlotFit(QObject):
    """Keeps groups of plots in a scroll column whole and readable: as many columns as the column's
    width holds (every title and axis whole, the data area at least min_plot_width), rows at least
    min_plot_height tall. Refits when the column is resized and when a plot's own minimum size
    changes (an axis widened by new tick labels), so a plot never runs out of its view."""

    def __init__(self, column: QScrollArea, groups, parent=None):
        super().__init__(parent)
        self.column = column
        self.groups = groups                # [(GraphicsLayoutWidget, plots, most columns)]
        self.theme = style.DEFAULT
        self._columns = {}                  # id(GraphicsLayoutWidget) → its plots' columns
        self._later = QTimer(self)
        self._later.setSingleShot(True)
        self._later.setInterval(0)
        self._later.timeout.connect(self.fit)
        # a legend's columns follow its plot's width, once the layout has placed the plot (a
        # legend changed while its layout is being laid out keeps its old entries' places)
        self._legends_later = QTimer(self)
        self._legends_later.setSingleShot(True)
        self._legends_later.setInterval(0)
        self._legends_later.timeout.connect(self.fit_legends)
        column.installEventFilter(self)
        for graphs, plots, _ in groups:
            graphs.ci.installEventFilter(self)
            for p in plots:
                if legend_of(p) is not None:
                    p.geometryChanged.connect(self._legends_later.start)

    def eventFilter(self, obj, event):
        if obj is self.column and event.type() == QEvent.Resize:
            self.fit()
        elif event.type() == QEvent.LayoutRequest and obj is not self.column:
            self._later.start()
        return False

    def _fit_legend(self, plot, width):
        legend = legend_of(plot)
        if legend is not None and width > 0:
            fit_legend_columns(legend, width, self.theme.font(-1))

    def fit_legends(self):
        """Each legend in as many columns as its plot's width holds."""
        for _, plots, _ in self.groups:
            for p in plots:
                self._fit_legend(p, p.width())

    def fit(self, theme=None):
        self.theme = theme or self.theme
        bar = self.column.style().pixelMetric(QStyle.PM_ScrollBarExtent, None, self.column)
        width = self.column.width() - bar - 16
        floor, height = min_plot_width(self.theme), min_plot_height(self.theme)
        for graphs, plots, most in self.groups:
            columns = columns_for(plots, width, floor, most, self.theme)
            placed = self._columns.get(id(graphs)) == columns      # the plots have their widths
            self._columns[id(graphs)] = columns
            rows = arrange(graphs, plots, columns)
            # the layout fills its view again: a restyle before the new arrangement made the old
            # one wider than the view, and the layout kept that width once it could shrink
            if graphs.ci.geometry() != graphs.range:
                graphs.ci.setGeometry(graphs.range)
            # each legend in as many columns as its plot's width holds: the plot's own, or in a
            # new arrangement the width the layout will give it (its column's need and an even
            # share of the rest); and the legends' rows on top of the plots' own
            spare = max(0.0, width - grid_width(plots, columns, floor, self.theme)) / columns
            legends, legend_rows = 0.0, 0
            for line in grid_rows(list(plots), columns):
                tallest = None
                for c, (p, legend) in enumerate(line):
                    if legend is not None:
                        self._fit_legend(p, p.width() if placed and p.width() > 0 else
                                         grid_width(plots[c::columns], 1, floor, self.theme) - 4 + spare)
                        tallest = max(tallest or 0.0, legend.effectiveSizeHint(Qt.PreferredSize).height())
                if tallest is not None:
                    legends, legend_rows = legends + tallest, legend_rows + 1
            # and the layout's own margins and the spacing between its rows
            _, top, _, bottom = graphs.ci.layout.getContentsMargins()
            between = graphs.ci.layout.verticalSpacing() * (rows + legend_rows - 1)
            graphs.setMinimumHeight(int(rows * height + legends + top + bottom + between + 0.999))


class TrainView(QWidget):
    phase_changed = Signal(str)          # "forward" | "backward" | "update": the Step being drawn

    def __init__(self, lab, parent=None):
        super().__init__(parent)
        self.setObjectName("train_view")
        self.lab = lab
        self.theme = style.DEFAULT
        self.phase_ms = PHASE_MS
        self.step_phase = None
        self._record = None
        self._phase_lines = []
        self._drawn_version = -1
        outer = QVBoxLayout(self)
        outer.setContentsMargins(4, 4, 4, 4)
        self.title = WrappedLabel(HEADLINE)
        self.title.setObjectName("train_title")
        outer.addWidget(self.title)
        lay = QHBoxLayout()
        outer.addLayout(lay, 1)
        # left: the form, its buttons and what the sweeps measured, scrolled as one column
        left = QWidget()
        lc = QVBoxLayout(left)
        lc.setContentsMargins(0, 0, 0, 0)
        lc.addWidget(self._controls())
        self.headline = WrappedLabel(MEASURED)
        self.headline.setObjectName("train_headline")
        self.headline.setSizePolicy(QSizePolicy.Ignored, QSizePolicy.Preferred)   # wraps to the form's width
        lc.addWidget(self.headline)
        lc.addStretch(1)
        self.form_column = ScrollColumn(left, fit_width=True)
        self.form_column.setObjectName("train_form_column")
        lay.addWidget(self.form_column)
        # right: what the run did, then its plots; scrolled when the plots need more room
        right_page = QWidget()
        right = QVBoxLayout(right_page)
        right.setContentsMargins(0, 0, 0, 0)
        right.addWidget(self.status)
        self.explain = WrappedLabel()
        self.explain.setObjectName("train_explain")
        right.addWidget(self.explain)
        self.tabs = QTabWidget()
        self.tabs.setObjectName("train_tabs")
        self.graphs = pg.GraphicsLayoutWidget()
        self.step_graphs = pg.GraphicsLayoutWidget()
        step_page = QWidget()
        sl = QVBoxLayout(step_page)
        sl.setContentsMargins(0, 0, 0, 0)
        self.phase_label = WrappedLabel("Press <b>Step</b>: one batch, drawn as its forward pass, its backward "
                                        "pass and the update.")
        self.phase_label.setObjectName("train_phase")
        sl.addWidget(self.phase_label)
        sl.addWidget(self.step_graphs, 1)
        self.tabs.addTab(self.graphs, "Run")
        self.tabs.addTab(step_page, "One step")
        right.addWidget(self.tabs, 1)
        self.plot_column = ScrollColumn(right_page)
        self.plot_column.setObjectName("train_plot_column")
        lay.addWidget(self.plot_column, 1)
        self._plots()
        self._step_plots()
        self.plot_fit = PlotFit(self.plot_column, [(self.graphs, self.run_plots, 3),
                                                   (self.step_graphs, self.phase_plots, 3)], self)
        self.timer = QTimer(self)
        self.timer.setInterval(REDRAW_MS)
        self.timer.timeout.connect(self.redraw)
        self.phase_timer = QTimer(self)
        self.phase_timer.setSingleShot(True)
        self.phase_timer.timeout.connect(self._next_phase)
        lab.state_changed.connect(self._on_state)
        lab.config_changed.connect(self.sync)
        lab.run_finished.connect(self._on_finished)
        lab.step_done.connect(self.show_step)
        lab.model_changed.connect(self._enable_model_buttons)
        lab.error.connect(lambda msg, details: dialogs.warn(self, msg, details))
        self.sync(lab.config)
        self._on_state(lab.state)
        self.apply_style(self.theme)

    @property
    def run_plots(self):
        return (self.loss_plot, self.acc_plot, self.norm_plot, self.reach_plot, self.share_plot, self.contrib_plot)

    @property
    def phase_plots(self):
        return (self.fwd_plot, self.bwd_plot, self.upd_plot)

    # -- controls --------------------------------------------------------------------------------
    def _controls(self):
        box = QGroupBox("Run")
        form = QFormLayout(box)
        form.setFieldGrowthPolicy(QFormLayout.AllNonFixedFieldsGrow)
        form.setRowWrapPolicy(QFormLayout.DontWrapRows)
        self.fields = {}
        for name in FORM:
            w = field_widget(name)
            self.fields[name] = w
            setattr(self, name, w)
            if isinstance(w, QComboBox):
                w.currentIndexChanged.connect(lambda _, n=name, w=w: self._set(**{n: w.currentData()}))
            elif isinstance(w, QCheckBox):
                w.toggled.connect(lambda on, n=name: self._set(**{n: bool(on)}))
            elif isinstance(w, QSpinBox):
                w.valueChanged.connect(lambda v, n=name: self._set(**{n: int(v)}))
            else:
                w.valueChanged.connect(lambda v, n=name: self._set(**{n: float(v)}))
            if isinstance(w, QCheckBox):
                form.addRow(w)
            else:
                form.addRow(LABELS[name], w)
        form.addRow(self._buttons())
        self.status = WrappedLabel()
        self.status.setObjectName("train_status")
        self.status.setTextFormat(Qt.RichText)
        self.status.setFont(style.font(1))
        self.control_widgets = list(self.fields.values())
        return box

    def _button(self, text, name, slot, tip=""):
        b = QPushButton(text)
        b.setObjectName(name)
        b.clicked.connect(slot)
        if tip:
            b.setToolTip(tip)
        return b

    def _buttons(self):
        box = QWidget()
        col = QVBoxLayout(box)
        col.setContentsMargins(0, 0, 0, 0)
        row1, row2, row3 = QHBoxLayout(), QHBoxLayout(), QHBoxLayout()
        self.start_button = self._button("Start", "train_start", self._start)
        self.pause_button = self._button("Pause", "train_pause", self._pause)
        self.stop_button = self._button("Stop", "train_stop", self.lab.stop)
        self.reset_button = self._button("Reset", "train_reset", self.lab.reset)
        self.step_button = self._button("Step", "train_step", self._step,
                                        "Run one batch in slow motion: its forward pass, its backward "
                                        "pass and the update, one after the other (One step tab).")
        self.save_button = self._button("Save weights…", "train_save", lambda: self.save_weights(),
                                        "Save the trained model as one .npz: the cell (PyTorch's names), "
                                        "its readout and the task's words, which File → Open weights and "
                                        "`simulate --weights` open with its predictions.")
        self.explore_button = self._button("Open in Explore", "train_explore", self.lab.send_to_explore,
                                           "Show the trained model in Explore on the task's sentence: its "
                                           "gates, states, gradient flow and predicted word at every step.")
        for b in (self.start_button, self.pause_button, self.stop_button, self.reset_button):
            row1.addWidget(b)
        row2.addWidget(self.step_button)
        for b in (self.save_button, self.explore_button):
            row3.addWidget(b)
        for row in (row1, row2, row3):
            col.addLayout(row)
        return box

    def _set(self, **changes):
        if "clip" in changes and changes["clip"] == 0:
            changes["clip"] = None
        try:
            self.lab.update(**coherent(self.lab.config, changes))
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
        for plot in (self.reach_plot, self.share_plot, self.contrib_plot):
            plot.setXRange(1, max(length, 2), padding=0.02)

    def sync(self, c):
        self._frame_plots(c)
        for w in self.control_widgets:
            w.blockSignals(True)
        try:
            for name, w in self.fields.items():
                value = getattr(c, name)
                if isinstance(w, QComboBox):
                    w.setCurrentIndex(max(0, w.findData(value)))
                elif isinstance(w, QCheckBox):
                    w.setChecked(bool(value))
                elif name == "gap":
                    w.setValue(c.make_task().gap)
                else:
                    w.setValue(value or 0)
        finally:
            for w in self.control_widgets:
                w.blockSignals(False)
        self._enable_controls(self.lab.state in ("running", "paused"))

    def _enable_controls(self, running: bool):
        c = self.lab.config
        for w in self.control_widgets:
            w.setEnabled(not running)
        self.convention.setEnabled(not running and c.cell == "gru")
        self.nonlinearity.setEnabled(not running and c.cell == "rnn")

    def _start(self):
        try:
            self.lab.start()
        except TrainError as exc:
            dialogs.warn(self, str(exc))

    def _step(self):
        try:
            self.lab.step()
        except TrainError as exc:
            dialogs.warn(self, str(exc))
            return
        self.tabs.setCurrentIndex(1)

    def _pause(self):
        (self.lab.resume if self.lab.state == "paused" else self.lab.pause)()

    def _enable_model_buttons(self):
        idle = self.lab.state not in ("running",)
        has = self.lab.trained_cell() is not None
        self.save_button.setEnabled(idle and has)
        self.explore_button.setEnabled(idle and has)

    def _on_state(self, state):
        running = state in ("running", "paused")
        self.start_button.setEnabled(not running)
        self.pause_button.setEnabled(running)
        self.pause_button.setText("Resume" if state == "paused" else "Pause")
        self.stop_button.setEnabled(running)
        self._enable_controls(running)
        self._enable_model_buttons()
        if state == "running":
            self.timer.start()
        else:
            self.timer.stop()
            self.redraw()
        self._status()

    def _on_finished(self, summary):
        self.redraw()
        self._status()

    def save_weights(self, path=None):
        if not path:
            path, _ = QFileDialog.getSaveFileName(self, "Save the trained model", "trained_model.npz",
                                                  "Gatescope model (*.npz)")
            if not path:
                return None
        try:
            return self.lab.save_weights(path)
        except (OSError, ValueError) as exc:            # TrainError, ModelError: one line
            dialogs.warn(self, f"Cannot save the weights: {getattr(exc, 'strerror', None) or exc}")
            return None

    def _status(self):
        lab = self.lab
        s = lab.summary
        if s is not None and lab.state in ("finished", "stopped"):
            self.status.setText(
                f"<b>{'Stopped' if lab.state == 'stopped' else 'Done'}</b> after {s['iterations']} "
                f"iterations, {s['seconds']:.1f} s · test accuracy <b>{s['test_accuracy']:.1%}</b> "
                f"(chance {s['chance']:.1%}) · test loss {s['test_loss']:.4f} · "
                f"‖∂ℓ/∂h₁‖ {_pow10(s['grad_h1_init'])} at start → {_pow10(s['grad_h1_final'])} trained")
            self._set_explain(explain_reach(s))
        elif lab.iterations:
            it = lab.iterations[-1]
            va = f", validation accuracy {lab.val_accuracy[-1]:.1%}" if lab.val_accuracy else ""
            self.status.setText(f"{lab.state}: iteration {it} / {lab.config.iters}, gap {lab.gaps[-1]}{va}")
            self._set_explain("")
        else:
            self.status.setText("Choose the settings and press <b>Start</b> (or <b>Step</b> for one batch "
                                "in slow motion)." if lab.state == "idle" else lab.state)
            self._set_explain("")

    def _set_explain(self, text: str):
        """The finished run's explanation; no empty line above the plots before it."""
        if text != self.explain.text():
            self.explain.setText(text)
        self.explain.setVisible(bool(text))

    # -- plots -----------------------------------------------------------------------------------
    def _plots(self):
        g = self.graphs
        # readable axes: at least three labelled ticks wherever three fit (at ×2 pyqtgraph's own
        # showed two on these narrow plots: "500 1000")
        self.loss_plot = g.addPlot(row=0, col=0, axisItems=lab_axes())
        self.acc_plot = g.addPlot(row=0, col=1, axisItems=lab_axes())
        self.norm_plot = g.addPlot(row=0, col=2, axisItems=lab_axes("log10"))
        self.reach_plot = g.addPlot(row=1, col=0, axisItems=lab_axes("log10", short_bottom="step k"))
        self.share_plot = g.addPlot(row=1, col=1, axisItems=lab_axes("log10", short_left="share"))
        self.contrib_plot = g.addPlot(row=1, col=2, axisItems=lab_axes("log10"))
        for p in (self.norm_plot, self.reach_plot, self.share_plot, self.contrib_plot):
            keep_decades(p)
        for p, left, bottom, title in (
                (self.loss_plot, "loss", "iteration", "loss"),
                (self.acc_plot, "accuracy", "iteration", "accuracy (chance dashed)"),
                (self.norm_plot, "‖g‖", "iteration", "‖g‖ before and after clipping"),
                (self.reach_plot, "‖∂ℓ/∂h<sub>k</sub>‖", "step k (the key word is k = 1)",
                 "how far back the gradient reaches"),
                (self.share_plot, "‖∂ℓ/∂h<sub>k</sub>‖ / ‖∂ℓ/∂h<sub>T</sub>‖", "step k",
                 "share of ∂ℓ/∂h<sub>T</sub> that reaches k"),
                (self.contrib_plot, "‖C<sub>k</sub>‖", "step k",
                 "where ∂ℓ/∂W<sub>hh</sub> comes from: C<sub>k</sub>")):
            style.style_plot(p, left=left, bottom=bottom)
            p.setTitle(title)
        self._run_curves()

    def _run_curves(self):
        self.loss_curve = self.loss_plot.plot(pen=style.pen(style.MEASURED, 1.5), name="train")
        self.val_loss_curve = self.loss_plot.plot(pen=None, symbol="o", symbolSize=6,
                                                  symbolBrush=style.CLIPPED, name="validation")
        self.acc_curve = self.acc_plot.plot(pen=style.pen(style.MEASURED, 1.5))
        self.val_acc_curve = self.acc_plot.plot(pen=style.pen(style.CLIPPED, 2), symbol="o", symbolSize=6,
                                                symbolBrush=style.CLIPPED)
        self.chance_line = pg.InfiniteLine(angle=0, movable=False, pen=style.pen("#888888", 1.5, Qt.DashLine))
        self.acc_plot.addItem(self.chance_line)
        self.acc_plot.setYRange(0, 1.02, padding=0)
        self.norm_before = self.norm_plot.plot(pen=style.pen(style.SIGMA1, 1))
        self.norm_after = self.norm_plot.plot(pen=style.pen(style.CLIPPED, 1.5))
        row_legend(self.norm_plot, ((self.norm_before, "before clipping"), (self.norm_after, "after clipping")))
        self.reach_init = self.reach_plot.plot(pen=style.pen(style.SIGMA_I, 2, Qt.DashLine))
        self.reach_curve = self.reach_plot.plot(pen=style.pen(style.MEASURED, 2.5))
        self.reach_c = self.reach_plot.plot(pen=style.pen(style.CELL_PATH, 2))
        row_legend(self.reach_plot, ((self.reach_curve, "‖∂ℓ/∂hₖ‖ now"), (self.reach_init, "at initialisation"),
                                     (self.reach_c, "‖∂ℓ/∂Cₖ‖ (LSTM)")))
        self.share_init = self.share_plot.plot(pen=style.pen(style.SIGMA_I, 2, Qt.DashLine))
        self.share_curve = self.share_plot.plot(pen=style.pen(style.MEASURED, 2.5))
        row_legend(self.share_plot, ((self.share_curve, "now"), (self.share_init, "at initialisation")))
        self.contrib_bars = pg.BarGraphItem(x=[], height=[], width=0.8, brush=style.MEASURED)
        self.contrib_plot.addItem(self.contrib_bars)
        self.contrib_init_curve = self.contrib_plot.plot(pen=style.pen(style.SIGMA_I, 2, Qt.DashLine))
        row_legend(self.contrib_plot, ((self.contrib_init_curve, "at initialisation"),))

    def redraw(self):
        lab = self.lab
        with lab.lock:
            if lab.version == self._drawn_version:
                return
            self._drawn_version = lab.version
            it = np.asarray(lab.iterations, float)
            loss, acc = np.asarray(lab.loss), np.asarray(lab.accuracy)
            gb, ga = np.asarray(lab.grad_norm), np.asarray(lab.clipped_norm)
            ev, va, vl = np.asarray(lab.eval_iterations, float), np.asarray(lab.val_accuracy), np.asarray(lab.val_loss)
            gh, gc, gh0 = lab.grad_h, lab.grad_c, lab.grad_h_init
            c0, c1 = lab.contrib_init, lab.contrib_final
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
        for curve, data in ((self.reach_curve, gh), (self.reach_c, gc), (self.reach_init, gh0),
                            (self.contrib_init_curve, c0)):
            self._set_log_curve(curve, data)
        for curve, data in ((self.share_curve, gh), (self.share_init, gh0)):
            self._set_log_curve(curve, None if data is None else data / data[-1])
        self._set_log_bars(self.contrib_bars, self.contrib_plot, c1, also=c0)
        self._status()

    @staticmethod
    def _set_log_curve(curve, data):
        if data is None:
            curve.setData([], [])
        else:
            curve.setData(np.arange(1, len(data) + 1), log10_safe(data), connect="finite")

    @staticmethod
    def _set_log_bars(bars, plot, values, x=None, also=None):
        """Bars of log10(values) standing on the lowest finite value (a log-scale bar chart); the
        y range also spans `also` (a curve drawn over the bars)."""
        if values is None or len(values) == 0:
            bars.setOpts(x=[], height=[], y0=0)
            return
        y = log10_safe(values)
        ok = np.isfinite(y)
        x = np.arange(1, len(y) + 1, dtype=float) if x is None else np.asarray(x, float)
        if not ok.any():
            bars.setOpts(x=[], height=[], y0=0)
            return
        span = y[ok] if also is None else np.concatenate([y[ok], log10_safe(also)])
        span = span[np.isfinite(span)]
        floor = np.floor(span.min()) - 0.5
        bars.setOpts(x=x[ok], height=y[ok] - floor, y0=floor, width=0.8)
        plot.setYRange(floor, max(span.max(), floor + 1) + 0.2, padding=0.02)

    def drawn(self, name):
        """(x, y) of a named curve, or (x, top) of a named bar chart, for tests."""
        item = getattr(self, name)
        if isinstance(item, pg.BarGraphItem):
            o = item.opts
            x = np.asarray(o.get("x", []) if o.get("x") is not None else [], float)
            h = np.asarray(o.get("height", []) if o.get("height") is not None else [], float)
            return x, h + (o.get("y0") or 0)
        if isinstance(item, pg.ImageItem):
            img = item.image
            return (np.zeros(0), np.zeros(0)) if img is None else (np.arange(img.shape[1]), np.asarray(img))
        x, y = item.getData()
        return (np.zeros(0), np.zeros(0)) if x is None else (np.asarray(x), np.asarray(y))

    # -- one step in slow motion ---------------------------------------------------------------
    def _step_plots(self):
        g = self.step_graphs
        self.fwd_plot = g.addPlot(row=0, col=0, axisItems=lab_axes())
        self.bwd_plot = g.addPlot(row=0, col=1, axisItems=lab_axes("log10"))
        axes = lab_axes("log10", short_left="‖Δθ‖/‖θ‖")
        axes["bottom"] = ParamAxis()
        self.upd_plot = g.addPlot(row=0, col=2, axisItems=axes)
        for p in (self.bwd_plot, self.upd_plot):
            keep_decades(p)
        style.style_plot(self.fwd_plot, left="unit", bottom="step t")
        style.style_plot(self.bwd_plot, left="gradient", bottom="step k")
        style.style_plot(self.upd_plot, left="‖Δθ‖ / ‖θ‖", bottom="parameter")
        self.fwd_image = pg.ImageItem()
        self.fwd_image.setColorMap(pg.colormap.get(style.SIGNED_CMAP))
        self.fwd_image.setLevels((-1, 1))
        self.fwd_plot.addItem(self.fwd_image)
        self.bwd_bars = pg.BarGraphItem(x=[], height=[], width=0.8, brush=style.CLIPPED)
        self.bwd_plot.addItem(self.bwd_bars)
        self.bwd_curve = self.bwd_plot.plot(pen=style.pen(style.MEASURED, 2.5))
        row_legend(self.bwd_plot, ((self.bwd_curve, "‖∂ℓ/∂hₖ‖"), (self.bwd_bars, "‖Cₖ‖, step k's part of ∂ℓ/∂W_hh")))
        self.upd_bars = pg.BarGraphItem(x=[], height=[], width=0.7, brush=style.CELL_PATH)
        self.upd_plot.addItem(self.upd_bars)
        self._phase_titles()

    def _phase_titles(self):
        titles = {"forward": "1 · forward: h<sub>t</sub>, sequence 1",     # short: whole at ×2
                  "backward": "2 · backward: gradient flows back",
                  "update": "3 · update: each weight's move"}
        for phase, plot in zip(PHASES, (self.fwd_plot, self.bwd_plot, self.upd_plot)):
            on = phase == self.step_phase
            color = "#d7301f" if on else "#888888"
            plot.setTitle(f"<span style='color:{color}; font-weight:{'700' if on else '400'}'>"
                          f"{'▶ ' if on else ''}{titles[phase]}</span>")

    def show_step(self, rec):
        """Draw a StepRecord one phase after the other (phase_ms apart)."""
        self._record = rec
        for bars in (self.bwd_bars, self.upd_bars):
            bars.setOpts(x=[], height=[], y0=0)
        self.bwd_curve.setData([], [])
        self.fwd_image.clear()
        self.step_phase = None
        self.phase_timer.stop()
        self._next_phase()

    def _next_phase(self):
        rec = self._record
        if rec is None:
            return
        i = 0 if self.step_phase is None else PHASES.index(self.step_phase) + 1
        if i >= len(PHASES):
            return
        self.step_phase = PHASES[i]
        (self._draw_forward, self._draw_backward, self._draw_update)[i](rec)
        self._phase_titles()
        self.phase_changed.emit(self.step_phase)
        if i + 1 < len(PHASES):
            self.phase_timer.start(self.phase_ms)
        self.redraw()

    def _draw_forward(self, rec):
        h = rec.h0[1:].T                                   # (n, T): unit × step
        self.fwd_image.setImage(h, autoLevels=False)
        self.fwd_image.setRect(0.5, -0.5, h.shape[1], h.shape[0])
        self.fwd_plot.setXRange(0.5, h.shape[1] + 0.5, padding=0)
        self.fwd_plot.setYRange(-0.5, h.shape[0] - 0.5, padding=0)
        task = self.lab.config.make_task()
        out = rec.out0
        said = (f"ŷ = {out[0]:.3f} (target {rec.y0:.3f})" if task.is_regression else
                f"says “{task.class_names()[int(np.argmax(out))]}” (target “{task.class_names()[int(rec.y0)]}”)")
        self._phase_lines = []
        self._phase_text(f"<b>Step {rec.iteration} (gap {rec.gap}) · 1 · forward pass</b>: the first of "
                         f"{len(rec.losses)} sequences {said}; batch loss {rec.loss:.4f}, accuracy {rec.accuracy:.0%}.")

    def _draw_backward(self, rec):
        T = len(rec.grad_h)
        self._set_log_curve(self.bwd_curve, rec.grad_h)
        both = np.concatenate([rec.grad_h[rec.grad_h > 0], rec.contrib[rec.contrib > 0]])
        self._set_log_bars(self.bwd_bars, self.bwd_plot, rec.contrib)
        if both.size:
            lo, hi = np.log10(both.min()), np.log10(both.max())
            self.bwd_plot.setYRange(np.floor(lo) - 0.5, hi + 0.3, padding=0.02)
        self.bwd_plot.setXRange(0.5, T + 0.5, padding=0)
        clip = (f"; clipped from {rec.grad_norm:.3g} to {rec.threshold:g}" if rec.clipped
                else f" (threshold {rec.threshold:g}, not clipped)" if rec.threshold else "")
        total = rec.contrib.sum()
        share = rec.contrib[1] / total if total > 0 and T > 1 else 0.0
        self._phase_text(f"<b>2 · backward pass</b>: ‖∂ℓ/∂h<sub>T</sub>‖ = {_pow10(rec.grad_h[-1])} arrives "
                         f"from the output and {_pow10(rec.grad_h[0])} reaches the key word's state h₁; step 2, "
                         f"the first whose W<sub>hh</sub> sees h₁, gives {share:.1%} of Σ‖Cₖ‖ (C₁ = 0: at step 1 "
                         f"W<sub>hh</sub> multiplies h₀ = 0). ‖g‖ = {rec.grad_norm:.3g}{clip}.")

    def _draw_update(self, rec):
        names = list(rec.delta)
        rel = np.array([rec.delta[k] / rec.param_norm[k] if rec.param_norm[k] > 0 else np.nan for k in names])
        self._set_log_bars(self.upd_bars, self.upd_plot, rel, x=np.arange(len(names)))
        self.upd_plot.getAxis("bottom").set_names([n.replace("weight_", "W_").replace("bias_", "b_") for n in names])
        self.upd_plot.setXRange(-0.6, len(names) - 0.4, padding=0)
        self._phase_text(f"<b>3 · update</b> ({self.lab.config.optimizer}, lr {self.lab.config.lr:g}): "
                         f"the same batch's loss {rec.loss:.4f} → {rec.loss_after:.4f}.")

    def _phase_text(self, line: str):
        """The phases drawn so far, one line each, the current one last."""
        self._phase_lines.append(line)
        self.phase_label.setText("<br>".join(self._phase_lines))

    def step_bars(self):
        """(values, …) drawn in the Step panels, for tests: contrib and relative updates."""
        return self.drawn("bwd_bars"), self.drawn("upd_bars")

    def apply_style(self, theme=None):
        self.theme = theme or style.DEFAULT
        self.status.setFont(self.theme.font(1))
        self.title.setFont(self.theme.font(1, bold=True))
        for plot in self.run_plots + self.phase_plots:
            self.theme.restyle_axes(plot)
            if legend_of(plot) is not None:
                legend_of(plot).restyle(self.theme)
        self.plot_fit.fit(self.theme)            # on the restyled axes' and legends' sizes
