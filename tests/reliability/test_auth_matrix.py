"""T11: SCRAM-SHA-256 and TLS, as a matrix over the real server and real clients
(psycopg/libpq, pg8000, asyncpg, Python's ssl), plus malformed SCRAM exchanges
on a raw socket. Roles are made with SQL (stored as SCRAM verifiers only);
pg_hba-style rules pick the method per user: trust, reject, md5 (SCRAM-stored
passwords then use SCRAM, as in PostgreSQL), password, scram-sha-256,
hostssl-only. Prints ``auth: matrix_passed=…/… user_enumeration_diff=0
fuzz_crashes=0``.
"""

from __future__ import annotations

import asyncio
import base64
import gc
import socket
import ssl
import struct
import sys
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg
import pytest
from harness import figures

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "server"))
from wireclient import Raw, RunningServer, fields, msg, start_server

HBA = """
host all postgres 127.0.0.1/32 trust
host all trusty 127.0.0.1/32 trust
host all blocked 127.0.0.1/32 reject
hostssl all sslonly 127.0.0.1/32 scram-sha-256
hostnossl all sslonly 127.0.0.1/32 reject
host all md5er 127.0.0.1/32 md5
hostssl all clear 127.0.0.1/32 password
host all all 127.0.0.1/32 scram-sha-256
"""
ROLES = {"app": "s3cret", "trusty": "t", "blocked": "b", "sslonly": "o", "md5er": "m", "clear": "c"}


@pytest.fixture(scope="module")
def tls_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    import trustme

    from vecgres.server.server import TlsConfig

    tmp = tmp_path_factory.mktemp("auth")
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1", "localhost")
    cert_file, key_file, ca_file = tmp / "cert.pem", tmp / "key.pem", tmp / "ca.pem"
    cert.private_key_and_cert_chain_pem.write_to_path(str(cert_file))
    cert.private_key_pem.write_to_path(str(key_file))
    ca.cert_pem.write_to_path(str(ca_file))
    other = tmp / "other-ca.pem"
    trustme.CA().cert_pem.write_to_path(str(other))
    hba = tmp / "hba.conf"
    hba.write_text(HBA)
    srv = start_server(tmp, tls=TlsConfig(str(cert_file), str(key_file)), hba_file=str(hba))
    srv.ca_file = str(ca_file)  # type: ignore[attr-defined]
    srv.other_ca = str(other)  # type: ignore[attr-defined]
    with psycopg.connect(srv.dsn(), autocommit=True) as admin:
        for role, password in ROLES.items():
            admin.execute(f"CREATE ROLE {role} LOGIN PASSWORD '{password}'")
    try:
        yield srv
    finally:
        srv.stop()


@pytest.fixture(scope="module")
def plain_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    srv = start_server(tmp_path_factory.mktemp("plain"))
    try:
        yield srv
    finally:
        srv.stop()


def _who(dsn: str) -> str:
    with psycopg.connect(dsn, connect_timeout=10) as conn:
        row = conn.execute("SELECT current_user").fetchone()
        assert row is not None
        return str(row[0])


def _refused(dsn: str) -> str | None:
    """The server's FATAL message for a refused connect; None when the client
    refused on its own (no server message); 'connected' if not refused."""
    try:
        psycopg.connect(dsn, connect_timeout=10).close()
    except psycopg.OperationalError as exc:
        text = str(exc)
        return text.split("FATAL:  ", 1)[1].strip() if "FATAL:  " in text else None
    return "connected"


