"""A session reuses a table's DuckDB relation between statements only while what it
would see is unchanged: other sessions' commits, its own writes, rollbacks and DDL
must all show up in the very next statement (simple and extended protocol)."""

from __future__ import annotations

import psycopg

SUMMARY = "select count(*), coalesce(sum(v), 0) from t"


def _summary(conn: psycopg.Connection, prepare: bool) -> tuple:
    row = conn.execute(SUMMARY, prepare=prepare).fetchone()
    assert row is not None
    return tuple(row)


def test_reads_follow_commits_own_writes_rollbacks_and_ddl(engine_server):
    dsn = engine_server.dsn()
    with psycopg.connect(dsn, autocommit=True) as a, psycopg.connect(dsn, autocommit=True) as b:
        a.execute("create table t (id int primary key, v int)")
        a.execute("insert into t values (1, 10)")
        for prepare in (False, True):
            assert _summary(a, prepare) == (1, 10)
            assert _summary(a, prepare) == (1, 10)
        b.execute("insert into t values (2, 20)")
        for prepare in (False, True):
            assert _summary(a, prepare) == (2, 30)  # another session's commit
        b.execute("delete from t where id = 1")
        assert _summary(a, True) == (1, 20)  # its delete
        with a.transaction(force_rollback=True):
            a.execute("insert into t values (3, 30)")
            assert _summary(a, True) == (2, 50)  # own uncommitted insert
            a.execute("delete from t where id = 2")
            assert _summary(a, False) == (1, 30)  # own uncommitted delete
            assert _summary(b, False) == (1, 20)  # invisible to the other session
        assert _summary(a, True) == (1, 20)  # rolled back
        assert a.execute("select id from t where id = %s", [2], prepare=True).fetchall() == [(2,)]
        b.execute("alter table t add column w text default 'x'")
        assert a.execute("select * from t").fetchall() == [(2, 20, "x")]  # new definition
        b.execute("update t set v = 21 where id = 2")
        assert _summary(a, True) == (1, 21)
        b.execute("truncate t")
        assert _summary(a, False) == (0, 0)
