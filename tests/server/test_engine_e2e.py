"""Real clients against the real engine (vecgres.engine.Database) through the server."""

from __future__ import annotations

import asyncio
import shutil
import subprocess

import pytest


def test_psycopg_create_insert_select(engine_server):
    import psycopg

    with psycopg.connect(engine_server.dsn(), autocommit=True) as conn:
        conn.execute("create table t(id int, v text)")
        conn.execute("insert into t values (1, 'a'), (2, 'b')")
        assert conn.execute("select * from t order by id").fetchall() == [(1, "a"), (2, "b")]
        assert conn.execute("select v from t where id = %s", [2]).fetchall() == [("b",)]
        assert conn.execute("select id, v from t order by id", binary=True).fetchall() == [
            (1, "a"),
            (2, "b"),
        ]


def test_asyncpg_and_pg8000(engine_server):
    import asyncpg
    import pg8000.native

    async def run():
        conn = await asyncpg.connect(
            host="127.0.0.1",
            port=engine_server.port,
            user="postgres",
            database="postgres",
            ssl=False,
        )
        try:
            await conn.execute("create table a(id bigint, name text)")
            await conn.execute("insert into a values (7, 'x')")
            assert await conn.fetch("select id, name from a where id = $1", 7) == [(7, "x")]
        finally:
            await conn.close()

    asyncio.run(run())
    conn = pg8000.native.Connection(
        "postgres", host="127.0.0.1", port=engine_server.port, database="postgres"
    )
    try:
        assert conn.run("select name from a where id = :i", i=7) == [["x"]]
    finally:
        conn.close()


@pytest.mark.skipif(shutil.which("psql") is None, reason="psql not installed")
def test_psql_c(engine_server):
    dsn = engine_server.dsn()
    subprocess.run(
        ["psql", dsn, "-c", "create table p(x int); insert into p values (5)"],
        check=True,
        capture_output=True,
        timeout=30,
    )
    out = subprocess.run(
        ["psql", dsn, "-Atc", "select x from p"], capture_output=True, text=True, timeout=30
    )
    assert out.stdout.strip() == "5", out.stderr


def test_missing_database_is_fatal_3d000(engine_server):
    import psycopg

    with pytest.raises(psycopg.OperationalError, match='database "nope" does not exist'):
        psycopg.connect(engine_server.dsn(dbname="nope"))
