"""PostgreSQL's text output of whole columns as Arrow binary arrays (large batches).

``encode_text_column`` hands back one Python ``bytes`` per value; for a batch
of thousands of rows the per-value objects and joins cost more than the
formatting. Here the common streaming columns stay in Arrow end to end
(integers and strings by cast, vectors by formatting each distinct element
once and joining rows with Arrow's string kernels), and every other type is
``encode_text_column``'s output wrapped in an array, byte for byte the same.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from vecgres.codec.text import _INTEGER, _is_stringish, encode_text_column, plain
from vecgres.types import SqlType
from vecgres.vector.floats import format_float4_many


def text_cells(arr: pa.Array, t: SqlType) -> pa.Array:
    """A binary array holding the text output of each value of ``arr`` (null for NULL)."""
    arr = plain(arr)
    if not t.is_array:
        if t.name in ("vector", "halfvec") and pa.types.is_fixed_size_list(arr.type):
            if arr.type.list_size > 0:
                return _vectors(arr)
        elif _is_stringish(arr.type) and t.name != "bytea":
            return arr.cast(pa.large_binary() if _is_large(arr.type) else pa.binary())
        elif t.name in _INTEGER and pa.types.is_integer(arr.type):
            return pc.cast(arr, pa.string()).cast(pa.binary())
    return pa.array(encode_text_column(arr, t), pa.binary())


def _is_large(t: pa.DataType) -> bool:
    return bool(pa.types.is_large_string(t) or pa.types.is_string_view(t))


def _vectors(arr: pa.FixedSizeListArray) -> pa.Array:
    """pgvector's vector_out for a fixed-size column: ``[1,2.5,3]`` per row."""
    n, d = len(arr), arr.type.list_size
    values = plain(arr.values.slice(arr.offset * d, n * d))
    floats = np.asarray(values.fill_null(0).to_numpy(zero_copy_only=False), dtype=np.float32)
    # each distinct element is formatted once (a hash table, not a sort)
    encoded = pa.array(floats.view(np.uint32)).dictionary_encode()
    distinct = encoded.dictionary.to_numpy(zero_copy_only=False).view(np.float32)
    texts = pa.array(format_float4_many(distinct), pa.string())
    elements = texts.take(encoded.indices)
    offsets = pa.array(np.arange(0, n * d + 1, d, dtype=np.int64 if n * d >= 2**31 else np.int32))
    lists = (pa.LargeListArray if n * d >= 2**31 else pa.ListArray).from_arrays(offsets, elements)
    joined = pc.binary_join(lists, ",")
    rows = pc.binary_join_element_wise("[", joined, "]", "").cast(pa.binary())
    if arr.null_count:
        rows = pc.if_else(arr.is_valid(), rows, pa.scalar(None, pa.binary()))
    return rows
