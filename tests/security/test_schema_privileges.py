"""Schema privileges: USAGE on every statement that names an object in the schema, CREATE for
what is created in it; PostgreSQL 15's defaults (public: USAGE for PUBLIC, CREATE for the
database owner only). Messages as the reference PostgreSQL 15 gives them.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from seckit import RunningServer, connect, denied, serving

NO_USAGE = [
    "DROP TABLE hs.x",
    "ALTER TABLE hs.x ADD COLUMN y int",
    "CREATE INDEX ON hs.x (id)",
    "TRUNCATE hs.x",
    "INSERT INTO hs.x VALUES (1)",
    "SELECT * FROM hs.x",
    "UPDATE hs.x SET id = 2",
    "DELETE FROM hs.x",
    "CREATE TABLE hs.new (i int)",
    "CREATE VIEW hs.vv AS SELECT 1",
    "GRANT SELECT ON hs.x TO bob",
    "SELECT * FROM public.o WHERE id IN (SELECT id FROM hs.x)",
]


@pytest.fixture
def server(tmp_path: Path) -> Iterator[RunningServer]:
    with serving(tmp_path) as srv:
        with connect(srv) as admin:
            admin.execute("CREATE ROLE alice LOGIN")
            admin.execute("CREATE ROLE bob LOGIN")
            admin.execute("CREATE SCHEMA hs")
            admin.execute("CREATE TABLE hs.x (id int)")
            admin.execute("CREATE TABLE o (id int)")
            admin.execute("GRANT ALL ON hs.x, o TO alice")
        yield srv


def test_usage_needed_by_every_statement(server: RunningServer) -> None:
    with connect(server, "alice") as alice:
        for sql in NO_USAGE:
            denied(alice, sql, "permission denied for schema hs")
        with (
            pytest.raises(psycopg.errors.InsufficientPrivilege) as info,
            alice.cursor().copy("COPY hs.x FROM STDIN") as copy,
        ):
            copy.write("1\n")
        assert info.value.diag.message_primary == "permission denied for schema hs"
        with connect(server) as admin:
            admin.execute("GRANT USAGE ON SCHEMA hs TO alice")
        # with USAGE, the table's own privileges decide; CREATE is still missing
        alice.execute("INSERT INTO hs.x VALUES (1)")
        assert alice.execute("SELECT id FROM hs.x").fetchall() == [(1,)]
        denied(alice, "DROP TABLE hs.x", "must be owner of table x")
        denied(alice, "CREATE TABLE hs.new (i int)", "permission denied for schema hs")
        with connect(server) as admin:
            admin.execute("GRANT CREATE ON SCHEMA hs TO alice")
        alice.execute("CREATE TABLE hs.new (i int)")
        alice.execute("CREATE VIEW hs.vv AS SELECT i FROM hs.new")
        assert alice.execute(
            "SELECT tableowner FROM pg_tables WHERE schemaname = 'hs' ORDER BY tablename"
        ).fetchall() == [("alice",), ("postgres",)]
        with connect(server) as admin:
            admin.execute("REVOKE USAGE ON SCHEMA hs FROM alice")
        # her own objects too: the schema is closed to her
        denied(alice, "SELECT * FROM hs.new", "permission denied for schema hs")


def test_public_schema_defaults(server: RunningServer) -> None:
    with connect(server, "bob") as bob:
        # PostgreSQL 15: everyone may use public, only the database owner create in it
        denied(bob, "CREATE TABLE mine (x int)", "permission denied for schema public")
        denied(bob, "CREATE VIEW mine AS SELECT 1", "permission denied for schema public")
        assert bob.execute(
            "SELECT has_schema_privilege('public', 'USAGE'),"
            " has_schema_privilege('public', 'CREATE')"
        ).fetchone() == (True, False)
        with connect(server) as admin:
            assert admin.execute(
                "SELECT nspacl FROM pg_namespace WHERE nspname = 'public'"
            ).fetchone() == (None,)
            admin.execute("GRANT CREATE ON SCHEMA public TO PUBLIC")
            assert admin.execute(
                "SELECT nspacl FROM pg_namespace WHERE nspname = 'public'"
            ).fetchone() == (["pg_database_owner=UC/pg_database_owner", "=UC/pg_database_owner"],)
        bob.execute("CREATE TABLE mine (x int)")
        with connect(server) as admin:
            admin.execute("REVOKE USAGE ON SCHEMA public FROM PUBLIC")
        denied(bob, "SELECT * FROM public.mine", "permission denied for schema public")
