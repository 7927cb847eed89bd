"""``vecgres serve`` as a process: config file, SIGTERM shutdown, one server per data directory."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest

ROOT = Path(__file__).resolve().parents[2]


def _serve(*argv: str) -> tuple[subprocess.Popen[str], int]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "vecgres", "serve", *argv],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    m = re.search(r"postgresql://127\.0\.0\.1:(\d+)/postgres", line)
    if m is None:
        proc.kill()
        _, err = proc.communicate(timeout=10)
        raise AssertionError(f"no listening line: {line!r} {err}")
    return proc, int(m.group(1))


def _reap(proc: subprocess.Popen[str]) -> None:
    if proc.poll() is None:
        proc.kill()
    proc.communicate(timeout=10)  # also closes the pipes


def _dsn(port: int, **extra: str) -> str:
    parts = {"host": "127.0.0.1", "port": str(port), "user": "postgres", "dbname": "postgres"}
    parts.update(extra)
    return " ".join(f"{k}={v}" for k, v in parts.items())


def test_config_file_sigterm_and_single_owner(tmp_path):
    data = tmp_path / "data"
    conf = tmp_path / "vecgres.conf"
    conf.write_text(
        f"# postgresql.conf style\ndata = '{data}'\nport = 0\nfsync = off\nmax_connections = 7\n"
    )
    proc, port = _serve("--config", str(conf))
    try:
        with psycopg.connect(_dsn(port), autocommit=True) as conn:
            conn.execute("create table kept (id int, v vector(2))")
            conn.execute("insert into kept values (1, '[1,2]'), (2, '[3,4]')")
        idle = psycopg.connect(_dsn(port))
        idle.execute("select 1")  # now idle in a transaction block
        # a second server on the same data directory refuses to start, and says why
        second = subprocess.run(
            [sys.executable, "-m", "vecgres", "serve", "--data", str(data), "--port", "0"],
            capture_output=True,
            text=True,
            cwd=ROOT,
            timeout=60,
        )
        assert second.returncode == 1
        assert "in use by another vecgres server" in second.stderr
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
        _, err = proc.communicate(timeout=5)
        assert "database system is shut down" in err
        with pytest.raises(psycopg.OperationalError):
            idle.execute("select 2")
        idle.close()
    finally:
        _reap(proc)
    # everything committed is there after a restart; the flag wins over the file
    proc, port = _serve("--config", str(conf), "--port", "0")
    try:
        conns = [psycopg.connect(_dsn(port)) for _ in range(7)]
        assert conns[0].execute("select id, v from kept order by id").fetchall() == [
            (1, "[1,2]"),
            (2, "[3,4]"),
        ]
        # max_connections = 7 came from the file
        with pytest.raises(psycopg.OperationalError, match="too many clients"):
            psycopg.connect(_dsn(port))
        for conn in conns:
            conn.close()
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=30) == 0
    finally:
        _reap(proc)


def test_bad_config_file_is_reported(tmp_path):
    conf = tmp_path / "bad.conf"
    conf.write_text("no_such_knob = 3\n")
    out = subprocess.run(
        [sys.executable, "-m", "vecgres", "serve", "--config", str(conf), "--port", "0"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
    )
    assert out.returncode == 2
    assert 'unrecognized configuration parameter "no_such_knob"' in out.stderr
