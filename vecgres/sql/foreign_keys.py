"""FOREIGN KEY enforcement.

The referencing side: new rows (every write path reaches ``check_new_rows``
through ``writes._allocate``) look their keys up in the referenced table's
primary-key/unique key map (``executor.keys``) plus the transaction's own writes,
so a check does not scan. The referenced side: after a DELETE or UPDATE, the old
keys that no longer exist are looked for in each referencing table (one Arrow
semi-join over its rows) and the constraint's action runs (NO ACTION/RESTRICT
error, CASCADE, SET NULL, SET DEFAULT). MATCH SIMPLE: a key with a NULL column
is not checked. DEFERRABLE INITIALLY DEFERRED (or ``SET CONSTRAINTS … DEFERRED``)
constraints are remembered on the transaction and checked at COMMIT.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from vecgres import errors
from vecgres.codec.text import encode_text_column
from vecgres.executor.keys import named
from vecgres.executor.relation import ROWID, visible_rows
from vecgres.result import Result
from vecgres.sql.constraint_build import key_index

if TYPE_CHECKING:
    from vecgres.catalog.model import Catalog, Constraint, Table
    from vecgres.engine import Session


@dataclass(slots=True)
class DeferState:
    """A transaction's SET CONSTRAINTS modes and the checks it put off to COMMIT."""

    all_mode: bool | None = None  # SET CONSTRAINTS ALL DEFERRED (True) / IMMEDIATE (False)
    by_name: dict[str, bool] = field(default_factory=dict)
    inserted: set[tuple[int, int]] = field(default_factory=set)  # (table oid, constraint oid)
    removed: list[tuple[int, int, list[Any]]] = field(default_factory=list)  # parent, con, keys

    def copy(self) -> DeferState:
        """For a savepoint (or a statement's start): ROLLBACK TO forgets what came later."""
        return DeferState(self.all_mode, dict(self.by_name), set(self.inserted), list(self.removed))


def _state(session: Session) -> DeferState:
    txn = session.txn
    assert txn is not None
    if txn.constraints is None:
        txn.constraints = DeferState()
    state: DeferState = txn.constraints
    return state


def is_deferred(session: Session, con: Constraint) -> bool:
    if not con.deferrable:
        return False
    txn = session.txn
    state: DeferState | None = txn.constraints if txn is not None else None
    if state is not None:
        if con.name in state.by_name:
            return state.by_name[con.name]
        if state.all_mode is not None:
            return state.all_mode
    return con.deferred


def _names(table: Table, ids: list[int]) -> list[str]:
    return [col.name for i in ids if (col := table.column_by_id(i)) is not None]


def _key_text(table: Table, rows: pa.Table, row: int, cols: list[str]) -> str:
    """The key of one row as PostgreSQL's DETAIL shows it: each value's text output."""
    out = []
    for name in cols:
        col = table.column(name)
        assert col is not None
        cell = encode_text_column(rows.column(name).slice(row, 1).combine_chunks(), col.type)[0]
        out.append("null" if cell is None else cell.decode())
    return ", ".join(out)


def _tuples(rows: pa.Table, names: list[str]) -> list[tuple[Any, ...]]:
    cols = [rows.column(n).to_pylist() for n in names]
    return list(zip(*cols, strict=True)) if cols else []


def check_new_rows(session: Session, table: Table, rows: pa.Table) -> None:
    """Referencing rows about to be written: each non-NULL key must exist in its table."""
    for con in table.constraints:
        if con.kind != "f":
            continue
        if is_deferred(session, con):
            _state(session).inserted.add((table.oid, con.oid))
            continue
        check_keys(session, table, con, rows)


