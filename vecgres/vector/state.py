"""pgvector's avg transition state: ``vector_accum``, ``vector_combine``, ``vector_avg``
(and the halfvec ones), callable from SQL as in pgvector.

The state is a float8 array ``{n, sum_1, ..., sum_dim}`` (``'{0}'`` before any
value), as pgvector keeps it (src/vector.c, src/halfvec.c).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from vecgres.errors import InternalError, NumericValueOutOfRange
from vecgres.vector.half import to_half
from vecgres.vector.text import check_dim, check_expected_dim, check_vector_value

F64Array = npt.NDArray[np.float64]
F32Array = npt.NDArray[np.float32]


def check_state(state: list[float | None], caller: str) -> F64Array:
    """``CheckStateArray``: a non-empty float8 array without NULLs."""
    if not state or any(v is None for v in state):
        raise InternalError(f"{caller}: expected state array")
    return np.asarray(state, dtype=np.float64)


def _overflow_checked(v: F64Array) -> F64Array:
    if np.isinf(v).any():
        raise NumericValueOutOfRange("value out of range: overflow")
    return v


def accum(state: list[float | None], value: F32Array, caller: str) -> list[float]:
    """``vector_accum`` / ``halfvec_accum``: add one value to the state."""
    s = check_state(state, caller)
    dim = len(s) - 1
    x = np.asarray(value, dtype=np.float32).astype(np.float64)
    if dim > 0:  # only the bare '{0}' state takes any dimensions: '{0,0}' expects 1
        check_expected_dim(dim, len(x))
    if s[0] == 0.0:  # pgvector: the first value sets the sums (n == 1)
        sums = x
    else:
        with np.errstate(over="ignore"):
            sums = _overflow_checked(s[1:] + x)
    return [float(s[0] + 1.0), *sums.tolist()]


def combine(a: list[float | None], b: list[float | None]) -> list[float]:
    """``vector_combine``: merge two partial states."""
    s1, s2 = check_state(a, "vector_combine"), check_state(b, "vector_combine")
    # pgvector checks the dimensions of the state it keeps (CheckDim): '{0}' has none
    if s1[0] == 0.0:
        check_dim(len(s2) - 1, "vector")
        return [float(x) for x in s2]
    if s2[0] == 0.0:
        check_dim(len(s1) - 1, "vector")
        return [float(x) for x in s1]
    check_dim(len(s1) - 1, "vector")
    check_expected_dim(len(s1) - 1, len(s2) - 1)
    with np.errstate(over="ignore"):
        sums = _overflow_checked(s1[1:] + s2[1:])
    return [float(s1[0] + s2[0]), *sums.tolist()]


def average(state: list[float | None], typename: str) -> F32Array | None:
    """``vector_avg`` / ``halfvec_avg``: the mean, or None for no values."""
    s = check_state(state, f"{typename}_avg")
    n = s[0]
    if n == 0.0:
        return None
    check_dim(len(s) - 1, typename)
    with np.errstate(over="ignore"):
        mean = (s[1:] / n).astype(np.float32)
    if typename == "halfvec":
        mean = to_half(mean) if np.isfinite(mean).all() else mean
    check_vector_value(mean, typename)
    result: F32Array = mean
    return result


__all__ = ["accum", "average", "check_state", "combine"]
