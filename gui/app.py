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
    """(Config, ViewState) from the command line: a preset, then every setup option given, then
    the view options (the same tables as the dock and the files)."""
    from gatescope.core.cli.simulate import config_from_args
    from gatescope.core.config import VIEW_FIELDS, ViewState
    config = config_from_args(args)
    if getattr(args, "setup_config", None) is not None:      # --setup gatescope:…
        config = args.setup_config
    view = ViewState(**{f.name: getattr(args, f.name) for f in VIEW_FIELDS
                        if getattr(args, f.name, None) is not None})
    return config, view


def gave_setup(args) -> bool:
    """Whether the command line chose a setup (then the last session is not restored)."""
    from gatescope.core.config import FIELDS, VIEW_FIELDS
    names = [f.name for f in FIELDS] + [f.name for f in VIEW_FIELDS] + ["preset", "non_normal"]
    return any(getattr(args, n, None) not in (None, False) for n in names)


def run_app(args) -> int:
    from gatescope.core.config import ConfigError
    if args.screenshot:
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
        from gatescope.core.fileio import check_writable
        if not args.screenshot.lower().endswith((".png", ".svg", ".pdf")):
            print("gatescope: error: --screenshot: the file must end in .png, .svg or .pdf",
                  file=sys.stderr)
            return 2
        try:                                     # before any work: a bad path fails at once
            check_writable(args.screenshot)
        except OSError as exc:
            print(f"gatescope: error: --screenshot: {exc}", file=sys.stderr)
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
    except Exception as exc:  # the simulate command's own error type
        if type(exc).__name__ != "CommandError":
            raise
        print(f"gatescope: error: {exc}", file=sys.stderr)
        return 2
    from PySide6.QtWidgets import QApplication
    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("Gatescope")
    app.setOrganizationName("Gatescope")
    _set_icon(app)
    session, window = create_window(config, view=view)
    path = getattr(args, "file", None)
    if path:                                         # gatescope FILE: a session or a model
        from .document import DocumentError
        try:
            session.document.open_any(path)
        except DocumentError as exc:
            print(f"gatescope: error: {exc}", file=sys.stderr)
            session.shutdown()
            return 2
    elif not args.screenshot and not gave_setup(args) and getattr(args, "setup_config", None) is None \
            and getattr(args, "lesson_obj", None) is None:
        session.document.restore_last_session()      # the last session, if it is valid
    from .lesson import apply_lesson_arguments
    apply_lesson_arguments(args, window, window.lessons)
    size = getattr(args, "size", None)
    if args.screenshot:
        window.resize(*(size or DEFAULT_SIZE))
        window.show()
        session.wait_until_idle()
        _collector_back_on()
        for _ in range(5):
            app.processEvents()
        _warn_step(args, session)
        code = _write_screenshot(window, args.screenshot, size or DEFAULT_SIZE)
        session.shutdown()
        return code
    from . import errors
    errors.install(window)
    if size:
        window.resize(*size)
    else:
        window.restore_settings()
    window.fit_to_screen()
    window.show()
    from .startup_probe import install
    install(window)             # only with GATESCOPE_EXIT_AFTER_FIRST_PAINT (the start-up benchmark)
    session.wait_until_idle(2000)
    _collector_back_on()
    _warn_step(args, session)
    store = session.document.store
    if not store.flag("first_run_done"):
        from .hint import FirstRunHint
        hint = FirstRunHint(window, lambda: store.set_flag("first_run_done", True), theme=window.theme)
        hint.place()
        hint.show()
    return app.exec()


def _collector_back_on():
    """The cyclic garbage collector, off while the window was built (gatescope.launcher), on
    again, the objects built so far frozen out of its passes (see create_window)."""
    gc.freeze()
    gc.enable()


def _warn_step(args, session):
    """--step beyond the sequence: the last step is shown, and the user is told."""
    step = getattr(args, "step", None)
    if step is not None and session.analysis is not None and step > session.steps:
        print(f"gatescope: --step {step} is beyond the sequence's T = {session.steps}; showing "
              f"step {session.steps}", file=sys.stderr)


def _write_screenshot(window, path: str, size) -> int:
    """The window as PNG, SVG or PDF (by the extension), exactly `size` pixels; 2 on failure."""
    from . import exporting
    try:
        if hasattr(exporting, "export_window"):
            exporting.export_window(window, path, size)
        elif path.lower().endswith(".png"):
            if not window.grab().save(path, "PNG"):
                raise OSError(f"cannot write {path}")
        else:
            exporting.export_item(window, path)
    except (exporting.ExportError, OSError, ValueError) as exc:
        print(f"gatescope: error: --screenshot: {exc}", file=sys.stderr)
        return 2
    return 0


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
