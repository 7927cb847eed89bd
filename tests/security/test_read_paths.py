"""A role without SELECT on a table cannot read it by any road: views (its own and other
owners'), subqueries, CTEs, joins, set operations, DML that reads, CREATE TABLE AS, COPY TO,
EXPLAIN ANALYZE, cursors, prepared statements (re-checked after REVOKE), the ANN top-k path,
and admin functions. Each refusal is 42501 with PostgreSQL's message.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from seckit import RunningServer, connect, denied, serving

SETUP = [
    "CREATE ROLE alice LOGIN",
    "CREATE ROLE bob LOGIN",
    "CREATE TABLE t (id int, v text)",
    "INSERT INTO t VALUES (1, 'secret')",
    "CREATE TABLE o (id int)",
    "INSERT INTO o VALUES (1)",
    "GRANT ALL ON o TO alice, bob",
    "CREATE TABLE vt (id int, e vector(2))",
    "INSERT INTO vt VALUES (1, '[1,2]'), (2, '[3,4]')",
    "CREATE INDEX ON vt USING hnsw (e vector_l2_ops)",
    "CREATE SCHEMA hid",
    "CREATE TABLE hid.h (id int)",
    "GRANT SELECT ON hid.h TO alice",
    "GRANT CREATE ON SCHEMA public TO alice",
]

DENIED_T = [
    "TABLE t",
    "SELECT * FROM ONLY t",
    'SELECT * FROM "t"',
    "SELECT * FROM postgres.public.t",
    "SELECT (SELECT v FROM t LIMIT 1)",
    "SELECT * FROM o WHERE EXISTS (SELECT 1 FROM t)",
    "SELECT * FROM o WHERE id IN (WITH q AS (SELECT id FROM t) SELECT id FROM q)",
    "WITH x AS (SELECT * FROM t) SELECT 1",
    "WITH a AS (SELECT 1), b AS (SELECT v FROM t) SELECT * FROM b",
    "SELECT * FROM o JOIN t USING (id)",
    "SELECT * FROM o, LATERAL (SELECT v FROM t WHERE t.id = o.id) x",
    "SELECT id FROM o UNION SELECT id FROM t",
    "UPDATE o SET id = (SELECT max(id) FROM t)",
    "UPDATE o SET id = t.id FROM t",
    "DELETE FROM o USING t WHERE o.id = t.id",
    "INSERT INTO o SELECT id FROM t RETURNING *",
    "CREATE TABLE stolen AS SELECT * FROM t",
    "EXPLAIN ANALYZE SELECT * FROM t",
    "EXPLAIN (COSTS OFF) SELECT v FROM t",
]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    with serving(tmp_path_factory.mktemp("readpaths")) as srv:
        with connect(srv) as admin:
            for sql in SETUP:
                admin.execute(sql)
        yield srv


def test_no_read_through_queries(server: RunningServer) -> None:
    with connect(server, "alice") as alice:
        for sql in DENIED_T:
            denied(alice, sql, "permission denied for table t")
        # a CTE of the same name shadows the table: that reads nothing of t
        assert alice.execute("WITH t AS (SELECT 5 AS id) SELECT * FROM t").fetchall() == [(5,)]
        # the ANN top-k path is checked like any scan
        denied(
            alice,
            "SELECT id FROM vt ORDER BY e <-> '[1,2]' LIMIT 1",
            "permission denied for table vt",
        )
        # a granted table in a schema without USAGE stays out of reach
        denied(alice, "SELECT * FROM hid.h", "permission denied for schema hid")
        # the admin function that reads every table's files is the superuser's
        denied(alice, "SELECT vecgres_check()", "permission denied for function vecgres_check")
        assert alice.execute("SELECT has_table_privilege('t', 'SELECT')").fetchone() == (False,)
        # nothing was created by the refused CREATE TABLE AS
        assert alice.execute("SELECT to_regclass('stolen') IS NULL").fetchone() == (True,)


def test_no_read_through_views(server: RunningServer) -> None:
    with connect(server, "alice") as alice:
        alice.execute("CREATE VIEW peek AS SELECT * FROM t")
        denied(alice, "SELECT * FROM peek", "permission denied for table t")
        # alice grants her view to bob: the view still reads t with alice's (missing) rights
        alice.execute("GRANT SELECT ON peek TO bob")
    with connect(server, "bob") as bob:
        denied(bob, "SELECT * FROM peek", "permission denied for table t")
        with connect(server) as admin:
            admin.execute("GRANT SELECT ON t TO alice")
        # now the view's owner may read t, and bob reads through the view, but not t itself
        assert bob.execute("SELECT v FROM peek").fetchall() == [("secret",)]
        denied(bob, "SELECT v FROM t", "permission denied for table t")
        with connect(server) as admin:
            admin.execute("REVOKE SELECT ON t FROM alice")
        denied(bob, "SELECT * FROM peek", "permission denied for table t")
    with connect(server, "alice") as alice:
        alice.execute("DROP VIEW peek")


def test_no_read_through_copy_cursor_or_prepared(server: RunningServer) -> None:
    with connect(server, "bob") as bob:
        for sql in ("COPY t TO STDOUT", "COPY t (v) TO STDOUT", "COPY (SELECT * FROM t) TO STDOUT"):
            with (
                pytest.raises(psycopg.errors.InsufficientPrivilege) as info,
                bob.cursor().copy(sql) as copy,
            ):
                list(copy)
            assert info.value.diag.message_primary == "permission denied for table t"
        # a server-side cursor (DECLARE) is checked when declared
        with (
            pytest.raises(psycopg.errors.InsufficientPrivilege),
            bob.transaction(),
            bob.cursor("c") as cur,
        ):
            cur.execute("SELECT * FROM t")
        # a prepared statement is checked at every execution, not only when prepared
        with connect(server) as admin:
            admin.execute("GRANT SELECT ON t TO bob")
        query = "SELECT v FROM t WHERE id = %s"
        assert bob.execute(query, (1,), prepare=True).fetchall() == [("secret",)]
        assert bob.execute(query, (1,), prepare=True).fetchall() == [("secret",)]
        with connect(server) as admin:
            admin.execute("REVOKE SELECT ON t FROM bob")
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            bob.execute(query, (1,), prepare=True)
