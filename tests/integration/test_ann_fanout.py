"""A prepared top-k search over two large indexed segments searches them side by side
(vecgres/executor/ann_fast.py's fan-out): its rows are the general path's (``id + 0``
in the select list), and the same as when another statement holds the fan-out and
this one searches its segments one after another."""

from __future__ import annotations

import re
import time

import fastpath_spy
import numpy as np
import pytest
from annhelpers import open_db, vec

from vecgres.executor import ann_fast

DIMS = 8
SEGMENT = ann_fast.FANOUT_MIN_ROWS  # the smallest segment searched on a helper thread
ROWS = 2 * SEGMENT

fast_runs = fastpath_spy.fast_runs


def insert_rows(cur, lo: int, hi: int) -> None:
    """Rows ``lo..hi-1`` of a fixed data set (no random: the same on every run)."""
    elems = ", ".join(
        f"sin(i * {0.37 + j * 0.11:.2f}) + cos(i * {j + 1}.0) / 3" for j in range(DIMS)
    )
    cur.execute(
        f"INSERT INTO t SELECT i, i % 10, ARRAY[{elems}]::vector({DIMS}) "
        f"FROM generate_series({lo}, {hi - 1}) AS g(i)"
    )


def wait_indexed(cur, segments: int) -> None:
    """Until ``segments`` sealed segments are searched by their index (built meanwhile)."""
    probe = vec(np.ones(DIMS, dtype=np.float32))
    deadline = time.monotonic() + 120
    while True:
        cur.execute(f"EXPLAIN ANALYZE SELECT id FROM t ORDER BY v <=> '{probe}' LIMIT 10")
        plan = "\n".join(r[0] for r in cur.fetchall())
        if plan.count(": ann") == segments or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert plan.count(": ann") == segments, plan


@pytest.fixture(scope="module")
def db(tmp_path_factory):
    """One database for the module (building it is the slow part); the last test adds
    to it."""
    con = open_db(str(tmp_path_factory.mktemp("fanout") / "db"), seal_rows=SEGMENT)
    cur = con.cursor()
    cur.execute(f"CREATE TABLE t (id int, cat int, v vector({DIMS}))")
    for lo in range(0, ROWS, SEGMENT):  # a segment is sealed after the INSERT filling it
        insert_rows(cur, lo, lo + SEGMENT)
    # cosine: the query is normalized once for both segments (one index: builds are slow)
    cur.execute("CREATE INDEX ON t USING hnsw (v vector_cosine_ops)")
    wait_indexed(cur, 2)
    yield con, cur
    con.close()


fanouts = fastpath_spy.fanouts


SHAPES = [
    "SELECT id FROM t ORDER BY v {op} %s LIMIT 10",
    "SELECT id, v {op} %s AS d FROM t ORDER BY d LIMIT 7 OFFSET 2",
]


def _queries() -> list[np.ndarray]:
    rng = np.random.default_rng(11)
    return [rng.standard_normal(DIMS).astype(np.float32) for _ in range(4)]


def _run(cur, sql: str, q: np.ndarray) -> list[tuple]:
    cur.execute(sql, (vec(q),))
    return cur.fetchall()


def _same(got: list[tuple], want: list[tuple]) -> None:
    assert [r[0] for r in got] == [r[0] for r in want]
    if got and len(got[0]) > 1:
        assert [r[1] for r in got] == pytest.approx([r[1] for r in want], rel=1e-5, abs=1e-6)


def test_fanned_out_rows_are_the_general_paths(db, fast_runs, fanouts):
    _con, cur = db
    for template in SHAPES:
        fast_sql = template.format(op="<=>")
        general_sql = fast_sql.replace("SELECT id", "SELECT id + 0", 1)
        for q in _queries():
            before = (fast_runs[0], fanouts[0])
            got = _run(cur, fast_sql, q)
            assert (fast_runs[0], fanouts[0]) == (before[0] + 1, before[1] + 1)
            want = _run(cur, general_sql, q)
            assert fast_runs[0] == before[0] + 1  # the general path answered that one
            assert len(got) == (10 if "LIMIT 10" in fast_sql else 7)
            _same(got, want)


def test_a_busy_fanout_searches_one_segment_after_another(db, fanouts):
    """While another statement fans out, a search runs on its own thread alone: same rows."""
    _con, cur = db
    sql = SHAPES[1].format(op="<=>")
    fanned = [_run(cur, sql, q) for q in _queries()]
    assert fanouts[0] == len(fanned)
    with ann_fast._fanout:  # held: as by a statement fanning out on another thread
        alone = [_run(cur, sql, q) for q in _queries()]
    assert fanouts[0] == len(fanned)
    assert alone == fanned


