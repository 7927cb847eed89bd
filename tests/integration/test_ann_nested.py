"""ANN top-k inside larger queries (CTEs, subqueries), checked against numpy.

Two vector columns with their own indexes, small sealed segments and ANN even
on few rows (``annhelpers.open_db``), so every nested search runs through the
per-segment indexes; ``hnsw.ef_search`` is high enough that HNSW finds the
exact neighbours on 300-row segments, so results are compared for equality.
"""

from __future__ import annotations

import numpy as np
import pytest
from annhelpers import distances, open_db, vec

from vecgres.dbapi import Error as VecgresError

DIMS = 8
ROWS = 900  # three sealed segments of 300

HYBRID = """
WITH a AS (SELECT id, e1 <=> %s AS d FROM docs WHERE cat < %s ORDER BY d LIMIT 20),
     b AS (SELECT id, e2 <-> %s AS d FROM docs ORDER BY e2 <-> %s LIMIT 20)
SELECT id, a.d, b.d FROM a FULL JOIN b USING (id) ORDER BY id
"""


@pytest.fixture
def db(tmp_path):
    rng = np.random.default_rng(17)
    x1 = rng.standard_normal((ROWS, DIMS)).astype(np.float32)
    x2 = rng.standard_normal((ROWS, DIMS)).astype(np.float32)
    con = open_db(str(tmp_path / "db"))
    cur = con.cursor()
    cur.execute(
        f"CREATE TABLE docs (id int PRIMARY KEY, cat int, e1 vector({DIMS}), e2 vector({DIMS}))"
    )
    for lo in range(0, ROWS, 150):
        rows = ", ".join(
            f"({i}, {i % 10}, '{vec(x1[i])}', '{vec(x2[i])}')" for i in range(lo, lo + 150)
        )
        cur.execute(f"INSERT INTO docs VALUES {rows}")
    cur.execute("CREATE INDEX docs_e1 ON docs USING hnsw (e1 vector_cosine_ops)")
    cur.execute("CREATE INDEX docs_e2 ON docs USING hnsw (e2 vector_l2_ops)")
    cur.execute("SET hnsw.ef_search = 400")
    yield con, cur, x1, x2
    con.close()


def top(x: np.ndarray, q: np.ndarray, op: str, k: int, mask: np.ndarray | None = None):
    """(ids, distances) of the k nearest rows of x passing mask."""
    d = distances(x, q, op)
    ids = np.arange(len(x)) if mask is None else np.flatnonzero(mask)
    order = ids[np.argsort(d[ids], kind="stable")][:k]
    return [int(i) for i in order], d


def explain(cur, sql: str, params=()) -> list[str]:
    cur.execute("EXPLAIN ANALYZE " + sql, params)
    return [r[0] for r in cur.fetchall()]


def test_hybrid_full_join_uses_both_indexes_and_matches_numpy(db):
    _con, cur, x1, x2 = db
    rng = np.random.default_rng(5)
    for cut in (3, 10):
        q1, q2 = rng.standard_normal((2, DIMS)).astype(np.float32)
        a, d1 = top(x1, q1, "<=>", 20, np.arange(ROWS) % 10 < cut)
        b, d2 = top(x2, q2, "<->", 20)
        params = (vec(q1), cut, vec(q2), vec(q2))
        cur.execute(HYBRID, params)
        rows = cur.fetchall()
        assert [r[0] for r in rows] == sorted(set(a) | set(b))
        for rid, da, db_ in rows:
            assert (da is None) == (rid not in a)
            assert (db_ is None) == (rid not in b)
            if da is not None:
                assert da == pytest.approx(d1[rid], rel=1e-5, abs=1e-6)
            if db_ is not None:
                assert db_ == pytest.approx(d2[rid], rel=1e-5)
        plan = explain(cur, HYBRID, params)
        # DuckDB's plan of the join, with each search's Limit -> Index Scan in place
        # of the relation its rows were handed over in
        heads = [
            line.split(" (actual")[0]
            for line in plan
            if line.lstrip().startswith("->  ") or line == plan[0]
        ]
        assert heads == [
            "Sort",
            "  ->  Hash Full Join",
            "        ->  Limit",
            "              ->  Index Scan using docs_e1 on docs",
            "        ->  Hash",
            "              ->  Limit",
            "                    ->  Index Scan using docs_e2 on docs docs_1",
        ]
        assert "        Hash Cond: (docs.id = docs_1.id)" in plan
        assert f"                    Filter: (cat < {cut})" in plan
        segments = [line for line in plan if "Segment:" in line]
        assert len(segments) == 6  # three sealed segments per search
        assert all(": ann" in line and "rows=300" in line for line in segments)
        # every node's time includes the searches under it, as in PostgreSQL
        times = [float(line.split("..")[1].split()[0]) for line in plan if "actual time" in line]
        assert times[0] >= max(times[1:])
        counts = [int(line.split("rows=")[1].split()[0]) for line in plan if "actual time" in line]
        assert counts[2:4] == [20, 20]
        assert counts[5:] == [20, 20]
        # the exact reference gives the same rows
        cur.execute("SET vecgres.enable_ann = off")
        cur.execute(HYBRID, params)
        exact = cur.fetchall()
        assert [r[0] for r in exact] == [r[0] for r in rows]
        for got, ref in zip(rows, exact, strict=True):
            assert [v is None for v in got] == [v is None for v in ref]
            assert [v for v in got if v is not None] == pytest.approx(
                [v for v in ref if v is not None], rel=1e-5, abs=1e-6
            )
        cur.execute("RESET vecgres.enable_ann")


