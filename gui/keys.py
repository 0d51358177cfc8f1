"""The lecturer's keys: Space plays and pauses, →/← step, Home/End go to the first and last step,
PageDown/PageUp (what presentation clickers send) step forward and back — whatever widget has the
focus, except while text is being typed in a box. Esc, and committing a box (Enter or leaving
it), gives the focus back to the plots, so the next key steps again."""
from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, Qt
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


class TransportKeys(QObject):
    """An application event filter for one main window and its session."""

    def __init__(self, window, home):
        super().__init__(window)
        self.window, self.session, self.home = window, window.session, home

    def _mine(self, obj) -> bool:
        w = QApplication.activeWindow()
        return w is self.window or (w is None and self.window.isVisible())

    def eventFilter(self, obj, event):
        kind = event.type()
        if kind not in (QEvent.ShortcutOverride, QEvent.KeyPress) or not self._mine(obj):
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
    QApplication.instance().installEventFilter(keys)
    for box in window.findChildren(QAbstractSpinBox):
        box.editingFinished.connect(lambda b=box: b.hasFocus() and keys.give_back())
    for line in window.findChildren(QLineEdit):
        if not isinstance(line.parentWidget(), QAbstractSpinBox):
            line.returnPressed.connect(keys.give_back)
    return keys
