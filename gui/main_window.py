"""The main window: control dock on the left, the views in the centre, the transport bar at the
bottom, a status bar with the current step and values, and the menus."""
from __future__ import annotations

import json
import os

from PySide6.QtCore import QSettings, Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QDockWidget,
    QFileDialog,
    QGroupBox,
    QLabel,
    QMainWindow,
    QMessageBox,
    QProgressBar,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from core.config import SESSION_VERSION, Config, ConfigError
from core.fileio import atomic_write_text
from core.presets import list_presets
from core.theory import format_pow10
from core.weights import WeightsError, load_weights

from . import dialogs, style
from .controls import ControlPanel
from .transport import TransportBar
from .views.flow import FlowView
from .views.gates import GatesView
from .views.gradient import GradientView
from .views.spectrum import SpectrumView
from .views.states import StatesView

DEFAULT_SIZE = (1600, 1000)


def framed(title: str, widget: QWidget, name: str) -> QGroupBox:
    box = QGroupBox(title)
    box.setObjectName(name)
    lay = QVBoxLayout(box)
    lay.setContentsMargins(4, 6, 4, 4)
    lay.addWidget(widget)
    return box


class SessionFileError(ValueError):
    """A session file cannot be used; the message says why."""


def read_session_file(path) -> Config:
    """Validate a saved session completely before anything is applied."""
    try:
        raw = open(path, "rb").read()
    except OSError as exc:
        raise SessionFileError(f"{path}: cannot open ({exc.strerror or exc})") from None
    try:
        data = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise SessionFileError(f"{path}: not UTF-8 text") from None
    except json.JSONDecodeError as exc:
        raise SessionFileError(f"{path}: invalid JSON ({exc.msg}, line {exc.lineno})") from None
    if not isinstance(data, dict) or "version" not in data:
        raise SessionFileError(f"{path}: not a Gatescope session (no 'version' field)")
    v = data["version"]
    if not isinstance(v, int) or isinstance(v, bool):
        raise SessionFileError(f"{path}: 'version' must be a whole number")
    if v > SESSION_VERSION:
        raise SessionFileError(f"{path}: made by a newer Gatescope (version {v}; this one reads "
                               f"{SESSION_VERSION})")
    setup = data.get("setup")
    unknown = sorted(set(data) - {"version", "setup", "app"})
    if unknown:
        raise SessionFileError(f"{path}: unknown key '{unknown[0]}'")
    try:
        return Config.from_dict(setup)
    except ConfigError as exc:
        raise SessionFileError(f"{path}: {exc}") from None


def session_json(config_dict: dict) -> str:
    return json.dumps({"version": SESSION_VERSION, "app": "gatescope", "setup": config_dict},
                      indent=2, ensure_ascii=False)


