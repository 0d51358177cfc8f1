"""Saved sessions: JSON {"version": 1, "app": "gatescope", "setup": {…Config…}[, "weights": path]}.

"weights" (optional) names the .npz whose cell the session used, relative to the session file's
folder when it is not absolute; opening the session loads it again (or fails, changing nothing).

`read_session` validates everything (encoding, JSON, version, keys, every value's type and range
through Config) before anything is applied, and raises SessionFileError, naming the problem, for
any bad file. `write_session` is atomic (temporary file in the same folder, then replace).
No pickle, no eval: only JSON numbers, strings and booleans are read.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass

from .config import SESSION_VERSION, Config, ConfigError
from .fileio import atomic_write_text

#: Session files larger than this are refused (a real one is about 1 KiB).
MAX_SESSION_BYTES = 1024 * 1024


class SessionFileError(ValueError):
    """A session file cannot be used; the message says why."""


@dataclass(frozen=True)
class SessionDoc:
    config: Config
    weights: str | None = None      # as written in the file


def parse_session(text_or_bytes, name: str = "session") -> Config:
    """Validate a session document (str or bytes) → Config."""
    return parse_session_doc(text_or_bytes, name).config


def parse_session_doc(text_or_bytes, name: str = "session") -> SessionDoc:
    """Validate a session document (str or bytes) → SessionDoc."""
    raw = text_or_bytes
    if isinstance(raw, bytes):
        try:
            raw = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise SessionFileError(f"{name}: not UTF-8 text") from None
    try:
        data = json.loads(raw, parse_constant=lambda c: _bad_constant(name, c))
    except json.JSONDecodeError as exc:
        raise SessionFileError(f"{name}: invalid JSON ({exc.msg}, line {exc.lineno})") from None
    except RecursionError:
        raise SessionFileError(f"{name}: JSON nested too deeply") from None
    if not isinstance(data, dict) or "version" not in data:
        raise SessionFileError(f"{name}: not a Gatescope session (no 'version' field)")
    v = data["version"]
    if not isinstance(v, int) or isinstance(v, bool):
        raise SessionFileError(f"{name}: 'version' must be a whole number, got {v!r}")
    if v > SESSION_VERSION:
        raise SessionFileError(f"{name}: made by a newer Gatescope (version {v}; this one reads "
                               f"version {SESSION_VERSION})")
    if v < 1:
        raise SessionFileError(f"{name}: unknown version {v}")
    unknown = sorted(set(data) - {"version", "setup", "app", "weights"})
    if unknown:
        raise SessionFileError(f"{name}: unknown key '{unknown[0]}'")
    if "setup" not in data:
        raise SessionFileError(f"{name}: missing 'setup'")
    weights = data.get("weights")
    if weights is not None and (not isinstance(weights, str) or not weights.strip()):
        raise SessionFileError(f"{name}: 'weights' must be a file name, got {weights!r}")
    try:
        return SessionDoc(Config.from_dict(data["setup"]), weights)
    except ConfigError as exc:
        raise SessionFileError(f"{name}: {exc}") from None


def _bad_constant(name, c):
    raise SessionFileError(f"{name}: '{c}' is not a valid number")


def read_session(path) -> Config:
    return read_session_doc(path).config


def read_session_doc(path) -> SessionDoc:
    """Read and validate a session file; a relative 'weights' is resolved against its folder."""
    path = os.fspath(path)
    name = os.path.basename(path) or path
    if os.path.isdir(path):
        raise SessionFileError(f"{name}: is a directory, not a session file")
    try:
        size = os.path.getsize(path)
        if size > MAX_SESSION_BYTES:
            raise SessionFileError(f"{name}: {size} bytes; session files above "
                                   f"{MAX_SESSION_BYTES // 1024} KiB are refused")
        with open(path, "rb") as fh:
            raw = fh.read()
    except SessionFileError:
        raise
    except OSError as exc:
        raise SessionFileError(f"{name}: cannot open ({exc.strerror or exc})") from None
    if not raw.strip():
        raise SessionFileError(f"{name}: file is empty")
    doc = parse_session_doc(raw, name)
    if doc.weights is not None and not os.path.isabs(doc.weights):
        doc = SessionDoc(doc.config, os.path.join(os.path.dirname(os.path.abspath(path)), doc.weights))
    return doc


def session_json(config: Config, weights: str | None = None) -> str:
    doc = {"version": SESSION_VERSION, "app": "gatescope", "setup": config.to_dict()}
    if weights:
        doc["weights"] = weights
    return json.dumps(doc, indent=2, ensure_ascii=False)


def write_session(path, config: Config, weights: str | None = None) -> None:
    """Atomically write the session; `weights` (a path) is stored relative to the session's folder
    when it lies inside it."""
    if weights:
        folder = os.path.dirname(os.path.abspath(os.fspath(path)))
        rel = os.path.relpath(os.path.abspath(weights), folder)
        weights = rel if not rel.startswith("..") else os.path.abspath(weights)
    atomic_write_text(path, session_json(config, weights))
