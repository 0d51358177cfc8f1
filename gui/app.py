"""Start the app (or render a screenshot) from parsed command-line arguments."""
from __future__ import annotations

import gc
import os
import sys

DEFAULT_SIZE = (1600, 1000)


def create_window(config=None, *, step=None, view=None, store=None):
    """The session and its window (the QApplication must exist). `store`: the SettingsStore
    (default: the user's; tests and benchmarks pass a temporary one)."""
    from gatescope.core.config import ViewState

    from .main_window import MainWindow
    from .session import Session
    view = view or ViewState()
    if step is not None:
        view = view.replace(step=step)
    session = Session(config, view=view, store=store)
    window = MainWindow(session)
    session.refresh()
    # the thousands of long-lived Qt wrappers built above never become garbage: keep them out of
    # the cyclic collector's full passes, which otherwise land in the middle of a slider drag
    gc.freeze()
    return session, window


def initial_config(args):
    """(Config, ViewState) from the command line."""
    from gatescope.core.config import MAX_STEPS, Config, ViewState
    from gatescope.core.presets import get_preset
    config = get_preset(args.preset).config if args.preset else Config()
    if args.cell:
        config = config.replace(cell=args.cell)
    view = ViewState(tab=getattr(args, "view", None) or "explore")
    if args.step is not None:
        if args.step < 0:
            raise ValueError(f"--step must be ≥ 0, got {args.step}")
        view = view.replace(step=min(args.step, MAX_STEPS))
    return config, view


def run_app(args) -> int:
    from gatescope.core.config import ConfigError
    if args.screenshot:
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
        folder = os.path.dirname(os.path.abspath(args.screenshot))
        if not os.path.isdir(folder):
            print(f"gatescope: error: --screenshot: folder {folder} does not exist", file=sys.stderr)
            return 2
    elif (sys.platform.startswith("linux") and not os.environ.get("QT_QPA_PLATFORM")
          and not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY")):
        print("gatescope: error: no display to open the window on (DISPLAY is not set); use "
              "--screenshot FILE.png, or the simulate / train commands, without one", file=sys.stderr)
        return 2
    try:
        config, view = initial_config(args)
    except (ConfigError, ValueError) as exc:
        print(f"gatescope: error: {exc}", file=sys.stderr)
        return 2
    from PySide6.QtWidgets import QApplication
    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("Gatescope")
    app.setOrganizationName("Gatescope")
    _set_icon(app)
    session, window = create_window(config, view=view)
    if not args.screenshot and not (args.preset or args.cell or args.step is not None):
        session.document.restore_last_session()      # the last session, if it is valid
    if args.screenshot:
        window.resize(*DEFAULT_SIZE)
        window.show()
        session.wait_until_idle()
        for _ in range(5):
            app.processEvents()
        ok = window.grab().save(args.screenshot, "PNG")
        session.shutdown()
        if not ok:
            print(f"gatescope: error: cannot write {args.screenshot}", file=sys.stderr)
            return 2
        return 0
    from . import errors
    errors.install(window)
    window.restore_settings()
    window.show()
    store = session.document.store
    if not store.flag("first_run_done"):
        from .hint import FirstRunHint
        hint = FirstRunHint(window, lambda: store.set_flag("first_run_done", True), theme=window.theme)
        hint.place()
        hint.show()
    return app.exec()


def _set_icon(app):
    from gatescope.core.resources import asset
    from PySide6.QtGui import QIcon
    try:
        data = asset("gatescope.svg").read_bytes()
    except OSError:
        return
    from PySide6.QtCore import QByteArray
    from PySide6.QtGui import QPixmap
    pix = QPixmap()
    if pix.loadFromData(QByteArray(data), "SVG"):
        app.setWindowIcon(QIcon(pix))


def last_session(store):
    """The setup the app was closed with, or None if there is none or it is not valid."""
    from gatescope.core.session_file import SessionFileError, parse_session
    raw = store.last_session() if hasattr(store, "last_session") else store.value("last_session")
    if not isinstance(raw, str):
        return None
    try:
        return parse_session(raw, "last session")
    except (SessionFileError, ValueError, OverflowError, RecursionError):
        return None
