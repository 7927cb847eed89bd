"""SCROLL and BINARY cursors (vecgres.cursors) against PostgreSQL 15's answers.

The expected rows and command tags were recorded from the reference PostgreSQL 15
(tests/pgref) running the same statements on the same table.
"""

from __future__ import annotations

import psycopg
import pytest

# statement, command tag, rows (None: no result set, as MOVE)
SCROLL_SEQUENCE = [
    ("FETCH NEXT FROM c", "FETCH 1", [(1, "r1")]),
    ("FETCH PRIOR FROM c", "FETCH 0", []),
    ("FETCH PRIOR FROM c", "FETCH 0", []),
    ("FETCH 3 FROM c", "FETCH 3", [(1, "r1"), (2, "r2"), (3, "r3")]),
    ("FETCH BACKWARD 2 FROM c", "FETCH 2", [(2, "r2"), (1, "r1")]),
    ("FETCH LAST FROM c", "FETCH 1", [(6, "r6")]),
    ("FETCH NEXT FROM c", "FETCH 0", []),
    ("FETCH PRIOR FROM c", "FETCH 1", [(6, "r6")]),
    ("FETCH FIRST FROM c", "FETCH 1", [(1, "r1")]),
    ("FETCH ABSOLUTE 4 FROM c", "FETCH 1", [(4, "r4")]),
    ("FETCH ABSOLUTE -2 FROM c", "FETCH 1", [(5, "r5")]),
    ("FETCH ABSOLUTE 0 FROM c", "FETCH 0", []),
    ("FETCH ABSOLUTE 99 FROM c", "FETCH 0", []),
    ("FETCH RELATIVE -1 FROM c", "FETCH 1", [(6, "r6")]),
    ("FETCH RELATIVE 0 FROM c", "FETCH 1", [(6, "r6")]),
    ("FETCH RELATIVE -3 FROM c", "FETCH 1", [(3, "r3")]),
    ("FETCH RELATIVE -9 FROM c", "FETCH 0", []),
    ("FETCH RELATIVE 2 FROM c", "FETCH 1", [(2, "r2")]),
    ("FETCH FORWARD ALL FROM c", "FETCH 4", [(3, "r3"), (4, "r4"), (5, "r5"), (6, "r6")]),
    (
        "FETCH BACKWARD ALL FROM c",
        "FETCH 6",
        [(6, "r6"), (5, "r5"), (4, "r4"), (3, "r3"), (2, "r2"), (1, "r1")],
    ),
    ("MOVE FORWARD 3 IN c", "MOVE 3", None),
    ("FETCH RELATIVE 0 FROM c", "FETCH 1", [(3, "r3")]),
    ("MOVE ABSOLUTE 2 IN c", "MOVE 1", None),
    ("MOVE ABSOLUTE 9 IN c", "MOVE 0", None),
    ("MOVE BACKWARD ALL IN c", "MOVE 6", None),
    ("FETCH -1 FROM c", "FETCH 0", []),
    ("FETCH 2 FROM c", "FETCH 2", [(1, "r1"), (2, "r2")]),
    ("FETCH -2 FROM c", "FETCH 1", [(1, "r1")]),
    ("FETCH FORWARD 0 FROM c", "FETCH 0", []),
    (
        "FETCH ALL FROM c",
        "FETCH 6",
        [(1, "r1"), (2, "r2"), (3, "r3"), (4, "r4"), (5, "r5"), (6, "r6")],
    ),
    ("FETCH FORWARD 1 FROM c", "FETCH 0", []),
    ("FETCH BACKWARD 1 FROM c", "FETCH 1", [(6, "r6")]),
    ("FETCH BACKWARD 0 FROM c", "FETCH 1", [(6, "r6")]),
]


def _table(conn: psycopg.Connection) -> None:
    conn.execute("create table sc (i int, t text)")
    conn.execute("insert into sc select g, 'r' || g from generate_series(1, 6) g")


def test_scroll_cursor_moves_like_postgres(engine_server):
    with psycopg.connect(engine_server.dsn()) as conn:
        _table(conn)
        cur = conn.cursor()
        cur.execute("DECLARE c SCROLL CURSOR FOR SELECT i, t FROM sc ORDER BY i")
        for sql, tag, rows in SCROLL_SEQUENCE:
            cur.execute(sql)
            assert cur.statusmessage == tag, sql
            assert (cur.fetchall() if cur.description else None) == rows, sql


def test_binary_cursor_sends_binary_rows(engine_server):
    with psycopg.connect(engine_server.dsn()) as conn:
        _table(conn)
        cur = conn.cursor()
        cur.execute("DECLARE b BINARY CURSOR FOR SELECT i, t, 1.5::float8 FROM sc ORDER BY i")
        cur.execute("FETCH 2 FROM b")
        assert cur.pgresult is not None
        assert [cur.pgresult.fformat(i) for i in range(3)] == [1, 1, 1]
        assert cur.fetchall() == [(1, "r1", 1.5), (2, "r2", 1.5)]
        res = conn.pgconn.exec_(b"FETCH 1 FROM b")
        assert [res.get_value(0, i) for i in range(3)] == [
            b"\x00\x00\x00\x03",
            b"r3",
            b"?\xf8\x00\x00\x00\x00\x00\x00",
        ]
        # the extended protocol's Bind formats win over BINARY, as in PostgreSQL
        cur.execute("FETCH 1 FROM b", prepare=True)
        assert cur.fetchall() == [(4, "r4", 1.5)]


def test_cursor_options_errors_match_postgres(engine_server):
    with psycopg.connect(engine_server.dsn()) as conn:
        cur = conn.cursor()
        cur.execute("DECLARE n NO SCROLL CURSOR FOR SELECT 1")
        with pytest.raises(psycopg.errors.ObjectNotInPrerequisiteState, match="scan forward"):
            cur.execute("FETCH PRIOR FROM n")
        conn.rollback()
        with pytest.raises(psycopg.errors.InvalidCursorDefinition, match="both SCROLL and NO"):
            cur.execute("DECLARE x SCROLL NO SCROLL CURSOR FOR SELECT 1")
