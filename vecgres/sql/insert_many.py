"""executemany of a plain ``INSERT ... VALUES ($1, $2, ...)`` as one bulk load.

Running the statement once per parameter row costs a parse, a bind and a
DuckDB query per row. When the statement is a single VALUES row of bare
parameters (no RETURNING, no ON CONFLICT) and the caller is inside a
transaction, the parameter rows become Arrow columns and go through COPY's
loader: the same conversions and checks as INSERT (types, typmods, NOT NULL,
unique keys, defaults), all-or-nothing like the failed transaction would be.
Anything else returns None and the caller runs the rows one by one.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from decimal import Decimal
from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa
from sqlglot import exp

from vecgres.codec.copy import CopyOptions
from vecgres.sql.copy import Loader, user_error
from vecgres.sql.writes import _insert_columns, _target

if TYPE_CHECKING:
    from vecgres.engine import Session
    from vecgres.types import SqlType

_SCALARS = (bool, int, float, str, bytes, Decimal, dt.date, dt.time, dt.timedelta)


def execute_many(session: Session, sql: str, rows: Sequence[Sequence[object]]) -> int | None:
    """Insert ``rows`` with ``sql`` in one go; the row count, or None if it does not apply."""
    txn = session.txn
    if txn is None or txn.failed or len(rows) < 2:
        return None
    stmt = session.prepare(sql)
    ast = stmt.ast
    if stmt.kind != "insert" or not isinstance(ast, exp.Insert):
        return None
    if ast.args.get("returning") is not None or ast.args.get("conflict") is not None:
        return None
    values = ast.expression
    if not isinstance(values, exp.Values) or len(values.expressions) != 1:
        return None
    items = values.expressions[0].expressions
    if not all(isinstance(v, exp.Parameter) for v in items):
        return None
    positions = [int(v.this.this) - 1 for v in items]
    width = len(rows[0])
    if any(p >= width for p in positions) or any(len(r) != width for r in rows):
        return None
    mark = txn.mark()
    try:
        table, _ = _target(session, ast.this)
        columns = _insert_columns(ast, table)
        if len(positions) != len(columns):
            return None
        arrays = []
        for position, col in zip(positions, columns, strict=True):
            arr = _column([r[position] for r in rows], col.type)
            if arr is None:
                return None
            arrays.append(arr)
        session.lock_table(table)
        loader = Loader(session, table, columns, CopyOptions(format="parquet"), set(), set())
        loader.load(pa.Table.from_arrays(arrays, names=[f"s{i}" for i in range(len(arrays))]))
        loader.finish()
    except BaseException as exc:
        txn.rollback_to(mark)
        txn.failed = True
        raise user_error(exc) from exc
    return loader.count


def _column(values: list[object], t: SqlType) -> pa.Array | None:
    """Parameter values of one column as Arrow, or None when they need the row path."""
    is_vector = t.name == "vector" and not t.is_array
    cleaned: list[object] = []
    for v in values:
        if isinstance(v, uuid.UUID):
            v = str(v)
        elif isinstance(v, np.ndarray | list | tuple):
            if not is_vector:
                return None
        elif isinstance(v, np.generic):
            v = v.item()
        elif v is not None and not isinstance(v, _SCALARS):
            return None
        cleaned.append(v)
    if is_vector and any(isinstance(v, np.ndarray | list | tuple) for v in cleaned):
        if not all(v is None or isinstance(v, np.ndarray | list | tuple) for v in cleaned):
            return None
        try:
            return pa.array(
                [None if v is None else np.asarray(v, dtype=np.float64) for v in cleaned],
                pa.list_(pa.float64()),
            )
        except (pa.ArrowInvalid, pa.ArrowTypeError, ValueError, TypeError):
            return None
    # one Python type per column, so the bulk cast is the cast each row would get
    if len({type(v) for v in cleaned if v is not None}) > 1:
        return None
    try:
        return pa.array(cleaned)
    except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError):
        return None
