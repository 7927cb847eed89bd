"""Expression indexes over a ``vector`` column without a typmod (pgvector's README
recipes): ``(v::vector(n))``, ``(v::halfvec(n))``, ``(binary_quantize(v)::bit(n))``.

The expression is evaluated on every row, as PostgreSQL does when it inserts or
builds: a row of other dimensions fails (``::bit(n)`` pads and cuts instead), and
searches ordered by the same expression take the index on every sealed segment.
``flat`` indexes are exact, so their answers must equal numpy's.
"""

from __future__ import annotations

import numpy as np
import pytest
from annhelpers import distances, open_db, vec

from vecgres.dbapi import Error as VecgresError

N = 700
DIMS = 6


def sealed_lines(cur, sql: str, params: tuple[object, ...] = ()) -> list[str]:
    """EXPLAIN ANALYZE's lines for the sealed segments (each says how it was searched)."""
    cur.execute("EXPLAIN ANALYZE " + sql, params)
    return [r[0] for r in cur.fetchall() if "Segment: segment" in r[0]]


@pytest.fixture(scope="module")
def data() -> np.ndarray:
    rng = np.random.default_rng(21)
    return rng.standard_normal((N, DIMS)).astype(np.float32)


@pytest.fixture
def cur(tmp_path, data):
    con = open_db(str(tmp_path / "db"))
    cur = con.cursor()
    cur.execute("CREATE TABLE items (id int, v vector)")
    for lo in range(0, N, 175):
        rows = ", ".join(f"({i}, '{vec(data[i])}')" for i in range(lo, min(N, lo + 175)))
        cur.execute(f"INSERT INTO items VALUES {rows}")
    cur.execute("INSERT INTO items VALUES (-1, NULL)")
    yield cur
    con.close()


@pytest.mark.parametrize("target", ["vector", "halfvec"])
def test_dense_expression_index_on_untyped_column(cur, data, target):
    cur.execute(f"CREATE INDEX ON items USING flat ((v::{target}({DIMS})) {target}_l2_ops)")
    keys = data.astype(np.float16).astype(np.float32) if target == "halfvec" else data
    q = np.random.default_rng(3).standard_normal(DIMS).astype(np.float32)
    key = f"v::{target}({DIMS})"
    sql = f"SELECT id, {key} <-> %s FROM items ORDER BY {key} <-> %s LIMIT 10"
    cur.execute(sql, (vec(q), vec(q)))
    rows = cur.fetchall()
    qk = q.astype(np.float16).astype(np.float32) if target == "halfvec" else q
    d = distances(keys, qk, "<->")
    assert [r[0] for r in rows] == list(np.argsort(d, kind="stable")[:10])
    np.testing.assert_allclose([r[1] for r in rows], np.sort(d)[:10], rtol=1e-5, atol=1e-5)
    lines = sealed_lines(cur, sql, (vec(q), vec(q)))
    assert len(lines) == 2
    assert all(": ann" in line for line in lines)
    # the expression is evaluated on insert: pgvector's typmod coercion errors
    with pytest.raises(VecgresError, match="expected 6 dimensions, not 2") as err:
        cur.execute("INSERT INTO items VALUES (1000, '[1,2]')")
    assert err.value.sqlstate == "22000"
    cur.execute("SELECT count(*) FROM items")
    assert cur.fetchone() == (N + 1,)
    if target == "halfvec":
        with pytest.raises(VecgresError, match='"70000" is out of range for type halfvec'):
            cur.execute("INSERT INTO items VALUES (1000, '[70000,1,1,1,1,1]')")
    cur.execute(f"INSERT INTO items VALUES (1000, '{vec(q)}')")
    cur.execute(sql, (vec(q), vec(q)))
    assert cur.fetchone()[0] == 1000


