"""Primary-key and unique maps: key -> row id, so key lookups and conflict checks do not scan."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa

from vecgres import errors

if TYPE_CHECKING:
    from vecgres.catalog.model import Catalog, Index, Table
    from vecgres.storage.store import Snapshot


def _keys(data: pa.Table, index: Index) -> list[Any]:
    cols = [data.column(name).to_pylist() for name in index.columns]
    if len(cols) == 1:
        return list(cols[0])
    return list(zip(*cols, strict=True))


def _has_null(key: Any) -> bool:
    return key is None or (isinstance(key, tuple) and any(k is None for k in key))


class KeyMap:
    def __init__(self) -> None:
        self.by_key: dict[Any, int] = {}
        self.by_rowid: dict[int, Any] = {}

    def add(self, keys: list[Any], rowids: list[int]) -> None:
        for key, rowid in zip(keys, rowids, strict=True):
            if _has_null(key):
                continue
            self.by_key[key] = rowid
            self.by_rowid[rowid] = key

    def remove(self, rowids: np.ndarray) -> None:
        for rowid in rowids.tolist():
            key = self.by_rowid.pop(rowid, None)
            if key is not None and self.by_key.get(key) == rowid:
                del self.by_key[key]


class KeyIndexes:
    """Committed key maps of every unique index, kept current at each commit."""

    def __init__(self) -> None:
        self._maps: dict[tuple[int, int], KeyMap] = {}
        self._lock = threading.Lock()

    def rebuild(self, catalog: Catalog, snap: Snapshot) -> None:
        from vecgres.executor.relation import table_view

        with self._lock:
            self._maps.clear()
            for table in catalog.tables.values():
                if table.kind != "r" or not table.unique_indexes:
                    continue
                data, masked = table_view(table, snap.table(table.oid), None)
                if masked:
                    data = data.filter(data.column("__vis"))
                rowids = data.column("_rowid").to_pylist()
                for index in table.unique_indexes:
                    km = KeyMap()
                    km.add(_keys(data, index), rowids)
                    self._maps[(table.oid, index.oid)] = km

    def lookup(self, table: Table, index: Index, key: Any) -> int | None:
        km = self._maps.get((table.oid, index.oid))
        return None if km is None else km.by_key.get(key)

    def apply_commit(self, catalog: Catalog, txn: Any, snapshot: Any = None) -> None:
        """``snapshot``: a callable giving the committed snapshot, from which the map of
        a unique index new in this commit (ADD CONSTRAINT, CREATE UNIQUE INDEX on a
        table with rows) is built."""
        from vecgres.executor.relation import visible_rows

        with self._lock:
            live = {(t.oid, i.oid) for t in catalog.tables.values() for i in t.unique_indexes}
            for key in [k for k in self._maps if k not in live]:
                del self._maps[key]
            for table in catalog.tables.values():
                if table.kind != "r":
                    continue
                pending = txn.pending.get(table.oid)
                new_index = [
                    i for i in table.unique_indexes if (table.oid, i.oid) not in self._maps
                ]
                built: set[int] = set()
                for index in new_index:
                    km = self._maps[(table.oid, index.oid)] = KeyMap()
                    if snapshot is not None:
                        data = visible_rows(table, snapshot().table(table.oid), None)
                        km.add(_keys(data, index), data.column("_rowid").to_pylist())
                        built.add(index.oid)
                if pending is None:
                    continue
                for index in table.unique_indexes:
                    if index.oid in built:
                        continue
                    km = self._maps[(table.oid, index.oid)]
                    if pending.truncated:
                        km.by_key.clear()
                        km.by_rowid.clear()
                    deleted = pending.deleted_rowids()
                    if deleted.size:
                        km.remove(deleted)
                    for batch in pending.inserts:
                        if not batch.num_rows:
                            continue
                        data = named(batch, table)
                        if deleted.size:
                            # one vectorized membership test (a set per row was quadratic)
                            rowids = data.column("_rowid").to_numpy()
                            alive = ~np.isin(rowids, deleted)
                            if not alive.all():
                                data = data.filter(pa.array(alive))
                        km.add(_keys(data, index), data.column("_rowid").to_pylist())

    def check(self, table: Table, rows: pa.Table, pending: Any, replaced: np.ndarray) -> None:
        """Raise 23505 if ``rows`` (catalog names) collide with committed or pending keys.

        ``replaced`` are row ids being deleted by the same statement (UPDATE).
        """
        for index in table.unique_indexes:
            new_keys = _keys(rows, index)
            seen: set[Any] = set()
            km = self._maps.get((table.oid, index.oid))
            own_deleted = set(pending.deleted_rowids().tolist()) if pending is not None else set()
            own_deleted.update(replaced.tolist())
            own_keys: dict[Any, int] = {}
            if pending is not None:
                for batch in pending.inserts:
                    if batch.num_rows:
                        data = named(batch, table)
                        pairs = zip(
                            _keys(data, index), data.column("_rowid").to_pylist(), strict=True
                        )
                        own_keys.update(
                            (key, rowid)
                            for key, rowid in pairs
                            if rowid not in own_deleted and not _has_null(key)
                        )
            truncated = pending is not None and pending.truncated
            for key in new_keys:
                if _has_null(key):
                    continue
                dup = key in seen or key in own_keys
                if not dup and km is not None and not truncated:
                    rowid = km.by_key.get(key)
                    dup = rowid is not None and rowid not in own_deleted
                if dup:
                    raise unique_violation(index, key)
                seen.add(key)

    def check_new_index(self, table: Table, index: Index, session: Any) -> None:
        """CREATE UNIQUE INDEX: the existing rows must already be unique."""
        from vecgres.executor.relation import table_view

        pending = session.txn.pending.get(table.oid) if session.txn is not None else None
        data, masked = table_view(table, session.db.snapshot().table(table.oid), pending)
        if masked:
            data = data.filter(data.column("__vis"))
        seen: set[Any] = set()
        for key in _keys(data, index):
            if _has_null(key):
                continue
            if key in seen:
                raise errors.UniqueViolation(
                    f'could not create unique index "{index.name}"',
                    detail=f"Key ({', '.join(index.columns)})=({key_text(key)}) is duplicated.",
                )
            seen.add(key)

    def conflicts(
        self, table: Table, index: Index, keys: list[Any], pending: Any
    ) -> list[int | None]:
        """For each key, the row id of the visible row holding it (or None)."""
        km = self._maps.get((table.oid, index.oid))
        own_deleted = set(pending.deleted_rowids().tolist()) if pending is not None else set()
        own_keys: dict[Any, int] = {}
        if pending is not None:
            for batch in pending.inserts:
                if batch.num_rows:
                    data = named(batch, table)
                    pairs = zip(_keys(data, index), data.column("_rowid").to_pylist(), strict=True)
                    own_keys.update((k, r) for k, r in pairs if r not in own_deleted)
        truncated = pending is not None and pending.truncated
        out: list[int | None] = []
        for key in keys:
            if _has_null(key):
                out.append(None)
                continue
            if key in own_keys:
                out.append(own_keys[key])
                continue
            rowid = None if km is None or truncated else km.by_key.get(key)
            out.append(rowid if rowid is not None and rowid not in own_deleted else None)
        return out


def named(batch: pa.RecordBatch, table: Table) -> pa.Table:
    """A storage batch (``_rowid`` + ``c<id>``) with catalog column names."""
    data = pa.Table.from_batches([batch])
    by_field = {col.field_name: col.name for col in table.columns}
    names = [by_field.get(name, name) for name in data.schema.names]
    data = data.rename_columns(names)
    for col in table.columns:
        if col.name not in names:  # a batch written before ALTER COLUMN ... TYPE
            data = data.append_column(col.name, pa.nulls(data.num_rows))
    return data


def key_text(key: Any) -> str:
    if isinstance(key, tuple):
        return ", ".join(str(k) for k in key)
    return str(key)


def unique_violation(index: Index, key: Any) -> errors.UniqueViolation:
    return errors.UniqueViolation(
        f'duplicate key value violates unique constraint "{index.constraint_name or index.name}"',
        detail=f"Key ({', '.join(index.columns)})=({key_text(key)}) already exists.",
    )
