"""The ANN indexes of sealed segments: build in the background, load verified, cache.

One index per (sealed segment, index definition). Builds run in one worker
thread (faiss uses every core inside it); a segment whose index is not built
yet, or whose file is missing or corrupt, is searched exactly meanwhile and
its index is (re)built — never loaded from an unverified file.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa

from vecgres.catalog.model import Catalog, Index, Table
from vecgres.executor.keycols import index_key, key_matrix
from vecgres.executor.relation import layout_of
from vecgres.index import predicate, progress
from vecgres.index.expression import SPARSE_KEYS, subvector_start
from vecgres.index.spec import IndexSpec
from vecgres.storage.indexfiles import IndexFiles
from vecgres.storage.snapshot import SegmentSnapshot
from vecgres.storage.store import Store

if TYPE_CHECKING:
    # faiss loads on the first index use, not when a database opens
    from vecgres.index.binary import JaccardIndex
    from vecgres.index.segment import SegmentIndex
    from vecgres.index.sparse import SparseIndex

    # a sealed segment's index: faiss, or the exact sparse and Jaccard structures
    AnyIndex = SegmentIndex | SparseIndex | JaccardIndex

ANN_METHODS = ("hnsw", "ivfflat", "flat")
INDEXED_METRICS = ("l2", "ip", "cosine", "l1", "hamming", "jaccard")
DENSE_KEYS = (
    "vector",
    "halfvec",
    "vector>vector",
    "vector>halfvec",
    "vector>sparsevec",
    "sparsevec>vector",
    "sparsevec>halfvec",
)
_log = logging.getLogger("vecgres.index")


def index_spec(table: Table, idx: Index) -> IndexSpec | None:
    """The build spec of an ANN index on a vector column, or None for other indexes."""
    if idx.method not in ANN_METHODS or not idx.opclass:
        return None
    key = index_key(table, idx)
    if key is None:
        return None
    dims = key[2]
    metric = idx.opclass.rsplit("_", 2)[-2]
    if metric not in INDEXED_METRICS:
        return None
    opts = idx.options
    return IndexSpec(
        method=idx.method,
        metric=metric,
        dims=dims,
        m=int(opts.get("m", 16)),
        ef_construction=int(opts.get("ef_construction", 64)),
        lists=int(opts.get("lists", 100)),
        quantization=(opts.get("quantization") or None)
        if key[1] in DENSE_KEYS or subvector_start(key[1]) is not None
        else None,
        predicate=idx.predicate,
        sparse=key[1] in SPARSE_KEYS,
    )


def single_search_thread() -> Callable[[], None] | None:
    """Make this thread's faiss searches run on one OpenMP thread; returns the undo
    (None: nothing to undo). A one-query search gains nothing from a thread team
    and pays its start-up on every call (0.05 -> 0.1 ms for HNSW at 20k x 128), and
    concurrent queries would oversubscribe the cores. OpenMP keeps the setting per
    thread, so builds (their own thread) keep every core."""
    import faiss

    before = faiss.omp_get_max_threads()
    if before == 1:
        return None
    faiss.omp_set_num_threads(1)
    return lambda: faiss.omp_set_num_threads(before)


@dataclass(slots=True)
class _Job:
    table: Table
    idx: Index
    segment_id: int
    command: str
    done: threading.Event


class AnnIndexes:
    def __init__(self, store: Store, root: str, catalog: Callable[[], Catalog]) -> None:
        self.store = store
        self.files = IndexFiles(root)
        self._catalog = catalog
        self._cache: dict[tuple[int, int, str], AnyIndex] = {}
        # bumped whenever an index is loaded, built, rebuilt or dropped from the cache:
        # what callers keep of ``get``'s answers is good while it is unchanged
        self.generation = 0
        self._pending: set[tuple[int, int, str]] = set()
        self._lock = threading.Lock()
        self._queue: queue.Queue[_Job | None] = queue.Queue()
        self._worker = threading.Thread(target=self._run, name="vecgres-index-build", daemon=True)
        self._worker.start()
        self._closed = False
        # index_spec per (table, index) objects, for searches: catalog objects are
        # replaced, never changed, when a definition changes
        self._specs: dict[tuple[int, int], tuple[Table, Index, IndexSpec | None]] = {}
        self.builds = 0  # segment indexes built by this process (tests, EXPLAIN ANALYZE)

    # --- hooks ---------------------------------------------------------------
    def on_sealed(self, table_id: int, segment_id: int) -> None:
        if self._closed:
            return
        table = self._catalog().tables.get(table_id)
        if table is None:
            return
        for idx in table.indexes:
            if index_spec(table, idx) is not None:
                self._enqueue(table, idx, segment_id, "BUILD")

    def startup(self) -> None:
        """Drop files of vanished segments/indexes and queue every missing index."""
        snap = self.store.snapshot()
        live: set[tuple[int, int, int]] = set()
        pending: list[tuple[Table, Index, int]] = []
        for table in self._catalog().tables.values():
            tsnap = snap.table(table.oid)
            if tsnap is None:
                continue
            for idx in table.indexes:
                if index_spec(table, idx) is None:
                    continue
                for seg in tsnap.segments:
                    if seg.segment_id is not None:
                        live.add((table.oid, seg.segment_id, idx.oid))
                        pending.append((table, idx, seg.segment_id))
        # sweep before queueing: the builder's own ``*.tmp`` must not be swept mid-write
        for path in self.files.remove_unless(live):
            _log.info(f"removed stale index file {path}")
        for table, idx, segment_id in pending:
            self._enqueue(table, idx, segment_id, "BUILD")

    def close(self) -> None:
        self._closed = True
        self._queue.put(None)
        self._worker.join(timeout=30)

    def forget_indexes(self, dropped: list[tuple[int, int]]) -> None:
        """Files and cached searches of indexes a committed DROP INDEX removed.
        A search still running on an older snapshot keeps the index it mapped."""
        oids = {index_oid for _table, index_oid in dropped}
        with self._lock:
            for key in [k for k in self._cache if k[1] in oids]:
                del self._cache[key]
                self.generation += 1
        for table_id, index_oid in dropped:
            self.files.remove_index(table_id, index_oid)

    # --- building ------------------------------------------------------------
    def build_all(self, table: Table, idx: Index, command: str, *, force: bool = False) -> None:
        """Build (or with ``force`` rebuild) the index on every sealed segment; wait."""
        spec = index_spec(table, idx)
        if spec is None:
            return
        tsnap = self.store.snapshot().table(table.oid)
        segs = [s for s in (tsnap.segments if tsnap else ()) if s.segment_id is not None]
        progress.start(idx.oid, table.oid, command, sum(len(s.rowids) for s in segs))
        try:
            jobs = []
            for seg in segs:
                assert seg.segment_id is not None
                if force:
                    self.files.remove(table.oid, seg.segment_id, idx.oid)
                    with self._lock:
                        self._cache.pop((seg.segment_id, idx.oid, spec.key()), None)
                        self.generation += 1
                job = _Job(table, idx, seg.segment_id, command, threading.Event())
                self._queue.put(job)
                jobs.append(job)
            for job in jobs:
                job.done.wait()
        finally:
            progress.finish(idx.oid)

    def _enqueue(self, table: Table, idx: Index, segment_id: int, command: str) -> None:
        spec = index_spec(table, idx)
        assert spec is not None
        key = (segment_id, idx.oid, spec.key())
        with self._lock:
            if key in self._pending or key in self._cache:
                return
            self._pending.add(key)
        self._queue.put(_Job(table, idx, segment_id, command, threading.Event()))

    def _run(self) -> None:
        while True:
            job = self._queue.get()
            if job is None:
                return
            try:
                if not self._closed:  # closing: the next open rebuilds what is missing
                    self._build(job)
            except Exception:
                _log.exception(f"building index {job.idx.name} on segment {job.segment_id}")
            finally:
                spec = index_spec(job.table, job.idx)
                if spec is not None:
                    with self._lock:
                        self._pending.discard((job.segment_id, job.idx.oid, spec.key()))
                job.done.set()

    def _segment(self, table_id: int, segment_id: int) -> SegmentSnapshot | None:
        tsnap = self.store.snapshot().table(table_id)
        for seg in tsnap.segments if tsnap else ():
            if seg.segment_id == segment_id:
                return seg
        return None

    def _build(self, job: _Job) -> None:
        spec = index_spec(job.table, job.idx)
        assert spec is not None
        seg = self._segment(job.table.oid, job.segment_id)
        if seg is None:
            return  # compacted away meanwhile
        if self._load(job.table.oid, job.segment_id, job.idx.oid, spec, len(seg.rowids)):
            return
        key = index_key(job.table, job.idx)
        assert key is not None
        column, key_type = key[0], key[1]
        data = seg.conformed(layout_of(job.table))
        if spec.sparse:
            self._build_sparse(job, spec, data, data.column(column.field_name))
            return
        if spec.metric == "jaccard":
            vectors = key_matrix(key_type, data.column(column.field_name), spec.dims)
            self._build_jaccard(job, spec, data, vectors)
            return
        ids = None
        values = data.column(column.field_name)
        if spec.predicate is not None:
            # keys of the rows the partial index holds only: an expression key fits
            # those (checked on insert), not necessarily the others (mixed dimensions)
            ids = self._passing(job.table, spec.predicate, data)
            values = values.take(pa.array(ids))
        vectors = key_matrix(key_type, values, spec.dims)
        if not spec.binary:
            vectors = np.nan_to_num(vectors)  # NULL slots; the executor never allows them
        phase = "loading tuples" if spec.method != "ivfflat" else "performing k-means"
        progress.update(job.idx.oid, phase=phase)
        done = [0]

        def report(n: int) -> None:
            progress.update(job.idx.oid, phase="loading tuples", add_done=n - done[0])
            done[0] = n

        from vecgres.index.segment import SegmentIndex

        built = SegmentIndex.build(spec, vectors, report, ids)
        self.files.write(job.table.oid, job.segment_id, job.idx.oid, built.serialize(), spec.key())
        if self._forget_compacted(job):
            return
        with self._lock:
            self._cache[(job.segment_id, job.idx.oid, spec.key())] = built
            self.generation += 1
            self.builds += 1
        _log.info(
            f"built {spec.method} index {job.idx.name} on segment {job.segment_id} "
            f"({len(vectors)} rows)"
        )

    def _build_sparse(
        self, job: _Job, spec: IndexSpec, data: pa.Table, column: pa.ChunkedArray
    ) -> None:
        from vecgres.index.sparse import SparseIndex
        from vecgres.vector.storage import sparse_csr

        ids = None
        if spec.predicate is not None:
            ids = self._passing(job.table, spec.predicate, data)
        progress.update(job.idx.oid, phase="loading tuples")
        built = SparseIndex.build(
            spec,
            sparse_csr(column),
            data.num_rows,
            lambda n: progress.update(job.idx.oid, phase="loading tuples", add_done=n),
            ids,
        )
        self._store(job, spec, built)

    def _build_jaccard(
        self, job: _Job, spec: IndexSpec, data: pa.Table, packed: np.ndarray
    ) -> None:
        from vecgres.index.binary import JaccardIndex

        ids = None
        if spec.predicate is not None:
            ids = self._passing(job.table, spec.predicate, data)
            packed = packed[ids]
        built = JaccardIndex.build(spec, packed, data.num_rows, ids)
        progress.update(job.idx.oid, phase="loading tuples", add_done=len(packed))
        self._store(job, spec, built)

    def _store(self, job: _Job, spec: IndexSpec, built: SparseIndex | JaccardIndex) -> None:
        self.files.write(job.table.oid, job.segment_id, job.idx.oid, built.serialize(), spec.key())
        if self._forget_compacted(job):
            return
        with self._lock:
            self._cache[(job.segment_id, job.idx.oid, spec.key())] = built
            self.generation += 1
            self.builds += 1
        _log.info(f"built {spec.metric} index {job.idx.name} on segment {job.segment_id}")

    @staticmethod
    def _passing(table: Table, text: str, data: pa.Table) -> np.ndarray:
        """Offsets of the segment rows a partial index's predicate accepts."""
        conds = predicate.parse(text)
        if conds is None:
            raise ValueError(f"unsupported partial index predicate {text!r}")
        columns: dict[str, pa.ChunkedArray] = {}
        for name, _op, _value in conds:
            column = table.column(name)
            if column is None:
                raise ValueError(f'column "{name}" does not exist')
            columns[name] = data.column(column.field_name)
        return np.flatnonzero(predicate.evaluate(conds, columns, data.num_rows))

    def _forget_compacted(self, job: _Job) -> bool:
        """Drop cached indexes of segments that compaction or DROP removed (ids are
        unique); True, with the file just written removed, if the job's segment is
        one of them. The store removes a vanished segment's index files when it
        drops the segment from its manifest, which is after the segment left its
        state: a file written before that is removed by the store, one written
        after is removed here."""
        snap = self.store.snapshot()
        live: set[int | None] = set()
        for tid in snap.table_ids():
            tsnap = snap.table(tid)
            if tsnap is not None:
                live.update(seg.segment_id for seg in tsnap.segments)
        with self._lock:
            for key in [k for k in self._cache if k[0] not in live]:
                del self._cache[key]
                self.generation += 1
        if job.segment_id in live:
            return False
        self.files.remove(job.table.oid, job.segment_id, job.idx.oid)
        return True

    def _load(
        self, table_id: int, segment_id: int, index_oid: int, spec: IndexSpec, rows: int
    ) -> AnyIndex | None:
        key = (segment_id, index_oid, spec.key())
        with self._lock:
            cached = self._cache.get(key)
        if cached is not None:
            return cached
        path = self.files.verified_path(table_id, segment_id, index_oid, spec.key())
        if path is None:
            return None
        from vecgres.index.binary import JaccardIndex
        from vecgres.index.segment import SegmentIndex
        from vecgres.index.sparse import SparseIndex

        loaded: AnyIndex
        try:
            if spec.sparse:
                loaded = SparseIndex.load(spec, path, rows)
            elif spec.metric == "jaccard":
                loaded = JaccardIndex.load(spec, path, rows)
            else:
                loaded = SegmentIndex.load(spec, path, rows)
        except (RuntimeError, ValueError) as exc:
            _log.info(f"index file {path} unusable, rebuilding: {exc!r}")
            self.files.remove(table_id, segment_id, index_oid)
            return None
        with self._lock:
            self._cache[key] = loaded
            self.generation += 1
        return loaded

    # --- searching -------------------------------------------------------------
    def get(self, table: Table, idx: Index, seg: SegmentSnapshot) -> AnyIndex | None:
        """The segment's index if built and verified; otherwise queue a build and say None."""
        known = self._specs.get((table.oid, idx.oid))
        if known is not None and known[0] is table and known[1] is idx:
            spec = known[2]
        else:
            spec = index_spec(table, idx)
            if len(self._specs) >= 1024:
                self._specs.clear()
            self._specs[(table.oid, idx.oid)] = (table, idx, spec)
        if spec is None or seg.segment_id is None:
            return None
        found = self._load(table.oid, seg.segment_id, idx.oid, spec, len(seg.rowids))
        if found is None:
            self._enqueue(table, idx, seg.segment_id, "BUILD")
        return found

    def wait_idle(self) -> None:
        """Block until every queued build is done (tests, CREATE INDEX)."""
        marker = threading.Event()
        while True:
            with self._lock:
                if not self._pending:
                    break
            marker.wait(0.01)
