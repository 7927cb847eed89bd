"""CHECK constraints, evaluated by DuckDB over a whole batch of new rows.

Every write path (INSERT, UPDATE, ON CONFLICT DO UPDATE, COPY, executemany,
cascaded foreign-key actions) hands its rows to storage through
``writes._allocate``, which calls ``check_rows`` here. The constraints become
one bound query that yields, per row, whether each constraint came out false
(NULL passes, as in PostgreSQL); the first failing row (in row order) and its
first failing constraint (by name, PostgreSQL's order) make the error.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from vecgres import errors
from vecgres.codec.text import encode_text_column
from vecgres.executor.relation import ROWID, duck_names, stored_conversions
from vecgres.sql.bind import bind_query, rel_name

if TYPE_CHECKING:
    from vecgres.catalog.model import Constraint, Table
    from vecgres.engine import Session

_RENDERED: OrderedDict[tuple[object, ...], str] = OrderedDict()
_CACHE_SIZE = 256


def active_checks(table: Table) -> list[Constraint]:
    return sorted((c for c in table.constraints if c.kind == "c"), key=lambda c: c.name)


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _rendered(session: Session, table: Table, checks: list[Constraint]) -> str:
    """DuckDB SQL giving one boolean column per constraint: the row fails it."""
    key = (
        table.oid,
        table.schema,
        table.name,
        tuple((c.name, c.type.format()) for c in table.columns),
        tuple(c.expression for c in checks),
    )
    hit = _RENDERED.get(key)
    if hit is not None:
        _RENDERED.move_to_end(key)
        return hit
    items = ", ".join(f"(({c.expression}) IS FALSE) AS f{i}" for i, c in enumerate(checks))
    query = session._parse_one(f"SELECT {items} FROM {_q(table.schema)}.{_q(table.name)}")
    bound = bind_query(query, session._bind_context(), session._parse_view)
    sql = bound.render(())
    _RENDERED[key] = sql
    if len(_RENDERED) > _CACHE_SIZE:
        _RENDERED.popitem(last=False)
    return sql


def failures(
    session: Session, table: Table, stored: pa.Table, checks: list[Constraint]
) -> pa.Table:
    """For rows in storage form (``_rowid`` + ``c<id>``), one boolean column per check."""
    sql = _rendered(session, table, checks)
    data = stored.rename_columns([ROWID, *duck_names(table)])
    session.duck.register(rel_name(table), data, False, None, stored_conversions(table))
    try:
        return session.duck.arrow(sql)
    finally:
        session.duck.clear()


def check_rows(session: Session, table: Table, rows: pa.Table, stored: pa.Table) -> None:
    """Raise 23514 for the first row of ``rows`` (catalog names) that a CHECK rejects."""
    checks = active_checks(table)
    if not checks or not rows.num_rows:
        return
    failed = failures(session, table, stored, checks)
    any_failed = failed.column(0)
    for i in range(1, failed.num_columns):
        any_failed = pc.or_(any_failed, failed.column(i))
    if not pc.any(any_failed).as_py():
        return
    row = int(np.flatnonzero(any_failed.to_numpy(zero_copy_only=False))[0])
    for i, con in enumerate(checks):
        if failed.column(i)[row].as_py():
            raise errors.CheckViolation(
                f'new row for relation "{table.name}" violates check constraint "{con.name}"',
                detail=f"Failing row contains ({row_text(table, rows, row)}).",
            )


def row_text(table: Table, rows: pa.Table, row: int) -> str:
    """PostgreSQL's ``Failing row contains (…)`` text of one row: values as text, null."""
    out = []
    for col in table.columns:
        cell = encode_text_column(rows.column(col.name).slice(row, 1).combine_chunks(), col.type)[0]
        out.append("null" if cell is None else cell.decode())
    return ", ".join(out)


def violated_by_existing(session: Session, table: Table, con: Constraint) -> bool:
    """ALTER TABLE ADD CONSTRAINT CHECK / VALIDATE CONSTRAINT: does a stored row fail it?"""
    from vecgres.executor.relation import table_view

    assert session.txn is not None
    pending = session.txn.pending.get(table.oid)
    data, masked = table_view(table, session.db.snapshot().table(table.oid), pending, stored=True)
    if masked:
        data = data.filter(data.column("__vis"))
        data = data.drop_columns(["__vis"])
    if not data.num_rows:
        return False
    failed = failures(session, table, data, [con])
    return bool(pc.any(failed.column(0)).as_py())
