"""pgvector's types through subqueries, CTEs, views and set operations, as clients see them:
RowDescription's type OID and typmod, and the binary (pgvector send) values.

A real server on 127.0.0.1 (started and stopped here) with psycopg as the client,
plus the in-process DB-API's cursor.description.
"""

from __future__ import annotations

import struct
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import vecgres

sys.path.insert(0, str(Path(__file__).parents[2] / "server"))

from wireclient import RunningServer, serving

psycopg = pytest.importorskip("psycopg")

VECTOR, HALFVEC, SPARSEVEC, BIT = 16385, 16386, 16387, 1560

SETUP = (
    "CREATE TABLE items (id int, v vector(3), h halfvec(3), s sparsevec(5), b bit(4))",
    "INSERT INTO items VALUES (1, '[1,2.5,-3]', '[1.23456,0.1,-65504]', '{1:1.5,4:-2}/5', '1011')",
    "CREATE VIEW doubled AS SELECT id, v + v AS vv, h - h AS hh FROM items",
)

V_SEND = struct.pack(">hh3f", 3, 0, 1.0, 2.5, -3.0)
H_SEND = struct.pack(">hh", 3, 0) + np.array([1.23456, 0.1, -65504], dtype=">f2").tobytes()
S_SEND = struct.pack(">iiiiiff", 5, 2, 0, 0, 3, 1.5, -2.0)
B_SEND = struct.pack(">iB", 4, 0b10110000)

# (query, [(type oid, typmod, binary value)])
CASES: list[tuple[str, list[tuple[int, int, bytes]]]] = [
    (
        "SELECT v, h, s, b FROM (SELECT v, h, s, b FROM items) q",
        [(VECTOR, 3, V_SEND), (HALFVEC, 3, H_SEND), (SPARSEVEC, 5, S_SEND), (BIT, 4, B_SEND)],
    ),
    (
        "WITH c AS (SELECT * FROM items) SELECT v, h, s, b FROM c",
        [(VECTOR, 3, V_SEND), (HALFVEC, 3, H_SEND), (SPARSEVEC, 5, S_SEND), (BIT, 4, B_SEND)],
    ),
    (
        "SELECT x FROM (SELECT x FROM (SELECT h AS x FROM items) a) b",
        [(HALFVEC, 3, H_SEND)],
    ),
    # vector UNION halfvec is halfvec; the types differ, so no typmod
    (
        "SELECT x FROM (SELECT v AS x FROM items UNION ALL SELECT h FROM items) u "
        "ORDER BY x <-> '[0,0,0]' LIMIT 1",
        [(HALFVEC, -1, struct.pack(">hh", 3, 0) + np.array([1, 2.5, -3], ">f2").tobytes())],
    ),
    (
        "SELECT h FROM items UNION ALL SELECT h FROM items",
        [(HALFVEC, 3, H_SEND), (HALFVEC, 3, H_SEND)],
    ),
    (
        "SELECT s FROM items UNION SELECT v FROM items WHERE false",
        [(SPARSEVEC, -1, S_SEND)],
    ),
    (
        "SELECT x FROM (VALUES ('[1,2.5,-3]'::vector(3))) v(x)",
        [(VECTOR, 3, V_SEND)],
    ),
    (
        "SELECT (SELECT h FROM items i2 WHERE i2.id = i.id) FROM items i",
        [(HALFVEC, 3, H_SEND)],
    ),
    (
        "SELECT hh, vv FROM doubled",
        [
            (HALFVEC, -1, struct.pack(">hh", 3, 0) + np.zeros(3, ">f2").tobytes()),
            (VECTOR, -1, struct.pack(">hh3f", 3, 0, 2.0, 5.0, -6.0)),
        ],
    ),
]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    with serving(tmp_path_factory.mktemp("derived")) as srv:
        with psycopg.connect(srv.dsn(), autocommit=True) as conn:
            for sql in SETUP:
                conn.execute(sql)
        yield srv


