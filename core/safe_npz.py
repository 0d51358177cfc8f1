"""Reading an `.npz` archive that may be hostile (a zip bomb, a lying directory, 10⁶ members):
the central directory is bounded before `zipfile` parses it; members are named *.npy once, not
encrypted, stored or deflated; every member's `.npy` header is checked (safeio.read_npy_header),
then the declared sizes summed, then what the members really expand to counted while reading in
bounded chunks (zip bombs lie). Any problem raises SafeIOError naming the file. No pickle.

    read_npz(path) -> {name: array}
"""
from __future__ import annotations

import struct
import zipfile

import numpy as np

from .safeio import (
    _ZIP_ERRORS,
    CHUNK,
    DEFAULT_MAX_ARRAY_ELEMS,
    DEFAULT_MAX_FILE_BYTES,
    DEFAULT_MAX_MEMBERS,
    DEFAULT_MAX_TOTAL_BYTES,
    MAX_CENTRAL_DIRECTORY_BYTES,
    NPY_MAGIC,
    ZIP_MAGIC,
    SafeIOError,
    _over,
    _read_data,
    check_path,
    clip_text,
    one_line,
    open_regular,
    read_npy_header,
)


def _check_central_directory(fh, size: int, max_members: int) -> None:
    """Bound the zip's central directory before `zipfile` parses it (and builds one object per
    entry): both end-of-archive records `zipfile` may choose (the one ending the file, the last
    one in the final 64 KiB) and their ZIP64 records are checked."""
    tail_len = min(size, 65535 + 22)
    fh.seek(size - tail_len)
    tail = fh.read(tail_len)
    sig = b"PK\x05\x06"
    starts = {i for i in (tail_len - 22, tail.rfind(sig))
              if 0 <= i <= tail_len - 22 and tail[i:i + 4] == sig}
    if not starts:
        raise SafeIOError("not a readable .npz archive (no end-of-archive record: truncated?)")
    for i in starts:
        entries = max(struct.unpack("<HH", tail[i + 8:i + 12]))
        (cd_size,) = struct.unpack("<I", tail[i + 12:i + 16])
        pos = size - tail_len + i
        if pos >= 76:
            fh.seek(pos - 76)
            rec = fh.read(76)
            if rec[56:60] == b"PK\x06\x07" and rec[:4] == b"PK\x06\x06":
                entries = max(entries, *struct.unpack("<QQ", rec[24:40]))
                cd_size = max(cd_size, struct.unpack("<Q", rec[40:48])[0])
        if entries > max_members:
            raise SafeIOError(f"the archive lists {entries:,} members; at most {max_members}")
        if cd_size > MAX_CENTRAL_DIRECTORY_BYTES:
            raise SafeIOError("the archive's directory is "
                              f"{_over(cd_size, MAX_CENTRAL_DIRECTORY_BYTES)}")
    fh.seek(0)


def _check_members(infos, max_members: int) -> None:
    """Count, names, flags and compression methods of the members."""
    if len(infos) > max_members:
        raise SafeIOError(f"the archive holds {len(infos):,} members; at most {max_members}")
    if not infos:
        raise SafeIOError("not a readable .npz archive (it holds no arrays)")
    seen = set()
    for info in infos:
        name = clip_text(info.filename)
        if info.filename in seen:
            raise SafeIOError(f"member '{name}' appears twice")
        seen.add(info.filename)
        if not info.filename.endswith(".npy") or info.is_dir():
            raise SafeIOError(f"member '{name}' is not a .npy array")
        if info.flag_bits & 0x1:
            raise SafeIOError(f"member '{name}' is encrypted; encrypted archives are not read")
        if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            raise SafeIOError(f"member '{name}' uses compression method {info.compress_type}; "
                              "only stored or deflated members are read")


