"""Index builds: what runs after a seal, what compaction spares, faiss threads."""

from __future__ import annotations

import hashlib
import logging
import os
import re
import threading

import numpy as np
from annhelpers import distances, open_db
from test_ann import index_files, knn, load_synthetic, synthetic, wait_for

from vecgres.index import progress, segment


def test_segment_about_to_merge_gets_no_index_build(tmp_path, caplog):
    """The first small segment is indexed when sealed; the second is merged with it at
    once, so only the merged segment is built (no build thrown away with a merge)."""
    caplog.set_level(logging.INFO, logger="vecgres.index")
    path = str(tmp_path / "db")
    con = open_db(path, background_compaction=True, compaction_small_rows=10_000)
    cur = con.cursor()
    cur.execute("CREATE TABLE items (id int, cat int, embedding vector(8))")
    cur.execute("CREATE INDEX ON items USING hnsw (embedding vector_l2_ops)")
    load_synthetic(cur, 300, 0)
    wait_for(lambda: len(index_files(path)) == 1)
    first = os.path.basename(index_files(path)[0]).split(".")[0]
    load_synthetic(cur, 300, 300)

    def merged() -> list[str]:
        return [
            name
            for f in index_files(path)
            if (name := os.path.basename(f).split(".")[0]) != first and os.path.exists(f + ".sum")
        ]

    def built() -> list[int]:
        pattern = r"built hnsw index \S+ on segment (\d+) \((\d+) rows\)"
        return [
            int(m.group(1)) for r in caplog.records if (m := re.search(pattern, r.getMessage()))
        ]

    # the build logs after its file is written: wait for both; the merged-away
    # segment's file goes with the manifest that drops the segment
    wait_for(lambda: len(merged()) == 1 and len(built()) >= 2)
    wait_for(lambda: len(index_files(path)) == 1)
    assert built() == [int(first), int(merged()[0])]
    assert int(merged()[0]) == int(first) + 2  # the second sealed segment's id was skipped
    data = synthetic(600)
    q = data[123]
    assert knn(cur, "<->", q, 10) == list(np.argsort(distances(data, q, "<->"))[:10])
    con.close()


def test_builds_leave_a_core_to_busy_sessions_unless_a_statement_waits():
    """A large build after a seal, while this process is busy (sessions inserting),
    leaves one core; CREATE INDEX and REINDEX wait for theirs and get every core."""
    cores = len(os.sched_getaffinity(0))
    assert cores == segment.BUILD_THREADS
    rows = segment.BUSY_SAMPLE_MIN_ROWS
    assert segment.build_threads(rows) == cores  # nothing else runs in this process
    stop = threading.Event()

    def spin() -> None:
        # hashing a large buffer runs without the GIL, as DuckDB does for a statement
        data = bytes(1 << 22)
        while not stop.is_set():
            hashlib.sha256(data).digest()

    busy = threading.Thread(target=spin)
    busy.start()
    try:
        assert segment.build_threads(rows) == max(1, cores - 1)
        assert segment.build_threads(rows - 1) == cores  # small builds: no sampling
        progress.start(2**31 - 7, 1, "BUILD", 10)
        assert segment.build_threads(rows) == max(1, cores - 1)
        progress.start(2**31 - 8, 1, "CREATE INDEX", 10)
        assert segment.build_threads(rows) == cores
    finally:
        progress.finish(2**31 - 7)
        progress.finish(2**31 - 8)
        stop.set()
        busy.join()
