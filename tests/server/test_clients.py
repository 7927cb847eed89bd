"""Real client libraries against the server (fake session): psycopg 3, asyncpg, pg8000, psql."""

from __future__ import annotations

import asyncio
import shutil
import ssl
import subprocess

import pytest
from wireclient import start_server


def test_psycopg_simple_prepared_binary_pipeline(fake_server):
    import psycopg

    with psycopg.connect(fake_server.dsn(), autocommit=True) as conn:
        assert conn.execute("select 42").fetchone() == (42,)
        assert conn.execute("select %s", ["hello"]).fetchone() == ("hello",)
        row = conn.execute("select %s::int8, %s", [7, "x"], binary=True).fetchone()
        assert row == (7, "x")
        for _ in range(6):  # past prepare_threshold: named statements
            assert conn.execute("select %s::int8, %s", [-5, "y"]).fetchone() == (-5, "y")
        with conn.pipeline():
            cur1 = conn.execute("select 1")
            cur2 = conn.execute("select %s::int8, %s", [1, "z"])
        assert cur1.fetchone() == (1,)
        assert cur2.fetchone() == (1, "z")
        with pytest.raises(psycopg.errors.DivisionByZero):
            conn.execute("select 1/0")
        assert list(conn.execute("select generate_series(2500)")) == [(i,) for i in range(2500)]


def test_psycopg_copy(fake_server):
    import psycopg

    with psycopg.connect(fake_server.dsn(), autocommit=True) as conn:
        with conn.cursor().copy("copy t from stdin") as copy:
            copy.write(b"1\ta\n")
        with conn.cursor().copy("copy t to stdout") as copy:
            assert b"".join(bytes(b) for b in copy) == b"1\ta\n2\tb\n"


def test_asyncpg(fake_server):
    import asyncpg

    async def run():
        conn = await asyncpg.connect(
            host="127.0.0.1", port=fake_server.port, user="postgres", database="postgres", ssl=False
        )
        try:
            assert await conn.fetchval("select 5") == 5
            assert await conn.fetchrow("select $1::int8, $2", 3, "t") == (3, "t")
        finally:
            await conn.close()

    asyncio.run(run())


def test_pg8000(fake_server):
    import pg8000.native

    conn = pg8000.native.Connection(
        "postgres", host="127.0.0.1", port=fake_server.port, database="postgres"
    )
    try:
        assert conn.run("select 9") == [[9]]
        assert conn.run("select $1::int8, $2", **{}) if False else True
    finally:
        conn.close()


@pytest.mark.skipif(shutil.which("psql") is None, reason="psql not installed")
def test_psql_c(fake_server):
    out = subprocess.run(
        ["psql", fake_server.dsn(), "-Atc", "select 11"], capture_output=True, text=True, timeout=20
    )
    assert out.stdout.strip() == "11", out.stderr


@pytest.fixture
def scram_tls_server(tmp_path):
    import trustme
    from fake_session import FakeDatabase

    from vecgres.server.auth.users import MemoryUserStore
    from vecgres.server.server import TlsConfig

    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1", "localhost")
    cert_file, key_file = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert.private_key_and_cert_chain_pem.write_to_path(str(cert_file))
    cert.private_key_pem.write_to_path(str(key_file))
    ca_file = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    hba = tmp_path / "hba.conf"
    hba.write_text(
        "hostssl all all 127.0.0.1/32 scram-sha-256\n"
        "host all md5user 127.0.0.1/32 md5\n"
        "host all all 127.0.0.1/32 scram-sha-256\n"
    )
    users = MemoryUserStore()
    users.set_password("app", "s3cret")
    users.set_password("md5user", "pw")
    srv = start_server(
        tmp_path,
        opener=lambda p, s: FakeDatabase(),
        tls=TlsConfig(str(cert_file), str(key_file)),
        hba_file=str(hba),
        users=users,
    )
    srv.ca_file = str(ca_file)
    try:
        yield srv
    finally:
        srv.stop()


def test_scram_right_and_wrong_password(scram_tls_server):
    import psycopg

    dsn = scram_tls_server.dsn(user="app", password="s3cret")
    with psycopg.connect(dsn) as conn:
        assert conn.execute("select 1").fetchone() == (1,)
    with pytest.raises(
        psycopg.OperationalError, match='password authentication failed for user "app"'
    ):
        psycopg.connect(scram_tls_server.dsn(user="app", password="wrong"))


def test_md5(scram_tls_server):
    import psycopg

    with psycopg.connect(scram_tls_server.dsn(user="md5user", password="pw")) as conn:
        assert conn.execute("select 2").fetchone() == (2,)


def test_tls_with_scram_plus_channel_binding(scram_tls_server):
    import psycopg

    dsn = scram_tls_server.dsn(
        user="app",
        password="s3cret",
        sslmode="verify-full",
        sslrootcert=scram_tls_server.ca_file,
        channel_binding="require",
    )
    with psycopg.connect(dsn) as conn:
        assert conn.info.pgconn.ssl_in_use
        assert conn.execute("select 3").fetchone() == (3,)


def test_asyncpg_tls_scram(scram_tls_server):
    import asyncpg

    ctx = ssl.create_default_context(cafile=scram_tls_server.ca_file)

    async def run():
        conn = await asyncpg.connect(
            host="127.0.0.1",
            port=scram_tls_server.port,
            user="app",
            password="s3cret",
            database="postgres",
            ssl=ctx,
        )
        try:
            assert await conn.fetchval("select 4") == 4
        finally:
            await conn.close()

    asyncio.run(run())


def test_tls_required_refused_when_off(fake_server):
    import psycopg

    with pytest.raises(psycopg.OperationalError, match="SSL"):
        psycopg.connect(fake_server.dsn(sslmode="require"))
