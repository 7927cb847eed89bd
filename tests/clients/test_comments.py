"""COMMENT ON over a socket: psql's \\d+ and \\dt+ show them, and they survive a restart."""

from __future__ import annotations

import shutil
import subprocess

import psycopg
import pytest
from wireclient import start_server

pytestmark = pytest.mark.skipif(shutil.which("psql") is None, reason="psql not installed")


def _psql(port: int, command: str) -> list[str]:
    conn = f"host=127.0.0.1 port={port} user=postgres dbname=postgres sslmode=disable"
    done = subprocess.run(
        ["psql", conn, "-X", "-c", command], capture_output=True, text=True, timeout=30
    )
    assert done.stderr == "", done.stderr
    return [line.rstrip() for line in done.stdout.splitlines()]


# PostgreSQL 15's \d+ for the same table and comments (reference server)
DESCRIBE_PLUS = [
    '                                          Table "public.notes"',
    " Column |  Type  | Collation | Nullable | Default | Storage  | Compression | Stats target |"
    " Description",
    "--------+--------+-----------+----------+---------+----------+-------------+--------------+"
    "-------------",
    " id     | bigint |           | not null |         | plain    |             |              |",
    " body   | text   |           | not null |         | extended |             |              |"
    " the text",
    "Indexes:",
    '    "notes_pkey" PRIMARY KEY, btree (id)',
    "Access method: heap",
    "",
]


def test_comments_in_psql_and_after_restart(tmp_path):
    srv = start_server(tmp_path)
    try:
        with psycopg.connect(srv.dsn(), autocommit=True) as conn:
            conn.execute("create table notes (id bigint primary key, body text not null)")
            conn.execute("comment on table notes is 'short notes'")
            conn.execute("comment on column notes.body is 'the text'")
            with pytest.raises(psycopg.errors.UndefinedColumn):
                conn.execute("comment on column notes.nope is 'x'")
        assert _psql(srv.port, "\\d+ notes") == [line.rstrip() for line in DESCRIBE_PLUS]
        listing = _psql(srv.port, "\\dt+")
        assert listing[-3].endswith("| short notes")
        assert listing[-2] == "(1 row)"
    finally:
        srv.stop()
    srv = start_server(tmp_path)
    try:
        with psycopg.connect(srv.dsn(), autocommit=True) as conn:
            row = conn.execute(
                "select obj_description('notes'::regclass, 'pg_class'),"
                " col_description('notes'::regclass, 2), col_description('notes'::regclass, 1)"
            ).fetchone()
            assert row == ("short notes", "the text", None)
    finally:
        srv.stop()
