"""Compaction planning and merging (pure: no locks, no files).

The Store captures segments under its lock, calls ``plan`` and ``merge``
outside it, writes the result, and swaps it in with ``carry_deletes``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from vecgres.config import Settings
from vecgres.storage.batch import ROWID, TableLayout
from vecgres.storage.segment import INT64_MAX, conform, sort_by_rowid
from vecgres.storage.table import Chunk, SealedSegment


def deleted_by(seg: SealedSegment, csn: int) -> int:
    return int(np.count_nonzero(seg.deleted_at <= csn))


def plan(
    segments: tuple[SealedSegment, ...], csn: int, settings: Settings, *, force: bool = False
) -> list[list[SealedSegment]]:
    """Groups of segments to merge, each into one new segment; ``force`` (VACUUM
    FULL) rewrites every segment with a deleted row, whatever their share."""
    heavy: list[SealedSegment] = []
    small: list[SealedSegment] = []
    live: dict[int, int] = {}
    for seg in segments:
        dead = deleted_by(seg, csn)
        live[seg.segment_id] = seg.num_rows - dead
        if dead and (force or dead / seg.num_rows > settings.compaction_deleted_ratio):
            heavy.append(seg)
        elif seg.num_rows < settings.compaction_small_rows:
            small.append(seg)
    candidates = heavy + (small if len(small) + len(heavy) >= 2 else [])
    candidates.sort(key=lambda s: s.min_rowid)
    limit = max(settings.seal_rows, settings.compaction_small_rows)
    groups: list[list[SealedSegment]] = []
    group: list[SealedSegment] = []
    total = 0
    for seg in candidates:
        if group and total + live[seg.segment_id] > limit:
            groups.append(group)
            group, total = [], 0
        group.append(seg)
        total += live[seg.segment_id]
    if group:
        groups.append(group)
    heavy_ids = {s.segment_id for s in heavy}
    # merging a single segment only pays when it sheds deleted rows
    return [g for g in groups if len(g) > 1 or g[0].segment_id in heavy_ids]


@dataclass(slots=True)
class Merged:
    data: pa.Table  # rowids ascending, conformed to the layout
    sources: list[
        tuple[SealedSegment, np.ndarray, np.ndarray]
    ]  # (segment, kept offsets, new offsets)


def default_layout(tables: list[pa.Table]) -> TableLayout:
    """Without a layout from the engine: every field seen, missing ones NULL."""
    schema = pa.unify_schemas([t.schema for t in tables])
    return TableLayout(pa.schema([f for f in schema if f.name != ROWID]), {})


def merge(group: list[SealedSegment], csn: int, layout: TableLayout | None) -> Merged:
    """Rows of ``group`` not deleted at or before ``csn``, as one table."""
    if layout is None:
        layout = default_layout([seg.data for seg in group])
    parts: list[pa.Table] = []
    kept_all: list[np.ndarray] = []
    for seg in group:
        kept = np.flatnonzero(seg.deleted_at > csn)
        table = conform(seg.data, layout)
        if len(kept) != seg.num_rows:
            table = table.take(pa.array(kept))
        parts.append(table)
        kept_all.append(kept)
    data, perm = sort_by_rowid(pa.concat_tables(parts))
    total = data.num_rows
    if perm is None:
        new_pos = np.arange(total, dtype=np.int64)
    else:
        new_pos = np.empty(total, dtype=np.int64)
        new_pos[perm] = np.arange(total, dtype=np.int64)
    sources: list[tuple[SealedSegment, np.ndarray, np.ndarray]] = []
    base = 0
    for seg, kept in zip(group, kept_all, strict=True):
        sources.append((seg, kept, new_pos[base : base + len(kept)]))
        base += len(kept)
    return Merged(data.combine_chunks(), sources)


def carry_deletes(merged: Merged) -> np.ndarray:
    """deleted_at for the merged segment from the sources' current arrays, so
    deletes committed while the merge ran are kept (call under the state lock)."""
    out = np.full(merged.data.num_rows, INT64_MAX, dtype=np.int64)
    for seg, kept, new in merged.sources:
        current = seg.deleted_at[kept]
        hit = current != INT64_MAX
        out[new[hit]] = current[hit]
    return out


def seal_data(
    chunks: tuple[Chunk, ...], layout: TableLayout | None
) -> tuple[pa.Table, np.ndarray | None]:
    """Growing chunks as one table conformed to the layout, rowids ascending;
    also the permutation from chunk order to file order (None if unchanged)."""
    tables = [c.data for c in chunks]
    if layout is None:
        layout = default_layout(tables)
    data = pa.concat_tables([conform(t, layout) for t in tables])
    data, perm = sort_by_rowid(data)
    return data.combine_chunks(), perm
