"""Roles, ownership and GRANT/REVOKE over a real server, with psycopg.

A NOSUPERUSER role is refused (42501) until granted, works after GRANT, is
refused again after REVOKE, and the grants survive a restart of the server.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "server"))
from wireclient import RunningServer, start_server


@pytest.fixture
def server(tmp_path: Path) -> Iterator[RunningServer]:
    srv = start_server(tmp_path)
    yield srv
    srv.stop()


def _connect(srv: RunningServer, user: str = "postgres") -> psycopg.Connection[Any]:
    return psycopg.connect(srv.dsn(user=user), autocommit=True)


def _denied(conn: psycopg.Connection[Any], sql: str, message: str) -> None:
    with pytest.raises(psycopg.errors.InsufficientPrivilege) as info:
        conn.execute(sql)
    assert info.value.sqlstate == "42501"
    assert info.value.diag.message_primary == message


def _setup(admin: psycopg.Connection[Any]) -> None:
    admin.execute("CREATE ROLE alice LOGIN NOSUPERUSER")
    admin.execute("CREATE TABLE t (id int, v text)")
    admin.execute("INSERT INTO t VALUES (1, 'a'), (2, 'b')")


def test_grant_revoke_and_restart(tmp_path: Path) -> None:
    srv = start_server(tmp_path)
    try:
        with _connect(srv) as admin, _connect(srv):
            _setup(admin)
        with _connect(srv, "alice") as alice:
            _denied(alice, "SELECT * FROM t", "permission denied for table t")
            _denied(alice, "INSERT INTO t VALUES (3, 'c')", "permission denied for table t")
            with _connect(srv) as admin:
                admin.execute("GRANT SELECT, INSERT ON TABLE t TO alice")
            assert alice.execute("SELECT id FROM t ORDER BY id").fetchall() == [(1,), (2,)]
            assert alice.execute("INSERT INTO t VALUES (3, 'c')").rowcount == 1
            # UPDATE/DELETE were not granted
            _denied(alice, "UPDATE t SET v = 'x'", "permission denied for table t")
            _denied(alice, "DELETE FROM t WHERE id = 1", "permission denied for table t")
            assert alice.execute(
                "SELECT has_table_privilege('t', 'SELECT'), has_table_privilege('t', 'DELETE')"
            ).fetchone() == (True, False)
    finally:
        srv.stop()
    # the grants are in the catalog: a new server on the same data directory keeps them
    srv = start_server(tmp_path)
    try:
        with _connect(srv, "alice") as alice:
            assert alice.execute("SELECT count(*) FROM t").fetchone() == (3,)
            with _connect(srv) as admin:
                admin.execute("REVOKE SELECT ON t FROM alice")
                assert admin.execute(
                    "SELECT has_table_privilege('alice', 't', 'SELECT'),"
                    " has_table_privilege('alice', 't', 'INSERT')"
                ).fetchone() == (False, True)
            _denied(alice, "SELECT * FROM t", "permission denied for table t")
    finally:
        srv.stop()
    srv = start_server(tmp_path)
    try:
        with _connect(srv, "alice") as alice:
            _denied(alice, "SELECT * FROM t", "permission denied for table t")
            assert alice.execute("INSERT INTO t VALUES (4, 'd')").rowcount == 1
    finally:
        srv.stop()


def test_no_read_through_view_subquery_copy_or_function(server: RunningServer) -> None:
    with _connect(server) as admin:
        _setup(admin)
        admin.execute("CREATE TABLE open_t (id int)")
        admin.execute("INSERT INTO open_t VALUES (1)")
        admin.execute("GRANT ALL ON open_t TO alice")
        admin.execute("GRANT CREATE ON SCHEMA public TO alice")
    with _connect(server, "alice") as alice:
        _denied(
            alice,
            "SELECT * FROM open_t WHERE id IN (SELECT id FROM t)",
            "permission denied for table t",
        )
        _denied(alice, "WITH x AS (SELECT * FROM t) SELECT 1", "permission denied for table t")
        _denied(alice, "INSERT INTO open_t SELECT id FROM t", "permission denied for table t")
        # a view alice makes over t is read with alice's (missing) privileges
        alice.execute("CREATE VIEW peek AS SELECT * FROM t")
        _denied(alice, "SELECT * FROM peek", "permission denied for table t")
        for sql in ("COPY t TO STDOUT", "COPY (SELECT * FROM t) TO STDOUT"):
            with (
                pytest.raises(psycopg.errors.InsufficientPrivilege),
                alice.cursor().copy(sql) as copy,
            ):
                list(copy)
        assert alice.execute("SELECT has_table_privilege('t', 'SELECT')").fetchone() == (False,)
        _denied(alice, "EXPLAIN SELECT * FROM t", "permission denied for table t")
        _denied(alice, "EXPLAIN (COSTS OFF) SELECT id FROM t", "permission denied for table t")
    # a view the owner of t makes and grants is readable (the view's owner reads t)
    with _connect(server) as admin:
        admin.execute("CREATE VIEW shown AS SELECT id FROM t")
        admin.execute("GRANT SELECT ON shown TO alice")
    with _connect(server, "alice") as alice:
        assert alice.execute("SELECT id FROM shown ORDER BY id").fetchall() == [(1,), (2,)]
        _denied(alice, "SELECT * FROM t", "permission denied for table t")


def test_ownership_drop_alter_and_owner_rights(server: RunningServer) -> None:
    with _connect(server) as admin:
        _setup(admin)
        admin.execute("CREATE ROLE bob LOGIN")
        admin.execute("GRANT CREATE ON SCHEMA public TO alice")
    with _connect(server, "alice") as alice, _connect(server, "bob") as bob:
        _denied(alice, "DROP TABLE t", "must be owner of table t")
        _denied(alice, "ALTER TABLE t ADD COLUMN w int", "must be owner of table t")
        _denied(alice, "CREATE INDEX ON t (id)", "must be owner of table t")
        _denied(alice, "TRUNCATE t", "permission denied for table t")
        # bob has no CREATE on public (PostgreSQL 15's default)
        _denied(bob, "CREATE TABLE b (x int)", "permission denied for schema public")
        # the creator owns: alice may do everything with her table, bob nothing
        alice.execute("CREATE TABLE mine (x int)")
        alice.execute("INSERT INTO mine VALUES (7)")
        assert alice.execute("SELECT x FROM mine").fetchall() == [(7,)]
        _denied(bob, "SELECT * FROM mine", "permission denied for table mine")
        _denied(bob, "GRANT SELECT ON mine TO bob", "permission denied for table mine")
        alice.execute("GRANT SELECT ON mine TO bob")
        assert bob.execute("SELECT x FROM mine").fetchall() == [(7,)]
        _denied(bob, "DROP TABLE mine", "must be owner of table mine")
        alice.execute("ALTER TABLE mine ADD COLUMN y int")
        alice.execute("DROP TABLE mine")
    with _connect(server) as admin:
        assert admin.execute("SELECT count(*) FROM t").fetchone() == (2,)
        admin.execute("DROP TABLE t")


def test_all_tables_in_schema_and_schema_usage(server: RunningServer) -> None:
    with _connect(server) as admin:
        admin.execute("CREATE ROLE alice LOGIN")
        admin.execute("CREATE SCHEMA s")
        admin.execute("CREATE TABLE s.a (x int)")
        admin.execute("CREATE TABLE s.b (x int)")
        admin.execute("INSERT INTO s.a VALUES (1)")
        admin.execute("INSERT INTO s.b VALUES (2)")
        admin.execute("GRANT SELECT ON ALL TABLES IN SCHEMA s TO alice")
    with _connect(server, "alice") as alice:
        _denied(alice, "SELECT * FROM s.a", "permission denied for schema s")
        with _connect(server) as admin:
            admin.execute("GRANT USAGE ON SCHEMA s TO alice")
        both = "SELECT x FROM s.a UNION ALL SELECT x FROM s.b ORDER BY 1"
        assert alice.execute(both).fetchall() == [(1,), (2,)]
        _denied(alice, "INSERT INTO s.a VALUES (3)", "permission denied for table a")
        _denied(alice, "CREATE TABLE s.c (x int)", "permission denied for schema s")
        with _connect(server) as admin:
            admin.execute("REVOKE ALL ON ALL TABLES IN SCHEMA s FROM alice")
        _denied(alice, "SELECT * FROM s.b", "permission denied for table b")


def test_copy_files_need_superuser(server: RunningServer, tmp_path: Path) -> None:
    path = tmp_path / "rows.csv"
    path.write_text("1,a\n")
    with _connect(server) as admin:
        _setup(admin)
        admin.execute("GRANT ALL ON t TO alice")
        # the superuser may
        admin.execute(f"COPY t FROM '{path}' WITH (FORMAT csv)")
        assert admin.execute("SELECT count(*) FROM t").fetchone() == (3,)
    with _connect(server, "alice") as alice:
        with pytest.raises(psycopg.errors.InsufficientPrivilege) as info:
            alice.execute(f"COPY t FROM '{path}' WITH (FORMAT csv)")
        assert info.value.diag.message_primary == (
            "must be superuser or have privileges of the pg_read_server_files role "
            "to COPY from a file"
        )
        assert info.value.diag.message_hint == (
            "Anyone can COPY to stdout or from stdin. psql's \\copy command also works for anyone."
        )
        with pytest.raises(psycopg.errors.InsufficientPrivilege) as info:
            alice.execute(f"COPY t TO '{tmp_path / 'out.csv'}'")
        assert info.value.diag.message_primary == (
            "must be superuser or have privileges of the pg_write_server_files role "
            "to COPY to a file"
        )
        # STDIN/STDOUT follow the table privileges
        with alice.cursor().copy("COPY t FROM STDIN") as copy:
            copy.write("9\tz\n")
        with alice.cursor().copy("COPY t (id) TO STDOUT") as copy:
            data = b"".join(bytes(chunk) for chunk in copy)
        assert sorted(data.decode().split()) == ["1", "1", "2", "9"]


def test_role_attributes(server: RunningServer) -> None:
    with _connect(server) as admin:
        admin.execute("CREATE ROLE alice LOGIN")
        admin.execute("CREATE ROLE manager LOGIN CREATEROLE CREATEDB")
        admin.execute("CREATE ROLE boss LOGIN SUPERUSER")
        admin.execute("CREATE TABLE t (id int)")
    with _connect(server, "alice") as alice:
        _denied(alice, "CREATE ROLE x", "permission denied to create role")
        _denied(alice, "CREATE DATABASE d", "permission denied to create database")
        _denied(alice, "DROP ROLE manager", "permission denied to drop role")
        alice.execute("ALTER ROLE alice PASSWORD 'new-secret'")  # one's own password: allowed
        _denied(alice, "ALTER ROLE alice CREATEDB", "permission denied")
    with _connect(server, "manager") as manager:
        manager.execute("CREATE ROLE x LOGIN")
        _denied(manager, "CREATE ROLE y SUPERUSER", "must be superuser to create superusers")
        _denied(manager, "DROP ROLE boss", "must be superuser to drop superusers")
        manager.execute("DROP ROLE x")
        manager.execute("CREATE DATABASE d")
        _denied(manager, "SELECT * FROM t", "permission denied for table t")
    with _connect(server, "boss") as boss:
        assert boss.execute("SELECT count(*) FROM t").fetchone() == (0,)
        boss.execute("DROP TABLE t")
    with _connect(server) as admin:
        admin.execute("ALTER ROLE alice SUPERUSER")
    with _connect(server, "alice") as alice:
        alice.execute("CREATE ROLE z")


def test_unknown_role_is_refused_at_connect(server: RunningServer) -> None:
    with pytest.raises(psycopg.OperationalError, match='role "nobody" does not exist'):
        psycopg.connect(server.dsn(user="nobody"))
    with _connect(server) as admin:
        with pytest.raises(psycopg.errors.ObjectInUse):
            admin.execute("DROP ROLE postgres")
        assert admin.execute("SELECT current_user").fetchone() == ("postgres",)


def test_grant_errors(server: RunningServer) -> None:
    with _connect(server) as admin:
        admin.execute("CREATE TABLE t (id int)")
        cases = [
            ("GRANT SELECT ON t TO nobody", "42704", 'role "nobody" does not exist'),
            ("GRANT SELEC ON t TO public", "42601", 'unrecognized privilege type "selec"'),
            ("GRANT USAGE ON t TO public", "0LP01", "invalid privilege type USAGE for table"),
            (
                "GRANT INSERT ON SCHEMA public TO public",
                "0LP01",
                "invalid privilege type INSERT for schema",
            ),
            ("GRANT SELECT ON missing TO public", "42P01", 'relation "missing" does not exist'),
            ("GRANT USAGE ON SCHEMA nope TO public", "3F000", 'schema "nope" does not exist'),
            (
                "SELECT has_table_privilege('t', 'FOO')",
                "22023",
                'unrecognized privilege type: "FOO"',
            ),
            (
                "SELECT has_table_privilege('nobody', 't', 'SELECT')",
                "42704",
                'role "nobody" does not exist',
            ),
        ]
        for sql, state, message in cases:
            with pytest.raises(psycopg.Error) as info:
                admin.execute(sql)
            assert (info.value.sqlstate, info.value.diag.message_primary) == (state, message), sql
        # the connection survives every refusal
        admin.execute("GRANT SELECT, UPDATE ON t TO public")
        assert admin.execute(
            "SELECT has_table_privilege('postgres', 't', 'update, delete')"
        ).fetchone() == (True,)
