"""`gatescope.show(model_or_path, inputs)`: the app from a notebook or a script.

    import gatescope
    lstm = torch.nn.LSTM(8, 32, num_layers=2)         # a live module (duck-typed: state_dict())
    gatescope.show(lstm, x)                           # x: (T, 8) array, or a sentence
    gatescope.show("model.keras", "I grew up in France … I speak fluent")
    gatescope.show("trained-lstm-france")             # a shipped trained model by name

A QApplication is made if there is none. In Jupyter/IPython with a Qt event loop integration
(`%gui qt`) the window opens and the call returns at once (the kernel keeps the window alive);
elsewhere the call runs the event loop until the window is closed (`block=True` / `False` forces
either). Returns the MainWindow (`window.session` is its Session). torch is never imported here.
A model, file or inputs that cannot be shown raise ValueError (core.models.ModelError or
gui.document.DocumentError) with one line, before any window opens.
"""
from __future__ import annotations

import os
import sys

#: Windows opened without blocking: kept referenced so that Python does not close them.
OPEN_WINDOWS: list = []


def _event_loop_integrated() -> bool:
    """True inside IPython with a Qt event loop integration active (%gui qt / qt5 / qt6)."""
    ip_mod = sys.modules.get("IPython")
    if ip_mod is None:
        return False
    try:
        ip = ip_mod.get_ipython()
    except Exception:  # noqa: BLE001 - an odd IPython: treat as plain Python
        return False
    loop = getattr(ip, "active_eventloop", None) if ip is not None else None
    return isinstance(loop, str) and loop.startswith("qt")


def _config_for(model_or_path):
    """(Config, the object to load as a model or None) — a trained model's name is its preset."""
    from gatescope.core.config import Config
    if isinstance(model_or_path, str) and not os.path.exists(model_or_path):
        from gatescope.core.models.trained import list_trained
        if model_or_path in list_trained():
            from gatescope.core.presets import get_preset
            try:
                return get_preset(model_or_path).config, None
            except ValueError:
                return Config(model=model_or_path), None
    return Config(), model_or_path


def prepare(model_or_path=None, inputs=None, *, store=None, name: str | None = None):
    """(Session, MainWindow) on the model and inputs, not shown yet (for tests and `show`).

    model_or_path: None (the default setup), a path (.npz, .safetensors, .pt, .keras), a shipped
    trained model's name, a core.models.Model or Cell, a state_dict mapping or a live module.
    inputs: None, a sentence (str), or a (T, d) array (or an .npy path) for the model's d."""
    from PySide6.QtWidgets import QApplication

    from .app import create_window
    config, obj = _config_for(model_or_path)
    model = None
    if obj is not None:
        from .session import as_model
        model = as_model(obj, name)                       # ModelError before any window
    app = QApplication.instance() or QApplication(sys.argv[:1] or ["gatescope"])
    app.setApplicationName("Gatescope")
    if store is None:
        from .settings_store import SettingsStore
        store = SettingsStore()
    session, window = create_window(config, store=store)
    try:
        if model is not None:
            label = name or (os.path.basename(os.fspath(obj)) if isinstance(obj, (str, os.PathLike))
                             else model.name or type(obj).__name__)
            session.set_model(model, label, os.path.abspath(obj) if isinstance(obj, (str, os.PathLike))
                              else None)
        if isinstance(inputs, str) and not inputs.lower().endswith(".npy"):
            session.update(source="text", text=inputs)
        elif inputs is not None:
            session.set_inputs(inputs)
    except Exception:
        session.shutdown()
        window.deleteLater()
        raise
    return session, window


def show(model_or_path=None, inputs=None, *, block: bool | None = None, store=None,
         name: str | None = None, **_options):
    """Open the app on a model or file with these inputs (see the module docstring)."""
    from PySide6.QtWidgets import QApplication
    session, window = prepare(model_or_path, inputs, store=store, name=name)
    window.show()
    window.raise_()
    if block is None:
        block = not _event_loop_integrated()
    if not block:
        OPEN_WINDOWS.append(window)
        window.destroyed.connect(lambda *_: OPEN_WINDOWS.remove(window) if window in OPEN_WINDOWS else None)
        return window
    QApplication.instance().exec()
    session.shutdown()
    return window
