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


# A cursor declared with neither SCROLL nor NO SCROLL: PostgreSQL 15 lets it go backward
# when its plan can scan backward. FETCH 2 then FETCH PRIOR on curt (ids 1..10): the row
# PostgreSQL returned, or None for 55000 "cursor can only scan forward".
IMPLICIT_SCROLL = [
    ("select * from curt", (1, "n1")),
    ("select * from curt order by id limit 5", (1, "n1")),
    ("select * from curt limit 5", (1, "n1")),
    ("select * from curt where id > 3", (4, "n4")),
    ("select id, name from curt order by name desc", (9, "n9")),
    ("select * from (select * from curt where id < 5) s", (1, "n1")),
    ("with w as (select * from curt) select * from w", (1, "n1")),
    ("select id, name from curt union all select id, name from curt", (1, "n1")),
    ("select id, count(*) from curt group by id", None),
    ("select id, count(*) from curt group by id order by id", None),
    ("select count(*), 'x' from curt", None),
    ("select distinct id, name from curt", None),
    ("select distinct id, name from curt order by id", None),
    ("select * from curt a join curt b using (id)", None),
    ("select * from curt a join curt b using (id) order by a.id", None),
    ("select id, name from curt union select id, name from curt", None),
    ("select id, 'w' || row_number() over () from curt", None),
    ("select * from curt where id in (select id from curt where id < 4)", None),
    ("select 1, 'one'", None),
]


def _curt(conn: psycopg.Connection) -> None:
    conn.execute("create table curt (id int primary key, name text)")
    conn.execute("insert into curt select g, 'n' || g from generate_series(1, 10) g")
    conn.commit()


def test_cursor_without_scroll_goes_backward_where_postgres_does(engine_server):
    with psycopg.connect(engine_server.dsn()) as conn:
        _curt(conn)
        for query, prior in IMPLICIT_SCROLL:
            conn.execute(f"declare c cursor for {query}")
            conn.execute("fetch 2 from c")
            if prior is None:
                with pytest.raises(psycopg.errors.ObjectNotInPrerequisiteState) as err:
                    conn.execute("fetch prior from c")
                assert err.value.diag.message_primary == "cursor can only scan forward", query
                assert err.value.diag.message_hint == (
                    "Declare it with SCROLL option to enable backward scan."
                )
            else:
                got = conn.execute("fetch prior from c").fetchall()
                assert [tuple(r) for r in got] == [prior], query
            conn.rollback()


# A NO SCROLL cursor over ids 1..6: each FETCH/MOVE sequence's results as PostgreSQL 15
# gave them (DoPortalRunFetch: forward steps are allowed, any backward step is 55000).
FORWARD_ONLY = [
    (["fetch absolute 1 from c"], [[(1, "n1")]], False),
    (["fetch first from c"], [[(1, "n1")]], False),
    (["fetch absolute 4 from c", "fetch absolute 6 from c"], [[(4, "n4")], [(6, "n6")]], False),
    (["fetch 2 from c", "fetch absolute 5 from c"], [[(1, "n1"), (2, "n2")], [(5, "n5")]], False),
    (["fetch 2 from c", "fetch absolute 3 from c"], [[(1, "n1"), (2, "n2")], [(3, "n3")]], False),
    (["fetch 2 from c", "fetch relative 0 from c"], [[(1, "n1"), (2, "n2")]], True),
    (
        ["fetch all from c", "fetch relative 0 from c"],
        [[(i, f"n{i}") for i in range(1, 7)], []],
        False,
    ),
    (["fetch 2 from c", "move 0 in c"], [[(1, "n1"), (2, "n2")], "MOVE 1"], False),
    (["move backward all in c"], ["MOVE 0"], False),
    (["fetch 1 from c", "move backward all in c"], [[(1, "n1")]], True),
    (["fetch forward 0 from c"], [[]], False),
    (["fetch 0 from c"], [[]], False),
    (["fetch backward 0 from c"], [], True),
    (["fetch absolute 0 from c"], [[]], False),
    (["fetch 1 from c", "fetch absolute 0 from c"], [[(1, "n1")]], True),
    (
        ["fetch 3 from c", "fetch relative 2 from c"],
        [[(1, "n1"), (2, "n2"), (3, "n3")], [(5, "n5")]],
        False,
    ),
    (["fetch forward -1 from c"], [], True),
    (["fetch -1 from c"], [], True),
    (["fetch all from c", "fetch absolute 3 from c"], [[(i, f"n{i}") for i in range(1, 7)]], True),
    (["fetch last from c"], [], True),
]


