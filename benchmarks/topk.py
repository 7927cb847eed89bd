"""Exact top-10 latency: vecgres vs DuckDB brute force on the same Arrow data, same run.

Loads N x (id bigint, cat int, emb vector(D)) into vecgres (Parquet COPY) and
registers the very same Arrow table in DuckDB, then times
``ORDER BY emb <-> q LIMIT 10`` (and a filtered variant) in both, checks
vecgres' answers against numpy brute force, and prints the latency ratio.

    .venv/bin/python benchmarks/topk.py [--rows 100000] [--dim 384] [--queries 30]
"""

from __future__ import annotations

import argparse
import shlex
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

import vecgres

K = 10


def make_table(rows: int, dim: int, seed: int = 0) -> pa.Table:
    rng = np.random.default_rng(seed)
    vecs = rng.standard_normal((rows, dim), dtype=np.float32)
    return pa.table(
        {
            "id": pa.array(np.arange(rows, dtype=np.int64)),
            "cat": pa.array(rng.integers(0, 10, rows, dtype=np.int32)),
            "emb": pa.FixedSizeListArray.from_arrays(pa.array(vecs.ravel()), dim),
        }
    )


def timed(fn: Callable[[np.ndarray], list[int]], queries: np.ndarray) -> tuple[list[float], list]:
    fn(queries[0])  # warm-up (plans, caches, memory maps)
    times, answers = [], []
    for q in queries:
        start = time.perf_counter()
        answers.append(fn(q))
        times.append((time.perf_counter() - start) * 1000)
    return times, answers


def summary(times: list[float]) -> str:
    p95 = sorted(times)[max(0, int(len(times) * 0.95) - 1)]
    return f"median {statistics.median(times):7.1f} ms  p95 {p95:7.1f} ms"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--dim", type=int, default=384)
    parser.add_argument("--queries", type=int, default=30)
    parser.add_argument("--dir", default=None, help="scratch directory (default: a temp dir)")
    args = parser.parse_args()
    print("$ .venv/bin/python benchmarks/topk.py " + shlex.join(sys.argv[1:]))
    data = make_table(args.rows, args.dim)
    matrix = data.column("emb").combine_chunks().flatten().to_numpy().reshape(-1, args.dim)
    cats = data.column("cat").to_numpy()
    queries = np.random.default_rng(1).standard_normal((args.queries, args.dim), dtype=np.float32)

    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        path = Path(tmp) / "items.parquet"
        pq.write_table(data, path)
        con = vecgres.connect(str(Path(tmp) / "db"))
        con.autocommit = True
        cur = con.cursor()
        cur.execute(f"CREATE TABLE items (id bigint PRIMARY KEY, cat int, emb vector({args.dim}))")
        cur.execute(f"COPY items FROM '{path}' WITH (FORMAT parquet)")

        duck = duckdb.connect()
        duck.register("items", data)

        def lit(q: np.ndarray) -> str:
            return "[" + ",".join(repr(float(x)) for x in q) + "]"

        for label, where, mask in (
            ("top-10", "", None),
            ("top-10 WHERE cat = 3", "WHERE cat = 3", cats == 3),
        ):
            sql = f"SELECT id FROM items {where} ORDER BY emb <-> %s LIMIT {K}"
            duck_sql = (
                f"SELECT id FROM items {where} "
                f"ORDER BY array_distance(emb, $1::FLOAT[{args.dim}]) LIMIT {K}"
            )

            def ours(q: np.ndarray, sql: str = sql) -> list[int]:
                cur.execute(sql, (lit(q),))
                return [r[0] for r in cur.fetchall()]

            def theirs(q: np.ndarray, duck_sql: str = duck_sql) -> list[int]:
                return [r[0] for r in duck.execute(duck_sql, [q.tolist()]).fetchall()]

            our_times, our_answers = timed(ours, queries)
            duck_times, duck_answers = timed(theirs, queries)
            exact = 0
            ids = np.arange(args.rows) if mask is None else np.flatnonzero(mask)
            for q, got in zip(queries, our_answers, strict=True):
                dist = ((matrix[ids] - q) ** 2).sum(axis=1)
                truth = ids[np.argsort(dist, kind="stable")[:K]]
                exact += set(truth.tolist()) == set(got)
            agree = sum(set(a) == set(b) for a, b in zip(our_answers, duck_answers, strict=True))
            ratio = statistics.median(our_times) / statistics.median(duck_times)
            print(
                f"{label:22s} {args.rows:,} x {args.dim}: vecgres {summary(our_times)} | "
                f"DuckDB {summary(duck_times)} | ratio vecgres/DuckDB {ratio:.2f} | "
                f"exact vs numpy {exact}/{len(queries)}, same as DuckDB {agree}/{len(queries)}"
            )
        con.close()


if __name__ == "__main__":
    main()
