"""T1 over the wire: SIGKILL a ``vecgres serve`` process while real psycopg
clients run concurrent INSERT (one row and 100-row VALUES), COPY FROM STDIN,
CREATE/DROP INDEX (hnsw and ivfflat) and background sealing and compaction,
plus kNN and COUNT(*) readers. Every third round kills the server at a named
crash point instead (round-robin over the registry).

After each restart: every acknowledged row is there, each unacknowledged
statement is all or nothing, no duplicate or foreign rows, every row's
payload matches its crc, the index set is the last acknowledged DDL's (or the
unknown one's), ``SELECT vecgres_check()`` is clean, index files torn by the
kill or damaged by the test are rebuilt (never loaded: a loaded torn file
would take the server down), exact kNN (``vecgres.enable_ann = off``) equals
numpy on the recovered rows and ANN answers are real rows in true distance
order. The next round's workload must succeed on the recovered server.

Default: 16 kills (about a minute on a busy 2-core box). ``VECGRES_T1_KILLS``
sets the count (1,000 for the long mode), ``VECGRES_RELIABILITY_SCALE``
multiplies it.
"""

from __future__ import annotations

import glob
import json
import os
import random
import re
import signal
import subprocess
import sys
import threading
import time
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import psycopg
import pytest
from harness import Ledger, figures, scaled

from vecgres.storage import fileio

DIM = 16
REPO = Path(__file__).resolve().parents[2]
LISTS = 4
INDEXES = {
    "t_hnsw": "CREATE INDEX t_hnsw ON t USING hnsw (v vector_l2_ops) "
    "WITH (m = 8, ef_construction = 32)",
    "t_ivf": f"CREATE INDEX t_ivf ON t USING ivfflat (v vector_l2_ops) WITH (lists = {LISTS})",
}
# a new data directory once the table holds this many rows (RELIABILITY.md: under 200k)
MAX_ROWS = 100_000


def _kills() -> int:
    return scaled(int(os.environ.get("VECGRES_T1_KILLS", "16")))


# --- the server process --------------------------------------------------------------


@dataclass
class Server:
    proc: subprocess.Popen[str]
    port: int
    started_s: float  # Popen to the listening line: recovery included
    crashpoint: str | None = None

    def dsn(self) -> str:
        return f"host=127.0.0.1 port={self.port} user=postgres dbname=postgres sslmode=disable"

    def kill(self) -> bool:
        """SIGKILL (this process only); True if it had already died at its crash point."""
        died_before = self.proc.poll() is not None
        if not died_before:
            os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.communicate(timeout=30)
        return died_before and self.proc.returncode == -signal.SIGKILL


