"""DataRow messages for a whole batch built by Arrow kernels, without a Python loop per row.

Each column arrives as a binary array of encoded cells. A row's message is
``'D' int32 length, int16 column count`` followed per column by ``int32 size``
and the cell (size -1 and nothing for NULL): the fixed parts are made as
numpy records, the cells are concatenated to them with
``binary_join_element_wise``, and the joined array's data buffer is exactly
the messages back to back.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

_HEADER = np.dtype([("kind", "u1"), ("length", ">i4"), ("count", ">i2")])


def _fixed(values: np.ndarray, width: int) -> pa.Array:
    """Rows of a packed numpy array as a binary array of ``width``-byte values."""
    n = len(values)
    data = pa.py_buffer(np.ascontiguousarray(values).tobytes())
    return pa.FixedSizeBinaryArray.from_buffers(pa.binary(width), n, [None, data]).cast(pa.binary())


def data_rows(columns: Sequence[pa.Array], num_rows: int) -> bytes:
    """DataRow messages for ``num_rows`` rows of encoded cells (binary arrays, one per column)."""
    length = np.full(num_rows, 4 + 2, dtype=np.int64)
    parts: list[pa.Array] = []
    for cells in columns:
        size = pc.binary_length(cells).to_numpy(zero_copy_only=False)
        if cells.null_count:
            valid = cells.is_valid().to_numpy(zero_copy_only=False)
            size = np.where(valid, size, -1)
            cells = cells.fill_null(b"")
        size = np.asarray(size, dtype=np.int64)
        length += 4 + np.maximum(size, 0)
        parts.append(_fixed(size.astype(">i4"), 4))
        parts.append(cells)
    header = np.empty(num_rows, dtype=_HEADER)
    header["kind"] = ord("D")
    header["length"] = length
    header["count"] = len(columns)
    total = int(length.sum()) + num_rows  # each message also has its type byte
    kind = pa.large_binary() if total >= 2**31 else pa.binary()
    joined = pc.binary_join_element_wise(
        _fixed(header, _HEADER.itemsize).cast(kind),
        *(p.cast(kind) for p in parts),
        pa.scalar(b"", kind),
    )
    offsets = joined.buffers()[1]
    width = 8 if kind == pa.large_binary() else 4
    start = int(
        np.frombuffer(offsets, dtype=f"<i{width}", count=1, offset=joined.offset * width)[0]
    )
    out: bytes = joined.buffers()[2].slice(start, total).to_pybytes()
    return out
