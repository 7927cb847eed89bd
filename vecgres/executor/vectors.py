"""Arrow vector columns as numpy matrices (no copy for one contiguous chunk)."""

from __future__ import annotations

import numpy as np
import pyarrow as pa


def chunk_matrix(chunk: pa.FixedSizeListArray, dims: int) -> np.ndarray:
    """(rows, dims) float32 view of one chunk; null rows hold whatever is stored."""
    values = chunk.values
    start = chunk.offset * dims
    flat = values.slice(start, len(chunk) * dims).to_numpy(zero_copy_only=False)
    return np.asarray(flat, dtype=np.float32).reshape(-1, dims)


def column_matrix(column: pa.ChunkedArray, dims: int) -> np.ndarray:
    chunks = [c for c in column.chunks if len(c)]
    if not chunks:
        return np.empty((0, dims), dtype=np.float32)
    if len(chunks) == 1:
        return chunk_matrix(chunks[0], dims)
    return np.concatenate([chunk_matrix(c, dims) for c in chunks])


def null_mask(column: pa.ChunkedArray) -> np.ndarray | None:
    """True where the vector is NULL; None when there are none."""
    if not column.null_count:
        return None
    return np.asarray(column.is_null().to_numpy(zero_copy_only=False), dtype=bool)
