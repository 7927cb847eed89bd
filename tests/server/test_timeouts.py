"""Cancel, statement_timeout, idle_in_transaction_session_timeout and max_connections
against the real engine."""

from __future__ import annotations

import logging
import struct
import threading
import time

import psycopg
import pytest
from wireclient import Raw, fields, msg, start_server

from vecgres.config import Settings

# a DuckDB computation of several seconds: no batch is produced until it ends
# (cancel_safe: psycopg's blocking cancel() holds the GIL that this in-process server needs)
SLOW = "select count(*) from generate_series(1, 50000000) a where md5(a::text) like 'abc%'"


def test_statement_timeout_interrupts_a_long_query(engine_server):
    with psycopg.connect(engine_server.dsn(), autocommit=True) as conn:
        conn.execute("set statement_timeout = 200")
        start = time.monotonic()
        with pytest.raises(psycopg.errors.QueryCanceled) as exc:
            conn.execute(SLOW)
        assert time.monotonic() - start < 3
        assert exc.value.diag.message_primary == "canceling statement due to statement timeout"
        assert conn.execute("select 41 + 1").fetchone() == (42,)
        conn.execute("reset statement_timeout")
        assert conn.execute("select count(*) from generate_series(1, 10)").fetchone() == (10,)


def test_cancel_request_interrupts_a_long_query(engine_server):
    with psycopg.connect(engine_server.dsn(), autocommit=True) as conn:
        timer = threading.Timer(0.3, conn.cancel_safe)
        timer.start()
        start = time.monotonic()
        with pytest.raises(psycopg.errors.QueryCanceled) as exc:
            conn.execute(SLOW)
        timer.join()
        assert time.monotonic() - start < 3
        assert exc.value.diag.message_primary == "canceling statement due to user request"
        assert conn.execute("select 'still here'").fetchone() == ("still here",)


def test_cancel_inside_transaction_fails_the_block(engine_server):
    with psycopg.connect(engine_server.dsn()) as conn:
        conn.execute("create table c (x int)")
        conn.commit()
        conn.execute("insert into c values (1)")
        timer = threading.Timer(0.3, conn.cancel_safe)
        timer.start()
        with pytest.raises(psycopg.errors.QueryCanceled):
            conn.execute(SLOW)
        timer.join()
        with pytest.raises(psycopg.errors.InFailedSqlTransaction):
            conn.execute("select 1")
        conn.rollback()
        assert conn.execute("select count(*) from c").fetchone() == (0,)


def test_idle_in_transaction_timeout_closes_the_connection(engine_server):
    raw = Raw(engine_server.port)
    raw.startup()
    raw.send(msg("Q", b"set idle_in_transaction_session_timeout = 200\0"))
    raw.until("Z")
    raw.send(msg("Q", b"begin\0"))
    assert raw.until("Z")[-1] == ("Z", b"T")
    start = time.monotonic()
    error = raw.message()
    assert error is not None
    assert error[0] == "E"
    assert time.monotonic() - start >= 0.15
    f = fields(error[1])
    assert (f["S"], f["C"], f["M"]) == (
        "FATAL",
        "25P03",
        "terminating connection due to idle-in-transaction timeout",
    )
    assert raw.closed()
    # outside a transaction block the timeout does not apply
    with psycopg.connect(engine_server.dsn(), autocommit=True) as conn:
        conn.execute("set idle_in_transaction_session_timeout = 100")
        time.sleep(0.3)
        assert conn.execute("select 1").fetchone() == (1,)


def test_max_connections_real_engine(tmp_path):
    srv = start_server(tmp_path, settings=Settings(port=0, fsync=False, max_connections=2))
    try:
        first = psycopg.connect(srv.dsn())
        second = psycopg.connect(srv.dsn())
        with pytest.raises(psycopg.OperationalError, match="sorry, too many clients already"):
            psycopg.connect(srv.dsn())
        first.close()
        deadline = time.monotonic() + 5
        while True:  # the server notices the close asynchronously
            try:
                third = psycopg.connect(srv.dsn())
                break
            except psycopg.OperationalError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        assert third.execute("select 3").fetchone() == (3,)
        third.close()
        second.close()
    finally:
        srv.stop()


def test_shutdown_cancels_a_running_statement(tmp_path):
    srv = start_server(tmp_path)
    stopped = False
    try:
        conn = psycopg.connect(srv.dsn(), autocommit=True)
        errors: list[BaseException] = []

        def run() -> None:
            try:
                conn.execute(SLOW)
            except psycopg.Error as exc:
                errors.append(exc)

        worker = threading.Thread(target=run)
        worker.start()
        time.sleep(0.3)
        start = time.monotonic()
        srv.stop()
        stopped = True
        worker.join(10)
        assert time.monotonic() - start < 5
        assert len(errors) == 1
        assert isinstance(errors[0], psycopg.errors.AdminShutdown)
        assert errors[0].diag.message_primary == (
            "terminating connection due to administrator command"
        )
        conn.close()
    finally:
        if not stopped:
            srv.stop()


def test_authentication_timeout_closes_without_a_message(tmp_path, caplog):
    # PostgreSQL ends a backend whose client stalls in the startup exchange and tells
    # only its log; the client sees the connection close, with no ErrorResponse
    caplog.set_level(logging.INFO, logger="vecgres.server")
    srv = start_server(tmp_path, settings=Settings(port=0, fsync=False, authentication_timeout_s=1))
    try:
        with psycopg.connect(srv.dsn(), autocommit=True) as conn:  # the first one warms up
            assert conn.execute("select 1").fetchone() == (1,)
        raw = Raw(srv.port)
        raw.send(struct.pack(">i", 40) + struct.pack(">i", 3 << 16))  # a startup cut short
        start = time.monotonic()
        assert raw.closed()
        assert raw.buf == b""
        assert 0.5 < time.monotonic() - start < 4.5
        assert "canceling authentication due to timeout" in caplog.text
        assert "internal error" not in caplog.text
        with psycopg.connect(srv.dsn(), autocommit=True) as conn:
            assert conn.execute("select 2").fetchone() == (2,)
    finally:
        srv.stop()