def check_keys(session: Session, table: Table, con: Constraint, rows: pa.Table) -> None:
    catalog = session._catalog()
    parent = table if con.ref_table == table.oid else catalog.tables.get(con.ref_table)
    if parent is None or not rows.num_rows:
        return
    cols = _names(table, con.columns)
    ref_cols = _names(parent, con.ref_columns)
    index = key_index(parent, ref_cols)
    if index is None:
        return
    wanted: dict[tuple[Any, ...], int] = {}
    for position, key in enumerate(_tuples(rows, cols)):
        nulls = sum(v is None for v in key)
        if nulls:
            if con.match == "f" and nulls != len(key):
                raise errors.ForeignKeyViolation(
                    f'insert or update on table "{table.name}" violates foreign key '
                    f'constraint "{con.name}"',
                    detail="MATCH FULL does not allow mixing of null and nonnull key values.",
                )
            continue
        wanted.setdefault(key, position)
    if not wanted:
        return
    order = [ref_cols.index(c) for c in index.columns]
    keys = list(wanted)
    lookup = [k[order[0]] if len(order) == 1 else tuple(k[i] for i in order) for k in keys]
    assert session.txn is not None
    found = session.db.keys.conflicts(parent, index, lookup, session.txn.pending.get(parent.oid))
    own: set[tuple[Any, ...]] = set()
    if parent.oid == table.oid:  # a self-reference: the rows themselves hold keys too
        own = set(_tuples(rows, ref_cols))
    for key, rowid in zip(keys, found, strict=True):
        if rowid is None and key not in own:
            raise errors.ForeignKeyViolation(
                f'insert or update on table "{table.name}" violates foreign key '
                f'constraint "{con.name}"',
                detail=f"Key ({', '.join(cols)})=({_key_text(table, rows, wanted[key], cols)}) "
                f'is not present in table "{parent.name}".',
            )


def referencing(catalog: Catalog, table: Table) -> list[tuple[Table, Constraint]]:
    """(referencing table, constraint) of each foreign key that references ``table``."""
    return [
        (child, con)
        for child in catalog.tables.values()
        for con in child.constraints
        if con.kind == "f" and con.ref_table == table.oid
    ]


def _gone(session: Session, parent: Table, ref_cols: list[str], keys: list[Any]) -> list[Any]:
    """The keys (in ``ref_cols`` order) no row of ``parent`` holds any more."""
    index = key_index(parent, ref_cols)
    if index is None or not keys:
        return []
    order = [ref_cols.index(c) for c in index.columns]
    lookup = [k[order[0]] if len(order) == 1 else tuple(k[i] for i in order) for k in keys]
    assert session.txn is not None
    found = session.db.keys.conflicts(parent, index, lookup, session.txn.pending.get(parent.oid))
    return [k for k, r in zip(keys, found, strict=True) if r is None]


def _referencing_rows(
    session: Session, child: Table, cols: list[str], keys: list[tuple[Any, ...]]
) -> pa.Table:
    """Rows of ``child`` (``_rowid`` + catalog names) whose ``cols`` equal one of ``keys``."""
    assert session.txn is not None
    pending = session.txn.pending.get(child.oid)
    data = visible_rows(child, session.db.snapshot().table(child.oid), pending)
    if not data.num_rows:
        return data
    try:
        probe = pa.table(
            {
                f"__k{i}": pa.array([k[i] for k in keys]).cast(data.column(c).type)
                for i, c in enumerate(cols)
            }
        )
        hits = data.join(
            probe,
            keys=cols,
            right_keys=[f"__k{i}" for i in range(len(cols))],
            join_type="left semi",
        )
        return hits.sort_by(ROWID)
    except (pa.ArrowNotImplementedError, pa.ArrowInvalid, pa.ArrowTypeError):
        # a key type Arrow's hash join does not take: compare in Python
        wanted = set(keys)
        mask = [k in wanted for k in _tuples(data, cols)]
        return data.filter(pa.array(mask, pa.bool_()))


