"""Bounded, header-first readers for files that may be hostile: a device, a pipe, a zip bomb, a
`.npy` whose header declares 10¹² elements or a 2 GB item size. Checked before anything is
allocated: the path (no NUL, encodable); the file (regular after resolving links, opened with
O_NONBLOCK so a FIFO never blocks, at most the caller's size); an `.npy` header (magic, version,
length ≤ MAX_NPY_HEADER_BYTES, a literal dict with a plain int/uint/float/complex dtype — never
object, void, structured, text or dates — and a shape within the element and byte limits); an
`.npz` (safe_npz.read_npz, built on the readers here).
Any problem raises SafeIOError (a ValueError): one short line naming the file. No pickle.
"""
from __future__ import annotations

import ast
import os
import stat
import struct
import warnings
import zipfile
import zlib

import numpy as np

MiB = 1024 * 1024
DEFAULT_MAX_FILE_BYTES = 256 * MiB
DEFAULT_MAX_TOTAL_BYTES = 256 * MiB
DEFAULT_MAX_MEMBERS = 64
#: 2²⁵ elements = 256 MiB of float64.
DEFAULT_MAX_ARRAY_ELEMS = 2 ** 25
#: numpy writes headers of 128 bytes or so; anything above this is malformed or hostile.
MAX_NPY_HEADER_BYTES = 16 * 1024
#: Bytes of a zip's central directory accepted before `zipfile` parses it (64 members ≪ this).
MAX_CENTRAL_DIRECTORY_BYTES = 1 * MiB
CHUNK = 1 * MiB
NPY_MAGIC = b"\x93NUMPY"
ZIP_MAGIC = b"PK\x03\x04"
_ZIP_ERRORS = (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, OSError, ValueError,
               OverflowError, struct.error, NotImplementedError, RuntimeError, zlib.error,
               KeyError, IndexError, TypeError)


class SafeIOError(ValueError):
    """A file is refused; `str(exc)` is one line "<path>: <reason>" (`reason` and `path` apart)."""

    def __init__(self, reason: str, path: str | None = None):
        self.reason = one_line(reason)
        self.path = path
        super().__init__(f"{show_path(path)}: {self.reason}" if path else self.reason)


# -- short, one-line messages ---------------------------------------------------------------------

def clip_text(value, limit: int = 60) -> str:
    """`value` shown in at most `limit` characters (then "…"), control characters and lone
    surrogates escaped, so a refused value never floods a message. Integers too long to print
    (Python refuses > 4300 digits) are described by their digit count."""
    if isinstance(value, bool) or not isinstance(value, int):
        text = value if isinstance(value, str) else _safe_repr(value, limit)
    elif value.bit_length() > 4 * limit:
        text = f"<a whole number of about {int(value.bit_length() * 0.30103) + 1} digits>"
    else:
        text = str(value)
    head = text[: limit + 1]
    out = "".join(c if c.isprintable() and not 0xD800 <= ord(c) <= 0xDFFF
                  else c.encode("unicode_escape", "backslashreplace").decode("ascii")
                  for c in head)
    return out[:limit] + "…" if len(out) > limit or len(text) > limit + 1 else out


def _safe_repr(value, limit: int) -> str:
    if isinstance(value, (bytes, bytearray)):
        return repr(bytes(value[: limit + 1]))
    if isinstance(value, (list, tuple, dict, set)) and len(value) > limit:
        return f"<{type(value).__name__} of {len(value)} items>"
    try:
        return repr(value)
    except (ValueError, RecursionError, OverflowError):
        return f"<{type(value).__name__}>"


def one_line(msg) -> str:
    """A message as one terminal line: line breaks, tabs and other control characters become
    spaces (runs collapsed)."""
    text = str(msg)
    return " ".join("".join(c if c.isprintable() else " " for c in text).split())


def show_path(path, limit: int = 160) -> str:
    """A file name for a message: control characters escaped, long paths cut to their tail."""
    text = os.fsdecode(path) if isinstance(path, bytes) else str(path)
    shown = clip_text(text[-limit:], 4 * limit)
    cut = len(text) > limit or len(shown) > limit
    return "…" + shown[-(limit - 1):] if cut else shown


