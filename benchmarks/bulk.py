"""Bulk load throughput: executemany in 10k-row batches, and Parquet COPY.

Loads N rows of (id bigint, cat int, emb vector(128)) into vecgres through the
embedded API, and the same data into a reference in the same run (sqlite3
executemany for the row path, DuckDB reading the same Parquet file for COPY),
and prints rows/s side by side with the command that produced them.

    .venv/bin/python benchmarks/bulk.py [--rows 1000000] [--exec-rows 100000]
"""

from __future__ import annotations

import argparse
import shlex
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

import vecgres

DIM = 128


def make_table(rows: int, seed: int = 0) -> pa.Table:
    rng = np.random.default_rng(seed)
    vecs = rng.standard_normal((rows, DIM), dtype=np.float32)
    return pa.table(
        {
            "id": pa.array(np.arange(rows, dtype=np.int64)),
            "cat": pa.array(rng.integers(0, 100, rows, dtype=np.int32)),
            "emb": pa.FixedSizeListArray.from_arrays(pa.array(vecs.ravel()), DIM),
        }
    )


def bench_executemany(
    workdir: Path, data: pa.Table, batch: int, numpy_vectors: bool
) -> tuple[float, float]:
    """Rows/s of executemany; vectors as pgvector text literals or as numpy arrays."""
    ids = data.column("id").to_pylist()
    cats = data.column("cat").to_pylist()
    vecs = data.column("emb").combine_chunks().flatten().to_numpy().reshape(-1, DIM)
    texts = ["[" + ",".join(f"{x:.6g}" for x in v) + "]" for v in vecs]
    rows = list(zip(ids, cats, list(vecs) if numpy_vectors else texts, strict=True))

    name = "exec-numpy" if numpy_vectors else "exec-text"
    con = vecgres.connect(str(workdir / name))
    cur = con.cursor()
    cur.execute(f"CREATE TABLE items (id bigint PRIMARY KEY, cat int, emb vector({DIM}))")
    con.commit()
    start = time.perf_counter()
    for i in range(0, len(rows), batch):
        cur.executemany("INSERT INTO items VALUES (%s, %s, %s)", rows[i : i + batch])
        con.commit()
    ours = len(rows) / (time.perf_counter() - start)
    cur.execute("SELECT count(*) FROM items")
    assert cur.fetchone() == (len(rows),)
    con.close()

    # the reference stores the same rows, vectors as text (sqlite has no vector type)
    rows = list(zip(ids, cats, texts, strict=True))
    ref = sqlite3.connect(workdir / f"{name}.sqlite")
    ref.execute("CREATE TABLE items (id INTEGER PRIMARY KEY, cat INTEGER, emb TEXT)")
    start = time.perf_counter()
    for i in range(0, len(rows), batch):
        ref.executemany("INSERT INTO items VALUES (?, ?, ?)", rows[i : i + batch])
        ref.commit()
    theirs = len(rows) / (time.perf_counter() - start)
    ref.close()
    return ours, theirs


def bench_copy(workdir: Path, data: pa.Table) -> tuple[float, float, float]:
    path = workdir / "items.parquet"
    pq.write_table(data, path)
    con = vecgres.connect(str(workdir / "copy"))
    con.autocommit = True
    cur = con.cursor()
    cur.execute(f"CREATE TABLE items (id bigint PRIMARY KEY, cat int, emb vector({DIM}))")
    start = time.perf_counter()
    cur.execute(f"COPY items FROM '{path}' WITH (FORMAT parquet)")
    elapsed = time.perf_counter() - start
    assert cur.statusmessage == f"COPY {data.num_rows}", cur.statusmessage
    cur.execute("SELECT count(*), sum(cat) FROM items")
    assert cur.fetchone() == (data.num_rows, int(pc_sum(data.column("cat"))))
    con.close()
    ours = data.num_rows / elapsed

    ref = duckdb.connect(str(workdir / "ref.duckdb"))
    ref.execute(f"CREATE TABLE items (id BIGINT PRIMARY KEY, cat INTEGER, emb FLOAT[{DIM}])")
    start = time.perf_counter()
    ref.execute(f"INSERT INTO items SELECT * FROM read_parquet('{path}')")
    ref.execute("CHECKPOINT")
    theirs = data.num_rows / (time.perf_counter() - start)
    ref.close()
    return ours, theirs, elapsed


