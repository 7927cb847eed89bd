"""pg_relation_size / pg_indexes_size / pg_total_relation_size over a table with an HNSW index."""

from __future__ import annotations

import os
import time
from pathlib import Path

import vecgres


def _faiss_bytes(root: Path) -> int:
    return sum(p.stat().st_size for p in root.rglob("*.faiss"))


def test_index_sizes_are_the_index_files(tmp_path):
    con = vecgres.connect(str(tmp_path), seal_rows=50, fsync=False, background_compaction=False)
    con.autocommit = True
    try:
        cur = con.cursor()
        cur.execute("create table items (id int primary key, embedding vector(3))")
        cur.execute("create index items_hnsw on items using hnsw (embedding vector_l2_ops)")
        cur.execute("select pg_indexes_size('items'), pg_relation_size('items_hnsw')")
        assert cur.fetchone() == (0, 0)  # nothing sealed yet: no index files
        for start in range(0, 120, 40):
            rows = ", ".join(f"({i}, '[{i},{i % 7},{i % 3}]')" for i in range(start, start + 40))
            cur.execute(f"insert into items values {rows}")
        # sealed segments get their HNSW files from a background builder
        deadline = time.monotonic() + 30
        while _faiss_bytes(tmp_path) == 0 or _faiss_bytes(tmp_path) != _query_size(cur):
            assert time.monotonic() < deadline, "index files were not built"
            time.sleep(0.05)
        on_disk = _faiss_bytes(tmp_path)
        cur.execute(
            "select pg_indexes_size('items'), pg_relation_size('items_hnsw'),"
            " pg_relation_size('items_pkey'), pg_relation_size('items'),"
            " pg_total_relation_size('items')"
        )
        indexes, hnsw, pkey, table, total = cur.fetchone()
        assert indexes == hnsw == on_disk > 0
        assert pkey == 0  # uniqueness is checked on the data: no btree pages
        assert table > 0
        assert total == table + indexes
    finally:
        con.close()
    assert os.path.isdir(tmp_path / "indexes")


def _query_size(cur) -> int:
    cur.execute("select pg_indexes_size('items')")
    return cur.fetchone()[0]