# -- paths and regular files ---------------------------------------------------------------------

def check_path(path) -> str:
    """The path as text; SafeIOError for an empty name, a NUL character or a name the file
    system cannot encode (e.g. a lone surrogate)."""
    try:
        p = os.fspath(path)
    except TypeError:
        raise SafeIOError(f"not a file name: {clip_text(path)}") from None
    if isinstance(p, bytes):
        p = os.fsdecode(p)
    if not p:
        raise SafeIOError("no file name given")
    if "\x00" in p:
        raise SafeIOError("the file name contains a NUL character", p)
    try:
        os.fsencode(p)
    except UnicodeError:
        raise SafeIOError("the file name contains characters the file system cannot "
                          "encode", p) from None
    return p


_KINDS_OF_FILE = {stat.S_IFDIR: "a directory", stat.S_IFIFO: "a named pipe (FIFO)",
                  stat.S_IFCHR: "a device", stat.S_IFBLK: "a device", stat.S_IFSOCK: "a socket"}


def _not_regular(mode: int, p: str) -> SafeIOError:
    return SafeIOError(f"is {_KINDS_OF_FILE.get(stat.S_IFMT(mode), 'not a regular file')}, "
                       "not a file", p)


def _os_reason(exc: OSError, doing: str = "open") -> str:
    if isinstance(exc, FileNotFoundError):
        return "cannot open (no such file)"
    if isinstance(exc, PermissionError):
        return "permission denied"
    return f"cannot {doing} ({exc.strerror or type(exc).__name__})"


def open_regular(path, max_bytes: int):
    """(binary file object, size) of a regular file of at most `max_bytes` bytes; never blocks
    on a FIFO, never opens a device for reading data."""
    p = check_path(path)
    try:
        st = os.stat(p)                      # follows links: a link to /dev/zero is a device
        if not stat.S_ISREG(st.st_mode):
            raise _not_regular(st.st_mode, p)
        flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0) \
            | getattr(os, "O_BINARY", 0) | getattr(os, "O_CLOEXEC", 0)
        fd = os.open(p, flags)
    except OSError as exc:
        raise SafeIOError(_os_reason(exc), p) from None
    try:
        st = os.fstat(fd)                    # the file we opened, not the one we checked
        if not stat.S_ISREG(st.st_mode):
            raise _not_regular(st.st_mode, p)
        if st.st_size > max_bytes:
            raise SafeIOError(f"file is {_over(st.st_size, max_bytes)}: refused", p)
        return os.fdopen(fd, "rb"), st.st_size
    except BaseException:
        os.close(fd)
        raise


def _over(n: int, limit: int) -> str:
    """"n; at most limit", in bytes where MiB would round the two to the same number."""
    a, b = _size(n), _size(limit)
    return f"{a}; at most {b}" if a != b else f"{n:,} bytes; at most {limit:,}"


def _size(n: int) -> str:
    if n >= MiB:
        return f"{n / MiB:.0f} MiB" if n % MiB == 0 or n >= 10 * MiB else f"{n / MiB:.1f} MiB"
    return f"{n / 1024:.0f} KiB" if n >= 10 * 1024 else f"{n} bytes"


def read_bounded(path, max_bytes: int) -> bytes:
    """All bytes of a regular file of at most `max_bytes` bytes (reads ≤ max_bytes + 1 bytes,
    so a file that grows while being read is refused too)."""
    p = check_path(path)
    fh, _ = open_regular(p, max_bytes)
    try:
        with fh:
            data = fh.read(max_bytes + 1)
    except OSError as exc:
        raise SafeIOError(_os_reason(exc, "read"), p) from None
    if len(data) > max_bytes:
        raise SafeIOError(f"file is larger than {_size(max_bytes)}: refused", p)
    return data


# -- .npy headers --------------------------------------------------------------------------------

