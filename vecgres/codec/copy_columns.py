"""COPY FROM data decoded a whole chunk at a time, straight into Arrow columns.

The row-by-row decoders in ``copy.py`` cost Python work per row and per
field. For the common shape of a bulk load (text lines without backslash
escapes, binary tuples of plain types) these functions decode all the
complete rows of a chunk with pyarrow and numpy instead. Whenever anything is
unusual (an escape, a carriage return, a wrong field count or length, a value
the fast builders do not check the way the type's input function does) they
return None and the caller decodes the same bytes row by row, which accepts
them or raises PostgreSQL's error for the first bad row.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from vecgres.config import VECTOR_MAX_DIM
from vecgres.types import SqlType


@dataclass(frozen=True, slots=True)
class ColumnBatch:
    """Consecutive COPY rows as one Arrow array per column.

    Text and CSV: string arrays (NULL where the null marker was). Binary: the
    columns in the Arrow types ``binary_columns`` documents.
    """

    columns: list[pa.Array]
    num_rows: int


# --- text format --------------------------------------------------------------------------


def text_columns(body: bytes, delim: str, null: str, column_count: int) -> ColumnBatch | None:
    """The complete lines ``body`` (ending in a newline) of COPY text data, or None
    when they need the row-by-row decoder (escapes, ``\\r``, ragged rows, bad UTF-8)."""
    if b"\r" in body or body.startswith(b"\xef\xbb\xbf"):
        # the row decoder's line-ending rules differ from Arrow's, and Arrow drops a
        # leading byte-order mark that PostgreSQL keeps as data
        return None
    names = [f"c{i}" for i in range(column_count)]
    try:
        table = pacsv.read_csv(
            pa.py_buffer(body),
            read_options=pacsv.ReadOptions(
                column_names=names, block_size=max(len(body) + 1, 1 << 20), use_threads=False
            ),
            parse_options=pacsv.ParseOptions(
                delimiter=delim,
                quote_char=False,
                escape_char=False,
                newlines_in_values=False,
                ignore_empty_lines=False,
            ),
            convert_options=pacsv.ConvertOptions(
                column_types=dict.fromkeys(names, pa.string()),
                null_values=[null],
                strings_can_be_null=True,
                quoted_strings_can_be_null=False,
                check_utf8=True,
            ),
        )
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None
    columns = [table.column(i).combine_chunks() for i in range(column_count)]
    if b"\\" in body:
        # any backslash left outside the null marker is an escape: the row decoder's job
        for col in columns:
            if pc.any(pc.match_substring(col, "\\")).as_py():
                return None
    return ColumnBatch(columns, table.num_rows)


# --- binary format ------------------------------------------------------------------------

_COUNT: Final = struct.Struct(">h")
_LENGTH: Final = struct.Struct(">i")

# fixed-width types: wire dtype and the Arrow type of the column built from them
_FIXED: Final[dict[str, tuple[str, pa.DataType]]] = {
    "smallint": (">i2", pa.int16()),
    "integer": (">i4", pa.int32()),
    "bigint": (">i8", pa.int64()),
    "real": (">f4", pa.float32()),
    "double precision": (">f8", pa.float64()),
}
_STRINGS: Final = frozenset({"text", "character varying"})


def binary_fast(types: Sequence[SqlType]) -> bool:
    """Whether every column's type has a columnar builder here."""
    return all(
        not t.is_array and (t.name in _FIXED or t.name in _STRINGS or t.name == "vector")
        for t in types
    )


@dataclass(frozen=True, slots=True)
class TupleScan:
    """Where the fields of the complete tuples at the front of a buffer are."""

    starts: npt.NDArray[np.int64]  # (rows, columns): first byte of each field's data
    lengths: npt.NDArray[np.int64]  # (rows, columns): -1 for NULL
    consumed: int  # bytes of those tuples
    trailer: bool  # the next thing in the buffer is the end-of-data trailer


# pruning rounds before the scan goes row by row instead
_PRUNE_ROUNDS: Final = 8


