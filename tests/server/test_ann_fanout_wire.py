"""Concurrent psycopg clients running prepared top-k searches over two large indexed
segments (answered on the event loop, the segments searched side by side by
vecgres/executor/ann_fast.py, one statement fanning out at a time) each get the rows
one client alone gets, with the vector sent as text and in binary."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import fastpath_spy
import numpy as np
import psycopg
import pytest
from pgvector.psycopg import register_vector
from wireclient import serving

from vecgres.config import Settings
from vecgres.executor import ann_fast

DIMS = 8
SEGMENT = ann_fast.FANOUT_MIN_ROWS  # the smallest segment searched on a helper thread
CLIENTS = 4
SQL = "SELECT id, v <=> %s AS d FROM t ORDER BY d LIMIT 10"


def _text(v: np.ndarray) -> str:
    return "[" + ",".join(repr(float(e)) for e in v) + "]"


@pytest.fixture
def served(tmp_path: Path):
    settings = Settings(
        port=0,
        fsync=False,
        max_connections=20,
        seal_rows=SEGMENT,
        background_compaction=False,
    )
    elems = ", ".join(
        f"sin(i * {0.37 + j * 0.11:.2f}) + cos(i * {j + 1}.0) / 3" for j in range(DIMS)
    )
    with serving(tmp_path, settings=settings) as srv:
        with psycopg.connect(srv.dsn(), autocommit=True) as conn:
            conn.execute(f"CREATE TABLE t (id int, v vector({DIMS}))")
            for lo in (0, SEGMENT):  # two INSERTs: two sealed segments
                conn.execute(
                    f"INSERT INTO t SELECT i, ARRAY[{elems}]::vector({DIMS}) "
                    f"FROM generate_series({lo}, {lo + SEGMENT - 1}) AS g(i)"
                )
            conn.execute("CREATE INDEX ON t USING hnsw (v vector_cosine_ops)")
            probe = _text(np.ones(DIMS, dtype=np.float32))
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline:  # sealing: in the background
                explain = f"EXPLAIN ANALYZE SELECT id FROM t ORDER BY v <=> '{probe}' LIMIT 5"
                plan = "\n".join(r[0] for r in conn.execute(explain))
                if plan.count(": ann") == 2:
                    break
                time.sleep(0.1)
            assert plan.count(": ann") == 2, plan
        yield srv


fanouts = fastpath_spy.fanouts


def _search(conn: psycopg.Connection, q: np.ndarray, binary: bool) -> list[tuple]:
    with conn.cursor() as cur:
        arg = q if binary else _text(q)
        return cur.execute(SQL, (arg,), prepare=True, binary=binary).fetchall()


def _connect(srv) -> psycopg.Connection:  # type: ignore[no-untyped-def]
    conn = psycopg.connect(srv.dsn(), autocommit=True)
    register_vector(conn)
    return conn


def test_concurrent_clients_get_one_clients_rows(served, fanouts):
    rng = np.random.default_rng(23)
    queries = [rng.standard_normal(DIMS).astype(np.float32) for _ in range(6)]
    with _connect(served) as conn:
        alone = {
            (i, binary): _search(conn, q, binary)
            for i, q in enumerate(queries)
            for binary in (False, True)
        }
    assert fanouts[0] == len(alone)  # each searched both segments side by side
    for (i, _binary), rows in alone.items():
        assert len(rows) == 10
        assert rows == alone[(i, True)]  # text and binary parameters: the same rows
    got: dict[int, list[tuple[tuple[int, bool], list[tuple]]]] = {}
    failures: list[BaseException] = []

    def client(n: int) -> None:
        try:
            with _connect(served) as conn:
                out = got.setdefault(n, [])
                for _ in range(3):
                    for i, q in enumerate(queries):
                        binary = (i + n) % 2 == 0
                        out.append(((i, binary), _search(conn, q, binary)))
        except BaseException as exc:  # reported by the test, not lost in the thread
            failures.append(exc)

    threads = [threading.Thread(target=client, args=(n,)) for n in range(CLIENTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not failures
    assert sorted(got) == list(range(CLIENTS))
    for runs in got.values():
        assert len(runs) == 3 * len(queries)
        for key, rows in runs:
            assert rows == alone[key]
