"""The Store facade: commit, snapshots, seal, compaction, checkpoint, recovery.

Locks (always taken in this order, never the other way):
  ``_maint``  serializes seal, compaction and manifest writes (slow, I/O);
  ``_lock``   the state lock: tables, CSN, catalog (short, no I/O).
The WAL has its own locks inside. See README.md for the protocols.
"""

from __future__ import annotations

import contextlib
import errno
import os
import threading
from collections.abc import Callable, Iterator

import numpy as np
import pyarrow as pa

from vecgres.config import Settings
from vecgres.errors import DataCorrupted, DiskFull, InternalError, IoError, Panic
from vecgres.storage import check as check_mod
from vecgres.storage import compaction, deletes, fileio, manifest, recovery, segment, wal
from vecgres.storage.batch import ROWID, CommitBatch, TableChange, TableLayout
from vecgres.storage.indexfiles import IndexFiles
from vecgres.storage.manifest import Manifest, SegmentEntry, TableEntry
from vecgres.storage.snapshot import SegmentSnapshot, Snapshot, TableSnapshot
from vecgres.storage.table import SealedSegment, TableState

__all__ = [
    "CommitBatch",
    "SegmentSnapshot",
    "Snapshot",
    "Store",
    "TableChange",
    "TableLayout",
    "TableSnapshot",
]

# checkpoint once the WAL holds this many times wal_file_bytes
WAL_CHECKPOINT_FACTOR = 4
# the async-commit WAL writer fsyncs this often (D3's window)
WAL_WRITER_DELAY_S = 0.01
BACKGROUND_IDLE_S = 0.5


def _noop_log(_msg: str) -> None:
    pass


