"""VACUUM compacts segments (files shrink, ANN indexes follow); CHECKPOINT writes the
manifest (what a client sees of them over the wire: tests/server/test_maintenance_wire.py)."""

from __future__ import annotations

import glob
import os

import numpy as np
from annhelpers import distances, open_db
from test_ann import index_files, knn, load_synthetic, synthetic

from vecgres.storage import manifest


def segment_files(path: str, oid: int) -> dict[str, int]:
    """Segment file name -> size of one table's sealed segments."""
    files = glob.glob(os.path.join(path, "segments", str(oid), "*.arrow"))
    return {os.path.basename(f): os.path.getsize(f) for f in files}


def table_oid(cur, name: str) -> int:
    cur.execute(f"SELECT '{name}'::regclass::oid")
    return int(cur.fetchone()[0])


def test_vacuum_purges_deleted_rows_and_search_uses_the_rebuilt_index(tmp_path):
    path = str(tmp_path / "db")
    # no background compaction: only VACUUM merges; segments of 300 rows stay unmerged
    con = open_db(path, compaction_small_rows=100)
    cur = con.cursor()
    cur.execute("CREATE TABLE items (id int, cat int, embedding vector(8))")
    for start in range(0, 1200, 300):
        load_synthetic(cur, 300, start)
    cur.execute("CREATE INDEX items_hnsw ON items USING hnsw (embedding vector_l2_ops)")
    oid = table_oid(cur, "items")
    before = segment_files(path, oid)
    assert len(before) == 4
    assert len(index_files(path)) == 4
    cur.execute("DELETE FROM items WHERE id % 3 <> 0")  # two thirds of every segment
    cur.execute("VACUUM items")
    after = segment_files(path, oid)
    # every segment was rewritten without its deleted rows (merged: 400 live rows)
    assert not set(after) & set(before)
    assert sum(after.values()) < sum(before.values()) / 2
    # the index files of the segments that left went with them; the new ones are built
    indexed = {os.path.basename(f).split(".")[0] for f in index_files(path)}
    assert indexed == {name.split(".")[0] for name in after}
    data = synthetic(1200)
    keep = np.arange(0, 1200, 3)
    q = data[600]
    cur.execute("SET hnsw.ef_search = 400")
    expected = keep[np.argsort(distances(data[keep], q, "<->"))[:10]].tolist()
    assert knn(cur, "<->", q, 10) == expected
    cur.execute(
        "EXPLAIN ANALYZE SELECT id FROM items ORDER BY embedding <-> %s LIMIT 10",
        ("[" + ",".join(str(float(x)) for x in q) + "]",),
    )
    plan = [r[0] for r in cur.fetchall()]
    assert plan[1].startswith("  ->  Index Scan using items_hnsw on items")
    assert all(": ann," in line for line in plan if "Segment:" in line)
    cur.execute("SELECT count(*), min(id), max(id) FROM items")
    assert cur.fetchone() == (400, 0, 1197)
    con.close()
    # the compacted table is what a restart finds
    con = open_db(path, compaction_small_rows=100)
    cur = con.cursor()
    cur.execute("SELECT count(*), sum(id) FROM items")
    assert cur.fetchone() == (400, int(keep.sum()))
    con.close()


def test_vacuum_without_names_compacts_every_table(tmp_path):
    path = str(tmp_path / "db")
    con = open_db(path, seal_rows=100, compaction_small_rows=10)
    cur = con.cursor()
    oids = []
    for name in ("a", "b"):
        cur.execute(f"CREATE TABLE {name} (id int)")
        for start in range(0, 300, 100):
            cur.execute(
                f"INSERT INTO {name} SELECT g FROM generate_series({start}, {start + 99}) g"
            )
        cur.execute(f"DELETE FROM {name} WHERE id < 250")
        oids.append(table_oid(cur, name))
    sizes = [sum(segment_files(path, oid).values()) for oid in oids]
    cur.execute("VACUUM")
    for oid, size in zip(oids, sizes, strict=True):
        assert 0 < sum(segment_files(path, oid).values()) < size
    cur.execute("SELECT (SELECT count(*) FROM a), (SELECT count(*) FROM b)")
    assert cur.fetchone() == (50, 50)
    con.close()


def test_checkpoint_seals_and_the_manifest_forgets_dropped_tables(tmp_path):
    path = str(tmp_path / "db")
    con = open_db(path, seal_rows=100_000)
    cur = con.cursor()
    cur.execute("CREATE TABLE keep (id int)")
    cur.execute("CREATE TABLE gone (id int)")
    cur.execute("INSERT INTO keep SELECT g FROM generate_series(1, 50) g")
    cur.execute("INSERT INTO gone SELECT g FROM generate_series(1, 50) g")
    keep, gone = table_oid(cur, "keep"), table_oid(cur, "gone")
    assert segment_files(path, keep) == {}  # 50 rows: still in the growing segment
    cur.execute("CHECKPOINT")
    assert len(segment_files(path, keep)) == 1
    assert len(segment_files(path, gone)) == 1
    cur.execute("DROP TABLE gone")
    cur.execute("CHECKPOINT")
    m = manifest.load(os.path.join(path, "MANIFEST"))
    assert keep in m.tables
    assert gone not in m.tables
    assert [s.rows for s in m.tables[keep].segments] == [50]
    assert not os.path.exists(os.path.join(path, "segments", str(gone)))
    con.close()


def test_vacuum_full_seals_the_growing_segment_without_its_deleted_rows(tmp_path):
    path = str(tmp_path / "db")
    con = open_db(path, seal_rows=100_000)
    cur = con.cursor()
    cur.execute("CREATE TABLE t (id int, v text)")
    cur.execute("INSERT INTO t SELECT g, repeat('x', 100) FROM generate_series(1, 1000) g")
    cur.execute("DELETE FROM t WHERE id > 100")
    oid = table_oid(cur, "t")
    cur.execute("VACUUM t")  # plain VACUUM leaves the growing segment alone
    assert segment_files(path, oid) == {}
    cur.execute("VACUUM FULL t")
    m = manifest.load(os.path.join(path, "MANIFEST"))
    assert [(s.rows, s.del_count) for s in m.tables[oid].segments] == [(100, 0)]
    assert len(segment_files(path, oid)) == 1
    cur.execute("SELECT count(*), min(id), max(id) FROM t")
    assert cur.fetchone() == (100, 1, 100)
    con.close()


def test_vacuum_full_purges_a_few_deleted_rows_plain_vacuum_leaves(tmp_path):
    path = str(tmp_path / "db")
    con = open_db(path, compaction_small_rows=100)
    cur = con.cursor()
    cur.execute("CREATE TABLE items (id int, cat int, embedding vector(8))")
    load_synthetic(cur, 300, 0)
    oid = table_oid(cur, "items")
    cur.execute("DELETE FROM items WHERE id < 10")  # 3 %: below the compaction ratio
    cur.execute("VACUUM items")
    m = manifest.load(os.path.join(path, "MANIFEST"))
    assert [s.rows for s in m.tables[oid].segments] == [300]
    cur.execute("VACUUM FULL items")
    m = manifest.load(os.path.join(path, "MANIFEST"))
    assert [(s.rows, s.del_count) for s in m.tables[oid].segments] == [(290, 0)]
    cur.execute("SELECT count(*), min(id) FROM items")
    assert cur.fetchone() == (290, 10)
    con.close()
