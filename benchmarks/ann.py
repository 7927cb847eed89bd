"""ANN benchmark: vecgres (in-process, and over the wire with psycopg) vs raw faiss.

Datasets are made in SQL by this script with a fixed seed (``setseed``) and read
back, so vecgres and faiss see the same float32 vectors:

* ``l2``: clustered Gaussian-ish (sum of three uniforms) around 100 centres, 128 dims, L2;
* ``cosine``: points around 100 centres in 384 dims, cosine distance.

Printed per dataset: load time (rows/s), index build time vs raw faiss building
the same HNSW (m=16, ef_construction=64) on the same rows, index size on disk,
RSS; then an ``hnsw.ef_search`` sweep with recall@10, QPS, p50/p99 for
(a) ``vecgres.connect()`` in-process, (b) psycopg over the wire with a prepared
statement (``--wire``), (c) raw faiss, single thread, one query at a time;
then filtered queries at 1 %, 10 %, 50 % selectivity (recall, rows, QPS); and
insert throughput with and without an index.

    python benchmarks/ann.py --rows 100000 --queries 200 --datasets l2
"""

from __future__ import annotations

import argparse
import atexit
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import faiss
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import vecgres

DATASETS = {"l2": (128, "<->", "vector_l2_ops"), "cosine": (384, "<=>", "vector_cosine_ops")}
CENTRES = 100


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def insert_sql(dims: int, start: int, n: int, spread: float) -> str:
    noise = "(random() + random() + random() - 1.5)"
    elems = ", ".join(
        f"sin((i % {CENTRES}) * 131.0 + {j * 17}.0) * {spread} + {noise}" for j in range(dims)
    )
    return (
        f"INSERT INTO items SELECT i, i % 100, ARRAY[{elems}]::vector({dims}) "
        f"FROM generate_series({start}, {start + n - 1}) AS g(i)"
    )


def distances(x: np.ndarray, q: np.ndarray, op: str) -> np.ndarray:
    if op == "<->":
        return ((x - q) ** 2).sum(1)
    xn = x / np.linalg.norm(x, axis=1, keepdims=True)
    return -(xn @ (q / np.linalg.norm(q)))


def truth(x: np.ndarray, queries: np.ndarray, op: str, mask: np.ndarray | None) -> list[set[int]]:
    out = []
    for q in queries:
        d = distances(x, q, op)
        if mask is not None:
            d = np.where(mask, d, np.inf)
        out.append(set(np.argpartition(d, 10)[:10].tolist()))
    return out


def timed(run: Callable[[np.ndarray], list[int]], queries: np.ndarray, gt: list[set[int]]):
    lat, hits, rows = [], 0, 0
    for q, t in zip(queries, gt, strict=True):
        start = time.perf_counter()
        got = run(q)
        lat.append(time.perf_counter() - start)
        hits += len(set(got) & t)
        rows += len(got)
    arr = np.array(lat) * 1000
    return {
        "recall": hits / (10 * len(queries)),
        "qps": len(queries) / arr.sum() * 1000,
        "p50": float(np.percentile(arr, 50)),
        "p99": float(np.percentile(arr, 99)),
        "rows": rows / len(queries),
    }


def line(label: str, r: dict[str, float]) -> str:
    return (
        f"  {label:<28} recall@10={r['recall']:.3f}  QPS={r['qps']:8.1f}  "
        f"p50={r['p50']:7.2f} ms  p99={r['p99']:7.2f} ms  rows={r['rows']:.1f}"
    )


def start_server(path: str, port: int) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "vecgres", "serve", "--data", path, "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    assert proc.stdout is not None
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        text = proc.stdout.readline().decode()
        if "listening" in text:
            return proc
        if proc.poll() is not None:
            break
    raise RuntimeError("vecgres serve did not start")


def wait_sealed(cur: object, op: str, dims: int) -> None:
    """Wait until background sealing has left no growing segment (EXPLAIN ANALYZE says)."""
    zero = "[" + ",".join(["0"] * dims) + "]"
    while True:
        cur.execute(  # type: ignore[attr-defined]
            f"EXPLAIN ANALYZE SELECT id FROM items ORDER BY embedding {op} '{zero}' LIMIT 1"
        )
        if not any("growing" in r[0] for r in cur.fetchall()):  # type: ignore[attr-defined]
            return
        time.sleep(0.2)


