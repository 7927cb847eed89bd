"""PEP 249 (DB-API 2.0) over an embedded database: ``vecgres.connect(path)``.

Behaves as psycopg users expect: ``%s``/``%(name)s`` placeholders, an implicit
transaction that ``commit()`` ends (or ``autocommit = True``), values as
Python objects (vector, halfvec, sparsevec and bit as pgvector's text, e.g.
``'[1,2,3]'``, ``'{1:1}/3'``, ``'101'``: what psycopg returns without
``register_vector``), plus
``cursor.fetch_arrow()`` for a ``pyarrow.Table``.
"""

from __future__ import annotations

import json
import re
import shutil
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa

from vecgres import errors
from vecgres.config import Settings
from vecgres.engine import Database, Session
from vecgres.result import ColumnInfo, Result

apilevel = "2.0"
threadsafety = 1
paramstyle = "pyformat"

Error = errors.VecgresError
DatabaseError = errors.VecgresError


class InterfaceError(Exception):
    pass


_PLACEHOLDER = re.compile(r"%(?:\((\w+)\))?([sb])|%%|'(?:[^']|'')*'|\"(?:[^\"]|\"\")*\"")


def convert_placeholders(
    sql: str, params: Sequence[Any] | Mapping[str, Any] | None
) -> tuple[str, list[Any]]:
    """psycopg's placeholders to PostgreSQL's ``$n``, with the values in order."""
    if params is None:
        return sql, []
    out: list[Any] = []
    names: dict[str, int] = {}
    position = 0

    def repl(m: re.Match[str]) -> str:
        nonlocal position
        text = m.group(0)
        if text == "%%":
            return "%"
        if text[0] in "'\"":
            return text
        name = m.group(1)
        if name is not None:
            if not isinstance(params, Mapping):
                raise InterfaceError("named placeholder used with a sequence of parameters")
            if name not in names:
                out.append(params[name])
                names[name] = len(out)
            return f"${names[name]}"
        if isinstance(params, Mapping):
            raise InterfaceError("positional placeholder used with a mapping of parameters")
        position += 1
        if position > len(params):
            raise InterfaceError("not enough parameters for the query")
        out.append(params[position - 1])
        return f"${position}"

    converted = _PLACEHOLDER.sub(repl, sql)
    if not isinstance(params, Mapping) and position < len(params):
        raise InterfaceError("not all parameters were used in the query")
    return converted, out


def _python_values(arr: pa.Array | pa.ChunkedArray, col: ColumnInfo) -> list[Any]:
    t = col.type
    values = arr.to_pylist()
    if t.name in ("vector", "halfvec"):  # halfvec: FLOAT[n] holding float16-exact values
        depth, inner = -1, arr.type  # list levels above each vector's own
        while pa.types.is_list(inner) or pa.types.is_fixed_size_list(inner):
            depth, inner = depth + 1, inner.value_type
        return [_vector_text(value, depth) for value in values]
    if t.name == "record" and not t.is_array and pa.types.is_struct(arr.type):
        # a record comes back as its text, as psycopg gives a table's row type
        from vecgres.codec.text import encode_text_column

        chunks = arr.chunks if isinstance(arr, pa.ChunkedArray) else [arr]
        cells = [c for chunk in chunks for c in encode_text_column(chunk, t)]
        return [None if c is None else c.decode() for c in cells]
    if t.name in ("json", "jsonb") and not t.is_array:
        return [None if v is None else json.loads(v) for v in values]
    if t.name == "numeric" and not t.is_array and t.typmod < 0:
        return [None if v is None else _normalize(v) for v in values]
    if t.name == "uuid" and not t.is_array:
        import uuid

        return [None if v is None else uuid.UUID(str(v)) for v in values]
    if t.name == "interval" and not t.is_array:
        return [None if v is None else _interval(v) for v in values]
    return list(values)


def _vector_text(value: Any, depth: int) -> Any:
    """pgvector's text of a vector/halfvec value, or of each one in a ``depth``-deep array."""
    if value is None:
        return None
    if depth:
        return [_vector_text(v, depth - 1) for v in value]
    import numpy as np

    from vecgres.vector.text import format_vector

    return format_vector(np.asarray(value, np.float32))


