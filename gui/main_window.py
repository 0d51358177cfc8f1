"""The main window: control dock on the left, the views in the centre, the transport bar at the
bottom, a status bar with the current step and values, and the menus."""
from __future__ import annotations

import pyqtgraph as pg
from gatescope.core.config import SCALES
from gatescope.core.presets import list_presets
from gatescope.core.text import plain
from gatescope.core.theory import format_norm, format_pow10
from PySide6.QtCore import QEvent, Qt, QTimer
from PySide6.QtGui import QAction, QActionGroup, QColor, QFontMetrics, QKeySequence, QPalette
from PySide6.QtWidgets import (
    QApplication,
    QDialog,
    QDockWidget,
    QFileDialog,
    QGroupBox,
    QLineEdit,
    QMainWindow,
    QMenu,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from . import dialogs, style
from .controls import ControlPanel
from .document import DocumentError
from .explore_area import ExploreArea
from .lazy_panel import LazyPanel
from .model_bar import ModelBar
from .readout import Readout
from .transport import TransportBar
from .views.explain import ExplainView
from .views.flow import FlowView
from .views.gates import GatesView
from .views.gradient import GradientView
from .views.spectrum import SpectrumView
from .views.states import StatesView

DEFAULT_SIZE = (1600, 1000)
TABS = ("explore", "compare", "lab")


class Frame(QGroupBox):
    """A titled panel whose title is elided ("…") to the panel's width instead of running into
    the next panel (large presentation scales, small windows); the full title is its tooltip."""

    def __init__(self, title: str):
        super().__init__(title)
        self.full_title = title
        self.setToolTip(title)

    def set_title_shown(self, on: bool):
        """The title row (hidden where a tab already names the panel)."""
        self._title_shown = on
        self.setTitle(self.full_title if on else "")
        self._elide()

    def _elide(self):
        if not getattr(self, "_title_shown", True):
            return
        room = max(40, self.width() - 24)
        shown = self.fontMetrics().elidedText(self.full_title, Qt.ElideRight, room)
        if shown != self.title():
            self.setTitle(shown)

    def resizeEvent(self, event):
        super().resizeEvent(event)
        self._elide()

    def changeEvent(self, event):
        super().changeEvent(event)
        if event.type() == QEvent.FontChange:
            self._elide()

    def minimumSizeHint(self):
        hint = super().minimumSizeHint()
        hint.setWidth(min(hint.width(), 160))        # the title never sets the panel's minimum
        return hint


def _connectivity_view(session):
    # imported when first shown: a faster start
    from .views.connectivity import ConnectivityView
    return ConnectivityView(session)


def _directions_view(session):
    from .views.directions import DirectionsView
    return DirectionsView(session)


def framed(title: str, widget: QWidget, name: str) -> QGroupBox:
    box = Frame(title)
    box.setObjectName(name)
    lay = QVBoxLayout(box)
    lay.setContentsMargins(4, 6, 4, 4)
    lay.addWidget(widget)
    return box


class MainWindow(QMainWindow):
    def __init__(self, session, parent=None):
        super().__init__(parent)
        self.session = session
        self.theme = style.Theme(session.view.scale, session.view.high_contrast)
        self.setWindowTitle("Gatescope — vanishing and exploding gradients, LSTM and GRU gates")
        self.resize(*DEFAULT_SIZE)
        self.setMinimumSize(1024, 600)
        # views
        self.gradient = GradientView(session)
        self.flow = FlowView(session)
        self.gates = GatesView(session)
        self.states = StatesView(session)
        self.spectrum = SpectrumView(session)
        # the shared slot's other tabs are built when first shown (a faster start)
        self._panels = {"connectivity": LazyPanel(lambda: _connectivity_view(session)),
                        "directions": LazyPanel(lambda: _directions_view(session))}
        for panel in self._panels.values():
            panel.built.connect(self._style_new_view)
        self.frames = {
            "gradient": framed("Gradient flow: how much of ∂ℓ/∂s_t reaches s₀", self.gradient, "frame_gradient"),
            "flow": framed("Cell-state flow at step t", self.flow, "frame_flow"),
            "gates": framed("Gates", self.gates, "frame_gates"),
            "states": framed("States", self.states, "frame_states"),
            "spectrum": framed("Spectrum of the recurrent weights", self.spectrum, "frame_spectrum"),
            "connectivity": framed("Connectivity: which input x_k still reaches h_t", self._panels["connectivity"],
                                   "frame_connectivity"),
            "directions": framed("Every direction: σᵢ(∂s_t/∂s₀), the Lyapunov spectrum, the edge of chaos",
                                 self._panels["directions"], "frame_directions"),
        }
        central = ExploreArea(self.frames)
        self.transport = TransportBar(session)
        self.model_bar = ModelBar(session)
        # the Compare page and the Training lab are built when first shown (a faster start)
        self._compare = self._lab = None
        self._compare_page, self._lab_page = QWidget(), QWidget()
        for holder in (self._compare_page, self._lab_page):
            QVBoxLayout(holder).setContentsMargins(0, 0, 0, 0)
        self.pages = QTabWidget()
        self.pages.setObjectName("pages")
        self.pages.setDocumentMode(True)
        self.pages.addTab(central, "Explore")
        self.pages.addTab(self._compare_page, "Compare RNN · LSTM · GRU")
        self.pages.addTab(self._lab_page, "Training lab")
        self.pages.setTabToolTip(1, "The notes' argument in one picture: the RNN follows σ₁ᵗ, the gated cells don't")
        self.pages.setTabToolTip(2, "Train the three cells on France → French and see which one learns it")
        self.pages.currentChanged.connect(self._on_page)
        self.central_split = central
        session.compare_mode_changed.connect(self._on_compare_mode)
        holder = QWidget()
        lay = QVBoxLayout(holder)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(0)
        lay.addWidget(self.pages, 1)
        lay.addWidget(self.model_bar)
        lay.addWidget(self.transport)
        self.setCentralWidget(holder)
        for view in holder.findChildren(pg.GraphicsView):
            style.tune_view(view)
        # control dock
        self.controls = ControlPanel(session)
        self.dock = QDockWidget("Controls", self)
        self.dock.setObjectName("controls_dock")
        self.dock.setWidget(self.controls)
        self.dock.setFeatures(QDockWidget.DockWidgetMovable | QDockWidget.DockWidgetClosable)
        self.dock.setMinimumWidth(320)
        self.addDockWidget(Qt.LeftDockWidgetArea, self.dock)
        self.explain = ExplainView(session)
        self.explain_dock = QDockWidget("Explain: the notes' equations at step t", self)
        self.explain_dock.setObjectName("explain_dock")
        self.explain_dock.setWidget(self.explain)
        self.explain_dock.setFeatures(QDockWidget.DockWidgetMovable | QDockWidget.DockWidgetClosable)
        self.addDockWidget(Qt.RightDockWidgetArea, self.explain_dock)
        self.explain_dock.hide()
        self.resizeDocks([self.dock, self.explain_dock], [350, 430], Qt.Horizontal)
        central.attach_explain(self.explain, self.explain_dock)
        self.explore = central
        # status bar
        self.status_label = Readout(lines=1, plain=True)    # new text never re-lays out the window
        self.status_label.setObjectName("status_values")
        self.statusBar().addWidget(self.status_label, 1)
        self.progress = QProgressBar()
        self.progress.setMinimumWidth(140)
        self.progress.setRange(0, 100)
        self.progress.setFormat("computing %p%")
        self.progress.hide()
        self.statusBar().addPermanentWidget(self.progress)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setObjectName("cancel")
        self.cancel_button.setToolTip("Stop this computation and keep the last picture")
        self.cancel_button.clicked.connect(session.cancel)
        self.cancel_button.hide()
        self.statusBar().addPermanentWidget(self.cancel_button)
        self.settings = session.document.store
        self._build_menus()
        session.step_changed.connect(self._update_status)
        session.analysis_changed.connect(lambda _: self._update_status(session.step))
        self._busy_timer = QTimer(self)
        self._busy_timer.setSingleShot(True)
        self._busy_timer.setInterval(300)
        self._busy_timer.timeout.connect(self._show_progress)
        session.busy_changed.connect(self._on_busy)
        session.progress_changed.connect(lambda f: self.progress.setValue(int(100 * f)))
        session.error.connect(self._on_error)
        session.view_changed.connect(self._on_view)
        self.setAcceptDrops(True)
        from . import keys
        self.gradient.plot_widget.setFocusPolicy(Qt.StrongFocus)
        self.keys = keys.install(self, self.gradient.plot_widget)
        from .lesson import attach_lessons
        self.lessons = attach_lessons(self)          # after the keys: a lesson's keys come first
        self._on_view(session.view, force=True)

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
        self.recent_menu = f.addMenu("Open &recent")
        self.recent_menu.aboutToShow.connect(self._fill_recent)
        f.addSeparator()
        self._action(f, "Open &weights / model…", self.open_weights, "Ctrl+W", "open_weights")
        self._action(f, "Use &built weights", lambda: s.set_weights(None), None, "built_weights")
        f.addSeparator()
        self._action(f, "&Export window as PNG / SVG / PDF…", self.export_png, "Ctrl+E", "export_png")
        ex = f.addMenu("Export &plot")
        for key, frame in self.frames.items():
            self._action(ex, frame.full_title + "…", lambda _=False, k=key: self.export_plot(k), None,
                         f"export_{key}")
        self._action(f, "Export trace as CSV / NPZ…", self.export_trace, "Ctrl+Shift+E", "export_trace")
        self._action(f, "Export connectivity as CSV…", self.export_connectivity_csv, None,
                     "export_connectivity_csv")
        self._action(f, "Export &animation (GIF / MP4)…", self.export_animation, None, "export_animation")
        f.addSeparator()
        self._action(f, "Open &lesson…", self.open_lesson, None, "open_lesson")
        self._action(f, "Copy setup &link", self.copy_setup_link, None, "copy_setup_link")
        self._action(f, "Paste setup link", self.paste_setup_link, "Ctrl+Shift+V", "paste_setup_link")
        f.addSeparator()
        self._action(f, "&Quit", self.close, QKeySequence.Quit, "quit")
        v = mb.addMenu("&View")
        self.dock_action = self.dock.toggleViewAction()
        self.dock_action.setText("&Controls")
        self.dock_action.setShortcut(QKeySequence("Ctrl+D"))
        v.addAction(self.dock_action)
        self.explain_action = self._action(v, "&Explain panel (equations with live numbers)",
                                           self.explore.set_explain_wanted, "Ctrl+L", "show_explain", True)
        self.explain_dock.visibilityChanged.connect(
            lambda on: self.explore.mode == "grid" and self.explain_action.setChecked(on))
        self.compare_action = self._action(v, "Co&mpare mode: RNN · LSTM · GRU", s.set_compare_mode, "Ctrl+M",
                                           "compare_mode", True)
        self._action(v, "&Training lab", lambda: self.pages.setCurrentIndex(2), "Ctrl+T", "training_lab")
        v.addSeparator()
        for key, frame in self.frames.items():
            act = self._action(v, frame.full_title, lambda on, k=key: self.explore.set_panel_visible(k, on),
                               None, f"show_{key}", True)
            act.setChecked(True)
        v.addSeparator()
        self._action(v, "&Full screen", self.toggle_fullscreen, "F11", "fullscreen")
        scale_menu = v.addMenu("Presentation &scale")
        group = QActionGroup(self)
        self.scale_actions = {}
        for k, f_ in enumerate(SCALES):
            act = self._action(scale_menu, f"×{f_:g}", lambda _=False, f_=f_: self.set_scale(f_),
                               f"Ctrl+{k + 1}" if k < 3 else None, f"scale_{f_:g}", True)
            group.addAction(act)
            self.scale_actions[f_] = act
        self.scale_actions[1.0].setChecked(True)
        self.contrast_action = self._action(v, "&High-contrast theme", self.set_high_contrast, "Ctrl+H",
                                            "high_contrast", True)
        p = mb.addMenu("&Presets")
        for preset in list_presets():
            act = self._action(p, preset.title, lambda _=False, n=preset.name: s.load_preset(n))
            act.setToolTip(preset.description)
            act.setStatusTip(preset.description)
        les = mb.addMenu("&Lessons")
        self._action(les, "The &notes, step by step", lambda: self.lessons.open("notes"), None, "lesson_notes")
        self._action(les, "&Open lesson…", self.open_lesson, None, "open_lesson_menu")
        self._action(les, "Export this step as a &clip…", self.export_step_clip, None, "export_step_clip")
        h = mb.addMenu("&Help")
        self._action(h, "The &notes (LSTM and GRU)", self.show_notes, "F1", "notes")
        self._action(h, "&Keyboard shortcuts", self.show_shortcuts, None, "shortcuts")
        self._action(h, "&About Gatescope", self.show_about, None, "about")
        # transport keys (no menu entries; listed in Help → Keyboard shortcuts)
        # Space, →/←, Home/End and PageDown/PageUp: gui/keys.py (whatever widget has the focus)

    # -- status ----------------------------------------------------------------------------------
    def _update_status(self, t):
        a = self.session.analysis
        if a is None:
            return
        tr = a.trace
        parts = [f"t = {t} / {tr.steps}"]
        if a.tokens and t > 0:
            parts.append(f"token “{plain(a.tokens[t - 1])}”")
        parts.append(f"‖∂sₜ/∂s₀‖ = {format_norm(tr.log10_jac_norm[t], a.smooth)}")
        parts.append(f"σ₁ᵗ = {format_pow10(a.sigma_curves[0][t])}")
        if tr.log10_cell_norm is not None:
            parts.append(f"‖∂Cₜ/∂C₀‖ = {format_norm(tr.log10_cell_norm[t], a.smooth)}")
        model_line = getattr(a, "model_line", None)
        if model_line:         # the file's name, kind, layers and sizes, and the layer drawn
            layer = getattr(a, "layer_label", None)
            parts.append(plain(model_line) + (f" · drawn: {plain(layer)}" if layer else ""))
        else:
            parts.append(f"{a.cell.kind.upper()} n = {a.cell.hidden_size}")
            if a.weights_name:
                parts.append(f"weights: {plain(a.weights_name)}")
        self.status_label.setText("   ·   ".join(parts))

    def _on_busy(self, busy):
        """Progress and Cancel appear only for computations still running after 300 ms: showing
        them for every quick recompute would re-lay out the window on each slider move."""
        if busy and self.session.analysis is not None:
            self._busy_timer.start()
        else:
            self._busy_timer.stop()
            if self.progress.isVisible():
                self.progress.hide()
                self.cancel_button.hide()
            self.progress.setValue(0)

    def _show_progress(self):
        if self.session.busy:
            self.progress.show()
            self.cancel_button.show()

    def _on_error(self, message, details):
        dialogs.warn(self, message, details)

    # -- files -----------------------------------------------------------------------------------
    def _file_action(self, method, path):
        """Run a document method; a refusal is shown as a dialog and changes nothing."""
        try:
            method(path)
        except DocumentError as exc:
            dialogs.warn(self, str(exc))
            return False
        return True

    def open_session(self, path=None):
        path = self._ask_path(path, False, "Open session", "", "Gatescope session (*.json)")
        return bool(path) and self._file_action(self.session.document.open_session, path)

    def _ask_path(self, path, save: bool, title: str, default: str, filters: str):
        """The given path, or one chosen in a file dialog (None if cancelled)."""
        if path:
            return path
        dialog = QFileDialog.getSaveFileName if save else QFileDialog.getOpenFileName
        chosen, _ = dialog(self, title, default, filters)
        return chosen or None

    def save_session(self, path=None):
        path = self._ask_path(path, True, "Save session", "gatescope-session.json",
                              "Gatescope session (*.json)")
        return bool(path) and self._file_action(self.session.document.save_session, path)

    def open_weights(self, path=None):
        path = self._ask_path(path, False, "Open weights or a model", "",
                              "Model files (*.npz *.safetensors *.pt *.pth *.keras);;All files (*)")
        return bool(path) and self._file_action(self.session.document.open_weights, path)

    def export_png(self, path=None):
        """The whole window as PNG or SVG (by the file name's extension)."""
        path = self._ask_path(path, True, "Export window", "gatescope.png",
                              "PNG image (*.png);;SVG drawing (*.svg);;PDF document (*.pdf)")
        if path:
            self._write_export(lambda: self, path)

    def _write_export(self, target, path):
        """Write `target()` (the window or a plot's item) to `path`; a failure is a dialog."""
        from .exporting import ExportError, export_item  # imported when first used
        try:
            export_item(target(), path)
        except (ExportError, OSError) as exc:
            dialogs.warn(self, str(exc))

    def plot_target(self, key):
        """What 'Export plot' writes for each view: the pyqtgraph scene item where there is one
        (a view behind another tab first draws what it holds)."""
        held = {"gates": self.gates, "states": self.states, "spectrum": self.spectrum}.get(key)
        if held is not None:
            held.hold.flush()
        return {"gradient": self.gradient.plot_widget.ci,
                "gates": self.gates.stack.currentWidget().ci,
                "states": self.states.ci,
                "spectrum": self.spectrum.graphs.ci,
                "connectivity": self.connectivity.export_targets()["connectivity"],
                "directions": self.directions.export_targets()["directions"],
                "flow": self.flow}[key]

    def export_plot(self, key, path=None):
        path = self._ask_path(path, True, "Export plot", f"gatescope-{key}.png",
                              "PNG image (*.png);;SVG drawing (*.svg);;PDF document (*.pdf)")
        if path:
            self._write_export(lambda: self.plot_target(key), path)

    def export_trace(self, path=None):
        a = self.session.analysis
        if a is None:
            return
        path = self._ask_path(path, True, "Export trace", "trace.csv",
                              "CSV (*.csv);;NumPy archive (*.npz)")
        if not path:
            return
        try:
            from gatescope.core.export import write_analysis
            extra = {}
            directions = self._panels["directions"].built_view      # None: never opened
            if directions is not None and directions.curves is not None:   # reset on every new analysis
                extra["log10_singular_values"] = directions.curves
                if directions.lyapunov is not None:
                    extra["lyapunov"] = directions.lyapunov
            connectivity = self._panels["connectivity"].built_view
            if connectivity is not None and connectivity.mode == "input" and connectivity.matrix() is not None:
                extra["log10_input_connectivity"] = connectivity.matrix()
            write_analysis(a, path, a.tokens, extra)
        except (OSError, ValueError) as exc:
            dialogs.warn(self, str(exc) if str(path) in str(exc) else f"Cannot export to {path}: {exc}")

    # -- lessons, links and animations (gui/lesson.py, gui/animation.py) ----------------------
    def open_lesson(self, path=None):
        from .lesson import open_lesson
        return open_lesson(self, self.lessons, path or None)

    def copy_setup_link(self):
        from .lesson import copy_setup_link
        return copy_setup_link(self)

    def paste_setup_link(self, text=None):
        from .lesson import paste_setup_link
        return paste_setup_link(self, self.lessons, text or None)

    def export_animation(self):
        from .animation import AnimationDialog, window_targets
        self.animation_dialog = AnimationDialog(self.session, window_targets(self), self, window=self)
        self.animation_dialog.show()
        return self.animation_dialog

    def export_step_clip(self):
        from .lesson import open_clip_dialog
        return open_clip_dialog(self, self.lessons)

    def export_connectivity_csv(self, path=None):
        path = self._ask_path(path, True, "Export connectivity", "connectivity.csv", "CSV (*.csv)")
        if not path:
            return False
        try:
            from gatescope.core.fileio import atomic_writer
            text = self.connectivity.csv_text()
            with atomic_writer(path) as fh:
                fh.write(text.encode("utf-8", "backslashreplace"))
        except (OSError, ValueError) as exc:
            dialogs.warn(self, str(exc))
            return False
        return True

    def dragEnterEvent(self, event):
        urls = event.mimeData().urls()
        if urls and urls[0].toLocalFile().lower().endswith((".json", ".npz")):
            event.acceptProposedAction()

    def dropEvent(self, event):
        self._file_action(self.session.document.open_any, event.mimeData().urls()[0].toLocalFile())

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

    # -- pages built when first needed ----------------------------------------------------------
    @property
    def compare(self):
        if self._compare is None:
            from .views.compare import CompareView
            self._compare = CompareView(self.session, theme=self.theme)
            self._compare_page.layout().addWidget(framed(
                "RNN, LSTM and GRU on the same input and spectrum", self._compare, "frame_compare"))
            self._compare.apply_style(self.theme)
            for gv in self._compare_page.findChildren(pg.GraphicsView):
                style.tune_view(gv)
        return self._compare

    def _build_lab(self):
        from .train_session import TrainSession
        from .views.sweep import SweepView
        from .views.train import TrainView
        self._lab = TrainSession(parent=self)
        self._train_view = TrainView(self._lab)
        self._lab.open_in_explore.connect(self._open_in_explore)
        self._sweep_view = SweepView(self._lab)
        # one model's run and the sweep each get the whole page (stacked, neither had room)
        tabs = QTabWidget()
        tabs.setObjectName("lab_tabs")
        tabs.addTab(self._train_view, "Train one model")
        tabs.addTab(self._sweep_view, "Sweep: accuracy against the gap")
        tabs.setTabToolTip(1, "Train every chosen cell at every gap, several seeds each, with the Train tab's settings")
        self._lab_page.layout().addWidget(tabs)
        for gv in self._lab_page.findChildren(pg.GraphicsView):
            style.tune_view(gv)
        for view in (self._train_view, self._sweep_view):
            view.apply_style(self.theme)

    @property
    def lab(self):
        if self._lab is None:
            self._build_lab()
        return self._lab

    @property
    def train_view(self):
        return self.lab and self._train_view

    @property
    def sweep_view(self):
        return self.lab and self._sweep_view

    def _open_in_explore(self, model):
        """A model the lab trained (core.models.Model with its readout), in Explore: its kind,
        sizes, φ and GRU form become the setup's and, for a word task, its sentence the input (in
        one change: only the model's own vocabulary reads that sentence), shown at the last step,
        so the readout shows the predicted word there and at every step before it."""
        from dataclasses import replace
        s = self.session
        d = model.stack.direction(0)
        changes = {"activation": d.nonlinearity} if d.kind == "rnn" else {}
        if d.kind == "gru":
            changes["convention"] = d.convention
        text = str(model.meta.get("text") or "")
        if model.encoding and text:
            changes.update(source="text", text=text)
        try:
            s.set_config(s.config.replace(**changes), cell=replace(model, name="trained in the lab"), step=-1)
        except ValueError as exc:
            dialogs.warn(self, str(exc))
            return
        s.set_tab("explore")

    def _built_views(self):
        views = [self.gradient, self.flow, self.gates, self.states, self.spectrum,
                 *[p.built_view for p in self._panels.values() if p.built_view is not None],
                 self.controls, self.explain, self.model_bar, self.transport]
        if self._compare is not None:
            views.append(self._compare)
        if self._lab is not None:
            views += [self._train_view, self._sweep_view]
        return views

    def _on_page(self, index):
        """The control dock and the transport belong to Explore and Compare, not the lab."""
        if index == 1:
            self.compare       # noqa: B018 - built on first view
        elif index == 2:
            self.lab           # noqa: B018
        self.session.set_tab(TABS[index])
        lab = index == 2
        self.transport.setVisible(not lab)
        self.status_label.setVisible(not lab)      # Explore's step values mean nothing in the lab
        if lab:
            self._dock_was_visible = self.dock.isVisible()
            self.dock.hide()
        elif getattr(self, "_dock_was_visible", None) is not None:
            self.dock.setVisible(self._dock_was_visible)
            self._dock_was_visible = None

    def _on_compare_mode(self, on):
        if on != (self.session.view.tab == "compare"):
            self.session.set_tab("compare" if on else "explore")
        self.compare_action.setChecked(on)

    # -- recent files ----------------------------------------------------------------------------
    def recent_files(self) -> list[str]:
        return self.session.document.recent_files()

    def _fill_recent(self):
        self.recent_menu.clear()
        files = self.recent_files()
        if not files:
            self.recent_menu.addAction("(none)").setEnabled(False)
        for p in files:
            act = self.recent_menu.addAction(p)
            act.triggered.connect(lambda _=False, p=p: self._file_action(self.session.document.open_any, p))

    # -- presentation ----------------------------------------------------------------------------
    def set_scale(self, factor: float):
        """Font and line-width scale for projectors (×1, ×1.5, ×2, ×3)."""
        self.session.set_scale(factor)

    def set_high_contrast(self, on: bool):
        self.session.set_high_contrast(bool(on))

    def _on_view(self, view, force: bool = False):
        """Follow the session's view state: page, scale and theme."""
        index = TABS.index(view.tab)
        if self.pages.currentIndex() != index:
            self.pages.setCurrentIndex(index)
        self.compare_action.setChecked(view.tab == "compare")
        theme = style.Theme(view.scale, view.high_contrast)
        if theme == self.theme and not force:
            return
        if theme.high_contrast != self.theme.high_contrast or force:
            self._apply_palette(theme.high_contrast)
        self.theme = theme
        self.explore.set_scale(theme.scale)
        for f_, act in self.scale_actions.items():
            act.setChecked(f_ == view.scale)
        self.contrast_action.setChecked(view.high_contrast)
        self.restyle()

    @staticmethod
    def _apply_palette(high_contrast: bool):
        app = QApplication.instance()
        if high_contrast:
            pal = QPalette()
            for role in (QPalette.Window, QPalette.Base, QPalette.Button, QPalette.AlternateBase):
                pal.setColor(role, QColor("white"))
            for role in (QPalette.WindowText, QPalette.Text, QPalette.ButtonText):
                pal.setColor(role, QColor("black"))
            pal.setColor(QPalette.Highlight, QColor("#003fa3"))
            # disabled controls must still look disabled: the high-contrast palette's grey text
            # (≥ 4.5:1 on white and on the grey of a disabled field or button), grey fields
            from gatescope.core.colour import BACKGROUNDS, palette
            grey, field = QColor(palette(True)["DISABLED_TEXT"]), QColor(BACKGROUNDS["DISABLED_FIELD"])
            for role in (QPalette.WindowText, QPalette.Text, QPalette.ButtonText):
                pal.setColor(QPalette.Disabled, role, grey)
            pal.setColor(QPalette.Disabled, QPalette.Base, field)
            pal.setColor(QPalette.Disabled, QPalette.Button, field)
            app.setPalette(pal)
        else:
            app.setPalette(app.style().standardPalette())

    def restyle(self):
        """Apply the theme everywhere: the same code at start and after every scale or theme
        change, so ×1 after ×2 is exactly a fresh start."""
        theme = self.theme
        f = theme.font(0)
        self.setFont(f)
        self.menuBar().setFont(f)
        for menu in self.menuBar().findChildren(QMenu):
            menu.setFont(f)
        # the controls' texts grow with the scale: so does the dock (Ctrl+D hides it for room)
        width = int(320 * min(theme.scale, 1.6))
        self.dock.setMinimumWidth(width)
        self.resizeDocks([self.dock], [width], Qt.Horizontal)      # and back when scaled down
        # "computing 100 %" whole at every scale
        self.progress.setFixedWidth(QFontMetrics(f).horizontalAdvance("computing 100 %") + 48)
        self._style_fonts(self, f)
        for frame in self.frames.values():
            frame.setFont(theme.font(1, bold=True))
        for line in self.findChildren(QLineEdit):    # scrolled as after setText: at its end
            if not line.hasFocus():
                line.end(False)
        for view in self._built_views():
            if hasattr(view, "apply_style"):
                try:
                    view.apply_style(theme)
                except TypeError:          # a view that does not take the theme yet
                    view.apply_style()
        self._style_axes(self, theme)
        self.session.analysis_changed.emit(self.session.analysis) if self.session.analysis else None
        self.flow.update()

    @staticmethod
    def _style_fonts(root, font):
        for w in root.findChildren(QWidget):
            if not isinstance(w, (pg.GraphicsView, QMenu)):
                w.setFont(font)

    @staticmethod
    def _style_axes(root, theme):
        for gv in root.findChildren(pg.GraphicsView):
            for item in gv.scene().items():
                # colour bars are PlotItems too, styled by their views (style_colour_bar): the
                # plots' axis pen on a bar's frame was one of the round trip's differences
                if isinstance(item, pg.PlotItem) and not isinstance(item, pg.ColorBarItem):
                    theme.restyle_axes(item)
            if isinstance(gv, pg.GraphicsLayoutWidget):
                gv.ci.layout.invalidate()

    def _style_new_view(self, view):
        """A view built after the start (a tab first opened): styled as restyle styles the rest."""
        for gv in view.findChildren(pg.GraphicsView):
            style.tune_view(gv)
        view.setFont(self.theme.font(0))
        self._style_fonts(view, self.theme.font(0))
        view.apply_style(self.theme)
        self._style_axes(view, self.theme)

    @property
    def connectivity(self):
        """The Connectivity view (built now if its tab was never opened)."""
        return self._panels["connectivity"].view

    @property
    def directions(self):
        """The Directions view (built now if its tab was never opened)."""
        return self._panels["directions"].view

    # -- help ------------------------------------------------------------------------------------
    def _show_view(self, name: str):
        from .lesson import show_view
        show_view(self, name)

    def show_notes(self):
        dlg = QDialog(self)
        dlg.setObjectName("notes_dialog")
        dlg.setWindowTitle("The notes: LSTM and GRU")
        lay = QVBoxLayout(dlg)
        from .notes_math import NotesBrowser
        browser = NotesBrowser()
        browser.setObjectName("notes_text")
        browser.setFont(self.theme.font(1))
        browser.link_requested.connect(self.lessons.apply_link)
        browser.view_requested.connect(lambda name: self._show_view(name))
        lay.addWidget(browser)
        dlg.resize(900, 800)
        self.notes_dialog = dlg
        dlg.show()

    def fit_to_screen(self):
        """Keep the window inside the available geometry of the screen it is on (a restored or
        default size larger than a 1366×768 laptop or a 1024×600 netbook is shrunk to fit)."""
        screen = self.screen() or QApplication.primaryScreen()
        if screen is None:
            return
        avail = screen.availableGeometry()
        frame_extra = self.frameGeometry().size() - self.geometry().size()
        w = min(self.width(), avail.width() - frame_extra.width())
        h = min(self.height(), avail.height() - frame_extra.height())
        self.setMinimumSize(min(self.minimumWidth(), w), min(self.minimumHeight(), h))
        self.resize(max(w, 320), max(h, 240))
        geo = self.frameGeometry()
        x = min(max(geo.x(), avail.x()), avail.right() - geo.width() + 1)
        y = min(max(geo.y(), avail.y()), avail.bottom() - geo.height() + 1)
        self.move(max(x, avail.x()), max(y, avail.y()))

    # -- settings --------------------------------------------------------------------------------
    def save_settings(self):
        self.settings.set_blob("geometry", self.saveGeometry())
        self.settings.set_blob("window_state", self.saveState())
        self.session.document.store_last_session()

    def restore_settings(self) -> bool:
        """Window layout from the last run; anything corrupt is ignored (the defaults stay)."""
        ok = True
        geo, state = self.settings.blob("geometry"), self.settings.blob("window_state")
        try:
            if geo is not None and not self.restoreGeometry(geo):
                ok = False
            if state is not None and not self.restoreState(state):
                ok = False
        except (TypeError, ValueError):
            ok = False
        return ok

    def _shutdown_panels(self):
        for panel in self._panels.values():
            if panel.built_view is not None:
                panel.built_view.shutdown()

    def shutdown(self):
        self._shutdown_panels()
        self.session.shutdown()
        if self._lab is not None:
            self._lab.shutdown()

    def closeEvent(self, event):
        self._shutdown_panels()
        if self._lab is not None:
            self._lab.shutdown()
        self.session.shutdown()
        self.save_settings()
        super().closeEvent(event)
