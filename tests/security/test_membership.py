"""Role membership: GRANT role TO role, inheritance, SET ROLE / RESET ROLE, current_user and
session_user, with PostgreSQL 15's messages (checked against the reference server).
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from seckit import RunningServer, connect, denied, psql, serving, start_server


@pytest.fixture
def server(tmp_path: Path) -> Iterator[RunningServer]:
    with serving(tmp_path) as srv:
        yield srv


def _setup(admin: psycopg.Connection) -> None:
    admin.execute("CREATE ROLE readers")
    admin.execute("CREATE ROLE alice LOGIN")
    admin.execute("CREATE ROLE bob LOGIN NOINHERIT")
    admin.execute("CREATE TABLE t (id int)")
    admin.execute("INSERT INTO t VALUES (1), (2)")
    admin.execute("GRANT SELECT ON t TO readers")


def test_members_inherit_group_privileges(server: RunningServer) -> None:
    with connect(server) as admin:
        _setup(admin)
    with connect(server, "alice") as alice, connect(server, "bob") as bob:
        denied(alice, "SELECT * FROM t", "permission denied for table t")
        with connect(server) as admin:
            assert admin.execute("GRANT readers TO alice, bob").statusmessage == "GRANT ROLE"
        assert alice.execute("SELECT count(*) FROM t").fetchone() == (2,)
        assert alice.execute(
            "SELECT has_table_privilege('t', 'SELECT'), has_table_privilege('t', 'INSERT')"
        ).fetchone() == (True, False)
        # NOINHERIT: bob is a member, but uses the group's privileges only after SET ROLE
        denied(bob, "SELECT * FROM t", "permission denied for table t")
        bob.execute("SET ROLE readers")
        assert bob.execute("SELECT count(*), current_user, session_user FROM t").fetchone() == (
            2,
            "readers",
            "bob",
        )
        assert bob.execute("SHOW role").fetchone() == ("readers",)
        bob.execute("RESET ROLE")
        assert bob.execute("SELECT current_user, session_user").fetchone() == ("bob", "bob")
        assert bob.execute("SHOW role").fetchone() == ("none",)
        denied(bob, "SELECT * FROM t", "permission denied for table t")
        # membership through another group
        with connect(server) as admin:
            admin.execute("CREATE ROLE team")
            admin.execute("GRANT readers TO team")
            admin.execute("REVOKE readers FROM alice")
            denied(alice, "SELECT * FROM t", "permission denied for table t")
            admin.execute("GRANT team TO alice")
        assert alice.execute("SELECT count(*) FROM t").fetchone() == (2,)
        with connect(server) as admin:
            admin.execute("DROP ROLE team")  # memberships through it end with it
        denied(alice, "SELECT * FROM t", "permission denied for table t")


def test_set_role(server: RunningServer) -> None:
    with connect(server) as admin:
        _setup(admin)
        admin.execute("GRANT CREATE ON SCHEMA public TO readers")
        # a superuser may become anyone, and is then checked as that role
        admin.execute("SET ROLE alice")
        assert admin.execute("SELECT current_user, session_user").fetchone() == (
            "alice",
            "postgres",
        )
        denied(admin, "SELECT * FROM t", "permission denied for table t")
        denied(admin, "CREATE ROLE x", "permission denied to create role")
        admin.execute("RESET ROLE")
        assert admin.execute("SELECT count(*) FROM t").fetchone() == (2,)
        denied(admin, "SET ROLE nobody", 'role "nobody" does not exist', "22023")
        admin.execute("GRANT readers TO alice")
    with connect(server, "alice") as alice:
        denied(alice, "SET ROLE bob", 'permission denied to set role "bob"')
        alice.execute("SET ROLE readers")
        # what a role creates after SET ROLE belongs to that role
        alice.execute("CREATE TABLE made (x int)")
        assert alice.execute(
            "SELECT tableowner FROM pg_tables WHERE tablename = 'made'"
        ).fetchone() == ("readers",)
        alice.execute("SET ROLE NONE")
        assert alice.execute("SELECT current_user").fetchone() == ("alice",)
        # a pool's RESET ALL ends a SET ROLE too; SET LOCAL ROLE is refused, not widened
        alice.execute("SET ROLE readers")
        alice.execute("RESET ALL")
        assert alice.execute("SELECT current_user").fetchone() == ("alice",)
        denied(alice, "SET LOCAL ROLE readers", "SET LOCAL ROLE is not supported yet", "0A000")
        # alice uses readers' privileges (INHERIT), and so owns what readers owns
        alice.execute("INSERT INTO made VALUES (1)")
        alice.execute("DROP TABLE made")


def test_grant_role_errors_and_notices(server: RunningServer) -> None:
    with connect(server) as admin:
        _setup(admin)
        admin.execute("GRANT readers TO alice")
        cases = [
            ("GRANT readers TO nobody", "42704", 'role "nobody" does not exist'),
            ("GRANT nobody TO alice", "42704", 'role "nobody" does not exist'),
            ("GRANT alice TO readers", "0LP01", 'role "alice" is a member of role "readers"'),
            ("GRANT readers TO readers", "0LP01", 'role "readers" is a member of role "readers"'),
        ]
        for sql, state, message in cases:
            denied(admin, sql, message, state)
        notices: list[tuple[str, str, str]] = []
        admin.add_notice_handler(
            lambda d: notices.append((d.severity or "", d.sqlstate or "", d.message_primary or ""))
        )
        admin.execute("GRANT readers TO alice")
        admin.execute("REVOKE readers FROM bob")
        assert notices == [
            ("NOTICE", "00000", 'role "alice" is already a member of role "readers"'),
            ("WARNING", "01000", 'role "bob" is not a member of role "readers"'),
        ]
    with connect(server, "alice") as alice:
        denied(alice, "GRANT readers TO bob", 'must have admin option on role "readers"')


def test_membership_survives_restart(tmp_path: Path) -> None:
    srv = start_server(tmp_path)
    try:
        with connect(srv) as admin:
            _setup(admin)
            admin.execute("GRANT readers TO alice")
    finally:
        srv.stop()
    srv = start_server(tmp_path)
    try:
        with connect(srv, "alice") as alice:
            assert alice.execute("SELECT count(*) FROM t").fetchone() == (2,)
    finally:
        srv.stop()


def test_catalog_shows_roles_owners_and_memberships(server: RunningServer) -> None:
    expected = Path(__file__).resolve().parent / "expected"
    with connect(server) as admin:
        admin.execute("CREATE ROLE s7x LOGIN CREATEDB")
        admin.execute("CREATE ROLE s7y NOLOGIN")
        admin.execute("GRANT s7y TO s7x")
        admin.execute("CREATE TABLE own1 (i int)")
        admin.execute("ALTER TABLE own1 OWNER TO s7x")
        assert admin.execute(
            "SELECT r.rolname, m.rolname FROM pg_auth_members a"
            " JOIN pg_roles r ON r.oid = a.roleid JOIN pg_roles m ON m.oid = a.member"
        ).fetchall() == [("s7y", "s7x")]
        assert admin.execute(
            "SELECT pg_get_userbyid(relowner), relowner = (SELECT oid FROM pg_roles"
            " WHERE rolname = 's7x') FROM pg_class WHERE relname = 'own1'"
        ).fetchone() == ("s7x", True)
        assert admin.execute(
            "SELECT rolname, rolsuper, rolcanlogin, rolcreatedb FROM pg_roles ORDER BY oid"
        ).fetchall() == [
            ("postgres", True, True, True),
            ("s7x", False, True, True),
            ("s7y", False, False, False),
        ]
    # psql's \du and \dt print what PostgreSQL 15 prints for the same roles and table
    assert psql(server, "\\du s7*") == (expected / "du.out").read_text()
    assert psql(server, "\\dt own1") == (expected / "dt_own1.out").read_text()


def test_dropped_role_keeps_no_power_and_users_file_is_operator(tmp_path: Path) -> None:
    from vecgres.server.auth.users import MemoryUserStore

    users = MemoryUserStore()
    users.set_password("operator", "secret")
    with serving(tmp_path, users=users) as srv:
        with connect(srv) as admin:
            admin.execute("CREATE ROLE alice LOGIN")
            admin.execute("CREATE TABLE t (id int)")
        # a --users file's user has no catalog role: it is the operator, all-powerful
        with connect(srv, "operator") as operator:
            assert operator.execute("SELECT count(*) FROM t").fetchone() == (0,)
            operator.execute("CREATE ROLE made_by_operator")
        with connect(srv, "alice") as alice:
            denied(alice, "SELECT * FROM t", "permission denied for table t")
            with connect(srv) as admin:
                admin.execute("DROP ROLE alice")
            # the session outlives its role, but not with more rights than it had
            denied(alice, "SELECT * FROM t", "permission denied for table t")
            denied(alice, "CREATE ROLE x", "permission denied to create role")
            denied(alice, "CREATE TABLE mine (x int)", "permission denied for schema public")