def bench(name: str, args: argparse.Namespace) -> None:
    dims, op, opclass = DATASETS[name]
    rows = args.rows
    work = tempfile.mkdtemp(prefix=f"vecgres-bench-{name}-")
    # the server's layout: <data>/<database>, so --wire can serve the same files
    path = os.path.join(work, "data", "postgres")
    con = vecgres.connect(path, fsync=False, seal_rows=args.seal_rows)
    con.autocommit = True
    cur = con.cursor()
    cur.execute(f"CREATE TABLE items (id int, cat int, embedding vector({dims}))")
    cur.execute("SELECT setseed(0.42)")
    start = time.perf_counter()
    step = 10_000
    for lo in range(0, rows, step):
        cur.execute(insert_sql(dims, lo, min(step, rows - lo), 3.0 if name == "l2" else 1.0))
    load_s = time.perf_counter() - start
    cur.execute("SELECT id, embedding FROM items ORDER BY id")
    table = cur.fetch_arrow()
    x = table.column(1).combine_chunks().values.to_numpy().reshape(-1, dims).astype(np.float32)
    print(f"\n== {name}: {rows} x {dims}, {op}, segments of {args.seal_rows} rows")
    print(f"load: {load_s:.1f} s ({rows / load_s:.0f} rows/s)")
    wait_sealed(cur, op, dims)

    start = time.perf_counter()
    cur.execute(f"CREATE INDEX items_idx ON items USING hnsw (embedding {opclass})")
    build_s = time.perf_counter() - start
    size = sum(p.stat().st_size for p in Path(path, "indexes").rglob("*.faiss"))
    metric = faiss.METRIC_L2 if op == "<->" else faiss.METRIC_INNER_PRODUCT
    xf = x if op == "<->" else x / np.linalg.norm(x, axis=1, keepdims=True)
    xf = np.ascontiguousarray(xf, dtype=np.float32)
    faiss.omp_set_num_threads(os.cpu_count() or 1)
    start = time.perf_counter()
    raw = faiss.IndexHNSWFlat(dims, 16, metric)
    raw.hnsw.efConstruction = 64
    raw.add(xf)
    raw_build_s = time.perf_counter() - start
    print(
        f"index build: vecgres {build_s:.1f} s, raw faiss {raw_build_s:.1f} s "
        f"(ratio {build_s / raw_build_s:.2f}); index files {size / 2**20:.1f} MiB; "
        f"RSS {rss_mb():.0f} MiB"
    )

    rng = np.random.default_rng(7)
    queries = x[rng.integers(0, rows, args.queries)] + rng.normal(
        0, 0.05, (args.queries, dims)
    ).astype(np.float32)
    gt = truth(x, queries, op, None)
    sql = f"SELECT id FROM items ORDER BY embedding {op} %s LIMIT 10"

    def vecgres_run(q: np.ndarray) -> list[int]:
        cur.execute(sql, (q,))
        return [r[0] for r in cur.fetchall()]

    wire = None
    if args.wire:
        con.close()
        port = 55000 + os.getpid() % 1000
        server = start_server(os.path.dirname(path), port)
        atexit.register(server.terminate)  # also when the benchmark fails half-way
        import psycopg

        wire = psycopg.connect(
            f"host=127.0.0.1 port={port} user=postgres dbname=postgres", autocommit=True
        )
        wcur = wire.cursor()
        wsql = f"SELECT id FROM items ORDER BY embedding {op} %s LIMIT 10"

        def wire_run(q: np.ndarray) -> list[int]:
            text = "[" + ",".join(f"{v:.7g}" for v in q) + "]"
            wcur.execute(wsql, (text,), prepare=True)
            return [r[0] for r in wcur.fetchall()]

    print("ef_search sweep (k=10):")
    faiss.omp_set_num_threads(1)
    for ef in args.ef:
        params = faiss.SearchParametersHNSW()
        params.efSearch = ef

        def faiss_run(q: np.ndarray, params: faiss.SearchParameters = params) -> list[int]:
            qq = q if op == "<->" else q / np.linalg.norm(q)
            _, labels = raw.search(qq.reshape(1, -1).astype(np.float32), 10, params=params)
            return labels[0].tolist()

        rf = timed(faiss_run, queries, gt)
        print(line(f"(c) raw faiss ef={ef}", rf))
        if wire is None:
            cur.execute(f"SET hnsw.ef_search = {ef}")
            ra = timed(vecgres_run, queries, gt)
            print(line(f"(a) in-process ef={ef}", ra) + f"  (a)/(c)={ra['qps'] / rf['qps']:.2f}")
        else:
            wcur.execute(f"SET hnsw.ef_search = {ef}")
            rb = timed(wire_run, queries, gt)
            print(line(f"(b) psycopg ef={ef}", rb) + f"  (b)/(c)={rb['qps'] / rf['qps']:.2f}")
    faiss.omp_set_num_threads(os.cpu_count() or 1)

    if wire is None:
        cur.execute("RESET hnsw.ef_search")
        print("filtered (hnsw.ef_search = 40):")
        cats = np.arange(rows) % 100
        for pct in (1, 10, 50):
            fgt = truth(x, queries, op, cats < pct)
            fsql = f"SELECT id FROM items WHERE cat < {pct} ORDER BY embedding {op} %s LIMIT 10"

            def frun(q: np.ndarray, fsql: str = fsql) -> list[int]:
                cur.execute(fsql, (q,))
                return [r[0] for r in cur.fetchall()]

            print(line(f"(a) WHERE {pct}% ", timed(frun, queries, fgt)))

        print("insert throughput (10k rows per INSERT ... SELECT):")
        for with_index in (False, True):
            cur.execute(f"CREATE TABLE ins (id int, cat int, embedding vector({dims}))")
            if with_index:
                cur.execute(f"CREATE INDEX ON ins USING hnsw (embedding {opclass})")
            start = time.perf_counter()
            n = min(rows, 30_000)
            for lo in range(0, n, step):
                cur.execute(insert_sql(dims, lo, step, 3.0).replace("INTO items", "INTO ins"))
            secs = time.perf_counter() - start
            print(f"  {'with' if with_index else 'without'} hnsw index: {n / secs:.0f} rows/s")
            cur.execute("DROP TABLE ins")
        con.close()
    else:
        wire.close()
        server.terminate()
        server.wait()
    shutil.rmtree(work, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--seal-rows", type=int, default=50_000)
    parser.add_argument("--datasets", default="l2,cosine")
    parser.add_argument("--ef", type=int, nargs="+", default=[10, 20, 40, 80, 160])
    parser.add_argument("--wire", action="store_true", help="(b) over the wire instead of (a)")
    args = parser.parse_args()
    print(f"faiss {faiss.__version__}, {os.cpu_count()} cores")
    for name in args.datasets.split(","):
        bench(name, args)


if __name__ == "__main__":
    main()
