"""ANN benchmark: vecgres (in-process, and over the wire with psycopg) vs raw faiss.

Datasets are made in SQL by this script with a fixed seed (``setseed``) and read
back, so vecgres and faiss see the same float32 vectors:

* ``l2``: clustered Gaussian-ish (sum of three uniforms) around 100 centres, 128 dims, L2;
* ``cosine``: points around 100 centres in 384 dims, cosine distance.

Printed per dataset: load time (rows/s); index build: the wall time of vecgres's
``CREATE INDEX`` (after sealing and compaction have settled) vs raw faiss building
the same HNSW (m=16, ef_construction=64) on the same rows, one index per sealed
segment as vecgres does, with the same number of faiss threads (and, for
reference, one faiss index over all rows); index size on disk, RSS; then an
``hnsw.ef_search`` sweep with recall@10, QPS, p50/p99 for
(a) ``vecgres.connect()`` in-process, (b) psycopg over the wire with a prepared
statement (``--wire``), (c) raw faiss, single thread, one query at a time;
then filtered queries at 1 %, 10 %, 50 % selectivity (recall, rows, QPS); then
IVFFlat (lists = 100): (a) at the defaults (``ivfflat.probes = 1`` with adaptive
probing, lists probed per segment from EXPLAIN ANALYZE) and at fixed probes
(``vecgres.ivfflat_adaptive_probes = off``) vs (c) raw faiss IndexIVFFlat per
segment at the same nprobe, and the nprobe at which raw faiss reaches 0.95; and
insert throughput with and without an index (runs alternated; the INSERTs alone
and until every segment is indexed).

    python benchmarks/ann.py --rows 100000 --queries 200 --datasets l2
    python benchmarks/ann.py --rows 50000 --seal-rows 25000 --build-only  # no sweep
"""

from __future__ import annotations

import argparse
import atexit
import math
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import faiss
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import vecgres
from vecgres.config import Settings
from vecgres.index.segment import BUILD_THREADS

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


def wait_sealed(
    cur: object, op: str, dims: int, table: str = "items", indexed: bool = False
) -> None:
    """Wait until background sealing has left no growing segment (EXPLAIN ANALYZE says),
    and with ``indexed`` until every segment is searched through its index."""
    # not a zero vector: its cosine distance is NaN, and such a search shows no segments
    zero = "[" + ",".join(["1"] + ["0"] * (dims - 1)) + "]"
    while True:
        cur.execute(  # type: ignore[attr-defined]
            f"EXPLAIN ANALYZE SELECT id FROM {table} ORDER BY embedding {op} '{zero}' LIMIT 1"
        )
        plan = [r[0] for r in cur.fetchall()]  # type: ignore[attr-defined]
        segments = [text for text in plan if "Segment:" in text]
        if not any("growing" in text for text in segments) and not (
            indexed and any(": exact" in text for text in segments)
        ):
            return
        time.sleep(0.2)


def settle(con: Any, cur: Any, table: str, op: str, dims: int) -> list[np.ndarray]:
    """Wait for sealing, run compaction to its end, and return each sealed segment's
    vectors as stored (zero-copy views of the segment files), in segment order."""
    wait_sealed(cur, op, dims, table)
    db = con._db
    db.store.compact()  # background compaction would otherwise race CREATE INDEX
    tdef = next(t for t in db.catalog.tables.values() if t.name == table)
    field = next(c.field_name for c in tdef.columns if c.name == "embedding")
    out = []
    for seg in db.store.snapshot().table(tdef.oid).segments:
        if seg.segment_id is not None:
            col = seg.data.column(field).combine_chunks()
            out.append(col.values.to_numpy(zero_copy_only=True).reshape(-1, dims))
    return out


