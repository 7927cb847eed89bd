"""Prepared top-k searches over the wire (psycopg, the vector sent as text and in
binary with pgvector-python) give numpy's rows with ``vecgres.enable_ann = off``,
and with the index the rows of the general path (``id + 0`` in the select list)."""

from __future__ import annotations

import time
from pathlib import Path

import fastpath_spy
import numpy as np
import psycopg
import pytest
from pgvector.psycopg import register_vector
from wireclient import serving

from vecgres.config import Settings

DIMS = 6
ROWS = 500


def _distances(x: np.ndarray, q: np.ndarray, op: str) -> np.ndarray:
    x64, q64 = x.astype(np.float64), q.astype(np.float64)
    if op == "<->":
        return np.sqrt(((x64 - q64) ** 2).sum(1))
    return 1 - (x64 @ q64) / (np.linalg.norm(x64, axis=1) * np.linalg.norm(q64))


def _text(v: np.ndarray) -> str:
    return "[" + ",".join(repr(float(e)) for e in v) + "]"


@pytest.fixture
def served(tmp_path: Path):
    settings = Settings(
        port=0,
        fsync=False,
        max_connections=20,
        seal_rows=200,
        background_compaction=False,
        ann_exact_max_rows=0,
    )
    rng = np.random.default_rng(17)
    x = rng.standard_normal((ROWS, DIMS)).astype(np.float32)
    with serving(tmp_path, settings=settings) as srv:
        with psycopg.connect(srv.dsn(), autocommit=True) as conn:
            conn.execute("CREATE EXTENSION IF NOT EXISTS vector")
            register_vector(conn)
            conn.execute(f"CREATE TABLE t (id int, cat int, v vector({DIMS}))")
            with conn.cursor() as cur:
                cur.executemany(
                    "INSERT INTO t VALUES (%s, %s, %s)",
                    [(i, i % 5, x[i]) for i in range(ROWS)],
                )
            conn.execute("DELETE FROM t WHERE id % 40 = 3")
            conn.execute("CREATE INDEX ON t USING hnsw (v vector_l2_ops)")
            conn.execute("CREATE INDEX ON t USING hnsw (v vector_cosine_ops)")
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:  # sealing and index builds: background
                explain = f"EXPLAIN ANALYZE SELECT id FROM t ORDER BY v <-> '{_text(x[0])}' LIMIT 5"
                plan = "\n".join(r[0] for r in conn.execute(explain))
                if plan.count(": ann") == 2:
                    break
                time.sleep(0.1)
            assert plan.count(": ann") == 2, plan
        yield srv, x


fast_runs = fastpath_spy.fast_runs


@pytest.mark.parametrize("op", ["<->", "<=>"])
def test_prepared_searches_over_the_wire(served, fast_runs, op):
    srv, x = served
    live = np.arange(ROWS) % 40 != 3
    cats = np.arange(ROWS) % 5
    rng = np.random.default_rng(3)
    queries = [x[7] + np.float32(0.01), rng.standard_normal(DIMS).astype(np.float32)]
    fast = f"SELECT id, v {op} %s AS d FROM t WHERE cat = %s ORDER BY d LIMIT 8"
    plain = f"SELECT id FROM t ORDER BY v {op} %s LIMIT 10"
    with (
        psycopg.connect(srv.dsn(), autocommit=True) as text_conn,
        psycopg.connect(srv.dsn(), autocommit=True) as binary_conn,
    ):
        register_vector(binary_conn)
        for q in queries:
            for _ in range(2):  # the first run prepares, the second reuses the statement
                by_text = text_conn.execute(fast, (_text(q), 2), prepare=True).fetchall()
                by_binary = binary_conn.execute(fast, (q, 2), prepare=True, binary=True).fetchall()
                general = text_conn.execute(
                    fast.replace("SELECT id", "SELECT id + 0"), (_text(q), 2)
                ).fetchall()
                assert [r[0] for r in by_text] == [r[0] for r in general]
                assert [r[0] for r in by_binary] == [r[0] for r in general]
                assert len(by_text) == 8
                assert all(cats[r[0]] == 2 for r in by_text)
                ids = [r[0] for r in binary_conn.execute(plain, (q,), prepare=True, binary=True)]
                general_ids = [
                    r[0] for r in binary_conn.execute(plain.replace("id", "id + 0", 1), (q,))
                ]
                assert ids == general_ids
        assert fast_runs[0] == 2 * 2 * 3  # queries x runs x fast statements
        for conn in (text_conn, binary_conn):
            conn.execute("SET vecgres.enable_ann = off")
        for q in queries:
            d = _distances(x, q, op)
            order = [int(i) for i in np.argsort(d, kind="stable") if live[i]]
            want = [i for i in order if cats[i] == 2][:8]
            for _ in range(2):
                by_text = text_conn.execute(fast, (_text(q), 2), prepare=True).fetchall()
                by_binary = binary_conn.execute(fast, (q, 2), prepare=True, binary=True).fetchall()
                for got in (by_text, by_binary):
                    assert [r[0] for r in got] == want
                    assert [r[1] for r in got] == pytest.approx(
                        [float(d[i]) for i in want], rel=1e-5, abs=1e-6
                    )
                got = binary_conn.execute(plain, (q,), prepare=True, binary=True).fetchall()
                assert [r[0] for r in got] == order[:10]
        assert fast_runs[0] == 2 * (2 * 2 * 3)


def test_unfiltered_searches_are_answered_on_the_event_loop(served, monkeypatch):
    """An unfiltered prepared search is bounded by ef_search, so the server answers it
    inline (``execute_inline``); a filtered one goes to a worker thread."""
    from vecgres import engine

    srv, x = served
    inline: list[bool] = []
    real = engine.Session.execute_inline

    def spy(self, stmt, params):
        result = real(self, stmt, params)
        inline.append(result is not None)
        return result

    monkeypatch.setattr(engine.Session, "execute_inline", spy)
    with psycopg.connect(srv.dsn(), autocommit=True) as conn:
        register_vector(conn)
        q = x[11] + np.float32(0.01)
        plain = "SELECT id FROM t ORDER BY v <-> %s LIMIT 5"
        filtered = "SELECT id FROM t WHERE cat = %s ORDER BY v <-> %s LIMIT 5"
        for _ in range(2):
            inline.clear()
            ids = [r[0] for r in conn.execute(plain, (q,), prepare=True, binary=True)]
            assert inline == [True]
            inline.clear()
            conn.execute(filtered, (1, q), prepare=True, binary=True).fetchall()
            assert inline
            assert not any(inline)
        live = np.arange(ROWS) % 40 != 3
        d = _distances(x, q, "<->")
        assert ids == [int(i) for i in np.argsort(d, kind="stable") if live[i]][:5]
