"""The key of a vector index or top-k search as a numpy matrix, per column type.

``vector``/``halfvec`` columns are FLOAT[n] (halfvec values are float16-rounded,
exact in float32): a float32 (rows, n) view. ``bit`` columns go through
``vecgres.vector.bits.pack`` (the storage format is that module's business):
a packed uint8 (rows, ceil(n/8)) matrix, NULLs as zero bits (callers mask them).
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from vecgres.executor.vectors import column_matrix
from vecgres.types import SqlType
from vecgres.vector import bits

BIT_TYPES = ("bit",)
DENSE_TYPES = ("vector", "halfvec")


def key_dims(t: SqlType) -> int | None:
    """Dimensions (bits for ``bit(n)``) of an indexable key type, or None."""
    if t.is_array:
        return None
    if t.name in DENSE_TYPES:
        return t.dims
    if t.name in BIT_TYPES and t.typmod > 0:
        return t.typmod
    return None


def key_matrix(type_name: str, column: pa.ChunkedArray, dims: int) -> np.ndarray:
    if type_name in BIT_TYPES:
        blank = "0" * dims
        rows = [blank if s is None else s for s in column.to_pylist()]
        if not rows:
            return np.zeros((0, (dims + 7) // 8), dtype=np.uint8)
        packed, _ = bits.pack(rows)
        return packed
    return column_matrix(column, dims)