def raw_hnsw_builds(parts: list[np.ndarray], op: str, threads: int) -> tuple[float, faiss.Index]:
    """Seconds raw faiss takes to build one HNSW (m=16, ef_construction=64) per part,
    as vecgres does (cosine: on normalized rows), ``threads`` OpenMP threads."""
    metric = faiss.METRIC_L2 if op == "<->" else faiss.METRIC_INNER_PRODUCT
    faiss.omp_set_num_threads(threads)
    total = 0.0
    for part in parts:
        start = time.perf_counter()
        xf = part if op == "<->" else part / np.linalg.norm(part, axis=1, keepdims=True)
        xf = np.ascontiguousarray(xf, dtype=np.float32)
        index = faiss.IndexHNSWFlat(part.shape[1], 16, metric)
        index.hnsw.efConstruction = 64
        index.add(xf)
        total += time.perf_counter() - start
    return total, index


def insert_throughput(cur: Any, dims: int, op: str, opclass: str, args: argparse.Namespace) -> None:
    """INSERT ... SELECT throughput into a fresh table without and with an hnsw index,
    alternating ``--insert-runs`` times (the machine is shared: medians of pairs).

    Enough rows to seal segments, so indexes are built while rows arrive. Two clocks:
    the INSERT statements alone (what the inserting client sees), and until every
    segment is sealed and, with the index, searched through its index."""
    step = math.gcd(10_000, args.seal_rows)
    n = max(args.seal_rows, min(args.rows, 2 * args.seal_rows) // args.seal_rows * args.seal_rows)
    small = Settings().compaction_small_rows if args.small_rows is None else args.small_rows
    merged = " (so sealed segments are merged and indexed again)" if args.seal_rows < small else ""
    print(
        f"insert throughput ({n} rows, {step} per INSERT ... SELECT, segments of "
        f"{args.seal_rows}, compaction_small_rows {small}{merged}; {args.insert_runs} runs each):"
    )
    ratios: dict[str, list[float]] = {"inserts": [], "until indexed": []}
    for run in range(args.insert_runs):
        rates: dict[bool, tuple[float, float]] = {}
        # alternate which goes first: the first of a pair runs on a colder process
        for with_index in (False, True) if run % 2 == 0 else (True, False):
            cur.execute(f"CREATE TABLE ins (id int, cat int, embedding vector({dims}))")
            if with_index:
                cur.execute(f"CREATE INDEX ON ins USING hnsw (embedding {opclass})")
            start = time.perf_counter()
            for lo in range(0, n, step):
                cur.execute(insert_sql(dims, lo, step, 3.0).replace("INTO items", "INTO ins"))
            inserts = time.perf_counter() - start
            wait_sealed(cur, op, dims, "ins", indexed=with_index)
            until = time.perf_counter() - start
            rates[with_index] = (n / inserts, n / until)
            print(
                f"  run {run + 1} {'with' if with_index else 'without'} hnsw index: "
                f"inserts {n / inserts:6.0f} rows/s, until sealed"
                f"{' and indexed' if with_index else ''} {n / until:6.0f} rows/s"
            )
            cur.execute("DROP TABLE ins")
        ratios["inserts"].append(rates[True][0] / rates[False][0])
        ratios["until indexed"].append(rates[True][1] / rates[False][1])
    for label, values in ratios.items():
        shown = ", ".join(f"{v:.2f}" for v in values)
        print(
            f"  ratio with/without index, {label}: median {float(np.median(values)):.2f} "
            f"({shown}; target >= 0.80)"
        )


def bench(name: str, args: argparse.Namespace) -> None:
    dims, op, opclass = DATASETS[name]
    rows = args.rows
    work = tempfile.mkdtemp(prefix=f"vecgres-bench-{name}-")
    # the server's layout: <data>/<database>, so --wire can serve the same files
    path = os.path.join(work, "data", "postgres")
    small = {"compaction_small_rows": args.small_rows} if args.small_rows is not None else {}
    con = vecgres.connect(path, fsync=False, seal_rows=args.seal_rows, **small)
    con.autocommit = True
    cur = con.cursor()
    cur.execute(f"CREATE TABLE items (id int, cat int, embedding vector({dims}))")
    cur.execute("SELECT setseed(0.42)")
    start = time.perf_counter()
    # INSERTs that end exactly on segment boundaries: every row gets sealed
    step = math.gcd(10_000, args.seal_rows)
    for lo in range(0, rows, step):
        cur.execute(insert_sql(dims, lo, min(step, rows - lo), 3.0 if name == "l2" else 1.0))
    load_s = time.perf_counter() - start
    cur.execute("SELECT id, embedding FROM items ORDER BY id")
    table = cur.fetch_arrow()
    x = table.column(1).combine_chunks().values.to_numpy().reshape(-1, dims).astype(np.float32)
    print(f"\n== {name}: {rows} x {dims}, {op}, segments of {args.seal_rows} rows")
    print(f"load: {load_s:.1f} s ({rows / load_s:.0f} rows/s)")
    segments = settle(con, cur, "items", op, dims)
    print(f"segments after sealing and compaction: {[len(v) for v in segments]} rows")

    threads = BUILD_THREADS
    create = f"CREATE INDEX items_idx ON items USING hnsw (embedding {opclass})"
    # alternated and repeated: whichever builds first in a process runs colder, and
    # the machine is shared
    ours: list[float] = []
    theirs: list[float] = []
    for rep in range(args.build_runs):
        for side in ("vecgres", "faiss") if rep % 2 == 0 else ("faiss", "vecgres"):
            if side == "faiss":
                theirs.append(raw_hnsw_builds(segments, op, threads)[0])
                continue
            cur.execute("DROP INDEX IF EXISTS items_idx")
            start = time.perf_counter()
            cur.execute(create)
            ours.append(time.perf_counter() - start)
    build_s, raw_seg_s = float(np.median(ours)), float(np.median(theirs))
    oid = next(
        i.oid for t in con._db.catalog.tables.values() for i in t.indexes if i.name == "items_idx"
    )
    size = sum(p.stat().st_size for p in Path(path, "indexes").rglob(f"*.{oid}.faiss"))
    # what a single faiss index over the whole table costs (vecgres never builds it)
    raw_one_s, raw = raw_hnsw_builds([x], op, threads)
    print(
        f"index build (hnsw m=16 ef_construction=64, {threads} faiss threads in both, "
        f"median of {args.build_runs}):\n"
        f"  vecgres CREATE INDEX             {build_s:6.2f} s  "
        f"({', '.join(f'{v:.2f}' for v in ours)}; {len(segments)} segment indexes, "
        f"files {size / 2**20:.1f} MiB)\n"
        f"  raw faiss, one index per segment {raw_seg_s:6.2f} s  "
        f"({', '.join(f'{v:.2f}' for v in theirs)}; same index on the same rows)\n"
        f"  ratio vecgres / raw faiss        {build_s / raw_seg_s:6.2f}    (target <= 1.3)\n"
        f"  raw faiss, one index on all rows {raw_one_s:6.2f} s  (for reference)\n"
        f"  RSS {rss_mb():.0f} MiB"
    )
    # every segment indexed (a compaction meanwhile rebuilds), so the sweep uses ANN
    wait_sealed(cur, op, dims, indexed=True)
    if args.build_only:
        insert_throughput(cur, dims, op, opclass, args)
        con.close()
        shutil.rmtree(work, ignore_errors=True)
        return

    rng = np.random.default_rng(7)
    queries = x[rng.integers(0, rows, args.queries)] + rng.normal(
        0, 0.05, (args.queries, dims)
    ).astype(np.float32)
    gt = truth(x, queries, op, None)
    sql = f"SELECT id FROM items ORDER BY embedding {op} %s LIMIT 10"

    def vecgres_run(q: np.ndarray) -> list[int]:
        cur.execute(sql, (q,))
        return [r[0] for r in cur.fetchall()]

    print("ef_search sweep (k=10):")
    faiss.omp_set_num_threads(1)
    sweep: dict[int, dict[str, dict[str, float]]] = {}
    for ef in args.ef:
        rf = timed(faiss_runner(raw, op, ef), queries, gt)
        print(line(f"(c) raw faiss ef={ef}", rf))
        cur.execute(f"SET hnsw.ef_search = {ef}")
        ra = timed(vecgres_run, queries, gt)
        print(line(f"(a) in-process ef={ef}", ra) + f"  (a)/(c)={ra['qps'] / rf['qps']:.2f}")
        sweep[ef] = {"c": rf, "a": ra}
    faiss.omp_set_num_threads(os.cpu_count() or 1)

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
    if args.wire:  # the sweep over the wire on the table (a) searched: a server on its files
        con.close()
        wire_sweep(args, path, op, queries, gt, sweep, raw)
        con = vecgres.connect(path, fsync=False, seal_rows=args.seal_rows)
        con.autocommit = True
        cur = con.cursor()
    # last: it replaces the HNSW index the sweeps above search
    ivfflat_sweep(con, cur, op, opclass, dims, queries, gt)
    print(f"summary: {name}, {rows} rows, {len(queries)} queries, k=10")
    print(summary(sweep))
    if args.sweep_only:
        con.close()
        shutil.rmtree(work, ignore_errors=True)
        return
    insert_throughput(cur, dims, op, opclass, args)
    con.close()
    shutil.rmtree(work, ignore_errors=True)


IVF_PROBES = (1, 2, 4, 8, 16, 32)


def ivfflat_sweep(
    con: Any,
    cur: Any,
    op: str,
    opclass: str,
    dims: int,
    queries: np.ndarray,
    gt: list[set[int]],
) -> None:
    """IVFFlat (lists = 100): (a) at vecgres's defaults (ivfflat.probes = 1, adaptive
    probing) and at pgvector's fixed probes (``vecgres.ivfflat_adaptive_probes =
    off``), vs (c) raw faiss IndexIVFFlat per segment (same lists, same rows, results
    merged), single thread, at each nprobe; and the smallest nprobe reaching 0.95."""
    cur.execute("DROP INDEX IF EXISTS items_idx")
    start = time.perf_counter()
    cur.execute(f"CREATE INDEX items_ivf ON items USING ivfflat (embedding {opclass})")
    print(f"ivfflat (lists = 100) built in {time.perf_counter() - start:.2f} s; sweep (k=10):")
    wait_sealed(cur, op, dims, indexed=True)
    sql = f"SELECT id FROM items ORDER BY embedding {op} %s LIMIT 10"

    def vecgres_run(q: np.ndarray) -> list[int]:
        cur.execute(sql, (q,))
        return [r[0] for r in cur.fetchall()]

    lists: list[int] = []
    for q in queries[:20]:  # lists probed per segment, from EXPLAIN ANALYZE
        cur.execute("EXPLAIN ANALYZE " + sql, (q,))
        for (text,) in cur.fetchall():
            if " lists=" in text:
                lists.append(int(text.split(" lists=")[1].split()[0]))
    faiss.omp_set_num_threads(1)
    ra = timed(vecgres_run, queries, gt)
    print(
        line("(a) default probes=1 adaptive", ra)
        + f"  lists/segment mean={np.mean(lists):.1f} max={max(lists)}"
    )
    raw = raw_ivf_segments(con, op, dims)
    reached: dict[str, int] = {}
    for probes in IVF_PROBES:
        cur.execute("SET vecgres.ivfflat_adaptive_probes = off")
        cur.execute(f"SET ivfflat.probes = {probes}")
        rf = timed(ivf_runner(raw, op, probes), queries, gt)
        print(line(f"(c) raw faiss nprobe={probes}", rf))
        rp = timed(vecgres_run, queries, gt)
        print(line(f"(a) fixed probes={probes}", rp) + f"  (a)/(c)={rp['qps'] / rf['qps']:.2f}")
        if rf["recall"] >= 0.95 and "c" not in reached:
            reached["c"] = probes
            print(
                f"  -> raw faiss reaches 0.95 at nprobe={probes}: p50 {rf['p50']:.2f} ms; "
                f"vecgres default p50 {ra['p50']:.2f} ms (recall {ra['recall']:.3f}), "
                f"default/raw p50 = {ra['p50'] / rf['p50']:.2f}"
            )
    faiss.omp_set_num_threads(os.cpu_count() or 1)
    cur.execute("RESET ivfflat.probes")
    cur.execute("RESET vecgres.ivfflat_adaptive_probes")
    cur.execute("DROP INDEX items_ivf")


def raw_ivf_segments(con: Any, op: str, dims: int) -> list[tuple[np.ndarray, faiss.Index]]:
    """(ids, IndexIVFFlat) per sealed segment, built as vecgres builds its own."""
    db = con._db
    tdef = next(t for t in db.catalog.tables.values() if t.name == "items")
    fields = {c.name: c.field_name for c in tdef.columns}
    metric = faiss.METRIC_L2 if op == "<->" else faiss.METRIC_INNER_PRODUCT
    out = []
    faiss.omp_set_num_threads(BUILD_THREADS)
    for seg in db.store.snapshot().table(tdef.oid).segments:
        if seg.segment_id is None:
            continue
        col = seg.data.column(fields["embedding"]).combine_chunks()
        x = np.ascontiguousarray(col.values.to_numpy().reshape(-1, dims), dtype=np.float32)
        if op != "<->":
            x = x / np.linalg.norm(x, axis=1, keepdims=True)
        ids = seg.data.column(fields["id"]).to_numpy()
        index = faiss.IndexIVFFlat(faiss.IndexFlat(dims, metric), dims, 100, metric)
        index.train(x)
        index.add(x)
        out.append((ids, index))
    faiss.omp_set_num_threads(1)
    return out


def ivf_runner(
    raw: list[tuple[np.ndarray, faiss.Index]], op: str, nprobe: int
) -> Callable[[np.ndarray], list[int]]:
    params = faiss.SearchParametersIVF()
    params.nprobe = nprobe

    def run(q: np.ndarray) -> list[int]:
        qq = q if op == "<->" else q / np.linalg.norm(q)
        qq = qq.reshape(1, -1).astype(np.float32)
        dist, ids = [], []
        for seg_ids, index in raw:
            d, lab = index.search(qq, 10, params=params)
            dist.append(d[0] if op == "<->" else -d[0])
            ids.append(seg_ids[lab[0]])
        order = np.argsort(np.concatenate(dist))[:10]
        return np.concatenate(ids)[order].tolist()

    return run


def faiss_runner(raw: faiss.Index, op: str, ef: int) -> Callable[[np.ndarray], list[int]]:
    """(c): the raw faiss index, one query at a time (the caller sets one thread)."""
    params = faiss.SearchParametersHNSW()
    params.efSearch = ef

    def run(q: np.ndarray) -> list[int]:
        qq = q if op == "<->" else q / np.linalg.norm(q)
        _, labels = raw.search(qq.reshape(1, -1).astype(np.float32), 10, params=params)
        return labels[0].tolist()

    return run


def process_cpu_s(pid: int) -> float:
    """User + system CPU seconds of process ``pid`` so far (Linux /proc; NaN elsewhere)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def wire_sweep(
    args: argparse.Namespace,
    path: str,
    op: str,
    queries: np.ndarray,
    gt: list[set[int]],
    sweep: dict[int, dict[str, dict[str, float]]],
    raw: faiss.Index,
) -> None:
    """(b): the same sweep through ``vecgres serve`` and psycopg prepared statements,
    the vector sent as text (a string parameter) and in binary (pgvector-python's
    ``register_vector``); (c) is timed again beside it (the machine's load moves).
    The server's CPU time per query is printed too: a search over several large
    segments runs their faiss searches side by side (executor/ann_fast.py), so its
    latency can be below its CPU time."""
    import psycopg
    from pgvector.psycopg import register_vector

    port = 55000 + os.getpid() % 1000
    server = start_server(os.path.dirname(path), port)
    atexit.register(server.terminate)  # also when the benchmark fails half-way
    dsn = f"host=127.0.0.1 port={port} user=postgres dbname=postgres"
    wsql = f"SELECT id FROM items ORDER BY embedding {op} %s LIMIT 10"
    text_conn = psycopg.connect(dsn, autocommit=True)
    binary_conn = psycopg.connect(dsn, autocommit=True)
    register_vector(binary_conn)
    tcur, bcur = text_conn.cursor(), binary_conn.cursor()

    # the literal is written before timing, as a client that holds it as text does:
    # numpy's per-element formatting costs the client ~0.5 ms at 384 dimensions, which
    # is not the database's time
    texts = {q.tobytes(): "[" + ",".join(f"{v:.7g}" for v in q) + "]" for q in queries}

    def text_run(q: np.ndarray) -> list[int]:
        tcur.execute(wsql, (texts[q.tobytes()],), prepare=True)
        return [r[0] for r in tcur.fetchall()]

    def binary_run(q: np.ndarray) -> list[int]:
        bcur.execute(wsql, (q,), prepare=True, binary=True)
        return [r[0] for r in bcur.fetchall()]

    print("ef_search sweep over the wire (psycopg, prepared):")
    faiss.omp_set_num_threads(1)
    for ef in args.ef:
        rf = timed(faiss_runner(raw, op, ef), queries, gt)
        print(line(f"(c) raw faiss ef={ef}", rf))
        tcur.execute(f"SET hnsw.ef_search = {ef}")
        bcur.execute(f"SET hnsw.ef_search = {ef}")
        start = process_cpu_s(server.pid)
        rb = timed(text_run, queries, gt)
        middle = process_cpu_s(server.pid)
        text_cpu = (middle - start) / len(queries) * 1000
        print(
            line(f"(b) text param ef={ef}", rb)
            + f"  (b)/(c)={rb['qps'] / rf['qps']:.2f}  server CPU {text_cpu:.2f} ms/query"
        )
        rbb = timed(binary_run, queries, gt)
        binary_cpu = (process_cpu_s(server.pid) - middle) / len(queries) * 1000
        print(
            line(f"(b) binary param ef={ef}", rbb)
            + f"  (b)/(c)={rbb['qps'] / rf['qps']:.2f}  server CPU {binary_cpu:.2f} ms/query"
        )
        sweep[ef].update({"c2": rf, "b": rb, "bb": rbb})
    faiss.omp_set_num_threads(os.cpu_count() or 1)
    text_conn.close()
    binary_conn.close()
    server.terminate()
    server.wait()


def summary(sweep: dict[int, dict[str, dict[str, float]]]) -> str:
    """Per ef: recall, QPS and p50/p99 of each path, and its speed over (c)'s, by QPS and
    by median latency (on a shared machine stalls move the mean, the median less);
    (b) is set against the (c) timed beside it."""
    labels = [("c", "(c) raw faiss"), ("a", "(a) in-process"), ("b", "(b) wire text")]
    labels += [("bb", "(b) wire binary")]
    out = [
        f"  {'ef':>4}  {'path':<16} {'recall@10':>9} {'QPS':>7} {'p50 ms':>7} {'p99 ms':>7}"
        "  /(c) QPS  /(c) p50"
    ]

    def ref(key: str, runs: dict[str, dict[str, float]]) -> dict[str, float]:
        return runs.get("c2", runs["c"]) if key in ("b", "bb") else runs["c"]

    for ef, runs in sorted(sweep.items()):
        for key, name in labels:
            if key not in runs:
                continue
            r, c = runs[key], ref(key, runs)
            out.append(
                f"  {ef:>4}  {name:<16} {r['recall']:9.3f} {r['qps']:7.0f} "
                f"{r['p50']:7.2f} {r['p99']:7.2f}  {r['qps'] / c['qps']:8.2f}  "
                f"{c['p50'] / r['p50']:8.2f}"
            )

    # the target compares paths at equal quality: each path's fastest setting that
    # reaches recall@10 >= 0.95 (vecgres searches per segment, so its recall at one
    # ef_search is not faiss's on the whole table)
    def fastest(key: str) -> tuple[dict[str, float], int] | None:
        ok = [
            (runs[key], ef)
            for ef, runs in sweep.items()
            if key in runs and runs[key]["recall"] >= 0.95
        ]
        return min(ok, key=lambda found: found[0]["p50"]) if ok else None

    for key, name in labels:
        found = fastest(key)
        if found is None:
            if any(key in runs for runs in sweep.values()):
                out.append(f"  recall@10 >= 0.95: {name:<16} not reached")
            continue
        r, ef = found
        line_ = f"  recall@10 >= 0.95: {name:<16} ef={ef:<4} p50 {r['p50']:.2f} ms"
        c = fastest("c2" if key in ("b", "bb") and fastest("c2") else "c")
        if key != "c" and c is not None:
            line_ += f", median speed / (c)'s (p50 {c[0]['p50']:.2f} ms, ef={c[1]}): "
            line_ += f"{c[0]['p50'] / r['p50']:.2f}"
        out.append(line_)
    return "\n".join(out)


def bench_extras(args: argparse.Namespace) -> None:
    """Range search, halfvec and bit (Hamming) indexes, each against its exact path
    (``vecgres.enable_ann = off``, numpy kernels) and raw faiss in the same run."""
    dims, rows = 128, args.rows
    work = tempfile.mkdtemp(prefix="vecgres-bench-extras-")
    con = vecgres.connect(os.path.join(work, "db"), fsync=False, seal_rows=args.seal_rows)
    con.autocommit = True
    cur = con.cursor()
    cur.execute(
        f"CREATE TABLE items (id int, cat int, embedding vector({dims}), h halfvec({dims}), "
        f"b bit({dims}))"
    )
    cur.execute("SELECT setseed(0.42)")
    step = 10_000
    for lo in range(0, rows, step):
        sql = insert_sql(dims, lo, min(step, rows - lo), 3.0)
        cur.execute(sql.replace("INTO items SELECT", "INTO items (id, cat, embedding) SELECT"))
    cur.execute(
        f"UPDATE items SET h = embedding::halfvec({dims}), "
        f"b = binary_quantize(embedding)::bit({dims})"
    )
    cur.execute("SELECT id, embedding FROM items ORDER BY id")
    table = cur.fetch_arrow()
    x = table.column(1).combine_chunks().values.to_numpy().reshape(-1, dims).astype(np.float32)
    wait_sealed(cur, "<->", dims)
    print(f"\n== extras: {rows} x {dims}, segments of {args.seal_rows} rows")
    rng = np.random.default_rng(11)
    queries = x[rng.integers(0, rows, args.queries)] + rng.normal(
        0, 0.05, (args.queries, dims)
    ).astype(np.float32)

    def run_all(label: str, sql: str, arg: Callable[[np.ndarray], object], gt: list[set[int]]):
        for ann in ("on", "off"):
            cur.execute(f"SET vecgres.enable_ann = {ann}")

            def run(q: np.ndarray) -> list[int]:
                cur.execute(sql, (arg(q),) * sql.count("%s"))
                return [r[0] for r in cur.fetchall()]

            print(line(f"{label} ann={ann}", timed(run, queries, gt)))
        cur.execute("SET vecgres.enable_ann = on")

    # range: radius at the 10th neighbour's distance, so ~10 rows match ("recall" = of those)
    d2 = [((x - q) ** 2).sum(1) for q in queries]
    radii = {
        q.tobytes(): float(np.sqrt(np.sort(d)[9]) * 1.0001)
        for q, d in zip(queries, d2, strict=True)
    }
    gt_range = [set(np.flatnonzero(d <= np.sort(d)[9]).tolist()) for d in d2]
    cur.execute("CREATE INDEX ON items USING hnsw (embedding vector_l2_ops)")
    cur.execute("SET hnsw.ef_search = 100")
    sql_range = "SELECT id FROM items WHERE embedding <-> %s < {r}"

    for ann in ("on", "off"):
        cur.execute(f"SET vecgres.enable_ann = {ann}")

        def run_range(q: np.ndarray) -> list[int]:
            cur.execute(sql_range.format(r=radii[q.tobytes()]), (q,))
            return [r[0] for r in cur.fetchall()]

        print(line(f"range hnsw ann={ann}", timed(run_range, queries, gt_range)))
    cur.execute("SET vecgres.enable_ann = on")
    flat = faiss.IndexFlatL2(dims)
    flat.add(np.ascontiguousarray(x))
    faiss.omp_set_num_threads(1)

    def raw_range(q: np.ndarray) -> list[int]:
        _l, _d, ids = flat.range_search(q[None, :], radii[q.tobytes()] ** 2)
        return ids.tolist()

    print(line("range raw faiss flat", timed(raw_range, queries, gt_range)))

    # halfvec top-10 (truth on the float16-rounded values)
    xh = x.astype(np.float16).astype(np.float32)
    gt_h = [set(np.argsort(((xh - q) ** 2).sum(1), kind="stable")[:10].tolist()) for q in queries]
    cur.execute("CREATE INDEX ON items USING hnsw (h halfvec_l2_ops)")
    run_all(
        "halfvec hnsw top-10",
        "SELECT id FROM items ORDER BY h <-> %s LIMIT 10",
        lambda q: "[" + ",".join(str(float(v)) for v in q.astype(np.float16)) + "]",
        gt_h,
    )

    # bit Hamming top-10: ties are common, so "recall" counts rows at the 10th distance
    xb = x > 0
    gt_b = []
    for q in queries:
        d = (xb != (q > 0)).sum(1)
        gt_b.append(set(np.flatnonzero(d <= np.sort(d)[9]).tolist()))
    cur.execute("CREATE INDEX ON items USING hnsw (b bit_hamming_ops)")
    bits = lambda q: "".join("1" if v > 0 else "0" for v in q)  # noqa: E731
    run_all(
        "bit hnsw hamming top-10", "SELECT id FROM items ORDER BY b <~> %s LIMIT 10", bits, gt_b
    )
    raw = faiss.IndexBinaryFlat(dims)
    raw.add(np.packbits(xb, axis=1))

    def raw_bits(q: np.ndarray) -> list[int]:
        _d, ids = raw.search(np.packbits(q > 0)[None, :], 10)
        return ids[0].tolist()

    print(line("bit raw faiss binary flat", timed(raw_bits, queries, gt_b)))
    con.close()
    shutil.rmtree(work, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--seal-rows", type=int, default=50_000)
    parser.add_argument("--datasets", default="l2,cosine")
    parser.add_argument("--ef", type=int, nargs="+", default=[10, 20, 40, 80, 160])
    parser.add_argument("--wire", action="store_true", help="also (b) over the wire after (a)")
    parser.add_argument("--sweep-only", action="store_true", help="skip the insert throughput part")
    parser.add_argument(
        "--build-only",
        action="store_true",
        help="load, index build and insert throughput only (no query sweep)",
    )
    parser.add_argument("--insert-runs", type=int, default=2, help="pairs of insert runs")
    parser.add_argument("--build-runs", type=int, default=2, help="index builds per side")
    parser.add_argument(
        "--small-rows",
        type=int,
        help="vecgres compaction_small_rows (default: vecgres's); segments below it are merged",
    )
    parser.add_argument(
        "--extras", action="store_true", help="range search, halfvec and bit indexes only"
    )
    args = parser.parse_args()
    if args.rows % args.seal_rows:
        parser.error("--rows must be a multiple of --seal-rows (the benchmark waits until sealed)")
    print(f"faiss {faiss.__version__}, {os.cpu_count()} cores")
    if args.extras:
        bench_extras(args)
        return
    for name in args.datasets.split(","):
        bench(name, args)


if __name__ == "__main__":
    main()