def bench_formats(workdir: Path, data: pa.Table) -> list[str]:
    """COPY TO and FROM a file in text, csv and binary; DuckDB writing/reading CSV as reference."""
    path = workdir / "formats.parquet"
    pq.write_table(data, path)
    con = vecgres.connect(str(workdir / "formats"))
    con.autocommit = True
    cur = con.cursor()
    cur.execute(f"CREATE TABLE items (id bigint PRIMARY KEY, cat int, emb vector({DIM}))")
    cur.execute(f"COPY items FROM '{path}' WITH (FORMAT parquet)")
    n = data.num_rows
    lines = []
    for fmt in ("text", "csv", "binary"):
        out = workdir / f"items.{fmt}"
        start = time.perf_counter()
        cur.execute(f"COPY items TO '{out}' WITH (FORMAT {fmt})")
        write = n / (time.perf_counter() - start)
        cur.execute(f"CREATE TABLE back_{fmt} (id bigint PRIMARY KEY, cat int, emb vector({DIM}))")
        start = time.perf_counter()
        cur.execute(f"COPY back_{fmt} FROM '{out}' WITH (FORMAT {fmt})")
        read = n / (time.perf_counter() - start)
        assert cur.statusmessage == f"COPY {n}"
        lines.append(f"{fmt}: TO {write:,.0f} rows/s, FROM {read:,.0f} rows/s")
    con.close()
    ref = duckdb.connect()
    ref.register("src", data)
    out = workdir / "duck.csv"
    start = time.perf_counter()
    ref.execute(f"COPY (SELECT * FROM src) TO '{out}' (FORMAT csv)")
    write = n / (time.perf_counter() - start)
    ref.execute(f"CREATE TABLE items (id BIGINT PRIMARY KEY, cat INTEGER, emb FLOAT[{DIM}])")
    start = time.perf_counter()
    ref.execute(f"COPY items FROM '{out}' (FORMAT csv)")
    read = n / (time.perf_counter() - start)
    ref.close()
    lines.append(f"DuckDB csv: TO {write:,.0f} rows/s, FROM {read:,.0f} rows/s")
    return lines


def pc_sum(col: pa.ChunkedArray) -> int:
    return int(np.asarray(col.to_numpy(), dtype=np.int64).sum())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="rows for Parquet COPY")
    parser.add_argument(
        "--exec-rows", type=int, default=100_000, help="rows for executemany (10k batches)"
    )
    parser.add_argument("--batch", type=int, default=10_000, help="executemany batch size")
    parser.add_argument(
        "--format-rows", type=int, default=20_000, help="rows for text/csv/binary file COPY"
    )
    parser.add_argument("--dir", default=None, help="scratch directory (default: a temp dir)")
    args = parser.parse_args()
    print("$ .venv/bin/python benchmarks/bulk.py " + shlex.join(sys.argv[1:]))
    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        workdir = Path(tmp)
        copy_data = make_table(args.rows)
        ours, theirs, elapsed = bench_copy(workdir, copy_data)
        print(
            f"Parquet COPY {args.rows:,} x (bigint, int, vector({DIM})): "
            f"vecgres {ours:,.0f} rows/s ({elapsed:.1f} s, durable)   "
            f"DuckDB INSERT ... read_parquet {theirs:,.0f} rows/s   "
            f"ratio vecgres/DuckDB {ours / theirs:.2f}"
        )
        lines = bench_formats(workdir, copy_data.slice(0, args.format_rows))
        print(f"file COPY of {args.format_rows:,} rows: " + " | ".join(lines))
        exec_data = copy_data.slice(0, args.exec_rows)
        for numpy_vectors, label in ((False, "text"), (True, "numpy")):
            ours, theirs = bench_executemany(workdir, exec_data, args.batch, numpy_vectors)
            print(
                f"executemany {args.exec_rows:,} rows in {args.batch:,}-row batches "
                f"(commit per batch, vectors as {label}): vecgres {ours:,.0f} rows/s   "
                f"sqlite3 {theirs:,.0f} rows/s   ratio vecgres/sqlite3 {ours / theirs:.2f}"
            )


if __name__ == "__main__":
    main()
