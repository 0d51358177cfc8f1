"""The model bar: which layer and direction of a loaded model Explore draws, and what the model's
readout predicts after the word read at the current step ("after ‘fluent’: French (p = 0.9989)").

Shown only while a model is loaded (Session.model_changed); the selector lists every direction of
every layer (Session.layer_choices) and sets Session.set_layer; the prediction follows the step
(Session.prediction). Plain text only: the tokens are the user's words.
"""
from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QWidget

from .controls import blocked


def prediction_text(prediction, t: int) -> str:
    """"after ‘fluent’: French (p = 0.9989)" for (token, word, p) at step t; "" for None."""
    if t <= 0:
        return "t = 0: no word read yet"
    if prediction is None:
        return ""
    token, word, p = prediction
    where = f"after ‘{token}’" if token is not None else f"at t = {t}"
    return f"{where}: {word} (p = {p:.4f})"


class ModelBar(QWidget):
    """Public: layer_box (QComboBox, data (layer, reverse)), prediction_label, model_label."""

    def __init__(self, session, parent=None):
        super().__init__(parent)
        self.setObjectName("model_bar")
        self.session = session
        lay = QHBoxLayout(self)
        lay.setContentsMargins(8, 2, 8, 2)
        self.model_label = QLabel()
        self.model_label.setObjectName("model_name")
        self.model_label.setTextFormat(Qt.PlainText)
        lay.addWidget(self.model_label)
        self.layer_caption = QLabel("Layer:")
        lay.addWidget(self.layer_caption)
        self.layer_box = QComboBox()
        self.layer_box.setObjectName("model_layer")
        self.layer_box.setToolTip("The layer (and direction) every Explore view draws: its gates, "
                                  "states, W_hh spectrum and its own gradient flow ‖∂s_t/∂s₀‖")
        self.layer_box.currentIndexChanged.connect(self._on_choice)
        lay.addWidget(self.layer_box)
        lay.addStretch(1)
        self.prediction_label = QLabel()
        self.prediction_label.setObjectName("model_prediction")
        self.prediction_label.setTextFormat(Qt.PlainText)
        self.prediction_label.setToolTip("The model's readout after the word read at step t: the most "
                                         "probable class and its probability")
        lay.addWidget(self.prediction_label)
        session.model_changed.connect(self._on_model)
        session.layer_changed.connect(self._on_layer)
        session.analysis_changed.connect(lambda _a: self._on_step(session.step))
        session.step_changed.connect(self._on_step)
        self._on_model(session.model)

    def _on_model(self, model):
        s = self.session
        with blocked(self.layer_box):
            self.layer_box.clear()
            for layer, reverse, label in s.layer_choices():
                self.layer_box.addItem(label, (layer, reverse))
        self._on_layer(s.layer, s.reverse)
        several = self.layer_box.count() > 1
        self.layer_box.setVisible(several)
        self.layer_caption.setVisible(several)
        self.model_label.setText(s.weights_name or "")
        self.setVisible(model is not None)
        self._on_step(s.step)

    def _on_layer(self, layer: int, reverse: bool):
        k = next((i for i in range(self.layer_box.count())
                  if tuple(self.layer_box.itemData(i)) == (layer, reverse)), -1)
        if k >= 0 and k != self.layer_box.currentIndex():
            with blocked(self.layer_box):
                self.layer_box.setCurrentIndex(k)

    def _on_choice(self, index: int):
        data = self.layer_box.itemData(index)
        if data is not None:
            self.session.set_layer(*data)

    def _on_step(self, t: int):
        a = self.session.analysis
        text = "" if a is None or not a.predictions else prediction_text(self.session.prediction(t), t)
        if self.prediction_label.text() != text:
            self.prediction_label.setText(text)
        self.prediction_label.setVisible(bool(text))

    def prediction_text(self) -> str:
        return self.prediction_label.text()

    def apply_style(self, theme=None):
        if theme is not None:
            self.prediction_label.setFont(theme.font(1, bold=True))