def _tls_handshake(port: int, version: ssl.TLSVersion, ca_file: str) -> str:
    """SSLRequest, then a handshake capped at ``version``: 'ok' or the error's name."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(struct.pack(">ii", 8, 80877103))
        assert sock.recv(1) == b"S"
        ctx = ssl.create_default_context(cafile=ca_file)
        with warnings.catch_warnings():  # TLS 1.1 is deprecated: that is the point
            warnings.simplefilter("ignore", DeprecationWarning)
            ctx.minimum_version = ssl.TLSVersion.MINIMUM_SUPPORTED
            ctx.maximum_version = version
            # let this client offer old versions, so only the server can refuse them
            ctx.set_ciphers("DEFAULT:@SECLEVEL=0")
        tls = ctx.wrap_socket(sock, server_hostname="127.0.0.1", do_handshake_on_connect=False)
        try:
            tls.do_handshake()
        except (ssl.SSLError, ConnectionError) as exc:
            return type(exc).__name__
        finally:
            tls.close()
        return "ok"


def _pg8000(port: int, user: str, password: str) -> str:
    import pg8000.native

    conn = pg8000.native.Connection(
        user, host="127.0.0.1", port=port, password=password, database="postgres"
    )
    try:
        return str(conn.run("SELECT current_user")[0][0])
    finally:
        conn.close()


def _sqlstate(port: int, user: str, password: str, ca_file: str | None = None) -> str:
    """The SQLSTATE asyncpg gets for a refused login ('connected' if it is not
    refused); over TLS when ``ca_file`` is given."""
    import asyncpg

    ctx: ssl.SSLContext | bool = ssl.create_default_context(cafile=ca_file) if ca_file else False

    async def run() -> str:
        try:
            conn = await asyncpg.connect(
                host="127.0.0.1",
                port=port,
                user=user,
                password=password,
                database="postgres",
                ssl=ctx,
            )
        except asyncpg.PostgresError as exc:
            return str(exc.sqlstate)
        await conn.close()
        return "connected"

    try:
        return asyncio.run(run())
    finally:
        # asyncpg leaves the socket of a refused login to the garbage collector;
        # collect it here, where its ResourceWarning is expected, not in a later test
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ResourceWarning)
            gc.collect()


def test_auth_matrix(tls_server: RunningServer, plain_server: RunningServer) -> None:
    srv = tls_server
    ca = srv.ca_file  # type: ignore[attr-defined]
    plain = {"sslmode": "disable"}
    tls = {"sslmode": "verify-full", "sslrootcert": ca}
    fail_pw = 'password authentication failed for user "{}"'
    rejects = (
        'pg_hba.conf rejects connection for host "127.0.0.1", user "{}", '
        'database "postgres", no encryption'
    )
    port = srv.port
    cases: dict[str, Callable[[], bool]] = {
        "scram right password": lambda: _who(srv.dsn(user="app", password="s3cret")) == "app",
        "scram wrong password message": lambda: (
            _refused(srv.dsn(user="app", password="x")) == fail_pw.format("app")
        ),
        "scram wrong password 28P01": lambda: _sqlstate(port, "app", "x") == "28P01",
        "scram unknown user: same message": lambda: (
            _refused(srv.dsn(user="ghost", password="x")) == fail_pw.format("ghost")
        ),
        "scram unknown user 28P01": lambda: _sqlstate(port, "ghost", "x") == "28P01",
        "scram over TLS (verify-full)": lambda: (
            _who(srv.dsn(user="app", password="s3cret", **tls)) == "app"
        ),
        "scram-sha-256-plus channel binding over TLS": lambda: (
            _who(srv.dsn(user="app", password="s3cret", channel_binding="require", **tls)) == "app"
        ),
        "channel binding required without TLS refused": lambda: (
            _refused(srv.dsn(user="app", password="s3cret", channel_binding="require", **plain))
            is None
        ),
        "md5 rule, SCRAM-stored password: SCRAM": lambda: (
            _who(srv.dsn(user="md5er", password="m", **plain)) == "md5er"
        ),
        "md5 rule wrong password 28P01": lambda: _sqlstate(port, "md5er", "x") == "28P01",
        "password rule over TLS": lambda: (
            _who(srv.dsn(user="clear", password="c", **tls)) == "clear"
        ),
        "password rule wrong password 28P01": lambda: _sqlstate(port, "clear", "x", ca) == "28P01",
        "trust without password": lambda: _who(srv.dsn(user="trusty", **plain)) == "trusty",
        "reject rule message": lambda: (
            _refused(srv.dsn(user="blocked", password="b")) == rejects.format("blocked")
        ),
        "reject rule 28000": lambda: _sqlstate(port, "blocked", "b") == "28000",
        "hostssl user over TLS": lambda: (
            _who(srv.dsn(user="sslonly", password="o", **tls)) == "sslonly"
        ),
        "hostssl user in plaintext refused": lambda: (
            _refused(srv.dsn(user="sslonly", password="o", **plain)) == rejects.format("sslonly")
        ),
        "hostssl user in plaintext 28000": lambda: _sqlstate(port, "sslonly", "o") == "28000",
        "verify-full against another CA refused": lambda: (
            _refused(
                srv.dsn(
                    user="app",
                    password="s3cret",
                    sslmode="verify-full",
                    sslrootcert=srv.other_ca,  # type: ignore[attr-defined]
                )
            )
            is None
        ),
        "TLS 1.2 handshake": lambda: _tls_handshake(port, ssl.TLSVersion.TLSv1_2, ca) == "ok",
        "TLS 1.1 refused (1.2 minimum)": lambda: (
            _tls_handshake(port, ssl.TLSVersion.TLSv1_1, ca) != "ok"
        ),
        "TLS off: sslmode=require refused": lambda: (
            _refused(plain_server.dsn(sslmode="require")) is None
        ),
        "pg8000 scram": lambda: _pg8000(port, "app", "s3cret") == "app",
        "asyncpg scram over TLS": lambda: _sqlstate(port, "app", "s3cret", ca) == "connected",
    }
    failed = []
    for name, case in cases.items():
        try:
            ok = case()
        except Exception as exc:  # a crash of a case is a failed row, reported by name
            ok = False
            name = f"{name}: {exc!r}"
        if not ok:
            failed.append(name)
    passed = len(cases) - len(failed)
    enum_diff = _enumeration_diff(srv)
    fuzz_crashes, fuzz_cases = _scram_fuzz(srv)
    figures(
        "auth",
        matrix_passed=f"{passed}/{len(cases)}",
        user_enumeration_diff=enum_diff,
        fuzz_cases=fuzz_cases,
        fuzz_crashes=fuzz_crashes,
    )
    assert not failed, failed
    assert enum_diff == 0
    assert fuzz_crashes == 0


# --- raw SCRAM exchanges -------------------------------------------------------------------


def _auth_code(body: bytes) -> int:
    return int(struct.unpack(">i", body[:4])[0])


def _client_first(raw: Raw, user: str, nonce: str = "rOprNGfwEbeRWgbNEkqO") -> dict[str, str]:
    """Startup, AuthenticationSASL, SASLInitialResponse: the server-first attributes."""
    params = {"user": user, "database": "postgres"}
    body = (
        struct.pack(">i", 3 << 16)
        + b"".join(k.encode() + b"\0" + v.encode() + b"\0" for k, v in params.items())
        + b"\0"
    )
    raw.send(struct.pack(">i", len(body) + 4) + body)
    got = raw.message()
    assert got is not None, "no answer to the startup"
    assert (got[0], _auth_code(got[1])) == ("R", 10), got
    first = f"n,,n=,r={nonce}".encode()
    raw.send(msg("p", b"SCRAM-SHA-256\0" + struct.pack(">i", len(first)) + first))
    got = raw.message()
    assert got is not None, "no answer to SASLInitialResponse"
    assert (got[0], _auth_code(got[1])) == ("R", 11), got
    return dict(part.split("=", 1) for part in got[1][4:].decode().split(","))


def _enumeration_diff(srv: RunningServer) -> int:
    """A known and an unknown user get the same SASL exchange shape (mechanisms,
    iteration count, salt length) and the same failure: 0 differences."""
    shapes = []
    for user in ("app", "nobody_here"):
        raw = Raw(srv.port)
        try:
            server_first = _client_first(raw, user)
            final = b"c=biws,r=" + server_first["r"].encode() + b",p=" + base64.b64encode(b"x" * 32)
            raw.send(msg("p", final))
            reply = raw.message()
            err = fields(reply[1]) if reply and reply[0] == "E" else {}
            shapes.append(
                (
                    server_first["i"],
                    len(base64.b64decode(server_first["s"])),
                    err.get("C"),
                    err.get("M", "").replace(user, "U"),
                )
            )
        finally:
            raw.close()
    return sum(a != b for a, b in zip(shapes[0], shapes[1], strict=True))


def _scram_fuzz(srv: RunningServer) -> tuple[int, int]:
    """Malformed exchanges end with 08P01 or 28P01 (never a crash): (crashes, cases)."""
    nonce = "fyko+d2lbbFgONRv9qkxdawL"

    def bad_proof(sf: dict[str, str]) -> bytes:
        return b"c=biws,r=" + sf["r"].encode() + b",p=" + base64.b64encode(b"\0" * 32)

    def nonce_not_echoed(sf: dict[str, str]) -> bytes:
        return b"c=biws,r=" + nonce.encode() + b"XXXX,p=" + base64.b64encode(b"\0" * 32)

    def wrong_binding_flag(sf: dict[str, str]) -> bytes:
        cbind = base64.b64encode(b"y,,")  # the first message said "n,,"
        return b"c=" + cbind + b",r=" + sf["r"].encode() + b",p=" + base64.b64encode(b"\0" * 32)

    def truncated(sf: dict[str, str]) -> bytes:
        return b"c=biws,r=" + sf["r"].encode()[:5]

    def proof_not_base64(sf: dict[str, str]) -> bytes:
        return b"c=biws,r=" + sf["r"].encode() + b",p=!!!notbase64"

    crashes = 0
    makers = (bad_proof, nonce_not_echoed, wrong_binding_flag, truncated, proof_not_base64)
    for make in makers:
        raw = Raw(srv.port)
        try:
            sf = _client_first(raw, "app", nonce)
            raw.send(msg("p", make(sf)))
            reply = raw.message()
            code = fields(reply[1]).get("C") if reply and reply[0] == "E" else None
            if code not in ("08P01", "28P01"):
                crashes += 1
        finally:
            raw.close()
        # the server still serves a fresh connection
        if _who(srv.dsn(user="app", password="s3cret")) != "app":
            crashes += 1
    return crashes, len(makers)


def test_scram_non_utf8_response_is_08p01(tls_server: RunningServer) -> None:
    raw = Raw(tls_server.port)
    try:
        _client_first(raw, "app")
        raw.send(msg("p", b"\xff\x00\xfe" * 20))
        reply = raw.message()
    finally:
        raw.close()
    assert reply is not None
    assert reply[0] == "E"
    assert fields(reply[1]).get("C") == "08P01"


def test_unknown_user_salt_is_as_stable_as_a_known_users(tls_server: RunningServer) -> None:
    salts: dict[str, set[str]] = {}
    for user in ("app", "app", "nobody_here", "nobody_here"):
        raw = Raw(tls_server.port)
        try:
            salts.setdefault(user, set()).add(_client_first(raw, user)["s"])
        finally:
            raw.close()
    assert len(salts["app"]) == 1
    assert len(salts["nobody_here"]) == 1