def test_reranking_and_group_by_over_a_search(db):
    _con, cur, x1, x2 = db
    q1 = x1[7] + 0.01
    q2 = x2[300]
    near, _ = top(x1, q1, "<=>", 50)
    d2 = distances(x2, q2, "<->")
    expected = sorted(near, key=lambda i: d2[i])[:5]
    sql = (
        "SELECT id FROM (SELECT id, e2 FROM docs ORDER BY e1 <=> %s LIMIT 50) s "
        "ORDER BY e2 <-> %s LIMIT 5"
    )
    cur.execute(sql, (vec(q1), vec(q2)))
    assert [r[0] for r in cur.fetchall()] == expected
    cur.execute(
        "SELECT cat, count(*), min(d) FROM "
        "(SELECT cat, e1 <=> %s AS d FROM docs WHERE id %% 2 = 0 ORDER BY d LIMIT 40) s "
        "GROUP BY cat ORDER BY cat",
        (vec(q1),),
    )
    got = cur.fetchall()
    even, d1 = top(x1, q1, "<=>", 40, np.arange(ROWS) % 2 == 0)
    cats = sorted({i % 10 for i in even})
    assert [r[0] for r in got] == cats
    assert [r[1] for r in got] == [sum(1 for i in even if i % 10 == c) for c in cats]
    for cat, _n, low in got:
        assert low == pytest.approx(min(d1[i] for i in even if i % 10 == cat), abs=1e-6)


def test_subquery_in_where_and_scalar_subquery(db):
    _con, cur, _x1, x2 = db
    q = x2[123] * 1.001
    b, _ = top(x2, q, "<->", 7)
    cur.execute(
        "SELECT id FROM docs WHERE id IN (SELECT id FROM docs ORDER BY e2 <-> %s LIMIT 7) "
        "AND cat <> 3 ORDER BY id",
        (vec(q),),
    )
    assert [r[0] for r in cur.fetchall()] == sorted(i for i in b if i % 10 != 3)
    cur.execute("SELECT (SELECT id FROM docs ORDER BY e2 <-> %s LIMIT 1) + 1000", (vec(q),))
    assert cur.fetchall() == [(123 + 1000,)]


def test_prepared_statement_with_new_parameters_each_time(db):
    _con, cur, x1, _x2 = db
    sql = (
        "SELECT id FROM (SELECT id FROM docs WHERE cat = %s ORDER BY e1 <=> %s LIMIT %s) s "
        "ORDER BY id"
    )
    rng = np.random.default_rng(9)
    for cat, k in ((1, 5), (4, 12), (9, 3)):
        q = rng.standard_normal(DIMS).astype(np.float32)
        expected, _ = top(x1, q, "<=>", k, np.arange(ROWS) % 10 == cat)
        cur.execute(sql, (cat, vec(q), k))
        assert [r[0] for r in cur.fetchall()] == sorted(expected)


def test_own_writes_and_deletes_inside_a_transaction(db):
    con, cur, x1, x2 = db
    q = x1[42]
    con.autocommit = False
    cur.execute("DELETE FROM docs WHERE id = 42")
    cur.execute("INSERT INTO docs VALUES (5000, 2, %s, %s)", (vec(q * 2), vec(x2[0])))
    mask = np.arange(ROWS) != 42
    rest, _ = top(x1, q, "<=>", 2, mask)
    cur.execute(
        "WITH a AS (SELECT id FROM docs ORDER BY e1 <=> %s LIMIT 3) SELECT id FROM a ORDER BY id",
        (vec(q),),
    )
    # q * 2 has cosine distance 0 to q: the uncommitted row is nearest
    assert [r[0] for r in cur.fetchall()] == sorted([5000, *rest])
    con.rollback()
    con.autocommit = True
    cur.execute(
        "WITH a AS (SELECT id FROM docs ORDER BY e1 <=> %s LIMIT 1) SELECT id FROM a", (vec(q),)
    )
    assert cur.fetchall() == [(42,)]


def test_correlated_subquery_falls_back_to_exact(db):
    _con, cur, x1, _x2 = db
    cur.execute(
        "SELECT o.id, (SELECT i.id FROM docs i WHERE i.id <> o.id ORDER BY i.e1 <=> o.e1 LIMIT 1) "
        "FROM docs o WHERE o.id < 4 ORDER BY o.id"
    )
    got = cur.fetchall()
    expected = []
    for rid in range(4):
        d = distances(x1, x1[rid], "<=>")
        d[rid] = np.inf
        expected.append((rid, int(np.argmin(d))))
    assert got == expected
    # no search through the index: EXPLAIN shows the plan DuckDB runs exactly
    plan = explain(
        cur,
        "SELECT o.id, (SELECT i.id FROM docs i ORDER BY i.e1 <=> o.e1 LIMIT 1) FROM docs o",
    )
    text = "\n".join(plan)
    assert "Seq Scan on docs o" in text, text
    assert "Seq Scan on docs i" in text, text
    assert "Index Scan" not in text


def test_bad_query_vector_in_a_cte_raises_pgvector_error(db):
    _con, cur, _x1, _x2 = db
    with pytest.raises(VecgresError, match="different vector dimensions 8 and 2") as info:
        cur.execute(
            "WITH a AS (SELECT id FROM docs ORDER BY e1 <=> %s LIMIT 3) SELECT * FROM a",
            ("[1,2]",),
        )
    assert info.value.code == "22000"
    cur.execute("SELECT count(*) FROM docs")  # the connection is still usable
    assert cur.fetchall() == [(ROWS,)]
