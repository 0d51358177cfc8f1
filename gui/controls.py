"""The control dock: every setup property, each with a tooltip in the notes' terms.

Controls write only through Session.update(); they follow Session.config_changed (with their own
signals blocked, so syncing never feeds back)."""
from __future__ import annotations

from contextlib import contextmanager

from gatescope.core.config import FIELD, ConfigError, Field
from gatescope.core.inputs import SENTENCES, france_sentence, tokenize
from gatescope.core.presets import list_presets
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import (
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QRadioButton,
    QScrollArea,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from . import dialogs, style
from .float_slider import FloatSlider
from .wrapped_label import WrappedLabel

SIGMA_SLIDER = (0.5, 1.5)
EXAMPLES = [("the clouds are in the [sky] (short gap)", SENTENCES["clouds"]),
            ("I grew up in France… I speak fluent [French]", SENTENCES["france"]),
            ("France → French with a 40-word gap", france_sentence(40)),
            ("France → French with a 150-word gap", france_sentence(150)),
            ("the cereal review (§3.2)", SENTENCES["cereal"])]


#: Labels of each choice shown in the dock (the values come from the field table). Short enough
#: to show whole in the dock's boxes at every presentation scale (tested); the tooltips say more.
CHOICE_LABELS = {
    "cell": {"rnn": "RNN", "lstm": "LSTM", "gru": "GRU"},
    "activation": {"tanh": "tanh", "relu": "ReLU", "identity": "identity (notes §2)",
                   "sigmoid": "sigmoid"},
    "convention": {"seed": "seed (the notes)", "pytorch": "PyTorch / Keras"},
    "shape": {"spike": "spike (σ₁, rest σ₁/2)", "flat": "flat (σ₁ × orthogonal)",
              "geometric": "geometric (σ₁ → σ₁/10)"},
    "structure": {"symmetric": "symmetric (QΣQᵀ)",
                  "rotation": "normal, rotations",
                  "non-normal": "non-normal (UΣVᵀ)"},
    "signal": {"noise": "noise", "impulse": "impulse at t = 0", "zeros": "zeros", "sine": "sine"},
}
#: The widgets' object names (what tests and the accessibility tree see), by field.
OBJECT_NAMES = {"cell": "cell_kind", "hidden": "hidden_size", "length": "seq_length",
                "sigma1": "sigma1_spin"}
#: Decimals and step of the number boxes.
NUMBER_FORMAT = {"sigma1": (3, 0.001), "forget_bias": (2, 0.5), "update_bias": (2, 0.5),
                 "input_scale": (3, 0.1), "clip": (2, 1.0)}


def field_tip(f: Field, extra: str = "") -> str:
    """A control's tooltip: the teaching text, then the table's range and unit."""
    rng = ""
    if f.lo is not None:
        unit = f" {f.unit}" if f.unit else ""
        rng = f" Range {f.lo:g} to {f.hi:g}{unit}."
    return (extra or f.help[:1].upper() + f.help[1:] + ".") + rng


def number_box(f: Field, tip: str = ""):
    """A spin box whose range, default and tooltip come from the field table; it commits its
    value on Enter, focus-out, arrows and wheel (not on every keystroke)."""
    if f.type is int:
        box = QSpinBox()
        box.setRange(int(f.lo), int(f.hi))
    else:
        box = QDoubleSpinBox()
        decimals, step = NUMBER_FORMAT.get(f.name, (3, 0.1))
        box.setDecimals(decimals)
        box.setRange(f.lo, f.hi)
        box.setSingleStep(step)
    box.setKeyboardTracking(False)
    box.setObjectName(OBJECT_NAMES.get(f.name, f.name))
    box.setToolTip(field_tip(f, tip))
    box.setValue(f.default)
    return box


def set_value(widget, value):
    """setValue only when it differs: an unchanged control is not repainted."""
    if widget.value() != value:
        widget.setValue(value)


def set_checked(widget, on: bool):
    if widget.isChecked() != on:
        widget.setChecked(on)


def set_index(combo, index: int):
    if combo.currentIndex() != index:
        combo.setCurrentIndex(index)


def set_enabled(widget, on: bool):
    if widget.isEnabled() != on:
        widget.setEnabled(on)


@contextmanager
def blocked(*widgets):
    for w in widgets:
        w.blockSignals(True)
    try:
        yield
    finally:
        for w in widgets:
            w.blockSignals(False)


class ControlPanel(QScrollArea):
    def __init__(self, session, parent=None, *, theme=None):
        super().__init__(parent)
        self.theme = theme or style.DEFAULT
        self.setObjectName("controls")
        self.session = session
        self.setWidgetResizable(True)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarAlwaysOff)
        body = QWidget()
        self.setWidget(body)
        lay = QVBoxLayout(body)
        lay.setContentsMargins(6, 6, 6, 6)
        self.presets = list_presets()
        self._preset_configs = [p.config for p in self.presets]   # compared on every change
        self.bound: dict[str, QWidget] = {}       # field name → its control (synced from the table)
        lay.addWidget(self._preset_group())
        lay.addWidget(self._cell_group())
        lay.addWidget(self._spectrum_group())
        lay.addWidget(self._gates_group())
        lay.addWidget(self._input_group())
        lay.addWidget(self._clip_group())
        lay.addStretch(1)
        self._text_timer = QTimer(self)
        self._text_timer.setSingleShot(True)
        self._text_timer.setInterval(350)
        self._text_timer.timeout.connect(self._apply_text)
        session.config_changed.connect(self.sync)
        session.compare_mode_changed.connect(lambda _: self.sync(session.config))
        session.analysis_changed.connect(lambda a: self._sync_length(a))
        self.sync(session.config)

    # -- building --------------------------------------------------------------------------------
    def _form(self, title):
        box = QGroupBox(title)
        form = QFormLayout(box)
        form.setFieldGrowthPolicy(QFormLayout.AllNonFixedFieldsGrow)
        form.setLabelAlignment(Qt.AlignRight)
        return box, form

    def _field_combo(self, name: str, tip: str):
        f = FIELD[name]
        labels = CHOICE_LABELS.get(name, {})
        c = self._combo(OBJECT_NAMES.get(name, name), [(labels.get(v, v), v) for v in f.choices],
                        field_tip(f, tip), lambda v: self._set(**{name: v}))
        self.bound[name] = c
        return c

    def _field_box(self, name: str, tip: str = ""):
        f = FIELD[name]
        box = number_box(f, tip)
        conv = int if f.type is int else (lambda v: round(float(v), 6))
        box.valueChanged.connect(lambda v: self._set(**{name: conv(v)}))
        self.bound[name] = box
        return box

    def _combo(self, name, items, tip, on_change):
        c = QComboBox()
        c.setObjectName(name)
        c.setSizeAdjustPolicy(QComboBox.AdjustToMinimumContentsLengthWithIcon)
        c.setMinimumContentsLength(8)
        for label, data in items:
            c.addItem(label, data)
        c.setToolTip(tip)
        c.currentIndexChanged.connect(lambda _=None: on_change(c.currentData()))
        return c

    def _preset_group(self):
        box, form = self._form("Preset")
        self.preset = self._combo("preset", [("— choose a preset —", None)] +
                                  [(p.title, p.name) for p in self.presets],
                                  "Ready-made setups for each of the notes' points: pick one to load it.",
                                  self._on_preset)
        self.preset_desc = WrappedLabel()
        self.preset_desc.setObjectName("preset_description")
        form.addRow(self.preset)
        form.addRow(self.preset_desc)
        return box

    def _cell_group(self):
        box, form = self._form("Cell")
        self.cell_kind = self._field_combo(
            "cell", "The repeating module: a plain RNN (a single tanh layer), an LSTM (cell state + "
                    "forget/input/output gates) or a GRU (update and reset gates).")
        self.activation = self._field_combo(
            "activation", "RNN nonlinearity φ in h_t = φ(W_hh hₜ₋₁ + W_hx x_t). 'identity' is the notes' "
                          "linear analysis (∂h_t/∂h_0 = W_hhᵗ); ReLU is the §3.1 remedy (φ' is 0 or 1); "
                          "sigmoid's φ' ≤ ¼.")
        self.convention = self._field_combo(
            "convention", "GRU equations. seed: h_t = (1−z)⊙hₜ₋₁ + z⊙h̃, r applied to h before the "
                          "matmul. PyTorch: h' = (1−z)⊙n + z⊙h, r applied after the matmul. (The notes "
                          "write r_t with W_z: a typo for W_r.)")
        self.hidden_size = self._field_box(
            "hidden", "Hidden size n: the number of units in h_t (and C_t). Large n with long sequences "
                      "takes a while: the progress bar shows it and Cancel keeps the last picture.")
        self.input_size = self._field_box(
            "input_size", "Input size d: the length of each input vector x_t (token embedding).")
        form.addRow("Kind", self.cell_kind)
        form.addRow("Activation", self.activation)
        form.addRow("GRU form", self.convention)
        form.addRow("Hidden n", self.hidden_size)
        form.addRow("Input d", self.input_size)
        self.weights_label = QLabel()
        self.weights_label.setWordWrap(True)
        form.addRow(self.weights_label)
        return box

    def _spectrum_group(self):
        box, form = self._form("Spectrum of W_hh")
        self.sigma1 = FloatSlider(Qt.Horizontal, resolution=0.001)
        self.sigma1.setObjectName("sigma1")
        self.sigma1.setRange(*SIGMA_SLIDER)
        self.sigma1.setSingleStep(0.001)
        self.sigma1.setPageStep(0.01)
        tip = ("σ₁, the largest singular value of every recurrent matrix (the notes call it the "
               "'largest eigenvalue'; it is a singular value). σ₁ > 1: σ₁ᵗ explodes; σ₁ < 1: it vanishes.")
        self.sigma1.setToolTip(tip)
        self.sigma1.value_changed.connect(lambda v: self._set(sigma1=round(float(v), 3)))
        self.sigma1_spin = self._field_box("sigma1", tip + " Type any value in the range.")
        row = QHBoxLayout()
        row.addWidget(self.sigma1, 1)
        row.addWidget(self.sigma1_spin)
        form.addRow("σ₁", row)
        self.shape = self._field_combo("shape", "The other singular values σ₂…σₙ: each contributes σᵢᵗ "
                                                "(faint lines).")
        form.addRow("Shape", self.shape)
        self.structure = self._field_combo(
            "structure", "Symmetric: W = QΣQᵀ, so Wᵗ = QΣᵗQᵀ and ‖Wᵗ‖ = σ₁ᵗ as the notes say (Wᵗ = UΣᵗVᵀ "
                         "holds only when U = V). Rotations: still normal (WᵀW = WWᵀ) with U ≠ V and "
                         "complex eigenvalues σᵢe^{±iθ}; ‖Wᵗ‖ = σ₁ᵗ still. Non-normal: W = UΣVᵀ; then "
                         "only ‖Wᵗ‖ ≤ σ₁ᵗ holds and ‖Wᵗ‖^(1/t) → the spectral radius ρ.")
        form.addRow("W", self.structure)
        self.seed = self._field_box("seed", "Random seed of the singular vectors, the input weights "
                                            "and the embedding.")
        form.addRow("Seed", self.seed)
        return box

    def _gates_group(self):
        box, form = self._form("Gates and inputs")
        self.forget_bias = self._field_box(
            "forget_bias", "LSTM forget-gate bias b_f: large b_f makes f_t ≈ 1, so C_t = f_t⊙C_{t−1} + … "
                           "carries C along the conveyor belt.")
        self.update_bias = self._field_box(
            "update_bias", "GRU update-gate bias b_z. PyTorch form: large b_z ⇒ z ≈ 1 keeps hₜ₋₁. Seed "
                           "form: h_t = (1−z)hₜ₋₁ + z h̃, so keeping needs a negative b_z.")
        self.input_scale = self._field_box(
            "input_scale", "Scale of the input weights W_hx. Large inputs saturate tanh and the gates "
                           "(φ' → 0), which shrinks the gradient.")
        form.addRow("LSTM b_f", self.forget_bias)
        form.addRow("GRU b_z", self.update_bias)
        form.addRow("Input scale", self.input_scale)
        return box

    def _input_group(self):
        box, form = self._form("Input sequence")
        self.use_text = QRadioButton("sentence")
        self.use_signal = QRadioButton("signal")
        self.use_text.setObjectName("source_text")
        self.use_signal.setObjectName("source_signal")
        self.use_text.setToolTip("Feed a sentence: each token becomes a fixed vector (a seeded embedding).")
        self.use_signal.setToolTip("Feed a synthetic signal of length T.")
        self.use_text.toggled.connect(lambda on: on and self._set(source="text"))
        self.use_signal.toggled.connect(lambda on: on and self._set(source="signal"))
        row = QHBoxLayout()
        row.addWidget(self.use_text)
        row.addWidget(self.use_signal)
        form.addRow("Source", row)
        self.example = self._combo("example", [("— the notes' examples —", None)] + EXAMPLES,
                                   "The notes' sentences: a short gap (clouds → sky), a long gap "
                                   "(France → French) and the cereal review.", self._on_example)
        form.addRow(self.example)
        self.sentence = QLineEdit()
        self.sentence.setObjectName("sentence")
        self.sentence.setToolTip("The sentence fed to the cell, one token a step (edit freely).")
        self.sentence.textEdited.connect(lambda _: self._text_timer.start())
        self.sentence.editingFinished.connect(self._apply_text)
        form.addRow(self.sentence)
        self.signal = self._field_combo("signal", "Synthetic input x_t: seeded noise, one impulse, zeros "
                                                  "or a sine.")
        form.addRow("Signal", self.signal)
        self.seq_length = self._field_box("length", "Sequence length T of the synthetic signal. With a "
                                                    "sentence, T is its number of tokens.")
        form.addRow("Length T", self.seq_length)
        return box

    def _clip_group(self):
        box, form = self._form("Gradient clipping (§3.1)")
        self.clip = self._field_box("clip", "Threshold: if ‖ĝ‖ ≥ threshold then ĝ ← threshold/‖ĝ‖ · ĝ "
                                            "(Mikolov). The clipped norm is drawn dashed on the gradient "
                                            "plot. 0 = off.")
        self.clip.setSpecialValueText("off")
        form.addRow("Threshold", self.clip)
        return box

    # -- writing to the session ------------------------------------------------------------------
    def _set(self, **changes):
        try:
            self.session.update(**changes)
        except ConfigError as exc:
            dialogs.warn(self, str(exc))
            self.sync(self.session.config)

    def _on_preset(self, name):
        if name:
            self.session.load_preset(name)

    def _on_example(self, text):
        if text:
            self._set(source="text", text=text)

    def _apply_text(self):
        self._text_timer.stop()
        text = self.sentence.text()
        if text == self.session.config.text:
            return
        if not tokenize(text):
            return   # nothing to read yet: keep the last sentence until the user types a word
        self._set(source="text", text=text)

    # -- following the session -------------------------------------------------------------------
    def sync(self, c):
        widgets = [*self.bound.values(), self.sigma1, self.use_text, self.use_signal, self.example,
                   self.preset]
        with blocked(*widgets):
            for name, w in self.bound.items():
                if isinstance(w, QComboBox):
                    set_index(w, max(0, w.findData(getattr(c, name))))
                elif name != "length" or c.source == "signal":
                    set_value(w, getattr(c, name))
            set_value(self.sigma1, min(max(c.sigma1, SIGMA_SLIDER[0]), SIGMA_SLIDER[1]))
            set_checked(self.use_text, c.source == "text")
            set_checked(self.use_signal, c.source == "signal")
            ex = self.example.findData(c.text)
            set_index(self.example, ex if (ex > 0 and c.source == "text") else 0)
            match = [i + 1 for i, pc in enumerate(self._preset_configs) if pc == c]
            set_index(self.preset, match[0] if match else 0)
            desc = self.presets[match[0] - 1].description if match else "Custom setup."
            if self.preset_desc.text() != desc:
                self.preset_desc.setText(desc)
        if not self.sentence.hasFocus() and self.sentence.text() != c.text:
            self.sentence.setText(c.text)
        compare = self.session.compare_mode      # compare mode runs all three kinds
        set_enabled(self.activation, c.cell == "rnn" or compare)
        set_enabled(self.forget_bias, c.cell == "lstm" or compare)
        set_enabled(self.update_bias, c.cell == "gru" or compare)
        set_enabled(self.convention, c.cell == "gru" or compare)
        text = c.source == "text"
        set_enabled(self.example, text)
        set_enabled(self.sentence, text)
        set_enabled(self.signal, not text)
        set_enabled(self.seq_length, not text)
        loaded = self.session.weights_name
        for w in (self.hidden_size, self.input_size, self.cell_kind, self.sigma1, self.sigma1_spin,
                  self.shape, self.structure, self.forget_bias, self.update_bias, self.input_scale):
            set_enabled(w, loaded is None and w.isEnabled() if w in (self.forget_bias, self.update_bias)
                         else loaded is None)
        wl = f"Weights from <b>{loaded}</b> (File → Use built weights to go back)" if loaded else ""
        if self.weights_label.text() != wl:
            self.weights_label.setText(wl)
        if self.weights_label.isVisibleTo(self) != bool(loaded):
            self.weights_label.setVisible(bool(loaded))

    def _sync_length(self, a):
        suffix = " tokens" if a.tokens is not None else ""
        if a.tokens is not None:
            with blocked(self.seq_length):
                set_value(self.seq_length, min(len(a.tokens), self.seq_length.maximum()))
        if self.seq_length.suffix() != suffix:
            self.seq_length.setSuffix(suffix)

    def apply_style(self, theme=None):
        if theme is not None:
            self.theme = theme
        self.setFont(self.theme.font(0))
