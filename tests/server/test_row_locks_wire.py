"""SELECT … FOR UPDATE / SHARE between two psycopg connections: the lock is taken
before the snapshot and held to the end of the transaction; NOWAIT and SKIP LOCKED
answer at once (vecgres locks whole tables: sql/row_locks.py)."""

from __future__ import annotations

import threading

import psycopg
import pytest


@pytest.fixture
def dsn(engine_server) -> str:
    with psycopg.connect(engine_server.dsn(), autocommit=True) as conn:
        conn.execute("CREATE TABLE jobs (id int PRIMARY KEY, n int, state text)")
        conn.execute("INSERT INTO jobs VALUES (1, 1, 'new'), (2, 2, 'new')")
    return engine_server.dsn()


def test_nowait_skip_locked_and_plain_readers(dsn):
    with psycopg.connect(dsn) as a, psycopg.connect(dsn, autocommit=True) as b:
        assert a.execute("SELECT id FROM jobs WHERE id = 1 FOR UPDATE").fetchall() == [(1,)]
        with pytest.raises(psycopg.errors.LockNotAvailable) as exc:
            b.execute("SELECT id FROM jobs FOR UPDATE NOWAIT")
        assert exc.value.diag.message_primary == 'could not obtain lock on row in relation "jobs"'
        # the other connection stays usable, and readers without the clause never wait
        cur = b.execute("SELECT id FROM jobs ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED")
        assert cur.fetchall() == []
        assert b.execute("SELECT count(*) FROM jobs").fetchone() == (2,)
        a.rollback()
        cur = b.execute("SELECT id FROM jobs ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED")
        assert cur.fetchall() == [(1,)]
        # autocommit: the statement's lock ended with it
        assert a.execute("SELECT id FROM jobs FOR SHARE NOWAIT").fetchall() == [(1,), (2,)]
        a.rollback()


def test_a_waiting_locker_reads_the_committed_update(dsn):
    got: list[object] = []
    with psycopg.connect(dsn) as a, psycopg.connect(dsn) as b:
        a.execute("SELECT n FROM jobs WHERE id = 1 FOR UPDATE")

        def second() -> None:
            got.append(b.execute("SELECT n FROM jobs WHERE id = 1 FOR UPDATE").fetchone())
            b.execute("UPDATE jobs SET n = n + 1 WHERE id = 1")
            b.commit()

        waiter = threading.Thread(target=second)
        waiter.start()
        waiter.join(0.5)
        assert waiter.is_alive()  # b waits for a's lock
        a.execute("UPDATE jobs SET n = n + 10 WHERE id = 1")
        a.commit()
        waiter.join(30)
        assert not waiter.is_alive()
        assert got == [(11,)]  # the row as a committed it, not b's older snapshot
        assert a.execute("SELECT n FROM jobs WHERE id = 1").fetchone() == (12,)
        a.rollback()