def _normalize(value: Any) -> Any:
    if isinstance(value, str):  # numeric text with PostgreSQL's scale (division, avg)
        return Decimal(value)
    if isinstance(value, Decimal):
        if value == value.to_integral_value() and abs(value) < Decimal(10) ** 28:
            return value.quantize(Decimal(1))
        return value.normalize()
    return value


def _interval(v: Any) -> Any:
    import datetime as dt

    months, days, nanos = v.months, v.days, v.nanoseconds
    return dt.timedelta(days=days + months * 30, microseconds=nanos // 1000)


class Cursor:
    arraysize = 1

    def __init__(self, connection: Connection) -> None:
        self.connection = connection
        self.description: list[tuple[Any, ...]] | None = None
        self.rowcount = -1
        self.statusmessage: str | None = None
        self._result: Result | None = None
        self._columns: list[ColumnInfo] | None = None
        self._rows: Iterator[tuple[Any, ...]] | None = None
        self._batches: Iterator[pa.RecordBatch] | None = None
        self.closed = False

    # --- execution ---------------------------------------------------------------
    def execute(
        self, query: str, params: Sequence[Any] | Mapping[str, Any] | None = None
    ) -> Cursor:
        self._check()
        sql, values = convert_placeholders(query, params)
        session = self.connection._session_for_statement()
        results = (
            [session.execute(sql, values)]
            if values or params is not None
            else list(session.execute_script(sql))
        )
        self._take(results[-1] if results else None)
        return self

    def executemany(
        self, query: str, seq_of_params: Sequence[Sequence[Any] | Mapping[str, Any]]
    ) -> Cursor:
        self._check()
        total = 0
        session = self.connection._session_for_statement()
        converted = [convert_placeholders(query, params) for params in seq_of_params]
        if converted and all(sql == converted[0][0] for sql, _ in converted):
            from vecgres.sql.insert_many import execute_many

            # a plain INSERT ... VALUES inside a transaction loads all rows at once
            count = execute_many(session, converted[0][0], [values for _, values in converted])
            if count is not None:
                self.description = None
                self.rowcount = count
                return self
        prepared = None
        for sql, values in converted:
            if prepared is None or prepared.sql != sql:
                prepared = session.prepare(sql)
            result = session.execute_prepared(prepared, values)
            for _ in result.batches():
                pass
            tag = result.command_tag.split()
            if tag and tag[-1].isdigit():
                total += int(tag[-1])
        self.description = None
        self.rowcount = total
        return self

    def _take(self, result: Result | None) -> None:
        if result is not None and result.copy is not None:
            # STDIN/STDOUT belong to a wire client; end the COPY's statement cleanly
            if result.copy.fail is not None:
                result.copy.fail("COPY from stdin is not available in the embedded API")
            raise errors.FeatureNotSupported(
                "COPY FROM STDIN and COPY TO STDOUT need a client connection; "
                "use COPY with a file name in the embedded API"
            )
        self._result = result
        self._columns = result.columns if result is not None else None
        if result is None or result.columns is None:
            self.description = None
            self._batches = None
            if result is not None:
                for _ in result.batches():
                    pass
                self.statusmessage = result.command_tag
                tag = result.command_tag.split()
                self.rowcount = int(tag[-1]) if tag and tag[-1].isdigit() else -1
            return
        self.description = [
            (c.name, c.type.oid, None, None, None, None, None) for c in result.columns
        ]
        # rows are read eagerly so the session is free for the next statement
        batches = list(result.batches())
        self.statusmessage = result.command_tag
        self.rowcount = sum(b.num_rows for b in batches)
        self._batches = iter(batches)
        self._rows = None
        self._arrow_batches = batches

    def _row_iter(self) -> Iterator[tuple[Any, ...]]:
        assert self._columns is not None
        for batch in self._batches or iter(()):
            cols = [_python_values(batch.column(i), c) for i, c in enumerate(self._columns)]
            yield from zip(*cols, strict=True) if cols else ()

    # --- fetching ------------------------------------------------------------------
    def _rows_iter(self) -> Iterator[tuple[Any, ...]]:
        if self.description is None:
            raise InterfaceError("the last operation didn't produce a result")
        if self._rows is None:
            self._rows = self._row_iter()
        return self._rows

    def fetchone(self) -> tuple[Any, ...] | None:
        return next(self._rows_iter(), None)

    def fetchmany(self, size: int | None = None) -> list[tuple[Any, ...]]:
        size = size or self.arraysize
        rows = self._rows_iter()
        out = []
        for _ in range(size):
            row = next(rows, None)
            if row is None:
                break
            out.append(row)
        return out

    def fetchall(self) -> list[tuple[Any, ...]]:
        return list(self._rows_iter())

    def fetch_arrow(self) -> pa.Table:
        """The rest of the result as a ``pyarrow.Table`` (vectors as fixed-size lists)."""
        if self.description is None or self._columns is None:
            raise InterfaceError("the last operation didn't produce a result")
        batches = list(self._batches or iter(()))
        names = [c.name for c in self._columns]
        if not batches:
            return pa.table({n: pa.array([]) for n in names})
        return pa.Table.from_batches(batches).rename_columns(names)

    def __iter__(self) -> Iterator[tuple[Any, ...]]:
        return self._rows_iter()

    def setinputsizes(self, sizes: Any) -> None:
        pass

    def setoutputsize(self, size: Any, column: Any = None) -> None:
        pass

    def close(self) -> None:
        self.closed = True

    def _check(self) -> None:
        if self.closed:
            raise InterfaceError("the cursor is closed")
        self.connection._check()

    def __enter__(self) -> Cursor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class Connection:
    """A DB-API connection to an embedded database (one owner per data directory)."""

    def __init__(self, db: Database) -> None:
        self._db = db
        self._session: Session = db.session()
        self.autocommit = False
        self.closed = False
        self._scratch: str | None = None  # a ":memory:" database's directory

    def _check(self) -> None:
        if self.closed:
            raise InterfaceError("the connection is closed")

    def _session_for_statement(self) -> Session:
        if not self.autocommit and self._session.txn is None:
            for _ in self._session.execute_script("BEGIN"):
                pass
        return self._session

    def cursor(self) -> Cursor:
        self._check()
        return Cursor(self)

    def execute(
        self, query: str, params: Sequence[Any] | Mapping[str, Any] | None = None
    ) -> Cursor:
        return self.cursor().execute(query, params)

    def commit(self) -> None:
        self._check()
        if self._session.txn is not None:
            failed = self._session.txn.failed
            for _ in self._session.execute_script("COMMIT"):
                pass
            if failed:
                raise errors.InFailedSqlTransaction("the transaction was aborted and rolled back")

    def rollback(self) -> None:
        self._check()
        if self._session.txn is not None:
            for _ in self._session.execute_script("ROLLBACK"):
                pass

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            try:
                self._session.close()
            finally:
                self._db.close()
                if self._scratch is not None:
                    shutil.rmtree(self._scratch, ignore_errors=True)

    def __enter__(self) -> Connection:
        return self

    def __exit__(self, exc_type: object, *rest: object) -> None:
        # like psycopg: commit on success, roll back on error, then close
        try:
            if exc_type is None:
                self.commit()
            else:
                self.rollback()
        finally:
            self.close()


MEMORY = ":memory:"


def connect(path: str | Path = "vecgres-data", **settings: Any) -> Connection:
    """``":memory:"`` (as sqlite3 and DuckDB spell it) is a private database in a
    temporary directory that is removed when the connection closes."""
    scratch: str | None = None
    if str(path) == MEMORY:
        scratch = tempfile.mkdtemp(prefix="vecgres-memory-")
        path = scratch
    try:
        db = Database.open(path, Settings(**settings) if settings else None)
    except BaseException:
        if scratch is not None:
            shutil.rmtree(scratch, ignore_errors=True)
        raise
    con = Connection(db)
    con._scratch = scratch
    return con
