"""T1: kill -9 during committing writers while segments seal and compaction
runs in the background. Every acknowledged statement survives, an
unacknowledged one is all or nothing, no duplicates or foreign rows, every
row's payload matches its checksum, vecgres_check() is clean, and exact kNN
equals numpy brute force on the recovered set.

Default: 40 kills, the figure RELIABILITY.md asks of the default suite;
VECGRES_RELIABILITY_SCALE multiplies (25 for the long mode's 1,000)."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import textwrap
import time
import zlib
from pathlib import Path

import numpy as np
import pytest
from harness import Ledger, figures, scaled

import vecgres

DIM = 16
REPO = Path(__file__).resolve().parents[2]
SETTINGS = {"seal_rows": 300, "compaction_small_rows": 2000, "background_compaction": True}

WRITER = textwrap.dedent(
    """
    import sys, zlib, numpy as np, vecgres
    path, rid, stmt, seed = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
    con = vecgres.connect(path, seal_rows=300, compaction_small_rows=2000,
                          background_compaction=True)
    con.autocommit = True
    cur = con.cursor()
    rng = np.random.default_rng(seed)
    print("ready", flush=True)
    while True:
        n = int(rng.integers(1, 60))
        vecs = rng.standard_normal((n, 16), dtype=np.float32)
        rows = ",".join(
            f"({rid + i}, {zlib.crc32(v.tobytes())}, '[{','.join(repr(float(x)) for x in v)}]')"
            for i, v in enumerate(vecs)
        )
        print("B", stmt, rid, n, flush=True)
        cur.execute(f"INSERT INTO t VALUES {rows}")
        print("O", stmt, flush=True)  # acknowledged: the statement returned
        rid += n
        stmt += 1
    """
)


def _read(path: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, str]:
    con = vecgres.connect(path, **SETTINGS)
    try:
        cur = con.cursor()
        cur.execute("SELECT rid, crc, v FROM t")
        rows = cur.fetchall()
        cur.execute("SELECT vecgres_check()")
        (report,) = cur.fetchone()
    finally:
        con.close()
    rids = np.array([r[0] for r in rows], dtype=np.int64)
    vecs = np.array(
        [np.fromstring(r[2].strip("[]"), sep=",") if isinstance(r[2], str) else r[2] for r in rows],
        dtype=np.float32,
    ).reshape(-1, DIM)
    ok = np.array(
        [zlib.crc32(v.tobytes()) == (r[1] & 0xFFFFFFFF) for v, r in zip(vecs, rows, strict=True)],
        dtype=bool,
    )
    return rids, ok, vecs, report


@pytest.mark.crash
def test_sigkill_loop(tmp_path: Path) -> None:
    path = str(tmp_path / "db")
    script = tmp_path / "writer.py"
    script.write_text(WRITER)
    con = vecgres.connect(path)
    con.cursor().execute(f"CREATE TABLE t (rid bigint, crc bigint, v vector({DIM}))")
    con.commit()
    con.close()
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    ledger = Ledger()
    by_stmt: dict[int, int] = {}
    rng = random.Random(1)
    kills = scaled(40)
    recovery_s: list[float] = []
    totals = dict.fromkeys(
        ["acked_rows_lost", "atomicity_violations", "duplicate_rows", "payload_mismatches"], 0
    )
    check_failures = 0
    next_rid = next_stmt = 0
    for k in range(kills):
        proc = subprocess.Popen(
            [sys.executable, str(script), path, str(next_rid), str(next_stmt), str(k)],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            env=env,
        )
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "ready"
        # kill at a random moment after the first acknowledgement
        early: list[str] = []
        while not early or not early[-1].startswith("O"):
            line = proc.stdout.readline()
            assert line, "writer died before its first acknowledgement"
            early.append(line)
        time.sleep(rng.uniform(0.0, 0.6))
        os.kill(proc.pid, signal.SIGKILL)
        rest, _ = proc.communicate()
        out = "".join(early) + rest
        for line in out.splitlines():
            parts = line.split()
            if parts[0] == "B":
                stmt, rid, n = int(parts[1]), int(parts[2]), int(parts[3])
                by_stmt[stmt] = len(ledger.entries)
                ledger.begin("insert", list(range(rid, rid + n)))
                next_rid, next_stmt = rid + n, stmt + 1
            elif parts[0] == "O":
                ledger.entries[by_stmt[int(parts[1])]].status = "ok"
        start = time.monotonic()
        rids, ok, vecs, report = _read(path)
        recovery_s.append(time.monotonic() - start)
        outcome = ledger.verify(rids, ok)
        for key in totals:
            totals[key] += getattr(outcome, key)
        check_failures += not report.startswith("ok")
        assert outcome.clean, f"kill {k}: {outcome}"
        assert report.startswith("ok"), report
    # exact kNN on the recovered set equals numpy brute force
    rids, ok, vecs, _ = _read(path)
    probes = np.random.default_rng(9).standard_normal((5, DIM), dtype=np.float32)
    con = vecgres.connect(path, **SETTINGS)
    knn_mismatch = 0
    try:
        cur = con.cursor()
        for p in probes:
            lit = "[" + ",".join(repr(float(x)) for x in p) + "]"
            cur.execute(f"SELECT rid FROM t ORDER BY v <-> '{lit}' LIMIT 10")
            got = [r[0] for r in cur.fetchall()]
            dist = np.linalg.norm(vecs.astype(np.float64) - p.astype(np.float64), axis=1)
            want = rids[np.argsort(dist, kind="stable")[:10]].tolist()
            knn_mismatch += got != want
    finally:
        con.close()
    acked = sum(e.status == "ok" for e in ledger.entries)
    figures(
        "crash",
        iterations=kills,
        acked_statements=acked,
        rows=len(rids),
        **totals,
        check_failures=check_failures,
        knn_mismatches=knn_mismatch,
        recovery_seconds_p50=round(float(np.median(recovery_s)), 3),
        recovery_seconds_max=round(max(recovery_s), 3),
    )
    assert acked >= kills  # at least one acknowledgement before each kill
    assert knn_mismatch == 0
