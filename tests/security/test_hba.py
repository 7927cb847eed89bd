"""Host-based authentication rules: hostssl / hostnossl, per-database and per-user matching
(``all``, ``sameuser``, ``samerole``, ``+group``), address CIDR and mask, first match wins.
The server tests use real clients (psycopg, asyncpg) with and without TLS (trustme).
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from seckit import RunningServer, connect, refused, serving, startup_error

from vecgres.server.auth.hba import HbaError, choose_method, parse_rules


# --- the rules on their own ---------------------------------------------------------------------
def _method(text: str, members: dict[str, set[str]] | None = None, **conn: object) -> str | None:
    groups = members or {}

    def member(user: str, group: str) -> bool:
        return user == group or group in groups.get(user, set())

    params: dict[str, object] = {
        "database": "postgres",
        "user": "alice",
        "address": "127.0.0.1",
        "ssl": False,
    }
    params.update(conn)
    return choose_method(parse_rules(text), member=member, **params)  # type: ignore[arg-type]


def test_rule_matching() -> None:
    assert _method("host all all 127.0.0.1/32 trust") == "trust"
    assert _method("host all all 10.0.0.0/8 trust") is None
    assert _method("host all all 127.0.0.0 255.0.0.0 md5") == "md5"
    assert _method("host all all ::1/128 trust", address="::1") == "trust"
    assert _method("host all all 127.0.0.1/32 trust", address="::ffff:127.0.0.1") == "trust"
    assert _method("local all all trust", address=None) == "trust"
    assert _method("local all all trust") is None
    # TLS
    assert _method("hostssl all all 0.0.0.0/0 trust") is None
    assert _method("hostssl all all 0.0.0.0/0 trust", ssl=True) == "trust"
    assert _method("hostnossl all all 0.0.0.0/0 trust", ssl=True) is None
    assert _method("hostnossl all all 0.0.0.0/0 trust") == "trust"
    # databases and users
    assert _method("host app,postgres all all trust") == "trust"
    assert _method("host app all all trust") is None
    assert _method("host sameuser all all trust") is None
    assert _method("host sameuser all all trust", database="alice") == "trust"
    assert _method("host samerole all all trust", {"alice": {"postgres"}}) == "trust"
    assert _method("host samerole all all trust", {"alice": {"other"}}) is None
    assert _method("host all bob,alice all trust") == "trust"
    assert _method("host all +staff all trust") is None
    assert _method("host all +staff all trust", {"alice": {"staff"}}) == "trust"
    # first match wins, reject included
    rules = "host all alice all reject\nhost all all all trust"
    assert _method(rules) == "reject"
    assert _method(rules, user="bob") == "trust"


def test_bad_rules() -> None:
    for text, message in [
        ("hostx all all all trust", "line 1: invalid connection type 'hostx'"),
        ("host all all", "line 1: expected 5 fields"),
        ("\n# comment\nhost all all all ident", "line 3: invalid authentication method 'ident'"),
        ("host all all 300.0.0.1/8 trust", "line 1: '300.0.0.1/8' does not appear to be"),
    ]:
        with pytest.raises(HbaError, match=message):
            parse_rules(text)


# --- over the wire --------------------------------------------------------------------------
HBA = """\
hostssl all secure 127.0.0.1/32 trust
hostnossl all plain 127.0.0.1/32 trust
host postgres postgres 127.0.0.1/32 trust
host sameuser all 127.0.0.1/32 trust
host all +staff 127.0.0.1/32 trust
host all all 10.0.0.0/8 trust
"""


@pytest.fixture
def tls_server(tmp_path: Path) -> Iterator[RunningServer]:
    import trustme

    from vecgres.server.server import TlsConfig

    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1", "localhost")
    cert_file, key_file = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert.private_key_and_cert_chain_pem.write_to_path(str(cert_file))
    cert.private_key_pem.write_to_path(str(key_file))
    hba = tmp_path / "pg_hba.conf"
    hba.write_text(HBA)
    with serving(tmp_path, tls=TlsConfig(str(cert_file), str(key_file)), hba_file=str(hba)) as srv:
        with connect(srv) as admin:
            for role in ("secure", "plain", "alice", "bob"):
                admin.execute(f"CREATE ROLE {role} LOGIN")
            admin.execute("CREATE ROLE staff")
            admin.execute("CREATE DATABASE alice")
        yield srv


def _no_entry(srv: RunningServer, user: str, dbname: str, sslmode: str) -> str:
    """The FATAL message of a refused connection (psycopg); its SQLSTATE read off the wire."""
    if sslmode == "disable":
        error = startup_error(srv, user, dbname)
        assert (error["S"], error["C"]) == ("FATAL", "28000")
    return refused(srv, user, dbname, sslmode)


def test_hostssl_and_hostnossl(tls_server: RunningServer) -> None:
    assert _no_entry(tls_server, "secure", "postgres", "disable") == (
        'FATAL:  no pg_hba.conf entry for host "127.0.0.1", user "secure", '
        'database "postgres", no encryption'
    )
    with psycopg.connect(tls_server.dsn(user="secure", sslmode="require")) as conn:
        assert conn.info.pgconn.ssl_in_use
        assert conn.execute("SELECT current_user").fetchone() == ("secure",)
    assert _no_entry(tls_server, "plain", "postgres", "require") == (
        'FATAL:  no pg_hba.conf entry for host "127.0.0.1", user "plain", '
        'database "postgres", SSL encryption'
    )
    with psycopg.connect(tls_server.dsn(user="plain")) as conn:
        assert not conn.info.pgconn.ssl_in_use
        assert conn.execute("SELECT 1").fetchone() == (1,)


def test_sameuser_and_group(tls_server: RunningServer) -> None:
    # sameuser: alice may reach the database named alice, and no other
    with psycopg.connect(tls_server.dsn(user="alice", dbname="alice")) as conn:
        assert conn.execute("SELECT current_database()").fetchone() == ("alice",)
    assert _no_entry(tls_server, "alice", "postgres", "disable").startswith(
        "FATAL:  no pg_hba.conf entry"
    )
    # +staff: members of staff, only while they are members
    assert _no_entry(tls_server, "bob", "postgres", "disable").endswith(
        'user "bob", database "postgres", no encryption'
    )
    with connect(tls_server) as admin:
        admin.execute("GRANT staff TO bob")
    with psycopg.connect(tls_server.dsn(user="bob")) as conn:
        assert conn.execute("SELECT current_user").fetchone() == ("bob",)
    with connect(tls_server) as admin:
        admin.execute("REVOKE staff FROM bob")
    assert _no_entry(tls_server, "bob", "postgres", "require").endswith("SSL encryption")
