"""sparsevec indexes (pgvector's sparsevec_*_ops on hnsw): the per-segment inverted index.

Small sealed segments and ``ann_exact_max_rows=0`` make every sealed segment
take its index path. The inverted index scores rows exactly, so an indexed
search must equal numpy's reference top-k, with and without filters, and its
distances must equal the ones the SQL operators compute.
"""

from __future__ import annotations

import glob
import os
from pathlib import Path

import numpy as np
import pytest
from annhelpers import distances as dense_distances
from annhelpers import open_db

from vecgres.dbapi import Error as VecgresError

N = 900
DIMS = 40
NNZ = 4
OPS = {"<->": "l2", "<#>": "ip", "<=>": "cosine", "<+>": "l1"}


def sparse_text(row: np.ndarray) -> str:
    nz = np.flatnonzero(row)
    return "{" + ",".join(f"{i + 1}:{float(row[i])!r}" for i in nz) + "}/" + str(len(row))


def distances(x: np.ndarray, q: np.ndarray, op: str) -> np.ndarray:
    with np.errstate(invalid="ignore", divide="ignore"):  # the zero row's cosine is NaN
        return dense_distances(x, q, op)


def index_files(path: str) -> list[str]:
    return sorted(glob.glob(os.path.join(path, "indexes", "*", "*.faiss")))


def segment_lines(cur, sql: str, params: tuple[object, ...] = ()) -> list[str]:
    cur.execute("EXPLAIN ANALYZE " + sql, params)
    return [r[0] for r in cur.fetchall() if "Segment:" in r[0]]


@pytest.fixture(scope="module")
def data() -> np.ndarray:
    rng = np.random.default_rng(3)
    x = np.zeros((N, DIMS), np.float32)
    for i in range(N):
        cols = rng.choice(DIMS, NNZ, replace=False)
        x[i, cols] = rng.standard_normal(NNZ).astype(np.float16).astype(np.float32)
    x[7] = 0  # an all-zero row: no direction for cosine
    return x


def load(cur, x: np.ndarray) -> None:
    cur.execute(f"CREATE TABLE sp (id int, cat int, s sparsevec({DIMS}))")
    for lo in range(0, N, 150):  # 300 rows per sealed segment
        rows = ", ".join(
            f"({i}, {i % 10}, '{sparse_text(x[i])}')" for i in range(lo, min(N, lo + 150))
        )
        cur.execute(f"INSERT INTO sp VALUES {rows}")


@pytest.fixture
def db(tmp_path, data):
    con = open_db(str(tmp_path / "db"))
    cur = con.cursor()
    load(cur, data)
    yield cur
    con.close()


def reference(x: np.ndarray, q: np.ndarray, op: str, mask: np.ndarray, k: int) -> list[int]:
    d = distances(x, q, op)
    ok = mask & np.isfinite(d)
    return list(np.flatnonzero(ok)[np.argsort(d[ok], kind="stable")][:k])


@pytest.mark.parametrize("op", list(OPS))
def test_sparse_index_is_used_and_equals_exact(db, data, op):
    cur = db
    cur.execute(f"CREATE INDEX sp_idx ON sp USING hnsw (s sparsevec_{OPS[op]}_ops)")
    rng = np.random.default_rng(17)
    for cut in (1, 3, 10):  # allow-list on 10% and 30% of rows, then every row
        q = np.zeros(DIMS, np.float32)
        q[rng.choice(DIMS, 6, replace=False)] = rng.standard_normal(6).astype(np.float32)
        mask = np.arange(N) % 10 < cut
        qt = sparse_text(q)
        sql = f"SELECT id, s {op} %s FROM sp WHERE cat < {cut} ORDER BY s {op} %s LIMIT 12"
        cur.execute(sql, (qt, qt))
        rows = cur.fetchall()
        assert len(rows) == 12
        got = [r[0] for r in rows]
        d = distances(data, q, op)
        np.testing.assert_allclose([r[1] for r in rows], d[got], rtol=1e-5, atol=1e-6)
        # ties in the reference may swap equal-distance rows: compare distances
        np.testing.assert_allclose(
            [r[1] for r in rows], d[reference(data, q, op, mask, 12)], rtol=1e-5, atol=1e-6
        )
        assert all(r[0] % 10 < cut for r in rows)
        lines = segment_lines(cur, sql, (qt, qt))
        assert len(lines) == 3
        assert all(": ann" in line for line in lines), lines
        # the distances equal the SQL operator's, computed outside the top-k path
        cur.execute(f"SELECT id, s {op} %s FROM sp WHERE id = ANY(%s) ORDER BY id", (qt, got))
        by_id = dict(cur.fetchall())
        assert [by_id[i] for i in got] == [r[1] for r in rows]
    cur.execute(f"EXPLAIN SELECT id FROM sp ORDER BY s {op} '{{1:1}}/{DIMS}' LIMIT 3")
    plan = [r[0] for r in cur.fetchall()]
    assert plan[1].startswith("  ->  Index Scan using sp_idx on sp")


