"""Sealed segment files (uncompressed Arrow IPC, memory-mapped) and conforming
stored data to a table's current layout."""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from vecgres.errors import DataCorrupted
from vecgres.storage import fileio
from vecgres.storage.batch import ROWID, TableLayout

INT64_MAX = np.iinfo(np.int64).max

Stats = dict[str, tuple[Any, Any]]


@dataclass(frozen=True, slots=True)
class WrittenFile:
    nbytes: int
    crc32: int


def conform(data: pa.Table, layout: TableLayout) -> pa.Table:
    """``_rowid`` then exactly the layout's fields; missing ones filled from
    ``layout.missing``. Existing columns are reused without a copy."""
    n = data.num_rows
    names = set(data.column_names)
    columns: list[pa.ChunkedArray | pa.Array] = [data.column(ROWID)]
    fields: list[pa.Field] = [data.schema.field(ROWID)]
    for fld in layout.schema:
        if fld.name in names:
            col = data.column(fld.name)
            if not col.type.equals(fld.type):
                col = col.cast(fld.type)
        else:
            value = layout.missing.get(fld.name)
            col = (
                pa.nulls(n, fld.type) if value is None else pa.repeat(pa.scalar(value, fld.type), n)
            )
        columns.append(col)
        fields.append(fld)
    return pa.Table.from_arrays(columns, schema=pa.schema(fields))


def sort_by_rowid(data: pa.Table) -> tuple[pa.Table, np.ndarray | None]:
    """Rowids ascending; returns the permutation applied (None if already sorted)."""
    rowids = rowid_array(data)
    if len(rowids) < 2 or bool(np.all(rowids[1:] > rowids[:-1])):
        return data, None
    perm = np.argsort(rowids, kind="stable")
    return data.take(pa.array(perm)), perm


def rowid_array(data: pa.Table) -> np.ndarray:
    col = data.column(ROWID)
    if col.num_chunks == 1:
        out: np.ndarray = col.chunk(0).to_numpy(zero_copy_only=False)
        return out
    return np.asarray(col.to_numpy(), dtype=np.int64)


_STAT_TYPES = (pa.types.is_integer, pa.types.is_floating, pa.types.is_boolean, pa.types.is_string)
_TEMPORAL = (pa.types.is_date, pa.types.is_timestamp, pa.types.is_time)


def compute_stats(data: pa.Table) -> tuple[Stats, dict[str, list[Any]]]:
    """Per-column (min, max) as Python values, and their JSON form for the manifest."""
    stats: Stats = {}
    stored: dict[str, list[Any]] = {}
    for fld in data.schema:
        if fld.name == ROWID:
            continue
        if any(check(fld.type) for check in _STAT_TYPES):
            mm = pc.min_max(data.column(fld.name))
            lo, hi = mm["min"].as_py(), mm["max"].as_py()
            if lo is None:
                continue
            stats[fld.name] = (lo, hi)
            stored[fld.name] = [lo, hi]
        elif any(check(fld.type) for check in _TEMPORAL):
            col = data.column(fld.name)
            mm = pc.min_max(col)
            if not mm["min"].is_valid:
                continue
            stats[fld.name] = (mm["min"].as_py(), mm["max"].as_py())
            width = pa.int32() if fld.type.bit_width == 32 else pa.int64()
            raw = pc.min_max(col.cast(width))
            stored[fld.name] = [raw["min"].as_py(), raw["max"].as_py(), str(fld.type)]
    return stats, stored


def load_stats(stored: dict[str, list[Any]], schema: pa.Schema) -> Stats:
    stats: Stats = {}
    for name, entry in stored.items():
        if len(entry) == 3 and schema.get_field_index(name) >= 0:
            typ = schema.field(name).type
            width = pa.int32() if typ.bit_width == 32 else pa.int64()
            pair = pa.array(entry[:2], type=width).cast(typ)
            stats[name] = (pair[0].as_py(), pair[1].as_py())
        else:
            stats[name] = (entry[0], entry[1])
    return stats


def write_segment(path: str, data: pa.Table) -> WrittenFile:
    """Write ``data`` as an uncompressed Arrow IPC file, durably (D7)."""
    sink = pa.BufferOutputStream()
    with pa.ipc.new_file(sink, data.schema) as writer:
        writer.write_table(data, max_chunksize=max(1, data.num_rows))
    buf = sink.getvalue()
    crc = zlib.crc32(memoryview(buf))
    fileio.write_atomic(path, buf)
    return WrittenFile(nbytes=buf.size, crc32=crc)


def open_segment(path: str, *, nbytes: int, crc32: int, rows: int) -> pa.Table:
    """Memory-map a sealed segment after checking its size and checksum."""
    if not fileio.exists(path):
        raise DataCorrupted(f'could not open file "{path}": referenced segment is missing')
    mm = fileio.memory_map(path)
    size = mm.size()
    if size != nbytes:
        raise DataCorrupted(
            f'segment file "{path}" has size {size}, expected {nbytes}',
            detail=f"the file is damaged from offset {min(size, nbytes)}",
        )
    buf = mm.read_buffer(size)
    if zlib.crc32(memoryview(buf)) != crc32:
        raise DataCorrupted(
            f'checksum mismatch in segment file "{path}" at offset 0',
            detail=f"expected crc32 {crc32:08x}",
        )
    try:
        table = pa.ipc.open_file(buf).read_all()
    except pa.ArrowInvalid as exc:
        raise DataCorrupted(f'could not read segment file "{path}": {exc}') from exc
    if table.num_rows != rows:
        raise DataCorrupted(f'segment file "{path}" has {table.num_rows} rows, expected {rows}')
    return table
