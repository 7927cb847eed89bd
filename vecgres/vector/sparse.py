"""pgvector's sparsevec math on ``(dim, 0-based int32 indices, float32 values)``.

Distances accumulate in float32 and widen to float8 at the end, as
src/sparsevec.c does; norms use float8. Values are never zero (zeros are
dropped on input and after every operation that could make one).
"""

from __future__ import annotations

import re
from typing import NamedTuple

import numpy as np
import numpy.typing as npt

from vecgres.config import VECTOR_MAX_DIM
from vecgres.errors import DataException, NumericValueOutOfRange, ProgramLimitExceeded
from vecgres.vector.floats import doubles_to_f32, f32_exact_round
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


_CANONICAL = re.compile(r"\{((?:[0-9]+:[-0-9.e+]+(?:,[0-9]+:[-0-9.e+]+)*)?)\}/([0-9]+)")


def parse(text: str, typmod: int = -1) -> Sparse:
    dim, idx, vals = parse_sparsevec(text, typmod)
    return Sparse(dim, np.asarray(idx, np.int32), np.asarray(vals, np.float32))


def parse_stored(text: str) -> Sparse:
    """A value in the canonical form vecgres stores (``format_sparsevec``'s output):
    split and converted with numpy; anything else goes through ``parse``."""
    m = _CANONICAL.fullmatch(text)
    if m is None:
        return parse(text)
    dim = int(m.group(2))
    body = m.group(1)
    if not body:
        return Sparse(dim, np.zeros(0, np.int32), np.zeros(0, np.float32))
    pairs = [p.split(":") for p in body.split(",")]
    idx = np.array([int(i) - 1 for i, _ in pairs], dtype=np.int32)
    tokens = [v for _, v in pairs]
    vals, suspicious = doubles_to_f32(np.array([float(v) for v in tokens], dtype=np.float64))
    for i in np.flatnonzero(suspicious):
        vals[i] = f32_exact_round(tokens[i])
    if not (np.all(np.diff(idx) > 0) and (len(idx) == 0 or (idx[0] >= 0 and idx[-1] < dim))):
        return parse(text)
    if not np.all(np.isfinite(vals)) or np.any(vals == 0):
        return parse(text)
    return Sparse(dim, idx, vals)


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
        na = _sequential_sum(a.values * a.values)
        nb = _sequential_sum(b.values * b.values)
        sim = np.float64(dot) / np.sqrt(np.float64(na) * np.float64(nb))
    if np.isnan(sim):
        return float("nan")
    return float(1.0 - min(1.0, max(-1.0, float(sim))))


def l1_distance(a: Sparse, b: Sparse) -> float:
    check_same_dim(a, b)
    va, vb = _aligned(a, b)
    # sparsevec_l1_distance sums float |differences| into a double, in index order
    with np.errstate(all="ignore"):
        terms = np.abs(va - vb).astype(np.float64)
    return float(np.cumsum(terms)[-1]) if len(terms) else 0.0


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
    """Distance of each row to ``q`` (NaN for NULL rows). ``metric``: l2,
    l2_squared, ip, negative_ip, cosine, l1. Raises pgvector's dimension error."""
    out = np.full(len(rows), np.nan, dtype=np.float64)
    live = [i for i, r in enumerate(rows) if r is not None]
    if not live:
        return out
    present = [r for r in rows if r is not None]
    for row in present:
        check_same_dim(row, q)
    lengths = np.array([len(r.indices) for r in present], dtype=np.int64)
    indptr = np.zeros(len(present) + 1, np.int64)
    np.cumsum(lengths, out=indptr[1:])
    idx = np.concatenate([r.indices for r in present]).astype(np.int32)
    val = np.concatenate([r.values for r in present]).astype(np.float32)
    out[live] = csr_distances(metric, indptr, idx, val, q)
    return out


# rows x query non-zeros per block of the CSR kernel (bounds its scratch grids)
_BLOCK_CELLS = 1 << 22


