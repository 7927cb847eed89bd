"""Adaptive IVF probing: ``ivfflat.probes`` is the floor, not the whole search.

After the ``probes`` lists nearest to the query, further lists are probed (one
at a time, in order of centroid distance) while a bound says a list
may still hold a row closer than the current k-th candidate; probing stops
when no list is left that could, or at ``ivfflat.max_probes`` lists. With the
exact bound alone the result equals probing every list, up to float rounding.

The bounds prune well in low dimension (tests' 10k x 3 and 20k x 32 data: 2-3
lists of 100) but not in high dimension, where rows sit far from the cell
boundaries the bounds assume they could touch (the benchmark's 128-d L2 data:
15 lists, its 384-d cosine data: 51, for recall 1.0; scaling the bound by
(1 + eps) barely helps: eps = 0.5 still probes 37). So L2 and cosine also stop
after ``PATIENCE`` probed lists in a row left the top-k unchanged (lists come
in centroid order, so later ones are farther): 7 lists at recall 1.0 on the
128-d data, 10 at 0.995 on the 384-d data, where fixed probes need 4 and 8 for
0.95. Inner product keeps the exact bound only (see ``search``).

The bounds, for list ``j`` with centroid ``c_j`` and radius ``r_j`` (largest
distance of a member to its centroid, measured on the full-precision vectors
at build time and stored after faiss's bytes in the index file):

* L2, and cosine (rows and query are unit vectors, so ``q·x = 1 - |q-x|²/2``
  for ``|x| <= 1``): a lower bound on ``|q - x|`` for every member ``x``,
  the larger of the triangle bound ``|q - c_j| - r_j`` and the Voronoi bound:
  ``x`` was assigned to ``c_j`` rather than to a centroid ``c_i`` near the
  query, so it lies in the half-space ``{x: c_j wins over c_i}`` and is at
  least the query's distance to that half-space away. L2 assignment gives
  ``(|q-c_j|² - |q-c_i|²) / (2|c_j-c_i|)``; cosine's inner-product assignment
  ``(q·c_i - q·c_j) / |c_j-c_i|``. The references ``c_i`` are the first few
  probed centroids; the bound is the maximum over them.
* inner product: Cauchy-Schwarz, ``q·x <= q·c_j + |q| r_j``.

An index file written before radii were stored still loads: a plain IVFFlat's
codes are its (prepared) rows, so the radii are measured on them at load.

Only plain IVFFlat uses it: quantized lists rank by approximate distances, so
their k-th candidate is no threshold for the bound (they keep fixed probes).
"""

from __future__ import annotations

import struct

import faiss
import numpy as np

MAGIC = b"VGRD"
_TRAILER = struct.Struct("<I4s")  # list count, magic; float32 radii come before it
# reference centroids of the Voronoi bound (the nearest to the query)
VORONOI_REFS = 4
# float32 distances in faiss against float64 bounds here: prune only past this margin
_SLACK = 1e-4
# the relaxation for high dimension: stop after this many probed lists in a row
# left the top-k unchanged (see search)
PATIENCE = 4


def ivf_of(index: faiss.Index | faiss.IndexBinary) -> faiss.IndexIVF | None:
    """The inverted-file index inside ``index`` (through an ID map), else None."""
    if isinstance(index, faiss.IndexBinary):
        return None
    try:
        return faiss.extract_index_ivf(index)
    except RuntimeError:
        return None


def list_members(ivf: faiss.IndexIVF) -> tuple[np.ndarray, np.ndarray]:
    """(list number, faiss id) of every row stored in the lists."""
    invlists = ivf.invlists
    assert invlists is not None
    lists, ids = [], []
    for j in range(ivf.nlist):
        size = invlists.list_size(j)
        if size:
            ids.append(faiss.rev_swig_ptr(invlists.get_ids(j), size).copy())
            lists.append(np.full(size, j, dtype=np.int64))
    if not ids:
        return np.empty(0, np.int64), np.empty(0, np.int64)
    return np.concatenate(lists), np.concatenate(ids)


