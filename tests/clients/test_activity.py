"""pg_stat_activity lists every session of the server; pg_backend_pid is BackendKeyData's pid."""

from __future__ import annotations

import time

import psycopg


def test_pg_stat_activity_lists_every_session(server):
    with (
        psycopg.connect(server.dsn(), autocommit=True, application_name="watcher") as watcher,
        psycopg.connect(server.dsn(), application_name="worker") as worker,
    ):
        worker.execute("select 1")  # opens a transaction: idle in transaction
        mine = watcher.execute("select pg_backend_pid()").fetchone()
        assert mine == (watcher.info.backend_pid,)
        rows = watcher.execute(
            "select pid, datname, usename, application_name, state, backend_type"
            " from pg_stat_activity order by pid"
        ).fetchall()
        assert rows == sorted(
            [
                (
                    watcher.info.backend_pid,
                    "postgres",
                    "postgres",
                    "watcher",
                    "active",
                    "client backend",
                ),
                (
                    worker.info.backend_pid,
                    "postgres",
                    "postgres",
                    "worker",
                    "idle in transaction",
                    "client backend",
                ),
            ]
        )
        # query: the latest statement (the watcher's own is this one, still running)
        watch = (
            "select pid, query, backend_start <= query_start, query_start <= now()"
            " from pg_stat_activity order by pid"
        )
        shown = {pid: rest for pid, *rest in watcher.execute(watch).fetchall()}
        assert shown[worker.info.backend_pid] == ["select 1", True, True]
        assert shown[watcher.info.backend_pid] == [watch, True, True]
        started = watcher.execute(
            "select backend_start from pg_stat_activity where pid = %s", [worker.info.backend_pid]
        ).fetchone()
        assert started is not None
        assert abs(started[0].timestamp() - time.time()) < 60
        worker.execute("select %s::int + 1", [41])  # extended protocol: the statement's text
        query = "select query from pg_stat_activity where pid = %s"
        assert watcher.execute(query, [worker.info.backend_pid]).fetchone() == (
            "select $1::int + 1",
        )
        worker.rollback()
        states = watcher.execute(
            "select application_name, state from pg_stat_activity where pid <> pg_backend_pid()"
        ).fetchall()
        assert states == [("worker", "idle")]
    with psycopg.connect(server.dsn(), autocommit=True) as alone:
        # the server notices the closed connections asynchronously
        deadline = time.monotonic() + 10
        while alone.execute("select count(*) from pg_stat_activity").fetchone() != (1,):
            assert time.monotonic() < deadline, "closed sessions still listed"
            time.sleep(0.05)
        assert alone.execute("select pid from pg_stat_activity").fetchone() == (
            alone.info.backend_pid,
        )
