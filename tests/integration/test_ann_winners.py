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

from vecgres.dbapi import Error as VecgresError

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
    q = x[5] + np.float32(0.01)  # not x[5] itself: a tie at distance 0 has no order
    cur.execute("INSERT INTO items VALUES (9000, 'mine', B'111', %s, 7)", (vec(q),))
    got = run(cur, q, 3)
    assert got[0][:4] == (9000, "mine", "111", 7)
    same(got[1:], expected_rows(x, q, 2))
    con.rollback()
    same(run(cur, q, 3), expected_rows(x, q, 3))


@pytest.fixture
def scalars(tmp_path):
    rng = np.random.default_rng(41)
    n = 700
    x = rng.standard_normal((n, DIMS)).astype(np.float32)
    con = open_db(str(tmp_path / "db"))
    cur = con.cursor()
    cur.execute(
        f"CREATE TABLE s (id int, cat smallint, big bigint, flag boolean, embedding vector({DIMS}))"
    )
    cat = np.arange(n) % 10
    big = np.arange(n, dtype=np.int64) * (2**40) - 2**50
    flag = np.where(np.arange(n) % 3 == 0, None, np.arange(n) % 2 == 0)
    for lo in range(0, n, 175):
        rows = ", ".join(
            f"({i}, {'NULL' if i % 11 == 0 else cat[i]}, {big[i]}, "
            f"{'NULL' if flag[i] is None else flag[i]}, '{vec(x[i])}')"
            for i in range(lo, lo + 175)
        )
        cur.execute(f"INSERT INTO s VALUES {rows}")
    cur.execute("CREATE INDEX ON s USING hnsw (embedding vector_l2_ops)")
    cur.execute("SET hnsw.ef_search = 400")
    ids = np.arange(n)
    masks = {
        "cat = %s": lambda v: (ids % 11 != 0) & (cat == v),
        "cat <> %s AND big > %s": lambda v, b: (ids % 11 != 0) & (cat != v) & (big > b),
        "flag": lambda: np.array([f is True for f in flag]),
        "NOT flag AND cat IS NOT NULL": lambda: (
            np.array([f is False for f in flag]) & (ids % 11 != 0)
        ),
        "cat IS NULL OR flag": None,  # not a conjunction: DuckDB evaluates it
        "flag = %s AND cat >= %s": lambda f, v: (
            np.array([x_ is f for x_ in flag]) & (ids % 11 != 0) & (cat >= v)
        ),
        "big < %s": lambda b: big < b,
    }
    yield cur, x, masks, cat, flag
    con.close()


@pytest.mark.parametrize(
    ("where", "args"),
    [
        ("cat = %s", (3,)),
        ("cat <> %s AND big > %s", (3, 2**49)),
        ("flag", ()),
        ("NOT flag AND cat IS NOT NULL", ()),
        ("flag = %s AND cat >= %s", (True, 7)),
        ("big < %s", (-(2**49),)),
        ("cat = %s", (-7,)),
    ],
)
def test_integer_and_boolean_filters_match_numpy(scalars, where, args):
    cur, x, masks, _cat, _flag = scalars
    q = x[0] + 0.05
    cur.execute(
        f"SELECT id FROM s WHERE {where} ORDER BY embedding <-> %s LIMIT 15", (*args, vec(q))
    )
    got = [r[0] for r in cur.fetchall()]
    mask = masks[where](*args)
    d = distances(x, q, "<->")
    ids = np.flatnonzero(mask)
    assert got == [int(i) for i in ids[np.argsort(d[ids], kind="stable")][:15]]


def test_filter_that_is_not_a_conjunction(scalars):
    cur, x, _masks, _cat, flag = scalars
    q = x[5]
    cur.execute(
        "SELECT id FROM s WHERE cat IS NULL OR flag ORDER BY embedding <-> %s LIMIT 15",
        (vec(q),),
    )
    ids = np.arange(len(x))
    mask = (ids % 11 == 0) | np.array([f is True for f in flag])
    d = distances(x, q, "<->")
    keep = np.flatnonzero(mask)
    assert [r[0] for r in cur.fetchall()] == [
        int(i) for i in keep[np.argsort(d[keep], kind="stable")][:15]
    ]


def test_parameter_out_of_its_types_range_is_postgresql_error(scalars):
    cur, x, _masks, _cat, _flag = scalars
    with pytest.raises(VecgresError, match="smallint out of range") as info:
        cur.execute(
            "SELECT id FROM s WHERE cat = %s ORDER BY embedding <-> %s LIMIT 3",
            (40000, vec(x[0])),
        )
    assert info.value.code == "22003"


def test_partial_index_on_is_not_null(scalars):
    cur, x, _masks, _cat, _flag = scalars
    cur.execute("DROP INDEX s_embedding_idx")
    cur.execute("CREATE INDEX s_nn ON s USING hnsw (embedding vector_l2_ops) WHERE cat IS NOT NULL")
    q = x[11]  # a row whose cat is NULL: never an answer
    sql = "SELECT id FROM s WHERE cat IS NOT NULL ORDER BY embedding <-> %s LIMIT 10"
    cur.execute("EXPLAIN " + sql, (vec(q),))
    assert "Index Scan using s_nn on s" in cur.fetchall()[1][0]
    cur.execute(sql, (vec(q),))
    ids = np.flatnonzero(np.arange(len(x)) % 11 != 0)
    d = distances(x, q, "<->")
    assert [r[0] for r in cur.fetchall()] == [
        int(i) for i in ids[np.argsort(d[ids], kind="stable")][:10]
    ]