def test_create_expression_index_checks_stored_rows(cur):
    cur.execute("INSERT INTO items VALUES (1000, '[1,2,3]')")
    with pytest.raises(VecgresError, match="expected 6 dimensions, not 3"):
        cur.execute(f"CREATE INDEX ON items USING hnsw ((v::halfvec({DIMS})) halfvec_l2_ops)")
    cur.execute("DELETE FROM items WHERE id = 1000")
    cur.execute(f"CREATE INDEX ON items USING hnsw ((v::halfvec({DIMS})) halfvec_l2_ops)")


def test_binary_quantize_index_on_untyped_column_pads_and_cuts(cur, data):
    cur.execute(
        f"CREATE INDEX ON items USING flat ((binary_quantize(v)::bit({DIMS})) bit_hamming_ops)"
    )
    # ::bit(n) pads with zeros or cuts: other dimensions are fine here
    cur.execute("INSERT INTO items VALUES (1001, '[1,1]'), (1002, '[1,1,1,1,1,1,1,1]')")
    bits = data > 0
    extra = np.array([[1, 1, 0, 0, 0, 0], [1, 1, 1, 1, 1, 1]], dtype=bool)
    allbits = np.vstack([bits, extra])
    ids = np.concatenate([np.arange(N), [1001, 1002]])
    q = "110000"
    qb = np.array([c == "1" for c in q])
    d = (allbits != qb).sum(1)
    key = f"binary_quantize(v)::bit({DIMS})"
    sql = f"SELECT id, {key} <~> %s FROM items ORDER BY {key} <~> %s LIMIT 15"
    cur.execute(sql, (q, q))
    rows = cur.fetchall()
    assert [r[1] for r in rows] == sorted(d.tolist())[:15]
    assert all(d[np.flatnonzero(ids == r[0])[0]] == r[1] for r in rows)
    assert 1001 in [r[0] for r in rows]  # '[1,1]' is 110000: distance 0
    lines = sealed_lines(cur, sql, (q, q))
    assert len(lines) == 2
    assert all(": ann" in line for line in lines)


def test_subvector_expression_index(cur, data):
    """pgvector's subvector recipe: ``((subvector(v, s, n)::vector(n)) …_ops)``."""
    cur.execute(
        "CREATE INDEX ON items USING flat ((subvector(v, 2, 3)::vector(3)) vector_cosine_ops)"
    )
    cur.execute("SELECT indexdef FROM pg_indexes WHERE tablename = 'items'")
    assert cur.fetchone()[0] == (
        "CREATE INDEX items_subvector_idx ON public.items USING flat "
        "(((subvector(v, 2, 3))::vector(3)) vector_cosine_ops)"
    )
    q = np.array([0.5, -1.0, 2.0], dtype=np.float32)
    key = "subvector(v, 2, 3)::vector(3)"
    sql = f"SELECT id, {key} <=> %s FROM items ORDER BY {key} <=> %s LIMIT 10"
    cur.execute(sql, (vec(q), vec(q)))
    rows = cur.fetchall()
    d = distances(data[:, 1:4], q, "<=>")
    assert [r[0] for r in rows] == list(np.argsort(d, kind="stable")[:10])
    np.testing.assert_allclose([r[1] for r in rows], np.sort(d)[:10], rtol=1e-5, atol=1e-5)
    lines = sealed_lines(cur, sql, (vec(q), vec(q)))
    assert len(lines) == 2
    assert all(": ann" in line for line in lines)
    # evaluated on insert: too short a row has fewer elements than the cast wants
    with pytest.raises(VecgresError, match="expected 3 dimensions, not 2") as err:
        cur.execute("INSERT INTO items VALUES (1000, '[1,2,3]')")
    assert err.value.sqlstate == "22000"
    with pytest.raises(VecgresError, match="vector must have at least 1 dimension"):
        cur.execute("INSERT INTO items VALUES (1000, '[1]')")
    cur.execute("INSERT INTO items VALUES (1000, '[9,0.5,-1,2]')")  # longer rows are fine
    cur.execute(sql, (vec(q), vec(q)))
    assert cur.fetchone()[0] == 1000
