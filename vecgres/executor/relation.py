"""A table as one Arrow table: the snapshot's segments plus a transaction's own writes."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa

from vecgres.codec.arrow import from_storage, missing_to_storage, storage_reader, storage_type
from vecgres.storage.store import TableLayout

if TYPE_CHECKING:
    from vecgres.catalog.model import Table
    from vecgres.executor.duck import DuckSession
    from vecgres.storage.store import TableSnapshot

ROWID = "_rowid"
VISIBLE = "__vis"


def layout_of(table: Table) -> TableLayout:
    """The storage layout of a table: one Arrow field per live column, by column id."""
    fields = [pa.field(col.field_name, storage_type(col.type)) for col in table.columns]
    missing = {col.field_name: missing_to_storage(col.missing, col.type) for col in table.columns}
    return TableLayout(schema=pa.schema(fields), missing=missing)


def storage_schema(table: Table) -> pa.Schema:
    """Schema of batches handed to storage: ``_rowid`` first, then ``c<id>`` fields."""
    layout = layout_of(table)
    return pa.schema([pa.field(ROWID, pa.int64()), *layout.schema])


@dataclass(slots=True)
class PendingWrites:
    """A transaction's uncommitted changes to one table."""

    inserts: list[pa.RecordBatch] = field(default_factory=list)
    deletes: list[np.ndarray] = field(default_factory=list)
    truncated: bool = False

    def deleted_rowids(self) -> np.ndarray:
        if not self.deletes:
            return np.empty(0, dtype=np.int64)
        return np.unique(np.concatenate(self.deletes))

    def mark(self) -> tuple[int, int, bool]:
        return len(self.inserts), len(self.deletes), self.truncated

    def rollback_to(self, mark: tuple[int, int, bool]) -> None:
        del self.inserts[mark[0] :]
        del self.deletes[mark[1] :]
        self.truncated = mark[2]


def duck_names(table: Table) -> list[str]:
    """Column names as DuckDB sees them: it matches names without regard to case, so a
    column whose name differs from an earlier one only by case gets a distinct name."""
    seen: set[str] = set()
    out = []
    for position, col in enumerate(table.columns, start=1):
        key = col.name.lower()
        out.append(col.name if key not in seen else f"{col.name}__{position}")
        seen.add(key)
    return out


def table_view(
    table: Table,
    snap: TableSnapshot | None,
    pending: PendingWrites | None,
    stored: bool = False,
) -> tuple[pa.Table, bool]:
    """All rows of ``table`` visible to a statement, named by catalog column names.

    Returns the Arrow table (``_rowid`` + live columns, plus a ``__vis`` mask
    column when some rows are invisible) and whether the mask is present.
    Segments are not copied: the result only chains their chunks. With ``stored``
    bit and sparsevec columns keep their stored layout (``stored_conversions`` says
    how DuckDB turns them into the execution layout).
    """
    layout = layout_of(table)
    names = [ROWID, *duck_names(table)]
    parts: list[pa.Table] = []
    masks: list[np.ndarray | None] = []
    if snap is not None and not (pending is not None and pending.truncated):
        for seg in snap.segments:
            data = seg.conformed(layout)
            if data.num_rows == 0:
                continue
            parts.append(data)
            masks.append(seg.visible)
    if pending is not None:
        schema = storage_schema(table)
        for batch in pending.inserts:
            if batch.num_rows:
                parts.append(_conform_batch(batch, schema, layout.missing))
                masks.append(None)
    own_deletes = pending.deleted_rowids() if pending is not None else None
    if own_deletes is not None and own_deletes.size:
        masks = [
            _and_not_deleted(part, mask, own_deletes)
            for part, mask in zip(parts, masks, strict=True)
        ]
    schema = storage_schema(table)
    if not parts:
        empty = schema.empty_table()
        empty = empty if stored else execution_layout(table, empty)
        return empty.rename_columns(names), False
    parts = [p.select(schema.names).cast(schema) if p.schema != schema else p for p in parts]
    combined = pa.concat_tables(parts)
    if not stored:
        combined = execution_layout(table, combined)
    combined = combined.rename_columns(names)
    if all(m is None for m in masks):
        return combined, False
    full = np.concatenate(
        [
            np.ones(p.num_rows, dtype=bool) if m is None else m
            for p, m in zip(parts, masks, strict=True)
        ]
    )
    return combined.append_column(VISIBLE, pa.array(full)), True


def visible_rows(
    table: Table, snap: TableSnapshot | None, pending: PendingWrites | None
) -> pa.Table:
    """The rows ``table_view`` shows a statement, invisible ones dropped, named
    ``_rowid`` + catalog column names (not DuckDB's: for Python-side checks)."""
    data, masked = table_view(table, snap, pending)
    if masked:
        data = data.filter(data.column(VISIBLE)).drop_columns([VISIBLE])
    return data.rename_columns([ROWID, *(c.name for c in table.columns)])


def stored_conversions(table: Table) -> dict[str, str]:
    """DuckDB column name -> the function turning its stored layout into the one
    DuckDB computes on, for the columns whose layouts differ."""
    out: dict[str, str] = {}
    for name, col in zip(duck_names(table), table.columns, strict=True):
        fn = storage_reader(col.type)
        if fn is not None:
            out[name] = fn
    return out


def execution_layout(table: Table, data: pa.Table, only: set[str] | None = None) -> pa.Table:
    """Stored columns whose layout differs from what DuckDB computes on (bit,
    sparsevec) converted; ``data`` has ``_rowid`` first, then one field per column.
    With ``only``, just the fields of those names are converted (the rest are left
    as stored: the caller never reads them)."""
    for position, col in enumerate(table.columns, start=1):
        if only is not None and data.schema.field(position).name not in only:
            continue
        stored = data.column(position)
        converted = from_storage(stored, col.type)
        if converted is not stored:
            data = data.set_column(position, data.schema.field(position).name, converted)
    return data


def _and_not_deleted(part: pa.Table, mask: np.ndarray | None, deleted: np.ndarray) -> np.ndarray:
    rowids = part.column(ROWID).to_numpy()
    keep = ~np.isin(rowids, deleted)
    return keep if mask is None else (mask & keep)


def _conform_batch(
    batch: pa.RecordBatch, schema: pa.Schema, missing: dict[str, object]
) -> pa.Table:
    """A pending batch under the current schema (columns added or dropped since it was made)."""
    table = pa.Table.from_batches([batch])
    if table.schema.names == schema.names:
        return table
    cols = []
    for fld in schema:
        if fld.name in table.schema.names:
            cols.append(table.column(fld.name))
        else:
            cols.append(pa.array([missing.get(fld.name)] * table.num_rows, type=fld.type))
    return pa.Table.from_arrays(cols, schema=schema)


def run_on_rows(
    duck: DuckSession,
    rel: str,
    rows: pa.Table,
    masked: bool,
    sql: str,
    batch_rows: int,
) -> tuple[list[str], Iterator[pa.RecordBatch]]:
    """Run a statement on just ``rows`` (a search's survivors) registered as its table."""
    if masked:
        rows = rows.drop_columns([VISIBLE])
    duck.register(rel, rows, False)
    try:
        types, stream = duck.query(sql, batch_rows)
        batches = list(stream)
    finally:
        duck.clear()
    return types, iter(batches)
