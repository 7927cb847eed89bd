"""The consistency checker (``vecgres check DATA_DIR``, ``SELECT vecgres_check()``).

It reads and never repairs (except ``clean_tmp``): manifest checksum; every
referenced segment and delete file exists with the size, checksum, row count
and rowid range the manifest lists; rowids are unique across a table's
segments; no NaN/Inf in stored vectors; WAL records parse, with contiguous
LSNs and no gap after the manifest; leftover ``*.tmp`` and unreferenced files.
Other file kinds (ANN index files) plug in with ``register``.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa

from vecgres.errors import DataCorrupted
from vecgres.storage import deletes, fileio, manifest, segment, wal
from vecgres.storage.batch import ROWID
from vecgres.storage.manifest import Manifest, SegmentEntry

SEGMENTS_DIR = "segments"
WAL_DIR = "wal"


@dataclass(slots=True)
class Report:
    root: str
    problems: list[str] = field(default_factory=list)
    # not corruption: what recovery removes or truncates on the next open
    notes: list[str] = field(default_factory=list)
    tmp_files: list[str] = field(default_factory=list)
    files_checked: int = 0
    segments: int = 0
    rows: int = 0
    live_rows: int = 0
    wal_records: int = 0

    @property
    def ok(self) -> bool:
        return not self.problems

    def summary(self) -> str:
        head = (
            f"{'ok' if self.ok else 'FAILED'}: {len(self.problems)} problems, "
            f"{self.files_checked} files, {self.segments} segments, {self.rows} rows "
            f"({self.live_rows} live), {self.wal_records} WAL records"
        )
        lines = [head]
        lines += [f"problem: {p}" for p in self.problems]
        lines += [f"note: {n}" for n in self.notes]
        return "\n".join(lines)


# A check of an extra file kind: (root, manifest, report). It appends to
# report.problems and returns the relative paths it accounts for (so they are
# not reported as unreferenced).
ExtraCheck = Callable[[str, Manifest, Report], set[str]]
_EXTRA: dict[str, ExtraCheck] = {}


def register(name: str, check: ExtraCheck) -> None:
    """Add a checker for another kind of file (e.g. per-segment ANN indexes)."""
    _EXTRA[name] = check


def check_dir(root: str, *, clean_tmp: bool = False, wal_tail_expected: bool = False) -> Report:
    """Check a data directory. The caller keeps writers out of manifests and
    segments (offline: the directory lock; online: the store's maintenance
    lock). ``wal_tail_expected``: a partial last record is a commit in
    progress, not a note."""
    report = Report(root)
    for path in fileio.walk_files(root):
        if path.endswith(".tmp"):
            report.tmp_files.append(path)
            report.notes.append(f'leftover temporary file "{path}"')
    if clean_tmp:
        for path in report.tmp_files:
            fileio.unlink(path)
    m = _check_manifest(root, report)
    accounted: set[str] = set()
    if m is not None:
        accounted = m.files()
        for table_id, entry in sorted(m.tables.items()):
            _check_table(root, table_id, entry.segments, entry.next_rowid, m, report)
        for name, extra in sorted(_EXTRA.items()):
            try:
                accounted |= extra(root, m, report)
            except Exception as exc:  # a checker bug must not hide the others' findings
                report.problems.append(f"checker {name} failed: {exc!r}")
    _check_unreferenced(root, accounted, report)
    _check_wal(root, m, report, wal_tail_expected)
    return report


def _check_manifest(root: str, report: Report) -> Manifest | None:
    path = os.path.join(root, manifest.NAME)
    if not fileio.exists(path):
        # with no manifest the WAL must start at LSN 1 (checked in _check_wal)
        return Manifest()
    report.files_checked += 1
    try:
        m = manifest.load(path)
    except DataCorrupted as exc:
        report.problems.append(exc.message)
        return None
    ids = [s.id for t in m.tables.values() for s in t.segments]
    if len(ids) != len(set(ids)):
        report.problems.append(f'manifest file "{path}" lists a segment id twice')
    if ids and max(ids) >= m.next_segment_id:
        report.problems.append(
            f'manifest file "{path}" has next_segment_id {m.next_segment_id} <= segment {max(ids)}'
        )
    return m


def _check_table(
    root: str,
    table_id: int,
    entries: list[SegmentEntry],
    next_rowid: int,
    m: Manifest,
    report: Report,
) -> None:
    all_ids: list[np.ndarray] = []
    for entry in entries:
        path = os.path.join(root, entry.file)
        report.files_checked += 1
        report.segments += 1
        try:
            data = segment.open_segment(
                path, nbytes=entry.nbytes, crc32=entry.crc32, rows=entry.rows
            )
        except DataCorrupted as exc:
            report.problems.append(exc.message)
            continue
        rowids = np.asarray(data.column(ROWID).to_numpy(), dtype=np.int64)
        report.rows += len(rowids)
        if len(rowids):
            if rowids[0] != entry.min_rowid or rowids[-1] != entry.max_rowid:
                report.problems.append(
                    f'segment file "{path}" holds rowids {rowids[0]}..{rowids[-1]}, '
                    f"the manifest lists {entry.min_rowid}..{entry.max_rowid}"
                )
            if not bool(np.all(rowids[1:] > rowids[:-1])):
                report.problems.append(f'segment file "{path}" has rowids out of order')
            if rowids[-1] >= next_rowid:
                report.problems.append(
                    f'segment file "{path}" holds rowid {rowids[-1]} >= next_rowid {next_rowid}'
                )
        live = np.ones(len(rowids), dtype=bool)
        if entry.del_file is not None:
            report.files_checked += 1
            try:
                offsets = deletes.read(
                    os.path.join(root, entry.del_file),
                    crc32=entry.del_crc32,
                    count=entry.del_count,
                    rows=entry.rows,
                )
                live[offsets] = False
            except DataCorrupted as exc:
                report.problems.append(exc.message)
        report.live_rows += int(live.sum())
        all_ids.append(rowids[live])
        _check_floats(path, data, report)
    if all_ids:
        ids = np.concatenate(all_ids)
        uniq = np.unique(ids)
        if len(uniq) != len(ids):
            report.problems.append(
                f"table {table_id}: {len(ids) - len(uniq)} live rowids are in two segments"
            )


def _check_floats(path: str, data: pa.Table, report: Report) -> None:
    """Vectors never hold NaN or infinity (pgvector rejects them on input)."""
    for fld in data.schema:
        typ = fld.type
        if not (pa.types.is_fixed_size_list(typ) or pa.types.is_list(typ)):
            continue
        if not pa.types.is_floating(typ.value_type):
            continue
        for chunk in data.column(fld.name).chunks:
            values = np.asarray(chunk.flatten().to_numpy(zero_copy_only=False))
            if len(values) and not bool(np.isfinite(values).all()):
                report.problems.append(
                    f'segment file "{path}" column {fld.name} holds NaN or infinity'
                )
                break


def _check_unreferenced(root: str, accounted: set[str], report: Report) -> None:
    keep = {os.path.join(root, f) for f in accounted}
    for path in fileio.walk_files(os.path.join(root, SEGMENTS_DIR)):
        if path not in keep and not path.endswith(".tmp"):
            report.notes.append(f'unreferenced file "{path}" (removed on the next open)')


def _check_wal(root: str, m: Manifest | None, report: Report, tail_expected: bool) -> None:
    wal_dir = os.path.join(root, WAL_DIR)
    names = [n for n in fileio.listdir(wal_dir) if n.endswith(".wal") and n[:-4].isdigit()]
    prev: int | None = None
    first: int | None = None
    bad: tuple[str, int] | None = None
    for name in names:
        path = os.path.join(wal_dir, name)
        report.files_checked += 1
        data = fileio.read_bytes(path)
        buf = pa.py_buffer(data)
        offset = 0
        while offset < len(data):
            found = wal._valid_at(data, offset)
            if found is None:
                if bad is None:
                    bad = (path, offset)
                break
            if bad is not None:
                report.problems.append(
                    f'invalid WAL record in file "{bad[0]}" at offset {bad[1]} '
                    f'followed by a valid record in "{path}" at offset {offset}'
                )
                return
            lsn, length = found
            if prev is not None and lsn != prev + 1:
                report.problems.append(
                    f'WAL file "{path}" at offset {offset}: expected LSN {prev + 1}, found {lsn}'
                )
            try:
                wal.decode_payload(buf.slice(offset + wal.HEADER_SIZE, length))
            except (ValueError, pa.ArrowException, IndexError) as exc:
                report.problems.append(
                    f'WAL record with LSN {lsn} in "{path}" does not decode: {exc}'
                )
            first = lsn if first is None else first
            prev = lsn
            report.wal_records += 1
            offset += wal.HEADER_SIZE + length
        if bad is not None:
            # a valid record later in this file means corruption in the middle
            hit = wal._any_valid_after(data, bad[1])
            if hit is not None and bad[0] == path:
                report.problems.append(
                    f'invalid WAL record in file "{path}" at offset {bad[1]} '
                    f"followed by a valid record at offset {hit}"
                )
                return
    if bad is not None and not tail_expected:
        report.notes.append(f'torn WAL tail in "{bad[0]}" at offset {bad[1]} (truncated on open)')
    if (
        m is not None
        and m.lsn == 0
        and first is None
        and not fileio.exists(os.path.join(root, manifest.NAME))
    ):
        seg = next(fileio.walk_files(os.path.join(root, SEGMENTS_DIR)), None)
        if seg is not None:
            report.problems.append(f'manifest is missing but "{seg}" exists and the WAL is empty')
    if m is not None and first is not None and first > m.lsn + 1:
        report.problems.append(
            f"WAL records {m.lsn + 1}..{first - 1} are missing (manifest LSN {m.lsn}, "
            f"first WAL record {first})"
        )


def _register_builtin() -> None:
    # per-segment ANN index files live beside the segments (storage/indexfiles.py)
    from vecgres.storage import indexfiles

    register("indexes", indexfiles.check)


_register_builtin()
