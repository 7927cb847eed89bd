"""A filtered search whose matching rows are ranked exactly per sealed segment
(the faiss shortlist of ``executor/subset_distances.py`` then numpy's exact
distances) returns the rows and distances of ``vecgres.enable_ann = off``."""

from __future__ import annotations

import numpy as np
import pytest
from annhelpers import distances, open_db, vec

DIMS = 16
ROWS = 2400  # two sealed segments of 1200; 600 of each match cat < 50


@pytest.fixture
def db(tmp_path):
    rng = np.random.default_rng(5)
    x = rng.standard_normal((ROWS, DIMS)).astype(np.float32) * 3
    con = open_db(str(tmp_path / "db"), seal_rows=1200, ann_exact_max_rows=2000)
    cur = con.cursor()
    cur.execute(f"CREATE TABLE items (id int, cat int, embedding vector({DIMS}))")
    for lo in range(0, ROWS, 600):
        rows = ", ".join(f"({i}, {i % 100}, '{vec(x[i])}')" for i in range(lo, lo + 600))
        cur.execute(f"INSERT INTO items VALUES {rows}")
    cur.execute("CREATE INDEX ON items USING hnsw (embedding vector_l2_ops)")
    cur.execute("CREATE INDEX ON items USING hnsw (embedding vector_cosine_ops)")
    yield cur, x
    con.close()


@pytest.mark.parametrize("op", ["<->", "<=>"])
def test_exact_segments_match_the_exact_path(db, op: str) -> None:
    cur, x = db
    rng = np.random.default_rng(9)
    cats = np.arange(ROWS) % 100
    sql = (
        f"SELECT id, embedding {op} %s AS d FROM items WHERE cat < 50 "
        f"ORDER BY embedding {op} %s LIMIT 10"
    )
    cur.execute("EXPLAIN ANALYZE " + sql.replace("%s", f"'{vec(x[0])}'"))
    plan = "\n".join(r[0] for r in cur.fetchall())
    assert plan.count(": exact, rows=1200 matching=600") == 2, plan
    for _ in range(5):
        q = rng.standard_normal(DIMS).astype(np.float32)
        cur.execute(sql, (vec(q), vec(q)))
        got = cur.fetchall()
        cur.execute("SET vecgres.enable_ann = off")
        cur.execute(sql, (vec(q), vec(q)))
        exact = cur.fetchall()
        cur.execute("RESET vecgres.enable_ann")
        assert got == exact
        d = distances(x, q, op)
        d[cats >= 50] = np.inf
        assert [r[0] for r in got] == np.argsort(d, kind="stable")[:10].tolist()
        np.testing.assert_allclose([r[1] for r in got], np.sort(d)[:10], rtol=1e-5)
