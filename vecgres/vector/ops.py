"""pgvector's vector functions, operators and aggregates on float32 arrays.

Precision: pgvector accumulates distances in float32 (``float distance``
in VectorL2SquaredDistance, VectorInnerProduct, VectorL1Distance and the
cosine sums) and widens to float8 only at the end; ``vector_norm``,
``l2_normalize`` and the ``avg`` state use float8. We do the same, so
overflow behaves as pgvector's (``l2_distance('[3e38]','[-3e38]')`` is
Infinity, ``cosine_distance('[3e38]','[3e38]')`` is NaN). pgvector's loops
are auto-vectorised with reassociation, so its summation order is
SIMD-lane dependent; ours is numpy's (pairwise / BLAS). Results agree to
float32 rounding of the sum, not bit for bit on long vectors; on exact
inputs (the regression tests) they agree exactly.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from vecgres.config import VECTOR_MAX_DIM
from vecgres.errors import DataException, NumericValueOutOfRange
from vecgres.vector.floats import strtof
from vecgres.vector.text import SPARSEVEC_MAX_DIM, check_dim, check_element, check_expected_dim

F32Array = npt.NDArray[np.float32]
F64Array = npt.NDArray[np.float64]


def _f32(v: npt.ArrayLike) -> F32Array:
    return np.asarray(v, dtype=np.float32)


def check_dims(a: F32Array, b: F32Array) -> None:
    """pgvector ``CheckDims``."""
    if len(a) != len(b):
        raise DataException(f"different vector dimensions {len(a)} and {len(b)}")


def overflow_error() -> NumericValueOutOfRange:
    return NumericValueOutOfRange("value out of range: overflow")


def underflow_error() -> NumericValueOutOfRange:
    return NumericValueOutOfRange("value out of range: underflow")


# ---------------------------------------------------------------- distances


def l2_squared_distance(a: F32Array, b: F32Array) -> float:
    a, b = _f32(a), _f32(b)
    check_dims(a, b)
    with np.errstate(all="ignore"):
        diff = a - b
        return float(np.dot(diff, diff))


def l2_distance(a: F32Array, b: F32Array) -> float:
    """``<->``: sqrt of the float32 sum of squared differences."""
    return float(np.sqrt(l2_squared_distance(a, b)))


def inner_product(a: F32Array, b: F32Array) -> float:
    a, b = _f32(a), _f32(b)
    check_dims(a, b)
    with np.errstate(all="ignore"):
        return float(np.dot(a, b))


def negative_inner_product(a: F32Array, b: F32Array) -> float:
    """``<#>``: the float32 inner product negated (so ASC order is best first)."""
    return -inner_product(a, b)


def _cosine_from_parts(dot: F64Array, na: F64Array, nb: F64Array) -> F64Array:
    """1 - similarity, from float32 sums widened to float64 (VectorCosineSimilarity).

    NaN (a zero norm, or inf/inf) propagates: the clamps compare false."""
    with np.errstate(all="ignore"):
        sim = dot / np.sqrt(na * nb)
    sim = np.where(sim > 1.0, 1.0, sim)
    sim = np.where(sim < -1.0, -1.0, sim)
    return 1.0 - sim


def cosine_distance(a: F32Array, b: F32Array) -> float:
    """``<=>``: 1 - cos, clamped to [0, 2]; NaN when either norm is 0."""
    a, b = _f32(a), _f32(b)
    check_dims(a, b)
    with np.errstate(all="ignore"):
        dot = np.float64(np.dot(a, b))
        na = np.float64(np.dot(a, a))
        nb = np.float64(np.dot(b, b))
    return float(_cosine_from_parts(np.array([dot]), np.array([na]), np.array([nb]))[0])


def l1_distance(a: F32Array, b: F32Array) -> float:
    """``<+>``: float32 sum of |a - b|."""
    a, b = _f32(a), _f32(b)
    check_dims(a, b)
    with np.errstate(all="ignore"):
        return float(np.sum(np.abs(a - b), dtype=np.float32))


def spherical_distance(a: F32Array, b: F32Array) -> float:
    """``vector_spherical_distance`` (IVFFlat's k-means on unit vectors)."""
    ip = min(max(inner_product(a, b), -1.0), 1.0)
    return float(np.arccos(ip) / np.pi)


# ---------------------------------------------------------------- batch forms