class MainWindow(QMainWindow):
    def __init__(self, session, parent=None):
        super().__init__(parent)
        self.session = session
        self.setWindowTitle("Gatescope — vanishing and exploding gradients, LSTM and GRU gates")
        self.resize(*DEFAULT_SIZE)
        self.setMinimumSize(1024, 640)
        self.setFont(style.font(0))
        # views
        self.gradient = GradientView(session)
        self.flow = FlowView(session)
        self.gates = GatesView(session)
        self.states = StatesView(session)
        self.spectrum = SpectrumView(session)
        self.frames = {
            "gradient": framed("Gradient flow: how much of ∂ℓ/∂s_t reaches s₀", self.gradient, "frame_gradient"),
            "flow": framed("Cell-state flow at step t", self.flow, "frame_flow"),
            "gates": framed("Gates", self.gates, "frame_gates"),
            "states": framed("States", self.states, "frame_states"),
            "spectrum": framed("Spectrum of the recurrent weights", self.spectrum, "frame_spectrum"),
        }
        top = QSplitter(Qt.Horizontal)
        top.addWidget(self.frames["gradient"])
        top.addWidget(self.frames["flow"])
        top.setSizes([700, 620])
        bottom = QSplitter(Qt.Horizontal)
        for k in ("gates", "states", "spectrum"):
            bottom.addWidget(self.frames[k])
        bottom.setSizes([520, 420, 520])
        central = QSplitter(Qt.Vertical)
        central.setObjectName("central")
        central.addWidget(top)
        central.addWidget(bottom)
        central.setSizes([520, 440])
        self.transport = TransportBar(session)
        holder = QWidget()
        lay = QVBoxLayout(holder)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(0)
        lay.addWidget(central, 1)
        lay.addWidget(self.transport)
        self.setCentralWidget(holder)
        # control dock
        self.controls = ControlPanel(session)
        self.dock = QDockWidget("Controls", self)
        self.dock.setObjectName("controls_dock")
        self.dock.setWidget(self.controls)
        self.dock.setFeatures(QDockWidget.DockWidgetMovable | QDockWidget.DockWidgetClosable)
        self.dock.setMinimumWidth(320)
        self.addDockWidget(Qt.LeftDockWidgetArea, self.dock)
        self.resizeDocks([self.dock], [350], Qt.Horizontal)
        # status bar
        self.status_label = QLabel()
        self.status_label.setObjectName("status_values")
        self.statusBar().addWidget(self.status_label, 1)
        self.progress = QProgressBar()
        self.progress.setMaximumWidth(180)
        self.progress.setRange(0, 100)
        self.progress.setFormat("computing %p%")
        self.progress.hide()
        self.statusBar().addPermanentWidget(self.progress)
        self._build_menus()
        session.step_changed.connect(self._update_status)
        session.analysis_changed.connect(lambda _: self._update_status(session.step))
        session.busy_changed.connect(self._on_busy)
        session.progress_changed.connect(lambda f: self.progress.setValue(int(100 * f)))
        session.error.connect(self._on_error)
        self.setAcceptDrops(True)

    # -- menus and shortcuts ---------------------------------------------------------------------
    def _action(self, menu, text, slot, shortcut=None, name=None, checkable=False):
        act = QAction(text, self)
        if shortcut:
            act.setShortcut(QKeySequence(shortcut))
            act.setShortcutContext(Qt.WindowShortcut)
        if name:
            act.setObjectName(name)
        act.setCheckable(checkable)
        act.triggered.connect(slot)
        if menu is not None:
            menu.addAction(act)
        self.addAction(act)
        return act

    def _build_menus(self):
        s = self.session
        mb = self.menuBar()
        f = mb.addMenu("&File")
        self._action(f, "&Open session…", self.open_session, QKeySequence.Open, "open_session")
        self._action(f, "&Save session…", self.save_session, QKeySequence.Save, "save_session")
        f.addSeparator()
        self._action(f, "Open &weights (.npz)…", self.open_weights, "Ctrl+W", "open_weights")
        self._action(f, "Use &built weights", lambda: s.set_weights(None), None, "built_weights")
        f.addSeparator()
        self._action(f, "&Export window as PNG…", self.export_png, "Ctrl+E", "export_png")
        self._action(f, "Export trace as CSV / NPZ…", self.export_trace, "Ctrl+Shift+E", "export_trace")
        f.addSeparator()
        self._action(f, "&Quit", self.close, QKeySequence.Quit, "quit")
        v = mb.addMenu("&View")
        self.dock_action = self.dock.toggleViewAction()
        self.dock_action.setText("&Controls")
        self.dock_action.setShortcut(QKeySequence("Ctrl+D"))
        v.addAction(self.dock_action)
        for key, frame in self.frames.items():
            act = self._action(v, frame.title(), frame.setVisible, None, f"show_{key}", True)
            act.setChecked(True)
        v.addSeparator()
        self._action(v, "&Full screen", self.toggle_fullscreen, "F11", "fullscreen")
        p = mb.addMenu("&Presets")
        for preset in list_presets():
            act = self._action(p, preset.title, lambda _=False, n=preset.name: s.load_preset(n))
            act.setToolTip(preset.description)
            act.setStatusTip(preset.description)
        h = mb.addMenu("&Help")
        self._action(h, "&Keyboard shortcuts", self.show_shortcuts, "F1", "shortcuts")
        self._action(h, "&About Gatescope", self.show_about, None, "about")
        # transport keys (no menu entries; listed in Help → Keyboard shortcuts)
        self._action(None, "Play / pause", s.toggle_play, "Space", "key_play")
        self._action(None, "Step forward", lambda: s.step_by(1), "Right", "key_forward")
        self._action(None, "Step back", lambda: s.step_by(-1), "Left", "key_back")
        self._action(None, "First step", s.go_start, "Home", "key_home")
        self._action(None, "Last step", s.go_end, "End", "key_end")

    # -- status ----------------------------------------------------------------------------------
    def _update_status(self, t):
        a = self.session.analysis
        if a is None:
            return
        tr = a.trace
        parts = [f"t = {t} / {tr.steps}"]
        if a.tokens and t > 0:
            parts.append(f"token “{a.tokens[t - 1]}”")
        parts.append(f"‖∂s_t/∂s₀‖ = {format_pow10(tr.log10_jac_norm[t])}")
        parts.append(f"σ₁ᵗ = {format_pow10(a.sigma_curves[0][t])}")
        if tr.log10_cell_norm is not None:
            parts.append(f"‖∂C_t/∂C₀‖ = {format_pow10(tr.log10_cell_norm[t])}")
        parts.append(f"{a.cell.kind.upper()} n = {a.cell.hidden_size}")
        if a.weights_name:
            parts.append(f"weights: {a.weights_name}")
        self.status_label.setText("   ·   ".join(parts))

    def _on_busy(self, busy):
        self.progress.setVisible(busy and self.session.analysis is not None)
        if not busy:
            self.progress.setValue(0)

    def _on_error(self, message, details):
        dialogs.warn(self, message, details)

    # -- files -----------------------------------------------------------------------------------
    def open_session(self, path=None):
        if not path:
            path, _ = QFileDialog.getOpenFileName(self, "Open session", "", "Gatescope session (*.json)")
            if not path:
                return
        try:
            config = read_session_file(path)
        except SessionFileError as exc:
            dialogs.warn(self, str(exc))
            return
        self.session.set_config(config)

    def save_session(self, path=None):
        if not path:
            path, _ = QFileDialog.getSaveFileName(self, "Save session", "gatescope-session.json",
                                                  "Gatescope session (*.json)")
            if not path:
                return
        try:
            atomic_write_text(path, session_json(self.session.to_dict()))
        except OSError as exc:
            dialogs.warn(self, f"Cannot save {path}: {exc.strerror or exc}")

    def open_weights(self, path=None):
        if not path:
            path, _ = QFileDialog.getOpenFileName(self, "Open weights", "", "NumPy archive (*.npz)")
            if not path:
                return
        c = self.session.config
        try:
            cell = load_weights(path, nonlinearity=c.activation, convention=c.convention)
        except WeightsError as exc:
            dialogs.warn(self, str(exc))
            return
        self.session.set_weights(cell, os.path.basename(path))

    def export_png(self, path=None):
        if not path:
            path, _ = QFileDialog.getSaveFileName(self, "Export window", "gatescope.png", "PNG image (*.png)")
            if not path:
                return
        if not self.grab().save(path, "PNG"):
            dialogs.warn(self, f"Cannot write {path}")

    def export_trace(self, path=None):
        from core.export import write_trace
        a = self.session.analysis
        if a is None:
            return
        if not path:
            path, _ = QFileDialog.getSaveFileName(self, "Export trace", "trace.csv",
                                                  "CSV (*.csv);;NumPy archive (*.npz)")
            if not path:
                return
        try:
            write_trace(a.trace, path, a.tokens)
        except (OSError, ValueError) as exc:
            dialogs.warn(self, f"Cannot export to {path}: {exc}")

    def dragEnterEvent(self, event):
        urls = event.mimeData().urls()
        if urls and urls[0].toLocalFile().lower().endswith((".json", ".npz")):
            event.acceptProposedAction()

    def dropEvent(self, event):
        path = event.mimeData().urls()[0].toLocalFile()
        (self.open_session if path.lower().endswith(".json") else self.open_weights)(path)

    # -- view ------------------------------------------------------------------------------------
    def toggle_fullscreen(self):
        self.showNormal() if self.isFullScreen() else self.showFullScreen()

    def show_shortcuts(self):
        QMessageBox.information(self, "Keyboard shortcuts", (
            "Space\tplay / pause\n→ / ←\tstep forward / back\nHome / End\tfirst / last step\n"
            "Ctrl+O / Ctrl+S\topen / save session\nCtrl+W\topen weights\nCtrl+E\texport window PNG\n"
            "Ctrl+D\tshow / hide controls\nF11\tfull screen\nCtrl+Q\tquit"))

    def show_about(self):
        QMessageBox.about(self, "About Gatescope", (
            "<b>Gatescope</b><br>See why a plain RNN's gradient vanishes or explodes like σ₁ᵗ, and "
            "how LSTM and GRU gates keep information flowing.<br><br>Exact float64 simulation with "
            "analytic Jacobians; gradient norms in log space (10<sup>±600</sup> is fine)."))

    def closeEvent(self, event):
        self.session.shutdown()
        QSettings("Gatescope", "Gatescope").setValue("geometry", self.saveGeometry())
        super().closeEvent(event)
