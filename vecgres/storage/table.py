"""In-memory state of one table: sealed segments, growing chunks, MVCC deletes.

Every mutation here runs under the Store's state lock. Objects that a
snapshot may hold are never changed in a way it could see: chunk tuples are
replaced, not edited, and ``deleted_at`` entries only go from INT64_MAX to the
CSN of the deleting commit, which is newer than every existing snapshot.
"""

from __future__ import annotations

from typing import Final

import numpy as np
import pyarrow as pa

from vecgres.storage.batch import TableChange, TableLayout
from vecgres.storage.segment import INT64_MAX, Stats, rowid_array

# Growing chunks are merged (binary-counter style) while the result stays under
# these limits, so scans see few batches without recopying big ones.
MERGE_MAX_ROWS: Final = 65_536
MERGE_MAX_BYTES: Final = 8 * 1024 * 1024


def locate_sorted(sorted_ids: np.ndarray, targets: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For sorted ``targets``: (offsets in sorted_ids, positions in targets) of matches."""
    n = len(sorted_ids)
    if n == 0 or len(targets) == 0:
        empty = np.empty(0, dtype=np.int64)
        return empty, empty
    idx = np.searchsorted(sorted_ids, targets)
    clipped = np.minimum(idx, n - 1)
    hit = (idx < n) & (sorted_ids[clipped] == targets)
    return idx[hit].astype(np.int64), np.flatnonzero(hit)


def _mark(deleted_at: np.ndarray, offsets: np.ndarray, csn: int) -> None:
    """Delete these offsets at csn; an existing delete keeps its older CSN."""
    live = offsets[deleted_at[offsets] == INT64_MAX]
    deleted_at[live] = csn


class Chunk:
    """An immutable run of growing rows (one schema) with its delete CSNs."""

    __slots__ = ("_sorted", "data", "deleted_at", "nbytes", "rowids")

    def __init__(self, data: pa.Table, deleted_at: np.ndarray | None = None) -> None:
        self.data = data
        self.rowids = rowid_array(data)
        self.deleted_at = (
            np.full(data.num_rows, INT64_MAX, dtype=np.int64) if deleted_at is None else deleted_at
        )
        self.nbytes = data.nbytes
        self._sorted: tuple[np.ndarray, np.ndarray] | None = None

    @property
    def num_rows(self) -> int:
        return len(self.rowids)

    def sorted_index(self) -> tuple[np.ndarray, np.ndarray]:
        """(rowids ascending, the offsets that sort them), computed once."""
        if self._sorted is None:
            order = np.argsort(self.rowids, kind="stable")
            self._sorted = (self.rowids[order], order)
        return self._sorted


class SealedSegment:
    """A memory-mapped segment file plus its in-memory delete CSNs."""

    __slots__ = (
        "crc32",
        "data",
        "del_count",
        "del_crc32",
        "del_file",
        "deleted_at",
        "file",
        "nbytes",
        "rowids",
        "segment_id",
        "stats",
        "stored_stats",
    )

    def __init__(
        self,
        segment_id: int,
        file: str,
        data: pa.Table,
        deleted_at: np.ndarray,
        *,
        nbytes: int,
        crc32: int,
        stats: Stats,
        stored_stats: dict[str, list[object]],
    ) -> None:
        self.segment_id = segment_id
        self.file = file
        self.data = data
        self.rowids = rowid_array(data)
        self.deleted_at = deleted_at
        self.nbytes = nbytes
        self.crc32 = crc32
        self.stats = stats
        self.stored_stats = stored_stats
        # the persisted delete file: name, checksum and number of offsets in it
        self.del_file: str | None = None
        self.del_crc32 = 0
        self.del_count = 0

    @property
    def num_rows(self) -> int:
        return len(self.rowids)

    @property
    def min_rowid(self) -> int:
        return int(self.rowids[0]) if len(self.rowids) else 0

    @property
    def max_rowid(self) -> int:
        return int(self.rowids[-1]) if len(self.rowids) else -1


class TableState:
    """Everything storage knows about one table."""

    def __init__(self, table_id: int) -> None:
        self.table_id = table_id
        self.layout: TableLayout | None = None
        self.segments: tuple[SealedSegment, ...] = ()
        self.chunks: tuple[Chunk, ...] = ()
        self.last_lsn = 0  # newest commit that changed this table
        self.flushed_lsn = 0  # every change <= this is in segments + delete files
        self.next_rowid = 0
        self.generation = 0  # bumped by truncate: in-flight seals/compactions abort
        self.frozen = 0  # leading chunks captured by a seal in progress (not merged)
        self.growing_rows = 0
        self.growing_bytes = 0

    def apply(self, change: TableChange, lsn: int) -> None:
        if change.truncate:
            self.segments = ()
            self.chunks = ()
            self.frozen = 0
            self.generation += 1
            self.growing_rows = self.growing_bytes = 0
        if change.deletes is not None and len(change.deletes):
            self.delete(np.asarray(change.deletes, dtype=np.int64), lsn)
        if change.inserts:
            self.append(change.inserts)
        self.last_lsn = lsn

    def delete(self, rowids: np.ndarray, csn: int) -> None:
        targets = np.unique(rowids)
        for seg in self.segments:
            lo = int(np.searchsorted(targets, seg.min_rowid, "left"))
            hi = int(np.searchsorted(targets, seg.max_rowid, "right"))
            if lo < hi:
                offsets, _ = locate_sorted(seg.rowids, targets[lo:hi])
                _mark(seg.deleted_at, offsets, csn)
        for chunk in self.chunks:
            sorted_ids, order = chunk.sorted_index()
            offsets, _ = locate_sorted(sorted_ids, targets)
            _mark(chunk.deleted_at, order[offsets], csn)

    def append(self, batches: list[pa.RecordBatch]) -> None:
        run: list[pa.RecordBatch] = []
        for batch in batches:
            if run and not batch.schema.equals(run[0].schema):
                self._add_chunk(pa.Table.from_batches(run))
                run = []
            if batch.num_rows:
                run.append(batch)
        if run:
            self._add_chunk(pa.Table.from_batches(run))

    def _add_chunk(self, data: pa.Table) -> None:
        chunk = Chunk(data)
        if chunk.num_rows == 0:
            return
        self.next_rowid = max(self.next_rowid, int(chunk.rowids.max()) + 1)
        self.growing_rows += chunk.num_rows
        self.growing_bytes += chunk.nbytes
        chunks = [*self.chunks, chunk]
        while len(chunks) - self.frozen >= 2:
            a, b = chunks[-2], chunks[-1]
            if (
                a.num_rows > b.num_rows
                or a.num_rows + b.num_rows > MERGE_MAX_ROWS
                or a.nbytes + b.nbytes > MERGE_MAX_BYTES
                or not a.data.schema.equals(b.data.schema)
            ):
                break
            merged = Chunk(
                pa.concat_tables([a.data, b.data]).combine_chunks(),
                np.concatenate([a.deleted_at, b.deleted_at]),
            )
            self.growing_bytes += merged.nbytes - a.nbytes - b.nbytes
            chunks[-2:] = [merged]
        self.chunks = tuple(chunks)

    def add_segment(self, seg: SealedSegment) -> None:
        """Insert keeping segments ordered by their first rowid."""
        segs = sorted([*self.segments, seg], key=lambda s: s.min_rowid)
        self.segments = tuple(segs)

    def is_dirty(self) -> bool:
        return self.last_lsn > self.flushed_lsn