_BLOCK_FLOATS = 1 << 18  # 1 MiB of float32 per block


def _batch_args(matrix: F32Array, q: F32Array) -> tuple[F32Array, F32Array]:
    m = np.asarray(matrix, dtype=np.float32)
    qq = _f32(q)
    if m.ndim != 2:
        raise ValueError("expected a (n, d) matrix")
    if m.shape[1] != len(qq):
        raise DataException(f"different vector dimensions {m.shape[1]} and {len(qq)}")
    return m, qq


def l2_distances(matrix: F32Array, q: F32Array) -> F64Array:
    """``row <-> q`` for every row: float32 differences and float32 sums
    (einsum keeps float32 accumulation, like pgvector; no |a|^2-2ab+|b|^2
    expansion, which would lose precision for near neighbours)."""
    m, qq = _batch_args(matrix, q)
    sq = np.empty(len(m), dtype=np.float32)
    # in row blocks: the differences stay in cache instead of a matrix-sized temporary
    step = max(1, _BLOCK_FLOATS // max(1, m.shape[1]))
    with np.errstate(all="ignore"):
        for start in range(0, len(m), step):
            diff = m[start : start + step] - qq
            sq[start : start + step] = np.einsum("ij,ij->i", diff, diff, dtype=np.float32)
    return np.asarray(np.sqrt(sq.astype(np.float64)), dtype=np.float64)


def inner_products(matrix: F32Array, q: F32Array) -> F64Array:
    """``inner_product(row, q)`` for every row (float32 BLAS sgemv)."""
    m, qq = _batch_args(matrix, q)
    with np.errstate(all="ignore"):
        return (m @ qq).astype(np.float64)


def negative_inner_products(matrix: F32Array, q: F32Array) -> F64Array:
    """``row <#> q`` for every row."""
    return -inner_products(matrix, q)


def cosine_distances(matrix: F32Array, q: F32Array) -> F64Array:
    """``row <=> q`` for every row."""
    m, qq = _batch_args(matrix, q)
    with np.errstate(all="ignore"):
        dot = (m @ qq).astype(np.float64)
        na = np.einsum("ij,ij->i", m, m, dtype=np.float32).astype(np.float64)
        sim = dot / np.sqrt(na * np.float64(np.dot(qq, qq)))
    # _cosine_from_parts's clamps in two ufuncs (re-ranking calls this per query):
    # NaN propagates through both
    return np.asarray(1.0 - np.minimum(np.maximum(sim, -1.0), 1.0), dtype=np.float64)


def l1_distances(matrix: F32Array, q: F32Array) -> F64Array:
    """``row <+> q`` for every row."""
    m, qq = _batch_args(matrix, q)
    with np.errstate(all="ignore"):
        return np.asarray(np.sum(np.abs(m - qq), axis=1, dtype=np.float32), dtype=np.float64)


# ---------------------------------------------------------------- functions


def vector_dims(v: F32Array) -> int:
    return len(v)


def vector_norm(v: F32Array) -> float:
    """``vector_norm``: float8 accumulation of float8 squares."""
    d = np.asarray(v, dtype=np.float64)
    return float(np.sqrt(np.dot(d, d)))


def l2_normalize(v: F32Array) -> F32Array:
    """``l2_normalize``: x / norm in float8, rounded to float4; zero stays zero."""
    v = _f32(v)
    norm = vector_norm(v)
    if not norm > 0:
        return np.zeros(len(v), dtype=np.float32)
    with np.errstate(all="ignore"):
        r = (v.astype(np.float64) / norm).astype(np.float32)
    if np.isinf(r).any():
        raise overflow_error()
    return r


def _arith(a: F32Array, b: F32Array, op: str) -> F32Array:
    a, b = _f32(a), _f32(b)
    check_dims(a, b)
    with np.errstate(all="ignore"):
        if op == "+":
            r = a + b
        elif op == "-":
            r = a - b
        else:
            r = a * b
    if np.isinf(r).any():
        if op == "*":
            # pgvector checks overflow then underflow element by element
            for x, y, z in zip(a.tolist(), b.tolist(), r.tolist(), strict=True):
                if z in (np.inf, -np.inf):
                    raise overflow_error()
                if z == 0 and not (x == 0 or y == 0):
                    raise underflow_error()
        raise overflow_error()
    if op == "*" and ((r == 0) & (a != 0) & (b != 0)).any():
        raise underflow_error()
    return r


def vector_add(a: F32Array, b: F32Array) -> F32Array:
    """``+`` (float32; ``value out of range: overflow`` on inf)."""
    return _arith(a, b, "+")


def vector_sub(a: F32Array, b: F32Array) -> F32Array:
    return _arith(a, b, "-")


def vector_mul(a: F32Array, b: F32Array) -> F32Array:
    """``*``: overflow, and underflow when non-zero factors give 0."""
    return _arith(a, b, "*")


def vector_concat(a: F32Array, b: F32Array) -> F32Array:
    """``||``: dims above 16000 -> 54000."""
    check_dim(len(a) + len(b))
    return np.concatenate([_f32(a), _f32(b)])


def subvector(v: F32Array, start: int, count: int) -> F32Array:
    """``subvector(v, start, count)``, 1-based, clamped, as pgvector (int32
    arithmetic without overflow: end is computed before start is clamped)."""
    dim = len(v)
    if count < 1:
        raise DataException("vector must have at least 1 dimension")
    end = dim + 1 if start > dim - count else start + count
    if start < 1:
        start = 1
    elif start > dim:
        raise DataException("vector must have at least 1 dimension")
    n = end - start
    check_dim(n)
    return _f32(v)[start - 1 : start - 1 + n].copy()


def binary_quantize(v: F32Array) -> str:
    """``binary_quantize``: bit string, 1 where the element is > 0."""
    return (
        (_f32(v) > 0).astype(np.uint8).tobytes().translate(bytes.maketrans(b"\0\1", b"01")).decode()
    )


def vector_cmp(a: F32Array, b: F32Array) -> int:
    """``vector_cmp``: first differing element decides, then the dim count."""
    a, b = _f32(a), _f32(b)
    n = min(len(a), len(b))
    ne = np.flatnonzero(a[:n] != b[:n])
    if len(ne):
        i = int(ne[0])
        return -1 if a[i] < b[i] else 1
    return (len(a) > len(b)) - (len(a) < len(b))


def vector_lt(a: F32Array, b: F32Array) -> bool:
    return vector_cmp(a, b) < 0


def vector_le(a: F32Array, b: F32Array) -> bool:
    return vector_cmp(a, b) <= 0


def vector_eq(a: F32Array, b: F32Array) -> bool:
    return vector_cmp(a, b) == 0


def vector_ne(a: F32Array, b: F32Array) -> bool:
    return vector_cmp(a, b) != 0


def vector_ge(a: F32Array, b: F32Array) -> bool:
    return vector_cmp(a, b) >= 0


def vector_gt(a: F32Array, b: F32Array) -> bool:
    return vector_cmp(a, b) > 0


# ---------------------------------------------------------------- casts


def vector_from_array(
    values: list[object] | npt.NDArray[np.generic], typmod: int = -1, typename: str = "vector"
) -> F32Array:
    """``array_to_vector`` for integer[], real[], double precision[] and
    numeric[] (``decimal.Decimal``) arrays. Nested lists are multi-D.
    ``typename``: whose messages (``array_to_sparsevec`` checks the same way)."""
    if isinstance(values, np.ndarray):
        if values.ndim > 1:
            raise DataException("array must be 1-D")
        items: list[object] = values.tolist()
    else:
        items = list(values)
        if any(isinstance(x, list | tuple | np.ndarray) for x in items):
            raise DataException("array must be 1-D")
    if any(x is None for x in items):
        raise DataException("array must not contain nulls", sqlstate="22004")
    max_dim = SPARSEVEC_MAX_DIM if typename == "sparsevec" else VECTOR_MAX_DIM
    check_dim(len(items), typename, max_dim)
    check_expected_dim(typmod, len(items))
    out = np.empty(len(items), dtype=np.float32)
    for i, x in enumerate(items):
        out[i] = _element_to_f32(x)
    for x in out.tolist():
        check_element(x, typename)
    return out


def _element_to_f32(x: object) -> np.float32:
    if isinstance(x, Decimal):
        # numeric_float4 goes through float4in: overflow is an error there
        if not x.is_finite():
            return np.float32(np.nan if x.is_nan() else (np.inf if x > 0 else -np.inf))
        text = str(x)
        val, overflow = strtof(text)
        if overflow:
            raise NumericValueOutOfRange(f'"{text}" is out of range for type real')
        return val
    if isinstance(x, bool) or not isinstance(x, int | float | np.integer | np.floating):
        raise DataException("unsupported array type")
    with np.errstate(over="ignore"):
        # float8 -> float4 is a C cast: rounds, overflows to inf (then rejected)
        return np.float32(x)


# ---------------------------------------------------------------- aggregates


class VectorAccumulator:
    """State of pgvector's ``avg(vector)`` (kind "avg") or ``sum(vector)``
    (kind "sum").

    ``avg`` keeps pgvector's float8 state (``vector_accum`` / ``vector_combine``
    / ``vector_avg``): mixed dims -> ``expected 2 dimensions, not 1``.
    ``sum`` is ``CREATE AGGREGATE sum(vector) (SFUNC = vector_add, ...)``:
    float32, ``different vector dimensions 2 and 1``, overflow errors.
    """

    __slots__ = ("_count", "_dim", "_kind", "_state")

    def __init__(self, kind: Literal["avg", "sum"] = "avg") -> None:
        self._kind = kind
        self._count = 0
        self._dim = 0
        self._state: npt.NDArray[Any] | None = None

    @property
    def count(self) -> int:
        return self._count

    def add(self, v: F32Array | None) -> None:
        """Fold one value in; NULL is ignored."""
        if v is None:
            return
        v = _f32(v)
        if self._state is None:
            self._dim = len(v)
            self._state = v.astype(np.float64) if self._kind == "avg" else v.copy()
            self._count = 1
            return
        self._state = self._combine(self._state, v, len(v))
        self._count += 1

    def _combine(
        self,
        state: npt.NDArray[Any],
        other: npt.NDArray[Any],
        dim: int,
    ) -> npt.NDArray[Any]:
        if self._kind == "sum":
            return vector_add(state.astype(np.float32), other.astype(np.float32))
        check_expected_dim(self._dim, dim)
        with np.errstate(all="ignore"):
            s = state + other.astype(np.float64)
        if np.isinf(s).any():
            raise overflow_error()
        return s

    def merge(self, other: VectorAccumulator) -> None:
        """``vector_combine`` (parallel partial states)."""
        if other._state is None:
            return
        if self._state is None:
            self._count, self._dim, self._state = other._count, other._dim, other._state.copy()
            return
        self._state = self._combine(self._state, other._state, other._dim)
        self._count += other._count

    def avg(self) -> F32Array | None:
        """``vector_avg``: NULL for no rows; float8 sum / n rounded to float4."""
        if self._state is None:
            return None
        check_dim(self._dim)
        with np.errstate(all="ignore"):
            r = (self._state.astype(np.float64) / float(self._count)).astype(np.float32)
        for x in r.tolist():
            check_element(x)
        return r

    def sum(self) -> F32Array | None:
        """``sum(vector)``: NULL for no rows."""
        if self._state is None:
            return None
        return self._state.astype(np.float32)


def vector_avg(values: list[F32Array | None]) -> F32Array | None:
    """``avg(v)`` over a list (NULLs ignored)."""
    acc = VectorAccumulator("avg")
    for v in values:
        acc.add(v)
    return acc.avg()


def vector_sum(values: list[F32Array | None]) -> F32Array | None:
    """``sum(v)`` over a list: ``vector_add`` folded left (NULLs ignored)."""
    acc = VectorAccumulator("sum")
    for v in values:
        acc.add(v)
    return acc.sum()


__all__ = [
    "VECTOR_MAX_DIM",
    "VectorAccumulator",
    "binary_quantize",
    "check_dims",
    "cosine_distance",
    "cosine_distances",
    "inner_product",
    "inner_products",
    "l1_distance",
    "l1_distances",
    "l2_distance",
    "l2_distances",
    "l2_normalize",
    "l2_squared_distance",
    "negative_inner_product",
    "negative_inner_products",
    "rowwise_arith",
    "rowwise_binary_quantize",
    "rowwise_cmp",
    "rowwise_distances",
    "rowwise_l2_normalize",
    "spherical_distance",
    "subvector",
    "vector_add",
    "vector_avg",
    "vector_cmp",
    "vector_concat",
    "vector_dims",
    "vector_eq",
    "vector_from_array",
    "vector_ge",
    "vector_gt",
    "vector_le",
    "vector_lt",
    "vector_mul",
    "vector_ne",
    "vector_norm",
    "vector_sub",
    "vector_sum",
]


def rowwise_distances(metric: str, a: F32Array, b: F32Array) -> F64Array:
    """Distance between row i of ``a`` and row i of ``b`` (both (n, d)).

    ``metric``: "l2", "l2_squared", "ip" (inner product), "negative_ip",
    "cosine", "l1". Same float32 accumulation as the scalar forms.
    """
    a = np.asarray(a, dtype=np.float32)
    b = np.asarray(b, dtype=np.float32)
    with np.errstate(all="ignore"):
        if metric in ("l2", "l2_squared"):
            diff = a - b
            sq = np.einsum("ij,ij->i", diff, diff, dtype=np.float32).astype(np.float64)
            return np.asarray(np.sqrt(sq) if metric == "l2" else sq, dtype=np.float64)
        if metric in ("ip", "negative_ip"):
            ip = np.einsum("ij,ij->i", a, b, dtype=np.float32).astype(np.float64)
            return np.asarray(-ip if metric == "negative_ip" else ip, dtype=np.float64)
        if metric == "cosine":
            dot = np.einsum("ij,ij->i", a, b, dtype=np.float32).astype(np.float64)
            na = np.einsum("ij,ij->i", a, a, dtype=np.float32).astype(np.float64)
            nb = np.einsum("ij,ij->i", b, b, dtype=np.float32).astype(np.float64)
            return _cosine_from_parts(dot, na, nb)
        if metric == "l1":
            return np.asarray(np.sum(np.abs(a - b), axis=1, dtype=np.float32), dtype=np.float64)
    raise ValueError(f"unknown metric {metric}")


def rowwise_arith(op: str, a: F32Array, b: F32Array) -> F32Array:
    """``+``/``-``/``*`` on matching rows of two (n, d) matrices, raising the
    error the first offending row (in row order) would raise."""
    a = np.asarray(a, dtype=np.float32)
    b = np.asarray(b, dtype=np.float32)
    with np.errstate(all="ignore"):
        r = a + b if op == "+" else (a - b if op == "-" else a * b)
    bad = np.isinf(r).any(axis=1)
    if op == "*":
        bad |= ((r == 0) & (a != 0) & (b != 0)).any(axis=1)
    if bad.any():
        i = int(np.argmax(bad))
        _arith(a[i], b[i], op)
    return r


def rowwise_l2_normalize(m: F32Array) -> F32Array:
    """``l2_normalize`` of every row of a (n, d) matrix."""
    m = np.asarray(m, dtype=np.float32)
    d = m.astype(np.float64)
    norms = np.sqrt(np.einsum("ij,ij->i", d, d))
    with np.errstate(all="ignore"):
        r = np.where(norms[:, None] > 0, d / norms[:, None], 0.0).astype(np.float32)
    if np.isinf(r).any():
        raise overflow_error()
    return r


def rowwise_cmp(a: F32Array, b: F32Array) -> npt.NDArray[np.int32]:
    """``vector_cmp`` of matching rows of two (n, d) matrices (same d)."""
    a = np.asarray(a, dtype=np.float32)
    b = np.asarray(b, dtype=np.float32)
    ne = a != b
    first = np.argmax(ne, axis=1)
    rows = np.arange(len(a))
    any_ne = ne.any(axis=1)
    lt = a[rows, first] < b[rows, first]
    return np.where(any_ne, np.where(lt, -1, 1), 0).astype(np.int32)


def rowwise_binary_quantize(m: F32Array) -> list[str]:
    """``binary_quantize`` of every row."""
    m = np.asarray(m, dtype=np.float32)
    if m.shape[1] == 0:
        return [""] * len(m)
    chars = np.where(m > 0, np.uint8(ord("1")), np.uint8(ord("0"))).astype(np.uint8)
    raw = chars.tobytes()
    d = m.shape[1]
    return [raw[i * d : (i + 1) * d].decode() for i in range(len(m))]


# Exact top-k kernels for the other types, re-exported for the executor:
# halfvec columns are float32 matrices of float16-exact values, so the dense
# forms above (l2_distances, ... rowwise_distances) apply to them unchanged.
from vecgres.vector.bits import hamming_distances, jaccard_distances  # noqa: E402
from vecgres.vector.bits import pack as pack_bits  # noqa: E402
from vecgres.vector.sparse import distances as sparse_distances  # noqa: E402

__all__ += ["hamming_distances", "jaccard_distances", "pack_bits", "sparse_distances"]
