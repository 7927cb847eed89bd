"""Recovery time after kill -9 (RELIABILITY.md: 200k rows x 128 dims in under 5 s;
printed, never asserted).

    .venv/bin/python benchmarks/recovery.py [--rows 200000] [--dim 128] [--repeat 3]

For each state the data directory is loaded by a child process with Parquet
COPY (one COPY per 50k rows), which is then SIGKILLed:

- ``wal``: every row only in the WAL (no segment sealed): the open replays it
  into the growing segment;
- ``wal_clean``: the same rows, but the loader closed the database normally;
- ``sealed``: 50k-row sealed segments, the WAL tail holds nothing to replay;
- ``empty``: the same table with no rows: the fixed cost of an open (imports
  of DuckDB, faiss, catalog), measured as a reference.

A fresh process then times ``vecgres.connect`` + ``SELECT count(*)`` (the
first statement sees every row) + one exact kNN query. Reference in the same
run: reading every file of the data directory once (``read_s``), the floor
for any recovery that looks at all its bytes.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from statistics import median

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

REPO = Path(__file__).resolve().parents[1]
CHUNK = 50_000

LOAD = """
import os, signal, sys, vecgres
path, files, how = sys.argv[1], sys.argv[2].split(","), sys.argv[5]
dim, seal = int(sys.argv[3]), int(sys.argv[4])
con = vecgres.connect(path, seal_rows=seal, background_compaction=False)
con.autocommit = True
cur = con.cursor()
cur.execute(f"CREATE TABLE t (id bigint, v vector({dim}))")
for f in filter(None, files):
    cur.execute(f"COPY t FROM '{f}' (FORMAT parquet)")
if how == "clean":
    con.close()
    sys.exit(0)
os.kill(os.getpid(), signal.SIGKILL)
"""

OPEN = """
import json, sys, time
t0 = time.perf_counter()
import vecgres
t1 = time.perf_counter()
con = vecgres.connect(sys.argv[1], seal_rows=int(sys.argv[2]), background_compaction=False)
cur = con.cursor()
cur.execute("SELECT count(*) FROM t")
n = cur.fetchone()[0]
t2 = time.perf_counter()
q = "[" + ",".join(["0.5"] * int(sys.argv[3])) + "]"
cur.execute(f"SELECT id FROM t ORDER BY v <-> '{q}' LIMIT 10")
cur.fetchall()
t3 = time.perf_counter()
con.close()
print(json.dumps({"rows": n, "import_s": t1 - t0, "open_count_s": t2 - t1, "first_knn_s": t3 - t2}))
"""


def _parquet(tmp: Path, rows: int, dim: int) -> list[str]:
    rng = np.random.default_rng(1)
    files = []
    for lo in range(0, rows, CHUNK):
        n = min(CHUNK, rows - lo)
        vecs = rng.standard_normal((n, dim), dtype=np.float32)
        table = pa.table(
            {
                "id": pa.array(np.arange(lo, lo + n, dtype=np.int64)),
                "v": pa.FixedSizeListArray.from_arrays(pa.array(vecs.ravel()), dim),
            }
        )
        path = tmp / f"rows{lo}.parquet"
        pq.write_table(table, path)
        files.append(str(path))
    return files


def _dir_bytes(root: Path) -> tuple[int, float]:
    """Total size of the data directory and the time to read every byte once."""
    total = 0
    t0 = time.perf_counter()
    for dirpath, _dirs, names in os.walk(root):
        for name in names:
            with open(os.path.join(dirpath, name), "rb") as f:
                while chunk := f.read(1 << 22):
                    total += len(chunk)
    return total, time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--rows", type=int, default=200_000)
    ap.add_argument("--dim", type=int, default=128)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    print(f"# {' '.join([os.path.basename(sys.executable), *sys.argv])}")
    tmp = Path(tempfile.mkdtemp(prefix="vecgres-recovery-"))
    try:
        files = _parquet(tmp, args.rows, args.dim)
        states = {
            "empty": (args.rows + 1, "kill"),  # reference: the fixed cost of an open
            "wal": (args.rows + 1, "kill"),
            "wal_clean": (args.rows + 1, "clean"),
            "sealed": (CHUNK, "kill"),
        }
        figures = {}
        for state, (seal, how) in states.items():
            data = tmp / state
            rows = 0 if state == "empty" else args.rows
            load = subprocess.run(
                [
                    sys.executable,
                    "-c",
                    LOAD,
                    str(data),
                    ",".join(files if rows else []),
                    str(args.dim),
                    str(seal),
                    how,
                ],
                env=env,
                capture_output=True,
                text=True,
            )
            expected = -signal.SIGKILL if how == "kill" else 0
            if load.returncode != expected:
                raise SystemExit(f"loading {state} failed ({load.returncode}): {load.stderr}")
            size, read_s = _dir_bytes(data)
            runs = []
            for _ in range(args.repeat):
                out = subprocess.run(
                    [sys.executable, "-c", OPEN, str(data), str(seal), str(args.dim)],
                    env=env,
                    capture_output=True,
                    text=True,
                    check=True,
                )
                runs.append(json.loads(out.stdout.strip().splitlines()[-1]))
            assert all(r["rows"] == rows for r in runs), runs
            open_s = median(r["open_count_s"] for r in runs)
            figures[state] = open_s
            print(
                f"{state}: data_mb={size / 1e6:.0f} open_and_count_s p50={open_s:.2f} "
                f"max={max(r['open_count_s'] for r in runs):.2f} "
                f"first_knn_s={median(r['first_knn_s'] for r in runs):.2f} "
                f"(reference: read every byte once {read_s:.2f} s; import vecgres "
                f"{median(r['import_s'] for r in runs):.2f} s)"
            )
        print(
            f"recovery: rows={args.rows} dims={args.dim} "
            + " ".join(f"{k}_s={v:.2f}" for k, v in figures.items())
            + f" target_s=5 met={all(v < 5 for v in figures.values())}"
        )
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
