"""The best ``k`` of a segment's matching rows by exact distance, without gathering them.

A filtered search that finds few matching rows ranks them exactly. Gathering
those rows out of the (memory-mapped) segment matrix and running numpy's BLAS
on the copy cost ~20 ms for 10k x 384 rows, mostly the copy and BLAS's thread
team on a busy machine. faiss's ``fvec_*_by_idx`` kernels read the rows in
place on one thread (SIMD). Their float32 sums may differ from numpy's in the
last bits, so they only shortlist: every row within a rounding margin of the
k-th shortlisted distance is ranked again by the caller's exact function
(pgvector's arithmetic), so results and their order are the numpy path's.
"""

from __future__ import annotations

import threading
from collections import OrderedDict

import faiss
import numpy as np

# below this many rows the gather is cheap and numpy ranks them directly
MIN_ROWS = 512
# shortlist margin: far above float32 summation-order differences (~1e-6 relative)
_MARGIN = 1e-4


def approximate(
    metric: str, matrix: np.ndarray, query: np.ndarray, offsets: np.ndarray
) -> np.ndarray | None:
    """Distances of ``matrix[offsets]`` to ``query`` in the order of ``metric`` (l2:
    squared; cosine: 1 - similarity), float32 arithmetic;
    None when the kernels do not apply (the caller ranks with numpy)."""
    if (
        # ip: a product's rounding grows with the norms, which no fixed margin bounds
        metric not in ("l2", "cosine")
        or matrix.dtype != np.float32
        or not matrix.flags.c_contiguous
        or matrix.ndim != 2
        or len(offsets) < MIN_ROWS
    ):
        return None
    dims = matrix.shape[1]
    q = np.ascontiguousarray(query, dtype=np.float32)
    if len(q) != dims:
        return None
    ids = np.ascontiguousarray(offsets, dtype=np.int64)
    n = len(ids)
    out = np.empty(n, dtype=np.float32)
    x, y, sel = faiss.swig_ptr(q), faiss.swig_ptr(matrix), faiss.swig_ptr(ids)
    if metric == "l2":
        faiss.fvec_L2sqr_by_idx(faiss.swig_ptr(out), x, y, sel, dims, 1, n)  # type: ignore[attr-defined]
        return out.astype(np.float64)
    faiss.fvec_inner_products_by_idx(faiss.swig_ptr(out), x, y, sel, dims, 1, n)  # type: ignore[attr-defined]
    full = _segment_norms(matrix)
    if full is not None:
        norms = full[ids]
    else:
        norms = np.empty(n, dtype=np.float32)
        zero = np.zeros(dims, dtype=np.float32)
        kernel = faiss.fvec_L2sqr_by_idx  # type: ignore[attr-defined]
        kernel(faiss.swig_ptr(norms), faiss.swig_ptr(zero), y, sel, dims, 1, n)
    with np.errstate(all="ignore"):
        qn = np.float64(np.dot(q, q))
        return 1.0 - out.astype(np.float64) / np.sqrt(norms.astype(np.float64) * qn)


# squared norms of segment matrices: (address, rows, dims) -> (the matrix, norms).
# The entry holds the matrix (a view of the segment's Arrow buffer), so its
# memory, hence its address, cannot be reused by other data while cached.
_NORMS: OrderedDict[tuple[int, int, int], tuple[np.ndarray, np.ndarray]] = OrderedDict()
_NORMS_MAX = 16
_NORMS_LOCK = threading.Lock()


def _segment_norms(matrix: np.ndarray) -> np.ndarray | None:
    """Every row's squared norm, computed once per segment matrix; None for a matrix
    made for this query (it owns its data: no later query sees it again)."""
    if matrix.flags.owndata or not matrix.flags.c_contiguous:
        return None
    key = (matrix.ctypes.data, matrix.shape[0], matrix.shape[1])
    with _NORMS_LOCK:
        hit = _NORMS.get(key)
        if hit is not None:
            _NORMS.move_to_end(key)
            return hit[1]
    norms = np.empty(matrix.shape[0], dtype=np.float32)
    faiss.fvec_norms_L2sqr(  # type: ignore[attr-defined]
        faiss.swig_ptr(norms), faiss.swig_ptr(matrix), matrix.shape[1], matrix.shape[0]
    )
    with _NORMS_LOCK:
        _NORMS[key] = (matrix, norms)
        while len(_NORMS) > _NORMS_MAX:
            _NORMS.popitem(last=False)
    return norms


def shortlist(approx: np.ndarray, k: int) -> np.ndarray | None:
    """Positions in ``approx`` that may be among the exact best ``k``: the best ``k``
    and every row within the rounding margin of the k-th (None: a non-finite
    distance, which the exact path handles)."""
    if not np.isfinite(approx).all():
        return None
    if k >= len(approx):
        return np.arange(len(approx))
    kth = np.partition(approx, k - 1)[k - 1]
    bound = kth + _MARGIN * (1.0 + abs(kth))
    return np.flatnonzero(approx <= bound)
