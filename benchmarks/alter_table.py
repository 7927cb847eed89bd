"""Table rewrites: ALTER COLUMN ... TYPE ... USING and CREATE TABLE AS SELECT.

Loads N rows of (id bigint PRIMARY KEY, c text holding integers, emb vector(D))
into vecgres by Parquet COPY (so most rows sit in sealed segments), then times
``ALTER TABLE items ALTER c TYPE integer USING c::integer`` (every row rewritten)
and ``CREATE TABLE copy AS SELECT * FROM items``, each committed. The reference
is DuckDB doing the same two statements on the same data in a file database in
the same run.

    .venv/bin/python benchmarks/alter_table.py [--rows 200000] [--dim 64]
"""

from __future__ import annotations

import argparse
import shlex
import sys
import tempfile
import time
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

import vecgres


def make_parquet(path: Path, rows: int, dim: int) -> None:
    rng = np.random.default_rng(0)
    vecs = rng.standard_normal((rows, dim), dtype=np.float32)
    table = pa.table(
        {
            "id": pa.array(np.arange(rows, dtype=np.int64)),
            "c": pa.array(rng.integers(0, 1_000_000, rows).astype(str)),
            "emb": pa.FixedSizeListArray.from_arrays(pa.array(vecs.ravel()), dim),
        }
    )
    pq.write_table(table, path)


def timed(run: object, sql: str) -> float:
    start = time.perf_counter()
    run(sql)  # type: ignore[operator]
    return time.perf_counter() - start


def bench_vecgres(workdir: Path, parquet: Path, dim: int) -> tuple[float, float]:
    con = vecgres.connect(str(workdir / "vg"), fsync=False)
    con.autocommit = True
    cur = con.cursor()
    cur.execute(f"CREATE TABLE items (id bigint PRIMARY KEY, c text, emb vector({dim}))")
    cur.execute(f"COPY items FROM '{parquet}' (FORMAT parquet)")
    alter = timed(cur.execute, "ALTER TABLE items ALTER c TYPE integer USING c::integer")
    ctas = timed(cur.execute, "CREATE TABLE items_copy AS SELECT * FROM items")
    cur.execute("SELECT count(*), sum(c) FROM items_copy")
    count, _ = cur.fetchone()
    con.close()
    assert count > 0
    return alter, ctas


def bench_duckdb(workdir: Path, parquet: Path, dim: int) -> tuple[float, float]:
    con = duckdb.connect(str(workdir / "ref.duckdb"))
    con.execute(f"CREATE TABLE items (id BIGINT PRIMARY KEY, c VARCHAR, emb FLOAT[{dim}])")
    con.execute(f"INSERT INTO items SELECT * FROM read_parquet('{parquet}')")
    con.execute("CHECKPOINT")
    alter = timed(con.execute, "ALTER TABLE items ALTER c TYPE INTEGER USING c::INTEGER")
    ctas = timed(con.execute, "CREATE TABLE items_copy AS SELECT * FROM items")
    con.close()
    return alter, ctas


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--dim", type=int, default=64)
    args = parser.parse_args()
    print("$", shlex.join([sys.executable, *sys.argv]))
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        parquet = workdir / "items.parquet"
        make_parquet(parquet, args.rows, args.dim)
        vg_alter, vg_ctas = bench_vecgres(workdir, parquet, args.dim)
        ref_alter, ref_ctas = bench_duckdb(workdir, parquet, args.dim)
    rows = args.rows
    print(f"{rows} rows x vector({args.dim})")
    print(f"{'statement':<34}{'vecgres rows/s':>16}{'DuckDB rows/s':>16}{'ratio':>8}")
    for name, ours, ref in (
        ("ALTER c TYPE integer USING", vg_alter, ref_alter),
        ("CREATE TABLE AS SELECT *", vg_ctas, ref_ctas),
    ):
        print(f"{name:<34}{rows / ours:>16,.0f}{rows / ref:>16,.0f}{ref / ours:>8.2f}")


if __name__ == "__main__":
    main()
