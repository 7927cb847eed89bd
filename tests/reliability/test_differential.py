"""T8: differential SQL testing — random queries on the same data in vecgres and in DuckDB.

A seeded generator writes queries (filters, joins, GROUP BY, aggregates, ORDER BY,
LIMIT) over int/float/text columns with NULLs. Every query runs on vecgres
(``vecgres.connect()``) and on plain DuckDB holding the same rows; the answers
must be equal. Where PostgreSQL and DuckDB disagree (the default NULL order,
integer division and modulo of negatives) the queries go to the reference
PostgreSQL 15 instead (``tests/pgref/pg.sh start``), when it is running.

VECGRES_T8_QUERIES sets the number of queries per part (default 150),
VECGRES_T8_SEED the seed. Prints ``t8_differential: ...``.
"""

from __future__ import annotations

import math
import os
import random
import subprocess
import time
from collections.abc import Callable, Iterator, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pytest
from harness import figures

import vecgres

QUERIES = int(os.environ.get("VECGRES_T8_QUERIES", "150"))
SEED = int(os.environ.get("VECGRES_T8_SEED", "8"))
PGREF = Path(__file__).resolve().parents[1] / "pgref" / "pg.sh"

SCHEMA = [
    "CREATE TABLE a (id int, x int, f float8, s text)",
    "CREATE TABLE b (id int, y int, s text)",
]
INT_COLS = {"a": ["id", "x"], "b": ["id", "y"]}
FLOAT_COLS = {"a": ["f"], "b": []}
TEXT_COLS = {"a": ["s"], "b": ["s"]}
WORDS = ["a", "ab", "b", "ba", "c", "cab", ""]


def _rows(rng: random.Random) -> dict[str, list[tuple[Any, ...]]]:
    def maybe(value: Any) -> Any:
        return None if rng.random() < 0.15 else value

    a = [
        (
            maybe(rng.randint(0, 30)),
            maybe(rng.randint(-20, 20)),
            maybe(rng.randint(-40, 40) / 4),  # quarters: sums stay exact in binary floats
            maybe(rng.choice(WORDS)),
        )
        for _ in range(80)
    ]
    b = [
        (maybe(rng.randint(0, 30)), maybe(rng.randint(-5, 5)), maybe(rng.choice(WORDS)))
        for _ in range(50)
    ]
    return {"a": a, "b": b}


