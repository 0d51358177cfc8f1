"""The document the Session owns: the session file, the loaded weights, the recent files and the
last session. Every method validates everything first and raises DocumentError (a short message
naming the file) with nothing changed, or applies the whole file; no widgets here.

Weight files are whatever core.models.load_weights_or_model reads: a one-layer PyTorch .npz, whole
PyTorch modules (.npz, .safetensors, .pt with torch), Keras 3 .keras files, Gatescope's trained
models and the .npz the Training lab saves. A model file whose one-hot vocabulary cannot read the
setup's sentence brings its own ("text", else "prompt", of its metadata) when it has one.

A session file's view holds the layer and direction drawn of its model; opening it draws them
again, clamped (with a one-line note in the status bar, Session.note) when the model file now has
fewer layers or no reverse direction there."""
from __future__ import annotations

import os

from gatescope.core.config import ConfigError, ViewState
from gatescope.core.models import ModelError, load_weights_or_model
from gatescope.core.session_file import (
    SessionFileError,
    parse_session_doc,
    read_session_doc,
    session_json,
    write_session,
)
from gatescope.core.weights import WeightsError

from .settings_store import SettingsStore


class DocumentError(ValueError):
    """A file cannot be opened or written; the message says which and why (one line)."""


def _name(path) -> str:
    text = os.fspath(path) if isinstance(path, (str, os.PathLike)) else repr(path)
    return text if len(text) <= 80 else "…" + text[-79:]


class Document:
    """Files of one Session: `open_session`, `save_session`, `open_weights`, `recent_files`,
    `restore_last_session`, `store_last_session`."""

    def __init__(self, session, store: SettingsStore | None = None):
        self.session = session
        self.store = store if store is not None else SettingsStore()
        self.path: str | None = None           # the session file last opened or saved

    # -- sessions -------------------------------------------------------------------------------
    def open_session(self, path) -> None:
        try:
            if isinstance(path, bytes) or "\0" in os.fspath(path):
                raise DocumentError(f"{_name(path)}: not a valid file name")
            doc = read_session_doc(path)
            model = None
            if doc.weights:          # validate the weights too before anything changes; the
                model = load_weights_or_model(doc.weights)   # setup's φ / GRU form then apply
            self.session.apply_document(doc.config, doc.view, cell=model, weights_path=doc.weights)
        except (SessionFileError, WeightsError, ConfigError) as exc:
            raise DocumentError(str(exc) if _name(path) in str(exc) or not isinstance(exc, ConfigError)
                                else f"{_name(path)}: {exc}") from None
        except (OSError, ValueError, TypeError) as exc:
            raise DocumentError(f"{_name(path)}: cannot open ({exc})") from None
        self.path = os.path.abspath(path)
        self.add_recent(path)

    def save_session(self, path) -> None:
        s = self.session
        try:
            write_session(path, s.config, weights=s.weights_path, view=s.view)
        except OSError as exc:
            raise DocumentError(f"cannot save {_name(path)}: {exc.strerror or exc}") from None
        self.path = os.path.abspath(path)
        self.add_recent(path)

    # -- weights --------------------------------------------------------------------------------
    def open_weights(self, path) -> None:
        """Load a weight file as the session's model (a PyTorch RNN file runs with tanh, PyTorch's
        default, until the setup's activation is changed)."""
        try:
            if isinstance(path, bytes) or "\0" in os.fspath(path):
                raise DocumentError(f"{_name(path)}: not a valid file name")
            model = load_weights_or_model(path)
            setup, note = self._sentence_for(model, path)
            self.session.set_model(model, os.path.basename(path), os.path.abspath(path),
                                   setup=setup, note=note)
        except DocumentError:
            raise
        except WeightsError as exc:
            raise DocumentError(str(exc)) from None
        except ConfigError as exc:
            raise DocumentError(f"{_name(path)}: {exc}") from None
        except (OSError, ValueError, TypeError) as exc:
            raise DocumentError(f"{_name(path)}: cannot open ({exc})") from None
        self.add_recent(path)

    def _sentence_for(self, model, path) -> tuple[dict, str | None]:
        """({setup changes}, note) for a model whose encoding refuses the setup's sentence: its
        file's own sentence, said so in the note; DocumentError (the refusal) when it has none.
        ({}, None) when the setup's input suits it."""
        config = self.session.config
        if config.source != "text" or not model.encoding:
            return {}, None
        try:
            model.encode(config.text)
            return {}, None
        except ModelError as exc:
            refused = str(exc)
        meta = model.meta or {}
        for key in ("text", "prompt"):
            own = meta.get(key)
            if isinstance(own, str) and own.strip():
                try:
                    model.encode(own)
                except ModelError:
                    continue
                return {"text": own}, f"reads the file's own sentence: {refused}"
        raise DocumentError(f"{_name(path)}: {refused}")

    def open_any(self, path) -> None:
        """A session (.json) or weights (anything else), by the file name's extension."""
        if os.fspath(path).lower().endswith(".json"):
            self.open_session(path)
        else:
            self.open_weights(path)

    # -- recent files and the last session ------------------------------------------------------
    def recent_files(self) -> list[str]:
        return self.store.recent()

    def add_recent(self, path):
        self.store.add_recent(os.fspath(path))

    def store_last_session(self):
        s = self.session
        self.store.set_last_session(session_json(s.config, view=s.view))

    def last_session(self):
        """(Config, ViewState) of the last session, or None if there is none or it is not valid."""
        raw = self.store.last_session()
        if raw is None:
            return None
        try:
            doc = parse_session_doc(raw, "last session")
        except (SessionFileError, ValueError, TypeError, OverflowError, RecursionError):
            return None
        return doc.config, doc.view

    def restore_last_session(self) -> bool:
        """Apply the last session if there is a valid one; False (nothing changed) otherwise."""
        last = self.last_session()
        if last is None:
            return False
        try:
            self.session.apply_document(last[0], last[1])
        except (ConfigError, ValueError):
            return False
        return True


__all__ = ["Document", "DocumentError", "ViewState"]
