"""In-process latency of common statements, each beside a reference in the same run.

    .venv/bin/python benchmarks/engine.py [--rows 20000] [--dim 128] [--seconds 1]

* ``SELECT 1`` through ``vecgres.connect()`` vs DuckDB's own ``SELECT 1``;
* a primary-key point lookup ``WHERE id = %s`` (random keys) vs DuckDB on the
  same Arrow table;
* a 10-row top-k ``ORDER BY emb <-> q LIMIT 10`` vs numpy brute force;
* ``SELECT emb`` text output of ``vector(dim)`` rows/s vs numpy's
  ``np.format_float_positional`` per element (no pgvector layout).

Prints per-operation latency for both and the vecgres/reference ratio.
"""

from __future__ import annotations

import argparse
import shlex
import sys
import tempfile
import time
from collections.abc import Callable

import duckdb
import numpy as np
import pyarrow as pa

import vecgres


def rate(fn: Callable[[], object], seconds: float) -> float:
    """Seconds per call of ``fn`` (median of short runs after a warm-up)."""
    fn()
    samples = []
    end = time.perf_counter() + seconds
    while time.perf_counter() < end or len(samples) < 5:
        t0 = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - t0)
    return float(np.median(samples))


def row(name: str, ours: float, ref: float, ref_name: str, unit: str = "ms") -> None:
    scale = 1000.0 if unit == "ms" else 1.0
    print(
        f"{name:<34} vecgres {ours * scale:9.3f} {unit}   {ref_name:<22} {ref * scale:9.3f} {unit}"
        f"   ratio {ours / ref:6.1f}x"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=20000)
    parser.add_argument("--dim", type=int, default=128)
    parser.add_argument("--seconds", type=float, default=1.0)
    parser.add_argument("--out-rows", type=int, default=500)
    args = parser.parse_args()
    print("$ .venv/bin/python benchmarks/engine.py " + shlex.join(sys.argv[1:]))
    rng = np.random.default_rng(0)
    vecs = rng.standard_normal((args.rows, args.dim), dtype=np.float32)
    ids = np.arange(args.rows, dtype=np.int64)
    arrow = pa.table(
        {
            "id": pa.array(ids),
            "emb": pa.FixedSizeListArray.from_arrays(pa.array(vecs.ravel()), args.dim),
        }
    )
    duck = duckdb.connect()
    duck.register("items", arrow)
    with tempfile.TemporaryDirectory() as tmp:
        con = vecgres.connect(tmp + "/db")
        con.autocommit = True
        cur = con.cursor()
        cur.execute(f"CREATE TABLE items (id bigint PRIMARY KEY, emb vector({args.dim}))")
        con.autocommit = False
        cur.executemany(
            "INSERT INTO items VALUES (%s, %s)",
            [(int(i), vecs[i]) for i in range(args.rows)],
        )
        con.commit()
        con.autocommit = True

        def ours_select1() -> object:
            cur.execute("SELECT 1")
            return cur.fetchall()

        def duck_select1() -> object:
            return duck.execute("SELECT 1").fetchall()

        row(
            "SELECT 1", rate(ours_select1, args.seconds), rate(duck_select1, args.seconds), "duckdb"
        )

        keys = rng.integers(0, args.rows, 100_000).tolist()
        it = iter(keys)

        def ours_pk() -> object:
            k = next(it)
            cur.execute("SELECT id, emb FROM items WHERE id = %s", (k,))
            got = cur.fetchall()
            assert got[0][0] == k, got
            return got

        def duck_pk() -> object:
            return duck.execute("SELECT id, emb FROM items WHERE id = ?", [next(it)]).fetchall()

        row(
            "PK lookup (id, emb)",
            rate(ours_pk, args.seconds),
            rate(duck_pk, args.seconds),
            "duckdb",
        )

        queries = rng.standard_normal((64, args.dim), dtype=np.float32)
        qi = iter(range(10**9))

        def ours_topk() -> object:
            q = queries[next(qi) % len(queries)]
            cur.execute("SELECT id FROM items ORDER BY emb <-> %s LIMIT 10", (q,))
            return cur.fetchall()

        def np_topk() -> object:
            q = queries[next(qi) % len(queries)]
            d = ((vecs - q) ** 2).sum(axis=1)
            part = np.argpartition(d, 10)[:10]
            return part[np.argsort(d[part])]

        # correctness check of one answer
        q0 = queries[0]
        cur.execute("SELECT id FROM items ORDER BY emb <-> %s LIMIT 10", (q0,))
        got = [r[0] for r in cur.fetchall()]
        d = ((vecs - q0) ** 2).sum(axis=1)
        want = np.argsort(d, kind="stable")[:10].tolist()
        assert got == want, (got, want)
        row(
            "top-10 exact (no index)",
            rate(ours_topk, args.seconds),
            rate(np_topk, args.seconds),
            "numpy brute force",
        )

        n = args.out_rows
        lo = iter(range(10**9))

        def ours_text() -> object:
            start = (next(lo) * n) % max(1, args.rows - n)
            cur.execute(
                "SELECT emb::text FROM items WHERE id >= %s AND id < %s", (start, start + n)
            )
            out = cur.fetchall()
            assert len(out) == n
            return out

        def np_text() -> object:
            start = (next(lo) * n) % max(1, args.rows - n)
            block = vecs[start : start + n]
            return [",".join(np.format_float_positional(x) for x in r[:8]) for r in block]

        ours = rate(ours_text, args.seconds) / n
        # numpy formats only 8 of the elements per row; scale to the full row
        ref = rate(np_text, args.seconds) / n * (args.dim / 8)
        row(f"vector({args.dim}) text out, per row", ours, ref, "numpy format per elem")
        con.close()


if __name__ == "__main__":
    main()