def _member_header(zf, info, max_elems: int, max_total: int, check):
    """(dtype, shape, fortran, header bytes, data bytes) of one member; only its header is
    decompressed. The member's declared size must hold what its header declares."""
    with zf.open(info) as fp:
        dtype, shape, fortran = read_npy_header(fp, max_elems=max_elems, max_bytes=max_total,
                                                check=check, name=info.filename[:-4])
        used = fp.tell()
    nbytes = int(np.prod(shape, dtype=object)) * dtype.itemsize
    if used + nbytes > info.file_size:
        raise SafeIOError(f"not a readable .npy array: the header declares {nbytes:,} data "
                          f"bytes, the member holds {max(info.file_size - used, 0):,}")
    return dtype, shape, fortran, used, nbytes


def _read_member(zf, info, header, budget: int):
    """(array, bytes it really expanded to): header skipped, data read in CHUNKs, then the rest
    of the member drained (bounded by `budget`) so that zipfile verifies its CRC."""
    dtype, shape, fortran, used, nbytes = header
    with zf.open(info) as fp:
        if len(fp.read(used)) != used:
            raise SafeIOError("not a readable .npy array (its header changed between reads)")
        array = _read_data(fp, dtype, shape, fortran, "the member")
        used += nbytes
        while True:
            chunk = fp.read(CHUNK)
            if not chunk:
                return array, used
            used += len(chunk)
            if used > budget:
                raise SafeIOError("expands beyond what its size declares (a zip bomb?)")


def read_npz(path, *, max_file_bytes: int = DEFAULT_MAX_FILE_BYTES,
             max_total_bytes: int = DEFAULT_MAX_TOTAL_BYTES, max_members: int = DEFAULT_MAX_MEMBERS,
             max_array_elems: int = DEFAULT_MAX_ARRAY_ELEMS, check=None) -> dict[str, np.ndarray]:
    """{name: array} of an `.npz` (member "w.npy" → key "w"), arrays in their stored numeric
    dtype. Every member's header is read and checked before any member's data; then the
    declared uncompressed sizes are summed, and what the members really expand to is counted
    while reading: both are bounded by `max_total_bytes`. `check(name, dtype, shape)`, if given,
    runs on each header (raise ValueError there to refuse, e.g. a hidden size too large)."""
    p = check_path(path)
    fh, size = open_regular(p, max_file_bytes)
    out: dict[str, np.ndarray] = {}
    member = None
    with fh:
        try:
            _check_zip_start(fh, size, max_members)
            with zipfile.ZipFile(fh) as zf:
                infos = zf.infolist()
                _check_members(infos, max_members)
                headers = []
                for member in infos:
                    headers.append(_member_header(zf, member, max_array_elems, max_total_bytes,
                                                  check))
                member = None
                declared = sum(i.file_size for i in infos)
                if declared > max_total_bytes:
                    raise SafeIOError("the archive would expand to "
                                      f"{_over(declared, max_total_bytes)}")
                budget = max_total_bytes
                for member, header in zip(infos, headers):
                    array, used = _read_member(zf, member, header, budget)
                    budget -= used
                    out[member.filename[:-4]] = array
        except SafeIOError as exc:
            where = f"member '{clip_text(member.filename)}': " if member is not None else ""
            raise SafeIOError(where + exc.reason, p) from None
        except _ZIP_ERRORS as exc:
            where = f", member '{clip_text(member.filename)}'" if member is not None else ""
            detail = clip_text(one_line(exc) or type(exc).__name__, 80)
            raise SafeIOError(f"not a readable .npz archive{where} ({detail})", p) from None
    return out


def _check_zip_start(fh, size: int, max_members: int) -> None:
    start = fh.read(8)
    if not start:
        raise SafeIOError("file is empty")
    if start[:4] not in (ZIP_MAGIC, b"PK\x05\x06"):       # a member, or an empty archive
        raise SafeIOError("not a readable .npz archive (no zip header" + (
            ": a single .npy array?)" if start[:6] == NPY_MAGIC else ")"))
    _check_central_directory(fh, size, max_members)
