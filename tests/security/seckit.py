"""Shared helpers of the security tests: a psycopg connection per role and the 42501 check."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import psycopg
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "server"))
from wireclient import Raw, RunningServer, fields, serving, start_server

__all__ = [
    "RunningServer",
    "connect",
    "denied",
    "psql",
    "refused",
    "serving",
    "start_server",
    "startup_error",
]


def connect(srv: RunningServer, user: str = "postgres", **extra: Any) -> psycopg.Connection[Any]:
    return psycopg.connect(srv.dsn(user=user, **extra), autocommit=True)


def denied(conn: psycopg.Connection[Any], sql: str, message: str, state: str = "42501") -> None:
    """``sql`` fails with ``state`` and exactly ``message``; the connection stays usable."""
    with pytest.raises(psycopg.Error) as info:
        conn.execute(sql)
    assert (info.value.sqlstate, info.value.diag.message_primary) == (state, message), sql
    assert conn.execute("SELECT 1").fetchone() == (1,)


def psql(srv: RunningServer, command: str, user: str = "postgres", dbname: str = "postgres") -> str:
    """psql's output for one backslash command or statement (no .psqlrc, default format)."""
    out = subprocess.run(
        ["psql", srv.dsn(user=user, dbname=dbname), "-X", "-c", command],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert out.returncode == 0, out.stderr
    return out.stdout


def startup_error(srv: RunningServer, user: str, dbname: str) -> dict[str, str]:
    """The ErrorResponse fields a plain (no TLS) startup as ``user`` gets, read off the wire."""
    raw = Raw(srv.port)
    try:
        errors = [
            fields(body) for kind, body in raw.startup(user=user, database=dbname) if kind == "E"
        ]
    finally:
        raw.close()
    assert errors, f"{user}@{dbname} was let in"
    return errors[0]


def refused(srv: RunningServer, user: str, dbname: str, sslmode: str = "disable") -> str:
    """What psql/libpq print for a refused connection (from the FATAL on)."""
    with pytest.raises(psycopg.OperationalError) as info:
        psycopg.connect(srv.dsn(user=user, dbname=dbname, sslmode=sslmode))
    return str(info.value).split(" failed: ")[-1]
