"""ANN indexes per segment, seen through SQL: exactness, filters, durability, rebuilds.

Segments are kept small (``seal_rows``) and the executor is told to use ANN
even on few matching rows (``ann_exact_max_rows=0``), so the per-segment
ANN paths run on small data.
"""

from __future__ import annotations

import glob
import json
import os
import time
import zlib
from pathlib import Path

import numpy as np
import pytest
from annhelpers import distances, open_db, vec
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from vecgres.dbapi import Connection, Cursor
from vecgres.dbapi import Error as VecgresError

DIMS = 8
METRIC_OPS = {
    "<->": "vector_l2_ops",
    "<#>": "vector_ip_ops",
    "<=>": "vector_cosine_ops",
    "<+>": "vector_l1_ops",
}


PRIMES = (37, 101, 211, 307, 401, 503, 601, 709)


def synthetic(n: int, start: int = 0) -> np.ndarray:
    """Pseudo-random vectors from integer arithmetic (quadratic, so no lattice ties),
    computed identically by SQL and numpy."""
    i = np.arange(start, start + n, dtype=np.int64)[:, None]
    p = np.array(PRIMES[:DIMS], dtype=np.int64)[None, :]
    j = np.arange(DIMS, dtype=np.int64)[None, :]
    return (((i * i * p + i * (j + 3) * 7919 + j) % 100003) / 10000.0 - 5.0).astype(np.float32)


def load_synthetic(cur, n: int, start: int = 0) -> None:
    elems = ", ".join(
        f"((i * i * {p} + i * {(j + 3) * 7919} + {j}) % 100003) / 10000.0 - 5.0"
        for j, p in enumerate(PRIMES)
    )
    cur.execute(
        f"INSERT INTO items SELECT i, i % 100, ARRAY[{elems}]::vector({DIMS}) "
        f"FROM generate_series({start}, {start + n - 1}) AS s(i)"
    )


def four_segments(path: str) -> tuple[Connection, Cursor]:
    """A database at ``path`` whose table ``items`` holds ``synthetic(1200)`` in four
    INSERTs of 300 rows (one sealed segment each); its connection and cursor."""
    con = open_db(path)
    cur = con.cursor()
    cur.execute("CREATE TABLE items (id int, cat int, embedding vector(8))")
    for start in range(0, 1200, 300):
        load_synthetic(cur, 300, start)
    return con, cur


def load(cur, x: np.ndarray, start: int = 0, batch: int = 150) -> None:
    for lo in range(0, len(x), batch):
        rows = ", ".join(
            f"({start + i}, {(start + i) % 100}, '{vec(x[i])}')"
            for i in range(lo, min(lo + batch, len(x)))
        )
        cur.execute(f"INSERT INTO items VALUES {rows}")


def knn(cur, op: str, q: np.ndarray, k: int, where: str = "") -> list[int]:
    cur.execute(f"SELECT id FROM items {where} ORDER BY embedding {op} %s LIMIT {k}", (vec(q),))
    return [r[0] for r in cur.fetchall()]


def index_files(path: str) -> list[str]:
    return sorted(glob.glob(os.path.join(path, "indexes", "*", "*.faiss")))


