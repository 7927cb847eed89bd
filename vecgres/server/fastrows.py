"""Binary DataRow messages for a few rows of plain numbers, made by numpy in one step.

A prepared top-k search returns ten rows of an id and perhaps a distance; the
general encoder (``codec.binary.encode_binary_column`` then ``protocol.data_rows``)
spends more on them than the search's own bookkeeping. In binary every such row
has the same size, so the rows are one numpy record array: ``'D'``, the message
length, the column count, then per column the cell size and the big-endian value
(exactly ``_fixed``'s bytes). Anything else (NULLs, other types, text results,
which the general encoder makes as fast) returns None: the general encoder runs.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Final

import numpy as np
import pyarrow as pa

if TYPE_CHECKING:
    from vecgres.result import ColumnInfo

# binary send formats of fixed-width numbers (codec/binary.py's _FIXED for these types)
_BINARY: Final = {
    "smallint": ">i2",
    "integer": ">i4",
    "bigint": ">i8",
    "real": ">f4",
    "double precision": ">f8",
}
# past this many rows the Arrow-kernel encoder (server/datarows.py) is the one to use
MAX_ROWS: Final = 64


def data_rows(
    batch: pa.RecordBatch, columns: Sequence[ColumnInfo], formats: Sequence[int]
) -> bytes | None:
    """The batch's DataRow messages, or None when the general encoder must make them."""
    n = batch.num_rows
    if not n or n > MAX_ROWS or not columns or len(columns) != batch.num_columns:
        return None
    values: list[np.ndarray] = []
    dtypes: list[str] = []
    for i, (col, fmt) in enumerate(zip(columns, formats, strict=True)):
        arr = batch.column(i)
        kind = arr.type
        if col.type.is_array or arr.null_count:
            return None
        if not (pa.types.is_integer(kind) or pa.types.is_floating(kind)):
            return None
        dtype = _BINARY.get(col.type.name) if fmt else None
        if dtype is None or pa.types.is_float16(kind):
            return None
        values.append(np.asarray(arr.to_numpy(zero_copy_only=False)))
        dtypes.append(dtype)
    return _binary_rows(values, dtypes, n)


def _binary_rows(values: list[np.ndarray], dtypes: list[str], n: int) -> bytes:
    fields: list[tuple[str, str]] = [("kind", "u1"), ("length", ">i4"), ("count", ">i2")]
    for i, dtype in enumerate(dtypes):
        fields += [(f"size{i}", ">i4"), (f"value{i}", dtype)]
    rows = np.empty(n, dtype=np.dtype(fields))
    rows["kind"] = ord("D")
    rows["length"] = rows.dtype.itemsize - 1
    rows["count"] = len(values)
    with np.errstate(over="ignore"):  # as _fixed: the column's own type holds its values
        for i, (column, dtype) in enumerate(zip(values, dtypes, strict=True)):
            rows[f"size{i}"] = np.dtype(dtype).itemsize
            rows[f"value{i}"] = column.astype(dtype)
    return rows.tobytes()
