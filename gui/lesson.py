"""Lessons in the app: a LessonController that walks a Session through a lesson's steps, the
LessonBar ("step k of N", caption, ◀ ▶, Leave) and the keys a presentation clicker sends.

The controller changes the app only through the Session's public methods (set_config, set_step,
go_end, set_playing, set_speed, set_compare_mode) and asks the window to show a tab or view by
emitting `view_requested(name)` (one of core.setup_link.VIEWS); `show_view(window, name)` is a
ready handler for the main window. Keys: PageDown / → next step, PageUp / ← previous, Esc leaves
(`handle_key(event, receiver)`, or install the controller as an application event filter).
"""
from __future__ import annotations

import inspect

from gatescope.core.config import ConfigError
from gatescope.core.lessons import Lesson, LessonError, LessonStep, StepState, load_lesson
from gatescope.core.setup_link import SetupLinkError, parse_link, tab_of
from PySide6.QtCore import QEvent, QObject, Qt, QUrl, Signal
from PySide6.QtGui import QColor, QDesktopServices, QPainter, QPen
from PySide6.QtWidgets import (
    QAbstractSpinBox,
    QComboBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QTextEdit,
    QToolBar,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

NEXT_KEYS = (Qt.Key_PageDown, Qt.Key_Right)
PREVIOUS_KEYS = (Qt.Key_PageUp, Qt.Key_Left)
TEXT_INPUTS = (QLineEdit, QAbstractSpinBox, QTextEdit, QPlainTextEdit)


class LessonController(QObject):
    """Runs a lesson on a Session. `go(k)` shows step k (1-based) exactly as the lesson resolved
    it, however one got there; a step that keeps the previous step's state changes only the
    caption when reached from that step."""

    step_shown = Signal(int, int)          # k, N
    view_requested = Signal(str)           # a tab or view to show / highlight (setup_link.VIEWS)
    started = Signal(object)               # Lesson
    finished = Signal()
    error = Signal(str)                    # a caption link that cannot be applied here

    def __init__(self, session, parent=None):
        super().__init__(parent)
        self.session = session
        self.lesson: Lesson | None = None
        self.number = 0
        self.window = None                   # keys are taken only from this window, if set
        self._gen = 0
        self._step_kw = "step" in inspect.signature(session.set_config).parameters

    # -- state -----------------------------------------------------------------------------------
    @property
    def active(self) -> bool:
        return self.lesson is not None

    @property
    def current(self) -> LessonStep | None:
        return self.lesson.step(self.number) if self.lesson else None

    # -- starting and moving ---------------------------------------------------------------------
    def open(self, name_or_path, number: int = 1) -> Lesson:
        """Load a built-in lesson or a lesson file and start it (LessonError: nothing changes)."""
        lesson = load_lesson(name_or_path)
        self.start(lesson, number)
        return lesson

    def start(self, lesson: Lesson, number: int = 1):
        if not 1 <= number <= len(lesson):
            raise LessonError(f"step {number}: the lesson has steps 1 to {len(lesson)}", name=lesson.name)
        self.lesson, self.number = lesson, 0
        self.started.emit(lesson)
        self.go(number)

    def go(self, number: int) -> bool:
        """Show step `number` (clamped to 1…N); False if there is no lesson or nothing to do."""
        if not self.lesson:
            return False
        number = min(max(1, int(number)), len(self.lesson))
        if number == self.number:
            return False
        before = self.number
        prev = self.lesson.step(before).state if before else None
        self.number = number
        step = self.lesson.step(number)
        # onto a step that keeps the state of the step just left: only the caption changes
        if not (abs(number - before) == 1 and not step.has_setting and step.state == prev):
            self._apply(step.state)
        self.step_shown.emit(number, len(self.lesson))
        return True

    def next(self) -> bool:
        return self.go(self.number + 1)

    def previous(self) -> bool:
        return self.go(self.number - 1)

    def leave(self):
        if self.lesson is None:
            return
        self.lesson, self.number = None, 0
        self._gen += 1
        self.finished.emit()

    # -- applying a state ------------------------------------------------------------------------
    def _apply(self, state: StepState):
        """Setup, tab and view, then (once computed) the step and play state."""
        self._gen += 1
        s = self.session
        self.view_requested.emit(state.view)
        if hasattr(s, "set_tab"):
            s.set_tab(tab_of(state.view))              # the window follows the session's tab
        else:
            s.set_compare_mode(tab_of(state.view) == "compare")
        if state.speed is not None:
            s.set_speed(state.speed)
        if state.play:
            s.set_playing(False)
        if s.config != state.config or s.weights_name is not None:
            if self._step_kw:
                s.set_config(state.config, step=state.step)
            else:                                       # a Config that still carries the step
                s.set_config(state.config.replace(step=state.step))
        else:
            self._when_idle(lambda: self._goto(state.step))
        if state.play:
            self._when_idle(lambda: s.set_playing(True))
        else:
            s.set_playing(False)

    def _goto(self, t: int):
        (self.session.go_end() if t < 0 else self.session.set_step(t))

    def _when_idle(self, fn):
        """Run fn now if nothing is being computed, else once the computation is done (dropped
        if another step is shown meanwhile)."""
        s, gen = self.session, self._gen
        if not s.busy:
            fn()
            return

        def once(busy):
            if busy:
                return
            s.busy_changed.disconnect(once)
            if gen == self._gen:
                fn()
        s.busy_changed.connect(once)

    def apply_link(self, href: str) -> bool:
        """A `gatescope:` link of a caption (a button the reader presses): its fields change the
        current setup (or its preset's); its view keys apply as for a step. Other links open in
        the browser. A link that cannot apply here emits `error(message)` and changes nothing."""
        if not href.lower().startswith("gatescope:"):
            QDesktopServices.openUrl(QUrl(href))
            return False
        try:
            link = parse_link(href)
            config = link.config(self.session.config)
        except (SetupLinkError, ConfigError) as exc:
            self.error.emit(str(exc))
            return False
        view = link.view or (self.current.state.view if self.current else "explore")
        step = -1 if link.step is None else link.step
        self._apply(StepState(config, view, step, bool(link.play), link.speed))
        return True

    # -- keys ------------------------------------------------------------------------------------
    def handle_key(self, event, receiver=None) -> bool:
        """PageDown / → next, PageUp / ← previous, Esc leaves, while a lesson runs. Pass both
        ShortcutOverride and KeyPress events (the override is accepted so the window's own →
        shortcut does not fire). Keys typed into a text field, keys with Ctrl / Alt / Shift and
        keys of other windows (dialogs) are left alone. True when the event was used."""
        if self.lesson is None or event.type() not in (QEvent.KeyPress, QEvent.ShortcutOverride):
            return False
        key = event.key()
        if key not in (*NEXT_KEYS, *PREVIOUS_KEYS, Qt.Key_Escape):
            return False
        if event.modifiers() & (Qt.ControlModifier | Qt.AltModifier | Qt.ShiftModifier | Qt.MetaModifier):
            return False
        if receiver is not None:
            if not isinstance(receiver, QWidget):
                return False                    # the QWindow's copy of the event: the widget's follows
            if self.window is not None and receiver.window() is not self.window:
                return False
            if isinstance(receiver, TEXT_INPUTS) or (isinstance(receiver, QComboBox) and receiver.isEditable()):
                return False
        event.accept()
        if event.type() == QEvent.ShortcutOverride:
            return True
        if not event.isAutoRepeat():            # a held key does not race through the lesson
            if key in NEXT_KEYS:
                self.next()
            elif key in PREVIOUS_KEYS:
                self.previous()
            else:
                self.leave()
        return True

    def filter_key(self, obj, event) -> bool:
        """The KeyDispatcher's question: is this key event (a press or a shortcut override) the
        lesson's?"""
        return self.handle_key(event, obj)

    # -- clips -----------------------------------------------------------------------------------
    def clip_range(self, number: int | None = None) -> tuple[int, int]:
        """The steps a step's clip shows: from its step to the end when it plays, else the run
        up to the step it shows (the whole run for 'the last')."""
        step = self.lesson.step(number or self.number)
        from gatescope.core.cli.animation import steps_of
        T = steps_of(step.state.config)
        t = T if step.state.step < 0 else min(step.state.step, T)
        return (t, T) if step.state.play else (0, t)

    def export_step_clip(self, path, target, *, number: int | None = None, fps: float = 10.0,
                         size: tuple[int, int] | None = None, steps: tuple[int, int] | None = None):
        """Show step `number` (default: the current one) and export its clip — `clip_range()`
        unless `steps` is given — of `target` (the window or one view) to a .gif or .mp4 file.
        Returns the started AnimationExporter (signals progress, finished, failed, cancelled);
        AnimationError (nothing started) for bad settings."""
        from gatescope.core.cli.animation import AnimationSpec

        from .animation import AnimationExporter
        if number is not None:
            self.go(number)
        self._gen += 1                           # no deferred step or play during the export
        self.session.set_playing(False)
        first, last = steps or self.clip_range()
        w, h = size or (target.width() - target.width() % 2, target.height() - target.height() % 2)
        exporter = AnimationExporter(self.session, target, AnimationSpec(first, last, float(fps), w, h,
                                                                          str(path)), self)
        exporter.start()
        return exporter


class LessonBar(QWidget):
    """"Step k of N · title", the caption (its links are buttons), ◀ ▶ and Leave (Esc).
    Hidden while no lesson runs."""

    def __init__(self, controller: LessonController, parent=None):
        super().__init__(parent)
        self.setObjectName("lesson_bar")
        self.controller = controller
        self.position = QLabel()
        self.position.setObjectName("lesson_position")
        self.title = QLabel()
        self.title.setObjectName("lesson_title")
        f = self.title.font()
        f.setBold(True)
        self.title.setFont(f)
        self.caption = QLabel()
        self.caption.setObjectName("lesson_caption")
        self.caption.setWordWrap(True)
        self.caption.setTextFormat(Qt.RichText)
        self.caption.setOpenExternalLinks(False)
        self.caption.linkActivated.connect(controller.apply_link)
        self.prev_button = self._button("◀", "lesson_prev", "Previous step (PageUp or ←)", controller.previous)
        self.next_button = self._button("▶", "lesson_next", "Next step (PageDown or →)", controller.next)
        self.close_button = self._button("Leave", "lesson_close", "Leave the lesson (Esc)", controller.leave)
        head = QHBoxLayout()
        head.setContentsMargins(0, 0, 0, 0)
        head.addWidget(self.position)
        head.addWidget(self.title, 1)
        for b in (self.prev_button, self.next_button, self.close_button):
            head.addWidget(b)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(8, 4, 8, 4)
        lay.setSpacing(2)
        lay.addLayout(head)
        lay.addWidget(self.caption)
        controller.step_shown.connect(self._show)
        controller.finished.connect(self.hide)
        self.hide()

    def _button(self, text, name, tip, slot):
        b = QToolButton()
        b.setText(text)
        b.setObjectName(name)
        b.setToolTip(tip)
        b.setFocusPolicy(Qt.NoFocus)             # the keys stay with the lesson, not the button
        b.clicked.connect(slot)
        return b

    def _show(self, k: int, n: int):
        step = self.controller.current
        self.position.setText(f"step {k} of {n}")
        self.title.setText(step.title)
        self.caption.setText(step.caption_html)
        self.prev_button.setEnabled(k > 1)
        self.next_button.setEnabled(k < n)
        self.show()


class Highlight(QWidget):
    """A coloured frame drawn over one view (mouse clicks pass through it)."""

    COLOR = QColor("#e08a00")

    def __init__(self):
        super().__init__()
        self.setObjectName("lesson_highlight")
        self.setAttribute(Qt.WA_TransparentForMouseEvents)
        self.setAttribute(Qt.WA_NoSystemBackground)
        self.target: QWidget | None = None

    def place(self, target: QWidget | None):
        if self.target is not None:
            self.target.removeEventFilter(self)
        self.target = target
        if target is None:
            self.hide()
            return
        self.setParent(target)
        target.installEventFilter(self)
        self.setGeometry(target.rect())
        self.raise_()
        self.show()

    def eventFilter(self, obj, event):          # noqa: N802
        if obj is self.target and event.type() == QEvent.Resize:
            self.setGeometry(self.target.rect())
        return False

    def paintEvent(self, event):                # noqa: N802
        p = QPainter(self)
        p.setPen(QPen(self.COLOR, 4))
        p.drawRoundedRect(self.rect().adjusted(2, 2, -2, -2), 6, 6)
        p.end()


def show_view(window, name: str) -> None:
    """A handler for `view_requested` on the main window: bring the tab forward and highlight
    the view (Explore's frames; 'explain' shows the Explain panel)."""
    pages = getattr(window, "pages", None)
    if pages is not None:
        pages.setCurrentIndex({"explore": 0, "compare": 1, "lab": 2}[tab_of(name)])
    highlight = getattr(window, "_lesson_highlight", None)
    if highlight is None:
        highlight = window._lesson_highlight = Highlight()
    target = getattr(window, "frames", {}).get(name)
    explore = getattr(window, "explore", None)
    if name == "explain" and explore is not None:
        explore.set_explain_wanted(True)           # a dock beside the grid, or a tab
        target = window.explain_dock if explore.mode == "grid" else window.explain
    elif explore is not None and target is not None:
        explore.show_panel(name)                   # the compact layout: bring its tab forward
    highlight.place(target)


def attach_lessons(window, *, key_filter: bool = True) -> LessonController:
    """Everything a main window needs for lessons: a controller on its session, the lesson bar in a
    top toolbar (shown while a lesson runs), view requests shown with `show_view`, and the keys
    taken through the application's KeyDispatcher (gui.keys). Returns the controller."""
    controller = LessonController(window.session, window)
    controller.window = window
    bar = LessonBar(controller)
    bar.setObjectName("lesson_bar")
    bar.hide()
    central = window.centralWidget()
    if central is not None and central.layout() is not None:
        central.layout().insertWidget(0, bar)          # above the pages, the full width
        toolbar = bar
    else:                                              # a window without a central layout
        toolbar = QToolBar("Lesson", window)
        toolbar.setObjectName("lesson_toolbar")
        toolbar.setMovable(False)
        toolbar.addWidget(bar)
        toolbar.hide()
        window.addToolBar(Qt.TopToolBarArea, toolbar)
    controller.started.connect(lambda _: (toolbar.show(), bar.show()))
    controller.finished.connect(toolbar.hide)
    controller.finished.connect(lambda: clear_highlight(window))
    controller.view_requested.connect(lambda name: show_view(window, name))
    controller.bar, controller.toolbar = bar, toolbar
    if key_filter:
        from .keys import dispatcher
        dispatcher().add(controller.filter_key)
    return controller


def clear_highlight(window) -> None:
    highlight = getattr(window, "_lesson_highlight", None)
    if highlight is not None:
        highlight.place(None)


def add_lesson_arguments(parser) -> None:
    """--lesson, --lesson-step, --list-steps, --setup (see core.lessons)."""
    from gatescope.core.lessons import add_lesson_arguments as add
    add(parser)


def apply_lesson_arguments(args, window, controller: LessonController | None = None):
    """After `check_lesson_arguments(args)` passed and the window is built: apply --setup's view
    keys and start --lesson at --lesson-step. Returns the controller (made with attach_lessons
    if not given)."""
    controller = controller or getattr(window, "lessons", None) or attach_lessons(window)
    link = getattr(args, "setup_link_obj", None)
    if link is not None and link.sets_view:
        state = StepState(args.setup_config, link.view or "explore",
                          -1 if link.step is None else link.step, bool(link.play), link.speed)
        controller._apply(state)
    lesson = getattr(args, "lesson_obj", None)
    if lesson is not None:
        controller.start(lesson, args.lesson_step or 1)
    return controller


# -- menu actions the window routes here ---------------------------------------------------------
def open_lesson(window, controller: LessonController, path=None) -> bool:
    """File → Open lesson…: a .md file (asked for if not given) started at step 1; a malformed
    lesson gets one message naming its line and nothing changes."""
    from . import dialogs
    if not path:
        from PySide6.QtWidgets import QFileDialog
        path, _ = QFileDialog.getOpenFileName(window, "Open lesson", "", "Lesson (*.md);;All files (*)")
        if not path:
            return False
    try:
        controller.open(path)
    except LessonError as exc:
        dialogs.warn(window, str(exc))
        return False
    return True


def copy_setup_link(window) -> str:
    """File → Copy setup link: the current setup (fields that differ from the defaults) with the
    step and tab, as `gatescope:…` text on the clipboard. Returns the text."""
    from gatescope.core.setup_link import setup_link
    from PySide6.QtWidgets import QApplication
    s = window.session
    tab = getattr(getattr(s, "view", None), "tab", None) or ("compare" if s.compare_mode else "explore")
    text = setup_link(s.config, step=s.step, view=None if tab == "explore" else tab)
    QApplication.clipboard().setText(text)
    return text


def paste_setup_link(window, controller: LessonController | None = None, text: str | None = None) -> bool:
    """Ctrl+Shift+V: open the setup of a `gatescope:` text from the clipboard (or `text`); a
    malformed text gets one message and nothing changes."""
    from PySide6.QtWidgets import QApplication

    from . import dialogs
    text = QApplication.clipboard().text() if text is None else text
    try:
        link = parse_link(text)
        config = link.config()
    except SetupLinkError as exc:
        dialogs.warn(window, f"Cannot open this setup link: {exc}")
        return False
    controller = controller or getattr(window, "lessons", None) or LessonController(window.session, window)
    controller._apply(StepState(config, link.view or "explore", -1 if link.step is None else link.step,
                                bool(link.play), link.speed))
    return True


def open_clip_dialog(window, controller: LessonController):
    """Lesson → Export this step as a clip…: the animation dialog preset to the step's clip."""
    from .animation import AnimationDialog, window_targets
    dlg = AnimationDialog(window.session, window_targets(window), window, window=window)
    if controller.active:
        first, last = controller.clip_range()
        view = controller.current.state.view
        dlg.configure(target=view if view in dlg.targets else "window", first=first, last=last)
    dlg.show()
    return dlg