def wait_for(predicate, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def explain_analyze(cur, sql: str) -> list[str]:
    cur.execute("EXPLAIN ANALYZE " + sql)
    return [r[0] for r in cur.fetchall()]


@pytest.fixture
def data():
    return synthetic(1200)


@pytest.fixture
def db(tmp_path, data):
    path = str(tmp_path / "db")
    con, cur = four_segments(path)
    yield path, con, cur
    con.close()


@pytest.mark.parametrize("op", ["<->", "<#>", "<=>", "<+>"])
def test_flat_index_is_exact_with_filters_and_deletes(db, data, op):
    path, _con, cur = db
    cur.execute(f"CREATE INDEX ON items USING flat (embedding {METRIC_OPS[op]})")
    assert len(index_files(path)) == 4  # 1200 rows / 300 per sealed segment
    cur.execute("DELETE FROM items WHERE id % 7 = 0")
    alive = np.arange(len(data)) % 7 != 0
    rng = np.random.default_rng(1)
    for cut in (1, 10, 50, 100):  # selectivity of `cat < cut`
        q = rng.standard_normal(DIMS).astype(np.float32)
        mask = alive & (np.arange(len(data)) % 100 < cut)
        d = distances(data, q, op)
        expected = list(np.flatnonzero(mask)[np.argsort(d[mask], kind="stable")][:10])
        assert knn(cur, op, q, 10, f"WHERE cat < {cut}") == expected


@pytest.mark.parametrize(
    ("method", "options"),
    [
        ("hnsw", ""),
        ("ivfflat", "WITH (lists = 4)"),
        ("hnsw", "WITH (quantization = 'sq8')"),
        ("ivfflat", "WITH (lists = 4, quantization = 'pq')"),
        ("flat", "WITH (quantization = 'fp16')"),
    ],
)
def test_filtered_search_never_short(db, data, method, options):
    """k rows whenever at least k match, sorted by distance, deleted rows never returned."""
    _path, _con, cur = db
    cur.execute(f"CREATE INDEX ON items USING {method} (embedding vector_l2_ops) {options}")
    cur.execute("DELETE FROM items WHERE id % 7 = 3")
    ids = np.arange(len(data))
    rng = np.random.default_rng(3)
    for cut in (1, 1, 3, 30, 30, 70, 70):
        matching = int(((ids % 100 < cut) & (ids % 7 != 3)).sum())
        q = rng.standard_normal(DIMS).astype(np.float32)
        cur.execute(
            f"SELECT id, cat, embedding <-> %s FROM items WHERE cat < {cut} "
            "ORDER BY embedding <-> %s LIMIT 10",
            (vec(q), vec(q)),
        )
        rows = cur.fetchall()
        assert len(rows) == min(10, matching)
        assert all(r[1] < cut and r[0] % 7 != 3 for r in rows)
        dists = [r[2] for r in rows]
        assert dists == sorted(dists)


def test_enable_ann_off_and_on_agree_with_numpy_when_few_rows_match(db, data):
    _path, _con, cur = db
    cur.execute("CREATE INDEX ON items USING hnsw (embedding vector_l2_ops)")
    q = data[5] + 0.001
    d = distances(data, q, "<->")
    mask = np.arange(len(data)) % 100 == 42  # 12 rows match
    expected = list(np.flatnonzero(mask)[np.argsort(d[mask])][:20])
    assert knn(cur, "<->", q, 20, "WHERE cat = 42") == expected
    cur.execute("SET vecgres.enable_ann = off")
    assert knn(cur, "<->", q, 20, "WHERE cat = 42") == expected
    assert knn(cur, "<->", q, 10) == list(np.argsort(d)[:10])


def test_explain_analyze_shows_per_segment_strategies(db, data):
    _path, _con, cur = db
    cur.execute("CREATE INDEX items_hnsw ON items USING hnsw (embedding vector_l2_ops)")
    q = vec(data[0])
    plan = explain_analyze(cur, f"SELECT id FROM items ORDER BY embedding <-> '{q}' LIMIT 5")
    assert plan[1].startswith("  ->  Index Scan using items_hnsw on items")
    segments = [line for line in plan if "Segment:" in line]
    assert len(segments) == 4
    assert all(": ann," in line for line in segments)
    plan = explain_analyze(
        cur, f"SELECT id FROM items WHERE cat < 20 ORDER BY embedding <-> '{q}' LIMIT 5"
    )
    assert all("ann-allowlist" in line for line in plan if "Segment:" in line)
    plan = explain_analyze(
        cur, f"SELECT id FROM items WHERE cat < 90 ORDER BY embedding <-> '{q}' LIMIT 5"
    )
    assert all("ann-widened" in line for line in plan if "Segment:" in line)
    cur.execute("SET vecgres.enable_ann = off")
    plan = explain_analyze(cur, f"SELECT id FROM items ORDER BY embedding <-> '{q}' LIMIT 5")
    assert plan[1].startswith("  ->  Sort")
    assert all(": exact," in line for line in plan if "Segment:" in line)


def test_growing_segment_and_own_writes_are_searched(db, data):
    _path, con, cur = db
    cur.execute("CREATE INDEX ON items USING hnsw (embedding vector_l2_ops)")
    target = np.full(DIMS, 9.0, dtype=np.float32)
    cur.execute("INSERT INTO items VALUES (5000, 1, %s)", (vec(target),))  # growing segment
    assert knn(cur, "<->", target, 1) == [5000]
    con.autocommit = False
    cur.execute("INSERT INTO items VALUES (5001, 1, %s)", (vec(target * 1.01),))
    cur.execute("DELETE FROM items WHERE id = 5000")
    assert knn(cur, "<->", target, 2) == [5001, int(np.argmin(distances(data, target, "<->")))]
    con.rollback()
    con.autocommit = True
    assert knn(cur, "<->", target, 1) == [5000]


def test_updates_move_rows(db, data):
    _path, _con, cur = db
    cur.execute("CREATE INDEX ON items USING hnsw (embedding vector_cosine_ops)")
    q = data[100]
    assert knn(cur, "<=>", q, 1) == [100]
    cur.execute("UPDATE items SET embedding = %s WHERE id = 100", (vec(-q),))
    cur.execute("UPDATE items SET embedding = %s WHERE id = 7", (vec(q * 2),))
    got = knn(cur, "<=>", q, 3)
    assert got[0] == 7
    assert 100 not in got


def test_indexes_survive_restart_without_rebuild(tmp_path, data):
    path = str(tmp_path / "db")
    con, cur = four_segments(path)
    cur.execute("CREATE INDEX ON items USING hnsw (embedding vector_l2_ops)")
    files = index_files(path)
    before = {f: os.stat(f).st_mtime_ns for f in files}
    q = data[3]
    first = knn(cur, "<->", q, 10)
    con.close()
    con = open_db(path)
    cur = con.cursor()
    assert knn(cur, "<->", q, 10) == first
    plan = explain_analyze(cur, f"SELECT id FROM items ORDER BY embedding <-> '{vec(q)}' LIMIT 5")
    assert sum(": ann," in line for line in plan) == 4
    assert {f: os.stat(f).st_mtime_ns for f in index_files(path)} == before
    con.close()


def test_corrupt_or_missing_index_file_is_rebuilt_not_loaded(tmp_path, data):
    path = str(tmp_path / "db")
    con, cur = four_segments(path)
    cur.execute("CREATE INDEX ON items USING hnsw (embedding vector_l2_ops)")
    q = data[11]
    expected = knn(cur, "<->", q, 10)
    con.close()
    files = index_files(path)
    corrupt, missing = files[0], files[1]
    raw = bytearray(Path(corrupt).read_bytes())
    raw[len(raw) // 2] ^= 0xFF
    Path(corrupt).write_bytes(bytes(raw))
    os.unlink(missing)

    def healthy(p: str) -> bool:
        if not os.path.exists(p + ".sum") or not os.path.exists(p):
            return False
        summary = json.loads(Path(p + ".sum").read_bytes())
        return bool(summary["crc32"] == zlib.crc32(Path(p).read_bytes()))

    con = open_db(path)
    cur = con.cursor()
    assert knn(cur, "<->", q, 10) == expected
    wait_for(lambda: healthy(corrupt) and healthy(missing))
    assert Path(corrupt).read_bytes() != bytes(raw)
    assert knn(cur, "<->", q, 10) == expected
    con.close()


def test_compaction_rebuilds_indexes_of_new_segments(tmp_path, data):
    path = str(tmp_path / "db")
    con = open_db(path, background_compaction=True, compaction_small_rows=10_000)
    cur = con.cursor()
    cur.execute("CREATE TABLE items (id int, cat int, embedding vector(8))")
    cur.execute("CREATE INDEX ON items USING hnsw (embedding vector_l2_ops)")
    for start in range(0, 1200, 300):
        load_synthetic(cur, 300, start)
    cur.execute("DELETE FROM items WHERE id < 100")

    def one_merged_index() -> bool:
        found = index_files(path)
        return len(found) == 1 and os.path.exists(found[0] + ".sum")

    # small segments are merged in the background; only the merged one keeps an
    # index: the files of the merged-away segments go while the database stays open
    wait_for(one_merged_index)
    q = data[50]
    got = knn(cur, "<->", q, 10)
    d = distances(data, q, "<->")
    d[:100] = np.inf
    assert got == list(np.argsort(d)[:10])
    con.close()


def test_truncate_and_drop_table_remove_index_files(tmp_path, data):
    path = str(tmp_path / "db")
    con, cur = four_segments(path)
    cur.execute("CREATE INDEX ON items USING hnsw (embedding vector_l2_ops)")
    assert len(index_files(path)) == 4
    cur.execute("TRUNCATE items")
    load_synthetic(cur, 600)  # sealing writes the manifest that drops the old segments
    cur.execute("SELECT count(*) FROM items")
    assert cur.fetchone() == (600,)
    wait_for(lambda: len(index_files(path)) == 1)  # one INSERT seals one segment
    cur.execute("DROP TABLE items")
    con.close()  # closing writes the manifest that no longer lists the table
    assert index_files(path) == []
    assert os.listdir(os.path.join(path, "indexes")) == []


def test_reindex_and_drop(db, data):
    path, _con, cur = db
    cur.execute("CREATE INDEX items_idx ON items USING ivfflat (embedding) WITH (lists = 2)")
    files = index_files(path)
    assert len(files) == 4
    stamps = [os.stat(f).st_mtime_ns for f in files]
    time.sleep(0.01)
    cur.execute("REINDEX INDEX items_idx")
    assert [os.stat(f).st_mtime_ns for f in index_files(path)] != stamps
    con = cur.connection
    con.autocommit = False
    cur.execute("DROP INDEX items_idx")
    con.rollback()  # an uncommitted DROP leaves the files
    assert len(index_files(path)) == 4
    con.autocommit = True
    cur.execute("DROP INDEX items_idx")
    assert index_files(path) == []
    plan = explain_analyze(
        cur, f"SELECT id FROM items ORDER BY embedding <-> '{vec(data[0])}' LIMIT 5"
    )
    assert plan[1].startswith("  ->  Sort")


@settings(
    max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    seed=st.integers(0, 2**16),
    op=st.sampled_from(["<->", "<#>", "<=>", "<+>"]),
    k=st.integers(1, 30),
    cut=st.integers(0, 100),
)
def test_enable_ann_off_equals_numpy(tmp_path_factory, seed, op, k, cut):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 700))
    x = rng.standard_normal((n, 4)).astype(np.float32)
    path = str(tmp_path_factory.mktemp("prop") / "db")
    con = open_db(path)
    cur = con.cursor()
    cur.execute("CREATE TABLE items (id int, cat int, embedding vector(4))")
    load(cur, x)
    cur.execute(f"CREATE INDEX ON items USING hnsw (embedding {METRIC_OPS[op]})")
    cur.execute("SET vecgres.enable_ann = off")
    q = rng.standard_normal(4).astype(np.float32)
    mask = np.arange(n) % 100 < cut
    d = distances(x, q, op)
    expected = list(np.flatnonzero(mask)[np.argsort(d[mask], kind="stable")][:k])
    assert knn(cur, op, q, k, f"WHERE cat < {cut}") == expected
    con.close()


