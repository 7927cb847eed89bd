"""pgvector's sparsevec math on ``(dim, 0-based int32 indices, float32 values)``.

Distances accumulate in float32 and widen to float8 at the end, as
src/sparsevec.c does; norms use float8. Values are never zero (zeros are
dropped on input and after every operation that could make one).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import numpy.typing as npt

from vecgres.config import VECTOR_MAX_DIM
from vecgres.errors import DataException, NumericValueOutOfRange, ProgramLimitExceeded
from vecgres.vector.text import (
    SPARSEVEC_MAX_NNZ,
    check_dim,
    check_element,
    check_expected_dim,
    format_sparsevec,
    parse_sparsevec,
)

F32Array = npt.NDArray[np.float32]
I32Array = npt.NDArray[np.int32]


class Sparse(NamedTuple):
    dim: int
    indices: I32Array
    values: F32Array

    def text(self) -> str:
        return format_sparsevec(self.dim, self.indices, self.values)


def parse(text: str, typmod: int = -1) -> Sparse:
    dim, idx, vals = parse_sparsevec(text, typmod)
    return Sparse(dim, np.asarray(idx, np.int32), np.asarray(vals, np.float32))


def check_same_dim(a: Sparse, b: Sparse) -> None:
    if a.dim != b.dim:
        raise DataException(f"different sparsevec dimensions {a.dim} and {b.dim}")


def _aligned(a: Sparse, b: Sparse) -> tuple[F32Array, F32Array]:
    """Both vectors' values over the union of their indices."""
    union = np.union1d(a.indices, b.indices)
    va = np.zeros(len(union), np.float32)
    vb = np.zeros(len(union), np.float32)
    va[np.searchsorted(union, a.indices)] = a.values
    vb[np.searchsorted(union, b.indices)] = b.values
    return va, vb


def _sequential_sum(x: F32Array) -> float:
    """A float32 sum in index order, one element at a time: pgvector's merge loops
    have branches, so (unlike the dense loops) the compiler does not reassociate them."""
    if len(x) == 0:
        return 0.0
    with np.errstate(all="ignore"):
        return float(np.cumsum(x, dtype=np.float32)[-1])


def l2_squared_distance(a: Sparse, b: Sparse) -> float:
    check_same_dim(a, b)
    va, vb = _aligned(a, b)
    with np.errstate(all="ignore"):
        diff = va - vb
        return _sequential_sum(diff * diff)


def l2_distance(a: Sparse, b: Sparse) -> float:
    return float(np.sqrt(l2_squared_distance(a, b)))


def inner_product(a: Sparse, b: Sparse) -> float:
    check_same_dim(a, b)
    _, ia, ib = np.intersect1d(a.indices, b.indices, assume_unique=True, return_indices=True)
    with np.errstate(all="ignore"):
        return _sequential_sum(a.values[ia] * b.values[ib])


def negative_inner_product(a: Sparse, b: Sparse) -> float:
    return -inner_product(a, b)


def cosine_distance(a: Sparse, b: Sparse) -> float:
    check_same_dim(a, b)
    dot = inner_product(a, b)
    with np.errstate(all="ignore"):
        na = float(np.sum(a.values * a.values, dtype=np.float32))
        nb = float(np.sum(b.values * b.values, dtype=np.float32))
        sim = np.float64(dot) / np.sqrt(np.float64(na) * np.float64(nb))
    if np.isnan(sim):
        return float("nan")
    return float(1.0 - min(1.0, max(-1.0, float(sim))))


def l1_distance(a: Sparse, b: Sparse) -> float:
    check_same_dim(a, b)
    va, vb = _aligned(a, b)
    # sparsevec_l1_distance sums float |differences| into a double
    with np.errstate(all="ignore"):
        return float(np.sum(np.abs(va - vb).astype(np.float64)))


def l2_norm(a: Sparse) -> float:
    v = a.values.astype(np.float64)
    return float(np.sqrt(np.dot(v, v)))


def l2_normalize(a: Sparse) -> Sparse:
    norm = l2_norm(a)
    if norm <= 0:
        return a
    with np.errstate(all="ignore"):
        vals = (a.values.astype(np.float64) / norm).astype(np.float32)
    if np.isinf(vals).any():
        raise NumericValueOutOfRange("value out of range: overflow")
    keep = vals != 0
    return Sparse(a.dim, a.indices[keep], vals[keep])


