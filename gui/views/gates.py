"""Gates: for LSTM f, i, o, C̃ and for GRU z, r, h̃ a heatmap over units × time on a fixed colour
scale, and the current step's values as bars. For the RNN: the pre-activation a_t and φ'(a_t),
which shows why a saturated tanh (|a| large, φ' ≈ 0) shrinks the gradient."""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, Qt
from PySide6.QtWidgets import QLabel, QScrollArea, QStackedWidget, QVBoxLayout, QWidget

from .. import style
from .axes import HeatmapCursor, ReadableAxis, TimeAxis, clipped32, colour_bar, style_colour_bar
from .hold import Hold
from .image import Heatmap

# kind → rows: (trace key, label, levels)
ROWS = {
    "lstm": [("f", "f<sub>t</sub>", (0, 1)), ("i", "i<sub>t</sub>", (0, 1)),
             ("o", "o<sub>t</sub>", (0, 1)), ("g", "C̃<sub>t</sub>", (-1, 1))],
    "gru": [("z", "z<sub>t</sub>", (0, 1)), ("r", "r<sub>t</sub>", (0, 1)),
            ("n", "h̃<sub>t</sub>", (-1, 1))],
    "rnn": [("preact", "a<sub>t</sub>", (-3, 3)), ("slope", "φ'(a<sub>t</sub>)", (0, 1))],
}


class _GateRow:
    def __init__(self, layout: pg.GraphicsLayoutWidget, row: int, key: str, label: str, levels, theme):
        self.theme = theme
        self.key = key
        self.time_axis = TimeAxis("bottom")
        self.heat = layout.addPlot(enableMenu=False, row=row, col=0, axisItems={"bottom": self.time_axis,
                                                             "left": ReadableAxis("left", integer=True)})
        self.image = Heatmap()
        self.heat.addItem(self.image)
        signed = levels[0] < 0
        self.cmap = pg.colormap.get(style.SIGNED_CMAP if signed else style.GATE_CMAP)
        self.image.setLookupTable(self.cmap.getLookupTable(nPts=256))
        self.image.setLevels(levels)
        self.levels = levels
        self.cursor = HeatmapCursor()
        self.heat.addItem(self.cursor, ignoreBounds=True)
        self.theme.style_plot(self.heat, left=label)
        self.bars_plot = layout.addPlot(enableMenu=False, row=row, col=1,
                                        axisItems={"bottom": ReadableAxis("bottom", chars=3)})
        self.bars = pg.BarGraphItem(x0=[0], y=[0], height=0.8, width=[0], brush=self.theme.MEASURED)
        self.bars_plot.addItem(self.bars)
        self.theme.style_plot(self.bars_plot)
        self.bars_plot.setXRange(min(0, levels[0]), levels[1], padding=0.16)   # end labels drawn whole
        lo, hi = levels
        self.bars_plot.setYLink(self.heat)
        self.bars_plot.getAxis("left").setStyle(showValues=False)
        self._brushes = [pg.mkBrush(c) for c in self.cmap.getLookupTable(nPts=256, mode="qcolor")]
        self._pen = pg.mkPen("#333333", width=0.5)
        self.data = np.zeros((1, 1), np.float32)
        self.heat.setMouseEnabled(x=True, y=False)
        self.bars_plot.setMouseEnabled(x=False, y=False)

    def set_data(self, values, tokens, T):
        """values: (T, n) rows made steps 1..T."""
        n = values.shape[1] if values.ndim == 2 else 1
        self.data = clipped32(values, *self.levels)      # what is drawn, on the fixed levels
        img = self.data.T
        self.image.setImage(img, levels=self.levels, autoLevels=False)
        self.image.setRect(QRectF(0.5, -0.5, max(T, 1), n))
        self.heat.setRange(xRange=(0, max(T, 1) + 0.5), yRange=(-0.5, n - 0.5), padding=0)
        self.time_axis.set_tokens(tokens)

    def set_step(self, t: int):
        self.cursor.setValue(t)
        n = self.data.shape[1]
        if t <= 0 or t > self.data.shape[0]:
            vals = np.zeros(n)
        else:
            vals = np.nan_to_num(self.data[t - 1].astype(np.float64))
        lo, hi = self.levels
        idx = np.clip(((vals - lo) / (hi - lo) * 255).astype(int), 0, 255)
        self.bars.setOpts(x0=np.zeros(n), y=np.arange(n), height=0.8, width=vals,
                          brushes=[self._brushes[i] for i in idx], pens=[self._pen] * n)

    def bar_values(self) -> np.ndarray:
        return np.asarray(self.bars.opts["width"], dtype=np.float64)


