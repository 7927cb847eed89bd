"""COPY FROM STDIN / TO STDOUT through the wire server with real clients and the real engine."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).parent.parent / "server"))

from wireclient import RunningServer, serving


@pytest.fixture
def server(tmp_path: Path) -> Iterator[RunningServer]:
    with serving(tmp_path) as srv:
        yield srv


def _rows(conn, sql: str) -> list[tuple]:
    return conn.execute(sql).fetchall()


def _copy_rows(conn, sql: str, rows: list[tuple]) -> None:
    with conn.cursor().copy(sql) as copy:
        for row in rows:
            if row[1] == 0:
                _ = 1 / row[1]
            copy.write_row(row)


def test_psycopg_text_copy_in_and_out_with_vectors(server: RunningServer) -> None:
    import psycopg

    with psycopg.connect(server.dsn(), autocommit=True) as conn:
        conn.execute(
            "CREATE TABLE items (id bigint PRIMARY KEY, cat int, body text, emb vector(3))"
        )
        with conn.cursor().copy("COPY items (id, cat, body, emb) FROM STDIN") as copy:
            copy.write_row((1, 10, "tab\there", "[1,2,3]"))
            copy.write_row((2, None, "new\nline", "[0.5,-1,1e-3]"))
            copy.write_row((3, 30, None, None))
        assert _rows(conn, "SELECT id, cat, body, emb FROM items ORDER BY id") == [
            (1, 10, "tab\there", "[1,2,3]"),
            (2, None, "new\nline", "[0.5,-1,0.001]"),
            (3, 30, None, None),
        ]
        with conn.cursor().copy("COPY items TO STDOUT") as copy:
            out = list(copy.rows())
        assert out == [
            ("1", "10", "tab\there", "[1,2,3]"),
            ("2", None, "new\nline", "[0.5,-1,0.001]"),
            ("3", "30", None, None),
        ]
        with conn.cursor().copy(
            "COPY (SELECT id, body FROM items WHERE id < 3 ORDER BY id) TO STDOUT "
            "WITH (FORMAT csv, HEADER true)"
        ) as copy:
            raw = b"".join(bytes(chunk) for chunk in copy)
        assert raw == b'id,body\n1,tab\there\n2,"new\nline"\n'


def test_psycopg_binary_copy_with_pgvector(server: RunningServer) -> None:
    import psycopg
    from pgvector.psycopg.vector import register_vector_info
    from psycopg.types import TypeInfo

    from vecgres.types import SqlType

    with psycopg.connect(server.dsn(), autocommit=True) as conn:
        # pgvector's adapters, told the type's OID directly (TypeInfo.fetch needs pg_type)
        register_vector_info(conn, TypeInfo("vector", SqlType("vector").oid, 0))
        conn.execute("CREATE TABLE b (id bigint, score real, emb vector(4))")
        rng = np.random.default_rng(1)
        vecs = rng.standard_normal((50, 4)).astype(np.float32)
        with conn.cursor().copy("COPY b (id, score, emb) FROM STDIN WITH (FORMAT binary)") as copy:
            copy.set_types(["bigint", "real", "vector"])
            for i, v in enumerate(vecs):
                copy.write_row((i, float(i) / 2, v))
        assert _rows(conn, "SELECT count(*), sum(id) FROM b") == [(50, sum(range(50)))]
        cur = conn.cursor()
        with cur.copy("COPY b TO STDOUT WITH (FORMAT binary)") as copy:
            copy.set_types(["bigint", "real", "vector"])
            got = list(copy.rows())
        got.sort(key=lambda r: r[0])
        assert [r[0] for r in got] == list(range(50))
        assert [r[1] for r in got] == [i / 2 for i in range(50)]
        np.testing.assert_array_equal(np.stack([r[2].to_numpy() for r in got]), vecs)


def test_failed_copy_loads_nothing_and_connection_stays_usable(server: RunningServer) -> None:
    import psycopg

    with psycopg.connect(server.dsn(), autocommit=True) as conn:
        conn.execute("CREATE TABLE k (id int PRIMARY KEY, v vector(2) NOT NULL)")
        conn.execute("INSERT INTO k VALUES (1, '[1,1]')")
        with pytest.raises(psycopg.errors.UniqueViolation):
            _copy_rows(conn, "COPY k FROM STDIN", [(2, "[2,2]"), (1, "[3,3]")])
        with pytest.raises(psycopg.errors.DataException) as info:
            _copy_rows(conn, "COPY k FROM STDIN", [(5, "[1,2,3]")])
        assert "expected 2 dimensions, not 3" in str(info.value)
        with pytest.raises(psycopg.errors.NotNullViolation):
            _copy_rows(conn, "COPY k FROM STDIN", [(6, None)])
        # a client-side error inside the block sends CopyFail
        with pytest.raises(ZeroDivisionError):
            _copy_rows(conn, "COPY k FROM STDIN", [(7, "[7,7]"), (8, 0)])
        assert _rows(conn, "SELECT id FROM k ORDER BY id") == [(1,)]


def test_copy_in_explicit_transaction_rolls_back(server: RunningServer) -> None:
    import psycopg

    with psycopg.connect(server.dsn()) as conn:
        conn.execute("CREATE TABLE r (id int)")
        conn.commit()
        with conn.cursor().copy("COPY r FROM STDIN WITH (FORMAT csv)") as copy:
            copy.write(b"1\n2\n3\n")
        assert _rows(conn, "SELECT count(*) FROM r") == [(3,)]
        conn.rollback()
        assert _rows(conn, "SELECT count(*) FROM r") == [(0,)]
        with conn.cursor().copy("COPY r FROM STDIN WITH (FORMAT csv)") as copy:
            copy.write(b"4\n5\n")
        conn.commit()
        assert _rows(conn, "SELECT id FROM r ORDER BY id") == [(4,), (5,)]


def test_asyncpg_copy_records_and_copy_from_table(server: RunningServer, tmp_path: Path) -> None:
    import asyncpg

    async def run() -> None:
        conn = await asyncpg.connect(
            host="127.0.0.1", port=server.port, user="postgres", database="postgres", ssl=False
        )
        try:
            await conn.execute("CREATE TABLE a (id bigint, name text, price numeric(8,2))")
            from decimal import Decimal

            records = [(i, f"n{i}", Decimal(i) / 4) for i in range(1000)]
            tag = await conn.copy_records_to_table(
                "a", records=records, columns=["id", "name", "price"]
            )
            assert tag == "COPY 1000"
            rows = await conn.fetch("SELECT id, name, price FROM a WHERE id IN (0, 3, 999)")
            assert sorted(tuple(r) for r in rows) == [
                (0, "n0", Decimal("0.00")),
                (3, "n3", Decimal("0.75")),
                (999, "n999", Decimal("249.75")),
            ]
            out = tmp_path / "a.csv"
            tag = await conn.copy_from_query(
                "SELECT id, name FROM a WHERE id < 3 ORDER BY id", output=str(out), format="csv"
            )
            assert tag == "COPY 3"
            assert out.read_text() == "0,n0\n1,n1\n2,n2\n"
            tag = await conn.copy_from_table("a", output=str(tmp_path / "a.txt"))
            assert tag == "COPY 1000"
            assert len((tmp_path / "a.txt").read_text().splitlines()) == 1000
        finally:
            await conn.close()

    asyncio.run(run())


@pytest.mark.skipif(shutil.which("psql") is None, reason="psql not installed")
def test_psql_backslash_copy(server: RunningServer, tmp_path: Path) -> None:
    dsn = server.dsn()
    src = tmp_path / "in.csv"
    src.write_text('id,emb,note\n1,"[1,2]",hello\n2,"[3,4]",\n')
    script = (
        "CREATE TABLE p (id int, emb vector(2), note text);\n"
        f"\\copy p FROM '{src}' WITH (FORMAT csv, HEADER true)\n"
        f"\\copy (SELECT id, emb, coalesce(note, '-') FROM p ORDER BY id) TO '{tmp_path}/out.txt'\n"
    )
    done = subprocess.run(
        ["psql", dsn, "-v", "ON_ERROR_STOP=1", "-X", "-q", "-f", "-"],
        input=script,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "out.txt").read_text() == "1\t[1,2]\thello\n2\t[3,4]\t-\n"
