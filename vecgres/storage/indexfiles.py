"""ANN index files: one per (sealed segment, index definition), with a checksum.

Layout: ``indexes/<table_id>/<segment_id>.<index_oid>.faiss`` holds the
serialized faiss index exactly as faiss writes it (so faiss can map it), and
``….faiss.sum`` next to it holds ``{"crc32", "nbytes", "tag"}``. The data
file is written (tmp, fsync, rename) before its sum file, so a crash between
the two leaves an index without a sum: it is rebuilt, never loaded. A file
whose checksum, size or spec tag does not match is deleted and rebuilt.
"""

from __future__ import annotations

import json
import os
import zlib

from vecgres.storage import fileio

INDEX_DIR = "indexes"


class IndexFiles:
    def __init__(self, root: str) -> None:
        self.root = os.path.join(root, INDEX_DIR)

    def path(self, table_id: int, segment_id: int, index_oid: int) -> str:
        return os.path.join(self.root, str(table_id), f"{segment_id}.{index_oid}.faiss")

    def write(self, table_id: int, segment_id: int, index_oid: int, data: bytes, tag: str) -> str:
        path = self.path(table_id, segment_id, index_oid)
        fileio.makedirs(os.path.dirname(path))
        fileio.write_atomic(path, data)
        summary = {"crc32": zlib.crc32(data), "nbytes": len(data), "tag": tag}
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
