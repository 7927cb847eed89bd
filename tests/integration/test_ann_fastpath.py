"""Prepared top-k searches by the fast path (vecgres/sql/fastpath_ann.py) give the
general path's rows, and numpy's with ``vecgres.enable_ann = off``.

The table has two sealed segments with HNSW indexes (L2 and cosine), a growing
segment, deleted rows and NULL vectors. Each statement is run as written (the
fast path answers it: a spy counts its answers) and with ``id + 0`` for ``id``
in the select list, which the fast path leaves to the general one (the
winners searched by ``run_topk``, the select list evaluated by DuckDB).
"""

from __future__ import annotations

import time

import fastpath_spy
import numpy as np
import pytest
from annhelpers import distances, open_db, vec

DIMS = 8
ROWS = 800  # two sealed segments of 300, 200 rows growing
NULL_EVERY = 97  # ids divisible by this have a NULL vector
DELETED = 7  # ids with id % 50 == DELETED are deleted


fast_runs = fastpath_spy.fast_runs


@pytest.fixture
def db(tmp_path):
    rng = np.random.default_rng(5)
    x = rng.standard_normal((ROWS, DIMS)).astype(np.float32)
    con = open_db(str(tmp_path / "db"))
    cur = con.cursor()
    cur.execute(f"CREATE TABLE t (id int, cat int, flag boolean, v vector({DIMS}))")
    for lo in range(0, ROWS, 100):
        rows = ", ".join(
            f"({i}, {i % 10}, {'true' if i % 3 else 'false'}, "
            + ("NULL" if i % NULL_EVERY == 0 else f"'{vec(x[i])}'")
            + ")"
            for i in range(lo, lo + 100)
        )
        cur.execute(f"INSERT INTO t VALUES {rows}")
    cur.execute(f"DELETE FROM t WHERE id % 50 = {DELETED}")
    cur.execute("CREATE INDEX ON t USING hnsw (v vector_l2_ops)")
    cur.execute("CREATE INDEX ON t USING hnsw (v vector_cosine_ops)")
    deadline = time.monotonic() + 60
    while True:  # sealing and index builds run in the background
        cur.execute("EXPLAIN ANALYZE SELECT id FROM t ORDER BY v <-> %s LIMIT 10", (vec(x[0]),))
        plan = "\n".join(r[0] for r in cur.fetchall())
        if plan.count(": ann") == 2 or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert plan.count(": ann") == 2, plan  # both sealed segments searched by their index
    ids = np.arange(ROWS)
    live = (ids % NULL_EVERY != 0) & (ids % 50 != DELETED)
    yield con, cur, x, live
    con.close()


def _rows(cur, sql: str, params: tuple) -> list[tuple]:
    cur.execute(sql, params)
    return cur.fetchall()


def _same(got: list[tuple], want: list[tuple]) -> None:
    assert [r[0] for r in got] == [r[0] for r in want]
    if got and len(got[0]) > 1:
        assert [r[1] for r in got] == pytest.approx([r[1] for r in want], rel=1e-5, abs=1e-6)


SHAPES = [
    # (fast statement, its parameters but the query vector, rows)
    ("SELECT id FROM t ORDER BY v {op} %s LIMIT 10", (), 10),
    ("SELECT id, v {op} %s AS d FROM t ORDER BY d LIMIT 7 OFFSET 2", (), 7),
    ("SELECT id FROM t WHERE cat = %s ORDER BY v {op} %s LIMIT 10", (3,), 10),
    ("SELECT id, v {op} %s AS d FROM t WHERE flag AND cat < %s ORDER BY d LIMIT %s", (5, 12), 12),
]


def _params(sql: str, q: np.ndarray, extra: tuple) -> tuple:
    """The query vector goes where the operator is (before or after the WHERE)."""
    text = vec(q)
    if sql.index("{op}") < sql.find("WHERE") or "WHERE" not in sql:
        return (text, *extra)
    return (*extra[:1], text, *extra[1:])


@pytest.mark.parametrize("op", ["<->", "<=>"])
def test_fast_path_rows_are_the_general_paths(db, fast_runs, op):
    _con, cur, x, _live = db
    rng = np.random.default_rng(9)
    queries = [x[10] + 0.01, x[650] + 0.01, rng.standard_normal(DIMS).astype(np.float32)]
    for template, extra, count in SHAPES:
        fast_sql = template.format(op=op)
        general_sql = fast_sql.replace("SELECT id", "SELECT id + 0", 1)
        for q in queries:
            params = _params(template, q, extra)
            before = fast_runs[0]
            got = _rows(cur, fast_sql, params)
            assert fast_runs[0] == before + 1, fast_sql
            want = _rows(cur, general_sql, params)
            assert fast_runs[0] == before + 1  # the general path answered that one
            assert len(got) == count
            _same(got, want)


