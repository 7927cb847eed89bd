"""kill -9 during committing writers: every acknowledged row survives, nothing partial appears."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import textwrap
import time

import pytest

import vecgres

WRITER = textwrap.dedent(
    """
    import sys, vecgres
    con = vecgres.connect(sys.argv[1], background_compaction=False, seal_rows=200)
    cur = con.cursor()
    cur.execute("CREATE TABLE IF NOT EXISTS t (batch int, n int, v vector(4))")
    con.commit()
    batch = int(sys.argv[2])
    while True:
        rows = [(batch, i, f"[{batch},{i},1,2]") for i in range(10)]
        cur.executemany("INSERT INTO t VALUES (%s, %s, %s)", rows)
        con.commit()
        print(batch, flush=True)   # acknowledged only after commit returned
        batch += 1
    """
)


@pytest.mark.crash
def test_sigkill_loop(tmp_path):
    path = str(tmp_path / "db")
    script = tmp_path / "writer.py"
    script.write_text(WRITER)
    setup = vecgres.connect(path)
    setup.cursor().execute("CREATE TABLE t (batch int, n int, v vector(4))")
    setup.commit()
    setup.close()
    acked: set[int] = set()
    next_batch = 0
    rng = random.Random(1)
    for _ in range(20):
        proc = subprocess.Popen(
            [sys.executable, str(script), path, str(next_batch)],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        time.sleep(rng.uniform(1.0, 2.0))
        os.kill(proc.pid, signal.SIGKILL)
        out, _ = proc.communicate()
        for line in out.split():
            acked.add(int(line))
        next_batch = max(acked | {next_batch - 1}) + 1000
        con = vecgres.connect(path)
        cur = con.cursor()
        cur.execute("SELECT batch, count(*) FROM t GROUP BY batch")
        counts = dict(cur.fetchall())
        con.close()
        missing = acked - set(counts)
        assert not missing, f"acknowledged batches lost: {sorted(missing)[:5]}"
        partial = {b: c for b, c in counts.items() if c != 10}
        assert not partial, f"partial statements visible: {partial}"
    assert len(acked) > 20
