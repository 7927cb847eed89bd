"""A table's composite row type through psycopg and asyncpg, as on PostgreSQL.

``SELECT t FROM t`` is described with the table's row type (pg_type typtype 'c'):
psycopg returns its text until the type is registered, then loads it (text and
binary results) with CompositeInfo.fetch + register_composite; asyncpg introspects
it through pg_type/pg_attribute and decodes record_send into Records, a vector
field included once pgvector.asyncpg has registered vector. Checked on PostgreSQL
15 with a plain table (id int, s text, f float8): the same values come back.
"""

from __future__ import annotations

import asyncio

import numpy as np
import psycopg
from psycopg.types.composite import CompositeInfo, register_composite


def _load(conn: psycopg.Connection) -> None:
    conn.execute("create table tp (id int, s text, f float8)")
    conn.execute("insert into tp values (1, 'a b', 1.5), (2, null, null)")


def test_psycopg_sees_the_row_type_and_loads_it_once_registered(server):
    with psycopg.connect(server.dsn(), autocommit=True) as conn:
        _load(conn)
        reltype = conn.execute("select reltype from pg_class where relname = 'tp'").fetchone()[0]
        cur = conn.execute("select tp from tp order by id")
        assert cur.description[0].type_code == reltype
        # an unregistered composite is its record_out text
        assert cur.fetchall() == [('(1,"a b",1.5)',), ("(2,,)",)]
        info = CompositeInfo.fetch(conn, "tp")
        assert info is not None
        assert (info.oid, info.field_names, info.field_types) == (
            reltype,
            ("id", "s", "f"),
            (23, 25, 701),
        )
        register_composite(info, conn)
        rows = conn.execute("select tp from tp order by id").fetchall()
        assert [tuple(r[0]) for r in rows] == [(1, "a b", 1.5), (2, None, None)]
        assert rows[0][0].s == "a b"
        binary = conn.cursor(binary=True).execute("select tp from tp order by id").fetchall()
        assert [tuple(r[0]) for r in binary] == [(1, "a b", 1.5), (2, None, None)]
        (agg,) = conn.cursor(binary=True).execute("select array_agg(tp order by id) from tp")
        assert [tuple(r) for r in agg[0]] == [(1, "a b", 1.5), (2, None, None)]


def test_asyncpg_decodes_a_row_type_with_a_vector_field(server):
    import asyncpg
    from pgvector.asyncpg import register_vector

    async def run() -> None:
        conn = await asyncpg.connect(
            host="127.0.0.1", port=server.port, user="postgres", database="postgres", ssl=False
        )
        try:
            await conn.execute("create table ta (id int, s text, f float8)")
            await conn.execute("insert into ta values (1, 'a b', 1.5), (2, null, null)")
            rows = await conn.fetch("select ta from ta order by id")
            assert [dict(r["ta"].items()) for r in rows] == [
                {"id": 1, "s": "a b", "f": 1.5},
                {"id": 2, "s": None, "f": None},
            ]
            agg = await conn.fetchval("select array_agg(ta order by id) from ta")
            assert [tuple(r.values()) for r in agg] == [(1, "a b", 1.5), (2, None, None)]

            await conn.execute("create extension if not exists vector")
            await register_vector(conn)
            await conn.execute("create table tv (id int, v vector(3))")
            await conn.execute("insert into tv values (1, '[1,2,3]'), (2, null)")
            rows = await conn.fetch("select tv from tv order by id")
            first, second = (r["tv"] for r in rows)
            assert first["id"] == 1
            assert np.array_equal(first["v"].to_numpy(), np.array([1, 2, 3], dtype=np.float32))
            assert (second["id"], second["v"]) == (2, None)
        finally:
            await conn.close()

    asyncio.run(run())
