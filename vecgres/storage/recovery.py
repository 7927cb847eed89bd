"""Opening a data directory: leftovers, the manifest, sealed segments.

WAL replay itself is Store._replay (it reuses the commit apply path).
"""

from __future__ import annotations

import os

import numpy as np

from vecgres.errors import DataCorrupted
from vecgres.storage import deletes, fileio, manifest, segment
from vecgres.storage.manifest import Manifest
from vecgres.storage.segment import INT64_MAX
from vecgres.storage.table import SealedSegment, TableState

SEGMENTS_DIR = "segments"
WAL_DIR = "wal"


def remove_tmp_files(root: str) -> list[str]:
    """Delete every ``*.tmp`` left by an interrupted write; returns their paths."""
    removed = [p for p in fileio.walk_files(root) if p.endswith(".tmp")]
    for path in removed:
        fileio.unlink(path)
    return removed


def load_manifest(root: str) -> Manifest:
    path = os.path.join(root, manifest.NAME)
    if not fileio.exists(path):
        return Manifest()
    return manifest.load(path)


def refuse_lost_manifest(root: str, first_lsn: int | None) -> None:
    """A directory without a manifest is new, or crashed before its first
    manifest: then the WAL still starts at LSN 1 and replay rebuilds
    everything. Segments with no WAL to rebuild them mean the manifest was
    lost; starting would throw them away as unreferenced."""
    path = os.path.join(root, manifest.NAME)
    if fileio.exists(path) or first_lsn == 1:
        return
    seg = next((p for p in fileio.walk_files(os.path.join(root, SEGMENTS_DIR))), None)
    if seg is not None:
        raise DataCorrupted(f'could not open file "{path}": manifest is missing but "{seg}" exists')


def open_tables(root: str, m: Manifest) -> dict[int, TableState]:
    """Memory-map every sealed segment and load its deletes, verifying checksums."""
    tables: dict[int, TableState] = {}
    for table_id, entry in m.tables.items():
        state = TableState(table_id)
        state.flushed_lsn = state.last_lsn = entry.flushed_lsn
        state.next_rowid = entry.next_rowid
        for seg_entry in entry.segments:
            seg = _open_segment(root, seg_entry)
            state.add_segment(seg)
            state.next_rowid = max(state.next_rowid, seg.max_rowid + 1)
        tables[table_id] = state
    return tables


def _open_segment(root: str, entry: manifest.SegmentEntry) -> SealedSegment:
    path = os.path.join(root, entry.file)
    data = segment.open_segment(path, nbytes=entry.nbytes, crc32=entry.crc32, rows=entry.rows)
    deleted_at = np.full(entry.rows, INT64_MAX, dtype=np.int64)
    seg = SealedSegment(
        entry.id,
        entry.file,
        data,
        deleted_at,
        nbytes=entry.nbytes,
        crc32=entry.crc32,
        stats=segment.load_stats(entry.stats, data.schema),
        stored_stats=entry.stats,
    )
    if entry.rows and (seg.min_rowid != entry.min_rowid or seg.max_rowid != entry.max_rowid):
        raise DataCorrupted(f'segment file "{path}" does not hold the rowids the manifest lists')
    if entry.del_file is not None:
        offsets = deletes.read(
            os.path.join(root, entry.del_file),
            crc32=entry.del_crc32,
            count=entry.del_count,
            rows=entry.rows,
        )
        # 0: deleted before any snapshot that can exist after this open
        deleted_at[offsets] = 0
        seg.del_file, seg.del_crc32, seg.del_count = (
            entry.del_file,
            entry.del_crc32,
            entry.del_count,
        )
    return seg


def remove_unreferenced(root: str, m: Manifest) -> list[str]:
    """Delete files under segments/ that the manifest does not list."""
    keep = {os.path.join(root, f) for f in m.files()}
    seg_root = os.path.join(root, SEGMENTS_DIR)
    removed = [p for p in fileio.walk_files(seg_root) if p not in keep]
    for path in removed:
        fileio.unlink(path)
    for name in fileio.listdir(seg_root):
        sub = os.path.join(seg_root, name)
        if not fileio.listdir(sub):
            fileio.rmdir(sub)
    return removed