def csr_distances(
    metric: str,
    indptr: npt.NDArray[np.int64],
    indices: I32Array,
    values: F32Array,
    q: Sparse,
) -> npt.NDArray[np.float64]:
    """Distance of every CSR row (0-based ascending ``indices``) to ``q``: the exact
    top-k kernel for stored sparsevec columns. The caller checks dimensions.

    Vectorised over the rows with the summation order of the one-row functions
    (index order, float32 where pgvector sums floats), so both give identical results."""
    n = len(indptr) - 1
    out = np.empty(n, dtype=np.float64)
    if n <= 0:
        return out
    lengths = np.diff(indptr)
    width = max(1, len(q.indices) + int(lengths.max(initial=0)))
    step = max(1, _BLOCK_CELLS // width)
    for lo in range(0, n, step):
        hi = min(n, lo + step)
        a, b = int(indptr[lo]), int(indptr[hi])
        out[lo:hi] = _csr_block(
            metric, lengths[lo:hi], indices[a:b].astype(np.int64), values[a:b], q
        )
    return out


def _csr_block(
    metric: str,
    lengths: npt.NDArray[np.int64],
    idx: npt.NDArray[np.int64],
    val: F32Array,
    q: Sparse,
) -> npt.NDArray[np.float64]:
    n = len(lengths)
    val = np.asarray(val, dtype=np.float32)
    owner = np.repeat(np.arange(n), lengths)
    qi = q.indices.astype(np.int64)
    qv = q.values.astype(np.float32)
    pos = np.searchsorted(qi, idx)
    pos_c = np.minimum(pos, max(len(qi) - 1, 0))
    matched = (pos < len(qi)) & (qi[pos_c] == idx) if len(qi) else np.zeros(len(idx), bool)
    qval = np.where(matched, qv[pos_c] if len(qi) else 0, np.float32(0)).astype(np.float32)
    with np.errstate(all="ignore"):
        if metric in ("ip", "negative_ip", "cosine"):
            prod = np.where(matched, val * qval, np.float32(0)).astype(np.float32)
            dot = _segment_sums(owner, idx, prod, n, np.float32)
            if metric == "cosine":
                na = _segment_sums(owner, idx, val * val, n, np.float32).astype(np.float64)
                nb = np.float64(_sequential_sum(qv * qv))
                sim = dot.astype(np.float64) / np.sqrt(na * nb)
                return np.asarray(1.0 - np.clip(sim, -1.0, 1.0), dtype=np.float64)
            sign = -1.0 if metric == "negative_ip" else 1.0
            return np.asarray(dot.astype(np.float64) * sign, dtype=np.float64)
        # row elements (minus the query's value where both have one), then the
        # query's elements the row lacks, all summed in index order per row
        hit = np.zeros((n, len(qi)), bool)
        hit[owner[matched], pos[matched]] = True
        q_owner, q_pos = np.nonzero(~hit)
        all_owner = np.concatenate([owner, q_owner])
        all_idx = np.concatenate([idx, qi[q_pos]])
        if metric == "l1":
            terms = np.concatenate([np.abs(val - qval), np.abs(qv[q_pos])]).astype(np.float64)
            return np.asarray(
                _segment_sums(all_owner, all_idx, terms, n, np.float64), dtype=np.float64
            )
        d = (val - qval).astype(np.float32)
        terms32 = np.concatenate([d * d, qv[q_pos] * qv[q_pos]]).astype(np.float32)
        sq64 = np.asarray(_segment_sums(all_owner, all_idx, terms32, n, np.float32), np.float64)
        return np.sqrt(sq64) if metric == "l2" else sq64


def _segment_sums(
    owner: npt.NDArray[np.int64],
    idx: npt.NDArray[np.int64],
    terms: npt.NDArray[np.floating],
    n: int,
    dtype: type[np.floating],
) -> npt.NDArray[np.floating]:
    """Per-owner sums of ``terms`` taken one at a time in ascending ``idx`` order."""
    order = np.lexsort((idx, owner))
    owner, terms = owner[order], terms[order].astype(dtype)
    counts = np.bincount(owner, minlength=n)
    width = int(counts.max()) if len(counts) else 0
    grid = np.zeros((n, max(width, 1)), dtype=dtype)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    col = np.arange(len(owner)) - starts[owner]
    grid[owner, col] = terms
    # cumsum along a row is a sequential sum; trailing zeros do not change it
    sums: npt.NDArray[np.floating] = np.cumsum(grid, axis=1, dtype=dtype)[:, -1]
    return sums


_BIG = float(2**31)


def sort_key(a: Sparse) -> list[tuple[float, float]]:
    """A list whose lexicographic order is ``sparsevec_cmp``'s.

    Each non-zero (i, v) maps to (2^31 - i, v) when v > 0 and (i - 2^31, v) when
    v < 0, so the first differing position decides by the sign of the value
    that is present there. A final (dim - 2^31 - 0.5, dim) stands for "zeros
    from here on": it sorts below a positive non-zero, above a negative one at
    an index below ``dim`` and below one at an index at or beyond ``dim``
    (sparsevec_cmp then decides by dimensions, and the longer one's are larger),
    and between two such ends the smaller dimension sorts first."""
    key = [
        ((_BIG - i) if v > 0 else (i - _BIG), float(v))
        for i, v in zip(a.indices.tolist(), a.values.tolist(), strict=True)
    ]
    key.append((a.dim - _BIG - 0.5, float(a.dim)))
    return key