class Gen:
    """Random queries; ``pg_only`` adds what only PostgreSQL can judge."""

    def __init__(self, rng: random.Random, *, pg_only: bool = False) -> None:
        self.rng = rng
        self.pg_only = pg_only

    def const(self, kind: str) -> str:
        if kind == "int":
            return str(self.rng.randint(-10, 25))
        if kind == "float":
            return str(self.rng.randint(-20, 20) / 2)
        return "'" + self.rng.choice(WORDS) + "'"

    def column(self, tables: list[str]) -> tuple[str, str]:
        t = self.rng.choice(tables)
        kind = self.rng.choice(
            ["int", "int", "float", "text"] if FLOAT_COLS[t] else ["int", "text"]
        )
        pool = {"int": INT_COLS, "float": FLOAT_COLS, "text": TEXT_COLS}[kind][t]
        return f"{t}.{self.rng.choice(pool)}", kind

    def predicate(self, tables: list[str], depth: int = 0) -> str:
        r = self.rng.random()
        if depth < 2 and r < 0.25:
            op = self.rng.choice(["AND", "OR"])
            left = self.predicate(tables, depth + 1)
            right = self.predicate(tables, depth + 1)
            return f"({left} {op} {right})"
        if depth < 2 and r < 0.3:
            return f"NOT ({self.predicate(tables, depth + 1)})"
        col, kind = self.column(tables)
        r = self.rng.random()
        if r < 0.15:
            return f"{col} IS {self.rng.choice(['', 'NOT '])}NULL"
        if r < 0.25 and kind != "text":
            lo, hi = sorted([self.const(kind), self.const(kind)], key=float)
            return f"{col} BETWEEN {lo} AND {hi}"
        if r < 0.35:
            items = ", ".join(self.const(kind) for _ in range(self.rng.randint(1, 4)))
            return f"{col} IN ({items})"
        if r < 0.38 and depth < 2:
            return self.subquery(col, kind)
        if r < 0.42 and kind == "text":
            return f"{col} LIKE '{self.rng.choice(['a%', '%b', '%a%', 'c_b', '_'])}'"
        op = self.rng.choice(["=", "<>", "<", "<=", ">", ">="])
        return f"{col} {op} {self.const(kind)}"

    def subquery(self, col: str, kind: str) -> str:
        neg = self.rng.choice(["", "NOT "])
        other = self.rng.choice(["a", "b"])
        where = f"{other}.id > {self.rng.randint(0, 20)}"
        if kind == "int":
            inner = "y" if other == "b" else "x"
            return f"{col} {neg}IN (SELECT {other}.{inner} FROM {other} WHERE {where})"
        return f"{neg}EXISTS (SELECT 1 FROM {other} AS o WHERE o.s = {col})"

    def from_clause(self) -> tuple[str, list[str]]:
        r = self.rng.random()
        if r < 0.55:
            return "a", ["a"]
        if r < 0.65:
            return "b", ["b"]
        join = self.rng.choice(["JOIN", "LEFT JOIN"])
        on = self.rng.choice(["a.id = b.id", "a.x = b.y", "a.s = b.s"])
        return f"a {join} b ON {on}", ["a", "b"]

    def scalar(self, tables: list[str]) -> str:
        col, kind = self.column(tables)
        if kind == "int" and self.rng.random() < 0.3:
            if self.pg_only:
                return f"{col} {self.rng.choice(['/', '%'])} {self.rng.choice(['3', '-4', '7'])}"
            return f"{col} {self.rng.choice(['+', '-', '*'])} {self.rng.randint(-3, 5)}"
        r = self.rng.random()
        if kind == "text" and r < 0.3:
            return self.rng.choice(
                [f"upper({col})", f"{col} || 'z'", f"length({col})", f"coalesce({col}, '-')"]
            )
        if kind != "text" and r < 0.15:
            return f"coalesce({col}, {self.const(kind)})"
        if r < 0.22:
            return f"CASE WHEN {self.predicate(tables, 2)} THEN 1 ELSE 0 END"
        if kind == "int" and r < 0.28:
            return f"abs({col})"
        return col

    def query(self) -> str:
        source, tables = self.from_clause()
        where = f" WHERE {self.predicate(tables)}" if self.rng.random() < 0.7 else ""
        if self.rng.random() < 0.45:
            keys = [self.scalar(tables) for _ in range(self.rng.randint(1, 2))]
            aggs = []
            for _ in range(self.rng.randint(1, 3)):
                col, kind = self.column(tables)
                fn = self.rng.choice(
                    ["count(*)", "count", "min", "max", "count_distinct"]
                    + (["sum", "avg"] if kind != "text" else [])
                )
                if fn == "count_distinct":
                    aggs.append(f"count(DISTINCT {col})")
                else:
                    aggs.append(fn if fn == "count(*)" else f"{fn}({col})")
            having = ""
            if self.rng.random() < 0.25:
                having = f" HAVING count(*) > {self.rng.randint(0, 3)}"
            select = ", ".join(keys + aggs)
            group = ", ".join(str(i + 1) for i in range(len(keys)))
            sql = f"SELECT {select} FROM {source}{where} GROUP BY {group}{having}"
            width = len(keys) + len(aggs)
        else:
            cols = [self.scalar(tables) for _ in range(self.rng.randint(1, 3))]
            distinct = "DISTINCT " if self.rng.random() < 0.15 else ""
            sql = f"SELECT {distinct}{', '.join(cols)} FROM {source}{where}"
            width = len(cols)
        if self.rng.random() < 0.6:
            order = []
            for i in range(width):
                direction = self.rng.choice(["", " DESC"])
                nulls = "" if self.pg_only else self.rng.choice([" NULLS FIRST", " NULLS LAST"])
                order.append(f"{i + 1}{direction}{nulls}")
            sql += " ORDER BY " + ", ".join(order)
            if self.rng.random() < 0.3:
                sql += f" LIMIT {self.rng.randint(0, 10)}"
                if self.rng.random() < 0.3:
                    sql += f" OFFSET {self.rng.randint(0, 5)}"
        return sql