def scan_tuples(buf: bytes | bytearray, column_count: int) -> TupleScan:
    """The complete, well-formed tuples at the front of ``buf``.

    Stops at the trailer, at an incomplete tuple, or at anything odd (a wrong
    field count, a negative length): the row decoder takes it from there.
    """
    if column_count == 0:
        return _scan_tuples_by_row(buf, column_count)
    data = np.frombuffer(buf, dtype=np.uint8)
    n = len(data)
    if n < 2:
        empty = np.empty((0, column_count), dtype=np.int64)
        return _scan_result(empty, empty, 0, buf)
    # every place a tuple could start (its field count): real starts and rare look-alikes
    # (compared as big-endian int16s at even offsets, then at odd ones: no byte-pair arrays)
    # in native order against the count's bytes read the same way: no byte swapping
    count = np.frombuffer(_COUNT.pack(column_count), dtype=np.uint16)[0]
    even = np.frombuffer(buf, dtype=np.uint16, count=n // 2)
    odd = np.frombuffer(buf, dtype=np.uint16, count=(n - 1) // 2, offset=1)
    cand = np.sort(
        np.concatenate([np.flatnonzero(even == count) * 2, np.flatnonzero(odd == count) * 2 + 1])
    )
    rows = len(cand)
    starts = np.empty((rows, column_count), dtype=np.int64)
    lengths = np.empty((rows, column_count), dtype=np.int64)
    ok = np.ones(rows, dtype=np.bool_)
    pos = cand + 2
    # each candidate walked field by field, all at once
    for j in range(column_count):
        ok &= pos + 4 <= n
        length = _int32_at(data, np.where(ok, pos, 0))
        ok &= length >= -1
        starts[:, j] = pos + 4
        lengths[:, j] = length
        pos = pos + 4 + np.maximum(length, 0)
    ok &= pos <= n
    cand, starts, lengths, nxt = cand[ok], starts[ok], lengths[ok], pos[ok]
    if len(cand) == 0 or cand[0] != 0:
        return _scan_result(starts[:0], lengths[:0], 0, buf)
    # the tuples are the chain 0 -> next(0) -> ...: the real tuples are each other's
    # successors, so look-alikes (inside values) fall away as those no kept one points at
    for _ in range(_PRUNE_ROUNDS):
        at = np.searchsorted(cand, nxt)
        found = cand[np.minimum(at, len(cand) - 1)] == nxt
        pointed = np.zeros(len(cand), dtype=np.bool_)
        pointed[at[found]] = True
        pointed[0] = True
        if pointed.all():
            break
        cand, starts, lengths, nxt = cand[pointed], starts[pointed], lengths[pointed], nxt[pointed]
    else:
        # look-alikes that point at each other in a long run (contrived data)
        return _scan_tuples_by_row(buf, column_count)
    return _scan_result(starts, lengths, int(nxt[-1]), buf)


def _int32_at(data: npt.NDArray[np.uint8], at: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    """The big-endian int32 at each offset ``at`` (each at most len(data) - 4)."""
    if len(data) < 4 or len(at) == 0:
        return np.full(len(at), -2, dtype=np.int64)
    cells = np.lib.stride_tricks.sliding_window_view(data, 4)[at]
    return cells.view(">i4").reshape(-1).astype(np.int64)


def _scan_result(
    starts: npt.NDArray[np.int64],
    lengths: npt.NDArray[np.int64],
    consumed: int,
    buf: bytes | bytearray,
) -> TupleScan:
    trailer = consumed + 2 <= len(buf) and _COUNT.unpack_from(buf, consumed)[0] == -1
    return TupleScan(
        starts.astype(np.int64, copy=False), lengths.astype(np.int64, copy=False), consumed, trailer
    )


def _scan_tuples_by_row(buf: bytes | bytearray, column_count: int) -> TupleScan:
    """``scan_tuples`` one tuple at a time."""
    unpack_count = _COUNT.unpack_from
    unpack_length = _LENGTH.unpack_from
    starts: list[int] = []
    lengths: list[int] = []
    n = len(buf)
    pos = 0
    trailer = False
    while pos + 2 <= n:
        (count,) = unpack_count(buf, pos)
        if count != column_count:
            trailer = count == -1
            break
        p = pos + 2
        row_starts: list[int] = []
        row_lengths: list[int] = []
        for _ in range(column_count):
            if p + 4 > n:
                break
            (length,) = unpack_length(buf, p)
            p += 4
            if length < -1:
                break
            row_starts.append(p)
            row_lengths.append(length)
            if length > 0:
                p += length
        if len(row_lengths) != column_count or p > n:
            break
        starts += row_starts
        lengths += row_lengths
        pos = p
    return TupleScan(
        np.array(starts, dtype=np.int64).reshape(-1, column_count),
        np.array(lengths, dtype=np.int64).reshape(-1, column_count),
        pos,
        trailer,
    )


def binary_columns(buf: bytes, scan: TupleScan, types: Sequence[SqlType]) -> ColumnBatch | None:
    """The scanned tuples as Arrow columns, or None when some value needs its type's
    own binary input function (a wrong length, bad UTF-8, a vector header, NaN)."""
    data = np.frombuffer(buf, dtype=np.uint8, count=scan.consumed)
    rows = len(scan.starts)
    columns: list[pa.Array] = []
    for j, t in enumerate(types):
        starts = scan.starts[:, j]
        lengths = scan.lengths[:, j]
        null = lengths == -1
        mask = pa.array(null) if null.any() else None
        if t.name in _FIXED:
            col = _fixed(data, starts, lengths, null, *_FIXED[t.name])
        elif t.name in _STRINGS:
            col = _strings(data, starts, lengths, null, mask, rows)
        else:
            col = _vectors(data, starts, lengths, null, mask)
        if col is None:
            return None
        columns.append(col)
    return ColumnBatch(columns, rows)


def _rows_of(
    data: npt.NDArray[np.uint8], starts: npt.NDArray[np.int64], width: int
) -> npt.NDArray[np.uint8]:
    """(len(starts), width) bytes: ``width`` bytes from each start (no index array built)."""
    if width == 0 or len(starts) == 0:
        return np.zeros((len(starts), width), dtype=np.uint8)
    return np.lib.stride_tricks.sliding_window_view(data, width)[starts]


def _fixed(
    data: npt.NDArray[np.uint8],
    starts: npt.NDArray[np.int64],
    lengths: npt.NDArray[np.int64],
    null: npt.NDArray[np.bool_],
    wire: str,
    arrow: pa.DataType,
) -> pa.Array | None:
    size = np.dtype(wire).itemsize
    if (lengths[~null] != size).any():
        return None
    # NULL fields have no bytes: read any in-range bytes for them, masked out below
    cells = _rows_of(data, np.where(null, 0, starts), size)
    values = np.ascontiguousarray(cells).view(wire).reshape(-1)
    return pa.array(values.astype(np.dtype(wire).newbyteorder("=")), arrow, mask=null)


def _strings(
    data: npt.NDArray[np.uint8],
    starts: npt.NDArray[np.int64],
    lengths: npt.NDArray[np.int64],
    null: npt.NDArray[np.bool_],
    mask: pa.Array | None,
    rows: int,
) -> pa.Array | None:
    sizes = np.where(null, 0, lengths)
    offsets = np.zeros(rows + 1, dtype=np.int64)
    np.cumsum(sizes, out=offsets[1:])
    total = int(offsets[-1])
    if total >= 2**31:
        return None  # past a StringArray's int32 offsets: the row decoder's case
    # byte k of the output comes from data[start of its field + k - offset of the field]
    index = np.repeat(starts - offsets[:-1], sizes) + np.arange(total, dtype=np.int64)
    chars = data[index]
    bitmap = None if mask is None else pc.invert(mask).buffers()[1]
    arr = pa.StringArray.from_buffers(
        rows,
        pa.py_buffer(offsets.astype(np.int32)),
        pa.py_buffer(chars.tobytes()),
        bitmap,
        int(null.sum()),
    )
    try:
        arr.validate(full=True)  # UTF-8, as text's recv checks it
    except pa.ArrowInvalid:
        return None
    return arr


def _vectors(
    data: npt.NDArray[np.uint8],
    starts: npt.NDArray[np.int64],
    lengths: npt.NDArray[np.int64],
    null: npt.NDArray[np.bool_],
    mask: pa.Array | None,
) -> pa.Array | None:
    """pgvector's binary vectors (int16 dim, int16 unused, dim float4s), all of one
    dimension count; the typmod is checked later, as for the row decoder's vectors."""
    live = starts[~null]
    if len(live) == 0 or (lengths[~null] < 4).any():
        return None
    dim = int(data[live[0] : live[0] + 2].view(">i2")[0])
    if not 1 <= dim <= VECTOR_MAX_DIM or (lengths[~null] != 4 + 4 * dim).any():
        return None
    header = _rows_of(data, live, 4).view(">i2")
    if (header[:, 0] != dim).any() or (header[:, 1] != 0).any():
        return None
    # byte-swapped into Arrow's memory pool: the rows outlive this call (they wait for
    # COMMIT), and the pool reuses freed memory where new pages from the OS cost more
    buf = pa.allocate_buffer(len(live) * 4 * dim)
    values = np.frombuffer(buf, dtype=np.float32)
    np.copyto(values.reshape(len(live), dim), _rows_of(data, live + 4, 4 * dim).view(">f4"))
    if not np.isfinite(values).all():
        return None
    sizes = np.where(null, 0, dim)
    offsets = np.zeros(len(starts) + 1, dtype=np.int32)
    np.cumsum(sizes, out=offsets[1:])
    flat = pa.Array.from_buffers(pa.float32(), len(values), [None, buf])
    return pa.ListArray.from_arrays(pa.array(offsets), flat, mask=mask)