def test_exact_sparse_topk_without_index_runs_on_the_stored_form(db, data):
    cur = db
    q = data[11] + np.where(data[12] != 0, np.float32(0.5), np.float32(0))
    qt = sparse_text(q)
    for op in OPS:
        sql = f"SELECT id, s {op} %s FROM sp WHERE cat <> 4 ORDER BY s {op} %s LIMIT 9"
        cur.execute(sql, (qt, qt))
        rows = cur.fetchall()
        d = distances(data, q, op)
        mask = np.arange(N) % 10 != 4
        np.testing.assert_allclose(
            [r[1] for r in rows], d[reference(data, q, op, mask, 9)], rtol=1e-5, atol=1e-6
        )
        assert all(": exact," in line for line in segment_lines(cur, sql, (qt, qt)))


def test_sparse_cosine_zero_row_and_nulls_and_deletes(db, data):
    cur = db
    cur.execute("CREATE INDEX ON sp USING hnsw (s sparsevec_cosine_ops)")
    cur.execute("INSERT INTO sp VALUES (5000, 0, NULL)")
    cur.execute("DELETE FROM sp WHERE id = 11")
    q = data[11]
    qt = sparse_text(q)
    cur.execute("SELECT id FROM sp ORDER BY s <=> %s LIMIT 5", (qt,))
    got = [r[0] for r in cur.fetchall()]
    assert not {11, 5000, 7} & set(got)
    mask = np.ones(N, bool)
    mask[11] = False
    d = distances(data, q, "<=>")
    np.testing.assert_allclose(d[got], d[reference(data, q, "<=>", mask, 5)], rtol=1e-6)


def test_partial_sparse_index(db, data):
    cur = db
    cur.execute("CREATE INDEX sp_part ON sp USING hnsw (s sparsevec_ip_ops) WHERE (cat = 3)")
    q = data[23]
    qt = sparse_text(q)
    sql = "SELECT id FROM sp WHERE cat = 3 ORDER BY s <#> %s LIMIT 6"
    cur.execute(sql, (qt,))
    got = [r[0] for r in cur.fetchall()]
    d = distances(data, q, "<#>")
    mask = np.arange(N) % 10 == 3
    np.testing.assert_allclose(d[got], d[reference(data, q, "<#>", mask, 6)], rtol=1e-6)
    assert all(": ann" in line for line in segment_lines(cur, sql, (qt,)))
    # a query the predicate does not cover searches exactly
    sql = "SELECT id FROM sp WHERE cat = 4 ORDER BY s <#> %s LIMIT 6"
    assert all(": exact," in line for line in segment_lines(cur, sql, (qt,)))