def rows_before(session: Session, table: Table, rowids: np.ndarray) -> pa.Table | None:
    """ON CONFLICT DO UPDATE: the rows it is about to replace, in ``rowids`` order, when
    some foreign key references ``table`` (else None: nothing to check)."""
    if not rowids.size or not referencing(session._catalog(), table):
        return None
    assert session.txn is not None
    pending = session.txn.pending.get(table.oid)
    data = visible_rows(table, session.db.snapshot().table(table.oid), pending)
    positions = pc.index_in(pa.array(rowids), value_set=data.column(ROWID))
    return data.take(positions)


def after_change(
    session: Session, table: Table, old: pa.Table, new: pa.Table | None = None
) -> None:
    """The referenced side, once a DELETE (``new`` None) or UPDATE (``new``: the new
    values, row for row) of ``table`` has been buffered. ``old`` and ``new`` carry
    catalog column names (at least the referenced key columns)."""
    catalog = session._catalog()
    for child, con in referencing(catalog, table):
        ref_cols = _names(table, con.ref_columns)
        if any(c not in old.schema.names for c in ref_cols):
            continue
        olds = _tuples(old, ref_cols)
        news = _tuples(new, ref_cols) if new is not None else [None] * len(olds)
        mapping: dict[tuple[Any, ...], tuple[Any, ...] | None] = {}
        for o, n in zip(olds, news, strict=True):
            if any(v is None for v in o) or o == n:
                continue
            mapping.setdefault(o, n)
        gone = _gone(session, table, ref_cols, list(mapping))
        if not gone:
            continue
        rule = con.on_delete if new is None else con.on_update
        if rule == "a" and is_deferred(session, con):
            _state(session).removed.append((table.oid, con.oid, gone))
            continue
        cols = _names(child, con.columns)
        hits = _referencing_rows(session, child, cols, gone)
        if not hits.num_rows:
            continue
        if rule in ("a", "r"):
            raise _still_referenced(table, child, con, ref_cols, _key_text(child, hits, 0, cols))
        session.lock_table(child)
        _act(session, child, con, rule, cols, hits, mapping, delete=new is None)


def _still_referenced(
    parent: Table, child: Table, con: Constraint, ref_cols: list[str], key: str
) -> errors.ForeignKeyViolation:
    return errors.ForeignKeyViolation(
        f'update or delete on table "{parent.name}" violates foreign key constraint '
        f'"{con.name}" on table "{child.name}"',
        detail=f"Key ({', '.join(ref_cols)})=({key}) is still referenced from "
        f'table "{child.name}".',
    )


def _act(
    session: Session,
    child: Table,
    con: Constraint,
    rule: str,
    cols: list[str],
    hits: pa.Table,
    mapping: dict[tuple[Any, ...], tuple[Any, ...] | None],
    *,
    delete: bool,
) -> None:
    """CASCADE / SET NULL / SET DEFAULT on the referencing rows ``hits``."""
    from vecgres.sql.writes import _allocate, _checked_rows

    assert session.txn is not None
    pending = session.txn.writes(child.oid)
    rowids = np.asarray(hits.column(ROWID).to_numpy(), dtype=np.int64)
    old = hits.drop_columns([ROWID])
    if rule == "c" and delete:
        pending.deletes.append(rowids)
        after_change(session, child, old)
        return
    new = old
    for pos, name in enumerate(cols):
        position = new.schema.get_field_index(name)
        values: pa.Array
        if rule == "c":
            keys = _tuples(old, cols)
            picked = [mapping.get(k) for k in keys]
            values = pa.array([p[pos] if p is not None else None for p in picked])
        elif rule == "n":
            values = pa.nulls(new.num_rows)
        else:
            values = _defaults(session, child, name, new.num_rows)
        values = values.cast(new.schema.field(position).type)
        new = new.set_column(position, name, values)
    new = _checked_rows(child, new)
    pending.deletes.append(rowids)
    pending.inserts.append(_allocate(session, child, new))
    after_change(session, child, old, new)


