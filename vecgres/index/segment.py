"""One ANN index over one sealed segment's vectors: build, serialize, load, search.

Labels are row offsets in the segment (0..n-1). A search may be restricted
to an allow-list of offsets (faiss ``IDSelectorBitmap``), so filtering and
deleted rows are applied inside the graph/list traversal, not after it.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from types import ModuleType

import faiss
import numpy as np

from vecgres.index import binary, flat, hnsw, ivf_probe, ivfflat, progress
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


# searches are single-query and run one thread each; builds size faiss's threads
# to the machine (build_threads)
_threads_lock = threading.Lock()
BUILD_THREADS = machine_cores()
# how long a background build samples the process's CPU use before it starts, and
# below how many rows it does not bother (a small build is over in a moment)
BUSY_SAMPLE_S = 0.1
BUSY_SAMPLES = 5
BUSY_SAMPLE_MIN_ROWS = 10_000


def build_threads(rows: int) -> int:
    """faiss threads for a build: every core, but one fewer for a large build nobody
    waits for (after a seal or a compaction) while other threads of this process are
    busy, so the sessions inserting the rows keep a core; CREATE INDEX and REINDEX
    always get every core."""
    if (
        BUILD_THREADS == 1
        or rows < BUSY_SAMPLE_MIN_ROWS
        or progress.waited_on()
        or not _process_busy()
    ):
        return BUILD_THREADS
    return BUILD_THREADS - 1


def _process_busy() -> bool:
    """Whether the rest of this process is busy (sessions running statements), seen
    over a short sample while this thread sleeps: its other threads used half a core,
    or (on a loaded machine, where they get less) one of them was runnable in at
    least half of the samples."""
    me = threading.get_native_id()
    cpu, wall = time.process_time(), time.perf_counter()
    runnable = 0
    for _ in range(BUSY_SAMPLES):
        time.sleep(BUSY_SAMPLE_S / BUSY_SAMPLES)
        runnable += _others_runnable(me)
    used = time.process_time() - cpu
    return used >= 0.5 * (time.perf_counter() - wall) or 2 * runnable >= BUSY_SAMPLES


def _others_runnable(me: int) -> bool:
    """Whether a thread of this process other than ``me`` is running or waiting for
    a CPU now (Linux: state R in /proc; elsewhere never)."""
    try:
        tids = os.listdir("/proc/self/task")
    except OSError:
        return False
    for tid in tids:
        if tid == str(me):
            continue
        try:
            with open(f"/proc/self/task/{tid}/stat", "rb") as f:
                stat = f.read()
        except OSError:
            continue  # the thread ended
        # "pid (comm) S ...": the state follows the last parenthesis
        if stat[stat.rfind(b")") + 2 : stat.rfind(b")") + 3] == b"R":
            return True
    return False


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


def _adaptive(spec: IndexSpec) -> bool:
    """Plain IVFFlat over float vectors probes adaptively (index/ivf_probe.py)."""
    return spec.method == "ivfflat" and not spec.binary and spec.quantization is None


def _bounds_at_build(
    spec: IndexSpec, index: faiss.Index, data: np.ndarray
) -> ivf_probe.ListBounds | None:
    ivf = ivf_probe.ivf_of(index) if _adaptive(spec) else None
    if ivf is None:
        return None
    centroids = ivf_probe.centroids_of(ivf)
    lists, ids = ivf_probe.list_members(ivf)
    # the inner index of an ID map numbers rows 0..n-1 in the order they were added
    r = ivf_probe.radii(centroids, lists, data[ids])
    return ivf_probe.ListBounds(centroids, r, spec.metric)


def _quiet_training(index: faiss.Index) -> None:
    """Small segments train k-means on few points by design: no faiss warnings."""
    for owner in (index, getattr(index, "pq", None)):
        cp = getattr(owner, "cp", None)
        if cp is not None:
            cp.min_points_per_centroid = 1


class SegmentIndex:
    """A faiss index whose labels are the offsets of one segment's rows.

    Binary (Hamming) indexes take packed uint8 rows instead of float32 ones."""

    __slots__ = ("_params", "bounds", "id_map", "index", "ivf", "rows", "spec")

    def __init__(
        self,
        spec: IndexSpec,
        index: faiss.Index | faiss.IndexBinary,
        rows: int,
        bounds: ivf_probe.ListBounds | None = None,
    ) -> None:
        self.spec = spec
        self.index = index
        self.rows = rows
        # unfiltered search parameters by (ef_search, probes): faiss only reads them,
        # and making one costs more than a small search's bookkeeping
        self._params: dict[tuple[int, int], faiss.SearchParameters] = {}
        # adaptive probing (plain IVFFlat): the inner IVF, its list bounds, and the
        # segment offsets of its ids when an ID map (partial index) wraps it
        self.bounds = bounds
        self.ivf = ivf_probe.ivf_of(index) if bounds is not None else None
        self.id_map: np.ndarray | None = None
        if self.ivf is not None and isinstance(index, faiss.IndexIDMap):
            self.id_map = faiss.vector_to_array(index.id_map)

    @classmethod
    def build(
        cls,
        spec: IndexSpec,
        vectors: np.ndarray,
        report: Callable[[int], None] | None = None,
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
        threads = build_threads(rows)
        with _threads_lock:
            faiss.omp_set_num_threads(threads)
            if not outer.is_trained:
                outer.train(data)
            # one add: faiss parallelizes inside it, and an HNSW built in 4 adds took
            # 40 % longer; so progress advances once per segment
            if ids is not None:
                outer.add_with_ids(data, np.ascontiguousarray(ids, dtype=np.int64))
            else:
                outer.add(data)
        if report is not None:
            report(rows)
        bounds = _bounds_at_build(spec, outer, data)
        return cls(spec, outer, rows if ids is None else int(ids.max(initial=-1)) + 1, bounds)

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

    def serialize(self) -> memoryview | bytes:
        """The index as faiss writes it, a view of faiss's buffer (no copy); an
        adaptive IVFFlat appends its list radii (faiss reads past them)."""
        if isinstance(self.index, faiss.IndexBinary):
            return faiss.serialize_index_binary(self.index).data
        data = faiss.serialize_index(self.index).data
        if self.bounds is None:
            return data
        return b"".join((data, ivf_probe.trailer(self.bounds.radii)))

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
        bounds = None
        ivf = ivf_probe.ivf_of(index) if _adaptive(spec) else None
        if ivf is not None:
            r = ivf_probe.read_trailer(path, ivf.nlist)
            if r is None:  # written before radii were stored: its codes are the rows
                r = ivf_probe.radii_from_codes(ivf)
            bounds = ivf_probe.ListBounds(ivf_probe.centroids_of(ivf), r, spec.metric)
        return cls(spec, index, rows, bounds)

    def search(
        self,
        query: np.ndarray,
        k: int,
        allowed: np.ndarray | None,
        *,
        ef_search: int,
        probes: int,
        prepared: np.ndarray | None = None,
        max_probes: int = 0,
        probed: list[int] | None = None,
    ) -> np.ndarray:
        """Offsets of up to ``candidate_count(k)`` nearest allowed rows (unordered use).
        ``prepared``: ``self.query_for(query)`` when the caller made it already (one
        query searched on several segments of the same index).

        ``max_probes`` > 0: an IVFFlat probes on past ``probes`` lists while a bound
        says a list may hold a better row, up to that many lists
        (index/ivf_probe.py); ``probed`` gets the lists it probed."""
        want = min(candidate_count(k, self.spec.quantization), self.rows)
        if want <= 0:
            return np.empty(0, dtype=np.int64)
        if max_probes > 0 and self.ivf is not None and self.bounds is not None:
            return self._search_adaptive(query, want, allowed, probes, max_probes, probed)
        selector = None
        bits = None
        if allowed is not None and self.filters_inside:
            bits = np.packbits(allowed.astype(np.uint8), bitorder="little")
            selector = faiss.IDSelectorBitmap(len(allowed), faiss.swig_ptr(bits))
        ef = max(ef_search, want)
        if selector is None:
            params = self._plain_params(ef, probes)
        else:
            params = _module(self.spec).search_parameters(self.spec, selector, ef, probes)
        if probed is not None and self.spec.method == "ivfflat":
            probed.append(probes)
        q = self.query_for(query) if prepared is None else prepared
        _dist, labels = self.index.search(q, want, params=params)
        out = labels[0]
        # keep `bits` alive until faiss is done with the selector
        del selector, bits
        return np.asarray(out[out >= 0], dtype=np.int64)

    def _plain_params(self, ef: int, probes: int) -> faiss.SearchParameters:
        """The search parameters of an unfiltered search, made once per (ef, probes)."""
        params = self._params.get((ef, probes))
        if params is None:
            if len(self._params) >= 64:
                self._params.clear()
            params = self._params[(ef, probes)] = _module(self.spec).search_parameters(
                self.spec, None, ef, probes
            )
        return params

    def searcher(
        self, k: int, *, ef_search: int, probes: int, prepared: np.ndarray
    ) -> Callable[[], np.ndarray]:
        """``search(query, k, None, ...)`` with fixed probes, made ready to run: the
        call holds the GIL for a few microseconds around faiss's (a helper thread runs
        it while the caller's own search runs). ``prepared``: ``query_for(query)``."""
        want = min(candidate_count(k, self.spec.quantization), self.rows)
        if want <= 0:
            return lambda: np.empty(0, dtype=np.int64)
        params = self._plain_params(max(ef_search, want), probes)
        query = np.ascontiguousarray(prepared, dtype=np.float32)
        distances = np.empty((1, want), dtype=np.float32)
        labels = np.empty((1, want), dtype=np.int64)
        # what faiss's Python ``search`` wraps (not in faiss's stubs)
        call: Callable[..., None] = self.index.search_c  # type: ignore[union-attr]
        args = (
            1,
            faiss.swig_ptr(query),
            want,
            faiss.swig_ptr(distances),
            faiss.swig_ptr(labels),
            params,
        )

        # ``keep``: the arrays behind the pointers live as long as the call
        def run(keep: tuple[np.ndarray, ...] = (query, distances, labels)) -> np.ndarray:
            call(*args)
            out: np.ndarray = keep[2][0]
            return out[out >= 0]

        return run

    def query_for(self, query: np.ndarray) -> np.ndarray:
        """The query as this index's faiss search takes it (one row: normalized for
        cosine, a zero appended for the augmented inner product, packed bits)."""
        if self.spec.binary:
            return np.ascontiguousarray(query.reshape(1, -1), dtype=np.uint8)
        q = prepare(query.reshape(1, -1), self.spec.metric)
        return _with_zero(q) if _augmented(self.spec) else q

    def _search_adaptive(
        self,
        query: np.ndarray,
        want: int,
        allowed: np.ndarray | None,
        probes: int,
        max_probes: int,
        probed: list[int] | None,
    ) -> np.ndarray:
        assert self.ivf is not None
        assert self.bounds is not None
        selector = None
        if allowed is not None:
            # the inner IVF of an ID map numbers rows by insertion: map the allow-list
            inner = allowed if self.id_map is None else allowed[self.id_map]
            bits = np.packbits(inner.astype(np.uint8), bitorder="little")
            selector = faiss.IDSelectorBitmap(len(inner), faiss.swig_ptr(bits))
        q = prepare(query.reshape(1, -1), self.spec.metric)
        _dist, labels, lists = ivf_probe.search(
            self.ivf, self.bounds, q, want, selector, probes, max_probes
        )
        del selector  # keep `bits` alive until faiss is done with the selector
        if probed is not None:
            probed.append(lists)
        labels = labels[labels >= 0]
        if self.id_map is not None:
            labels = self.id_map[labels]
        return np.asarray(labels, dtype=np.int64)

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
