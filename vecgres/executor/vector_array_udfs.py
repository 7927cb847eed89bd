"""``array_in`` for arrays of pgvector's types, as a DuckDB function: a text value
(not a literal, which the binder reads itself) cast to ``vector[]``, ``halfvec[]``
or ``sparsevec[]``. It gives the element texts, each already checked by the element's
input function; the caller applies the element cast (and typmod) to each."""

from __future__ import annotations

from collections.abc import Callable

import duckdb
import pyarrow as pa

from vecgres.vector.arrays import element_texts


def _array_in(t_col: pa.ChunkedArray, k_col: pa.ChunkedArray) -> pa.Array:
    texts = t_col.to_pylist()
    kinds = k_col.to_pylist()
    out = [
        None if text is None else element_texts(text, kind)
        for text, kind in zip(texts, kinds, strict=True)
    ]
    return pa.array(out, type=pa.list_(pa.string()))


def register(add: Callable[..., None]) -> None:
    add("pgv_array_in", _array_in, ["VARCHAR", "VARCHAR"], duckdb.list_type("VARCHAR"))
