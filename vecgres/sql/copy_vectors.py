"""Text-format vector values of a COPY batch parsed in bulk (pgvector's vector_in).

``vector_text_array`` takes the batch as an Arrow string array and, when every
literal is ``[`` plain decimal numbers separated by commas ``]``, parses all
the numbers with one Arrow cast (fast_float: correctly rounded to float32, as
strtof). Anything else goes to ``vector_text_column``:
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
import pyarrow.compute as pc

from vecgres.config import VECTOR_MAX_DIM
from vecgres.vector.floats import doubles_to_f32, f32_exact_round
from vecgres.vector.text import parse_vector

# the only bytes of a batch parsed in bulk: numbers and the commas between them
_NUMBER_BYTES: Final = b"0123456789.+-eE,"
# "[1,2][3]" -> "1,2,3,": every number then ends at a comma
_FLATTEN: Final = bytes.maketrans(b"]", b",")


def vector_text_array(values: pa.Array, typmod: int) -> pa.Array:
    """``list<float32>`` of the vector literals in the string array ``values``."""
    fast = _arrow_bulk(values)
    if fast is not None:
        return fast
    return vector_text_column(values.to_pylist(), typmod)


def _arrow_bulk(values: pa.Array) -> pa.Array | None:
    """The fast case of ``vector_text_array``; None for anything else."""
    live = values.drop_null() if values.null_count else values
    n = len(live)
    if n == 0 or not pa.types.is_string(live.type):
        return None
    bounds = np.frombuffer(live.buffers()[1], dtype=np.int32, count=n + 1, offset=live.offset * 4)
    raw = memoryview(live.buffers()[2])[bounds[0] : bounds[-1]].tobytes()
    bounds = bounds - bounds[0]
    # besides numbers and commas only brackets, "[]" n times: with each literal's first
    # byte a "[" and its last a "]", that is all of its brackets
    if raw.translate(None, _NUMBER_BYTES) != b"[]" * n or (np.diff(bounds) < 2).any():
        return None
    text = np.frombuffer(raw, dtype=np.uint8)
    if (text[bounds[:-1]] != ord("[")).any() or (text[bounds[1:] - 1] != ord("]")).any():
        return None
    flat = raw.translate(_FLATTEN, b"[")
    commas = np.flatnonzero(np.frombuffer(flat, dtype=np.uint8) == ord(","))
    digits = flat.translate(None, b",")
    if len(digits) >= 2**31:  # past a string array's int32 offsets
        return None
    # the k-th number ends at the k-th comma, less the k commas before it
    ends = commas - np.arange(len(commas))
    numbers = pa.StringArray.from_buffers(
        len(ends),
        pa.py_buffer(np.concatenate([[0], ends]).astype(np.int32)),
        pa.py_buffer(digits),
    )
    try:
        floats = pc.cast(numbers, pa.float32()).to_numpy(zero_copy_only=False)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):  # "", "1e", "1.2.3": pgvector words it
        return None
    if not np.isfinite(floats).all():  # out of range: pgvector's own message
        return None
    # literal i ends (its "]", now a comma) i + 1 bytes left of where it did, "[" gone
    last = np.searchsorted(commas, bounds[1:] - np.arange(1, n + 1) - 1) + 1
    counts = np.diff(last, prepend=0)
    if counts.max() > VECTOR_MAX_DIM:
        return None
    sizes = np.zeros(len(values), dtype=np.int32)
    valid = values.is_valid().to_numpy(zero_copy_only=False)
    sizes[valid] = counts
    offsets = np.zeros(len(values) + 1, dtype=np.int32)
    np.cumsum(sizes, out=offsets[1:])
    mask = pa.array(~valid) if values.null_count else None
    return pa.ListArray.from_arrays(pa.array(offsets), pa.array(floats), mask=mask)


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