def cmp(a: Sparse, b: Sparse) -> int:
    """``sparsevec_cmp``: values in index order first, then dimensions."""
    ax, bx, ai, bi = a.values, b.values, a.indices, b.indices
    nnz = min(len(ai), len(bi))
    for i in range(nnz):
        if ai[i] < bi[i]:
            return -1 if ax[i] < 0 else 1
        if ai[i] > bi[i]:
            return 1 if bx[i] < 0 else -1
        if ax[i] < bx[i]:
            return -1
        if ax[i] > bx[i]:
            return 1
    if len(ai) < len(bi) and bi[nnz] < a.dim:
        return 1 if bx[nnz] < 0 else -1
    if len(ai) > len(bi) and ai[nnz] < b.dim:
        return -1 if ax[nnz] < 0 else 1
    if a.dim < b.dim:
        return -1
    if a.dim > b.dim:
        return 1
    return 0


def check_nnz(nnz: int) -> None:
    if nnz > SPARSEVEC_MAX_NNZ:
        raise ProgramLimitExceeded(
            f"sparsevec cannot have more than {SPARSEVEC_MAX_NNZ} non-zero elements"
        )


def from_dense(v: F32Array, typmod: int = -1) -> Sparse:
    """``vector_to_sparsevec`` / ``halfvec_to_sparsevec`` / array -> sparsevec."""
    v = np.asarray(v, dtype=np.float32)
    check_expected_dim(typmod, len(v))
    idx = np.flatnonzero(v).astype(np.int32)
    check_nnz(len(idx))
    return Sparse(len(v), idx, v[idx])


def to_dense(a: Sparse, typmod: int = -1, typename: str = "vector") -> F32Array:
    """``sparsevec_to_vector`` / ``sparsevec_to_halfvec`` (as float32)."""
    check_dim(a.dim, typename, VECTOR_MAX_DIM)
    check_expected_dim(typmod, a.dim)
    out = np.zeros(a.dim, np.float32)
    out[a.indices] = a.values
    if typename == "halfvec":
        from vecgres.vector.half import to_half

        out = to_half(out)
    return out


def check_typmod(a: Sparse, typmod: int) -> Sparse:
    check_expected_dim(typmod, a.dim)
    return a


def check_values(values: F32Array) -> None:
    for x in np.asarray(values, dtype=np.float32).tolist():
        check_element(x, "sparsevec")


_METRICS = {
    "l2": l2_distance,
    "l2_squared": l2_squared_distance,
    "ip": inner_product,
    "negative_ip": negative_inner_product,
    "cosine": cosine_distance,
    "l1": l1_distance,
}


def distances(metric: str, rows: list[Sparse | None], q: Sparse) -> npt.NDArray[np.float64]:
    """Distance of each row to ``q`` (NaN for NULL rows): the exact top-k kernel
    for sparsevec columns. ``metric``: l2, l2_squared, ip, negative_ip, cosine, l1."""
    fn = _METRICS[metric]
    out = np.full(len(rows), np.nan, dtype=np.float64)
    for i, row in enumerate(rows):
        if row is not None:
            out[i] = fn(row, q)
    return out


_BIG = float(2**31)


def sort_key(a: Sparse) -> list[tuple[float, float]]:
    """A list whose lexicographic order is ``sparsevec_cmp``'s.

    Each non-zero (i, v) maps to (2^31 - i, v) when v > 0 and (i - 2^31, v) when
    v < 0, so the first differing position decides by the sign of the value
    that is present there; a final (0, dim) stands for "zeros from here on" and
    breaks ties by dimensions. (One edge differs: a longer vector whose extra
    non-zero lies beyond the shorter one's dimensions compares by that value's
    sign rather than by dimensions.)"""
    key = [
        ((_BIG - i) if v > 0 else (i - _BIG), float(v))
        for i, v in zip(a.indices.tolist(), a.values.tolist(), strict=True)
    ]
    key.append((0.0, float(a.dim)))
    return key