class Store:
    """One open data directory. Thread-safe."""

    on_sealed: Callable[[int, int], None] | None

    def __init__(self, root: str, settings: Settings, log: Callable[[str], None]) -> None:
        self._root = root
        self._settings = settings
        self._log = log
        self.on_sealed = None
        self._lock = threading.Lock()
        self._turn = threading.Condition(self._lock)  # commits apply in LSN order
        self._maint = threading.RLock()
        self._tables: dict[int, TableState] = {}
        self._dropped: dict[int, int] = {}
        self._catalog = b""
        self._catalog_lsn = 0
        self._csn = 0
        self._next_segment_id = 1
        self._manifest_files: set[str] = set()
        self._index_files = IndexFiles(root)
        self._broken: str | None = None
        self._closed = False
        self._dir_lock: fileio.DirLock | None = None
        self._wal: wal.Wal | None = None
        self._bg: threading.Thread | None = None
        self._bg_wake = threading.Event()
        self._bg_stop = threading.Event()
        self._want_seal: set[int] = set()
        self._want_compact: set[int] = set()

    # --- open / close ------------------------------------------------------

    @classmethod
    def open(
        cls,
        path: str | os.PathLike[str],
        settings: Settings,
        *,
        log: Callable[[str], None] | None = None,
    ) -> Store:
        """Open (or create) a data directory and recover it (README: Recovery)."""
        root = os.path.abspath(os.fspath(path))
        store = cls(root, settings, log or _noop_log)
        with store._io_errors():
            fileio.makedirs(root)
            store._dir_lock = fileio.DirLock(root)
            try:
                store._recover()
            except BaseException:
                store._dir_lock.release()
                raise
        if not settings.fsync:
            store._log("WARNING: fsync is off: data may be lost or corrupted on a crash (UNSAFE)")
        if settings.background_compaction or (settings.fsync and not settings.synchronous_commit):
            store._bg = threading.Thread(target=store._bg_loop, name="vecgres-storage", daemon=True)
            store._bg.start()
        store._maybe_maintain(list(store._tables))
        return store

    def _recover(self) -> None:
        root = self._root
        for path in recovery.remove_tmp_files(root):
            self._log(f'removed leftover temporary file "{path}"')
        m = recovery.load_manifest(root)
        self._tables = recovery.open_tables(root, m)
        self._manifest_files = m.files()
        self._dropped = dict(m.dropped)
        self._catalog, self._catalog_lsn = m.catalog, m.catalog_lsn
        self._next_segment_id = m.next_segment_id
        wal_dir = os.path.join(root, recovery.WAL_DIR)
        fileio.makedirs(wal_dir)
        records, infos = wal.scan(wal_dir)
        recovery.refuse_lost_manifest(root, records[0][0] if records else None)
        if records and records[0][0] > m.lsn + 1:
            raise DataCorrupted(
                f'WAL records {m.lsn + 1}..{records[0][0] - 1} are missing in "{wal_dir}"',
                detail=f"the manifest reflects LSN {m.lsn}",
            )
        for path in recovery.remove_unreferenced(root, m):
            self._log(f'removed unreferenced file "{path}"')
        last = m.lsn
        for lsn, payload in records:
            try:
                batch = wal.decode_payload(payload)
            except (ValueError, pa.ArrowException) as exc:
                raise DataCorrupted(f"could not decode WAL record with LSN {lsn}: {exc}") from exc
            self._apply(batch, lsn, replay=True)
            last = max(last, lsn)
        self._csn = last
        self._wal = wal.Wal(wal_dir, self._settings, infos, last)
        if records:
            self._log(f"replayed {len(records)} WAL records up to LSN {last}")

    def close(self) -> None:
        """Stop background work, checkpoint, release the directory. Idempotent."""
        if self._closed:
            return
        self._closed = True
        if self._bg is not None:
            self._bg_stop.set()
            self._bg_wake.set()
            self._bg.join()
            self._bg = None
        try:
            if self._broken is None:
                self._checkpoint_now()
        finally:
            if self._wal is not None:
                self._wal.close()
            if self._dir_lock is not None:
                self._dir_lock.release()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    # --- reads -------------------------------------------------------------

    @property
    def catalog(self) -> bytes:
        with self._lock:
            return self._catalog

    @property
    def csn(self) -> int:
        with self._lock:
            return self._csn

    def table_ids(self) -> list[int]:
        with self._lock:
            return sorted(self._tables)

    def next_rowid(self, table_id: int) -> int:
        with self._lock:
            t = self._tables.get(table_id)
            return 0 if t is None else t.next_rowid

    def set_layout(self, table_id: int, layout: TableLayout) -> None:
        with self._lock:
            t = self._tables.get(table_id)
            if t is None:
                t = self._tables[table_id] = TableState(table_id)
            t.layout = layout

    def snapshot(self) -> Snapshot:
        with self._lock:
            tables = {tid: (t.segments, t.chunks) for tid, t in self._tables.items()}
            return Snapshot(self._csn, self._catalog, tables)

    # --- commit ------------------------------------------------------------

    def commit(self, batch: CommitBatch) -> int:
        """Log, make durable, apply and publish one transaction; returns its LSN."""
        self._check_usable()
        _validate(batch)
        payload = wal.encode_payload_parts(batch)
        w = self._require_wal()
        try:
            lsn = w.append(payload)
        except Panic as exc:
            self._set_broken(exc.message)
            raise
        try:
            if self._settings.synchronous_commit:
                w.sync_to(lsn)
            fileio.crashpoint("wal.after_fsync_before_apply")
            with self._turn:
                while self._csn != lsn - 1:
                    if self._broken is not None:
                        raise Panic(self._broken)
                    self._turn.wait()
                try:
                    self._apply(batch, lsn, replay=False)
                    self._want_compact.update(
                        c.table_id for c in batch.tables if c.deletes is not None
                    )
                except Exception as exc:
                    # logged but not in memory: memory no longer matches the WAL
                    self._broken = f"could not apply committed WAL record {lsn}: {exc!r}"
                    raise Panic(self._broken) from exc
                finally:
                    self._csn = lsn
                    self._turn.notify_all()
        except Panic as exc:
            self._set_broken(exc.message)
            raise
        self._maybe_maintain([c.table_id for c in batch.tables])
        return lsn

    def _apply(self, batch: CommitBatch, lsn: int, *, replay: bool) -> None:
        """Apply one record to memory (caller holds the state lock, or is recovery)."""
        if batch.catalog is not None and lsn > self._catalog_lsn:
            self._catalog, self._catalog_lsn = batch.catalog, lsn
        for change in batch.tables:
            tid = change.table_id
            if replay and lsn <= self._dropped.get(tid, 0):
                continue
            t = self._tables.get(tid)
            if replay and t is not None and lsn <= t.flushed_lsn:
                continue
            if change.drop:
                if t is not None:
                    del self._tables[tid]
                    t.generation += 1  # in-flight seals of it abort
                self._dropped[tid] = lsn
                continue
            if t is None:
                t = self._tables[tid] = TableState(tid)
            t.apply(change, lsn)

    def _set_broken(self, message: str) -> None:
        with self._turn:
            if self._broken is None:
                self._broken = message
                self._log(f"PANIC: {message}")
            self._turn.notify_all()

    def _check_usable(self) -> None:
        if self._broken is not None:
            raise Panic(self._broken)
        if self._closed:
            raise InternalError("storage is closed")

    def _require_wal(self) -> wal.Wal:
        if self._wal is None:
            raise InternalError("storage is not open")
        return self._wal

    def check(self) -> check_mod.Report:
        """Run the consistency checker online; seal, compaction and manifest
        writes wait meanwhile (commits continue)."""
        self._check_usable()
        with self._maint:
            return check_mod.check_dir(self._root, wal_tail_expected=True)

    # --- maintenance triggers ---------------------------------------------

    def _needs_seal(self, t: TableState) -> bool:
        s = self._settings
        return t.growing_rows >= s.seal_rows or t.growing_bytes >= s.seal_bytes

    def _maybe_maintain(self, table_ids: list[int]) -> None:
        with self._lock:
            full = {
                tid for tid in table_ids if (t := self._tables.get(tid)) and self._needs_seal(t)
            }
        wal_big = (
            self._wal is not None
            and self._wal.total_bytes > WAL_CHECKPOINT_FACTOR * self._settings.wal_file_bytes
        )
        if not full and not wal_big:
            return
        if self._bg is not None and self._settings.background_compaction:
            with self._lock:
                self._want_seal |= full
                if wal_big:
                    self._want_seal.add(-1)  # -1: checkpoint everything
            self._bg_wake.set()
            return
        # no background thread: seal in the committing thread (the commit is already durable)
        try:
            with self._io_errors():
                if wal_big:
                    self._flush(None)
                else:
                    for tid in sorted(full):
                        self._seal(tid, force=False)
        except Panic:
            raise
        except Exception as exc:
            self._log(f"ERROR: sealing after commit failed: {exc}")

    def _bg_loop(self) -> None:
        s = self._settings
        async_sync = s.fsync and not s.synchronous_commit
        idle = WAL_WRITER_DELAY_S if async_sync else BACKGROUND_IDLE_S
        while not self._bg_stop.is_set():
            self._bg_wake.wait(idle)
            self._bg_wake.clear()
            if self._bg_stop.is_set() or self._broken is not None:
                break
            try:
                if async_sync and self._wal is not None:
                    self._wal.sync_all()
                if not s.background_compaction:
                    continue
                with self._lock:
                    want, self._want_seal = self._want_seal, set()
                    compact, self._want_compact = self._want_compact, set()
                with self._io_errors():
                    if -1 in want:
                        self._flush(None)
                    else:
                        for tid in sorted(want):
                            self._seal(tid, force=False)
                    for tid in sorted(compact):
                        self._compact(tid)
            except Panic as exc:
                self._set_broken(exc.message)
            except Exception as exc:
                self._log(f"ERROR: background storage work failed: {exc!r}")

    # --- seal --------------------------------------------------------------

    def flush(self, table_id: int | None = None) -> None:
        """Seal growing segments now (all tables if None) and write a manifest."""
        self._check_usable()
        with self._io_errors():
            self._flush(table_id)

    @contextlib.contextmanager
    def _io_errors(self) -> Iterator[None]:
        """File errors of maintenance work as SQL errors; fsync failure is a PANIC."""
        try:
            yield
        except fileio.FsyncError as exc:
            self._set_broken(f'could not fsync file "{exc.filename}": {exc.strerror}')
            raise Panic(self._broken or "fsync failed") from exc
        except OSError as exc:
            if exc.errno == errno.ENOSPC:
                raise DiskFull(
                    f'could not extend file "{exc.filename}": No space left on device'
                ) from exc
            raise IoError(f'could not write file "{exc.filename}": {exc.strerror}') from exc

    def _checkpoint_now(self) -> None:
        self._flush(None)

    def _flush(self, table_id: int | None) -> None:
        with self._maint:
            ids = self.table_ids() if table_id is None else [table_id]
            sealed = [
                (tid, sid) for tid in ids if (sid := self._seal(tid, force=True, manifest=False))
            ]
            self._write_manifest()
        self._notify_sealed(sealed)

    def checkpoint(self) -> None:
        """Seal everything, write a manifest and recycle the WAL."""
        self._check_usable()
        with self._io_errors():
            self._flush(None)

    def _seal(self, table_id: int, *, force: bool, manifest: bool = True) -> int | None:
        """Seal one table's growing chunks (README: Seal). Returns the new segment id."""
        with self._maint:
            with self._lock:
                t = self._tables.get(table_id)
                if t is None or (not force and not self._needs_seal(t)):
                    return None
                chunks = t.chunks
                last, gen, layout = t.last_lsn, t.generation, t.layout
                if not chunks:
                    # nothing to write: the manifest persists the deletes up to `last`
                    t.flushed_lsn = last
                    seg_id = None
                else:
                    t.frozen = len(chunks)
                    seg_id = self._next_segment_id
                    self._next_segment_id += 1
            if seg_id is None:
                if manifest:
                    self._write_manifest()
                return None
            rel = os.path.join(recovery.SEGMENTS_DIR, str(table_id), f"{seg_id}.arrow")
            path = os.path.join(self._root, rel)
            try:
                data, perm = compaction.seal_data(chunks, layout)
                with self._lock:
                    if self._tables.get(table_id) is not t or t.generation != gen:
                        # truncated or dropped meanwhile: the segment would be thrown away
                        t.frozen = 0
                        return None
                fileio.makedirs(os.path.dirname(path))
                written = segment.write_segment(path, data)
                mapped = segment.open_segment(
                    path, nbytes=written.nbytes, crc32=written.crc32, rows=data.num_rows
                )
            except BaseException:
                with self._lock:
                    t.frozen = 0
                fileio.unlink(path)
                raise
            stats, stored = segment.compute_stats(data)
            fileio.crashpoint("segment.seal.after_data_before_manifest")
            with self._lock:
                if self._tables.get(table_id) is not t or t.generation != gen:
                    t.frozen = 0
                    swapped = False
                else:
                    deleted = np.concatenate([c.deleted_at for c in chunks])
                    if perm is not None:
                        deleted = deleted[perm]
                    seg = SealedSegment(
                        seg_id,
                        rel,
                        mapped,
                        deleted,
                        nbytes=written.nbytes,
                        crc32=written.crc32,
                        stats=stats,
                        stored_stats=stored,
                    )
                    t.add_segment(seg)
                    t.chunks = t.chunks[len(chunks) :]
                    t.frozen = 0
                    t.growing_rows = sum(c.num_rows for c in t.chunks)
                    t.growing_bytes = sum(c.nbytes for c in t.chunks)
                    t.flushed_lsn = last
                    swapped = True
            if not swapped:
                fileio.unlink(path)
                return None
            with self._lock:
                self._want_compact.add(table_id)
            if manifest:
                self._write_manifest()
                self._notify_sealed([(table_id, seg_id)])
            return seg_id

    def _notify_sealed(self, sealed: list[tuple[int, int]]) -> None:
        hook = self.on_sealed
        if hook is None:
            return
        sealed = self._not_merging(sealed)
        for table_id, seg_id in sealed:
            try:
                hook(table_id, seg_id)
            except Exception as exc:
                self._log(f"ERROR: on_sealed hook failed for segment {seg_id}: {exc!r}")

    def _not_merging(self, sealed: list[tuple[int, int]]) -> list[tuple[int, int]]:
        """The new segments background compaction will not merge right away.

        An index built on a segment that is about to be merged into another is
        thrown away with it, and its build takes the cores from the inserts that
        sealed it: compaction is woken instead, and announces the merged segment
        (a search still builds a skipped segment's index should the merge not
        happen)."""
        if self._bg is None or not self._settings.background_compaction:
            return sealed
        keep: list[tuple[int, int]] = []
        with self._lock:
            for table_id, seg_id in sealed:
                t = self._tables.get(table_id)
                groups = compaction.plan(t.segments, self._csn, self._settings) if t else []
                if any(s.segment_id == seg_id for group in groups for s in group):
                    self._want_compact.add(table_id)
                else:
                    keep.append((table_id, seg_id))
        if len(keep) < len(sealed):
            self._bg_wake.set()
        return keep

    # --- compaction --------------------------------------------------------

    def compact(self, table_id: int | None = None, *, force: bool = False) -> None:
        """Merge small segments and purge deleted rows now, synchronously; ``force``
        purges every deleted row, not only those of segments past the ratio."""
        self._check_usable()
        ids = self.table_ids() if table_id is None else [table_id]
        with self._io_errors():
            for tid in ids:
                self._compact(tid, force=force)

    def _compact(self, table_id: int, *, force: bool = False) -> None:
        new_ids: list[tuple[int, int]] = []
        with self._maint:
            with self._lock:
                t = self._tables.get(table_id)
                if t is None:
                    return
                csn, gen, layout = self._csn, t.generation, t.layout
                groups = compaction.plan(t.segments, csn, self._settings, force=force)
            for group in groups:
                sid = self._compact_group(t, gen, group, csn, layout)
                if sid is not None:
                    new_ids.append((table_id, sid))
                elif self._tables.get(table_id) is not t:
                    break
            if not groups:
                return
            self._write_manifest(crash_after="compaction.after_manifest_before_unlink")
        self._notify_sealed(new_ids)

    def _compact_group(
        self,
        t: TableState,
        gen: int,
        group: list[SealedSegment],
        csn: int,
        layout: TableLayout | None,
    ) -> int | None:
        merged = compaction.merge(group, csn, layout)
        seg_id: int | None = None
        rel = path = ""
        mapped: pa.Table | None = None
        written: segment.WrittenFile | None = None
        if merged.data.num_rows:
            with self._lock:
                seg_id = self._next_segment_id
                self._next_segment_id += 1
            rel = os.path.join(recovery.SEGMENTS_DIR, str(t.table_id), f"{seg_id}.arrow")
            path = os.path.join(self._root, rel)
            try:
                written = segment.write_segment(path, merged.data)
                mapped = segment.open_segment(
                    path, nbytes=written.nbytes, crc32=written.crc32, rows=merged.data.num_rows
                )
            except BaseException:
                fileio.unlink(path)
                raise
        fileio.crashpoint("compaction.after_data_before_manifest")
        stats, stored = segment.compute_stats(merged.data)
        with self._lock:
            ids = {id(s) for s in t.segments}
            if (
                self._tables.get(t.table_id) is not t
                or t.generation != gen
                or any(id(s) not in ids for s in group)
            ):
                ok = False
            else:
                gone = {id(s) for s in group}
                t.segments = tuple(s for s in t.segments if id(s) not in gone)
                if seg_id is not None and mapped is not None and written is not None:
                    t.add_segment(
                        SealedSegment(
                            seg_id,
                            rel,
                            mapped,
                            compaction.carry_deletes(merged),
                            nbytes=written.nbytes,
                            crc32=written.crc32,
                            stats=stats,
                            stored_stats=stored,
                        )
                    )
                ok = True
        if not ok:
            if path:
                fileio.unlink(path)
            return None
        return seg_id

    # --- manifest ----------------------------------------------------------

    def _write_manifest(self, crash_after: str = "manifest.after_rename_before_unlink") -> None:
        """Persist deletes, write MANIFEST, then drop unreferenced files and WAL (README)."""
        w = self._require_wal()
        with self._maint:
            with self._lock:
                applied = self._csn
                tables = {
                    tid: (t.segments, t.flushed_lsn, t.last_lsn, t.next_rowid)
                    for tid, t in self._tables.items()
                }
                m = Manifest(
                    lsn=applied,
                    next_segment_id=self._next_segment_id,
                    catalog=self._catalog,
                    catalog_lsn=self._catalog_lsn,
                    dropped=dict(self._dropped),
                )
            bound = applied
            for tid, (segs, flushed, last, next_rowid) in tables.items():
                entry = TableEntry(flushed_lsn=flushed, next_rowid=next_rowid)
                for seg in segs:
                    self._persist_deletes(tid, seg, flushed)
                    entry.segments.append(_segment_entry(seg))
                m.tables[tid] = entry
                if last > flushed:
                    bound = min(bound, flushed)
            # the manifest may reflect commits whose WAL is not yet durable (async commit)
            w.sync_to(applied)
            manifest.write(self._root, m)
            fileio.crashpoint(crash_after)
            new_files = m.files()
            for rel in sorted(self._manifest_files - new_files):
                fileio.unlink(os.path.join(self._root, rel))
            self._remove_index_files(self._manifest_files - new_files)
            for tid in {int(rel.split(os.sep)[1]) for rel in self._manifest_files - new_files}:
                if tid not in m.tables:
                    fileio.rmdir(os.path.join(self._root, recovery.SEGMENTS_DIR, str(tid)))
            self._manifest_files = new_files
            w.recycle(bound)

    def _remove_index_files(self, gone: set[str]) -> None:
        """Index files of segments no longer in the manifest go with them, as the
        segment files do (a builder that finishes later removes its own file)."""
        by_table: dict[int, set[int]] = {}
        for rel in gone:
            parts = rel.split(os.sep)
            name = parts[-1]
            if len(parts) == 3 and name.endswith(".arrow") and name[: -len(".arrow")].isdigit():
                by_table.setdefault(int(parts[1]), set()).add(int(name[: -len(".arrow")]))
        for table_id, segment_ids in by_table.items():
            self._index_files.remove_segments(table_id, segment_ids)

    def _persist_deletes(self, table_id: int, seg: SealedSegment, flushed: int) -> None:
        """Write a new delete file if deletes <= flushed changed since the last one."""
        offsets = np.flatnonzero(seg.deleted_at <= flushed)
        if len(offsets) == seg.del_count:
            return
        rel = os.path.join(recovery.SEGMENTS_DIR, str(table_id), f"{seg.segment_id}.{flushed}.del")
        crc, count = deletes.write(os.path.join(self._root, rel), offsets)
        seg.del_file, seg.del_crc32, seg.del_count = rel, crc, count


def _segment_entry(seg: SealedSegment) -> SegmentEntry:
    return SegmentEntry(
        id=seg.segment_id,
        file=seg.file,
        rows=seg.num_rows,
        min_rowid=seg.min_rowid,
        max_rowid=seg.max_rowid,
        nbytes=seg.nbytes,
        crc32=seg.crc32,
        stats=seg.stored_stats,
        del_file=seg.del_file,
        del_crc32=seg.del_crc32,
        del_count=seg.del_count,
    )


def _validate(batch: CommitBatch) -> None:
    """Reject malformed batches before they reach the WAL (an engine bug)."""
    for change in batch.tables:
        for rb in change.inserts:
            idx = rb.schema.get_field_index(ROWID)
            if idx < 0 or not rb.schema.field(idx).type.equals(pa.int64()):
                raise InternalError(
                    f'insert batch for table {change.table_id} lacks int64 "_rowid"'
                )
            if rb.column(idx).null_count:
                raise InternalError(f'insert batch for table {change.table_id} has NULL "_rowid"')