def _defaults(session: Session, table: Table, name: str, n: int) -> pa.Array:
    col = table.column(name)
    if col is None or col.default is None:
        return pa.nulls(n)
    result = session.execute(f"SELECT {col.default}")
    value = [row for batch in result.batches() for row in batch.column(0).to_pylist()]
    return pa.array(value * n)


def check_deferred(session: Session, only: set[str] | None = None) -> None:
    """COMMIT (or SET CONSTRAINTS … IMMEDIATE): the checks put off so far."""
    txn = session.txn
    state: DeferState | None = txn.constraints if txn is not None else None
    if state is None or txn is None:
        return
    catalog = session._catalog()
    for table_oid, con_oid in sorted(state.inserted):
        table = catalog.tables.get(table_oid)
        con = _find(table, con_oid)
        if table is None or con is None or (only is not None and con.name not in only):
            continue
        pending = txn.pending.get(table_oid)
        if pending is None:
            continue
        deleted = set(pending.deleted_rowids().tolist())
        for batch in pending.inserts:
            if not batch.num_rows:
                continue
            rows = named(batch, table)
            if deleted:
                keep = [r not in deleted for r in rows.column(ROWID).to_pylist()]
                rows = rows.filter(pa.array(keep, pa.bool_()))
            check_keys(session, table, con, rows)
        state.inserted.discard((table_oid, con_oid))
    for parent_oid, con_oid, keys in list(state.removed):
        parent = catalog.tables.get(parent_oid)
        found = (
            [(c, k) for c, k in referencing(catalog, parent) if k.oid == con_oid] if parent else []
        )
        if parent is None or not found or (only is not None and found[0][1].name not in only):
            continue
        child, con = found[0]
        ref_cols = _names(parent, con.ref_columns)
        gone = _gone(session, parent, ref_cols, keys)
        cols = _names(child, con.columns)
        hits = _referencing_rows(session, child, cols, gone) if gone else None
        if hits is not None and hits.num_rows:
            raise _still_referenced(parent, child, con, ref_cols, _key_text(child, hits, 0, cols))
        state.removed.remove((parent_oid, con_oid, keys))


def _find(table: Table | None, con_oid: int) -> Constraint | None:
    if table is None:
        return None
    return next((c for c in table.constraints if c.oid == con_oid), None)


def set_constraints(session: Session, rest: str) -> Result:
    """SET CONSTRAINTS { ALL | name [, ...] } { DEFERRED | IMMEDIATE }."""
    words = rest.strip().rstrip(";").split()
    if len(words) < 3 or words[-1].upper() not in ("DEFERRED", "IMMEDIATE"):
        raise errors.SyntaxError_(f'syntax error at or near "{words[-1] if words else ""}"')
    deferred = words[-1].upper() == "DEFERRED"
    targets = " ".join(words[1:-1])
    if session.txn is None or not session.txn.explicit:
        session.notices.append(
            _warning("SET CONSTRAINTS can only be used in transaction blocks", "25P01")
        )
        return Result(None, None, "SET CONSTRAINTS", notices=session._take_notices())
    state = _state(session)
    catalog = session._catalog()
    if targets.upper() == "ALL":
        state.all_mode = deferred
        state.by_name.clear()
        names = None
    else:
        names = set()
        for raw in targets.split(","):
            name = raw.strip().strip('"')
            cons = [c for t in catalog.tables.values() for c in t.constraints if c.name == name]
            if not cons:
                raise errors.UndefinedObject(f'constraint "{name}" does not exist')
            for con in cons:
                if not con.deferrable:
                    raise errors.WrongObjectType(f'constraint "{name}" is not deferrable')
            state.by_name[name] = deferred
            names.add(name)
    if not deferred:
        check_deferred(session, names)
    return Result(None, None, "SET CONSTRAINTS", notices=session._take_notices())


def _warning(message: str, code: str) -> Any:
    from vecgres.result import Notice

    return Notice("WARNING", code, message)