class GatesView(QWidget):
    def __init__(self, session, parent=None, *, theme=None):
        super().__init__(parent)
        self.theme = theme or style.DEFAULT
        self.setObjectName("gates_view")
        self.session = session
        self.hint = QLabel()
        self.hint.setWordWrap(True)
        self.hint.setTextFormat(Qt.RichText)
        self.hint.setFont(self.theme.font(0))
        self.stack = QStackedWidget()
        # too short for its rows' labels (a small screen at a large scale): the rows scroll
        self.scroll = QScrollArea()
        self.scroll.setWidgetResizable(True)
        self.scroll.setFrameShape(QScrollArea.NoFrame)
        self.scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarAlwaysOff)
        self.scroll.setWidget(self.stack)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.hint)
        lay.addWidget(self.scroll, 1)
        self.pages: dict[str, pg.GraphicsLayoutWidget] = {}
        self._min_height: dict[str, int] = {}
        self.rows: dict[str, list[_GateRow]] = {}
        self.colour_bars = []
        # hidden (another tab): drawn when shown, not at every change
        self.hold = Hold(self, self._on_analysis, self._on_step)
        session.analysis_changed.connect(self.hold.analysis)
        session.step_changed.connect(self.hold.step)

    def _page(self, kind: str) -> pg.GraphicsLayoutWidget:
        """The rows of one cell kind, built the first time that kind is shown."""
        if kind in self.pages:
            return self.pages[kind]
        rows = ROWS[kind]
        page = pg.GraphicsLayoutWidget()
        style.tune_view(page)
        page.ci.setSpacing(2)
        self.rows[kind] = [_GateRow(page, r + 1, *spec, self.theme) for r, spec in enumerate(rows)]
        # the rows share the time axis: its labels under the last row only (room for the rows)
        for row, below in zip(self.rows[kind][:-1], self.rows[kind][1:]):
            row.heat.getAxis("bottom").setStyle(showValues=False)
            if row.levels == below.levels:          # and the bars' scale under the last of a run
                row.bars_plot.getAxis("bottom").setStyle(showValues=False)
        # one colour bar per distinct scale, fixed levels
        for r, spec in enumerate(rows):
            if r == 0 or spec[2] != rows[r - 1][2]:
                bar = colour_bar(spec[2], self.rows[kind][r].cmap)
                page.addItem(bar, row=r + 1, col=2)
                self.colour_bars.append(bar)
        page.ci.layout.setColumnStretchFactor(0, 4)
        page.ci.layout.setColumnStretchFactor(1, 1)
        self.pages[kind] = page
        self.stack.addWidget(page)
        self.apply_style(self.theme)
        return page

    @staticmethod
    def _title(kind):
        return {"lstm": "forget f, input i, output o, candidate C̃: units (rows) × time; bars: values at t",
                "gru": "update z, reset r, candidate h̃: units (rows) × time; bars: values at t",
                "rnn": "pre-activation a<sub>t</sub> and φ'(a<sub>t</sub>), units × time: where |a| is "
                       "large, φ' ≈ 0 and the gradient shrinks"}[kind]

    def apply_style(self, theme=None):
        if theme is not None:
            self.theme = theme
        """Cursor pens and colour-bar fonts for the current theme and presentation scale."""
        self.hint.setFont(self.theme.font(0))
        for bar in self.colour_bars:
            style_colour_bar(bar, self.theme)
        # the bars' column holds three value labels at the tick font's size
        label_w = 0.62 * (self.theme.BASE_POINT_SIZE - 1) * self.theme.scale * 1.33 * 1.2 * 3
        label_h = (self.theme.BASE_POINT_SIZE - 1) * self.theme.scale * 1.33 * 1.2
        for kind, page in self.pages.items():
            page.ci.layout.setColumnMinimumWidth(1, 3.5 * label_w)
            # each row tall enough for three unit labels, plus the shared time axis
            self._min_height[kind] = int(len(self.rows[kind]) * 4.4 * label_h + 2.5 * label_h)
        self._fit_rows()
        for rows in self.rows.values():
            for row in rows:
                row.theme = self.theme
                row.cursor.apply_style(self.theme)

    def resizeEvent(self, event):
        self.hint.setVisible(self.height() > 330)
        super().resizeEvent(event)

    def current_rows(self) -> list[_GateRow]:
        a = self.session.analysis
        return self.rows[a.cell.kind] if a else []

    def _fit_rows(self):
        """The shown kind's rows are never squeezed below three labels each: the rows scroll
        instead (a stack is as tall as its tallest page, so the height goes on the stack)."""
        page = self.stack.currentWidget()
        kind = next((k for k, p in self.pages.items() if p is page), None)
        want = self._min_height.get(kind, 0)
        if self.stack.minimumHeight() != want:
            self.stack.setMinimumHeight(want)

    def _on_analysis(self, a):
        kind = a.cell.kind
        self.stack.setCurrentWidget(self._page(kind))
        self._fit_rows()
        self.hint.setText(self._title(kind))
        tr = a.trace
        for row in self.rows[kind]:
            values = tr.gates[row.key] if kind != "rnn" else getattr(tr, row.key)
            row.set_data(values, a.tokens, tr.steps)
        self._on_step(self.session.step)

    def _on_step(self, t: int):
        for row in self.current_rows():
            row.set_step(t)
