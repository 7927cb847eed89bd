"""Delete files: the persisted set of deleted row offsets of one sealed segment."""

from __future__ import annotations

import struct
import zlib
from typing import Final

import numpy as np

from vecgres.errors import DataCorrupted
from vecgres.storage import fileio

_HEAD: Final = struct.Struct("<4sIQ")
_MAGIC: Final = b"VGDL"
_VERSION: Final = 1


def encode(offsets: np.ndarray) -> bytes:
    body = np.ascontiguousarray(offsets, dtype="<i8")
    return _HEAD.pack(_MAGIC, _VERSION, len(body)) + body.tobytes()


def write(path: str, offsets: np.ndarray) -> tuple[int, int]:
    """Write durably; returns (crc32, count)."""
    data = encode(offsets)
    fileio.write_atomic(path, data)
    return zlib.crc32(data), len(offsets)


def read(path: str, *, crc32: int, count: int, rows: int) -> np.ndarray:
    """Load and verify a delete file; returns the deleted offsets."""
    if not fileio.exists(path):
        raise DataCorrupted(f'could not open file "{path}": referenced delete file is missing')
    data = fileio.read_bytes(path)
    if zlib.crc32(data) != crc32:
        raise DataCorrupted(f'checksum mismatch in delete file "{path}" at offset 0')
    if len(data) < _HEAD.size:
        raise DataCorrupted(f'delete file "{path}" is truncated at offset {len(data)}')
    magic, version, n = _HEAD.unpack_from(data, 0)
    if magic != _MAGIC or version != _VERSION or n != count:
        raise DataCorrupted(f'invalid header in delete file "{path}" at offset 0')
    if len(data) != _HEAD.size + 8 * n:
        raise DataCorrupted(f'delete file "{path}" has a bad length {len(data)}')
    offsets = np.frombuffer(data, dtype="<i8", count=n, offset=_HEAD.size).astype(np.int64)
    if n and (offsets.min() < 0 or offsets.max() >= rows):
        raise DataCorrupted(f'delete file "{path}" references rows outside its segment')
    return offsets
