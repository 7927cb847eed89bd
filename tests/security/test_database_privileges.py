"""GRANT/REVOKE on databases: CONNECT checked at connection start, CREATE for CREATE SCHEMA,
PUBLIC's defaults (CONNECT and TEMPORARY), datacl and has_database_privilege as PostgreSQL 15.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from seckit import RunningServer, connect, denied, refused, serving, start_server, startup_error


@pytest.fixture
def server(tmp_path: Path) -> Iterator[RunningServer]:
    with serving(tmp_path) as srv:
        yield srv


def _refused(srv: RunningServer, user: str, dbname: str) -> str:
    """The FATAL a connection gets, as libpq shows it; the SQLSTATE read off the wire."""
    error = startup_error(srv, user, dbname)
    assert (error["S"], error["C"]) == ("FATAL", "42501")
    return refused(srv, user, dbname)


def test_connect_privilege_checked_at_connect(server: RunningServer) -> None:
    with connect(server) as admin:
        admin.execute("CREATE DATABASE app")
        admin.execute("CREATE ROLE alice LOGIN")
        admin.execute("CREATE ROLE bob LOGIN")
        admin.execute("CREATE ROLE staff")
        # PUBLIC may connect to a new database (PostgreSQL's default ACL)
        with connect(server, "bob", dbname="app") as bob:
            assert bob.execute("SELECT current_database()").fetchone() == ("app",)
        admin.execute("REVOKE CONNECT ON DATABASE app FROM PUBLIC")
        admin.execute("GRANT CONNECT ON DATABASE app TO alice")
        admin.execute("GRANT CONNECT ON DATABASE app TO staff")
    with connect(server, "alice", dbname="app") as alice:
        assert alice.execute("SELECT current_user").fetchone() == ("alice",)
    assert _refused(server, "bob", "app") == (
        'FATAL:  permission denied for database "app"\n'
        "DETAIL:  User does not have CONNECT privilege."
    )
    # the privilege of a group reaches its members
    with connect(server) as admin:
        admin.execute("GRANT staff TO bob")
    with connect(server, "bob", dbname="app") as bob:
        assert bob.execute("SELECT 1").fetchone() == (1,)
    with connect(server) as admin:
        admin.execute("REVOKE staff FROM bob")
    assert _refused(server, "bob", "app").startswith("FATAL:  permission denied")
    # the other databases keep PUBLIC's CONNECT; superusers connect anywhere
    with connect(server, "bob") as bob:
        assert bob.execute("SELECT current_database()").fetchone() == ("postgres",)
    with connect(server, dbname="app") as admin:
        assert admin.execute(
            "SELECT has_database_privilege('bob', 'app', 'CONNECT'),"
            " has_database_privilege('alice', 'app', 'connect'),"
            " has_database_privilege('bob', 'postgres', 'CONNECT, CREATE'),"
            " has_database_privilege('bob', 'postgres', 'CREATE'),"
            " has_database_privilege('app', 'TEMP')"
        ).fetchone() == (False, True, True, False, True)


def test_grants_survive_restart(tmp_path: Path) -> None:
    srv = start_server(tmp_path)
    try:
        with connect(srv) as admin:
            admin.execute("CREATE DATABASE app")
            admin.execute("CREATE ROLE alice LOGIN")
            admin.execute("REVOKE CONNECT ON DATABASE app FROM PUBLIC")
    finally:
        srv.stop()
    srv = start_server(tmp_path)
    try:
        assert _refused(srv, "alice", "app").startswith("FATAL:  permission denied")
        with connect(srv, dbname="app") as admin:
            assert admin.execute(
                "SELECT datacl FROM pg_database WHERE datname = 'app'"
            ).fetchone() == (["=T/postgres", "postgres=CTc/postgres"],)
    finally:
        srv.stop()


def test_create_schema_needs_create_on_database(server: RunningServer) -> None:
    with connect(server) as admin:
        admin.execute("CREATE ROLE alice LOGIN")
    with connect(server, "alice") as alice:
        denied(alice, "CREATE SCHEMA mine", "permission denied for database postgres")
        with connect(server) as admin:
            admin.execute("GRANT CREATE ON DATABASE postgres TO alice")
        alice.execute("CREATE SCHEMA mine")
        # the creator owns the schema: she may create in it and grant on it
        alice.execute("CREATE TABLE mine.t (x int)")
        alice.execute("GRANT USAGE ON SCHEMA mine TO PUBLIC")
        assert alice.execute(
            "SELECT nspacl FROM pg_namespace WHERE nspname = 'mine'"
        ).fetchone() == (["alice=UC/alice", "=U/alice"],)
        with connect(server) as admin:
            admin.execute("REVOKE CREATE ON DATABASE postgres FROM alice")
        denied(alice, "CREATE SCHEMA other", "permission denied for database postgres")


def test_datacl_text_and_grant_errors(server: RunningServer) -> None:
    with connect(server) as admin:
        admin.execute("CREATE DATABASE app")
        admin.execute("CREATE ROLE alice LOGIN")
        assert admin.execute(
            "SELECT datacl FROM pg_database WHERE datname = current_database()"
        ).fetchone() == (None,)
        admin.execute("REVOKE CONNECT ON DATABASE app FROM PUBLIC")
        admin.execute("GRANT CONNECT ON DATABASE app TO alice")
        admin.execute("GRANT ALL ON DATABASE app TO alice")
    with connect(server, dbname="app") as admin:
        # PostgreSQL 15 prints exactly this for the same statements
        assert admin.execute("SELECT datacl FROM pg_database").fetchone() == (
            ["=T/postgres", "postgres=CTc/postgres", "alice=CTc/postgres"],
        )
        cases = [
            (
                "GRANT SELECT ON DATABASE app TO alice",
                "0LP01",
                "invalid privilege type SELECT for database",
            ),
            ("GRANT CONNECT ON DATABASE nodb TO alice", "3D000", 'database "nodb" does not exist'),
            ("GRANT CONNECT ON DATABASE app TO nobody", "42704", 'role "nobody" does not exist'),
            (
                "SELECT has_database_privilege('nodb', 'CONNECT')",
                "3D000",
                'database "nodb" does not exist',
            ),
            (
                "SELECT has_database_privilege('app', 'SELECT')",
                "22023",
                'unrecognized privilege type: "SELECT"',
            ),
        ]
        for sql, state, message in cases:
            denied(admin, sql, message, state)
    with connect(server, "alice") as alice:
        # not the owner: no GRANT, no DROP
        denied(
            alice,
            "GRANT CONNECT ON DATABASE postgres TO alice",
            "permission denied for database postgres",
        )
        denied(alice, "DROP DATABASE app", "must be owner of database app")


def test_database_owner(server: RunningServer) -> None:
    with connect(server) as admin:
        admin.execute("CREATE ROLE maker LOGIN CREATEDB")
        admin.execute("CREATE ROLE bob LOGIN")
    with connect(server, "maker") as maker:
        maker.execute("CREATE DATABASE made")
        maker.execute("REVOKE CONNECT ON DATABASE made FROM PUBLIC")
    # the creator owns it: she may still connect and create schemas there
    with connect(server, "maker", dbname="made") as maker:
        maker.execute("CREATE SCHEMA s")
        assert maker.execute("SELECT datacl FROM pg_database").fetchone() == (
            ["=T/maker", "maker=CTc/maker"],
        )
    assert _refused(server, "bob", "made").startswith("FATAL:  permission denied")
    with connect(server, "bob") as bob:
        denied(bob, "ALTER DATABASE made OWNER TO bob", "must be owner of database made")
    with connect(server) as admin:
        admin.execute("ALTER DATABASE made OWNER TO bob")
    with connect(server, "bob", dbname="made") as bob:
        assert bob.execute("SELECT datacl FROM pg_database").fetchone() == (
            ["=T/bob", "bob=CTc/bob"],
        )
    with connect(server, "maker") as maker:
        denied(maker, "DROP DATABASE made", "must be owner of database made")
    with connect(server, "bob") as bob:
        bob.execute("DROP DATABASE made")
