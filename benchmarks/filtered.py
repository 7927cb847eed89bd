"""Filtered top-k searches at 1 %, 10 %, 50 % selectivity, in-process.

The table: ``--rows`` unit-ish vectors around 100 centres (``--dims``, cosine),
``cat = i % 100`` (so the filter ``cat < p`` is correlated with the clusters,
the hard case for a filtered HNSW search), loaded by COPY and indexed with
HNSW. Each selectivity runs the queries with the strategy vecgres chooses per
segment ("auto", and which one it chose), then with each strategy forced on
every segment: exact distances on the matching rows (the reference), ANN with
an allow-list of matching offsets, ANN with a widened candidate list. Recall
and the exact-answer count are against numpy brute force.

    python benchmarks/filtered.py --rows 100000 --queries 100
"""

from __future__ import annotations

import argparse
import dataclasses
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import vecgres
from vecgres.planner import topk as planner_topk
from vecgres.sql import fastpath_ann
from vecgres.sql import topk as sql_topk

# each strategy forced on every segment through the planner's thresholds (exact_max_rows
# 0 lets ANN run on any number of matching rows); "auto": the planner's own choice
STRATEGIES: dict[str, dict[str, float]] = {
    "auto": {},
    "exact": {"exact_max_rows": sys.maxsize},
    "ann-allowlist": {
        "exact_max_rows": 0,
        "exact_below_fraction": 0.0,
        "allowlist_below_fraction": 2.0,
    },
    "ann-widened": {
        "exact_max_rows": 0,
        "exact_below_fraction": 0.0,
        "allowlist_below_fraction": 0.0,
    },
}
_PLAN_TOPK = planner_topk.plan_topk


def _force(label: str | None) -> None:
    """Make every top-k plan use the thresholds of ``label`` (None: the planner's)."""
    overrides = STRATEGIES[label] if label is not None else {}

    def forced(*args: Any, **kwargs: Any) -> planner_topk.AnnTopK:
        return dataclasses.replace(_PLAN_TOPK(*args, **kwargs), **overrides)  # type: ignore[arg-type]

    for module in (sql_topk, fastpath_ann):
        module.plan_topk = forced if overrides else _PLAN_TOPK  # type: ignore[attr-defined]


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
    print(
        f"k=10, {args.queries} queries, p50/p99 latency, the strategies interleaved "
        "query by query; reference: exact (exact ranking of every matching row)"
    )
    for pct in (1, 10, 50):
        sql = f"SELECT id FROM items WHERE cat < {pct} ORDER BY embedding <=> %s LIMIT 10"
        chosen: dict[str, int] = {}
        for q in queries:  # what "auto" does to each query's segments
            cur.execute("EXPLAIN ANALYZE " + sql, (q,))
            for (line,) in cur.fetchall():
                if "Segment: " in line:
                    strategy = line.split(": ")[2].split(",")[0]
                    rounds = " after a short ANN search" if "ann_rounds" in line else ""
                    if strategy != "exact":
                        rounds = ""
                    key = strategy + rounds
                    chosen[key] = chosen.get(key, 0) + 1
        shown = ", ".join(f"{k} {v}" for k, v in sorted(chosen.items()))
        print(f"  WHERE {pct:2d}%  auto chose per segment: {shown}")
        lat: dict[str, list[float]] = {label: [] for label in STRATEGIES}
        recall = dict.fromkeys(STRATEGIES, 0.0)
        rows = dict.fromkeys(STRATEGIES, 0)
        same = dict.fromkeys(STRATEGIES, 0)
        for q in queries:
            d = -(unit @ (q / np.linalg.norm(q)))
            d[cats >= pct] = np.inf
            truth = np.argsort(d, kind="stable")[:10].tolist()
            for label in STRATEGIES:
                _force(label)
                t = time.perf_counter()
                cur.execute(sql, (q,))
                got = [r[0] for r in cur.fetchall()]
                lat[label].append(time.perf_counter() - t)
                recall[label] += len(set(truth) & set(got)) / 10
                rows[label] += len(got)
                same[label] += got == truth
            _force(None)
        nq = len(queries)
        for label in STRATEGIES:
            ms = np.array(lat[label]) * 1000
            print(
                f"  WHERE {pct:2d}%  {label:14s} p50={np.median(ms):7.2f} ms  "
                f"p99={np.percentile(ms, 99):7.2f} ms  recall@10={recall[label] / nq:.3f}  "
                f"rows={rows[label] / nq:.1f}  exact answers {same[label]}/{nq}"
            )
    con.close()


if __name__ == "__main__":
    main()
