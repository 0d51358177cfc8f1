"""The lecturer's keys: Space plays and pauses, →/← step, Home/End go to the first and last step,
PageDown/PageUp (what presentation clickers send) step forward and back — whatever widget has the
focus, except while text is being typed in a box. Esc, and committing a box (Enter or leaving
it), gives the focus back to the plots, so the next key steps again."""
from __future__ import annotations

import weakref

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import QAbstractSpinBox, QApplication, QComboBox, QLineEdit, QPlainTextEdit, QTextEdit

KEYS = {Qt.Key_Space: "toggle_play", Qt.Key_Right: "forward", Qt.Key_Left: "back",
        Qt.Key_Home: "go_start", Qt.Key_End: "go_end", Qt.Key_PageDown: "forward",
        Qt.Key_PageUp: "back"}


def typing(widget) -> bool:
    """A widget where these keys edit text (a line or number box, an editable combo)."""
    w = widget
    while w is not None:
        if isinstance(w, (QLineEdit, QAbstractSpinBox, QTextEdit, QPlainTextEdit)):
            return not (isinstance(w, (QTextEdit, QPlainTextEdit)) and w.isReadOnly())
        if isinstance(w, QComboBox):
            return w.isEditable()
        w = w.parentWidget()
    return False


_KEY_EVENTS = (QEvent.KeyPress, QEvent.ShortcutOverride)


class KeyDispatcher(QObject):
    """The one application event filter for keys. Every event of the application passes an
    application filter, so one filter (installed once) asks its key handlers only about key
    events; a filter per window would run for every event of every window ever made (a test run
    makes hundreds: each new window was slower to build than the last). Handlers are held
    weakly (a window's handlers go with it), the newest asked first, as Qt does with filters."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self._handlers: list = []

    def add(self, handler) -> None:
        """handler(obj, event) -> bool (True: the key is used); a bound method, held weakly."""
        self._handlers.append(weakref.WeakMethod(handler))

    def eventFilter(self, obj, event):          # noqa: N802 (Qt's name)
        # a type test first: every event of the application comes here, and event.type() builds
        # a Python enum member each time (≈ 1 µs: thousands of events while a window is built)
        if not isinstance(event, QKeyEvent) or event.type() not in _KEY_EVENTS:
            return False
        for ref in reversed(list(self._handlers)):
            handler = ref()
            if handler is None:                 # its window is gone: forget it
                self._handlers.remove(ref)
                continue
            try:
                if handler(obj, event):
                    return True
            except RuntimeError:                # its window's C++ side is gone
                self._handlers.remove(ref)
        return False


def dispatcher() -> KeyDispatcher:
    """The application's KeyDispatcher, installed on first use."""
    app = QApplication.instance()
    d = getattr(app, "_gatescope_keys", None)
    if d is None:
        d = KeyDispatcher(app)
        app.installEventFilter(d)
        app._gatescope_keys = d
    return d


class TransportKeys(QObject):
    """The lecturer's keys of one main window and its session (asked by the KeyDispatcher)."""

    def __init__(self, window, home):
        super().__init__(window)
        self.window, self.session, self.home = window, window.session, home

    def _mine(self, obj) -> bool:
        w = QApplication.activeWindow()
        return w is self.window or (w is None and self.window.isVisible())

    def filter_key(self, obj, event) -> bool:
        kind = event.type()
        if not self._mine(obj):
            return False
        key, mods = event.key(), event.modifiers() & ~Qt.KeypadModifier
        focus = QApplication.focusWidget()
        if key == Qt.Key_Escape and mods == Qt.NoModifier and kind == QEvent.KeyPress:
            if focus is not None and focus is not self.home and self.window.isAncestorOf(focus):
                self.give_back()
                return True
            return False
        if key not in KEYS or mods != Qt.NoModifier or typing(focus):
            return False
        if kind == QEvent.ShortcutOverride:
            event.accept()                  # ours, not a widget's shortcut …
            return True
        self.act(KEYS[key])                 # … handled once, on the key press
        return True

    def act(self, what: str):
        s = self.session
        {"toggle_play": s.toggle_play, "forward": lambda: s.step_by(1), "back": lambda: s.step_by(-1),
         "go_start": s.go_start, "go_end": s.go_end}[what]()

    def give_back(self):
        """The focus back to the plots (after Esc, or once a box's value is committed)."""
        self.home.setFocus(Qt.OtherFocusReason)


def install(window, home) -> TransportKeys:
    """Filter the keys for `window`; `home` is the widget that takes the focus back."""
    keys = TransportKeys(window, home)
    dispatcher().add(keys.filter_key)
    for box in window.findChildren(QAbstractSpinBox):
        box.editingFinished.connect(lambda b=box: b.hasFocus() and keys.give_back())
    for line in window.findChildren(QLineEdit):
        if not isinstance(line.parentWidget(), QAbstractSpinBox):
            line.returnPressed.connect(keys.give_back)
    return keys
