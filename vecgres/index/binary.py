"""Hamming indexes on ``bit`` columns (pgvector's ``bit_hamming_ops``): faiss binary indexes.

Vectors arrive packed (``vecgres.vector.bits.pack``: MSB first, zero-padded to
whole bytes); faiss's binary indexes want whole bytes, and the zero padding
adds nothing to a Hamming distance. faiss has no Jaccard metric for binary
indexes: ``bit_jaccard_ops`` indexes are ``JaccardIndex`` (exact, popcount-pruned).
"""

from __future__ import annotations

import faiss
import numpy as np

from vecgres.index.spec import IndexSpec, effective_lists

METRICS = ("hamming",)


def code_bits(spec: IndexSpec) -> int:
    """faiss's dimension: the bit length rounded up to whole bytes."""
    return 8 * ((spec.dims + 7) // 8)


def create(spec: IndexSpec, rows: int) -> faiss.IndexBinary:
    d = code_bits(spec)
    if spec.method == "hnsw":
        index = faiss.IndexBinaryHNSW(d, spec.m)
        index.hnsw.efConstruction = spec.ef_construction
        return index
    if spec.method == "ivfflat":
        quantizer = faiss.IndexBinaryFlat(d)
        ivf = faiss.IndexBinaryIVF(quantizer, d, effective_lists(spec, rows))
        ivf.own_fields = True
        quantizer.this.disown()  # type: ignore[attr-defined]
        return ivf
    return faiss.IndexBinaryFlat(d)


def filters_inside(spec: IndexSpec) -> bool:
    """faiss's IndexBinaryIVF takes no IDSelector (the executor widens instead)."""
    return spec.method != "ivfflat"


def search_parameters(
    spec: IndexSpec, selector: faiss.IDSelector | None, ef_search: int, probes: int
) -> faiss.SearchParameters:
    params: faiss.SearchParameters
    if spec.method == "hnsw":
        params = faiss.SearchParametersHNSW()  # type: ignore[attr-defined]
        params.efSearch = ef_search  # type: ignore[attr-defined]
    elif spec.method == "ivfflat":
        params = faiss.SearchParametersIVF()
        params.nprobe = probes
        return params
    else:
        params = faiss.SearchParameters()
    if selector is not None:
        params.sel = selector
    return params


class JaccardIndex:
    """``bit_jaccard_ops``: an exact index, since faiss's binary indexes rank by
    Hamming only and the Hamming-nearest rows are not the Jaccard-nearest ones
    (a popcount changes the union). Rows are kept packed and sorted by popcount:
    with ``a = |x|`` and ``b = |q|``, ``jaccard(x, q) >= 1 - min(a, b) / max(a, b)``,
    so a search visits popcount groups in order of that bound, computes exact
    Jaccard distances on the packed bits of each group, and stops once the bound
    of the next group exceeds the k-th best distance found. Results are exact.

    File format: ``MAGIC``, uint32 little-endian row count, uint32 byte width,
    then the labels (int64), popcounts (int32) and packed rows in popcount order.
    """

    __slots__ = ("bits", "counts", "labels", "rows", "spec")
    MAGIC = b"VGJACCARD1\n"
    filters_inside = True

    def __init__(
        self,
        spec: IndexSpec,
        labels: np.ndarray,
        counts: np.ndarray,
        bits: np.ndarray,
        rows: int,
    ) -> None:
        self.spec, self.labels, self.counts, self.bits, self.rows = (
            spec,
            labels,
            counts,
            bits,
            rows,
        )

    @classmethod
    def build(
        cls,
        spec: IndexSpec,
        packed: np.ndarray,
        rows: int,
        ids: np.ndarray | None = None,
    ) -> JaccardIndex:
        labels = np.arange(len(packed), dtype=np.int64) if ids is None else ids.astype(np.int64)
        counts = np.bitwise_count(packed).sum(axis=1, dtype=np.int32)
        order = np.argsort(counts, kind="stable")
        return cls(
            spec,
            labels[order],
            counts[order].astype(np.int32),
            np.ascontiguousarray(packed[order], dtype=np.uint8),
            rows,
        )

    def serialize(self) -> bytes:
        head = self.MAGIC + len(self.labels).to_bytes(4, "little")
        head += int(self.bits.shape[1] if self.bits.ndim == 2 else 0).to_bytes(4, "little")
        return (
            head
            + self.labels.astype("<i8").tobytes()
            + self.counts.astype("<i4").tobytes()
            + self.bits.tobytes()
        )

    @classmethod
    def load(cls, spec: IndexSpec, path: str, rows: int) -> JaccardIndex:
        raw = np.memmap(path, dtype=np.uint8, mode="r")
        start = len(cls.MAGIC)
        if bytes(raw[:start]) != cls.MAGIC:
            raise ValueError(f"index file {path} is not a Jaccard index")
        n = int.from_bytes(bytes(raw[start : start + 4]), "little")
        width = int.from_bytes(bytes(raw[start + 4 : start + 8]), "little")
        if width != (spec.dims + 7) // 8:
            raise ValueError(f"index file {path} does not match its segment")
        pos = start + 8
        labels = np.frombuffer(raw, dtype="<i8", count=n, offset=pos)
        pos += 8 * n
        counts = np.frombuffer(raw, dtype="<i4", count=n, offset=pos)
        pos += 4 * n
        bits = np.frombuffer(raw, dtype=np.uint8, count=n * width, offset=pos).reshape(n, width)
        return cls(spec, labels, counts, bits, rows)

    def search(
        self,
        query: np.ndarray,
        k: int,
        allowed: np.ndarray | None,
        *,
        ef_search: int = 0,
        probes: int = 0,
    ) -> np.ndarray:
        """Offsets of the ``k`` Jaccard-nearest allowed rows (ties at the k-th
        distance included), unordered."""
        del ef_search, probes  # exact: nothing to tune
        q = np.ascontiguousarray(query, dtype=np.uint8).reshape(1, -1)
        b = int(np.bitwise_count(q).sum())
        n = len(self.labels)
        if n == 0 or k <= 0:
            return np.empty(0, dtype=np.int64)
        # popcount groups: [starts[g], starts[g+1]) share counts[starts[g]]
        starts = np.flatnonzero(np.r_[True, self.counts[1:] != self.counts[:-1]])
        ends = np.r_[starts[1:], n]
        a = self.counts[starts].astype(np.float64)
        hi = np.maximum(a, b)
        bound = np.where(hi > 0, 1.0 - np.minimum(a, b) / np.where(hi > 0, hi, 1), 0.0)
        # a row sharing no set bit with q is at distance 1 (pgvector), whatever its bound
        bound = np.where((a == 0) | (b == 0), 1.0, bound)
        best_ids: list[np.ndarray] = []
        best_d: list[np.ndarray] = []
        kth = np.inf
        found = 0
        smallest = np.empty(0, dtype=np.float64)
        for g in np.argsort(bound, kind="stable"):
            if found >= k and bound[g] > kth:
                break
            lo, hi_ = int(starts[g]), int(ends[g])
            # a group is one contiguous slice: no gather, the allow-list masks results
            inter = np.bitwise_count(self.bits[lo:hi_] & q).sum(axis=1, dtype=np.int64)
            union = float(a[g]) + b - inter
            with np.errstate(divide="ignore", invalid="ignore"):
                d = np.where(inter == 0, 1.0, 1.0 - inter / union)
            ids = np.arange(lo, hi_)
            if allowed is not None:
                keep = allowed[self.labels[lo:hi_]]
                ids, d = ids[keep], d[keep]
            if not len(ids):
                continue
            best_ids.append(ids)
            best_d.append(d)
            found += len(ids)
            # the k smallest distances so far: the k-th bounds what later groups can add
            smallest = np.concatenate([smallest, d])
            if len(smallest) > k:
                smallest = np.partition(smallest, k - 1)[:k]
            if found >= k:
                kth = float(smallest.max())
        if not best_ids:
            return np.empty(0, dtype=np.int64)
        ids = np.concatenate(best_ids)
        d = np.concatenate(best_d)
        keep = d <= kth if found >= k else np.ones(len(d), bool)
        return np.asarray(self.labels[ids[keep]], dtype=np.int64)

    def range_search(
        self,
        query: np.ndarray,
        radius: float,
        allowed: np.ndarray | None,
        *,
        ef_search: int,
        probes: int,
    ) -> np.ndarray:
        """Jaccard ranges are evaluated exactly by the executor."""
        raise RuntimeError("Jaccard ranges are searched exactly")

    def cost(self) -> float:
        """A search's work in row-distance units, for the executor's exact-or-index
        choice: popcounts are so cheap on packed rows that each popcount group's
        fixed cost (about 2000 row distances) dominates until segments are large."""
        groups = int(np.count_nonzero(np.diff(self.counts))) + 1 if len(self.counts) else 0
        return groups * 2000.0 + len(self.labels) / 4
