"""pgvector's iterative-scan settings: how far a short filtered ANN search goes on.

``hnsw.iterative_scan``/``hnsw.max_scan_tuples`` and ``ivfflat.iterative_scan``/
``ivfflat.max_probes`` bound the re-searches of a segment whose ANN search
returned fewer than k rows passing the filter; what is still short then is
searched exactly, so the rows are always the exact answer (pgvector would
return fewer). EXPLAIN ANALYZE shows the ANN rounds each segment made.

The data makes the first search short on purpose: rows with ``cat >= 60``
sit around +1, the others around -1, and the query is at +1 with the filter
``cat < 60`` (60 % of rows, so the widened strategy runs, not the allow-list).
"""

from __future__ import annotations

import re

import numpy as np
import pytest
from annhelpers import distances, open_db, vec

DIMS = 8
ROWS = 600  # two sealed segments of 300
SQL = "SELECT id FROM items WHERE cat < 60 ORDER BY embedding <-> %s LIMIT 10"


@pytest.fixture
def db(tmp_path):
    rng = np.random.default_rng(23)
    cats = np.arange(ROWS) % 100
    centre = np.where(cats >= 60, 1.0, -1.0)[:, None]
    x = (centre + rng.standard_normal((ROWS, DIMS))).astype(np.float32)
    con = open_db(str(tmp_path / "db"))
    cur = con.cursor()
    cur.execute(f"CREATE TABLE items (id int, cat int, embedding vector({DIMS}))")
    for lo in range(0, ROWS, 150):
        rows = ", ".join(f"({i}, {cats[i]}, '{vec(x[i])}')" for i in range(lo, lo + 150))
        cur.execute(f"INSERT INTO items VALUES {rows}")
    yield cur, x, cats
    con.close()


def expected(x: np.ndarray, cats: np.ndarray, q: np.ndarray) -> list[int]:
    d = distances(x, q, "<->")
    ids = np.flatnonzero(cats < 60)
    return [int(i) for i in ids[np.argsort(d[ids], kind="stable")][:10]]


def rounds(cur, q: np.ndarray) -> list[tuple[str, int]]:
    """(strategy, ANN rounds) of each sealed segment."""
    cur.execute("EXPLAIN ANALYZE " + SQL, (vec(q),))
    out = []
    for (line,) in cur.fetchall():
        m = re.search(r"Segment: segment \d+: ([\w-]+),.*?(?: ann_rounds=(\d+))?$", line)
        if m:
            out.append((m.group(1), int(m.group(2) or 0)))
    return out


def check(cur, x, cats, q) -> None:
    cur.execute(SQL, (vec(q),))
    assert [r[0] for r in cur.fetchall()] == expected(x, cats, q)


def test_hnsw_iterative_scan_and_max_scan_tuples(db):
    cur, x, cats = db
    cur.execute("CREATE INDEX ON items USING hnsw (embedding vector_l2_ops)")
    q = np.ones(DIMS, dtype=np.float32)
    # off (pgvector's default): one search, then exact on the segment
    check(cur, x, cats, q)
    assert rounds(cur, q) == [("exact", 1), ("exact", 1)]
    # on: the candidate list doubles until enough rows pass
    cur.execute("SET hnsw.iterative_scan = strict_order")
    check(cur, x, cats, q)
    assert all(n > 1 for _, n in rounds(cur, q))
    cur.execute("SET hnsw.iterative_scan = relaxed_order")
    check(cur, x, cats, q)
    assert all(n > 1 for _, n in rounds(cur, q))
    # bounded by hnsw.max_scan_tuples (the first search does not count):
    # 1 allows no re-search, 200 one (its list holds 2 * ceil(40 / 0.6) = 134)
    cur.execute("SET hnsw.max_scan_tuples = 1")
    check(cur, x, cats, q)
    assert rounds(cur, q) == [("exact", 1), ("exact", 1)]
    cur.execute("SET hnsw.max_scan_tuples = 200")
    check(cur, x, cats, q)
    assert rounds(cur, q) == [("exact", 2), ("exact", 2)]
    cur.execute("EXPLAIN " + SQL, (vec(q),))
    plan = [r[0] for r in cur.fetchall()]
    assert "ef_search=40, iterative_scan=relaxed_order max_scan_tuples=200," in plan[-1]
    # a query whose nearest rows pass needs one search whatever the settings
    q_b = -np.ones(DIMS, dtype=np.float32)
    check(cur, x, cats, q_b)
    assert rounds(cur, q_b) == [("ann-widened", 1), ("ann-widened", 1)]


def test_ivfflat_iterative_scan_and_max_probes(db):
    cur, x, cats = db
    # two lists: one per cluster, so one probe finds only rows filtered out
    cur.execute("CREATE INDEX ON items USING ivfflat (embedding vector_l2_ops) WITH (lists = 2)")
    q = np.ones(DIMS, dtype=np.float32)
    check(cur, x, cats, q)
    assert rounds(cur, q) == [("exact", 1), ("exact", 1)]
    cur.execute("SET ivfflat.iterative_scan = relaxed_order")
    cur.execute("SET ivfflat.max_probes = 1")  # no more probes than ivfflat.probes
    check(cur, x, cats, q)
    assert rounds(cur, q) == [("exact", 1), ("exact", 1)]
    cur.execute("RESET ivfflat.max_probes")  # all lists: a second search with 2 probes
    check(cur, x, cats, q)
    assert [n for _, n in rounds(cur, q)] == [2, 2]
    cur.execute("EXPLAIN " + SQL, (vec(q),))
    plan = [r[0] for r in cur.fetchall()]
    assert "probes=1, iterative_scan=relaxed_order max_probes=32768," in plan[-1]
