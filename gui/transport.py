"""Transport bar: reset, step back, play/pause, step forward, end, speed, and the timeline."""
from __future__ import annotations

from PySide6.QtCore import QSize, Qt
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QSlider, QStyle, QToolButton, QWidget

from . import style
from .controls import blocked

SPEEDS = (1, 2, 5, 10, 20, 50, 100, 200)


#: the play buttons at ×1: icon, and the button around it (pixels). The icon grows with the
#: presentation scale up to ×ICON_MAX_SCALE, the button only by the icon's growth (a button
#: twice as tall at ×2 took the room the gradient plot needs for its third tick at 1366×768)
ICON_PX, BUTTON_PX, ICON_MAX_SCALE = 22, (44, 36), 1.5
#: the timeline's least width at ×1 (pixels): below it the step readout, which the status bar
#: shows too, makes way for it (at 1366×768 ×2 the timeline had shrunk to its handle)
MIN_TIMELINE_PX = 140


class TransportBar(QWidget):
    def __init__(self, session, parent=None):
        super().__init__(parent)
        self.setObjectName("transport")
        self.session = session
        lay = QHBoxLayout(self)
        lay.setContentsMargins(8, 4, 8, 4)

        icons = self.style()

        self.buttons = []

        def button(name, icon, tip, slot):
            b = QToolButton()
            b.setObjectName(name)
            b.setIcon(icons.standardIcon(icon))
            b.setToolTip(tip)
            b.clicked.connect(slot)
            lay.addWidget(b)
            self.buttons.append(b)
            return b

        SP = QStyle.StandardPixmap
        self.reset = button("reset", SP.SP_MediaSkipBackward, "Back to t = 0 (Home)", session.go_start)
        self.step_back = button("step_back", SP.SP_MediaSeekBackward, "One step back (←)",
                                lambda: session.step_by(-1))
        self.play = button("play", SP.SP_MediaPlay, "Play / pause (Space)", session.toggle_play)
        self.play.setCheckable(True)
        self.step_forward = button("step_forward", SP.SP_MediaSeekForward, "One step forward (→)",
                                   lambda: session.step_by(1))
        self.end = button("end", SP.SP_MediaSkipForward, "To the last step (End)", session.go_end)
        self.speed = QComboBox()
        self.speed.setObjectName("speed")
        for s in SPEEDS:
            self.speed.addItem(f"{s} steps/s", s)
        self.speed.setToolTip("Playback speed")
        self.speed.currentIndexChanged.connect(lambda _: session.set_speed(self.speed.currentData()))
        lay.addWidget(self.speed)
        self.timeline = QSlider(Qt.Horizontal)
        self.timeline.setObjectName("timeline")
        self.timeline.setToolTip("Scrub through the sequence: every view shows step t")
        self.timeline.valueChanged.connect(session.set_step)
        lay.addWidget(self.timeline, 1)
        self.label = QLabel()
        self.label.setObjectName("step_label")
        lay.addWidget(self.label)
        self._scale = None
        self.apply_style()
        session.step_changed.connect(self._on_step)
        session.analysis_changed.connect(self._on_analysis)
        session.playing_changed.connect(self._on_playing)
        session.speed_changed.connect(self._on_speed)
        self._on_speed(session.speed)

    def _on_analysis(self, a):
        with blocked(self.timeline):
            self.timeline.setRange(0, a.steps)
            self.timeline.setPageStep(max(1, a.steps // 20))
        self._on_step(self.session.step)

    def apply_style(self, theme=None):
        """Icons and buttons grow with the theme's presentation scale, like the text beside them
        (the play button stayed 22 px on a 4K projector at ×2)."""
        scale = (theme or style.DEFAULT).scale
        if scale == self._scale:
            return
        self._scale = scale
        icon = round(ICON_PX * min(scale, ICON_MAX_SCALE))
        for b in self.buttons:
            b.setIconSize(QSize(icon, icon))
            b.setMinimumSize(BUTTON_PX[0] + icon - ICON_PX, BUTTON_PX[1] + icon - ICON_PX)
        self.label.setMinimumWidth(round(150 * scale))
        self._fit_readout()

    def resizeEvent(self, event):                # noqa: N802 (Qt's name)
        super().resizeEvent(event)
        self._fit_readout()

    def _fit_readout(self):
        """Show the step readout only where the timeline keeps MIN_TIMELINE_PX (× the scale)
        beside it; the same "t = … / …" is in the status bar."""
        lay = self.layout()
        fixed = [*self.buttons, self.speed]
        m = lay.contentsMargins()
        used = (sum(w.sizeHint().width() for w in fixed) + m.left() + m.right()
                + lay.spacing() * (len(fixed) + 1))
        label = max(self.label.minimumWidth(), self.label.sizeHint().width()) + lay.spacing()
        show = self.width() - used - label >= MIN_TIMELINE_PX * (self._scale or 1.0)
        if show != (not self.label.isHidden()):
            self.label.setVisible(show)

    def _on_step(self, t):
        with blocked(self.timeline):
            self.timeline.setValue(t)
        self.label.setText(f"t = {t} / {self.session.steps}")

    def _on_playing(self, playing):
        self.play.setChecked(playing)
        sp = QStyle.StandardPixmap
        self.play.setIcon(self.style().standardIcon(sp.SP_MediaPause if playing else sp.SP_MediaPlay))

    def _on_speed(self, s):
        i = self.speed.findData(int(s)) if float(s).is_integer() else -1
        if i >= 0:
            with blocked(self.speed):
                self.speed.setCurrentIndex(i)