@pytest.mark.parametrize(("sql", "expected"), CASES)
def test_row_description_and_binary_values(
    server: RunningServer, sql: str, expected: list[tuple[int, int, bytes]]
) -> None:
    with psycopg.connect(server.dsn(), autocommit=True) as conn:
        for oid in (VECTOR, HALFVEC, SPARSEVEC, BIT):
            conn.adapters.register_loader(oid, psycopg.adapt.Loader)  # raw bytes
        cur = conn.cursor(binary=True)
        cur.execute(sql)
        rows = cur.fetchall()
        result = cur.pgresult
        assert result is not None
        described = [(result.ftype(i), result.fmod(i)) for i in range(result.nfields)]
        if len(expected) == len(described):
            assert described == [(oid, mod) for oid, mod, _ in expected]
            assert [bytes(v) for v in rows[0]] == [value for _, _, value in expected]
        else:  # one column, one expected value per row
            assert described == [expected[0][:2]]
            assert [bytes(r[0]) for r in rows] == [value for _, _, value in expected]


def test_text_values_through_union(server: RunningServer) -> None:
    with psycopg.connect(server.dsn(), autocommit=True) as conn:
        rows = conn.execute(
            "SELECT x, pg_typeof(x)::text FROM "
            "(SELECT 1 AS k, v AS x FROM items UNION ALL SELECT 2, s FROM items) u ORDER BY k"
        ).fetchall()
        assert rows == [("{1:1,2:2.5,3:-3}/3", "sparsevec"), ("{1:1.5,4:-2}/5", "sparsevec")]


def test_dbapi_description(tmp_path: Path) -> None:
    conn: Any = vecgres.connect(tmp_path / "db")
    conn.autocommit = True
    cur = conn.cursor()
    for sql in SETUP:
        cur.execute(sql)
    cur.execute(
        "WITH c AS (SELECT v, h, s, b FROM items) "
        "SELECT x, h, s, b FROM (SELECT v + v AS x, h, s, b FROM c) q"
    )
    assert [d[1] for d in cur.description] == [VECTOR, HALFVEC, SPARSEVEC, BIT]
    assert cur.fetchall()[0][0] == "[2,5,-6]"
    cur.execute("SELECT v FROM items UNION ALL SELECT h FROM items")
    assert [d[1] for d in cur.description] == [HALFVEC]
    conn.close()


def test_row_description_column_origins(server: RunningServer) -> None:
    """PostgreSQL names the table column a subquery or CTE passes through, a view's own
    column, and nothing for a set operation's or an expression's output."""
    with psycopg.connect(server.dsn(), autocommit=True) as conn:
        items, view = conn.execute(
            "SELECT 'items'::regclass::oid, 'doubled'::regclass::oid"
        ).fetchone()
        cases = {
            "SELECT h, s FROM (SELECT h, s FROM items) q": [(items, 3), (items, 4)],
            "WITH c AS (SELECT * FROM items) SELECT b, v FROM c": [(items, 5), (items, 2)],
            "SELECT z FROM (SELECT x AS z FROM (SELECT h AS x FROM items) a) b": [(items, 3)],
            "SELECT hh, vv FROM doubled": [(view, 3), (view, 2)],
            "SELECT v FROM items UNION ALL SELECT v FROM items": [(0, 0)],
            "SELECT x FROM (SELECT v + v AS x FROM items) q": [(0, 0)],
        }
        for sql, expected in cases.items():
            result = conn.execute(sql).pgresult
            assert result is not None
            origins = [(result.ftable(i), result.ftablecol(i)) for i in range(result.nfields)]
            assert origins == expected, sql


def test_untyped_parameter_takes_the_union_type(server: RunningServer) -> None:
    with psycopg.connect(server.dsn(), autocommit=True) as conn:
        cur = conn.execute(
            "SELECT k, x, pg_typeof(x)::text FROM "
            "(SELECT 1 AS k, h AS x FROM items UNION ALL SELECT 2, %s) u ORDER BY k",
            ["[0.1,2,3]"],
        )
        assert cur.description is not None
        assert cur.description[1].type_code == HALFVEC
        assert cur.fetchall() == [
            (1, "[1.234375,0.099975586,-65504]", "halfvec"),
            (2, "[0.099975586,2,3]", "halfvec"),
        ]