def test_projected_numbers_keep_their_nulls(db, fast_runs):
    """Numeric output columns are taken from every segment's values laid end to end:
    NULLs stay NULL, in rank order, as the general path returns them."""
    _con, cur, x, _live = db
    cur.execute("UPDATE t SET cat = NULL WHERE id % 4 = 0")
    fast_sql = "SELECT id, cat FROM t ORDER BY v <-> %s LIMIT 30"
    general_sql = fast_sql.replace("SELECT id", "SELECT id + 0", 1)
    nulls = 0
    for q in (x[3] + 0.01, x[777] - 0.01, x[402]):
        before = fast_runs[0]
        got = _rows(cur, fast_sql, (vec(q),))
        assert fast_runs[0] == before + 1
        want = _rows(cur, general_sql, (vec(q),))
        assert [(r[0], r[1]) for r in got] == [(r[0], r[1]) for r in want]
        assert all((r[1] is None) == (r[0] % 4 == 0) for r in got)
        nulls += sum(r[1] is None for r in got)
    assert nulls > 0


@pytest.mark.parametrize("op", ["<->", "<=>"])
def test_exact_fast_path_is_numpy_brute_force(db, fast_runs, op):
    _con, cur, x, live = db
    cur.execute("SET vecgres.enable_ann = off")
    rng = np.random.default_rng(11)
    cats = np.arange(ROWS) % 10
    for q in (x[20] + 0.01, rng.standard_normal(DIMS).astype(np.float32)):
        d = distances(x, q, op)
        order = [i for i in np.argsort(d, kind="stable") if live[i]]
        got = _rows(cur, f"SELECT id, v {op} %s AS d FROM t ORDER BY d LIMIT 10", (vec(q),))
        _same(got, [(int(i), float(d[i])) for i in order[:10]])
        got = _rows(
            cur,
            f"SELECT id, v {op} %s AS d FROM t WHERE cat = %s ORDER BY d LIMIT 5 OFFSET 1",
            (vec(q), 4),
        )
        want = [i for i in order if cats[i] == 4][1:6]
        _same(got, [(int(i), float(d[i])) for i in want])
    assert fast_runs[0] == 4


def test_fast_path_follows_writes(db, fast_runs):
    con, cur, x, _live = db
    q = x[100] + np.float32(0.01)
    sql = "SELECT id FROM t ORDER BY v <-> %s LIMIT 3"
    first = [r[0] for r in _rows(cur, sql, (vec(q),))]
    assert first[0] == 100
    cur.execute("DELETE FROM t WHERE id = 100")
    after = [r[0] for r in _rows(cur, sql, (vec(q),))]
    assert after[:2] == first[1:]
    assert after == [r[0] for r in _rows(cur, sql.replace("id", "id + 0", 1), (vec(q),))]
    cur.execute("INSERT INTO t VALUES (5000, 1, true, %s)", (vec(q),))
    assert _rows(cur, sql, (vec(q),))[0][0] == 5000
    # a transaction's own uncommitted rows: the general path merges them
    con.autocommit = False
    cur.execute("INSERT INTO t VALUES (6000, 1, true, %s)", (vec(q + np.float32(0.001)),))
    runs = fast_runs[0]
    assert [r[0] for r in _rows(cur, sql, (vec(q),))][:2] == [5000, 6000]
    assert fast_runs[0] == runs
    con.rollback()
    assert [r[0] for r in _rows(cur, sql, (vec(q),))][:2] == [5000, first[1]]
    assert fast_runs[0] == runs + 1


def test_null_vectors_sort_last(db):
    _con, cur, x, live = db
    q = x[3] + np.float32(0.01)
    visible = int((np.arange(ROWS) % 50 != DELETED).sum())
    got = _rows(cur, "SELECT id, v <-> %s FROM t ORDER BY v <-> %s LIMIT 1000", (vec(q), vec(q)))
    assert len(got) == visible
    nulls = [r for r in got if r[1] is None]
    assert len(nulls) == visible - int(live.sum())
    assert got[-len(nulls) :] == nulls


def test_bad_query_vectors_raise_pgvectors_errors(db):
    _con, cur, _x, _live = db
    from vecgres.dbapi import Error as VecgresError

    with pytest.raises(VecgresError, match="different vector dimensions 8 and 2"):
        _rows(cur, "SELECT id FROM t ORDER BY v <-> %s LIMIT 3", ("[1,2]",))
    with pytest.raises(VecgresError, match="invalid input syntax for type vector"):
        _rows(cur, "SELECT id FROM t ORDER BY v <-> %s LIMIT 3", ("[1,x]",))
    # the statement is still usable
    assert len(_rows(cur, "SELECT id FROM t ORDER BY v <-> %s LIMIT 3", (vec(np.ones(DIMS)),))) == 3