@pytest.mark.parametrize(("steps", "results", "fails"), FORWARD_ONLY)
def test_no_scroll_cursor_fetches_like_postgres(engine_server, steps, results, fails):
    with psycopg.connect(engine_server.dsn()) as conn:
        _curt(conn)
        conn.execute("declare c no scroll cursor for select * from curt where id < 7 order by id")
        got: list[object] = []
        failed: str | None = None
        try:
            for step in steps:
                cur = conn.execute(step)
                got.append(
                    [tuple(r) for r in cur.fetchall()] if cur.description else cur.statusmessage
                )
        except psycopg.errors.ObjectNotInPrerequisiteState as exc:
            failed = exc.diag.message_primary
        assert (got, failed) == (results, "cursor can only scan forward" if fails else None)


def test_cursor_without_scroll_keeps_bounded_rows(engine_server, monkeypatch):
    """Past its byte budget of kept rows such a cursor goes on forward-only, losing no row."""
    import vecgres.cursors

    monkeypatch.setattr(vecgres.cursors, "IMPLICIT_KEEP_BYTES", 1)
    with psycopg.connect(engine_server.dsn()) as conn:
        _curt(conn)
        conn.execute("declare c cursor for select * from curt")
        assert conn.execute("fetch 2 from c").fetchall() == [(1, "n1"), (2, "n2")]
        assert conn.execute("fetch 2 from c").fetchall() == [(3, "n3"), (4, "n4")]
        with pytest.raises(psycopg.errors.ObjectNotInPrerequisiteState):
            conn.execute("fetch prior from c")
        conn.rollback()
        conn.execute("declare c cursor for select * from curt")
        assert conn.execute("move 3 in c").statusmessage == "MOVE 3"
        rest = conn.execute("fetch all from c").fetchall()
        assert rest == [(i, f"n{i}") for i in range(4, 11)]


def test_cursor_rows_spill_to_files(engine_server, monkeypatch):
    """A SCROLL cursor's kept rows and a held cursor's rows go to temporary files past
    the spool's memory budget (PostgreSQL's tuplestore past work_mem); every FETCH
    direction still reads the right rows."""
    import vecgres.spool

    monkeypatch.setattr(vecgres.spool, "SPOOL_MEMORY_BYTES", 1)
    spills = []
    real = vecgres.spool.Spool._spill

    def counted(self):
        spills.append(self.num_rows)
        real(self)

    monkeypatch.setattr(vecgres.spool.Spool, "_spill", counted)
    rows = "select i, 'v' || i as s from generate_series(1, 3000) as g(i) order by i"
    with psycopg.connect(engine_server.dsn()) as conn:
        conn.execute(f"declare c scroll cursor for {rows}")
        assert conn.execute("fetch 1000 from c").fetchall()[-1] == (1000, "v1000")
        assert conn.execute("fetch last from c").fetchall() == [(3000, "v3000")]
        assert conn.execute("fetch absolute 1500 from c").fetchall() == [(1500, "v1500")]
        back = conn.execute("fetch backward 3 from c").fetchall()
        assert back == [(1499, "v1499"), (1498, "v1498"), (1497, "v1497")]
        assert conn.execute("fetch first from c").fetchall() == [(1, "v1")]
        assert spills, "the kept rows never left memory"
        conn.commit()
        spills.clear()
        conn.execute(f"declare h cursor with hold for {rows}")
        conn.commit()  # a held cursor's rows are read out at commit
        assert spills, "the held cursor's rows never left memory"
        got = conn.execute("fetch all from h").fetchall()
        assert got == [(i, f"v{i}") for i in range(1, 3001)]
        conn.execute("close h")
