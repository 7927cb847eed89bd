"""The winners of a top-k search fetched straight from their segments.

``SELECT <plain columns>, <distance> … ORDER BY distance LIMIT k`` takes the
winning rows from the segments that hold them, without DuckDB. Checked here
on the layouts that path must handle: several sealed segments plus the
growing one, a column added after some segments were sealed (its value for
old rows is the ADD COLUMN default), bit and text columns, OFFSET, own
uncommitted rows; each answer against numpy and against the exact path.
"""

from __future__ import annotations

import numpy as np
import pytest
from annhelpers import distances, open_db, vec

DIMS = 4
ROWS = 700  # two sealed segments of 300, 100 rows growing


@pytest.fixture
def db(tmp_path):
    rng = np.random.default_rng(31)
    x = rng.standard_normal((ROWS, DIMS)).astype(np.float32)
    con = open_db(str(tmp_path / "db"))
    cur = con.cursor()
    cur.execute(f"CREATE TABLE items (id int, name text, flags bit(3), embedding vector({DIMS}))")

    def insert(lo: int, hi: int, extra: bool) -> None:
        rows = ", ".join(
            f"({i}, 'n{i}', B'{i % 8:03b}', '{vec(x[i])}'" + (f", {i * 2})" if extra else ")")
            for i in range(lo, hi)
        )
        cur.execute(f"INSERT INTO items VALUES {rows}")

    insert(0, 300, False)
    cur.execute("ALTER TABLE items ADD COLUMN score int DEFAULT -1")
    insert(300, ROWS, True)
    cur.execute("CREATE INDEX ON items USING hnsw (embedding vector_l2_ops)")
    cur.execute("SET hnsw.ef_search = 300")
    yield con, cur, x
    con.close()


def expected_rows(x: np.ndarray, q: np.ndarray, k: int, offset: int = 0):
    d = distances(x, q, "<->")
    order = np.argsort(d, kind="stable")[offset : offset + k]
    return [
        (int(i), f"n{i}", f"{i % 8:03b}", -1 if i < 300 else int(i) * 2, float(d[i])) for i in order
    ]


def run(cur, q: np.ndarray, k: int, offset: int = 0):
    cur.execute(
        "SELECT id, name, flags, score, embedding <-> %s FROM items "
        f"ORDER BY embedding <-> %s LIMIT {k} OFFSET {offset}",
        (vec(q), vec(q)),
    )
    return cur.fetchall()


def same(got, want) -> None:
    assert [r[:4] for r in got] == [r[:4] for r in want]
    assert [r[4] for r in got] == pytest.approx([r[4] for r in want], rel=1e-5)


def test_winners_from_segments_match_numpy_and_exact_path(db):
    _con, cur, x = db
    rng = np.random.default_rng(2)
    for q in (x[10] + 0.01, x[650] + 0.01, rng.standard_normal(DIMS).astype(np.float32)):
        for k, offset in ((10, 0), (5, 3), (1, 0)):
            got = run(cur, q, k, offset)
            same(got, expected_rows(x, q, k, offset))
            cur.execute("SET vecgres.enable_ann = off")
            same(run(cur, q, k, offset), got)
            cur.execute("RESET vecgres.enable_ann")


def test_own_uncommitted_rows_are_winners(db):
    con, cur, x = db
    con.autocommit = False
    q = x[5]
    cur.execute("INSERT INTO items VALUES (9000, 'mine', B'111', %s, 7)", (vec(q),))
    got = run(cur, q, 3)
    assert got[0][:4] == (9000, "mine", "111", 7)
    same(got[1:], expected_rows(x, q, 2))
    con.rollback()
    same(run(cur, q, 3), expected_rows(x, q, 3))
