"""Ownership: owners and superusers bypass the checks, ALTER ... OWNER TO, DROP by the owner
only, and DROP ROLE refused (2BP01, PostgreSQL's DETAIL) while the role owns or holds anything.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from seckit import RunningServer, connect, denied, serving


@pytest.fixture
def server(tmp_path: Path) -> Iterator[RunningServer]:
    with serving(tmp_path) as srv:
        yield srv


def _drop_role_refused(conn: psycopg.Connection, role: str) -> str:
    with pytest.raises(psycopg.errors.DependentObjectsStillExist) as info:
        conn.execute(f"DROP ROLE {role}")
    assert info.value.diag.message_primary == (
        f'role "{role}" cannot be dropped because some objects depend on it'
    )
    return info.value.diag.message_detail or ""


def test_alter_owner_and_drop_role_dependencies(server: RunningServer) -> None:
    # the same statements on PostgreSQL 15 give the same DETAILs and ACLs
    with connect(server) as admin:
        admin.execute("CREATE ROLE s7a LOGIN")
        admin.execute("CREATE TABLE t (id int)")
        admin.execute("CREATE TABLE u (id int)")
        admin.execute("CREATE SCHEMA s")
        admin.execute("GRANT SELECT ON t TO s7a")
        admin.execute("GRANT SELECT, INSERT ON u TO PUBLIC")
        admin.execute("GRANT USAGE ON SCHEMA s TO s7a")
        admin.execute("REVOKE CONNECT ON DATABASE postgres FROM PUBLIC")
        admin.execute("GRANT CONNECT ON DATABASE postgres TO s7a")
        assert _drop_role_refused(admin, "s7a") == (
            "privileges for database postgres\nprivileges for table t\nprivileges for schema s"
        )
        admin.execute("ALTER TABLE u OWNER TO s7a")
        assert _drop_role_refused(admin, "s7a") == (
            "privileges for database postgres\n"
            "privileges for table t\n"
            "owner of table u\n"
            "privileges for schema s"
        )
        rows = admin.execute(
            "SELECT relname, relacl FROM pg_class WHERE relname IN ('t', 'u') ORDER BY 1"
        ).fetchall()
        assert rows == [
            ("t", ["postgres=arwdDxt/postgres", "s7a=r/postgres"]),
            ("u", ["s7a=arwdDxt/s7a", "=ar/s7a"]),
        ]
        assert admin.execute(
            "SELECT tableowner FROM pg_tables WHERE tablename = 'u'"
        ).fetchone() == ("s7a",)
        # once nothing depends on it, the role goes
        admin.execute("ALTER TABLE u OWNER TO postgres")
        admin.execute("REVOKE ALL ON t FROM s7a")
        admin.execute("REVOKE USAGE ON SCHEMA s FROM s7a")
        admin.execute("REVOKE CONNECT ON DATABASE postgres FROM s7a")
        admin.execute("GRANT CONNECT ON DATABASE postgres TO PUBLIC")
        admin.execute("DROP ROLE s7a")
        assert admin.execute("SELECT relacl FROM pg_class WHERE relname = 'u'").fetchone() == (
            ["postgres=arwdDxt/postgres", "=ar/postgres"],
        )


def test_owner_rules(server: RunningServer) -> None:
    with connect(server) as admin:
        admin.execute("CREATE ROLE alice LOGIN")
        admin.execute("CREATE ROLE bob LOGIN")
        admin.execute("CREATE TABLE t (id int)")
        admin.execute("INSERT INTO t VALUES (1)")
        admin.execute("CREATE SCHEMA s")
        admin.execute("CREATE TABLE s.x (id int)")
        admin.execute("CREATE VIEW shown AS SELECT 1 AS x")
        admin.execute("GRANT CREATE ON SCHEMA public TO alice")
    with connect(server, "alice") as alice:
        denied(
            alice, "CREATE OR REPLACE VIEW shown AS SELECT 2 AS x", "must be owner of view shown"
        )
        denied(
            alice,
            "GRANT SELECT (id) ON t TO bob",
            "column privileges are not supported yet",
            "0A000",
        )
        denied(alice, "DROP TABLE t", "must be owner of table t")
        denied(alice, "ALTER TABLE t OWNER TO alice", "must be owner of table t")
        denied(alice, "DROP SCHEMA s", "must be owner of schema s")
        denied(alice, "ALTER SCHEMA s OWNER TO alice", "must be owner of schema s")
        denied(alice, "COMMENT ON TABLE t IS 'x'", "must be owner of table t")
        denied(alice, "COMMENT ON COLUMN t.id IS 'x'", "must be owner of table t")
        denied(alice, "COMMENT ON SCHEMA s IS 'x'", "must be owner of schema s")
        denied(alice, "ALTER TABLE nope OWNER TO alice", 'relation "nope" does not exist', "42P01")
        with connect(server) as admin:
            denied(admin, "ALTER TABLE t OWNER TO nobody", 'role "nobody" does not exist', "42704")
            admin.execute("ALTER TABLE t OWNER TO alice")
            admin.execute("ALTER SCHEMA s OWNER TO alice")
        # the owner needs no grant to read, write, grant, alter or drop
        assert alice.execute("SELECT id FROM t").fetchall() == [(1,)]
        alice.execute("INSERT INTO t VALUES (2)")
        alice.execute("ALTER TABLE t ADD COLUMN v text")
        # owning a schema gives CREATE in it, not the tables others made there
        alice.execute("CREATE TABLE s.y (id int)")
        denied(alice, "SELECT * FROM s.x", "permission denied for table x")
        # giving it away needs membership of the new owner
        denied(alice, "ALTER TABLE t OWNER TO bob", 'must be member of role "bob"')
        alice.execute("GRANT SELECT ON t TO bob")
        with connect(server, "bob") as bob:
            assert bob.execute("SELECT count(*) FROM t").fetchone() == (2,)
            denied(bob, "DROP TABLE t", "must be owner of table t")
            denied(bob, "TRUNCATE t", "permission denied for table t")
            denied(bob, "SELECT * FROM s.y", "permission denied for schema s")
        alice.execute("DROP TABLE t")
        assert alice.execute(
            "SELECT has_schema_privilege('bob', 's', 'USAGE'),"
            " has_schema_privilege('alice', 's', 'CREATE,USAGE'),"
            " has_schema_privilege('s', 'CREATE')"
        ).fetchone() == (False, True, True)
        alice.execute("DROP TABLE s.y")


def test_sequence_owner_shows_in_pg_sequences(server: RunningServer) -> None:
    with connect(server) as admin:
        admin.execute("CREATE ROLE carol LOGIN")
        admin.execute("CREATE SEQUENCE owned_seq")
        admin.execute("ALTER SEQUENCE owned_seq OWNER TO carol")
        row = admin.execute(
            "SELECT sequenceowner FROM pg_sequences WHERE sequencename = 'owned_seq'"
        ).fetchone()
        assert row == ("carol",)


def test_reassign_and_drop_owned(server: RunningServer) -> None:
    # the statements and the DETAILs of PostgreSQL 15 (tests/pgref) for the same objects
    with connect(server) as admin:
        admin.execute("CREATE ROLE s7o LOGIN")
        admin.execute("CREATE ROLE s7a LOGIN")
        admin.execute("CREATE DATABASE sec7db")
    with connect(server, dbname="sec7db") as admin:
        admin.execute("GRANT CREATE ON SCHEMA public TO s7o")
        admin.execute("GRANT CREATE ON DATABASE sec7db TO s7o")
        admin.execute("SET ROLE s7o")
        admin.execute("CREATE TABLE o1 (i int)")
        admin.execute("CREATE VIEW ov AS SELECT * FROM o1")
        admin.execute("CREATE SCHEMA os")
        admin.execute("CREATE TABLE os.t (i int)")
        admin.execute("RESET ROLE")
        admin.execute("CREATE TABLE keep (i int)")
        admin.execute("GRANT SELECT ON keep TO s7o")
        assert _drop_role_refused(admin, "s7o") == (
            "privileges for schema public\n"
            "privileges for database sec7db\n"
            "owner of table o1\n"
            "owner of view ov\n"
            "owner of schema os\n"
            "owner of table os.t\n"
            "privileges for table keep"
        )
        # DROP ROLE from another database counts what the role has in this one
        with connect(server) as elsewhere:
            assert _drop_role_refused(elsewhere, "s7o") == (
                "privileges for database sec7db\n6 objects in database sec7db"
            )
        denied_reassign = "permission denied to reassign objects"
        with connect(server, "s7a") as s7a:
            denied(s7a, "REASSIGN OWNED BY s7o TO s7a", denied_reassign)
            denied(s7a, "DROP OWNED BY s7o", "permission denied to drop objects")
        admin.execute("REASSIGN OWNED BY s7o TO s7a")
        rows = admin.execute(
            "SELECT relname, pg_get_userbyid(relowner), relacl FROM pg_class"
            " WHERE relname IN ('o1', 'ov', 't', 'keep') ORDER BY 1"
        ).fetchall()
        assert rows == [
            ("keep", "postgres", ["postgres=arwdDxt/postgres", "s7o=r/postgres"]),
            ("o1", "s7a", None),
            ("ov", "s7a", None),
            ("t", "s7a", None),
        ]
        assert _drop_role_refused(admin, "s7o") == (
            "privileges for schema public\n"
            "privileges for database sec7db\n"
            "privileges for table keep"
        )
        admin.execute("DROP OWNED BY s7o")
        admin.execute("DROP ROLE s7o")
        # DROP OWNED drops what the role owns here (the view before its table)
        admin.execute("DROP OWNED BY s7a")
        assert admin.execute(
            "SELECT relname FROM pg_class WHERE relname IN ('o1', 'ov', 't', 'keep')"
        ).fetchall() == [("keep",)]
        assert admin.execute(
            "SELECT count(*) FROM pg_namespace WHERE nspname = 'os'"
        ).fetchone() == (0,)
        admin.execute("DROP ROLE s7a")