def _start(conf: Path, crashpoint: str | None = None, skip: int = 0) -> Server | None:
    """The server, listening; None if it died at its crash point before listening
    (recovery or background compaction reached the point first)."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "PYTHONPATH": str(REPO)}
    env.pop("VECGRES_CRASHPOINT", None)
    if crashpoint is not None:
        env["VECGRES_CRASHPOINT"] = crashpoint
        env["VECGRES_CRASHPOINT_SKIP"] = str(skip)
    t0 = time.monotonic()
    proc = subprocess.Popen(
        [sys.executable, "-m", "vecgres", "serve", "--config", str(conf)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        cwd=REPO,
        env=env,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    m = re.search(r"postgresql://127\.0\.0\.1:(\d+)/postgres", line)
    if m is None:
        proc.kill()
        proc.communicate(timeout=30)
        if crashpoint is not None and proc.returncode == -signal.SIGKILL:
            return None
        raise AssertionError(f"vecgres serve did not start: {line!r}")
    return Server(proc, int(m.group(1)), time.monotonic() - t0, crashpoint)


# --- the workload ----------------------------------------------------------------------


def _vec_text(v: np.ndarray) -> str:
    return "[" + ",".join(repr(float(x)) for x in v) + "]"


@dataclass
class Round:
    """What the clients did in one round, shared by the worker threads."""

    ledger: Ledger
    next_rid: int
    rng_seed: int
    lock: threading.Lock = field(default_factory=threading.Lock)
    stop: threading.Event = field(default_factory=threading.Event)
    acks: dict[str, int] = field(default_factory=dict)
    unexpected: list[str] = field(default_factory=list)
    # DDL: the index set before the round, then each statement's effect and status
    ddl: list[tuple[str, str, str]] = field(default_factory=list)  # (name, "create"|"drop", status)
    count_decreases: int = 0

    def rids(self, n: int) -> list[int]:
        with self.lock:
            start = self.next_rid
            self.next_rid += n
        return list(range(start, start + n))

    def ack(self, who: str) -> None:
        with self.lock:
            self.acks[who] = self.acks.get(who, 0) + 1


def _rows(rng: np.random.Generator, rids: list[int]) -> list[tuple[int, int, str]]:
    vecs = rng.standard_normal((len(rids), DIM), dtype=np.float32)
    return [(r, zlib.crc32(v.tobytes()), _vec_text(v)) for r, v in zip(rids, vecs, strict=True)]


def _statement(rnd: Round, who: str, kind: str, n: int, run) -> bool:
    """Run one ledgered write; False once the connection is gone."""
    rids = rnd.rids(n)
    with rnd.lock:
        entry = rnd.ledger.begin("insert", rids)
    try:
        run(rids)
    except psycopg.Error as exc:
        if exc.sqlstate is None:  # the connection broke: the outcome is unknown
            return False
        entry.status = "fail"  # the server answered with an error: nothing committed
        rnd.unexpected.append(f"{kind}: {exc.sqlstate} {exc}")
        return False
    entry.status = "ok"
    rnd.ack(who)
    return True


def _inserter(server: Server, rnd: Round, seed: int) -> None:
    rng = np.random.default_rng(seed)
    try:
        conn = psycopg.connect(server.dsn(), autocommit=True)
    except psycopg.OperationalError:
        return
    with conn:
        while not rnd.stop.is_set():
            if rng.random() < 0.5:

                def one(rids: list[int]) -> None:
                    conn.execute("INSERT INTO t VALUES (%s, %s, %s)", _rows(rng, rids)[0])

                if not _statement(rnd, "insert1", "insert", 1, one):
                    return
            else:

                def many(rids: list[int]) -> None:
                    values = ",".join(f"({r}, {c}, '{v}')" for r, c, v in _rows(rng, rids))
                    conn.execute(f"INSERT INTO t VALUES {values}")

                if not _statement(rnd, "insert100", "insert", 100, many):
                    return


def _copier(server: Server, rnd: Round, seed: int) -> None:
    rng = np.random.default_rng(seed)
    try:
        conn = psycopg.connect(server.dsn(), autocommit=True)
    except psycopg.OperationalError:
        return
    with conn:
        while not rnd.stop.is_set():
            n = int(rng.integers(200, 2001))

            def copy(rids: list[int]) -> None:
                text = "".join(f"{r}\t{c}\t{v}\n" for r, c, v in _rows(rng, rids))
                with conn.cursor().copy("COPY t (rid, crc, v) FROM STDIN") as cp:
                    for lo in range(0, len(text), 65536):  # several CopyData messages
                        cp.write(text[lo : lo + 65536])

            if not _statement(rnd, "copy", "copy", n, copy):
                return


def _indexes(conn: psycopg.Connection) -> set[str]:
    rows = conn.execute("SELECT indexname FROM pg_indexes WHERE tablename = 't'").fetchall()
    return {r[0] for r in rows}


def _ddl(server: Server, rnd: Round, seed: int) -> None:
    rng = random.Random(seed)
    try:
        conn = psycopg.connect(server.dsn(), autocommit=True)
    except psycopg.OperationalError:
        return
    with conn:
        try:
            have = _indexes(conn)
        except psycopg.OperationalError:
            return
        while not rnd.stop.is_set():
            # t_ivf comes and goes; t_hnsw mostly stays, so index files exist at most kills
            if "t_hnsw" not in have:
                name, op = "t_hnsw", "create"
            elif rng.random() < 0.15:
                name, op = "t_hnsw", "drop"
            else:
                name, op = "t_ivf", "drop" if "t_ivf" in have else "create"
            sql = f"DROP INDEX {name}" if op == "drop" else INDEXES[name]
            rnd.ddl.append((name, op, "unknown"))
            try:
                conn.execute(sql)
            except psycopg.Error as exc:
                if exc.sqlstate is not None:
                    rnd.ddl[-1] = (name, op, "fail")
                    rnd.unexpected.append(f"{sql}: {exc.sqlstate} {exc}")
                return
            rnd.ddl[-1] = (name, op, "ok")
            rnd.ack("ddl")
            have ^= {name}
            rnd.stop.wait(rng.uniform(0.05, 0.3))


def _reader(server: Server, rnd: Round, seed: int) -> None:
    rng = np.random.default_rng(seed)
    try:
        conn = psycopg.connect(server.dsn(), autocommit=True)
    except psycopg.OperationalError:
        return
    last = 0
    with conn:
        while not rnd.stop.is_set():
            try:
                (count,) = conn.execute("SELECT count(*) FROM t").fetchone()  # type: ignore[misc]
                if count < last:  # inserts only: a later statement never sees fewer rows
                    rnd.count_decreases += 1
                last = count
                ann = "on" if rng.random() < 0.5 else "off"
                conn.execute(f"SET vecgres.enable_ann = {ann}")
                q = _vec_text(rng.standard_normal(DIM, dtype=np.float32))
                conn.execute("SELECT rid FROM t ORDER BY v <-> %s LIMIT 10", (q,)).fetchall()
            except psycopg.Error as exc:
                if exc.sqlstate is not None:
                    rnd.unexpected.append(f"reader: {exc.sqlstate} {exc}")
                return
            rnd.ack("reader")


WORKERS = (_inserter, _copier, _ddl, _reader)


def _run_round(server: Server, rnd: Round, kill_after: float) -> bool:
    """Run the clients until the kill; True if the server died at its crash point."""
    threads = [
        threading.Thread(target=w, args=(server, rnd, rnd.rng_seed * 10 + i), daemon=True)
        for i, w in enumerate(WORKERS)
    ]
    for t in threads:
        t.start()
    deadline = time.monotonic() + 30
    # a write is acknowledged (the recovered server takes writes again),
    # then the kill comes at a random moment
    while time.monotonic() < deadline and server.proc.poll() is None:
        with rnd.lock:
            if any(rnd.acks.get(w, 0) for w in ("insert1", "insert100", "copy")):
                break
        time.sleep(0.01)
    end = time.monotonic() + kill_after
    while time.monotonic() < end and server.proc.poll() is None:
        time.sleep(0.01)
    at_point = server.kill()
    rnd.stop.set()
    for t in threads:
        t.join(30)
        assert not t.is_alive(), "a client thread hung after the kill"
    return at_point


# --- verification ------------------------------------------------------------------------


def _index_file_state(root: str) -> tuple[int, int]:
    """(healthy, bad) index files: bad = no sum file, or size/crc not the sum's."""
    healthy = bad = 0
    for path in glob.glob(os.path.join(root, "indexes", "*", "*.faiss")):
        try:
            summary = json.loads(Path(path + ".sum").read_bytes())
            data = Path(path).read_bytes()
        except (OSError, ValueError):
            bad += 1
            continue
        if summary.get("nbytes") == len(data) and summary.get("crc32") == zlib.crc32(data):
            healthy += 1
        else:
            bad += 1
    return healthy, bad


