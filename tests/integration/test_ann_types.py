"""ANN indexes on halfvec and bit columns (pgvector's halfvec_*_ops, bit_*_ops), through SQL.

Small sealed segments and ``ann_exact_max_rows=0`` make every sealed segment
take its index path; ``flat`` indexes and exact searches must equal numpy.
"""

from __future__ import annotations

import numpy as np
import pytest
from annhelpers import distances, open_db, vec

from vecgres.dbapi import Error as VecgresError

N = 900
DIMS = 8
NBITS = 20
HALF_OPS = {"<->": "l2", "<#>": "ip", "<=>": "cosine", "<+>": "l1"}


def bitstr(row: np.ndarray) -> str:
    return "".join("1" if b else "0" for b in row)


def hamming(x: np.ndarray, q: np.ndarray) -> np.ndarray:
    return (x != q).sum(1).astype(np.float64)


def jaccard(x: np.ndarray, q: np.ndarray) -> np.ndarray:
    inter = (x & q).sum(1).astype(np.float64)
    union = (x | q).sum(1).astype(np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(inter == 0, 1.0, 1.0 - inter / union)


def segment_lines(cur, sql: str, params: tuple[object, ...] = ()) -> list[str]:
    cur.execute("EXPLAIN ANALYZE " + sql, params)
    return [r[0] for r in cur.fetchall() if "Segment:" in r[0]]


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(7)
    halves = rng.standard_normal((N, DIMS)).astype(np.float16).astype(np.float32)
    bits = rng.integers(0, 2, (N, NBITS)).astype(bool)
    return halves, bits


@pytest.fixture
def db(tmp_path, data):
    halves, bits = data
    con = open_db(str(tmp_path / "db"))
    cur = con.cursor()
    cur.execute(f"CREATE TABLE items (id int, cat int, h halfvec({DIMS}), b bit({NBITS}))")
    for lo in range(0, N, 150):  # 300 rows per sealed segment
        rows = ", ".join(
            f"({i}, {i % 10}, '{vec(halves[i])}', '{bitstr(bits[i])}')" for i in range(lo, lo + 150)
        )
        cur.execute(f"INSERT INTO items VALUES {rows}")
    yield cur
    con.close()


@pytest.mark.parametrize("op", list(HALF_OPS))
def test_halfvec_flat_index_is_exact_and_hnsw_is_used(db, data, op):
    halves, _ = data
    cur = db
    metric = HALF_OPS[op]
    cur.execute(f"CREATE INDEX ON items USING flat (h halfvec_{metric}_ops)")
    rng = np.random.default_rng(11)
    for cut in (3, 10):
        q = rng.standard_normal(DIMS).astype(np.float16).astype(np.float32)
        mask = np.arange(N) % 10 < cut
        d = distances(halves, q, op)
        expected = list(np.flatnonzero(mask)[np.argsort(d[mask], kind="stable")][:10])
        sql = f"SELECT id, h {op} %s FROM items WHERE cat < {cut} ORDER BY h {op} %s LIMIT 10"
        cur.execute(sql, (vec(q), vec(q)))
        rows = cur.fetchall()
        assert [r[0] for r in rows] == expected
        np.testing.assert_allclose([r[1] for r in rows], d[expected], rtol=1e-5, atol=1e-5)
        lines = segment_lines(cur, sql, (vec(q), vec(q)))
        assert len(lines) == 3
        assert all(": ann" in line for line in lines)
    cur.execute(f"CREATE INDEX items_h_hnsw ON items USING hnsw (h halfvec_{metric}_ops)")
    q = halves[5]
    cur.execute(f"EXPLAIN SELECT id FROM items ORDER BY h {op} '{vec(q)}' LIMIT 3")
    plan = [r[0] for r in cur.fetchall()]
    assert plan[1].startswith("  ->  Index Scan using items_h_hnsw on items")
    assert "::halfvec)" in plan[2]
    cur.execute(f"SELECT id FROM items ORDER BY h {op} '{vec(q)}' LIMIT 5")
    found = [r[0] for r in cur.fetchall()]
    d = distances(halves, q, op)
    # HNSW is approximate: the true nearest is found on this small data, order is by distance
    assert found[0] == int(np.argsort(d, kind="stable")[0])
    assert list(d[found]) == sorted(d[found])


def test_halfvec_ivfflat_and_vector_index_not_used_for_halfvec(db, data):
    halves, _ = data
    cur = db
    cur.execute("CREATE INDEX ON items USING ivfflat (h halfvec_l2_ops) WITH (lists = 3)")
    cur.execute("SET ivfflat.probes = 3")  # every list: exact
    q = halves[17] + np.float32(0.01)
    d = distances(halves, q, "<->")
    sql = "SELECT id FROM items ORDER BY h <-> %s LIMIT 10"
    cur.execute(sql, (vec(q),))
    assert [r[0] for r in cur.fetchall()] == list(np.argsort(d, kind="stable")[:10])
    assert all(": ann," in line for line in segment_lines(cur, sql, (vec(q),)))
    # an l2 index does not serve <=> (pgvector: one opclass per operator)
    sql = "SELECT id FROM items ORDER BY h <=> %s LIMIT 10"
    assert all(": exact," in line for line in segment_lines(cur, sql, (vec(q),)))


@pytest.mark.parametrize(
    ("method", "options"), [("flat", ""), ("hnsw", ""), ("ivfflat", "WITH (lists = 3)")]
)
def test_bit_hamming_index(db, data, method, options):
    _, bits = data
    cur = db
    cur.execute(f"CREATE INDEX ON items USING {method} (b bit_hamming_ops) {options}")
    cur.execute("SET ivfflat.probes = 3")
    rng = np.random.default_rng(5)
    for cut in (2, 6, 10):  # allow-list, widened (IVF: always widened), full
        q = rng.integers(0, 2, NBITS).astype(bool)
        mask = np.arange(N) % 10 < cut
        d = hamming(bits, q)
        sql = f"SELECT id, b <~> %s FROM items WHERE cat < {cut} ORDER BY b <~> %s LIMIT 10"
        cur.execute(sql, (bitstr(q), bitstr(q)))
        rows = cur.fetchall()
        assert all(r[0] % 10 < cut for r in rows)
        assert [r[1] for r in rows] == [float(d[r[0]]) for r in rows]
        if method != "hnsw":  # flat and a fully probed IVF are exact: same distances
            assert [r[1] for r in rows] == sorted(d[mask])[:10]
        lines = segment_lines(cur, sql, (bitstr(q), bitstr(q)))
        assert len(lines) == 3
        assert all(": ann" in line for line in lines)


def test_bit_jaccard_index_is_exact(db, data):
    """bit_jaccard_ops: a popcount-pruned exact index (index/binary.py JaccardIndex)."""
    _, bits = data
    cur = db
    sql = "SELECT id, b <%%> %s FROM items WHERE cat < %s ORDER BY b <%%> %s LIMIT 7"
    q = bits[3]
    assert all(": exact," in line for line in segment_lines(cur, sql, (bitstr(q), 5, bitstr(q))))
    cur.execute("CREATE INDEX items_jac ON items USING hnsw (b bit_jaccard_ops)")
    rng = np.random.default_rng(8)
    for cut in (1, 5, 10):
        q = bits[3] if cut == 5 else rng.integers(0, 2, NBITS).astype(bool)
        d = jaccard(bits, q)
        cur.execute(sql, (bitstr(q), cut, bitstr(q)))
        rows = cur.fetchall()
        mask = np.arange(N) % 10 < cut
        assert len(rows) == 7
        assert all(r[0] % 10 < cut for r in rows)
        assert [r[1] for r in rows] == [float(d[r[0]]) for r in rows]
        np.testing.assert_allclose([r[1] for r in rows], np.sort(d[mask])[:7])
        lines = segment_lines(cur, sql, (bitstr(q), cut, bitstr(q)))
        assert len(lines) == 3
        assert all(": ann" in line for line in lines)
    cur.execute(f"EXPLAIN SELECT id FROM items ORDER BY b <%> '{bitstr(q)}' LIMIT 3")
    assert [r[0] for r in cur.fetchall()][1].startswith("  ->  Index Scan using items_jac")
    with pytest.raises(VecgresError) as info:
        cur.execute("CREATE INDEX ON items USING ivfflat (b bit_jaccard_ops)")
    assert info.value.sqlstate == "42704"


def test_bit_query_of_wrong_length_is_pgvectors_error(db):
    cur = db
    cur.execute("CREATE INDEX ON items USING hnsw (b bit_hamming_ops)")
    with pytest.raises(VecgresError) as info:
        cur.execute("SELECT id FROM items ORDER BY b <~> '101' LIMIT 3")
    assert "different bit lengths 20 and 3" in str(info.value)


def test_expression_indexes_halfvec_and_binary_quantize(tmp_path):
    rng = np.random.default_rng(9)
    x = rng.standard_normal((N, DIMS)).astype(np.float32)
    con = open_db(str(tmp_path / "db"))
    cur = con.cursor()
    cur.execute(f"CREATE TABLE items (id int, embedding vector({DIMS}))")
    for lo in range(0, N, 150):
        rows = ", ".join(f"({i}, '{vec(x[i])}')" for i in range(lo, lo + 150))
        cur.execute(f"INSERT INTO items VALUES {rows}")
    cur.execute(f"CREATE INDEX ON items USING flat ((embedding::halfvec({DIMS})) halfvec_l2_ops)")
    cur.execute(
        f"CREATE INDEX ON items USING hnsw ((binary_quantize(embedding)::bit({DIMS})) "
        "bit_hamming_ops)"
    )
    cur.execute("SELECT indexname FROM pg_indexes WHERE tablename = 'items' ORDER BY 1")
    assert [r[0] for r in cur.fetchall()] == ["items_binary_quantize_idx", "items_embedding_idx"]
    q = rng.standard_normal(DIMS).astype(np.float32)
    qh = q.astype(np.float16).astype(np.float32)
    d = distances(x.astype(np.float16).astype(np.float32), qh, "<->")
    sql = (
        f"SELECT id, embedding::halfvec({DIMS}) <-> %s FROM items "
        f"ORDER BY embedding::halfvec({DIMS}) <-> %s LIMIT 10"
    )
    cur.execute(sql, (vec(qh), vec(qh)))
    rows = cur.fetchall()
    assert [r[0] for r in rows] == list(np.argsort(d, kind="stable")[:10])
    np.testing.assert_allclose([r[1] for r in rows], np.sort(d)[:10], rtol=1e-5)
    assert all(": ann," in line for line in segment_lines(cur, sql, (vec(qh), vec(qh))))
    # the plain column is not the expression: exact search
    plain = f"SELECT id FROM items ORDER BY embedding <-> '{vec(qh)}' LIMIT 10"
    assert all(": exact," in line for line in segment_lines(cur, plain))
    qb = bitstr(q > 0)
    dh = hamming(x > 0, q > 0)
    sql = (
        f"SELECT id, binary_quantize(embedding)::bit({DIMS}) <~> %s FROM items "
        f"ORDER BY binary_quantize(embedding)::bit({DIMS}) <~> %s LIMIT 10"
    )
    cur.execute(sql, (qb, qb))
    rows = cur.fetchall()
    assert [r[1] for r in rows] == [float(dh[r[0]]) for r in rows]
    assert [r[1] for r in rows] == sorted(r[1] for r in rows)
    assert rows[0][1] == dh.min()
    assert all(": ann," in line for line in segment_lines(cur, sql, (qb, qb)))
    with pytest.raises(VecgresError) as info:
        cur.execute("CREATE INDEX ON items USING hnsw ((embedding::halfvec(3)) halfvec_l2_ops)")
    assert "expected 3 dimensions, not 8" in str(info.value)
    con.close()
