"""Start the app (or render a screenshot) from parsed command-line arguments."""
from __future__ import annotations

import gc
import os
import sys

DEFAULT_SIZE = (1600, 1000)


def create_window(config=None, *, step=None):
    """The session and its window (the QApplication must exist)."""
    from .main_window import MainWindow
    from .session import Session
    if step is not None and config is not None:
        config = config.replace(step=step)
    session = Session(config)
    window = MainWindow(session)
    session.refresh()
    # the thousands of long-lived Qt wrappers built above never become garbage: keep them out of
    # the cyclic collector's full passes, which otherwise land in the middle of a slider drag
    gc.freeze()
    return session, window


def initial_config(args):
    from gatescope.core.config import Config
    from gatescope.core.presets import get_preset
    config = get_preset(args.preset).config if args.preset else Config()
    if args.cell:
        config = config.replace(cell=args.cell)
    if args.step is not None:
        if args.step < 0:
            raise ValueError(f"--step must be >= 0, got {args.step}")
        config = config.replace(step=min(args.step, 5000))
    return config


def run_app(args) -> int:
    from gatescope.core.config import ConfigError
    if args.screenshot:
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
        folder = os.path.dirname(os.path.abspath(args.screenshot))
        if not os.path.isdir(folder):
            print(f"main.py: error: --screenshot: folder {folder} does not exist", file=sys.stderr)
            return 2
    elif (sys.platform.startswith("linux") and not os.environ.get("QT_QPA_PLATFORM")
          and not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY")):
        print("main.py: error: no display to open the window on (DISPLAY is not set); use "
              "--screenshot FILE.png, or the simulate / train commands, without one", file=sys.stderr)
        return 2
    try:
        config = initial_config(args)
    except (ConfigError, ValueError) as exc:
        print(f"main.py: error: {exc}", file=sys.stderr)
        return 2
    from PySide6.QtWidgets import QApplication
    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("Gatescope")
    app.setOrganizationName("Gatescope")
    from PySide6.QtCore import QSettings
    settings = QSettings("Gatescope", "Gatescope")
    if not args.screenshot and not (args.preset or args.cell or args.step is not None):
        config = last_session(settings) or config      # the last session, if it is valid
    session, window = create_window(config)
    window.pages.setCurrentIndex({"explore": 0, "compare": 1, "lab": 2}[getattr(args, "view", "explore")])
    if args.screenshot:
        window.resize(*DEFAULT_SIZE)
        window.show()
        session.wait_idle()
        for _ in range(5):
            app.processEvents()
        ok = window.grab().save(args.screenshot, "PNG")
        session.shutdown()
        if not ok:
            print(f"main.py: error: cannot write {args.screenshot}", file=sys.stderr)
            return 2
        return 0
    from . import errors
    errors.install(window)
    window.restore_settings()
    window.show()
    if not settings.value("first_run_done", False, type=bool):
        from .hint import FirstRunHint
        hint = FirstRunHint(window, lambda: settings.setValue("first_run_done", True))
        hint.place()
        hint.show()
    return app.exec()


def last_session(settings):
    """The setup the app was closed with, or None if there is none or it is not valid."""
    from gatescope.core.session_file import SessionFileError, parse_session
    raw = settings.value("last_session")
    if not isinstance(raw, str):
        return None
    try:
        return parse_session(raw, "last session")
    except SessionFileError:
        return None
