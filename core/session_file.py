"""Saved sessions: JSON {"version": 2, "app": "gatescope", "setup": {…}, "view": {…}[, "weights": path]}.

"setup" is what is simulated (core.config.FIELDS), "view" where the user was looking
(core.config.VIEW_FIELDS: step, tab, scale, theme, and the layer and direction drawn of the
session's model; a view without some of them takes their defaults, e.g. the first layer).
Version 1 files (Gatescope 0.1: the step inside "setup", `normal: true/false`, no "view") are
migrated on reading.

"weights" (optional) names the weight file whose cell the session used, relative to the session
file's folder when it is not absolute; opening the session loads it again (or fails, changing
nothing).

`read_session_doc` validates everything (size, encoding, JSON, version, keys, every value's type
and range through the tables) before anything is applied, and raises SessionFileError, naming the
problem, for any bad file. `write_session` is atomic (temporary file in the same folder, then
replace). No pickle, no eval: only JSON numbers, strings and booleans are read.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass, field

from .config import SESSION_VERSION, Config, ConfigError, ViewState
from .fileio import atomic_write_text

#: Session files larger than this are refused (a real one is about 1 KiB).
MAX_SESSION_BYTES = 1024 * 1024
#: Integers longer than this many digits are refused before Python converts them.
MAX_DIGITS = 40


class SessionFileError(ValueError):
    """A session file cannot be used; the message says why."""


@dataclass(frozen=True)
class SessionDoc:
    config: Config
    weights: str | None = None      # as written in the file (resolved by read_session_doc)
    view: ViewState = field(default_factory=ViewState)
    version: int = SESSION_VERSION  # the version the file was written in


def parse_session(text_or_bytes, name: str = "session") -> Config:
    """Validate a session document (str or bytes) → Config."""
    return parse_session_doc(text_or_bytes, name).config


def _short(value) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:59] + "…"


class TooLong:
    """A number too long to convert (JSON allows any length): the field's check refuses it with
    the field's name, e.g. "'hidden' must be a whole number, got a 5000-digit number"."""

    def __init__(self, text: str):
        self.digits = len(text.lstrip("-+"))

    def __repr__(self):
        return f"a {self.digits}-digit number"


def _int(text: str):
    return TooLong(text) if len(text.lstrip("-")) > MAX_DIGITS else int(text)


def _float(text: str):
    return TooLong(text) if len(text) > 400 else float(text)


def _load_json(raw: str, name: str):
    try:
        return json.loads(raw, parse_constant=lambda c: _bad_constant(name, c),
                          parse_int=_int, parse_float=_float)
    except json.JSONDecodeError as exc:
        raise SessionFileError(f"{name}: invalid JSON ({exc.msg}, line {exc.lineno})") from None
    except RecursionError:
        raise SessionFileError(f"{name}: JSON nested too deeply") from None
    except ValueError as exc:  # from _int / _float
        raise SessionFileError(f"{name}: number too long ({exc})") from None


def parse_session_doc(text_or_bytes, name: str = "session") -> SessionDoc:
    """Validate a session document (str or bytes) → SessionDoc."""
    raw = text_or_bytes
    if isinstance(raw, bytes):
        try:
            raw = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise SessionFileError(f"{name}: not UTF-8 text") from None
    if len(raw) > MAX_SESSION_BYTES:
        raise SessionFileError(f"{name}: longer than {MAX_SESSION_BYTES // 1024} KiB")
    data = _load_json(raw, name)
    if not isinstance(data, dict) or "version" not in data:
        raise SessionFileError(f"{name}: not a Gatescope session (no 'version' field)")
    v = data["version"]
    if not isinstance(v, int) or isinstance(v, bool):
        raise SessionFileError(f"{name}: 'version' must be a whole number, got {_short(v)}")
    if v > SESSION_VERSION:
        raise SessionFileError(f"{name}: made by a newer Gatescope (version {_short(v)}; this one "
                               f"reads versions 1 to {SESSION_VERSION})")
    if v < 1:
        raise SessionFileError(f"{name}: unknown version {v}")
    allowed = {"version", "setup", "app", "weights"} | ({"view"} if v >= 2 else set())
    unknown = sorted(set(data) - allowed)
    if unknown:
        raise SessionFileError(f"{name}: unknown key {_short(unknown[0])}")
    if "setup" not in data:
        raise SessionFileError(f"{name}: missing 'setup'")
    weights = data.get("weights")
    if weights is not None and (not isinstance(weights, str) or not weights.strip()
                                or len(weights) > 4096 or "\0" in weights):
        raise SessionFileError(f"{name}: 'weights' must be a file name, got {_short(weights)}")
    try:
        if v == 1:
            config, view = Config.from_legacy_dict(data["setup"])
        else:
            config, view = Config.from_dict(data["setup"]), data.get("view", {})
        return SessionDoc(config, weights, ViewState.from_dict(view), v)
    except ConfigError as exc:
        raise SessionFileError(f"{name}: {exc}") from None


