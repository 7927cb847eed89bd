"""ACLs as clients see them: relacl/nspacl/datacl in aclitem text, has_*_privilege, and psql's
\\dp and \\l output, each equal to PostgreSQL 15's for the same statements (taken from the
reference server, tests/pgref/pg.sh).
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from seckit import RunningServer, connect, denied, psql, serving

# psql's output on PostgreSQL 15 for the same objects (psql -X -c '\dp' etc.)
EXPECTED = Path(__file__).resolve().parent / "expected"

SETUP = [
    "CREATE ROLE s7a LOGIN",
    "CREATE ROLE s7b LOGIN",
    "CREATE TABLE t (id int)",
    "CREATE TABLE u (id int)",
    "CREATE VIEW v AS SELECT * FROM t",
    "CREATE SCHEMA s",
    "CREATE TABLE s.x (id int)",
    "GRANT SELECT ON t TO s7a",
    "GRANT SELECT, INSERT ON u TO PUBLIC",
    "GRANT USAGE ON SCHEMA s TO s7a",
    "GRANT CREATE ON SCHEMA public TO s7b",
    "GRANT SELECT ON v TO s7b",
]


@pytest.fixture
def server(tmp_path: Path) -> Iterator[RunningServer]:
    with serving(tmp_path) as srv:
        with connect(srv) as admin:
            for sql in SETUP:
                admin.execute(sql)
        yield srv


def test_psql_dp_and_l(server: RunningServer) -> None:
    assert psql(server, "\\dp") == (EXPECTED / "dp.out").read_text()
    assert psql(server, "\\dp s.*") == (EXPECTED / "dp_s.out").read_text()
    with connect(server) as admin:
        admin.execute("CREATE DATABASE sec7db2")
        admin.execute("REVOKE CONNECT ON DATABASE sec7db2 FROM PUBLIC")
        admin.execute("GRANT CONNECT, TEMP ON DATABASE sec7db2 TO s7a")
    assert psql(server, "\\l sec7db2", dbname="sec7db2") == (EXPECTED / "l_sec7db2.out").read_text()


def test_catalog_acl_columns(server: RunningServer) -> None:
    with connect(server) as admin:
        rows = admin.execute(
            "SELECT nspname, nspacl FROM pg_namespace WHERE nspname IN ('s', 'public')"
            " ORDER BY nspname"
        ).fetchall()
        assert rows == [
            (
                "public",
                [
                    "pg_database_owner=UC/pg_database_owner",
                    "=U/pg_database_owner",
                    "s7b=C/pg_database_owner",
                ],
            ),
            ("s", ["postgres=UC/postgres", "s7a=U/postgres"]),
        ]
        assert admin.execute(
            "SELECT relname, relacl FROM pg_class WHERE relname IN ('t', 'x') ORDER BY 1"
        ).fetchall() == [("t", ["postgres=arwdDxt/postgres", "s7a=r/postgres"]), ("x", None)]
        # revoking the last grant leaves the owner's entry, as PostgreSQL does
        admin.execute("REVOKE SELECT ON t FROM s7a")
        assert admin.execute("SELECT relacl FROM pg_class WHERE relname = 't'").fetchone() == (
            ["postgres=arwdDxt/postgres"],
        )


def test_has_privilege_functions(server: RunningServer) -> None:
    with connect(server) as admin:
        assert admin.execute(
            "SELECT has_schema_privilege('s7a', 's', 'usage,create'),"
            " has_schema_privilege('s7b', 'public', 'create'),"
            " has_schema_privilege('s7a', 'public', 'create'),"
            " has_schema_privilege('s7a', 'pg_catalog', 'usage'),"
            " has_table_privilege('s7b', 'v', 'select'),"
            " has_table_privilege('s7b', 't', 'select')"
        ).fetchone() == (True, True, False, True, True, False)
        denied(
            admin,
            "SELECT has_schema_privilege('nope', 'usage')",
            'schema "nope" does not exist',
            "3F000",
        )
        denied(
            admin,
            "SELECT has_schema_privilege('s', 'select')",
            'unrecognized privilege type: "select"',
            "22023",
        )
        # by oid, as clients (psql's \dn) call it
        assert admin.execute(
            "SELECT has_schema_privilege('s7a', oid, 'USAGE') FROM pg_namespace WHERE nspname = 's'"
        ).fetchone() == (True,)
    with connect(server, "s7b") as s7b:
        # without arguments for the user: the current user
        assert s7b.execute(
            "SELECT has_schema_privilege('public', 'CREATE'), has_schema_privilege('s', 'USAGE'),"
            " has_database_privilege(current_database(), 'CREATE')"
        ).fetchone() == (True, False, False)


def test_information_schema_privileges(server: RunningServer) -> None:
    query = (
        "SELECT grantor, grantee, table_schema, table_name, privilege_type, is_grantable,"
        " with_hierarchy FROM information_schema.table_privileges"
        " WHERE table_schema NOT IN ('pg_catalog', 'information_schema')"
        " ORDER BY table_name, grantee, privilege_type"
    )
    with connect(server, "s7a") as s7a:
        # what PostgreSQL 15 shows s7a for the same grants
        assert s7a.execute(query).fetchall() == [
            ("postgres", "s7a", "public", "t", "SELECT", "NO", "YES"),
            ("postgres", "PUBLIC", "public", "u", "INSERT", "NO", "NO"),
            ("postgres", "PUBLIC", "public", "u", "SELECT", "NO", "YES"),
        ]
        assert s7a.execute("SELECT role_name FROM information_schema.enabled_roles").fetchall() == [
            ("s7a",)
        ]
    with connect(server) as admin:
        rows = admin.execute(query).fetchall()
        # the owner's default privileges count too: 7 for each of t, u, v, x
        assert len(rows) == 4 * 7 + 4
        assert ("postgres", "postgres", "s", "x", "TRUNCATE", "YES", "NO") in rows
        admin.execute("CREATE ROLE grp")
        admin.execute("GRANT grp TO s7b")
        assert admin.execute(
            "SELECT grantee, role_name, is_grantable FROM information_schema.applicable_roles"
        ).fetchall() == [("s7b", "grp", "NO")]