def _read_exact(fp, n: int, what: str) -> bytes:
    data = fp.read(n)
    if len(data) != n:
        raise SafeIOError(f"{what} is truncated")
    return data


def read_npy_header(fp, *, max_elems: int, max_bytes: int, check=None, name=None):
    """(dtype, shape, fortran_order) from an `.npy` stream positioned at its magic; only the
    header is read. Refuses what `read_npz` / `read_npy` refuse (see the module docstring);
    `check(name, dtype, shape)` runs after the dtype is accepted, before the size limits."""
    magic = fp.read(8)
    if len(magic) < 8 or magic[:6] != NPY_MAGIC:
        raise SafeIOError("not a readable .npy array (" + ("wrong magic bytes)" if len(magic) >= 6
                          else "truncated before its header)"))
    version = (magic[6], magic[7])
    if version not in ((1, 0), (2, 0), (3, 0)):
        raise SafeIOError(f"not a readable .npy array (format version {version[0]}.{version[1]})")
    fmt = "<H" if version == (1, 0) else "<I"
    (hlen,) = struct.unpack(fmt, _read_exact(fp, struct.calcsize(fmt), "the .npy header"))
    if hlen > MAX_NPY_HEADER_BYTES:
        raise SafeIOError(f"malformed .npy header: it declares {_over(hlen, MAX_NPY_HEADER_BYTES)}")
    raw = _read_exact(fp, hlen, "the .npy header")
    try:
        text = raw.decode("utf-8" if version == (3, 0) else "latin1")
    except UnicodeDecodeError:
        raise SafeIOError("malformed .npy header (not UTF-8 text)") from None
    dtype, shape, fortran = _parse_header(text)
    _check_dtype(dtype)
    if check is not None:
        try:
            check(name, dtype, shape)
        except SafeIOError:
            raise
        except ValueError as exc:          # the caller's refusal, in its words
            raise SafeIOError(str(exc)) from None
    _check_size(dtype, shape, max_elems, max_bytes)
    return dtype, shape, fortran


def _parse_header(text: str):
    try:
        d = ast.literal_eval(text.strip())
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        raise SafeIOError("malformed .npy header (not a Python literal dict)") from None
    if not isinstance(d, dict) or set(d) != {"descr", "fortran_order", "shape"}:
        raise SafeIOError("malformed .npy header (needs exactly descr, fortran_order, shape)")
    shape, fortran, descr = d["shape"], d["fortran_order"], d["descr"]
    if not isinstance(fortran, bool):
        raise SafeIOError(f"malformed .npy header (fortran_order = {clip_text(fortran)})")
    if not isinstance(shape, tuple) or not all(
            isinstance(k, int) and not isinstance(k, bool) and k >= 0 for k in shape):
        raise SafeIOError(f"malformed .npy header (shape = {clip_text(shape)})")
    if len(shape) > 32:
        raise SafeIOError(f"malformed .npy header ({len(shape)} dimensions; at most 32)")
    if not isinstance(descr, str):
        raise SafeIOError("structured arrays (record dtypes) are not real numeric data")
    try:
        with warnings.catch_warnings():        # deprecated aliases ('a') warn; refused anyway
            warnings.simplefilter("ignore")
            dtype = np.dtype(descr)
    except (TypeError, ValueError, OverflowError, SyntaxError, RecursionError, MemoryError):
        raise SafeIOError(f"malformed .npy header (unknown dtype {clip_text(descr)})") from None
    return dtype, shape, fortran


def _check_dtype(dtype: np.dtype) -> None:
    if dtype.hasobject:
        raise SafeIOError("contains object arrays, which are never unpickled")
    if dtype.fields is not None or dtype.subdtype is not None:
        raise SafeIOError(f"structured or sub-array dtype {clip_text(str(dtype))} is not real "
                          "numeric data")
    if dtype.kind not in "iufc":
        raise SafeIOError(f"dtype {clip_text(str(dtype))} ({_KINDS.get(dtype.kind, 'other')}) "
                          "is not real numeric data")