def radii(centroids: np.ndarray, lists: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """Largest distance of a list's rows (``rows[i]`` in list ``lists[i]``) to its
    centroid, rounded up; -1 for an empty list."""
    out = np.full(len(centroids), -1.0)
    for start in range(0, len(rows), 65536):  # bounded float64 temporaries
        part = rows[start : start + 65536].astype(np.float64)
        at = lists[start : start + 65536]
        d = np.sqrt(np.einsum("ij,ij->i", part - centroids[at], part - centroids[at]))
        np.maximum.at(out, at, d)
    return np.where(out >= 0, out * (1 + 1e-6) + 1e-6, -1.0)


def radii_from_codes(ivf: faiss.IndexIVF) -> np.ndarray:
    """Radii of an IVFFlat whose file predates stored radii: its codes are the
    full-precision (prepared) rows, so they measure the same."""
    centroids = centroids_of(ivf)
    out = np.full(ivf.nlist, -1.0)
    invlists = ivf.invlists
    assert invlists is not None
    for j in range(ivf.nlist):
        size = invlists.list_size(j)
        if size:
            codes = faiss.rev_swig_ptr(invlists.get_codes(j), size * ivf.code_size)
            rows = np.frombuffer(codes, dtype=np.float32).reshape(size, ivf.d)
            out[j] = radii(centroids[j : j + 1], np.zeros(size, np.int64), rows)[0]
    return out


def centroids_of(ivf: faiss.IndexIVF) -> np.ndarray:
    return np.asarray(ivf.quantizer.reconstruct_n(0, ivf.nlist), dtype=np.float64)


def trailer(r: np.ndarray) -> bytes:
    return r.astype(np.float32).tobytes() + _TRAILER.pack(len(r), MAGIC)


def read_trailer(path: str, nlist: int) -> np.ndarray | None:
    """The radii stored after faiss's bytes, or None (a file without them)."""
    with open(path, "rb") as f:
        f.seek(0, 2)
        size = f.tell()
        need = nlist * 4 + _TRAILER.size
        if size < need:
            return None
        f.seek(size - _TRAILER.size)
        count, magic = _TRAILER.unpack(f.read(_TRAILER.size))
        if magic != MAGIC or count != nlist:
            return None
        f.seek(size - need)
        return np.frombuffer(f.read(nlist * 4), dtype=np.float32).astype(np.float64)


class ListBounds:
    """What the bounds need of one IVF index: centroids, their norms, radii."""

    __slots__ = ("centroids", "l2", "metric", "norms2", "radii")

    def __init__(self, centroids: np.ndarray, r: np.ndarray, metric: str) -> None:
        self.centroids = centroids
        self.norms2 = np.einsum("ij,ij->i", centroids, centroids)
        self.radii = r
        self.metric = metric  # l2 | ip | cosine
        self.l2 = metric == "l2"

    def coarse(self, q: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(lists in probing order, faiss's coarse distances in that order,
        q·c for every list)."""
        ip = self.centroids @ q
        if self.l2:
            d2 = self.norms2 - 2 * ip + float(q @ q)
            order = np.argsort(d2, kind="stable")
            return order, d2[order], ip
        order = np.argsort(-ip, kind="stable")
        return order, ip[order], ip

    def limits(self, q: np.ndarray, order: np.ndarray, ip: np.ndarray) -> np.ndarray:
        """Per list (in ``order``): for L2 and cosine the lower bound on the squared
        L2 distance of any member to ``q``, for inner product the upper bound on
        the inner product; +inf / -inf for empty lists."""
        r = self.radii
        qq = float(q @ q)
        if self.metric == "ip":
            ub = ip + np.sqrt(qq) * r
            out: np.ndarray = np.where(r >= 0, ub, -np.inf)[order]
            return out
        d2 = np.maximum(self.norms2 - 2 * ip + qq, 0.0)
        lb = np.sqrt(d2) - r
        refs = order[:VORONOI_REFS]
        # |c_j - c_i| for every list j and reference i
        cross = self.centroids @ self.centroids[refs].T
        gap = np.sqrt(
            np.maximum(self.norms2[:, None] + self.norms2[refs][None, :] - 2 * cross, 0.0)
        )
        if self.l2:
            num = (d2[:, None] - d2[refs][None, :]) / 2
        else:
            num = ip[refs][None, :] - ip[:, None]
        voronoi = np.divide(num, gap, out=np.zeros_like(num), where=gap > 1e-9)
        lb = np.maximum(np.maximum(lb, voronoi.max(axis=1)), 0.0)
        out = np.where(r >= 0, lb * lb, np.inf)[order]
        return out

    def alive_one(self, limit: float, kth: float) -> bool:
        """Whether a list may hold a row beating the k-th candidate's faiss distance."""
        if self.metric == "ip":
            return limit > kth - _SLACK * (abs(kth) + 1)
        # cosine: faiss's similarity s is a squared L2 distance of 2 - 2s
        worst = kth if self.l2 else 2 - 2 * kth
        return limit < worst + _SLACK * (abs(worst) + 1)


def search(
    ivf: faiss.IndexIVF,
    bounds: ListBounds,
    q: np.ndarray,
    k: int,
    selector: faiss.IDSelector | None,
    probes: int,
    max_probes: int,
    patience: int = PATIENCE,
) -> tuple[np.ndarray, np.ndarray, int]:
    """(faiss distances, faiss ids, lists probed) of the best ``k`` rows, unordered
    (ids -1 when fewer). ``q``: one prepared query row (float32, shape (1, d)).

    Lists are scanned one at a time onto one result heap (faiss's inverted-list
    scanner, as IndexIVF.search does inside): its top is the k-th candidate, and
    the scan reports whether the heap changed."""
    nlist = ivf.nlist
    floor = min(max(probes, 1), nlist)
    limit = min(max(max_probes, floor), nlist)
    qv = q[0].astype(np.float64)
    order, coarse, ip = bounds.coarse(qv)
    ip_metric = bounds.metric != "l2"
    invlists = ivf.invlists
    assert invlists is not None
    scanner = ivf.get_InvertedListScanner(False, selector)
    scanner.set_query(faiss.swig_ptr(q[0]))
    # faiss's heap: a max-heap of distances (L2), a min-heap of similarities (IP)
    dist = np.full(k, -np.inf if ip_metric else np.inf, dtype=np.float32)
    ids = np.full(k, -1, dtype=np.int64)
    dist_ptr, ids_ptr = faiss.swig_ptr(dist), faiss.swig_ptr(ids)
    lists, coarse_at = order.tolist(), coarse.tolist()

    def scan(at: int) -> int:
        """Heap updates made by list ``lists[at]``."""
        j = lists[at]
        size = invlists.list_size(j)
        if not size:
            return 0
        scanner.set_list(j, coarse_at[at])
        return int(
            scanner.scan_codes(
                size, invlists.get_codes(j), invlists.get_ids(j), dist_ptr, ids_ptr, k
            )
        )

    for at in range(floor):
        scan(at)
    probed = floor
    if probed >= limit:
        return dist, ids, probed
    if bounds.metric == "ip":
        # no relaxation: a list's centroid says little of its best inner products
        # (patience 4 kept recall@10 at 0.05 on uniform 10k x 3, the exact bound 1.0)
        patience = nlist
    limits = bounds.limits(qv, order, ip).tolist()
    idle = 0  # lists probed since the heap last changed
    for at in range(floor, nlist):
        if probed >= limit or idle >= patience:
            break
        if ids[0] >= 0 and not bounds.alive_one(limits[at], float(dist[0])):
            continue
        idle = 0 if scan(at) else idle + 1
        probed += 1
    return dist, ids, probed
