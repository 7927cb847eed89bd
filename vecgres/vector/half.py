"""halfvec values: float16 numbers carried in float32.

DuckDB has no float16 type, so a halfvec travels through DuckDB as FLOAT[]
whose every element is already rounded to float16. float32 holds every
float16 exactly, so the round trip is lossless, distances computed on the
float32 form equal pgvector's (which widens each half to float before
accumulating), and vector/halfvec share all the list machinery.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from vecgres.errors import DataException, NumericValueOutOfRange
from vecgres.vector.floats import format_float4

F32Array = npt.NDArray[np.float32]
HALF_MAX = 65504.0


def to_half(v: npt.ArrayLike) -> F32Array:
    """``Float4ToHalf`` on every element: round to float16, overflow is an error."""
    f = np.asarray(v, dtype=np.float32)
    with np.errstate(over="ignore"):
        h = f.astype(np.float16)
    bad = np.isinf(h) & ~np.isinf(f)
    if bad.any():
        x = f[int(np.argmax(bad))]
        raise NumericValueOutOfRange(f'"{format_float4(x)}" is out of range for type halfvec')
    return h.astype(np.float32)


def round_result(r: F32Array) -> F32Array:
    """An arithmetic result rounded to float16: infinity is ``overflow``."""
    with np.errstate(over="ignore"):
        h = np.asarray(r, dtype=np.float32).astype(np.float16)
    if np.isinf(h).any():
        raise NumericValueOutOfRange("value out of range: overflow")
    return h.astype(np.float32)


def arith(a: F32Array, b: F32Array, op: str) -> F32Array:
    """halfvec ``+``/``-``/``*``: computed in float, rounded to half, checked."""
    if len(a) != len(b):
        raise DataException(f"different halfvec dimensions {len(a)} and {len(b)}")
    with np.errstate(all="ignore"):
        r = a + b if op == "+" else (a - b if op == "-" else a * b)
    out = round_result(r)
    if op == "*" and ((out == 0) & (a != 0) & (b != 0)).any():
        raise NumericValueOutOfRange("value out of range: underflow")
    return out
