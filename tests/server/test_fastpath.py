"""Prepared queries answered without DuckDB (vecgres.sql.fastpath) give PostgreSQL's answers.

Each case runs a prepared statement several times through psycopg, so the
first run (DuckDB) and the later ones (constant rows kept, primary-key map)
are both checked, across writes that change what the lookup must find.
"""

from __future__ import annotations

import psycopg
import pytest


def _prepared(conn: psycopg.Connection, sql: str, params: list[object] | None = None) -> list:
    return conn.execute(sql, params, prepare=True).fetchall()


def test_constant_select_lists(engine_server):
    with psycopg.connect(engine_server.dsn(), autocommit=True) as conn:
        for _ in range(4):
            assert _prepared(conn, "select 1") == [(1,)]
            assert _prepared(conn, "select 1 + 2 * 3, -4, 'x', null::text, true") == [
                (7, -4, "x", None, True)
            ]
            assert _prepared(conn, "select 1.5::float4, 2.25::numeric(5,2)") == [
                (1.5, pytest.approx(2.25))
            ]
        with conn.cursor() as cur:
            cur.execute("select 1 as a", prepare=True)
            assert [d.name for d in cur.description] == ["a"]
            assert cur.statusmessage == "SELECT 1"


def test_constant_error_raises_every_run(engine_server):
    with psycopg.connect(engine_server.dsn(), autocommit=True) as conn:
        for _ in range(3):
            with pytest.raises(psycopg.errors.NumericValueOutOfRange, match="integer out of range"):
                conn.execute("select 2147483647 + 1", prepare=True)


def test_primary_key_lookup_follows_writes(engine_server):
    with psycopg.connect(engine_server.dsn(), autocommit=True) as conn:
        conn.execute("create extension if not exists vector")
        conn.execute("create table kv (id int primary key, name text, v vector(2))")
        conn.execute("insert into kv select g, 'n' || g, '[1,2]' from generate_series(1, 50) g")
        q = "select name, v::text, id from kv where id = %s"
        for _ in range(3):
            assert _prepared(conn, q, [7]) == [("n7", "[1,2]", 7)]
            assert _prepared(conn, q, [51]) == []
            assert _prepared(conn, q, [None]) == []
        conn.execute("update kv set name = 'seven', v = '[3,4.5]' where id = 7")
        assert _prepared(conn, q, [7]) == [("seven", "[3,4.5]", 7)]
        conn.execute("delete from kv where id = 7")
        assert _prepared(conn, q, [7]) == []
        conn.execute("insert into kv values (51, 'new', '[0,0]')")
        assert _prepared(conn, q, [51]) == [("new", "[0,0]", 51)]
        # a vector read as text by the client, straight from the key's row
        row = conn.execute("select v from kv where id = %s", [3], prepare=True).fetchone()
        assert row == ("[1,2]",)


def test_primary_key_lookup_in_transaction_sees_own_writes(engine_server):
    dsn = engine_server.dsn()
    with psycopg.connect(dsn, autocommit=True) as setup:
        setup.execute("create table t (k text primary key, n bigint)")
        setup.execute("insert into t values ('a', 1), ('b', 2)")
    with psycopg.connect(dsn) as conn, psycopg.connect(dsn, autocommit=True) as other:
        q = "select n from t where k = %s"
        assert _prepared(conn, q, ["a"]) == [(1,)]
        conn.execute("update t set n = 10 where k = 'a'")
        conn.execute("insert into t values ('c', 3)")
        assert _prepared(conn, q, ["a"]) == [(10,)]
        assert _prepared(conn, q, ["c"]) == [(3,)]
        # not committed: the other session still reads the committed rows
        assert _prepared(other, q, ["a"]) == [(1,)]
        assert _prepared(other, q, ["c"]) == []
        conn.commit()
        assert _prepared(other, q, ["a"]) == [(10,)]
        assert _prepared(other, q, ["c"]) == [(3,)]


def test_primary_key_lookup_parameter_spellings_match_postgres(engine_server):
    # expected values are PostgreSQL 15's (tests/pgref), text parameters of type unknown
    with psycopg.connect(engine_server.dsn(), autocommit=True) as conn:
        conn.execute("create table s (id smallint primary key, name text)")
        conn.execute("insert into s values (-3, 'minus'), (0, 'zero')")
        q = "select name from s where id = %s"
        cases = [("-3", [("minus",)]), (" 0 ", [("zero",)]), ("007", []), ("+0", [("zero",)])]
        for _ in range(2):
            for key, want in cases:
                assert _prepared(conn, q, [key]) == want, key
            assert _prepared(conn, q, [70000]) == []  # an int4 parameter: no error
            assert _prepared(conn, q, [None]) == []
            with pytest.raises(psycopg.errors.InvalidTextRepresentation, match="smallint"):
                conn.execute(q, ["x"], prepare=True)
