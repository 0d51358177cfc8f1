"""Atomic file writes: a temporary file in the same folder, fsync, then os.replace, so a crash,
a kill or a full disk never leaves a half-written file where a good one was.

    check_writable(path)            call before the work starts: refuses early, naming the file
    with atomic_writer(path) as fh  a binary file object; the target changes only on success
    atomic_write_bytes(path, data), atomic_write_text(path, text)

Every failure raises WriteError (an OSError) whose message names the file; the temporary file is
removed, and stale temporary files of our own naming left by a killed save of the same target are
removed by the next save. A symbolic link is written through (the file it points to is replaced).
"""
from __future__ import annotations

import errno
import os
import secrets
import stat
from contextlib import contextmanager

from .safeio import SafeIOError, check_path, show_path

TMP_SUFFIX = ".gatescope-tmp"
_ACTIVE: set[str] = set()       # our temporary files being written right now (any thread)


class WriteError(OSError):
    """A file could not be written; `str(exc)` is one line "cannot write <path>: <reason>"."""

    def __init__(self, path, reason: str, code: int | None = None):
        super().__init__(code, reason)
        self.path = path
        self.reason = reason

    def __str__(self):
        return f"cannot write {show_path(self.path)}: {self.reason}"


def _reason(exc: OSError) -> str:
    return exc.strerror or str(exc) or type(exc).__name__


def _target(path) -> str:
    """The file to replace: the path (as text), or the file a symbolic link points to."""
    try:
        p = check_path(path)
    except SafeIOError as exc:
        raise WriteError(path, exc.reason, errno.EINVAL) from None
    return os.path.realpath(p) if os.path.islink(p) else os.path.abspath(p)


def check_writable(path, need_bytes: int = 0) -> str:
    """Refuse early (WriteError) a path that cannot be written: a bad name, a directory or device
    in its place, a missing or read-only folder, or (where the system tells) less free space than
    `need_bytes`. Probes the folder by creating and removing a temporary file. Returns the target."""
    target = _target(path)
    folder = os.path.dirname(target)
    try:
        st = os.stat(target)
    except FileNotFoundError:
        st = None
    except OSError as exc:
        raise WriteError(path, _reason(exc), exc.errno) from None
    if st is not None and stat.S_ISDIR(st.st_mode):
        raise WriteError(path, "it is a folder", errno.EISDIR)
    if st is not None and not stat.S_ISREG(st.st_mode):
        raise WriteError(path, "it is not a regular file (a device or a pipe?)", errno.EINVAL)
    if not os.path.isdir(folder):
        raise WriteError(path, "its folder does not exist", errno.ENOENT)
    tmp, fh = _open_temp(path, target)
    fh.close()
    _remove(tmp)
    if need_bytes and hasattr(os, "statvfs"):
        try:
            vfs = os.statvfs(folder)
            free = vfs.f_bavail * vfs.f_frsize
        except OSError:
            free = need_bytes
        if free < need_bytes:
            raise WriteError(path, f"only {free:,} bytes free, {need_bytes:,} needed",
                             errno.ENOSPC)
    return target


def _tmp_prefix(target: str) -> str:
    return "." + os.path.basename(target)[:60] + "."


def _open_temp(path, target: str):
    """(name, binary file object) of a new temporary file beside the target (mode 0666 less the
    umask, as a new file would get; an existing target's mode is copied on replace)."""
    name = os.path.join(os.path.dirname(target), f"{_tmp_prefix(target)}{os.getpid()}-"
                                                 f"{secrets.token_hex(4)}{TMP_SUFFIX}")
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0) \
        | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(name, flags, 0o666)
    except OSError as exc:
        raise WriteError(path, f"its folder is not writable ({_reason(exc)})", exc.errno) from None
    _ACTIVE.add(name)
    try:
        return name, os.fdopen(fd, "wb")
    except BaseException:
        os.close(fd)
        _remove(name)
        raise


def _remove(name: str) -> None:
    _ACTIVE.discard(name)
    try:
        os.unlink(name)
    except OSError:
        pass


def _alive(pid: int) -> bool:
    if os.name == "nt":        # no harmless signal 0 there: keep the file
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:            # e.g. another user's process
        return True
    return True


def clean_stale_temps(target) -> list[str]:
    """Remove temporary files of our naming for this target left by a killed save (their
    process is gone, or it is this process and they are not being written). Returns them."""
    target = _target(target)
    folder, prefix, removed = os.path.dirname(target), _tmp_prefix(target), []
    try:
        names = os.listdir(folder)
    except OSError:
        return removed
    for entry in names:
        if not (entry.startswith(prefix) and entry.endswith(TMP_SUFFIX)):
            continue
        pid_text = entry[len(prefix):-len(TMP_SUFFIX)].split("-")[0]
        full = os.path.join(folder, entry)
        if not pid_text.isdigit() or full in _ACTIVE:
            continue
        pid = int(pid_text)
        if pid == os.getpid() or not _alive(pid):
            _remove(full)
            removed.append(full)
    return removed


@contextmanager
def atomic_writer(path):
    """`with atomic_writer(path) as fh: fh.write(...)` — fh is a binary file object on a
    temporary file; on success it is flushed, fsynced and moved over `path`; on any failure the
    previous file is untouched, the temporary file removed, and an OSError becomes WriteError."""
    target = _target(path)
    clean_stale_temps(target)
    tmp, fh = _open_temp(path, target)
    try:
        yield fh
        fh.flush()
        os.fsync(fh.fileno())
        fh.close()
        _copy_mode(target, tmp)
        os.replace(tmp, target)
        _ACTIVE.discard(tmp)
    except OSError as exc:
        _abandon(fh, tmp)
        if isinstance(exc, WriteError):
            raise
        raise WriteError(path, _reason(exc), exc.errno) from None
    except BaseException:
        _abandon(fh, tmp)
        raise
    _sync_folder(os.path.dirname(target))


def _abandon(fh, tmp: str) -> None:
    try:
        fh.close()
    except OSError:             # the close's own flush fails on a full disk too
        pass
    _remove(tmp)


def _copy_mode(target: str, tmp: str) -> None:
    try:
        mode = stat.S_IMODE(os.stat(target).st_mode)
    except OSError:
        return
    os.chmod(tmp, mode)


def _sync_folder(folder: str) -> None:
    """Make the rename itself durable (POSIX; best effort)."""
    if os.name == "nt":
        return
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def atomic_write_bytes(path, data: bytes) -> None:
    with atomic_writer(path) as fh:
        fh.write(data)


def atomic_write_text(path, text: str, encoding: str = "utf-8") -> None:
    """Text as UTF-8 (refused, naming the file, if it holds characters UTF-8 cannot encode,
    such as a lone surrogate), written atomically."""
    try:
        data = text.encode(encoding)
    except UnicodeEncodeError as exc:
        raise WriteError(path, f"the text holds a character {encoding} cannot encode at "
                               f"position {exc.start}", errno.EINVAL) from None
    atomic_write_bytes(path, data)
