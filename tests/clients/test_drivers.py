"""Drivers' connect-time and type introspection against the catalog, over a socket."""

from __future__ import annotations

import asyncio

import numpy as np


def test_psycopg_typeinfo_and_register_vector(server):
    import psycopg
    from pgvector.psycopg import register_vector
    from psycopg.types import TypeInfo

    with psycopg.connect(server.dsn(), autocommit=True) as conn:
        info = TypeInfo.fetch(conn, "vector")
        assert info is not None
        assert (info.name, info.oid, info.array_oid) == ("vector", 16385, 16390)
        register_vector(conn)
        conn.execute("create table items (id int primary key, embedding vector(3))")
        conn.execute("insert into items values (1, %s)", [np.array([1.0, 2.0, 3.0])])
        row = conn.execute("select embedding from items").fetchone()
        assert row is not None
        assert np.array_equal(row[0].to_numpy(), np.array([1.0, 2.0, 3.0], dtype=np.float32))
        version = conn.execute("select pg_catalog.version()").fetchone()
        assert version is not None
        assert version[0].startswith("PostgreSQL 16.")
        assert conn.execute("select to_regtype('vector')::oid").fetchone() == (16385,)


def test_asyncpg_introspection_and_register_vector(server):
    import asyncpg
    from pgvector.asyncpg import register_vector

    async def run():
        conn = await asyncpg.connect(
            host="127.0.0.1", port=server.port, user="postgres", database="postgres", ssl=False
        )
        try:
            await register_vector(conn)
            await conn.execute("create table items (id int primary key, e vector(3), t int[])")
            await conn.execute(
                "insert into items values (1, $1, $2)", np.array([1.0, 2.0, 3.0]), [4, 5]
            )
            # int[] is not one of asyncpg's core types: this runs its typeinfo query
            rows = await conn.fetch("select e, t from items")
            assert rows[0]["t"] == [4, 5]
            assert np.array_equal(
                rows[0]["e"].to_numpy(), np.array([1.0, 2.0, 3.0], dtype=np.float32)
            )
        finally:
            await conn.close()
        pool = await asyncpg.create_pool(
            host="127.0.0.1", port=server.port, user="postgres", ssl=False, min_size=1, max_size=1
        )
        try:
            for _ in range(2):  # releasing runs the pool's reset: CLOSE ALL; UNLISTEN *; ...
                async with pool.acquire() as c:
                    await c.execute("set application_name = 'pooled'")
                    assert await c.fetchval("select count(*) from items") == 1
            async with pool.acquire() as c:
                # the reset's RESET ALL took the setting back
                assert await c.fetchval("show application_name") == ""
        finally:
            await pool.close()

    asyncio.run(run())


def test_row_description_names_base_table_columns(server):
    import psycopg

    with psycopg.connect(server.dsn(), autocommit=True) as conn:
        conn.execute("create table items (id int primary key, name text, embedding vector(3))")
        oid_row = conn.execute("select 'items'::regclass::oid").fetchone()
        assert oid_row is not None
        cur = conn.execute("select embedding, id, 1 as one from items")
        result = cur.pgresult
        assert result is not None
        # (table OID, attnum) per column, 0/0 for a computed one, as PostgreSQL sends them
        assert [(result.ftable(i), result.ftablecol(i)) for i in range(3)] == [
            (oid_row[0], 3),
            (oid_row[0], 1),
            (0, 0),
        ]
        cur = conn.execute("select relname from pg_catalog.pg_class limit 1")
        assert cur.pgresult is not None
        assert (cur.pgresult.ftable(0), cur.pgresult.ftablecol(0)) == (1259, 2)
        assert cur.pgresult.ftype(0) == 19  # name


def test_unanswerable_catalog_query_is_0A000_and_connection_survives(server):
    import psycopg
    import pytest

    with psycopg.connect(server.dsn(), autocommit=True) as conn:
        with pytest.raises(psycopg.errors.FeatureNotSupported, match=r"pg_catalog\.pg_init_privs"):
            conn.execute("select privtype from pg_catalog.pg_init_privs")
        with pytest.raises(psycopg.errors.FeatureNotSupported, match="pg_get_keywords"):
            conn.execute("select * from pg_catalog.pg_class where pg_get_keywords() is null")
        # empty because vecgres has none, not because it does not know
        assert conn.execute("select count(*) from pg_catalog.pg_inherits").fetchone() == (0,)
        assert conn.execute("select 1").fetchone() == (1,)


def test_index_key_vectors_decode_in_psycopg_and_asyncpg(server):
    """pg_index.indkey/indclass go out as int2vector/oidvector, as PostgreSQL sends them."""
    import asyncpg
    import psycopg

    with psycopg.connect(server.dsn(), autocommit=True) as conn:
        conn.execute("create table t (id int primary key, a int, b int)")
        conn.execute("create index t_ab on t (a, b)")
        cur = conn.execute(
            "select indkey, indoption, indclass from pg_index where indexrelid = 't_ab'::regclass"
        )
        assert [d.type_code for d in cur.description] == [22, 22, 30]
        # psycopg has no loader for them: their text form, as from PostgreSQL
        assert cur.fetchall() == [("2 3", "0 0", "1978 1978")]

    async def run():
        conn = await asyncpg.connect(
            host="127.0.0.1", port=server.port, user="postgres", database="postgres", ssl=False
        )
        try:
            row = await conn.fetchrow(
                "select indkey, indclass from pg_index where indexrelid = 't_ab'::regclass"
            )
            assert (list(row["indkey"]), list(row["indclass"])) == ([2, 3], [1978, 1978])
        finally:
            await conn.close()

    asyncio.run(run())
