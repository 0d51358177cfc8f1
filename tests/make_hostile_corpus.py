"""Write the hostile-file corpus to tests/data/hostile/: weight files (.npz) and inputs (.npy)
that a careful tester or a fuzzer would try, each small on disk, and MANIFEST.json naming, for
every file, a fragment the refusal's message must contain.

    python tests/make_hostile_corpus.py [FOLDER]

The bytes are crafted by hand where NumPy would not write them (lying headers and sizes,
encrypted flags, huge headers); bombs are deflated zeros. Re-running writes identical files.
"""
from __future__ import annotations

import io
import json
import os
import struct
import sys
import warnings
import zipfile
import zlib

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
FOLDER = os.path.join(HERE, "data", "hostile")
MiB = 1024 * 1024
FIXED_TIME = (2024, 1, 1, 0, 0, 0)


# -- building blocks ------------------------------------------------------------------------------

def npy(header, data: bytes = b"", version=(1, 0), hlen=None) -> bytes:
    """An .npy file: magic, version, header length (true unless `hlen` lies), header text."""
    text = header if isinstance(header, bytes) else repr(header).encode("latin1")
    fmt = "<H" if version == (1, 0) else "<I"
    pad = (-(6 + 2 + struct.calcsize(fmt) + len(text) + 1)) % 64
    text = text + b" " * pad + b"\n"
    size = len(text) if hlen is None else hlen
    return b"\x93NUMPY" + bytes(version) + struct.pack(fmt, size) + text + data


def arr(a) -> bytes:
    buf = io.BytesIO()
    np.save(buf, a, allow_pickle=True)
    return buf.getvalue()


def head(descr, shape, fortran=False) -> dict:
    return {"descr": descr, "fortran_order": fortran, "shape": shape}


def zipped(members, method=zipfile.ZIP_STORED) -> bytes:
    """A zip of (name, bytes) members, with fixed timestamps (reproducible)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, data in members:
            info = zipfile.ZipInfo(name, FIXED_TIME)
            info.compress_type = method
            zf.writestr(info, data)
    return buf.getvalue()


def good_weights() -> list:
    rng = np.random.default_rng(0)
    return [("weight_ih.npy", arr(rng.standard_normal((16, 2)))),
            ("weight_hh.npy", arr(rng.standard_normal((16, 4)) * 0.3))]


def deflated_zeros_member(zf, name: str, header: dict, nbytes: int) -> None:
    """A member holding `header` then `nbytes` zeros, deflated while streamed (never in memory)."""
    info = zipfile.ZipInfo(name, FIXED_TIME)
    info.compress_type = zipfile.ZIP_DEFLATED
    with zf.open(info, "w", force_zip64=nbytes > 2 ** 31) as fh:
        fh.write(npy(header))
        chunk = bytes(4 * MiB)
        left = nbytes
        while left:
            n = min(left, len(chunk))
            fh.write(chunk[:n])
            left -= n


def bomb(shapes: dict) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compresslevel=9) as zf:
        for name, shape in shapes.items():
            deflated_zeros_member(zf, name, head("<f4", shape), int(np.prod(shape)) * 4)
    return buf.getvalue()


def entries(data: bytes):
    """Offsets of the local headers and central-directory entries of a zip (in order)."""
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        local = [i.header_offset for i in zf.infolist()]
    cd = []
    pos = data.find(b"PK\x01\x02")
    while pos >= 0:
        cd.append(pos)
        pos = data.find(b"PK\x01\x02", pos + 4)
    return local, cd


def patch(data: bytes, *, flags=0, method=None, size=None, crc=None, local=True, central=True,
          which=None) -> bytes:
    """Set flag bits, compression method, declared uncompressed size or CRC of members."""
    out = bytearray(data)
    loc, cd = entries(data)
    picks = range(len(loc)) if which is None else [which]
    for k in picks:
        for on, base, f_off, m_off, crc_off, size_off in (
                (local, loc[k], 6, 8, 14, 22), (central, cd[k], 8, 10, 16, 24)):
            if not on:
                continue
            out[base + f_off:base + f_off + 2] = struct.pack(
                "<H", struct.unpack("<H", out[base + f_off:base + f_off + 2])[0] | flags)
            if method is not None:
                out[base + m_off:base + m_off + 2] = struct.pack("<H", method)
            if crc is not None:
                out[base + crc_off:base + crc_off + 4] = struct.pack("<I", crc)
            if size is not None:
                out[base + size_off:base + size_off + 4] = struct.pack("<I", size)
    return bytes(out)


def eocd_patch(data: bytes, *, entries_count=None, cd_size=None) -> bytes:
    out = bytearray(data)
    i = data.rfind(b"PK\x05\x06")
    if entries_count is not None:
        out[i + 8:i + 12] = struct.pack("<HH", entries_count, entries_count)
    if cd_size is not None:
        out[i + 12:i + 16] = struct.pack("<I", cd_size)
    return bytes(out)


def zip64_eocd(data: bytes, cd_size: int) -> bytes:
    """Insert a ZIP64 end record (and its locator) declaring a `cd_size` directory."""
    i = data.rfind(b"PK\x05\x06")
    rec = struct.pack("<4sQHHIIQQQQ", b"PK\x06\x06", 44, 45, 45, 0, 0, 2, 2, cd_size, 0)
    loc = struct.pack("<4sIQI", b"PK\x06\x07", 0, i, 1)
    return data[:i] + rec + loc + data[i:]


def one(name, data, method=zipfile.ZIP_STORED) -> bytes:
    return zipped([("weight_ih.npy", arr(np.zeros((16, 2))))] + [(name, data)], method)


def weights_with(hh) -> bytes:
    return zipped([("weight_ih.npy", arr(np.zeros((16, 2)))), ("weight_hh.npy", hh)])


def lying_small() -> bytes:
    """weight_hh's header declares 2 MiB of data; its zip entries declare 1000 bytes, with the
    CRC of those 1000 bytes (so zipfile reads them happily: the reader must compare)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        deflated_zeros_member(zf, "weight_hh.npy", head("<f8", (1024, 256)), 1024 * 256 * 8)
    first = (npy(head("<f8", (1024, 256))) + bytes(1000))[:1000]
    return patch(buf.getvalue(), size=1000, crc=zlib.crc32(first))


