"""`main.py export-animation …`: parse and check the options (core.cli.animation), build the
window off screen, render the frames with gui.animation's exporter and write the file.

    run_export_animation(argv) -> exit code (0, or 2 with one line on stderr)
"""
from __future__ import annotations

import os
import sys

from gatescope.core.cli.animation import AnimationError, AnimationSpec

from .animation import AnimationExporter, encoders, show_target, window_targets


def run_export_animation(argv) -> int:
    """The `export-animation` command: parse, check (one stderr line and 2 if bad), render off
    screen, write; prints one line naming the file. Returns the exit code."""
    from gatescope.core.cli.animation import build_export_animation_parser, spec_from_args
    args = build_export_animation_parser().parse_args(list(argv))
    try:
        config, spec = spec_from_args(args)
        problem = encoders().get(spec.format)
        if problem:
            raise AnimationError(problem)
    except AnimationError as exc:
        print(f"main.py export-animation: error: {exc}", file=sys.stderr)
        return 2
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtWidgets import QApplication
    app = QApplication.instance() or QApplication(sys.argv[:1])
    from .app import create_window
    session, window = create_window(config)
    try:
        return _export_headless(app, session, window, args.view, spec)
    finally:
        session.shutdown()
        window.close()
        window.deleteLater()


def _export_headless(app, session, window, view: str, spec: AnimationSpec) -> int:
    if view == "window":
        window.resize(max(spec.width, window.minimumWidth()), max(spec.height, window.minimumHeight()))
    show_target(window, view)
    window.show()
    session.wait_idle()
    app.processEvents()
    target = window_targets(window)[view][1]
    exporter = AnimationExporter(session, target, spec)
    try:
        exporter.start()
    except AnimationError as exc:
        print(f"main.py export-animation: error: {exc}", file=sys.stderr)
        return 2
    if not exporter.wait():
        print(f"main.py export-animation: error: {exporter.message or 'timed out'}", file=sys.stderr)
        return 2
    print(f"wrote {spec.frames} frames of {spec.width}×{spec.height} to {spec.path}")
    return 0


__all__ = ["run_export_animation"]