def _damage_index_files(root: str, rng: random.Random) -> int:
    """Tear what a power cut could tear: truncate one index file, flip a byte in
    another, leave a half-written temp file. Returns how many files were damaged."""
    files = sorted(glob.glob(os.path.join(root, "indexes", "*", "*.faiss")))
    rng.shuffle(files)
    damaged = 0
    for i, path in enumerate(files[:2]):
        data = bytearray(Path(path).read_bytes())
        if not data:
            continue
        if i == 0:
            data = data[: len(data) // 2]
        else:
            data[rng.randrange(len(data))] ^= 0xFF
        Path(path).write_bytes(bytes(data))
        damaged += 1
    if files:
        Path(files[0] + ".tmp").write_bytes(b"\x00" * 100)  # an interrupted write
        damaged += 1
    return damaged


def _expected_indexes(before: set[str], ddl: list[tuple[str, str, str]]) -> list[set[str]]:
    """Index sets recovery may show: after the last acknowledged DDL, or after the
    unknown one that followed it."""
    state = set(before)
    allowed: list[set[str]] = []
    for name, op, status in ddl:
        nxt = state | {name} if op == "create" else state - {name}
        if status == "ok":
            state = nxt
        elif status == "unknown":
            allowed.append(nxt)
    return [state, *allowed]


@dataclass
class Totals:
    acked_rows_lost: int = 0
    atomicity_violations: int = 0
    duplicate_rows: int = 0
    phantom_rows: int = 0
    payload_mismatches: int = 0
    ddl_violations: int = 0
    check_failures: int = 0
    count_decreases: int = 0
    index_files_torn_by_kill: int = 0
    index_files_damaged: int = 0
    index_files_bad_after: int = 0
    exact_knn_mismatches: int = 0
    ann_order_violations: int = 0
    ann_recall_min: float = 1.0


def _fetch(conn: psycopg.Connection) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every row, vectors in binary (pgvector's send format: int16 dim, int16 unused,
    big-endian float32s), with whether its payload matches its crc."""
    rows = conn.cursor(binary=True).execute("SELECT rid, crc, v FROM t").fetchall()
    rids = np.array([r[0] for r in rows], dtype=np.int64)
    raw = b"".join(bytes(r[2][4:]) for r in rows)
    vecs = np.frombuffer(raw, dtype=">f4").astype(np.float32).reshape(-1, DIM)
    ok = np.array(
        [zlib.crc32(v.tobytes()) == r[1] for v, r in zip(vecs, rows, strict=True)], dtype=bool
    )
    return rids, ok, vecs


def _wait_indexes_healthy(root: str, timeout: float = 60.0) -> int:
    """Bad index files left once the server had time to verify and rebuild them."""
    deadline = time.monotonic() + timeout
    while True:
        _healthy, bad = _index_file_state(root)
        tmp = glob.glob(os.path.join(root, "indexes", "*", "*.tmp"))
        if (bad == 0 and not tmp) or time.monotonic() > deadline:
            return bad + len(tmp)
        time.sleep(0.1)


def _verify(
    server: Server,
    root: str,
    ledger: Ledger,
    before: set[str],
    ddl: list[tuple[str, str, str]],
    probes: np.ndarray,
    totals: Totals,
    any_indexes: bool = False,
) -> int:
    with psycopg.connect(server.dsn(), autocommit=True) as conn:
        rids, ok, vecs = _fetch(conn)
        outcome = ledger.verify(rids, ok)
        for key in (
            "acked_rows_lost",
            "atomicity_violations",
            "duplicate_rows",
            "phantom_rows",
            "payload_mismatches",
        ):
            setattr(totals, key, getattr(totals, key) + getattr(outcome, key))
        got = _indexes(conn)
        if not any_indexes:
            totals.ddl_violations += got not in _expected_indexes(before, ddl)
        totals.index_files_bad_after += _wait_indexes_healthy(root)
        (report,) = conn.execute("SELECT vecgres_check()").fetchone()  # type: ignore[misc]
        totals.check_failures += not report.startswith("ok")
        assert report.startswith("ok"), report
        assert outcome.clean, outcome
        # exact kNN = numpy; ANN (exhaustive ivfflat probes, wide hnsw beam) = real rows in order
        conn.execute(f"SET ivfflat.probes = {LISTS}")
        conn.execute("SET hnsw.ef_search = 200")
        row_of = {int(r): i for i, r in enumerate(rids)}
        for q in probes:
            dist = np.linalg.norm(vecs.astype(np.float64) - q.astype(np.float64), axis=1)
            want = rids[np.argsort(dist, kind="stable")[:10]].tolist()
            lit = _vec_text(q)
            conn.execute("SET vecgres.enable_ann = off")
            exact = [
                r[0] for r in conn.execute(f"SELECT rid FROM t ORDER BY v <-> '{lit}' LIMIT 10")
            ]
            totals.exact_knn_mismatches += exact != want
            conn.execute("SET vecgres.enable_ann = on")
            ann = [r[0] for r in conn.execute(f"SELECT rid FROM t ORDER BY v <-> '{lit}' LIMIT 10")]
            known = [row_of.get(r) for r in ann]
            if None in known or len(set(ann)) != len(ann):
                totals.ann_order_violations += 1
                continue
            d = dist[known]
            totals.ann_order_violations += int(np.any(np.diff(d) < -1e-4))
            if len(want):
                totals.ann_recall_min = min(
                    totals.ann_recall_min, len(set(ann) & set(want)) / len(want)
                )
    return len(rids)


# --- the loop -------------------------------------------------------------------------------


def _conf(scratch: Path, data: Path) -> Path:
    conf = scratch / "vecgres.conf"
    conf.write_text(
        f"data = '{data}'\nport = 0\nseal_rows = 300\ncompaction_small_rows = 2000\n"
        "background_compaction = on\nann_exact_max_rows = 0\n"
    )
    return conf


def _started(conf: Path) -> Server:
    server = _start(conf)
    assert server is not None
    return server


def _fresh(conf: Path) -> Server:
    server = _started(conf)
    with psycopg.connect(server.dsn(), autocommit=True) as conn:
        conn.execute(f"CREATE TABLE t (rid bigint, crc bigint, v vector({DIM}))")
        conn.execute(INDEXES["t_hnsw"])
    return server


@pytest.fixture
def scratch_dir(tmp_path: Path) -> Iterator[Path]:
    # fsync stays on; in RAM it costs little, and the server runs as it would in production
    shm = Path("/dev/shm")
    if shm.is_dir() and os.access(shm, os.W_OK):
        import shutil
        import tempfile

        path = Path(tempfile.mkdtemp(prefix="vecgres-t1-", dir=shm))
        try:
            yield path
        finally:
            shutil.rmtree(path, ignore_errors=True)
    else:
        yield tmp_path


@pytest.mark.crash
@pytest.mark.timeout(max(600, 15 * _kills()))  # about 5 s a kill on a busy box
def test_sigkill_server_loop(scratch_dir: Path) -> None:
    kills = _kills()
    rng = random.Random(7)
    probes = np.random.default_rng(9).standard_normal((5, DIM), dtype=np.float32)
    generation = 0
    data = scratch_dir / f"data{generation}"
    conf = _conf(scratch_dir, data)
    server = _fresh(conf)
    totals = Totals()
    ledger = Ledger()
    next_rid = 0
    recovery_s: list[float] = []
    acked = point_kills = rows = 0
    points_hit: set[str] = set()
    acks_by_kind: dict[str, int] = {}
    try:
        for k in range(kills):
            point = None
            if k % 3 == 2:  # a named crash point, round-robin over the registry
                point = fileio.CRASHPOINTS[(k // 3) % len(fileio.CRASHPOINTS)]
                server.kill()  # the verified server gives way to one armed at the point
                armed = _start(conf, point, rng.randrange(3))
                if armed is None:  # killed at the point while starting: recover, verify
                    point_kills += 1
                    points_hit.add(point)
                    server = _started(conf)
                    recovery_s.append(server.started_s)
                    rows = _verify(
                        server, str(data / "postgres"), ledger, set(), [], probes, totals, True
                    )
                    continue
                server = armed
            with psycopg.connect(server.dsn(), autocommit=True) as conn:
                before = _indexes(conn)
            rnd = Round(ledger, next_rid, k)
            # an armed server gets up to 4 s to reach its point before the plain SIGKILL
            at_point = _run_round(server, rnd, 4.0 if point else rng.uniform(0.2, 1.5))
            assert not rnd.unexpected, rnd.unexpected
            if point is None:
                assert not at_point
                # the recovered server took writes again (RELIABILITY.md T1 (8))
                assert any(rnd.acks.get(w) for w in ("insert1", "insert100", "copy")), rnd.acks
            for who, n in rnd.acks.items():
                acks_by_kind[who] = acks_by_kind.get(who, 0) + n
            point_kills += at_point
            if at_point and point is not None:
                points_hit.add(point)
            next_rid = rnd.next_rid
            acked = sum(e.status == "ok" for e in ledger.entries)
            totals.count_decreases += rnd.count_decreases
            torn = _index_file_state(str(data / "postgres"))[1]
            totals.index_files_torn_by_kill += torn + len(
                glob.glob(os.path.join(data, "postgres", "indexes", "*", "*.tmp"))
            )
            if k % 3 == 1:
                totals.index_files_damaged += _damage_index_files(str(data / "postgres"), rng)
            server = _started(conf)
            recovery_s.append(server.started_s)
            rows = _verify(server, str(data / "postgres"), ledger, before, rnd.ddl, probes, totals)
            if rows > MAX_ROWS:
                server.kill()
                generation += 1
                data = scratch_dir / f"data{generation}"
                conf = _conf(scratch_dir, data)
                server = _fresh(conf)
                ledger = Ledger()
    finally:
        server.kill()
    figures(
        "crash.server",
        kills=kills,
        crashpoint_kills=point_kills,
        crashpoints_hit=f"{len(points_hit)}/{len(fileio.CRASHPOINTS)}",
        acked_statements=acked,
        acks="/".join(
            f"{w}:{acks_by_kind.get(w, 0)}"
            for w in ("insert1", "insert100", "copy", "ddl", "reader")
        ),
        rows=rows,
        acked_rows_lost=totals.acked_rows_lost,
        atomicity_violations=totals.atomicity_violations,
        duplicate_rows=totals.duplicate_rows,
        phantom_rows=totals.phantom_rows,
        payload_mismatches=totals.payload_mismatches,
        ddl_violations=totals.ddl_violations,
        check_failures=totals.check_failures,
        count_decreases=totals.count_decreases,
        index_files_torn_by_kill=totals.index_files_torn_by_kill,
        index_files_damaged=totals.index_files_damaged,
        index_files_bad_after=totals.index_files_bad_after,
        exact_knn_mismatches=totals.exact_knn_mismatches,
        ann_order_violations=totals.ann_order_violations,
        ann_recall_min=round(totals.ann_recall_min, 3),
        recovery_seconds_p50=round(float(np.median(recovery_s)), 3),
        recovery_seconds_max=round(max(recovery_s), 3),
    )
    assert all(acks_by_kind.get(w) for w in ("insert1", "insert100", "copy", "ddl"))
    assert totals.ddl_violations == 0
    assert totals.count_decreases == 0
    assert totals.index_files_bad_after == 0
    assert totals.exact_knn_mismatches == 0
    assert totals.ann_order_violations == 0
    assert totals.ann_recall_min >= 0.8
