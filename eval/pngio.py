"""Fast reading of label-indexed mask PNGs (palette or 8-bit grey) as uint8 label maps.

Scoring reads two PNGs per frame, and PIL spends most of its time in zlib. Here the PNG chunks are parsed
directly, the image data inflated with zlib-ng when installed (several times faster than zlib), and the
row filters that mask writers use (None, Sub, Up) undone with numpy. Anything else — other bit depths,
interlacing, Average/Paeth rows — goes to PIL (`davis_c.dataset.read_mask`), so the result is always the
palette index PIL returns. RGB(A) masks and files that are not PNGs raise `UserError`.
"""

from __future__ import annotations

import os
import struct
import zlib

import numpy as np

from davis_c.dataset import read_mask
from davis_c.errors import UserError

try:  # pragma: no cover - depends on the environment
    from zlib_ng import zlib_ng as _zlib
except ImportError:  # pragma: no cover
    _zlib = zlib

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_COLOUR_NAMES = {0: "L", 2: "RGB", 3: "P", 4: "LA", 6: "RGBA"}


class _Fallback(Exception):
    """The fast path does not handle this file; PIL will."""


def _chunks(data: bytes, path) -> tuple[tuple, bytes]:
    """(IHDR fields, concatenated IDAT payload) of a PNG byte string."""
    if not data.startswith(PNG_SIGNATURE):
        raise UserError(f"{path}: not a PNG file")
    pos, ihdr, idat = 8, None, []
    n_data = len(data)
    while pos + 8 <= n_data:
        (length,) = struct.unpack_from(">I", data, pos)
        ctype = data[pos + 4:pos + 8]
        body = data[pos + 8:pos + 8 + length]
        if len(body) != length:
            raise UserError(f"{path}: truncated PNG")
        if ctype == b"IHDR":
            ihdr = struct.unpack(">IIBBBBB", body[:13])
        elif ctype == b"IDAT":
            idat.append(body)
        elif ctype == b"IEND":
            break
        pos += 12 + length
    if ihdr is None or not idat:
        raise UserError(f"{path}: truncated or corrupt PNG (no IHDR/IDAT)")
    return ihdr, b"".join(idat)


def _unfilter(rows: np.ndarray) -> np.ndarray:
    """Undo PNG filters None/Sub/Up of 1-byte-per-pixel rows (first column = filter type)."""
    ftypes = rows[:, 0]
    img = rows[:, 1:]
    if not ftypes.any():
        return img
    if np.any(ftypes > 2):
        raise _Fallback
    out = img.copy()
    for y in np.flatnonzero(ftypes):
        if ftypes[y] == 1:
            out[y] = np.cumsum(img[y], dtype=np.uint8)
        elif y > 0:
            out[y] = img[y] + out[y - 1]
    return out


def _decode(data: bytes, path) -> np.ndarray:
    (w, h, depth, colour, _comp, _filt, interlace), payload = _chunks(data, path)
    if colour not in (0, 3):
        raise UserError(f"{path}: mask is {_COLOUR_NAMES.get(colour, colour)}, not a label-indexed (palette 'P' or 'L') PNG")
    if depth != 8 or interlace != 0:
        raise _Fallback
    try:
        raw = _zlib.decompress(payload)
    except Exception as exc:  # zlib.error / zlib_ng.error
        raise UserError(f"{path}: corrupt PNG data ({exc})") from None
    if len(raw) != h * (w + 1):
        raise UserError(f"{path}: corrupt PNG data (expected {h * (w + 1)} bytes, got {len(raw)})")
    return _unfilter(np.frombuffer(raw, np.uint8).reshape(h, w + 1))


def read_labels(path: str | os.PathLike) -> np.ndarray:
    """HxW uint8 C-contiguous label map of a mask PNG (palette indices; grey values for 8-bit grey PNGs)."""
    try:
        with open(path, "rb") as fh:
            data = fh.read()
    except IsADirectoryError:
        raise UserError(f"{path}: is a directory, not a mask PNG") from None
    try:
        out = _decode(data, path)
    except _Fallback:
        return read_mask(path)
    except (struct.error, ValueError) as exc:
        raise UserError(f"{path}: corrupt PNG ({exc})") from None
    return np.ascontiguousarray(out) if out.flags.c_contiguous and out.flags.writeable else out.copy()
