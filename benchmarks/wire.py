"""Wire-protocol throughput of ``vecgres serve`` beside PostgreSQL 15, same client, same run.

    .venv/bin/python benchmarks/wire.py [--seconds 2] [--rows 100000] [--dim 128]

Starts ``vecgres serve`` on a scratch data directory and a PostgreSQL 15 from
Debian's packages (/usr/lib/postgresql/15/bin, ``initdb`` as the ``postgres``
OS user when run as root) on another, then measures with psycopg 3 (libpq):

* ``SELECT 1`` round trips/s over the simple protocol (libpq ``PQexec``) and as a
  prepared statement (Bind/Execute only);
* point lookups by primary key (prepared, random keys) per second;
* streaming a ``rows`` x (bigint, text, vector(dim)) result, text and binary, rows/s.

PostgreSQL here has no pgvector, so its table holds ``real[]`` of the same
length, streamed as ``v::text`` (psycopg would otherwise parse every array in
Python and measure the client): the bytes on the wire are comparable, the
type is not. Prints each
number for both servers and the vecgres/PostgreSQL ratio.
"""

from __future__ import annotations

import argparse
import os
import random
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parents[1]
PGBIN = Path(os.environ.get("PGBIN", "/usr/lib/postgresql/15/bin"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _as_postgres(argv: list[str]) -> list[str]:
    return argv if os.geteuid() != 0 else ["runuser", "-u", "postgres", "--", *argv]


@contextmanager
def postgres(scratch: Path) -> Iterator[str]:
    data = scratch / "pg"
    data.mkdir()
    if os.geteuid() == 0:
        shutil.chown(scratch, "postgres")
        shutil.chown(data, "postgres")
    subprocess.run(
        _as_postgres([str(PGBIN / "initdb"), "-D", str(data), "-U", "postgres", "-A", "trust"]),
        check=True,
        capture_output=True,
    )
    port = free_port()
    opts = f"-p {port} -c listen_addresses=127.0.0.1 -c unix_socket_directories={scratch}"
    ctl = [str(PGBIN / "pg_ctl"), "-D", str(data), "-w", "-l", str(scratch / "pg.log")]
    subprocess.run(
        _as_postgres([*ctl, "-o", opts + " -c fsync=off", "start"]),
        check=True,
        capture_output=True,
    )
    try:
        yield f"host=127.0.0.1 port={port} user=postgres dbname=postgres"
    finally:
        subprocess.run(_as_postgres([*ctl, "-m", "fast", "stop"]), capture_output=True)


@contextmanager
def vecgres(scratch: Path) -> Iterator[str]:
    conf = scratch / "vecgres.conf"
    conf.write_text("fsync = off\n")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "vecgres",
            "serve",
            "--data",
            str(scratch / "vg"),
            "--port",
            "0",
            "--config",
            str(conf),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        cwd=ROOT,
    )
    assert proc.stdout is not None
    m = re.search(r":(\d+)/postgres", proc.stdout.readline())
    if m is None:
        proc.kill()
        raise SystemExit("vecgres serve did not start")
    try:
        yield f"host=127.0.0.1 port={m.group(1)} user=postgres dbname=postgres sslmode=disable"
    finally:
        proc.terminate()
        proc.wait(30)
        proc.stdout.close()


def rate(seconds: float, step: Callable[[], int]) -> float:
    """Units per second of ``step`` (which returns how many units it did) over ``seconds``."""
    done = 0
    start = time.perf_counter()
    while (elapsed := time.perf_counter() - start) < seconds:
        done += step()
    return done / elapsed


def load(dsn: str, *, rows: int, dim: int, vector: bool) -> None:
    vtype = f"vector({dim})" if vector else "real[]"
    with psycopg.connect(dsn) as conn:
        if vector:
            conn.execute("create extension if not exists vector")
        conn.execute("create table kv (id int primary key, name text)")
        conn.execute("insert into kv select g, 'name ' || g from generate_series(1, 10000) g")
        conn.execute(f"create table stream (id bigint, name text, v {vtype})")
        rng = random.Random(7)
        chunk = 500
        for base in range(0, rows, chunk):
            values = []
            for i in range(base, min(base + chunk, rows)):
                vec = ",".join(f"{rng.random():.4f}" for _ in range(dim))
                literal = f"'[{vec}]'" if vector else f"'{{{vec}}}'"
                values.append(f"({i}, 'row {i}', {literal})")
            conn.execute(f"insert into stream values {','.join(values)}")
        conn.commit()


def measure(dsn: str, *, seconds: float, rows: int, vector: bool) -> dict[str, float]:
    out: dict[str, float] = {}
    with psycopg.connect(dsn, autocommit=True) as conn:
        pg = conn.pgconn

        def simple() -> int:
            pg.exec_(b"select 1")
            return 1

        out["SELECT 1 simple (round trips/s)"] = rate(seconds, simple)

        def prepared() -> int:
            conn.execute("select 1", prepare=True).fetchone()
            return 1

        out["SELECT 1 prepared (round trips/s)"] = rate(seconds, prepared)
        rng = random.Random(1)

        def lookup() -> int:
            key = rng.randint(1, 10000)
            row = conn.execute("select name from kv where id = %s", [key], prepare=True).fetchone()
            assert row == (f"name {key}",), row
            return 1

        out["point lookup by PK (queries/s)"] = rate(seconds, lookup)
        for binary in (False, True):

            def stream(binary: bool = binary) -> int:
                with conn.cursor(binary=binary) as cur:
                    # PostgreSQL's real[] as text, so that psycopg does not parse the arrays
                    cur.execute(f"select id, name, {'v' if vector else 'v::text'} from stream")
                    n = 0
                    while batch := cur.fetchmany(5000):
                        n += len(batch)
                    assert n == rows, n
                    return n

            label = "binary" if binary else "text"
            out[f"stream {rows} rows, {label} (rows/s)"] = rate(seconds, stream)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=2.0)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--dim", type=int, default=128)
    args = parser.parse_args()
    if not (PGBIN / "postgres").exists():
        raise SystemExit(f"PostgreSQL 15 not found in {PGBIN} (apt-get install postgresql-15)")
    scratch = Path(tempfile.mkdtemp(prefix="vecgres-wirebench-"))
    os.chmod(scratch, 0o755)
    try:
        results: dict[str, dict[str, float]] = {}
        with vecgres(scratch) as dsn:
            load(dsn, rows=args.rows, dim=args.dim, vector=True)
            results["vecgres"] = measure(dsn, seconds=args.seconds, rows=args.rows, vector=True)
        with postgres(scratch) as dsn:
            load(dsn, rows=args.rows, dim=args.dim, vector=False)
            results["postgres"] = measure(dsn, seconds=args.seconds, rows=args.rows, vector=False)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    print(f"{'measure':42} {'vecgres':>12} {'PostgreSQL 15':>14} {'ratio':>7}")
    for name, ours in results["vecgres"].items():
        theirs = results["postgres"][name]
        print(f"{name:42} {ours:12.0f} {theirs:14.0f} {ours / theirs:7.2f}")
    print(f"(PostgreSQL streams real[{args.dim}]::text: no pgvector in its install)")


if __name__ == "__main__":
    main()
