"""Wire-protocol throughput of ``vecgres serve`` beside PostgreSQL 15, same client, same run.

    .venv/bin/python benchmarks/wire.py [--seconds 2] [--rows 1000000] [--dim 128] [--repeat 3]
                                        [--only roundtrips|stream|copy ...]

Starts ``vecgres serve`` on a scratch data directory and a PostgreSQL 15 from
Debian's packages (/usr/lib/postgresql/15/bin, ``initdb`` as the ``postgres``
OS user when run as root) on another, then measures with psycopg 3 (libpq):

* ``SELECT 1`` round trips/s over the simple protocol (libpq ``PQexec``) and as a
  prepared statement (Bind/Execute only);
* point lookups by primary key (prepared, random keys) per second;
* streaming a ``rows`` x (bigint, text, vector(dim)) result, text and binary, rows/s;
* COPY FROM STDIN of ``rows`` x (bigint, text, vector(dim)), text and binary, rows/s
  (the client sends pre-encoded bytes, so the numbers measure the server).

PostgreSQL here has no pgvector, so its table holds ``real[]`` of the same
length, streamed as ``v::text`` (psycopg would otherwise parse every array in
Python and measure the client) and copied in as ``real[]`` text or binary: the
bytes on the wire are comparable, the type is not. Both servers run side by
side; each measure runs on one then the other, ``--repeat`` times, and the best
rate of each is kept, so that the ratio survives other load on the machine.
Prints each number for both servers and the vecgres/PostgreSQL ratio.
"""

from __future__ import annotations

import argparse
import os
import random
import re
import shutil
import socket
import struct
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


def rate_fresh(seconds: float, step: Callable[[], int], reset: Callable[[], object]) -> float:
    """``rate`` with ``reset`` run, untimed, after each step (a COPY target emptied)."""
    done = 0
    elapsed = 0.0
    while elapsed < seconds:
        start = time.perf_counter()
        done += step()
        elapsed += time.perf_counter() - start
        reset()
    return done / elapsed


def rate(seconds: float, step: Callable[[], int]) -> float:
    """Units per second of ``step`` (which returns how many units it did) over ``seconds``."""
    done = 0
    start = time.perf_counter()
    while (elapsed := time.perf_counter() - start) < seconds:
        done += step()
    return done / elapsed


# rows of generated COPY data, sent as many times as the row count asks
CHUNK_ROWS = 5000


def copy_chunk(*, dim: int, vector: bool, binary: bool, seed: int = 7) -> bytes:
    """CHUNK_ROWS rows of (bigint, text, vector(dim) or real[]) in COPY text or binary,
    without the binary header and trailer."""
    rng = random.Random(seed)
    out: list[bytes] = []
    for i in range(CHUNK_ROWS):
        vec = [round(rng.random(), 4) for _ in range(dim)]
        name = f"row {i}".encode()
        if not binary:
            body = ",".join(f"{x:.4f}" for x in vec)
            v = f"[{body}]" if vector else f"{{{body}}}"
            out.append(f"{i}\t{name.decode()}\t{v}\n".encode())
            continue
        if vector:  # pgvector vector_send: dim, unused, float4s
            v = struct.pack(f"!hh{dim}f", dim, 0, *vec)
        else:  # array_send: ndim, has-nulls, element oid (float4), dim, lower bound, elements
            v = struct.pack("!iiiii", 1, 0, 700, dim, 1) + b"".join(
                struct.pack("!if", 4, x) for x in vec
            )
        out.append(
            struct.pack("!hiq", 3, 8, i)
            + struct.pack("!i", len(name))
            + name
            + struct.pack("!i", len(v))
            + v
        )
    return b"".join(out)


BINARY_HEADER = b"PGCOPY\n\xff\r\n\x00" + struct.pack("!ii", 0, 0)
BINARY_TRAILER = struct.pack("!h", -1)


def copy_in(conn: psycopg.Connection, table: str, chunk: bytes, rows: int, binary: bool) -> None:
    """COPY ``rows`` rows (``chunk`` repeated, the last time cut short) into ``table``."""
    with conn.cursor() as cur:
        fmt = " (FORMAT binary)" if binary else ""
        with cur.copy(f"copy {table} from stdin{fmt}") as copy:
            if binary:
                copy.write(BINARY_HEADER)
            left = rows
            while left > 0:
                n = min(left, CHUNK_ROWS)
                copy.write(chunk if n == CHUNK_ROWS else _first_rows(chunk, n, binary))
                left -= n
            if binary:
                copy.write(BINARY_TRAILER)


def _first_rows(chunk: bytes, n: int, binary: bool) -> bytes:
    if not binary:
        return b"".join(chunk.splitlines(keepends=True)[:n])
    pos = 0
    for _ in range(n):
        pos += 2  # field count
        for _ in range(3):
            (size,) = struct.unpack_from("!i", chunk, pos)
            pos += 4 + max(size, 0)
    return chunk[:pos]


def load(dsn: str, *, dim: int, vector: bool) -> None:
    """The point-lookup table and the (empty) streaming and COPY tables."""
    vtype = f"vector({dim})" if vector else "real[]"
    with psycopg.connect(dsn) as conn:
        if vector:
            conn.execute("create extension if not exists vector")
        conn.execute("create table kv (id int primary key, name text)")
        conn.execute("insert into kv select g, 'name ' || g from generate_series(1, 10000) g")
        conn.execute(f"create table stream (id bigint, name text, v {vtype})")
        conn.execute(f"create table copyin (id bigint, name text, v {vtype})")
        conn.commit()


def load_stream(dsn: str, *, rows: int, dim: int, vector: bool) -> None:
    with psycopg.connect(dsn) as conn:
        copy_in(conn, "stream", copy_chunk(dim=dim, vector=vector, binary=False), rows, False)
        conn.commit()