def lying_crc() -> bytes:
    """A (4, 4) array followed by 16 MiB of zeros, declared as just the array: zipfile stops at
    the declared size, and the CRC of what it read does not match."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("weight_ih.npy", arr(np.zeros((4, 2))))
        deflated_zeros_member(zf, "weight_hh.npy", head("<f8", (4, 4)), 16 * MiB)
    data = buf.getvalue()
    return patch(data, size=len(npy(head("<f8", (4, 4)))) + 128, which=1)


def bad_crc() -> bytes:
    data = bytearray(zipped(good_weights()))
    loc, _ = entries(bytes(data))
    data[loc[1] + 30 + len("weight_hh.npy") + 130] ^= 0xFF       # a data byte of weight_hh
    return bytes(data)


def long_double(value) -> bytes:
    a = np.full((16, 4), np.longdouble(0))
    a[0, 0] = np.longdouble(value)
    return arr(a)


def truncated(n) -> bytes:
    data = zipped(good_weights())
    return data[:n] if n >= 0 else data[:len(data) + n]


WEIGHTS = {  # file → (bytes builder, fragment of the refusal load_weights must give)
    "huge-shape.npz": (lambda: weights_with(npy(head("<f8", (10 ** 6, 10 ** 6)))), "limit"),
    "huge-shape-4000-digits.npz": (lambda: weights_with(npy(head("<f8", (10 ** 4000, 4)))),
                                   "digits"),
    "huge-shape-1d.npz": (lambda: zipped(good_weights() + [("bias_ih.npy",
                                                            npy(head("<f8", (10 ** 12,))))]),
                          "limit"),
    "void-2gb.npz": (lambda: weights_with(npy(head("|V2000000000", (4, 4)))), "not real numeric"),
    "lstm4096-bomb.npz": (lambda: bomb({"weight_ih_l0.npy": (16384, 4096),
                                        "weight_hh_l0.npy": (16384, 4096)}), "above the limit"),
    "generic-bomb.npz": (lambda: bomb({f"{k}.npy": (2 ** 25,) for k in "abcd"}),
                         "unknown weight name"),         # read_npz alone: "would expand to"
    "rnn1024.npz": (lambda: bomb({"weight_ih.npy": (1024, 2), "weight_hh.npy": (1024, 1024)}),
                    "hidden size n = 1024"),
    "rnn257.npz": (lambda: zipped([("weight_ih.npy", arr(np.zeros((257, 2), np.float32))),
                                   ("weight_hh.npy", arr(np.zeros((257, 257), np.float32)))],
                                  zipfile.ZIP_DEFLATED), "hidden size n = 257"),
    "input300.npz": (lambda: zipped([("weight_ih.npy", arr(np.zeros((16, 300), np.float32))),
                                     ("weight_hh.npy", arr(np.zeros((16, 16))))],
                                    zipfile.ZIP_DEFLATED), "input size d = 300"),
    "lying-size-small.npz": (lying_small, "the member holds"),
    "lying-size-crc.npz": (lying_crc, "CRC"),
    "lying-size-large.npz": (lambda: patch(zipped(good_weights()), size=0xFFFFFFF0, which=1),
                             "would expand to"),
    "encrypted.npz": (lambda: patch(zipped(good_weights()), flags=0x1), "encrypted"),
    "encrypted-strong.npz": (lambda: patch(zipped(good_weights()), flags=0x41), "encrypted"),
    "bad-crc.npz": (bad_crc, "CRC"),
    "duplicate-member.npz": (lambda: zipped(good_weights() + good_weights()[1:]), "appears twice"),
    "non-npy-member.npz": (lambda: zipped(good_weights() + [("readme.txt", b"hi")]),
                           "is not a .npy array"),
    "directory-member.npz": (lambda: zipped(good_weights() + [("weights/", b"")]),
                             "is not a .npy array"),
    "many-members.npz": (lambda: zipped([(f"w{k}.npy", arr(np.zeros(1))) for k in range(100)]),
                         "members; at most"),
    "eocd-huge-count.npz": (lambda: eocd_patch(zipped(good_weights()), entries_count=65535),
                            "members; at most"),
    "eocd-huge-directory.npz": (lambda: eocd_patch(zipped(good_weights()), cd_size=0x7FFFFFFF),
                                "directory is"),
    "zip64-huge-directory.npz": (lambda: zip64_eocd(zipped(good_weights()), 2 ** 40),
                                 "directory is"),
    "bzip2-method.npz": (lambda: patch(zipped(good_weights()), method=12), "compression method"),
    "unknown-method.npz": (lambda: patch(zipped(good_weights()), method=99), "compression method"),
    "truncated-10.npz": (lambda: truncated(10), "not a readable"),
    "truncated-half.npz": (lambda: truncated(len(zipped(good_weights())) // 2), "not a readable"),
    "truncated-minus-1.npz": (lambda: truncated(-1), "not a readable"),
    "truncated-member-data.npz": (lambda: weights_with(npy(head("<f8", (16, 4)), bytes(10))),
                                  "the member holds"),
    "empty.npz": (lambda: b"", "empty"),
    "empty-zip.npz": (lambda: zipped([]), "holds no arrays"),
    "wrong-magic-member.npz": (lambda: weights_with(b"\x93NUMPX" + arr(np.zeros((16, 4)))[6:]),
                               "wrong magic"),
    "text-not-zip.npz": (lambda: b"weight_hh = [[1, 2], [3, 4]]\n", "no zip header"),
    "npy-as-npz.npz": (lambda: arr(np.zeros((16, 4))), "a single .npy array"),
    "header-200kb.npz": (lambda: zipped([("weight_hh.npy", npy(b"{" + b" " * 200_000 + b"}",
                                                               version=(2, 0)))],
                                        zipfile.ZIP_DEFLATED), "malformed .npy header"),
    "header-length-lie.npz": (lambda: weights_with(npy(head("<f8", (16, 4)), hlen=60000)),
                              "malformed .npy header"),
    "header-truncated.npz": (lambda: weights_with(npy(head("<f8", (16, 4)), hlen=5000)),
                             "truncated"),
    "object-array.npz": (lambda: weights_with(arr(np.array([None, 1], dtype=object))),
                         "never unpickled"),
    "object-descr.npz": (lambda: weights_with(npy(head("|O", (4,)), b"\x80\x04N." * 4)),
                         "never unpickled"),
    "float128-inf.npz": (lambda: weights_with(long_double("inf")), "NaN or infinite"),
    "float128-1e400.npz": (lambda: weights_with(long_double("1e400")), "beyond float64"),
    "nan-weights.npz": (lambda: weights_with(arr(np.full((16, 4), np.nan))), "NaN or infinite"),
    "complex.npz": (lambda: weights_with(arr(np.zeros((16, 4), complex))), "complex"),
    "structured.npz": (lambda: weights_with(arr(np.zeros((16, 4), [("a", "<f8")]))),
                       "structured"),
    "subarray.npz": (lambda: weights_with(npy(head("(2,)<f8", (16, 4)))), "sub-array"),
    "datetime.npz": (lambda: weights_with(arr(np.zeros((16, 4), "datetime64[s]"))),
                     "not real numeric"),
    "unicode.npz": (lambda: weights_with(arr(np.full((16, 4), "abc"))), "not real numeric"),
    "bool.npz": (lambda: weights_with(arr(np.zeros((16, 4), bool))), "not real numeric"),
    "header-not-dict.npz": (lambda: weights_with(npy(b"[1, 2, 3]")), "malformed .npy header"),
    "header-extra-key.npz": (lambda: weights_with(npy({**head("<f8", (16, 4)), "x": 1})),
                             "malformed .npy header"),
    "header-code.npz": (lambda: weights_with(npy(b"__import__('os').system('echo pwned')")),
                        "malformed .npy header"),
    "header-nested.npz": (lambda: weights_with(npy(b"(" * 5000 + b")" * 5000)),
                          "malformed .npy header"),
    "header-unary-chain.npz": (lambda: weights_with(npy(b"-" * 16000 + b"1")),
                               "malformed .npy header"),
    "header-deep-brackets.npz": (lambda: weights_with(npy(b"[" * 8000 + b"]" * 8000)),
                                 "malformed .npy header"),
    "descr-deprecated-alias.npz": (lambda: weights_with(npy(head("a", (16, 4)))),
                                   "not real numeric"),
    "shape-negative.npz": (lambda: weights_with(npy(head("<f8", (16, -4)))), "malformed"),
    "shape-float.npz": (lambda: weights_with(npy(head("<f8", (16.0, 4)))), "malformed"),
    "shape-bool.npz": (lambda: weights_with(npy(head("<f8", (True, 4)))), "malformed"),
    "fortran-str.npz": (lambda: weights_with(npy({**head("<f8", (16, 4)), "fortran_order": "no"})),
                        "malformed"),
    "descr-unknown.npz": (lambda: weights_with(npy(head("<q9z", (16, 4)))), "unknown dtype"),
    "version-9.npz": (lambda: weights_with(npy(head("<f8", (16, 4)), version=(9, 0))),
                      "format version"),
    "header-v3-not-utf8.npz": (lambda: weights_with(npy(b"{'descr': '\xff\xfe'}",
                                                        version=(3, 0))), "not UTF-8"),
    "member-name-not-utf8.npz": (lambda: one("weight_\xff\xfe.npy", arr(np.zeros(4))),
                                 "unknown weight name"),
    "member-name-5000.npz": (lambda: one("w" * 5000 + ".npy", arr(np.zeros(4))),
                             "unknown weight name"),
    "member-name-newline.npz": (lambda: one("weight\n_hh\r.npy", arr(np.zeros(4))),
                                "unknown weight name"),
}


def in_npy(shape, dtype="<f8", data=None) -> bytes:
    return npy(head(dtype, shape), bytes(8 * int(np.prod(shape))) if data is None else data)


INPUTS = {  # inputs for `simulate --inputs` with the default setup (d = 8)
    "in-huge-shape.npy": (lambda: npy(head("<f8", (10 ** 12, 8))), "steps; at most"),
    "in-huge-4000-digits.npy": (lambda: npy(head("<f8", (10 ** 4000, 8))), "digits"),
    "in-huge-width.npy": (lambda: npy(head("<f8", (100, 10 ** 10))), "the cell needs"),
    "in-void-2gb.npy": (lambda: npy(head("|V2000000000", (10, 8))), "not real numeric"),
    "in-object.npy": (lambda: arr(np.array([[None] * 8] * 2, dtype=object)), "never unpickled"),
    "in-header-200kb.npy": (lambda: npy(b"{" + b" " * 200_000 + b"}", version=(2, 0)),
                            "malformed .npy header"),
    "in-header-length-lie.npy": (lambda: npy(head("<f8", (10, 8)), hlen=60000),
                                 "malformed .npy header"),
    "in-truncated-data.npy": (lambda: npy(head("<f8", (100, 8)), bytes(100)),
                              "the header declares"),
    "in-truncated-header.npy": (lambda: arr(np.zeros((10, 8)))[:20], "truncated"),
    "in-wrong-magic.npy": (lambda: b"\x93NUMPX" + arr(np.zeros((10, 8)))[6:], "wrong magic"),
    "in-empty.npy": (lambda: b"", "empty"),
    "in-text.npy": (lambda: b"1 2 3 4 5 6 7 8\n", "not a readable"),
    "in-nan.npy": (lambda: arr(np.full((10, 8), np.nan)), "NaN or infinite"),
    "in-float128-inf.npy": (lambda: arr(np.full((10, 8), np.longdouble("inf"))),
                            "NaN or infinite"),
    "in-float128-1e400.npy": (lambda: arr(np.full((10, 8), np.longdouble("1e400"))),
                              "beyond float64"),
    "in-complex.npy": (lambda: arr(np.zeros((10, 8), complex)), "real numbers"),
    "in-T6000.npy": (lambda: npy(head("<f4", (6000, 8))), "T = 6000"),
    "in-d-mismatch.npy": (lambda: arr(np.zeros((10, 3))), "the cell needs"),
    "in-3d.npy": (lambda: arr(np.zeros((10, 8, 1))), "the cell needs"),
    "in-zero-steps.npy": (lambda: arr(np.zeros((0, 8))), "the cell needs"),
    "in-npz.npy": (lambda: zipped([("x.npy", arr(np.zeros((10, 8))))]), "is an .npz archive"),
    "in-structured.npy": (lambda: arr(np.zeros((10, 8), [("a", "<f8")])), "structured"),
    "in-bool.npy": (lambda: arr(np.zeros((10, 8), bool)), "not real numeric"),
    "in-unicode.npy": (lambda: arr(np.full((10, 8), "x")), "not real numeric"),
    "in-datetime.npy": (lambda: arr(np.zeros((10, 8), "datetime64[s]")), "not real numeric"),
    "in-version-9.npy": (lambda: npy(head("<f8", (10, 8)), version=(9, 9)), "format version"),
    "in-v3-not-utf8.npy": (lambda: npy(b"{'descr': '\xff'}", version=(3, 0)), "not UTF-8"),
    "in-header-code.npy": (lambda: npy(b"__import__('os').system('echo pwned')"),
                           "malformed .npy header"),
    "in-fortran-str.npy": (lambda: npy({**head("<f8", (10, 8)), "fortran_order": 1}),
                           "malformed"),
    "in-shape-list.npy": (lambda: npy({**head("<f8", (10, 8)), "shape": [10, 8]}), "malformed"),
}


def main(folder: str = FOLDER) -> dict:
    warnings.simplefilter("ignore")           # zipfile's "Duplicate name" is what we want here
    os.makedirs(folder, exist_ok=True)
    manifest = {}
    for name, (build, fragment) in {**WEIGHTS, **INPUTS}.items():
        data = build()
        with open(os.path.join(folder, name), "wb") as fh:
            fh.write(data)
        manifest[name] = fragment
    with open(os.path.join(folder, "MANIFEST.json"), "w", encoding="utf-8") as fh:
        json.dump(manifest, fh, indent=1, sort_keys=True)
        fh.write("\n")
    return manifest


if __name__ == "__main__":
    main(*sys.argv[1:2])
