"""MANIFEST: the single commit point for segments, delete files and the catalog."""

from __future__ import annotations

import base64
import json
import os
import re
import zlib
from dataclasses import asdict, dataclass, field
from typing import Any, Final

from vecgres.errors import DataCorrupted
from vecgres.storage import fileio

NAME: Final = "MANIFEST"
FORMAT_VERSION: Final = 1
_HEADER = re.compile(rb"vecgres-manifest (\d+) crc32=([0-9a-f]{8}) length=(\d+)\n")


@dataclass(slots=True)
class SegmentEntry:
    id: int
    file: str  # relative to the data directory
    rows: int
    min_rowid: int
    max_rowid: int
    nbytes: int
    crc32: int
    stats: dict[str, list[Any]] = field(default_factory=dict)
    del_file: str | None = None
    del_crc32: int = 0
    del_count: int = 0


@dataclass(slots=True)
class TableEntry:
    flushed_lsn: int = 0
    next_rowid: int = 0
    segments: list[SegmentEntry] = field(default_factory=list)


@dataclass(slots=True)
class Manifest:
    lsn: int = 0
    next_segment_id: int = 1
    catalog: bytes = b""
    catalog_lsn: int = 0
    tables: dict[int, TableEntry] = field(default_factory=dict)
    dropped: dict[int, int] = field(default_factory=dict)  # table id -> lsn of the drop

    def files(self) -> set[str]:
        """Every file (relative path) the manifest references."""
        out: set[str] = set()
        for table in self.tables.values():
            for seg in table.segments:
                out.add(seg.file)
                if seg.del_file is not None:
                    out.add(seg.del_file)
        return out


def dump(m: Manifest) -> bytes:
    body = {
        "version": FORMAT_VERSION,
        "lsn": m.lsn,
        "next_segment_id": m.next_segment_id,
        "catalog": base64.b64encode(m.catalog).decode("ascii"),
        "catalog_lsn": m.catalog_lsn,
        "dropped": {str(k): v for k, v in m.dropped.items()},
        "tables": {str(k): asdict(v) for k, v in m.tables.items()},
    }
    data = json.dumps(body, separators=(",", ":"), sort_keys=True).encode()
    head = f"vecgres-manifest {FORMAT_VERSION} crc32={zlib.crc32(data):08x} length={len(data)}\n"
    return head.encode() + data


def load(path: str) -> Manifest:
    raw = fileio.read_bytes(path)
    match = _HEADER.match(raw)
    if match is None:
        raise DataCorrupted(f'invalid header in manifest file "{path}" at offset 0')
    length = int(match.group(3))
    body = raw[match.end() :]
    if len(body) != length:
        raise DataCorrupted(
            f'manifest file "{path}" is truncated at offset {match.end() + min(length, len(body))}'
        )
    if zlib.crc32(body) != int(match.group(2), 16):
        raise DataCorrupted(f'checksum mismatch in manifest file "{path}" at offset {match.end()}')
    try:
        doc = json.loads(body)
        return Manifest(
            lsn=int(doc["lsn"]),
            next_segment_id=int(doc["next_segment_id"]),
            catalog=base64.b64decode(doc["catalog"]),
            catalog_lsn=int(doc["catalog_lsn"]),
            dropped={int(k): int(v) for k, v in doc["dropped"].items()},
            tables={
                int(k): TableEntry(
                    flushed_lsn=int(t["flushed_lsn"]),
                    next_rowid=int(t["next_rowid"]),
                    segments=[SegmentEntry(**s) for s in t["segments"]],
                )
                for k, t in doc["tables"].items()
            },
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise DataCorrupted(f'invalid content in manifest file "{path}": {exc}') from exc


def write(directory: str, m: Manifest) -> None:
    fileio.write_atomic(
        os.path.join(directory, NAME), dump(m), before_rename="manifest.after_tmp_before_rename"
    )