def test_sparse_index_files_are_loaded_verified_and_rebuilt(tmp_path, data):
    path = str(tmp_path / "db")
    con = open_db(path)
    cur = con.cursor()
    load(cur, data)
    cur.execute("CREATE INDEX ON sp USING hnsw (s sparsevec_l2_ops)")
    q = data[40]
    qt = sparse_text(q)
    sql = "SELECT id FROM sp ORDER BY s <-> %s LIMIT 10"
    cur.execute(sql, (qt,))
    expected = [r[0] for r in cur.fetchall()]
    con.close()
    files = index_files(path)
    assert len(files) == 3
    assert all(Path(f).read_bytes().startswith(b"VGSPARSE1\n") for f in files)
    raw = bytearray(Path(files[0]).read_bytes())
    raw[len(raw) // 2] ^= 0xFF
    Path(files[0]).write_bytes(bytes(raw))
    con = open_db(path)
    cur = con.cursor()
    cur.execute(sql, (qt,))
    assert [r[0] for r in cur.fetchall()] == expected
    cur.execute("SELECT 1")  # a rebuilt index answers the same
    con.close()
    assert Path(files[0]).read_bytes() != bytes(raw)


def test_sparse_index_limits_and_errors(db):
    cur = db
    many = "{" + ",".join(f"{i}:1" for i in range(1, 1002)) + "}/2000"
    cur.execute("CREATE TABLE big (id int, s sparsevec(2000))")
    cur.execute("INSERT INTO big VALUES (1, %s)", (many,))
    with pytest.raises(VecgresError) as info:
        cur.execute("CREATE INDEX ON big USING hnsw (s sparsevec_l2_ops)")
    assert info.value.sqlstate == "54000"
    assert str(info.value).startswith(
        "sparsevec cannot have more than 1000 non-zero elements for hnsw index"
    )
    cur.execute("DELETE FROM big")
    cur.execute("CREATE INDEX ON big USING hnsw (s sparsevec_l2_ops)")
    with pytest.raises(VecgresError) as info:
        cur.execute("INSERT INTO big VALUES (2, %s)", (many,))
    assert info.value.sqlstate == "54000"
    cur.execute("INSERT INTO big VALUES (3, '{1:1}/2000')")  # the connection stays usable
    cur.execute("SELECT count(*) FROM big")
    assert cur.fetchone() == (1,)
    cur.execute("CREATE TABLE nodim (s sparsevec)")
    with pytest.raises(VecgresError) as info:
        cur.execute("CREATE INDEX ON nodim USING hnsw (s sparsevec_l2_ops)")
    assert "column does not have dimensions" in str(info.value)
    with pytest.raises(VecgresError) as info:
        cur.execute("CREATE INDEX ON sp USING ivfflat (s sparsevec_l2_ops)")
    assert info.value.sqlstate == "42704"
    assert 'operator class "sparsevec_l2_ops" does not exist for access method "ivfflat"' in str(
        info.value
    )
    with pytest.raises(VecgresError) as info:
        cur.execute("CREATE INDEX ON sp USING hnsw (s vector_l2_ops)")
    assert info.value.sqlstate == "42804"
    # a query of other dimensions: pgvector's error, not a wrong answer
    with pytest.raises(VecgresError) as info:
        cur.execute("SELECT id FROM sp ORDER BY s <-> '{1:1}/3' LIMIT 3")
    assert str(info.value).startswith(f"different sparsevec dimensions {DIMS} and 3")


@pytest.mark.parametrize("op", list(OPS))
def test_sparse_range_search_uses_the_index_and_equals_numpy(db, data, op):
    """``WHERE s <op> q < r``: the inverted index scores each sealed segment's rows
    exactly, the growing segment takes the CSR kernel; DuckDB sees only the survivors."""
    cur = db
    cur.execute(f"CREATE INDEX sp_idx ON sp USING hnsw (s sparsevec_{OPS[op]}_ops)")
    rng = np.random.default_rng(29)
    for cut, rank in ((10, 30), (3, 12)):
        q = np.zeros(DIMS, np.float32)
        q[rng.choice(DIMS, 6, replace=False)] = rng.standard_normal(6).astype(np.float32)
        qt = sparse_text(q)
        d = distances(data, q, op)
        mask = (np.arange(N) % 10 < cut) & np.isfinite(d)
        ranked = np.sort(d[mask])
        r = float((ranked[rank] + ranked[rank + 1]) / 2)  # no row on the boundary
        sql = f"SELECT id FROM sp WHERE s {op} %s < %s AND cat < {cut} ORDER BY id"
        cur.execute(sql, (qt, r))
        got = [row[0] for row in cur.fetchall()]
        assert got == list(np.flatnonzero(mask & (d < r)))
        assert len(got) == rank + 1
        lines = segment_lines(cur, sql, (qt, r))
        sealed = [line for line in lines if "Segment: segment" in line]
        assert len(sealed) == 3
        assert all(": ann-range" in line for line in sealed), lines
    cur.execute("SET vecgres.enable_ann = off")
    cur.execute(f"EXPLAIN ANALYZE SELECT id FROM sp WHERE s {op} %s < 0.5", (qt,))
    lines = [row[0] for row in cur.fetchall() if "Segment:" in row[0]]
    assert lines
    assert all("exact-range" in line for line in lines), lines
    with pytest.raises(VecgresError, match=f"different sparsevec dimensions {DIMS} and 3"):
        cur.execute(f"SELECT id FROM sp WHERE s {op} '{{1:1}}/3' < 0.5")
