"""Read views: a Snapshot fixes a CSN and the segment/chunk tuples of every table."""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa

from vecgres.storage.batch import TableLayout
from vecgres.storage.segment import Stats, conform
from vecgres.storage.table import Chunk, SealedSegment, locate_sorted


def _visible(deleted_at: np.ndarray, csn: int) -> np.ndarray | None:
    mask = deleted_at > csn
    return None if bool(mask.all()) else mask


class SegmentSnapshot:
    """One sealed segment (or the growing part) as a snapshot sees it."""

    __slots__ = ("_rowids", "_sorted", "_stats", "data", "segment_id", "visible")

    def __init__(
        self,
        segment_id: int | None,
        data: pa.Table,
        visible: np.ndarray | None,
        rowids: np.ndarray,
        *,
        rowids_sorted: bool,
        stats: Stats | None,
    ) -> None:
        self.segment_id = segment_id
        self.data = data
        self.visible = visible
        self._rowids = rowids
        self._sorted: tuple[np.ndarray, np.ndarray | None] | None = (
            (rowids, None) if rowids_sorted else None
        )
        self._stats = stats

    @property
    def rowids(self) -> np.ndarray:
        """The ``_rowid`` column as int64 numpy (all rows, visible or not)."""
        return self._rowids

    def num_visible(self) -> int:
        return len(self._rowids) if self.visible is None else int(self.visible.sum())

    def conformed(self, layout: TableLayout) -> pa.Table:
        """``_rowid`` then exactly the layout's fields, missing ones filled."""
        return conform(self.data, layout)

    def column_stats(self, name: str) -> tuple[Any, Any] | None:
        """(min, max) over all stored rows of a sealed segment; None if unknown."""
        if self._stats is None:
            return None
        return self._stats.get(name)

    def sorted_index(self) -> tuple[np.ndarray, np.ndarray | None]:
        """(rowids ascending, offsets that sort them or None if already sorted)."""
        if self._sorted is None:
            order = np.argsort(self._rowids, kind="stable")
            self._sorted = (self._rowids[order], order)
        return self._sorted


class TableSnapshot:
    """The segments of one table at a snapshot: sealed ones, then the growing part."""

    __slots__ = ("segments", "table_id")

    def __init__(self, table_id: int, segments: tuple[SegmentSnapshot, ...]) -> None:
        self.table_id = table_id
        self.segments = segments

    def num_rows(self) -> int:
        return sum(seg.num_visible() for seg in self.segments)

    def find_rowids(self, rowids: np.ndarray) -> list[tuple[int, np.ndarray, np.ndarray]]:
        """For each segment holding some of these visible rowids:
        (segment index, offsets in the segment, positions in the input)."""
        targets = np.asarray(rowids, dtype=np.int64)
        order = np.argsort(targets, kind="stable")
        ordered = targets[order]
        out: list[tuple[int, np.ndarray, np.ndarray]] = []
        for seg_idx, seg in enumerate(self.segments):
            sorted_ids, perm = seg.sorted_index()
            offsets, pos = locate_sorted(sorted_ids, ordered)
            if perm is not None:
                offsets = perm[offsets]
            if seg.visible is not None and len(offsets):
                keep = seg.visible[offsets]
                offsets, pos = offsets[keep], pos[keep]
            if len(offsets):
                out.append((seg_idx, offsets, order[pos]))
        return out


def table_snapshot(
    table_id: int, sealed: tuple[SealedSegment, ...], chunks: tuple[Chunk, ...], csn: int
) -> TableSnapshot:
    segs: list[SegmentSnapshot] = [
        SegmentSnapshot(
            seg.segment_id,
            seg.data,
            _visible(seg.deleted_at, csn),
            seg.rowids,
            rowids_sorted=True,
            stats=seg.stats,
        )
        for seg in sealed
        if seg.num_rows
    ]
    # one growing view per run of chunks sharing a schema (normally just one)
    run: list[Chunk] = []
    for chunk in [*chunks, None]:
        if chunk is not None and (not run or chunk.data.schema.equals(run[0].data.schema)):
            run.append(chunk)
            continue
        if run:
            data = run[0].data if len(run) == 1 else pa.concat_tables([c.data for c in run])
            deleted = (
                run[0].deleted_at if len(run) == 1 else np.concatenate([c.deleted_at for c in run])
            )
            rowids = run[0].rowids if len(run) == 1 else np.concatenate([c.rowids for c in run])
            segs.append(
                SegmentSnapshot(
                    None,
                    data,
                    _visible(deleted, csn),
                    rowids,
                    rowids_sorted=False,
                    stats=None,
                )
            )
        run = [chunk] if chunk is not None else []
    return TableSnapshot(table_id, tuple(segs))


class Snapshot:
    """A consistent read view of every table at CSN ``csn``."""

    __slots__ = ("_cache", "_tables", "catalog", "csn")

    def __init__(
        self,
        csn: int,
        catalog: bytes,
        tables: dict[int, tuple[tuple[SealedSegment, ...], tuple[Chunk, ...]]],
    ) -> None:
        self.csn = csn
        self.catalog = catalog
        self._tables = tables
        self._cache: dict[int, TableSnapshot] = {}

    def table_ids(self) -> list[int]:
        return sorted(self._tables)

    def table(self, table_id: int) -> TableSnapshot | None:
        """The table's view, or None if it does not exist (or is dropped) here."""
        cached = self._cache.get(table_id)
        if cached is not None:
            return cached
        parts = self._tables.get(table_id)
        if parts is None:
            return None
        view = table_snapshot(table_id, parts[0], parts[1], self.csn)
        self._cache[table_id] = view
        return view
