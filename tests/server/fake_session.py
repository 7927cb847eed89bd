"""A hard-coded Session for protocol tests: a few statements with known results.

It follows the engine's Session contract (prepare / execute_prepared /
execute_script / transaction_status / cancel), so the wire logic can be
tested without the SQL engine.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import pyarrow as pa

from vecgres import types as T
from vecgres.errors import DivisionByZero, InFailedSqlTransaction, QueryCanceled, SyntaxError_
from vecgres.result import ColumnInfo, CopyRequest, Notice, Result
from vecgres.types import SqlType


@dataclass
class FakePrepared:
    sql: str
    param_types: list[SqlType]
    columns: list[ColumnInfo] | None


class FakeDatabase:
    def __init__(self) -> None:
        self.copied: list[bytes] = []

    def session(self, user: str = "postgres", database: str = "postgres") -> FakeSession:
        return FakeSession(self)

    def close(self) -> None:
        pass


def _rows(n: int) -> Iterator[pa.RecordBatch]:
    step = 1000
    for start in range(0, n, step):
        yield pa.record_batch([pa.array(range(start, min(n, start + step)), pa.int32())], ["i"])


class FakeSession:
    def __init__(self, db: FakeDatabase) -> None:
        self.db = db
        self.status = "I"
        self._cancel = threading.Event()
        self.closed = False
        self.sql_prepared: dict[str, object] = {}

    @property
    def transaction_status(self) -> str:
        return self.status

    def cancel(self) -> None:
        self._cancel.set()

    def close(self) -> None:
        self.closed = True

    def split(self, sql: str) -> list[str]:
        return [s.strip() for s in sql.split(";") if s.strip()]

    def execute_script(self, sql: str) -> Iterator[Result]:
        for text in self.split(sql):
            yield self.execute(text)

    def execute(self, sql: str, params: Sequence[object] | None = None) -> Result:
        return self.execute_prepared(self.prepare(sql), params or ())

    def prepare(self, sql: str, param_types: Sequence[SqlType | None] = ()) -> FakePrepared:
        low = sql.lower().strip()
        if ";" in low.rstrip(";"):
            raise SyntaxError_("cannot insert multiple commands into a prepared statement")
        if low.startswith("select $1::int8, $2"):
            return FakePrepared(
                sql, [T.INT8, T.TEXT], [ColumnInfo("int8", T.INT8), ColumnInfo("text", T.TEXT)]
            )
        if low.startswith("select $1"):
            t = param_types[0] if param_types and param_types[0] else T.TEXT
            return FakePrepared(sql, [t], [ColumnInfo("x", t)])
        if low.startswith("select 1/0"):
            return FakePrepared(sql, [], [ColumnInfo("?column?", T.INT4)])
        if low.startswith("select generate_series") or low.startswith("select many"):
            return FakePrepared(sql, [], [ColumnInfo("i", T.INT4)])
        if low.startswith("select"):
            return FakePrepared(sql, [], [ColumnInfo("?column?", T.INT4)])
        if low.startswith("copy"):
            return FakePrepared(sql, [], None)
        if low in (
            "begin",
            "commit",
            "rollback",
            "create table t(a int)",
            "set application_name = 'x'",
            "notice",
        ):
            return FakePrepared(sql, [], None)
        if low.startswith("sleep") or low.startswith("set "):
            return FakePrepared(sql, [], None)
        if low.startswith("boom"):
            return FakePrepared(sql, [], None)
        raise SyntaxError_(f'syntax error at or near "{sql.split()[0]}"', position=1)

    def execute_prepared(self, stmt: FakePrepared, params: Sequence[object]) -> Result:
        low = stmt.sql.lower().strip()
        self._cancel.clear()
        if self.status == "E" and low not in ("rollback", "commit"):
            raise InFailedSqlTransaction(
                "current transaction is aborted, commands ignored until end of transaction block"
            )
        try:
            return self._run(stmt, low, params)
        except Exception:
            if self.status == "T":
                self.status = "E"
            raise

    def _run(self, stmt: FakePrepared, low: str, params: Sequence[object]) -> Result:
        if low == "begin":
            self.status = "T"
            return Result(None, _tag="BEGIN")
        if low in ("commit", "rollback"):
            self.status = "I"
            return Result(
                None, _tag="ROLLBACK" if low == "rollback" or self.status == "E" else "COMMIT"
            )
        if low.startswith("select 1/0"):
            raise DivisionByZero("division by zero")
        if low.startswith("select $1"):
            assert stmt.columns is not None
            arrays = [
                pa.array([p], _arrow(c.type)) for p, c in zip(params, stmt.columns, strict=True)
            ]
            return _select(stmt.columns, [pa.record_batch(arrays, [c.name for c in stmt.columns])])
        if low.startswith("select generate_series"):
            n = int(low.split("(")[1].rstrip(")"))
            return _select(stmt.columns, list(_rows(n)))
        if low.startswith("select many"):
            return Result(stmt.columns, _batches=_rows(2_000_000), _tag=lambda n: f"SELECT {n}")
        if low.startswith("select"):
            value = int(low.split()[1])
            return _select(
                stmt.columns, [pa.record_batch([pa.array([value], pa.int32())], ["?column?"])]
            )
        if low == "notice":
            return Result(
                None, _tag="DO", notices=[Notice("NOTICE", "00000", "hello", hint="Be nice.")]
            )
        if low.startswith("set "):
            name, _, value = stmt.sql[4:].partition(" TO ")
            if " = " in stmt.sql:
                name, _, value = stmt.sql[4:].partition(" = ")
            return Result(None, _tag="SET", parameter_changes={name.strip(): value.strip("' ")})
        if low.startswith("sleep"):
            deadline = time.monotonic() + float(low.split()[1])
            while time.monotonic() < deadline:
                if self._cancel.is_set():
                    raise QueryCanceled("canceling statement due to user request")
                time.sleep(0.01)
            return Result(None, _tag="DO")
        if low.startswith("boom"):
            raise RuntimeError("a bug with a secret repr")
        if low.startswith("copy t from stdin"):
            received: list[bytes] = []

            def finish() -> str:
                self.db.copied.append(b"".join(received))
                rows = b"".join(received).count(b"\n")
                return f"COPY {rows}"

            return Result(
                None,
                copy=CopyRequest(
                    "in", "text", 2, write=received.append, finish=finish, fail=lambda m: None
                ),
            )
        if low.startswith("copy t to stdout"):
            return Result(
                None,
                copy=CopyRequest(
                    "out",
                    "text",
                    2,
                    chunks=lambda: iter([b"1\ta\n", b"2\tb\n"]),
                    tag=lambda: "COPY 2",
                ),
            )
        return Result(None, _tag=stmt.sql.upper())


def _arrow(t: SqlType) -> pa.DataType:
    from vecgres.codec.arrow import arrow_type

    return arrow_type(t)


def _select(columns: list[ColumnInfo] | None, batches: list[pa.RecordBatch]) -> Result:
    return Result(columns, _batches=iter(batches), _tag=lambda n: f"SELECT {n}")
