"""Text-format vector values of a COPY batch parsed in bulk (pgvector's vector_in).

Row by row, the DuckDB conversion INSERT uses costs a Python function call and
a list conversion per value. Here every literal spelled the plain way
(``[1,2.5,-3e-05]``: no spaces, decimal numbers) has its numbers converted by
numpy at once, for the whole batch, and rounded to float4 as ``parse_vector``
rounds them; a batch with any other spelling, and a literal whose value
overflows float4 or has too many dimensions, goes through ``parse_vector``
itself, which accepts it or
raises pgvector's error. The result is ``list<float32>``, which COPY's vector
check (dimensions, NaN, infinity) then takes without DuckDB.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

import numpy as np
import pyarrow as pa

from vecgres.config import VECTOR_MAX_DIM
from vecgres.vector.floats import doubles_to_f32, f32_exact_round
from vecgres.vector.text import parse_vector

# the only bytes of a batch parsed in bulk: numbers and the commas between them
_NUMBER_BYTES: Final = b"0123456789.+-eE,"


def _bulk(values: Sequence[str | None]) -> tuple[list[int], list[str], np.ndarray] | None:
    """(rows, their texts inside the brackets, all their numbers as doubles) for the
    bracketed literals of ``values``; None when some of them is not plain decimals."""
    rows: list[int] = []
    inner: list[str] = []
    for i, v in enumerate(values):
        if v is not None and v[:1] == "[" and v[-1:] == "]":
            rows.append(i)
            inner.append(v[1:-1])
    joined = ",".join(inner)
    if not joined.isascii() or joined.encode().translate(None, _NUMBER_BYTES):
        return None
    try:
        # every part is digits, sign, point and exponent only: float syntax is strtof's
        return rows, inner, np.array(joined.split(","), dtype=np.float64)
    except ValueError:  # an empty element, a stray sign or exponent: pgvector words it
        return None


def vector_text_column(values: Sequence[str | None], typmod: int) -> pa.Array:
    """``list<float32>`` of the vector literals ``values`` (None for NULL)."""
    n = len(values)
    bulk = _bulk(values) if n else None
    rows, inner, doubles = bulk if bulk is not None else ([], [], np.empty(0))
    floats, suspicious = doubles_to_f32(doubles)
    if suspicious.any():
        parts = ",".join(inner).split(",")
        for k in np.flatnonzero(suspicious).tolist():
            floats[k] = f32_exact_round(parts[k])
    sizes = np.fromiter((s.count(",") + 1 for s in inner), dtype=np.int64, count=len(inner))
    starts = np.zeros(len(inner) + 1, dtype=np.int64)
    np.cumsum(sizes, out=starts[1:])
    vectors: list[np.ndarray | None] = [None] * n
    finite = bool(np.isfinite(floats).all()) if len(floats) else True
    for k, i in enumerate(rows):
        got = floats[starts[k] : starts[k + 1]]
        if sizes[k] <= VECTOR_MAX_DIM and (finite or np.isfinite(got).all()):
            vectors[i] = got
    for i, v in enumerate(values):
        if v is not None and vectors[i] is None:
            # anything unusual: pgvector's own parser accepts it or says what is wrong
            vectors[i] = parse_vector(v, typmod)
    lengths = np.array([0 if v is None else len(v) for v in vectors], dtype=np.int64)
    offsets = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    live = [v for v in vectors if v is not None]
    flat = np.concatenate(live).astype(np.float32, copy=False) if live else np.empty(0, np.float32)
    mask = pa.array([v is None for v in values]) if any(v is None for v in values) else None
    return pa.LargeListArray.from_arrays(pa.array(offsets), pa.array(flat), mask=mask).cast(
        pa.list_(pa.float32())
    )