class Target:
    """One server under test: its connection and what it stores vectors as."""

    def __init__(self, name: str, dsn: str, *, vector: bool) -> None:
        self.name = name
        self.dsn = dsn
        self.vector = vector
        self.conn = psycopg.connect(dsn, autocommit=True)
        self.rng = random.Random(1)


Step = Callable[[Target], int]


def round_trips() -> dict[str, Step]:
    def simple(t: Target) -> int:
        t.conn.pgconn.exec_(b"select 1")
        return 1

    def prepared(t: Target) -> int:
        t.conn.execute("select 1", prepare=True).fetchone()
        return 1

    def lookup(t: Target) -> int:
        key = t.rng.randint(1, 10000)
        row = t.conn.execute("select name from kv where id = %s", [key], prepare=True).fetchone()
        assert row == (f"name {key}",), row
        return 1

    return {
        "SELECT 1 simple (round trips/s)": simple,
        "SELECT 1 prepared (round trips/s)": prepared,
        "point lookup by PK (queries/s)": lookup,
    }


def streams(rows: int) -> dict[str, Step]:
    def stream(t: Target, binary: bool) -> int:
        with t.conn.cursor(binary=binary) as cur:
            # PostgreSQL's real[] as text, so that psycopg does not parse the arrays
            cur.execute(f"select id, name, {'v' if t.vector else 'v::text'} from stream")
            n = 0
            while batch := cur.fetchmany(5000):
                n += len(batch)
            assert n == rows, n
            return n

    return {
        f"stream {rows} rows, text (rows/s)": lambda t: stream(t, False),
        f"stream {rows} rows, binary (rows/s)": lambda t: stream(t, True),
    }


def copies(rows: int, dim: int) -> dict[str, tuple[Step, Callable[[Target], object]]]:
    chunks: dict[tuple[bool, bool], bytes] = {}

    def copy(t: Target, binary: bool) -> int:
        key = (t.vector, binary)
        if key not in chunks:
            chunks[key] = copy_chunk(dim=dim, vector=t.vector, binary=binary)
        copy_in(t.conn, "copyin", chunks[key], rows, binary)
        return rows

    def empty(t: Target) -> object:
        return t.conn.execute("truncate copyin")

    return {
        f"COPY FROM STDIN {rows} rows, text (rows/s)": (lambda t: copy(t, False), empty),
        f"COPY FROM STDIN {rows} rows, binary (rows/s)": (lambda t: copy(t, True), empty),
    }


def compare(
    targets: list[Target],
    steps: dict[str, Step] | dict[str, tuple[Step, Callable[[Target], object]]],
    *,
    seconds: float,
    repeat: int,
    out: dict[str, dict[str, float]],
) -> None:
    """Each measure on each server in turn, ``repeat`` times; the best rate of each.

    Alternating servers and keeping the best run keeps the ratio meaningful on a
    machine whose other load comes and goes."""
    for name, step in steps.items():
        for _ in range(repeat):
            for t in targets:
                if isinstance(step, tuple):
                    run, reset = step
                    got = rate_fresh(
                        seconds, lambda t=t, run=run: run(t), lambda t=t, reset=reset: reset(t)
                    )
                else:
                    got = rate(seconds, lambda t=t, step=step: step(t))
                row = out.setdefault(name, {})
                row[t.name] = max(row.get(t.name, 0.0), got)


MEASURES = ("roundtrips", "stream", "copy")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=2.0)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--dim", type=int, default=128)
    parser.add_argument("--repeat", type=int, default=3, help="runs per measure; best is kept")
    parser.add_argument(
        "--only",
        nargs="+",
        choices=MEASURES,
        default=list(MEASURES),
        help="measure only these groups (default: all)",
    )
    args = parser.parse_args()
    if not (PGBIN / "postgres").exists():
        raise SystemExit(f"PostgreSQL 15 not found in {PGBIN} (apt-get install postgresql-15)")
    scratch = Path(tempfile.mkdtemp(prefix="vecgres-wirebench-"))
    os.chmod(scratch, 0o755)
    results: dict[str, dict[str, float]] = {}
    try:
        with vecgres(scratch) as vdsn, postgres(scratch) as pdsn:
            load(vdsn, dim=args.dim, vector=True)
            load(pdsn, dim=args.dim, vector=False)
            targets = [Target("vecgres", vdsn, vector=True), Target("postgres", pdsn, vector=False)]
            try:
                timing = {"seconds": args.seconds, "repeat": args.repeat, "out": results}
                if "roundtrips" in args.only:
                    compare(targets, round_trips(), **timing)  # type: ignore[arg-type]
                # the big table is loaded after the round trips, so that they do not run
                # beside the server's background work on it (vecgres seals segments)
                if "stream" in args.only:
                    for t in targets:
                        load_stream(t.dsn, rows=args.rows, dim=args.dim, vector=t.vector)
                    compare(targets, streams(args.rows), **timing)  # type: ignore[arg-type]
                if "copy" in args.only:
                    compare(targets, copies(args.rows, args.dim), **timing)  # type: ignore[arg-type]
            finally:
                for t in targets:
                    t.conn.close()
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    print(f"{'measure':46} {'vecgres':>12} {'PostgreSQL 15':>14} {'ratio':>7}")
    for name, row in results.items():
        ours, theirs = row["vecgres"], row["postgres"]
        print(f"{name:46} {ours:12.0f} {theirs:14.0f} {ours / theirs:7.2f}")
    print(f"(best of {args.repeat} runs each, servers alternating)")
    print(f"(PostgreSQL streams real[{args.dim}]::text: no pgvector in its install)")


if __name__ == "__main__":
    main()
