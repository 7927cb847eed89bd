"""ANN index files: one per (sealed segment, index definition), with a checksum.

Layout: ``indexes/<table_id>/<segment_id>.<index_oid>.faiss`` holds the
serialized faiss index exactly as faiss writes it (so faiss can map it) — or,
for sparsevec and bit_jaccard_ops indexes, the formats of index/sparse.py and
index/binary.py (magic-tagged, memory-mapped by numpy) — and
``….faiss.sum`` next to it holds ``{"crc32", "nbytes", "tag", "key"}`` (key:
the file's own table, segment and index, so a file copied or misdirected onto
another segment's name is not loaded there). The data
file is written (tmp, fsync, rename) before its sum file, so a crash between
the two leaves an index without a sum: it is rebuilt, never loaded. A file
whose checksum, size or spec tag does not match is deleted and rebuilt.
"""

from __future__ import annotations

import json
import os
import zlib
from collections.abc import Callable
from typing import TYPE_CHECKING

from vecgres.catalog.model import Catalog
from vecgres.errors import DataCorrupted
from vecgres.storage import fileio

if TYPE_CHECKING:
    from vecgres.storage.check import Report
    from vecgres.storage.manifest import Manifest

INDEX_DIR = "indexes"


class IndexFiles:
    def __init__(self, root: str) -> None:
        self.root = os.path.join(root, INDEX_DIR)

    def path(self, table_id: int, segment_id: int, index_oid: int) -> str:
        return os.path.join(self.root, str(table_id), f"{segment_id}.{index_oid}.faiss")

    def write(
        self, table_id: int, segment_id: int, index_oid: int, data: bytes | memoryview, tag: str
    ) -> str:
        path = self.path(table_id, segment_id, index_oid)
        fileio.makedirs(os.path.dirname(path))
        fileio.write_atomic(path, data)
        summary = {
            "crc32": zlib.crc32(data),
            "nbytes": memoryview(data).nbytes,
            "tag": tag,
            "key": [table_id, segment_id, index_oid],
        }
        fileio.write_atomic(path + ".sum", json.dumps(summary).encode())
        return path

    def verified_path(self, table_id: int, segment_id: int, index_oid: int, tag: str) -> str | None:
        """The file's path if it exists and matches its checksum and tag; else None
        (and a mismatching file is removed so it cannot be loaded by mistake)."""
        path = self.path(table_id, segment_id, index_oid)
        if not fileio.exists(path) or not fileio.exists(path + ".sum"):
            return None
        try:
            summary = json.loads(fileio.read_bytes(path + ".sum"))
            data = fileio.read_bytes(path)
            ok = (
                summary.get("tag") == tag
                and _key_matches(summary, (table_id, segment_id, index_oid))
                and summary.get("nbytes") == len(data)
                and summary.get("crc32") == zlib.crc32(data)
            )
        except (OSError, ValueError):
            ok = False
        if not ok:
            self.remove(table_id, segment_id, index_oid)
            return None
        return path

    def remove(self, table_id: int, segment_id: int, index_oid: int) -> None:
        path = self.path(table_id, segment_id, index_oid)
        for p in (path + ".sum", path):
            if fileio.exists(p):
                fileio.unlink(p)

    def remove_index(self, table_id: int, index_oid: int) -> None:
        """Delete the index's files on every segment (DROP INDEX)."""
        self._remove_where(table_id, lambda key: key[2] == index_oid)

    def remove_segments(self, table_id: int, segment_ids: set[int]) -> None:
        """Delete every index file of these segments (compacted away, truncated or
        dropped: segment ids are never reused, so no later segment owns them)."""
        self._remove_where(table_id, lambda key: key[1] in segment_ids)
        folder = os.path.join(self.root, str(table_id))
        if fileio.exists(folder):
            fileio.rmdir(folder)  # stays while it holds files of live segments

    def _remove_where(self, table_id: int, doomed: Callable[[tuple[int, int, int]], bool]) -> None:
        folder = os.path.join(self.root, str(table_id))
        if not fileio.exists(folder):
            return
        for path in fileio.walk_files(folder):
            key = _key_of(path)  # ``.tmp`` files too: their names start with the key
            if key is not None and doomed(key):
                fileio.unlink(path)

    def remove_unless(self, live: set[tuple[int, int, int]]) -> list[str]:
        """Delete index files of segments or indexes that no longer exist."""
        removed: list[str] = []
        if not fileio.exists(self.root):
            return removed
        for path in fileio.walk_files(self.root):
            name = os.path.basename(path)
            table = os.path.basename(os.path.dirname(path))
            parts = name.split(".")
            try:
                key = (int(table), int(parts[0]), int(parts[1]))
            except (ValueError, IndexError):
                key = None
            if key is None or key not in live or name.endswith(".tmp"):
                fileio.unlink(path)
                removed.append(path)
        return removed


