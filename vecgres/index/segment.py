"""One ANN index over one sealed segment's vectors: build, serialize, load, search.

Labels are row offsets in the segment (0..n-1). A search may be restricted
to an allow-list of offsets (faiss ``IDSelectorBitmap``), so filtering and
deleted rows are applied inside the graph/list traversal, not after it.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from dataclasses import replace
from types import ModuleType

import faiss
import numpy as np

from vecgres.index import binary, flat, hnsw, ivfflat, progress
from vecgres.index.metrics import prepare
from vecgres.index.quantized import candidate_count
from vecgres.index.spec import IndexSpec

_MODULES: dict[str, ModuleType] = {"flat": flat, "hnsw": hnsw, "ivfflat": ivfflat}


def machine_cores() -> int:
    """The cores this process may run on (a container's CPU set, not the host's)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


# builds use every core while a statement waits for them; searches are
# single-query and run one thread each
_threads_lock = threading.Lock()
BUILD_THREADS = machine_cores()
# rows per faiss add: few large batches build faster (faiss parallelizes inside
# one add); progress is reported once per batch
ADD_BATCH_ROWS = 25_000
ADD_BATCHES = 4


def build_threads() -> int:
    """faiss threads for the next batch of a build.

    CREATE INDEX and REINDEX wait for their builds: every core. A build after a
    seal or a compaction has nobody waiting for it while the inserts that caused
    it go on: one core fewer, so the inserting sessions keep a core."""
    if progress.waited_on():
        return BUILD_THREADS
    return max(1, BUILD_THREADS - 1)


def module_for(method: str) -> ModuleType:
    return _MODULES[method]


def _module(spec: IndexSpec) -> ModuleType:
    return binary if spec.binary else _MODULES[spec.method]


def _augmented(spec: IndexSpec) -> bool:
    """HNSW over inner product is built as L2 on vectors with one extra coordinate,
    ``sqrt(M² - |x|²)`` (M the segment's largest norm), and queries get a 0 there:
    then ``|q - x|² = |q|² + M² - 2 q·x`` ranks rows as the inner product does, and
    the graph lives in a metric space. faiss's HNSW built on inner product directly
    leaves rows unreachable (recall@10 0.86 on pgvector's 10k x 3 test, bar 0.97)."""
    return spec.method == "hnsw" and spec.metric == "ip" and not spec.binary


def _augment(data: np.ndarray) -> np.ndarray:
    squared = np.einsum("ij,ij->i", data, data, dtype=np.float64)
    extra = np.sqrt(np.maximum(squared.max(initial=0.0) - squared, 0.0))
    return np.ascontiguousarray(np.hstack([data, extra[:, None].astype(np.float32)]))