def _bad_constant(name, c):
    raise SessionFileError(f"{name}: '{c}' is not a valid number")


def read_session(path) -> Config:
    return read_session_doc(path).config


def _read_bytes(path: str, name: str) -> bytes:
    """At most MAX_SESSION_BYTES + 1 bytes of a regular file (never a device, pipe or folder)."""
    try:
        from .safeio import SafeIOError, read_bounded
    except ImportError:  # pragma: no cover - safeio is part of the package
        read_bounded = None
    if read_bounded is not None:
        try:
            return read_bounded(path, MAX_SESSION_BYTES)
        except SafeIOError as exc:
            raise SessionFileError(f"{name}: {exc}") from None
    import stat
    try:
        st = os.stat(path)
        if stat.S_ISDIR(st.st_mode):
            raise SessionFileError(f"{name}: is a directory, not a session file")
        if not stat.S_ISREG(st.st_mode):
            raise SessionFileError(f"{name}: not a regular file")
        if st.st_size > MAX_SESSION_BYTES:
            raise SessionFileError(f"{name}: {st.st_size} bytes; session files above "
                                   f"{MAX_SESSION_BYTES // 1024} KiB are refused")
        with open(path, "rb") as fh:
            return fh.read(MAX_SESSION_BYTES + 1)
    except (OSError, ValueError) as exc:
        raise SessionFileError(f"{name}: cannot open ({getattr(exc, 'strerror', None) or exc})") from None


def read_session_doc(path) -> SessionDoc:
    """Read and validate a session file; a relative 'weights' is resolved against its folder."""
    path = os.fspath(path)
    name = os.path.basename(path) or path
    if len(name) > 80:
        name = name[:79] + "…"
    raw = _read_bytes(path, name)
    if len(raw) > MAX_SESSION_BYTES:
        raise SessionFileError(f"{name}: session files above {MAX_SESSION_BYTES // 1024} KiB are "
                               "refused")
    if not raw.strip():
        raise SessionFileError(f"{name}: file is empty")
    doc = parse_session_doc(raw, name)
    if doc.weights is not None and not os.path.isabs(doc.weights):
        folder = os.path.dirname(os.path.abspath(path))
        doc = SessionDoc(doc.config, os.path.join(folder, doc.weights), doc.view, doc.version)
    return doc


def session_json(config: Config, weights: str | None = None, view: ViewState | None = None) -> str:
    doc = {"version": SESSION_VERSION, "app": "gatescope", "setup": config.to_dict(),
           "view": (view or ViewState()).to_dict()}
    if weights:
        doc["weights"] = weights
    return json.dumps(doc, indent=2, ensure_ascii=False)


def write_session(path, config: Config, weights: str | None = None, view: ViewState | None = None) -> None:
    """Atomically write the session; `weights` (a path) is stored relative to the session's folder
    when it lies inside it."""
    if weights:
        folder = os.path.dirname(os.path.abspath(os.fspath(path)))
        rel = os.path.relpath(os.path.abspath(weights), folder)
        weights = rel if not rel.startswith("..") else os.path.abspath(weights)
    atomic_write_text(path, session_json(config, weights, view))
