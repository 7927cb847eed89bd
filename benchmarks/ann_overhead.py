"""Per-query overhead of the in-process top-k path against raw faiss, in one run.

``SELECT id FROM t ORDER BY v <-> %s LIMIT 10`` through ``vecgres.connect()``
on one sealed segment with an HNSW index (m=16, ef_construction=64,
ef_search=40), and the same query on a raw faiss ``IndexHNSWFlat`` built with
the same parameters on the same rows, single thread. The two are timed in
alternating rounds so machine load hits both alike; the ratio is the figure.
``--profile`` prints where the vecgres time goes (cProfile).

    python benchmarks/ann_overhead.py --rows 20000 --dims 128 --queries 500
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import sys
import tempfile
import time
from pathlib import Path

import faiss
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import vecgres


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--dims", type=int, default=128)
    parser.add_argument("--queries", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--where", default="", help='a filter, e.g. "cat < 10" (cat = id % 100)')
    args = parser.parse_args()
    rows, dims = args.rows, args.dims
    rng = np.random.default_rng(0)
    x = rng.standard_normal((rows, dims)).astype(np.float32)
    con = vecgres.connect(tempfile.mkdtemp(prefix="vecgres-overhead-"), fsync=False, seal_rows=rows)
    con.autocommit = True
    cur = con.cursor()
    cur.execute(f"CREATE TABLE t (id int, cat int, v vector({dims}))")
    step = 2000
    for lo in range(0, rows, step):
        values = ",".join(
            f"({i}, {i % 100}, '[{','.join(repr(float(v)) for v in x[i])}]')"
            for i in range(lo, min(lo + step, rows))
        )
        cur.execute(f"INSERT INTO t VALUES {values}")
    cur.execute("CREATE INDEX ON t USING hnsw (v vector_l2_ops)")
    where = f"WHERE {args.where} " if args.where else ""
    sql = f"SELECT id FROM t {where}ORDER BY v <-> %s LIMIT 10"
    while True:  # sealed and indexed: every segment searched through its index
        cur.execute("EXPLAIN ANALYZE SELECT id FROM t ORDER BY v <-> %s LIMIT 10", (x[0],))
        plan = [r[0] for r in cur.fetchall() if "Segment:" in r[0]]
        if plan and all(": ann," in line for line in plan):
            break
        time.sleep(0.2)
    faiss.omp_set_num_threads(1)
    raw = faiss.IndexHNSWFlat(dims, 16)
    raw.hnsw.efConstruction = 64
    raw.add(x)
    params = faiss.SearchParametersHNSW()
    params.efSearch = 40
    queries = x[rng.integers(0, rows, args.queries)] + rng.normal(
        0, 0.01, (args.queries, dims)
    ).astype(np.float32)
    agree = 0

    def vecgres_round() -> tuple[float, float]:
        start, cpu = time.perf_counter(), time.process_time()
        for q in queries:
            cur.execute(sql, (q,))
            cur.fetchall()
        return time.perf_counter() - start, time.process_time() - cpu

    def faiss_round() -> tuple[float, float]:
        start, cpu = time.perf_counter(), time.process_time()
        for q in queries:
            raw.search(q.reshape(1, -1), 10, params=params)
        return time.perf_counter() - start, time.process_time() - cpu

    for q in queries[:50]:
        cur.execute(sql, (q,))
        _, labels = raw.search(q.reshape(1, -1), 10, params=params)
        agree += len({r[0] for r in cur.fetchall()} & set(labels[0].tolist()))
    vecgres_round()  # warm
    v_times, f_times = [], []
    for _ in range(args.rounds):
        v_times.append(vecgres_round())
        f_times.append(faiss_round())
    n = len(queries)
    # best round of each; CPU time too: on a shared machine it moves less than wall time
    v_qps, f_qps = n / min(t[0] for t in v_times), n / min(t[0] for t in f_times)
    v_cpu = min(t[1] for t in v_times) / n * 1000
    f_cpu = min(t[1] for t in f_times) / n * 1000
    print(f"faiss {faiss.__version__}; {rows} x {dims}, hnsw m=16 ef_construction=64 ef_search=40")
    if args.where:
        cur.execute("EXPLAIN ANALYZE " + sql, (queries[0],))
        print(f"  vecgres: {sql}; raw faiss: unfiltered")
        print("\n".join("  " + r[0].strip() for r in cur.fetchall() if "Segment:" in r[0]))
    print(f"  overlap with raw faiss top-10 (50 queries): {agree / 500:.3f}")
    print(
        f"  vecgres.connect() : {v_qps:8.0f} QPS  ({1000 / v_qps:.3f} ms/query; CPU {v_cpu:.3f} ms)"
    )
    print(
        f"  raw faiss         : {f_qps:8.0f} QPS  ({1000 / f_qps:.3f} ms/query; CPU {f_cpu:.3f} ms)"
    )
    print(f"  ratio vecgres/faiss: QPS {v_qps / f_qps:.3f}, CPU time {f_cpu / v_cpu:.3f}")
    if args.profile:
        profile = cProfile.Profile()
        profile.enable()
        vecgres_round()
        profile.disable()
        pstats.Stats(profile).sort_stats("cumulative").print_stats(30)
    con.close()


if __name__ == "__main__":
    main()