def _with_zero(query: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(np.hstack([query, np.zeros((len(query), 1), np.float32)]))


def _quiet_training(index: faiss.Index) -> None:
    """Small segments train k-means on few points by design: no faiss warnings."""
    for owner in (index, getattr(index, "pq", None)):
        cp = getattr(owner, "cp", None)
        if cp is not None:
            cp.min_points_per_centroid = 1


class SegmentIndex:
    """A faiss index whose labels are the offsets of one segment's rows.

    Binary (Hamming) indexes take packed uint8 rows instead of float32 ones."""

    __slots__ = ("index", "rows", "spec")

    def __init__(self, spec: IndexSpec, index: faiss.Index | faiss.IndexBinary, rows: int) -> None:
        self.spec = spec
        self.index = index
        self.rows = rows

    @classmethod
    def build(
        cls,
        spec: IndexSpec,
        vectors: np.ndarray,
        progress: Callable[[int], None] | None = None,
        ids: np.ndarray | None = None,
    ) -> SegmentIndex:
        """``ids``: the segment offsets of ``vectors`` when only some rows are
        indexed (partial indexes); labels stay segment offsets (faiss ID map)."""
        rows = len(vectors)
        data = (
            np.ascontiguousarray(vectors, dtype=np.uint8)
            if spec.binary
            else prepare(vectors, spec.metric)
        )
        augmented = _augmented(spec)
        if augmented:
            data = _augment(data)
        built_as = replace(spec, dims=spec.dims + 1, metric="l2") if augmented else spec
        index = _module(spec).create(built_as, rows)
        if rows == 0 and not index.is_trained:
            index = (
                binary.create(replace(spec, method="flat"), 0)
                if spec.binary
                else (flat.create(replace(spec, method="flat"), 0))
            )
        _quiet_training(index)
        outer = index
        if ids is not None:
            outer = faiss.IndexBinaryIDMap(index) if spec.binary else faiss.IndexIDMap(index)
            outer.own_fields = True
            index.this.disown()
        with _threads_lock:
            faiss.omp_set_num_threads(build_threads())
            if not outer.is_trained:
                outer.train(data)
            step = max(1, ADD_BATCH_ROWS, -(-rows // ADD_BATCHES))
            for start in range(0, rows, step):
                faiss.omp_set_num_threads(build_threads())
                if ids is not None:
                    chunk_ids = np.ascontiguousarray(ids[start : start + step], dtype=np.int64)
                    outer.add_with_ids(data[start : start + step], chunk_ids)
                else:
                    outer.add(data[start : start + step])
                if progress is not None:
                    progress(min(rows, start + step))
        return cls(spec, outer, rows if ids is None else int(ids.max(initial=-1)) + 1)

    def _max_norm2(self) -> float:
        """M² of an augmented index: every stored vector has squared norm M²."""
        inner = self.index
        if isinstance(inner, faiss.IndexIDMap):
            inner = faiss.downcast_index(inner.index)
        if inner.ntotal == 0:
            return 0.0
        first = inner.reconstruct(0)  # a RuntimeError (quantized storage) means exact
        return float(np.dot(first, first))

    @property
    def filters_inside(self) -> bool:
        """Whether an allow-list can be applied inside the search (IDSelector)."""
        return not self.spec.binary or binary.filters_inside(self.spec)

    def serialize(self) -> memoryview:
        """The index as faiss writes it, a view of faiss's buffer (no copy)."""
        if isinstance(self.index, faiss.IndexBinary):
            return faiss.serialize_index_binary(self.index).data
        return faiss.serialize_index(self.index).data

    @classmethod
    def load(cls, spec: IndexSpec, path: str, rows: int) -> SegmentIndex:
        """Read a verified file; memory-mapped where faiss can map the index type."""
        read = faiss.read_index_binary if spec.binary else faiss.read_index
        try:
            index = read(path, faiss.IO_FLAG_MMAP | faiss.IO_FLAG_READ_ONLY)
        except RuntimeError:
            index = read(path)
        dims = binary.code_bits(spec) if spec.binary else spec.dims + _augmented(spec)
        # a partial index holds only the rows passing its predicate
        if (index.ntotal != rows and spec.predicate is None) or index.d != dims:
            raise ValueError(f"index file {path} does not match its segment")
        return cls(spec, index, rows)

    def search(
        self,
        query: np.ndarray,
        k: int,
        allowed: np.ndarray | None,
        *,
        ef_search: int,
        probes: int,
    ) -> np.ndarray:
        """Offsets of up to ``candidate_count(k)`` nearest allowed rows (unordered use)."""
        want = min(candidate_count(k, self.spec.quantization), self.rows)
        if want <= 0:
            return np.empty(0, dtype=np.int64)
        selector = None
        if allowed is not None and self.filters_inside:
            bits = np.packbits(allowed.astype(np.uint8), bitorder="little")
            selector = faiss.IDSelectorBitmap(len(allowed), faiss.swig_ptr(bits))
        params = _module(self.spec).search_parameters(
            self.spec, selector, max(ef_search, want), probes
        )
        if self.spec.binary:
            q = np.ascontiguousarray(query.reshape(1, -1), dtype=np.uint8)
        else:
            q = prepare(query.reshape(1, -1), self.spec.metric)
            if _augmented(self.spec):
                q = _with_zero(q)
        _dist, labels = self.index.search(q, want, params=params)
        out = labels[0]
        # keep `bits` alive until faiss is done with the selector
        del selector
        return np.asarray(out[out >= 0], dtype=np.int64)

    def range_search(
        self,
        query: np.ndarray,
        radius: float,
        allowed: np.ndarray | None,
        *,
        ef_search: int,
        probes: int,
    ) -> np.ndarray:
        """Offsets of the allowed rows faiss puts within ``radius`` (faiss's own
        measure: squared L2 below it, inner product above it), unordered."""
        if isinstance(self.index, faiss.IndexBinary):
            raise RuntimeError("Hamming ranges are searched exactly")
        q = prepare(query.reshape(1, -1), self.spec.metric)
        if _augmented(self.spec):
            # ip > t  <=>  |q' - x'|² < |q|² + M² - 2t on the augmented vectors
            radius = float(np.dot(q[0], q[0])) + self._max_norm2() - 2.0 * radius
            radius += 1e-6 * abs(radius) + 1e-6  # float32 rounding: exact checks follow
            q = _with_zero(q)
        selector = None
        if allowed is not None:
            bits = np.packbits(allowed.astype(np.uint8), bitorder="little")
            selector = faiss.IDSelectorBitmap(len(allowed), faiss.swig_ptr(bits))
        params = _module(self.spec).search_parameters(self.spec, selector, ef_search, probes)
        _lims, _dist, labels = self.index.range_search(q, radius, params=params)
        del selector  # keep `bits` alive until faiss is done with the selector
        return np.asarray(labels[labels >= 0], dtype=np.int64)
