"""Filtered top-k searches at 1 %, 10 %, 50 % selectivity, in-process.

The table: ``--rows`` unit-ish vectors around 100 centres (``--dims``, cosine),
``cat = i % 100`` (so the filter ``cat < p`` is correlated with the clusters,
the hard case for a filtered HNSW search), loaded by COPY and indexed with
HNSW. Each query runs twice, interleaved, as a reference measured in the same
run: with the exact ranking of matching rows done by numpy on gathered rows
(``subset_distances`` off: the code before the faiss shortlist) and as vecgres
runs it; both answers must be identical. Recall is against numpy brute force.

    python benchmarks/filtered.py --rows 100000 --queries 100
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import vecgres
from vecgres.executor import subset_distances


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=100_000)
    ap.add_argument("--dims", type=int, default=384)
    ap.add_argument("--queries", type=int, default=100)
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="vg-filtered-"))
    try:
        run(args, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def run(args: argparse.Namespace, work: Path) -> None:
    rng = np.random.default_rng(1)
    n, dims = args.rows, args.dims
    centres = rng.normal(size=(100, dims)).astype(np.float32)
    x = centres[np.arange(n) % 100] + rng.normal(0, 0.3, (n, dims)).astype(np.float32)
    tsv = work / "rows.tsv"
    with tsv.open("w") as f:
        for i, v in enumerate(x):
            f.write(f"{i}\t{i % 100}\t[" + ",".join(f"{e:.9g}" for e in v) + "]\n")
    con = vecgres.connect(str(work / "db"), fsync=False)
    con.autocommit = True
    cur = con.cursor()
    cur.execute(f"CREATE TABLE items (id int, cat int, embedding vector({dims}))")
    t = time.perf_counter()
    cur.execute(f"COPY items FROM '{tsv}'")
    print(f"load {n} x {dims}: {time.perf_counter() - t:.1f} s")
    cur.execute("CREATE INDEX ON items USING hnsw (embedding vector_cosine_ops)")
    probe = "[" + ",".join(["1"] + ["0"] * (dims - 1)) + "]"
    t = time.perf_counter()
    while True:  # sealing and the segment indexes are built in the background
        cur.execute(
            f"EXPLAIN ANALYZE SELECT id FROM items ORDER BY embedding <=> '{probe}' LIMIT 1"
        )
        plan = "\n".join(r[0] for r in cur.fetchall())
        if "Segment: segment" in plan and ": exact" not in plan and "Segment: growing" not in plan:
            break
        time.sleep(0.5)
    print(f"sealed and indexed after {time.perf_counter() - t:.1f} s")
    stored = x  # 9 significant digits: the text round-trips every float32
    unit = stored / np.linalg.norm(stored, axis=1, keepdims=True)
    qrng = np.random.default_rng(7)
    queries = stored[qrng.integers(0, n, args.queries)] + qrng.normal(
        0, 0.05, (args.queries, dims)
    ).astype(np.float32)
    cats = np.arange(n) % 100
    print(f"k=10, {args.queries} queries, p50/p99 latency; reference: numpy ranking")
    for pct in (1, 10, 50):
        sql = f"SELECT id FROM items WHERE cat < {pct} ORDER BY embedding <=> %s LIMIT 10"
        lat: dict[str, list[float]] = {"numpy ranking (before)": [], "vecgres": []}
        recall = same = rows = 0.0
        for q in queries:
            answers = []
            for label, min_rows in (("numpy ranking (before)", sys.maxsize), ("vecgres", 512)):
                subset_distances.MIN_ROWS = min_rows
                t = time.perf_counter()
                cur.execute(sql, (q,))
                got = [r[0] for r in cur.fetchall()]
                lat[label].append(time.perf_counter() - t)
                answers.append(got)
            same += answers[0] == answers[1]
            d = -(unit @ (q / np.linalg.norm(q)))
            d[cats >= pct] = np.inf
            truth = set(np.argsort(d)[:10].tolist())
            recall += len(truth & set(answers[1])) / 10
            rows += len(answers[1])
        subset_distances.MIN_ROWS = 512
        for label, values in lat.items():
            ms = np.array(values) * 1000
            print(
                f"  WHERE {pct:2d}%  {label:24s} p50={np.median(ms):7.2f} ms  "
                f"p99={np.percentile(ms, 99):7.2f} ms"
            )
        nq = len(queries)
        print(
            f"  WHERE {pct:2d}%  recall@10={recall / nq:.3f} rows={rows / nq:.1f} "
            f"identical answers {int(same)}/{nq}"
        )
    con.close()


if __name__ == "__main__":
    main()