def _norm(value: Any) -> Any:
    if isinstance(value, Decimal):
        value = float(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        return round(value, 6) + 0.0
    return value


def _key(row: Sequence[Any]) -> tuple[Any, ...]:
    return tuple((v is None, "" if v is None else str(type(v)), v) for v in row)


def _same(sql: str, got: list[tuple[Any, ...]], want: list[tuple[Any, ...]]) -> bool:
    got_n = [tuple(_norm(v) for v in r) for r in got]
    want_n = [tuple(_norm(v) for v in r) for r in want]
    if " ORDER BY " not in sql:
        got_n.sort(key=_key)
        want_n.sort(key=_key)
    return got_n == want_n


def _run_all(
    gen: Gen, n: int, mine: Callable[[str], list[Any]], theirs: Callable[[str], list[Any]]
) -> tuple[int, list[str]]:
    bad: list[str] = []
    done = 0
    for _ in range(n):
        sql = gen.query()
        try:
            want = theirs(sql)
        except Exception:
            continue  # the oracle refuses it too (e.g. an ambiguous name): not a comparison
        try:
            got = mine(sql)
        except Exception as exc:
            bad.append(f"{sql}\n  vecgres error: {exc}")
            continue
        done += 1
        if not _same(sql, got, want):
            bad.append(f"{sql}\n  vecgres: {got[:8]}\n  oracle: {want[:8]}")
    return done, bad


@pytest.fixture
def loaded(tmp_path: Path) -> Iterator[tuple[Any, duckdb.DuckDBPyConnection, dict[str, Any]]]:
    rows = _rows(random.Random(SEED))
    conn = vecgres.connect(str(tmp_path / "db"), fsync=False)
    duck = duckdb.connect()
    cur = conn.cursor()
    for ddl in SCHEMA:
        cur.execute(ddl)
        duck.execute(ddl.replace("float8", "DOUBLE"))
    for table, data in rows.items():
        marks = ", ".join(["%s"] * len(data[0]))
        cur.executemany(f"INSERT INTO {table} VALUES ({marks})", data)
        duck.executemany(f"INSERT INTO {table} VALUES ({marks.replace('%s', '?')})", data)
    conn.commit()
    yield conn, duck, rows
    duck.close()
    conn.close()


def _pg_dsn() -> str | None:
    try:
        out = subprocess.run(
            [str(PGREF), "dsn"], capture_output=True, text=True, timeout=10, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    dsn = out.stdout.strip()
    return dsn if out.returncode == 0 and "port=" in dsn else None


def test_differential(loaded: tuple[Any, duckdb.DuckDBPyConnection, dict[str, Any]]) -> None:
    conn, duck, rows = loaded
    cur = conn.cursor()
    started = time.monotonic()

    def mine(sql: str) -> list[Any]:
        cur.execute(sql)
        return list(cur.fetchall())

    def with_duck(sql: str) -> list[Any]:
        return duck.execute(sql).fetchall()

    done, bad = _run_all(Gen(random.Random(SEED)), QUERIES, mine, with_duck)
    pg_done, pg_bad = 0, []
    dsn = _pg_dsn()
    if dsn is not None:
        import psycopg

        schema = f"t8_{os.getpid()}"
        with psycopg.connect(dsn, autocommit=True) as pg:
            pg.execute(f"CREATE SCHEMA {schema}")
            try:
                pg.execute(f"SET search_path TO {schema}")
                # the same byte order as vecgres and DuckDB, whatever the cluster's locale
                for ddl in SCHEMA:
                    pg.execute(ddl.replace("s text", 's text COLLATE "C"'))
                for table, data in rows.items():
                    marks = ", ".join(["%s"] * len(data[0]))
                    with pg.cursor() as pc:
                        pc.executemany(f"INSERT INTO {table} VALUES ({marks})", data)

                def with_pg(sql: str) -> list[Any]:
                    try:
                        return pg.execute(sql).fetchall()
                    except psycopg.Error:
                        pg.rollback()
                        raise

                pg_done, pg_bad = _run_all(
                    Gen(random.Random(SEED + 1), pg_only=True), QUERIES, mine, with_pg
                )
            finally:
                pg.execute(f"DROP SCHEMA {schema} CASCADE")
    figures(
        "t8_differential",
        queries_vs_duckdb=done,
        mismatches_vs_duckdb=len(bad),
        queries_vs_postgres=pg_done if dsn else "skipped",
        mismatches_vs_postgres=len(pg_bad),
        seconds=round(time.monotonic() - started, 1),
    )
    assert done >= QUERIES // 2
    assert not bad, "\n".join(bad[:10])
    assert not pg_bad, "\n".join(pg_bad[:10])
