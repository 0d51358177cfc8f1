"""Cell-state flow: the notes' LSTM / GRU / RNN figures, drawn with QPainter and animated with t.

Yellow boxes are learned layers (σ, tanh), pink circles pointwise operations (×, +, 1−), as in the
notes' notation. Every path's width shows how much flows along it at step t (the root mean square
over units of the vector it carries, relative to its largest value over the sequence); gate paths
are coloured by the gate's mean value on the gates view's colour scale.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyqtgraph as pg
from gatescope.core.text import escape_html
from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QFontMetrics, QPainter, QPainterPath, QPen, QTextDocument
from PySide6.QtWidgets import QSizePolicy, QWidget

from .. import style

W, H = 1000.0, 540.0
LAYER = QColor("#f9d65c")
POINTWISE = QColor("#f4a6c6")
H_COLOR = QColor(style.PALETTE["MEASURED"][0])
C_COLOR = QColor(style.PALETTE["CELL_PATH"][0])
X_COLOR = QColor("#555555")


def rms(v) -> float:
    """Root mean square, finite even for overflowing states (RMS of max|v| · (v/max|v|))."""
    v = np.asarray(v, dtype=np.float64)
    v = v[np.isfinite(v)]
    if not v.size:
        return 0.0
    big = float(np.max(np.abs(v)))
    return big * float(np.sqrt(np.mean((v / big) ** 2))) if big > 0 else 0.0


@dataclass
class Path:
    points: list
    amount: float          # 0..1: relative magnitude → width
    color: QColor
    label: str = ""
    label_at: int = 0      # index of the point the label sits beside
    arrow: bool = True
    label_below: bool = False   # the label under the line instead of above it
    label_left: bool = False    # the label ends left of its point instead of starting right of it


class FlowView(QWidget):
    def __init__(self, session, parent=None, *, theme=None):
        super().__init__(parent)
        self.theme = theme or style.DEFAULT
        self.setObjectName("flow_view")
        self.setAttribute(Qt.WA_OpaquePaintEvent)     # paints every pixel: parents are not repainted
        self.session = session
        self.setMinimumSize(360, 220)
        self.setSizePolicy(QSizePolicy.Expanding, QSizePolicy.Expanding)
        self._gate_cmap = pg.colormap.get(style.GATE_CMAP)
        self._scales = {}
        self._docs: dict = {}
        self.values: dict[str, float] = {}     # what is drawn at t (read by tests)
        self.setToolTip("Line width: how much flows along each path at step t (RMS over units, "
                        "relative to its largest value in the sequence). Gate lines are coloured by "
                        "the gate's mean value on the gates view's colour scale (0 → 1).")
        session.analysis_changed.connect(self._on_analysis)
        session.step_changed.connect(lambda _: self.update())

    def apply_style(self, theme=None):
        """A new theme (presentation scale, contrast): the labels and caption follow its fonts."""
        self.theme = theme or self.theme
        self._docs.clear()
        self.update()

    def caption_font(self):
        """The caption's font (the theme's, one step up): what the lecture-hall test measures."""
        return self.theme.font(1)

    # -- data ------------------------------------------------------------------------------------
    def _on_analysis(self, a):
        tr = a.trace
        # normalisers: the largest RMS over the sequence of each carried vector
        def peak(arr):
            """max over steps of the RMS over units, overflow-safe (rows scaled by their max)."""
            a = np.where(np.isfinite(arr), arr, 0.0)
            if a.size == 0:
                return 1.0
            big = np.max(np.abs(a), axis=1)
            big_safe = np.where(big > 0, big, 1.0)
            r = big * np.sqrt(np.mean((a / big_safe[:, None]) ** 2, axis=1))
            return max(1e-12, float(np.max(r)))
        self._scales = {"h": peak(tr.h), "x": peak(tr.inputs) if tr.steps else 1.0}
        if tr.c is not None:
            self._scales["c"] = peak(tr.c)
        self.update()

    def gate_color(self, value: float) -> QColor:
        return self._gate_cmap.map(float(np.clip(value, 0, 1)), mode="qcolor")

    def _amount(self, v, key) -> float:
        return float(min(1.0, rms(v) / self._scales.get(key, 1.0)))

    def _model(self):
        """Paths, nodes and a caption for the current step."""
        a = self.session.analysis
        t = self.session.step
        tr = a.trace
        kind = a.cell.kind
        j = max(t - 1, 0)                   # row of the gates that made step t
        started = t > 0
        h_prev, h = tr.h[j], tr.h[t] if started else tr.h[0]
        x = tr.inputs[j] if tr.steps else np.zeros(1)
        vals: dict[str, float] = {}
        paths, nodes = [], []
        ax = self._amount
        if kind == "lstm":
            g = {k: tr.gates[k][j] for k in "ifgo"}
            c_prev, c = tr.c[j], tr.c[t] if started else tr.c[0]
            vals = {k: float(np.mean(v)) for k, v in g.items()}
            vals.update(c_rms=rms(c), h_rms=rms(h))
            by = 95
            paths += [
                Path([(30, by), (288, by)], ax(c_prev, "c"), C_COLOR, "C<sub>t−1</sub>", 0),
                Path([(312, by), (548, by)], ax(g["f"] * c_prev, "c"), C_COLOR, "f⊙C<sub>t−1</sub>", 0),
                Path([(572, by), (970, by)], ax(c, "c"), C_COLOR, "C<sub>t</sub>", 0),
                Path([(560, 178), (560, 107)], ax(g["i"] * g["g"], "c"), C_COLOR, "", 0),
                Path([(300, 275), (300, 107)], vals["f"], self.gate_color(vals["f"]), "f", 0),
                Path([(450, 275), (450, 190), (548, 190)], vals["i"], self.gate_color(vals["i"]), "i", 0),
                Path([(560, 275), (560, 202)], ax(g["g"], "c"), C_COLOR, "C̃", 0),
                Path([(780, by), (780, 180)], ax(c, "c"), C_COLOR, "", 0, False),
                Path([(780, 212), (780, 288)], ax(np.tanh(c), "h"), H_COLOR, "", 0),
                Path([(690, 300), (738, 300), (768, 300)], vals["o"], self.gate_color(vals["o"]), "o", 1),
                Path([(780, 312), (780, 450), (970, 450)], ax(h, "h"), H_COLOR, "h<sub>t</sub>", 1),
                Path([(30, 450), (200, 450), (200, 410)], ax(h_prev, "h"), H_COLOR, "h<sub>t−1</sub>", 0, False),
                Path([(200, 520), (200, 410)], ax(x, "x"), X_COLOR, "x<sub>t</sub>", 0, False),
                Path([(200, 410), (690, 410)], ax(np.concatenate([h_prev, x]), "h"), H_COLOR, "", 0, False),
            ]
            paths += [Path([(bx, 410), (bx, 325)], ax(np.concatenate([h_prev, x]), "h"), H_COLOR, "", 0)
                      for bx in (300, 450, 560, 690)]
            nodes += [("op", 300, by, "×"), ("op", 560, by, "+"), ("op", 560, 190, "×"),
                      ("op", 780, 196, "tanh"), ("op", 780, 300, "×"),
                      ("layer", 300, 300, "σ"), ("layer", 450, 300, "σ"),
                      ("layer", 560, 300, "tanh"), ("layer", 690, 300, "σ")]
            caption = ("C<sub>t</sub> = f<sub>t</sub>⊙C<sub>t−1</sub> + i<sub>t</sub>⊙C̃<sub>t</sub>,"
                       " h<sub>t</sub> = o<sub>t</sub>⊙tanh(C<sub>t</sub>)<br>mean over units: "
                       f"f = <b>{vals['f']:.2f}</b>, i = <b>{vals['i']:.2f}</b>, "
                       f"C̃ = <b>{vals['g']:+.2f}</b>, o = <b>{vals['o']:.2f}</b>")
        elif kind == "gru":
            g = {k: tr.gates[k][j] for k in "rzn"}
            vals = {k: float(np.mean(v)) for k, v in g.items()}
            vals["h_rms"] = rms(h)
            seed = a.cell.convention == "seed"
            z = g["z"]
            keep, new = (1 - z, z) if seed else (z, 1 - z)     # weight of h_{t−1}, of h̃
            vals["keep"] = float(np.mean(keep))
            by = 95
            paths += [
                Path([(30, by), (408, by)], ax(h_prev, "h"), H_COLOR, "h<sub>t−1</sub>", 0),
                Path([(432, by), (688, by)], ax(keep * h_prev, "h"), H_COLOR,
                     "(1−z)⊙h" if seed else "z⊙h", 0),
                Path([(712, by), (970, by)], ax(h, "h"), H_COLOR, "h<sub>t</sub>", 0),
                Path([(420, 178), (420, 107)], vals["keep"], self.gate_color(vals["keep"]), "", 0),
                Path([(380, 275), (380, 240), (420, 240), (420, 212)], vals["z"],
                     self.gate_color(vals["z"]), "z", 1, label_left=True),
                Path([(380, 240), (700, 240), (700, 202)], vals["z"], self.gate_color(vals["z"]), "", 0),
                Path([(700, 178), (700, 107)], ax(new * g["n"], "h"), H_COLOR,
                     "z⊙h̃" if seed else "(1−z)⊙n", 0),
                Path([(600, 275), (600, 190), (688, 190)], ax(g["n"], "h"), H_COLOR, "h̃", 1),
                # r's output runs down to r⊙ (x enters the gate boxes left of their centre lines,
                # so no input line runs through the r⊙ node)
                Path([(260, 275), (260, 385)], vals["r"], self.gate_color(vals["r"]), "r", 0, False),
                Path([(160, by), (160, 385), (248, 385)], ax(h_prev, "h"), H_COLOR, "", 0),
                Path([(272, 385), (450, 385), (600, 385), (600, 325)], ax(g["r"] * h_prev, "h"), H_COLOR,
                     "r⊙h" if seed else "r⊙(W<sub>hn</sub>h)", 1, label_below=True),
                Path([(60, 500), (60, 470), (350, 470), (350, 325)], ax(x, "x"), X_COLOR, "x<sub>t</sub>", 0),
                Path([(230, 470), (230, 325)], ax(x, "x"), X_COLOR, "", 0),
                Path([(350, 470), (640, 470), (640, 325)], ax(x, "x"), X_COLOR, "", 0),
            ]
            nodes += [("op", 420, by, "×"), ("op", 700, by, "+"), ("op", 700, 190, "×"),
                      ("op", 260, 385, "×"), ("op", 420, 196, "1−") if seed else ("op", 560, 240, "1−"),
                      ("layer", 260, 300, "σ"), ("layer", 380, 300, "σ"), ("layer", 600, 300, "tanh")]
            caption = (("h<sub>t</sub> = (1−z<sub>t</sub>)⊙h<sub>t−1</sub> + z<sub>t</sub>⊙h̃<sub>t</sub>"
                        "  (the notes' form)" if seed else
                        "h' = (1−z)⊙n + z⊙h  (PyTorch form; n is the notes' h̃)")
                       + f"<br>mean over units: r = <b>{vals['r']:.2f}</b>, z = <b>{vals['z']:.2f}</b>, "
                       f"h̃ = <b>{vals['n']:+.2f}</b>; "
                       f"kept&nbsp;from&nbsp;h<sub>t−1</sub>:&nbsp;<b>{vals['keep']:.2f}</b>")
        else:
            slope = tr.slope[j] if tr.steps else np.ones(1)
            vals = {"slope": float(np.mean(slope)), "h_rms": rms(h)}
            paths += [
                Path([(30, 300), (300, 300), (300, 360)], ax(h_prev, "h"), H_COLOR, "h<sub>t−1</sub>", 0, False),
                Path([(300, 500), (300, 360)], ax(x, "x"), X_COLOR, "x<sub>t</sub>", 0, False),
                Path([(300, 360), (500, 360), (500, 325)], ax(np.concatenate([h_prev, x]), "h"), H_COLOR, "", 0),
                Path([(500, 275), (500, 150), (970, 150)], ax(h, "h"), H_COLOR, "h<sub>t</sub>", 1),
                Path([(700, 150), (700, 60)], ax(h, "h"), H_COLOR, "ŷ", 1),
            ]
            name = {"tanh": "tanh", "relu": "ReLU", "identity": "id", "sigmoid": "σ"}[a.cell.nonlinearity]
            nodes += [("layer", 500, 300, name)]
            caption = ("h<sub>t</sub> = φ(W<sub>hh</sub>h<sub>t−1</sub> + W<sub>hx</sub>x<sub>t</sub>),  "
                       "∂h<sub>t</sub>/∂h<sub>t−1</sub> = diag(φ'(a<sub>t</sub>)) W<sub>hh</sub>"
                       f"<br>mean φ'(a<sub>t</sub>) over units: <b>{vals['slope']:.2f}</b>")
        self.values = vals
        return paths, nodes, caption, t, (a.tokens[t - 1] if a.tokens and started else None)

    # -- drawing ---------------------------------------------------------------------------------
    def paintEvent(self, event):
        p = QPainter(self)
        p.setRenderHint(QPainter.Antialiasing)
        p.fillRect(self.rect(), QColor("white"))
        if self.session.analysis is None:
            p.end()
            return
        paths, nodes, caption, t, token = self._model()
        # the caption is laid out first, at the full width: the diagram gets the height left
        doc = self._caption(caption, t, token)
        caption_h = doc.size().height() + 8
        # labels above the topmost line (ŷ, Cₜ₋₁) are drawn at screen size: room for one line
        top = QFontMetrics(self.theme.font(2)).height() * 0.6
        k = min(self.width() / W, (self.height() - caption_h - 4 - top) / H)
        k = max(k, 0.05)
        ox = (self.width() - W * k) / 2
        p.save()
        p.translate(ox, top)
        p.scale(k, k)
        for path in paths:
            self._draw_path(p, path, k)
        for node in nodes:
            self._draw_node(p, node, k)
        p.restore()
        # caption in screen coordinates, so it stays legible at any size
        p.setPen(QColor("#222222"))
        p.translate(6, top + H * k + 4)
        doc.drawContents(p)
        p.end()

    def _caption(self, caption: str, t: int, token) -> QTextDocument:
        """The caption under the diagram, laid out at the widget's width: the step, its token
        (user text, escaped) and the equation with this step's numbers."""
        step = (f"t = {t}" + (f"  ·  token “{escape_html(token)}”" if token else "")
                + ("  ·  initial state" if t == 0 else ""))
        doc = QTextDocument()
        doc.setDefaultFont(self.caption_font())
        doc.setHtml(f"<b>{step}</b> — {caption}")
        doc.setTextWidth(self.width() - 12)
        return doc

    def caption_text(self) -> str:
        """The caption as drawn, in plain text ("" before the first simulation)."""
        if self.session.analysis is None:
            return ""
        _, _, caption, t, token = self._model()
        return self._caption(caption, t, token).toPlainText()

    def _draw_path(self, p: QPainter, path: Path, k: float):
        width = 1.5 + 13.0 * max(0.0, min(1.0, path.amount))
        color = QColor(path.color)
        color.setAlphaF(0.35 + 0.65 * max(0.0, min(1.0, path.amount)))
        pen = QPen(color, width, Qt.SolidLine, Qt.RoundCap, Qt.RoundJoin)
        p.setPen(pen)
        qp = QPainterPath(QPointF(*path.points[0]))
        for pt in path.points[1:]:
            qp.lineTo(QPointF(*pt))
        p.setBrush(Qt.NoBrush)
        # the paths are horizontal and vertical runs: drawn without antialiasing they look the
        # same and cost a third less (1.7 instead of 2.6 ms a frame for the LSTM diagram)
        p.setRenderHint(QPainter.Antialiasing, False)
        p.drawPath(qp)
        p.setRenderHint(QPainter.Antialiasing, True)
        if path.arrow and len(path.points) >= 2:
            (x0, y0), (x1, y1) = path.points[-2], path.points[-1]
            d = np.array([x1 - x0, y1 - y0], float)
            d /= max(np.linalg.norm(d), 1e-9)
            nrm = np.array([-d[1], d[0]])
            size = 9 + width * 0.6
            tip = np.array([x1, y1])
            a = tip - d * size + nrm * size * 0.55
            b = tip - d * size - nrm * size * 0.55
            head = QPainterPath(QPointF(*tip))
            head.lineTo(QPointF(*a))
            head.lineTo(QPointF(*b))
            head.closeSubpath()
            p.setPen(Qt.NoPen)
            p.setBrush(color)
            p.drawPath(head)
        if path.label:
            x, y = path.points[path.label_at]
            h_align, dx = (Qt.AlignRight, -8) if path.label_left else (Qt.AlignLeft, 8)
            if path.label_below:
                self._text(p, x + dx, y + 6 + width / 2, path.label, k, align=h_align | Qt.AlignTop)
            else:
                self._text(p, x + dx, y - 10 - width / 2, path.label, k, align=h_align | Qt.AlignBottom)

    def _draw_node(self, p: QPainter, node, k: float):
        # the label is drawn at screen size (legible however small the diagram), so the shape
        # grows around it when the diagram is scaled down
        _, x, y, text = node
        doc = self._doc(text, 2, True)
        half_w = 0.5 * doc.idealWidth() / max(k, 0.2) + 6
        half_h = 0.5 * doc.size().height() / max(k, 0.2) + 2
        if node[0] == "op":
            r = 17 if len(text) <= 2 else 24
            rx = max(r, half_w + 2)
            ry = max(r * 0.75 if len(text) > 2 else r, half_h)
            p.setPen(QPen(QColor("#a0526f"), 2))
            p.setBrush(POINTWISE)
            p.drawEllipse(QPointF(x, y), rx, ry)
            self._text(p, x, y, text, k, align=Qt.AlignCenter, bold=True)
        else:
            w, h = max(42, half_w), max(25, half_h)
            rect = QRectF(x - w, y - h, 2 * w, 2 * h)
            p.setPen(QPen(QColor("#b08d1a"), 2))
            p.setBrush(LAYER)
            p.drawRoundedRect(rect, 8, 8)
            self._text(p, x, y, text, k, align=Qt.AlignCenter, bold=True)

    def _doc(self, html, delta, bold):
        """A laid-out text, cached: the diagram's labels repeat on every step."""
        key = (html, delta, bold, self.theme.scale)
        doc = self._docs.get(key)
        if doc is None:
            if len(self._docs) > 400:
                self._docs.clear()
            doc = QTextDocument()
            doc.setDefaultFont(self.theme.font(delta, bold))
            doc.setDocumentMargin(0)
            doc.setHtml(html)
            self._docs[key] = doc
        return doc

    def _text(self, p: QPainter, x, y, html, k, align=Qt.AlignCenter, bold=False, small=False):
        """Text in logical coordinates at a size that stays legible (≥ the app's font)."""
        p.save()
        p.translate(x, y)
        inv = 1.0 / max(k, 0.2)
        p.scale(inv, inv)      # draw in screen pixels
        doc = self._doc(html, 0 if small else 2, bold)
        w, h = doc.idealWidth(), doc.size().height()
        dx = -w / 2 if align & Qt.AlignHCenter else (-w if align & Qt.AlignRight else 0)
        dy = -h / 2 if align & Qt.AlignVCenter else (-h if align & Qt.AlignBottom else 0)
        p.translate(dx, dy)
        doc.drawContents(p)
        p.restore()