def test_kept_fanout_follows_the_settings(db, fanouts):
    """The searches made ready for a statement are kept between its runs, per search
    setting: changing hnsw.ef_search back and forth gives each value's rows (the
    general path's), not the first one's."""
    _con, cur = db
    sql = SHAPES[0].format(op="<=>")
    general_sql = sql.replace("SELECT id", "SELECT id + 0", 1)
    rng = np.random.default_rng(5)
    queries = [rng.standard_normal(DIMS).astype(np.float32) for _ in range(12)]
    seen: dict[int, list[list[tuple]]] = {10: [], 400: []}
    try:
        for ef in (10, 400, 10, 400):
            cur.execute(f"SET hnsw.ef_search = {ef}")
            runs = []
            for q in queries:
                before = fanouts[0]
                got = _run(cur, sql, q)
                assert fanouts[0] == before + 1
                _same(got, _run(cur, general_sql, q))
                runs.append(got)
            seen[ef].append(runs)
    finally:
        cur.execute("RESET hnsw.ef_search")
    assert seen[10][0] == seen[10][1]
    assert seen[400][0] == seen[400][1]
    assert seen[10][0] != seen[400][0]  # the two settings find different rows here


def test_kept_fanout_is_made_again_after_reindex(db, fanouts, monkeypatch):
    """The searches made ready for a statement are kept between its runs; after REINDEX
    they are made again, on the new indexes."""
    _con, cur = db
    made: list[list[object]] = []
    ready_init = ann_fast._Ready.__init__

    def counting(self, idx, jobs, plan, generation):  # type: ignore[no-untyped-def]
        made.append([index for _sid, index, _rows in jobs])
        ready_init(self, idx, jobs, plan, generation)

    monkeypatch.setattr(ann_fast._Ready, "__init__", counting)
    sql = "SELECT id FROM t ORDER BY v <=> %s LIMIT 9"  # a statement no other test runs
    q = _queries()[0]
    first = [_run(cur, sql, q) for _ in range(3)]
    assert len(made) == 1  # made on the first run, reused by the next two
    cur.execute("REINDEX INDEX t_v_idx")
    wait_indexed(cur, 2)
    again = _run(cur, sql, q)
    assert len(made) == 2
    assert not set(map(id, made[0])) & set(map(id, made[1]))  # other index objects
    assert fanouts[0] == 4
    _same(again, _run(cur, sql.replace("SELECT id", "SELECT id + 0", 1), q))
    assert len(first[0]) == len(again) == 9


def test_ivfflat_fanout_probes_adaptively(db, fast_runs, fanouts):
    """IVFFlat segments searched ahead probe past ``ivfflat.probes`` as their own search
    would (vecgres.ivfflat_adaptive_probes): the general path's rows, and the EXPLAIN
    ANALYZE line of each segment reports the lists probed."""
    _con, cur = db
    cur.execute(f"CREATE TABLE u (id int, cat int, v vector({DIMS}))")
    for lo in range(0, ROWS, SEGMENT):
        cur.execute(f"INSERT INTO u SELECT * FROM t WHERE id >= {lo} AND id < {lo + SEGMENT}")
    cur.execute("CREATE INDEX ON u USING ivfflat (v vector_l2_ops) WITH (lists = 50)")
    sql = "SELECT id FROM u ORDER BY v <-> %s LIMIT 10"
    deadline = time.monotonic() + 120
    while True:
        cur.execute("EXPLAIN ANALYZE " + sql.replace("%s", f"'{vec(np.ones(DIMS))}'"))
        plan = "\n".join(r[0] for r in cur.fetchall())
        if plan.count(": ann") == 2 or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert plan.count("lists=") == 2, plan
    probed = []
    for q in _queries():
        cur.execute("EXPLAIN ANALYZE " + sql.replace("%s", f"'{vec(q)}'"))
        plan = "\n".join(r[0] for r in cur.fetchall())
        probed += [int(n) for n in re.findall(r"lists=(\d+)", plan)]
        before = (fast_runs[0], fanouts[0])
        got = _run(cur, sql, q)
        assert (fast_runs[0], fanouts[0]) == (before[0] + 1, before[1] + 1)
        _same(got, _run(cur, sql.replace("SELECT id", "SELECT id + 0", 1), q))
        assert len(got) == 10
    assert max(probed) > 1, probed  # ivfflat.probes = 1: the bound probed further


def test_segments_with_deleted_rows_keep_their_own_search(db, fast_runs, fanouts):
    """A segment with deleted rows searches widened (not ahead); a third large segment
    arriving is searched ahead with the other full one."""
    _con, cur = db
    cur.execute("DELETE FROM t WHERE id % 97 = 5 AND id < %s", (SEGMENT,))
    insert_rows(cur, ROWS, ROWS + SEGMENT)
    wait_indexed(cur, 3)
    sql = SHAPES[0].format(op="<=>")
    for q in _queries():
        before = fanouts[0]
        got = _run(cur, sql, q)
        assert fanouts[0] == before + 1
        want = _run(cur, sql.replace("SELECT id", "SELECT id + 0", 1), q)
        _same(got, want)
        assert all(r[0] % 97 != 5 or r[0] >= SEGMENT for r in got)