def test_create_index_rolled_back_is_not_used(db, data):
    _path, con, cur = db
    con.autocommit = False
    cur.execute("CREATE INDEX items_tmp ON items USING hnsw (embedding vector_l2_ops)")
    plan = explain_analyze(
        cur, f"SELECT id FROM items ORDER BY embedding <-> '{vec(data[1])}' LIMIT 3"
    )
    assert "items_tmp" in plan[1]
    con.rollback()
    con.autocommit = True
    plan = explain_analyze(
        cur, f"SELECT id FROM items ORDER BY embedding <-> '{vec(data[1])}' LIMIT 3"
    )
    assert plan[1].startswith("  ->  Sort")
    assert knn(cur, "<->", data[1], 3)[0] == 1


def test_checker_verifies_index_files_and_open_rebuilds_them(tmp_path, data):
    import subprocess
    import sys

    path = str(tmp_path / "db")
    con, cur = four_segments(path)
    cur.execute("CREATE INDEX ON items USING hnsw (embedding vector_l2_ops)")
    cur.execute("SELECT vecgres_check()")
    summary = cur.fetchone()[0]
    assert summary.startswith("ok: 0 problems")
    q = data[7]
    expected = knn(cur, "<->", q, 10)
    con.close()

    def run_check() -> tuple[int, str]:
        proc = subprocess.run(
            [sys.executable, "-m", "vecgres", "check", path], capture_output=True, text=True
        )
        return proc.returncode, proc.stdout

    code, out = run_check()
    assert code == 0, out
    files = index_files(path)
    assert len(files) == 4
    raw = bytearray(Path(files[0]).read_bytes())
    raw[len(raw) // 2] ^= 0xFF
    Path(files[0]).write_bytes(bytes(raw))
    Path(files[1]).write_bytes(Path(files[1]).read_bytes()[:-10])
    orphan = os.path.join(os.path.dirname(files[0]), "999999.1.faiss")
    Path(orphan).write_bytes(b"junk")
    code, out = run_check()
    assert code == 1
    assert f'problem: index file "{files[0]}" fails its checksum' in out
    assert f'problem: index file "{files[1]}" has ' in out
    assert f'note: orphaned index file "{orphan}"' in out
    assert "FAILED: 2 problems" in out

    con = open_db(path)
    cur = con.cursor()
    assert knn(cur, "<->", q, 10) == expected  # those segments are searched exactly meanwhile
    assert not os.path.exists(orphan)

    def clean() -> bool:
        cur.execute("SELECT vecgres_check()")  # raises while a problem remains
        return len(index_files(path)) == 4

    wait_for(lambda: _quietly(clean))
    assert knn(cur, "<->", q, 10) == expected
    con.close()
    code, out = run_check()
    assert code == 0, out
    assert "ok: 0 problems" in out


def _quietly(fn) -> bool:
    try:
        return bool(fn())
    except VecgresError:
        return False


@pytest.mark.parametrize(
    ("op", "index"),
    [
        (op, index)
        for op in ("<->", "<#>", "<=>", "<+>")
        for index in ("", "flat", "hnsw", "ivfflat")
        if not (index == "ivfflat" and op == "<+>")  # pgvector has no ivfflat vector_l1_ops
    ],
)
def test_range_search_equals_brute_force(db, data, op, index):
    _path, con, cur = db
    if index:
        options = "WITH (lists = 4)" if index == "ivfflat" else ""
        cur.execute(f"CREATE INDEX ON items USING {index} (embedding {METRIC_OPS[op]}) {options}")
    cur.execute("SET ivfflat.probes = 4")  # all lists: exact candidates
    cur.execute("SET hnsw.ef_search = 400")
    q = data[21] + np.float32(0.01)
    # brute force with the database's own float32 arithmetic (a radius can sit on a row)
    cur.execute(f"SELECT id, embedding {op} %s FROM items ORDER BY id", (vec(q),))
    d = np.array([row[1] for row in cur.fetchall()])
    np.testing.assert_allclose(d, distances(data, q, op), rtol=1e-4, atol=1e-4)
    # radii at the 1%, 5% and 20% quantiles; a radius exactly at a row's distance too
    for r in (*np.quantile(d, [0.01, 0.05, 0.2]), float(np.sort(d)[7])):
        r = float(r)
        inside = np.flatnonzero(d < r)
        cur.execute(f"SELECT id FROM items WHERE embedding {op} %s < %s", (vec(q), r))
        got = sorted(row[0] for row in cur.fetchall())
        if index == "hnsw":  # approximate: a subset, every row truly inside
            assert set(got) <= set(inside.tolist())
            assert len(got) >= 0.9 * len(inside)
        else:
            assert got == inside.tolist()
        cur.execute(
            f"SELECT id, embedding {op} %s FROM items WHERE cat < 50 AND embedding {op} %s < %s "
            f"ORDER BY embedding {op} %s LIMIT 5",
            (vec(q), vec(q), r, vec(q)),
        )
        rows = cur.fetchall()
        sub = inside[inside % 100 < 50]
        expected = sub[np.argsort(d[sub], kind="stable")][:5].tolist()
        if index != "hnsw":
            assert [row[0] for row in rows] == expected
        assert all(row[1] < r and row[0] % 100 < 50 for row in rows)
    cur.execute(f"EXPLAIN ANALYZE SELECT id FROM items WHERE embedding {op} %s < %s", (vec(q), r))
    segments = [row[0] for row in cur.fetchall() if "Segment:" in row[0]]
    assert len(segments) == 4
    # faiss range_search where the index measures like pgvector (not L1): numpy otherwise
    ann = bool(index) and op != "<+>"
    assert all((": ann-range," if ann else ": exact-range,") in line for line in segments)
    # <= and the mirrored form, and an aggregate over the survivors
    r = float(np.sort(d)[9])
    cur.execute(f"SELECT count(*) FROM items WHERE %s >= embedding {op} %s", (r, vec(q)))
    count = cur.fetchone()[0]
    if index != "hnsw":
        assert count == int((d <= r).sum())
    # own uncommitted rows are searched too
    con.autocommit = False
    cur.execute(f"INSERT INTO items VALUES (99999, 1, '{vec(q)}')")
    cur.execute(f"SELECT id FROM items WHERE embedding {op} %s < %s AND id > 99990", (vec(q), r))
    got = [row[0] for row in cur.fetchall()]
    cur.execute(f"SELECT %s::vector {op} %s::vector", (vec(q), vec(q)))
    d_self = cur.fetchone()[0]
    assert got == ([99999] if d_self < r else [])
    con.rollback()
    con.autocommit = True


@pytest.mark.parametrize("method", ["flat", "hnsw"])
def test_partial_index_used_when_where_implies_predicate(tmp_path, data, method):
    path = str(tmp_path / "db")
    con, cur = four_segments(path)
    cur.execute(
        f"CREATE INDEX items_part ON items USING {method} (embedding vector_l2_ops) "
        "WHERE (cat < 30)"
    )
    cur.execute("SELECT indexdef FROM pg_indexes WHERE indexname = 'items_part'")
    assert cur.fetchone() is not None
    cur.execute("SET hnsw.ef_search = 200")
    ids = np.arange(len(data))
    q = data[40] + np.float32(0.01)
    d = distances(data, q, "<->")

    def expected(mask: np.ndarray, k: int = 10) -> list[int]:
        return list(np.flatnonzero(mask)[np.argsort(d[mask], kind="stable")][:k])

    def plan(where: str) -> list[str]:
        return explain_analyze(
            cur, f"SELECT id FROM items WHERE {where} ORDER BY embedding <-> '{vec(q)}' LIMIT 10"
        )

    for where, mask in (
        ("cat < 30", ids % 100 < 30),
        ("cat < 30 AND id > 500", (ids % 100 < 30) & (ids > 500)),
        ("id % 3 = 0 AND cat < 30", (ids % 100 < 30) & (ids % 3 == 0)),
    ):
        lines = plan(where)
        assert lines[1].startswith("  ->  Index Scan using items_part on items")
        segments = [line for line in lines if "Segment:" in line]
        assert len(segments) == 4
        # segment 1 holds ids 0..299: its min/max rule out id > 500
        assert all(": ann" in line or ": pruned," in line for line in segments)
        assert sum(": ann" in line for line in segments) >= 3
        got = knn(cur, "<->", q, 10, f"WHERE {where}")
        if method == "flat":
            assert got == expected(mask)
        else:
            assert got[0] == expected(mask)[0]
            assert all(mask[i] for i in got)
    # a WHERE that does not imply the predicate: no index
    assert plan("cat < 31")[1].startswith("  ->  Sort")
    assert knn(cur, "<->", q, 10, "WHERE cat < 31") == expected(ids % 100 < 31)
    assert knn(cur, "<->", q, 5) == expected(ids >= 0, 5)
    con.close()
    con = open_db(path)  # the partial index files load (they hold fewer rows than the segment)
    cur = con.cursor()
    lines = plan("cat < 30")
    assert all(": ann" in line for line in lines if "Segment:" in line)
    assert knn(cur, "<->", q, 10, "WHERE cat < 30")[0] == expected(ids % 100 < 30)[0]
    with pytest.raises(VecgresError) as info:
        cur.execute(
            "CREATE INDEX ON items USING hnsw (embedding vector_l2_ops) WHERE (cat < 3 OR id = 1)"
        )
    assert info.value.sqlstate == "0A000"
    con.close()


def test_segments_pruned_by_min_max_of_scalar_filters(db, data):
    _path, _con, cur = db
    cur.execute("CREATE INDEX ON items USING flat (embedding vector_l2_ops)")
    q = data[950] + np.float32(0.01)
    d = distances(data, q, "<->")
    ids = np.arange(len(data))
    for where, mask, pruned in (
        ("id >= 900", ids >= 900, 3),
        ("id < 300 AND cat = 7", (ids < 300) & (ids % 100 == 7), 3),
        ("600 <= id AND id <= 650", (ids >= 600) & (ids <= 650), 3),
        ("id = 1300", ids == 1300, 4),
        ("id <> 5", ids != 5, 0),
    ):
        sql = f"SELECT id FROM items WHERE {where} ORDER BY embedding <-> '{vec(q)}' LIMIT 10"
        segments = [line for line in explain_analyze(cur, sql) if "Segment:" in line]
        assert sum(": pruned," in line for line in segments) == pruned, segments
        expected = list(np.flatnonzero(mask)[np.argsort(d[mask], kind="stable")][:10])
        assert knn(cur, "<->", q, 10, f"WHERE {where}") == expected
        r = float(np.sort(d)[50:52].mean())  # between two rows: no float rounding at the edge
        cur.execute(f"SELECT id FROM items WHERE {where} AND embedding <-> %s < %s", (vec(q), r))
        assert sorted(row[0] for row in cur.fetchall()) == np.flatnonzero(mask & (d < r)).tolist()
