"""SQL cursors, psycopg server-side cursors and pipeline mode, asyncpg's pool and scripted
psql, all against the real engine."""

from __future__ import annotations

import asyncio
import shutil
import subprocess

import psycopg
import pytest

needs_psql = pytest.mark.skipif(shutil.which("psql") is None, reason="psql not installed")


def _fill(dsn: str, n: int = 1000) -> None:
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("create table t (id int, name text, v vector(2))")
        conn.execute(
            "insert into t select g, 'n' || g, array[g, -g]::vector from generate_series(1, %s) g",
            [n],
        )


def test_declare_fetch_move_close(engine_server):
    _fill(engine_server.dsn(), 10)
    with psycopg.connect(engine_server.dsn()) as conn:
        conn.execute("declare c cursor for select id from t where id > 2 order by id")
        assert conn.execute("fetch 3 from c").fetchall() == [(3,), (4,), (5,)]
        cur = conn.execute("move 2 in c")
        assert cur.statusmessage == "MOVE 2"
        assert conn.execute("fetch next from c").fetchall() == [(8,)]
        cur = conn.execute("fetch forward all from c")
        assert cur.fetchall() == [(9,), (10,)]
        assert cur.statusmessage == "FETCH 2"
        assert conn.execute("fetch c").fetchall() == []
        conn.execute("close c")
        with pytest.raises(psycopg.errors.InvalidCursorName, match='cursor "c" does not exist'):
            conn.execute("fetch c")
        conn.rollback()
        conn.execute("declare d cursor for select 1")
        with pytest.raises(psycopg.errors.ObjectNotInPrerequisiteState, match="scan forward"):
            conn.execute("fetch backward 1 from d")
        conn.rollback()
        conn.execute("declare e cursor for select 1")
        conn.commit()  # a cursor without WITH HOLD ends with its transaction
        with pytest.raises(psycopg.errors.InvalidCursorName):
            conn.execute("fetch e")
    with psycopg.connect(engine_server.dsn(), autocommit=True) as conn:
        with pytest.raises(
            psycopg.errors.NoActiveSqlTransaction,
            match="DECLARE CURSOR can only be used in transaction blocks",
        ):
            conn.execute("declare f cursor for select 1")
        conn.execute("declare h cursor with hold for select id from t order by id")
        assert conn.execute("fetch 2 from h").fetchall() == [(1,), (2,)]
        conn.execute("insert into t values (11, 'x', '[0,0]')")  # another statement in between
        assert conn.execute("fetch all from h").fetchall() == [(i,) for i in range(3, 11)]
        conn.execute("close all")


def test_psycopg_server_side_cursor(engine_server):
    _fill(engine_server.dsn())
    with psycopg.connect(engine_server.dsn()) as conn:
        with conn.cursor(name="big") as cur:
            cur.itersize = 128
            cur.execute("select id, name, v from t where id > %s order by id", [10])
            rows = list(cur)
        assert len(rows) == 990
        assert rows[0] == (11, "n11", "[11,-11]")
        assert rows[-1] == (1000, "n1000", "[1000,-1000]")
        with conn.cursor(name="bin", binary=True) as cur:
            cur.execute("select id from t order by id")
            assert cur.fetchmany(3) == [(1,), (2,), (3,)]
            assert cur.fetchone() == (4,)
        conn.commit()
        with conn.cursor(name="held", withhold=True) as cur:
            cur.execute("select id from t where id <= 5 order by id")
            conn.commit()
            assert cur.fetchall() == [(1,), (2,), (3,), (4,), (5,)]


def test_psycopg_pipeline_mode(engine_server):
    _fill(engine_server.dsn(), 5)
    with psycopg.connect(engine_server.dsn(), autocommit=True) as conn:
        with conn.pipeline():
            conn.execute("insert into t values (%s, %s, %s)", [6, "six", "[6,-6]"])
            count = conn.execute("select count(*) from t")
            near = conn.execute("select id from t order by v <-> %s limit 2", ["[6,-6]"])
        assert count.fetchone() == (6,)
        assert near.fetchall() == [(6,), (5,)]

        def failing_pipeline() -> None:
            with conn.pipeline():
                conn.execute("select 1")
                conn.execute("select * from missing")
                conn.execute("select 2")

        with pytest.raises(psycopg.errors.UndefinedTable):
            failing_pipeline()
        assert conn.execute("select count(*) from t").fetchone() == (6,)


def test_asyncpg_pool(engine_server):
    import asyncpg

    _fill(engine_server.dsn(), 20)

    async def run() -> list[int]:
        pool = await asyncpg.create_pool(
            host="127.0.0.1",
            port=engine_server.port,
            user="postgres",
            database="postgres",
            ssl=False,
            min_size=2,
            max_size=4,
        )
        try:

            async def one(i: int) -> int:
                async with pool.acquire() as conn:
                    return await conn.fetchval("select count(*) from t where id <= $1", i)

            return await asyncio.gather(*[one(i) for i in range(12)])
        finally:
            await pool.close()

    assert asyncio.run(run()) == list(range(12))


@needs_psql
def test_psql_scripted(engine_server, tmp_path):
    dsn = engine_server.dsn()
    script = tmp_path / "script.sql"
    script.write_text(
        "create table s (id int, label text);\n"
        "insert into s values (1, 'one'), (2, 'two');\n"
        "\\x on\n"
        "select id, label from s where id = 2;\n"
        "select * from nope;\n"
        "insert into s values (3, 'three');\n"
    )
    out = subprocess.run(
        ["psql", dsn, "-X", "-v", "ON_ERROR_STOP=1", "-f", str(script)],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert out.returncode == 3
    assert "-[ RECORD 1 ]\nid    | 2\nlabel | two\n" in out.stdout
    assert 'relation "nope" does not exist' in out.stderr
    out = subprocess.run(
        ["psql", dsn, "-X", "-Atc", "select count(*) from s", "-c", "select max(id) from s"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["2", "2"]  # the insert after the error never ran
    cursor_script = tmp_path / "cursor.sql"
    cursor_script.write_text(
        "begin;\ndeclare c cursor for select id from s order by id;\n"
        "fetch 1 from c;\nfetch all from c;\ncommit;\n"
    )
    out = subprocess.run(
        ["psql", dsn, "-X", "-At", "-f", str(cursor_script)],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["BEGIN", "DECLARE", "CURSOR", "1", "2", "COMMIT"]