def _key_matches(summary: dict[str, object], key: tuple[int, int, int]) -> bool:
    """The sum file names this file's (table, segment, index); files written
    before the key was recorded carry none and are accepted."""
    found = summary.get("key")
    return found is None or found == list(key)


def _key_of(path: str) -> tuple[int, int, int] | None:
    """(table id, segment id, index oid) of ``<table>/<segment>.<index>.faiss[.sum]``."""
    parts = os.path.basename(path).split(".")
    try:
        return int(os.path.basename(os.path.dirname(path))), int(parts[0]), int(parts[1])
    except (ValueError, IndexError):
        return None


def check(root: str, m: Manifest, report: Report) -> set[str]:
    """The consistency checker's part for index files (``check.register``).

    A data file whose sum file is missing is a crash between the two writes
    (a note); a size or checksum mismatch is a problem, though the database
    repairs it by rebuilding from the segment on the next open. Files of
    segments or indexes the manifest no longer has are orphans (notes: the
    next open removes them). Returns the files accounted for.
    """
    base = os.path.join(root, INDEX_DIR)
    if not fileio.exists(base):
        return set()
    segments = {(tid, s.id) for tid, t in m.tables.items() for s in t.segments}
    indexes: set[int] | None = None
    if m.catalog:
        try:
            catalog = Catalog.from_bytes(m.catalog)
            indexes = {i.oid for t in catalog.tables.values() for i in t.indexes}
        except (DataCorrupted, ValueError, KeyError):
            indexes = None  # the manifest check reports a bad catalog
    for path in sorted(fileio.walk_files(base)):
        if path.endswith(".tmp"):
            continue  # check_dir notes leftover temporary files
        key = _key_of(path)
        if key is None or not (path.endswith(".faiss") or path.endswith(".faiss.sum")):
            report.notes.append(f'unreferenced file "{path}" (removed on the next open)')
            continue
        table_id, segment_id, index_oid = key
        if (table_id, segment_id) not in segments:
            report.notes.append(f'orphaned index file "{path}" (removed on the next open)')
            continue
        if indexes is not None and index_oid not in indexes:
            # the WAL may hold a newer catalog (a fresh CREATE INDEX), so only a note
            report.notes.append(
                f'index file "{path}" belongs to no index of the manifest\'s catalog '
                "(removed on the next open unless the WAL creates that index)"
            )
            continue
        if path.endswith(".sum"):
            if not fileio.exists(path[: -len(".sum")]):
                report.notes.append(f'index checksum file "{path}" has no index file')
            continue
        report.files_checked += 1
        _check_file(path, key, report)
    return set()


def _check_file(path: str, key: tuple[int, int, int], report: Report) -> None:
    if not fileio.exists(path + ".sum"):
        report.notes.append(f'index file "{path}" has no checksum file (rebuilt on the next open)')
        return
    try:
        summary = json.loads(fileio.read_bytes(path + ".sum"))
        expected_size, expected_crc = int(summary["nbytes"]), int(summary["crc32"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        report.problems.append(f'index checksum file "{path}.sum" is unreadable: {exc}')
        return
    if not _key_matches(summary, key):
        report.problems.append(
            f'index file "{path}" was written for table, segment and index {summary["key"]} '
            "(rebuilt from its segment on the next open)"
        )
        return
    data = fileio.read_bytes(path)
    if len(data) != expected_size:
        report.problems.append(
            f'index file "{path}" has {len(data)} bytes, its checksum file lists '
            f"{expected_size} (rebuilt from its segment on the next open)"
        )
    elif zlib.crc32(data) != expected_crc:
        report.problems.append(
            f'index file "{path}" fails its checksum (rebuilt from its segment on the next open)'
        )