def _check_size(dtype: np.dtype, shape: tuple, max_elems: int, max_bytes: int) -> None:
    elems = 1
    for k in shape:
        elems *= k
    if elems > max_elems:
        raise SafeIOError(f"shape {clip_text(shape)} declares {_count(elems)} elements; at most "
                          f"{max_elems:,}")
    if elems * dtype.itemsize > max_bytes:
        raise SafeIOError(f"shape {clip_text(shape)} of {dtype} declares "
                          f"{_over(elems * dtype.itemsize, max_bytes)}")


def _count(n: int) -> str:
    """A count of any size (Python refuses to print integers of more than 4300 digits)."""
    return f"{n:,}" if n < 10 ** 15 else f"about 10^{int(n.bit_length() * 0.30103)}"


_KINDS = {"b": "true/false", "V": "raw bytes", "S": "bytes", "U": "text", "M": "dates",
          "m": "time spans", "O": "objects"}


def _read_data(fp, dtype, shape, fortran, what: str) -> np.ndarray:
    """The array after its header, read in CHUNK-sized pieces into one preallocated buffer."""
    n = int(np.prod(shape, dtype=object)) * dtype.itemsize
    buf = bytearray(n)
    view, pos = memoryview(buf), 0
    while pos < n:
        chunk = fp.read(min(CHUNK, n - pos))
        if not chunk:
            raise SafeIOError(f"not a readable .npy array: {what} is truncated ({pos:,} of {n:,} "
                              "data bytes)")
        view[pos:pos + len(chunk)] = chunk
        pos += len(chunk)
    a = np.frombuffer(buf, dtype=dtype)
    return a.reshape(shape, order="F" if fortran else "C")


def read_npy(path, *, max_bytes: int = DEFAULT_MAX_FILE_BYTES,
             max_elems: int = DEFAULT_MAX_ARRAY_ELEMS, check=None) -> np.ndarray:
    """One array from a `.npy` file (header first; the file's size must cover what the header
    declares before any data is read). dtype as stored (int, uint, float or complex).
    `check(None, dtype, shape)`, if given, may refuse the header (raise ValueError)."""
    p = check_path(path)
    fh, size = open_regular(p, max_bytes)
    with fh:
        try:
            start = fh.read(8)
            if start[:4] == ZIP_MAGIC:
                raise SafeIOError("is an .npz archive, not a single .npy array")
            if not start:
                raise SafeIOError("file is empty")
            fh.seek(0)
            dtype, shape, fortran = read_npy_header(fh, max_elems=max_elems, max_bytes=max_bytes,
                                                    check=check)
            need = int(np.prod(shape, dtype=object)) * dtype.itemsize
            if fh.tell() + need > size:
                raise SafeIOError(f"not a readable .npy array: the header declares {need:,} data "
                                  f"bytes, the file holds {size - fh.tell():,}")
            return _read_data(fh, dtype, shape, fortran, "the array")
        except SafeIOError as exc:
            raise SafeIOError(exc.reason, p) from None
        except OSError as exc:
            raise SafeIOError(_os_reason(exc, "read"), p) from None


def finite_float64(array: np.ndarray, name: str = "array") -> np.ndarray:
    """`array` as float64, refused (naming it) if it is complex, holds NaN or ±inf, or holds
    values beyond float64's range (an extended-precision 1e400 would silently become inf)."""
    a = np.asarray(array)
    if a.dtype.kind == "c":
        raise SafeIOError(f"'{clip_text(name)}' holds complex numbers; a real numeric array is "
                          "needed")
    if a.dtype.kind not in "iuf":
        raise SafeIOError(f"'{clip_text(name)}' must be a real numeric array, got dtype "
                          f"{clip_text(str(a.dtype))}")
    if a.dtype.kind == "f" and not np.all(np.isfinite(a)):
        raise SafeIOError(f"'{clip_text(name)}' contains NaN or infinite values")
    with np.errstate(over="ignore", invalid="ignore"):
        out = a.astype(np.float64)
    if not np.all(np.isfinite(out)):
        raise SafeIOError(f"'{clip_text(name)}' holds values beyond float64's range (±1.8e308)")
    return out
