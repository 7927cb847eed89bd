"""VACUUM, ANALYZE, CHECKPOINT, DISCARD and LOCK through psycopg over a real socket:
tags, notices, what DISCARD ALL resets, errors that leave the connection usable,
LOCK ... NOWAIT between two connections, and the extended protocol."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from wireclient import RunningServer, serving

from vecgres.config import Settings


@pytest.fixture
def server(tmp_path: Path) -> Iterator[RunningServer]:
    """Segments of 100 rows, merged by VACUUM only."""
    settings = Settings(
        port=0,
        fsync=False,
        max_connections=20,
        seal_rows=100,
        compaction_small_rows=10,
        background_compaction=False,
    )
    with serving(tmp_path, settings=settings) as srv:
        yield srv


def test_discard_all_drops_prepared_statements_settings_and_cursors(server):
    with psycopg.connect(server.dsn(), autocommit=True) as conn:
        conn.execute("SELECT %s::int", [1], prepare=True)  # a named protocol statement
        conn.pgconn.prepare(b"mine", b"SELECT 42")
        conn.execute("PREPARE p AS SELECT 2")
        count = "SELECT count(*) FROM pg_prepared_statements"
        assert conn.execute(count).fetchone() == (3,)
        conn.execute("SET work_mem = '1MB'")
        conn.execute("SET application_name = 'pooled'")
        assert conn.info.parameter_status("application_name") == "pooled"
        conn.execute("DECLARE c CURSOR WITH HOLD FOR SELECT 1")
        conn.execute("CREATE SEQUENCE sq")
        conn.execute("SELECT nextval('sq')")
        cur = conn.execute("DISCARD ALL")
        assert cur.statusmessage == "DISCARD ALL"
        assert conn.execute(count).fetchone() == (0,)
        res = conn.pgconn.exec_prepared(b"mine", [])
        assert res.error_field(psycopg.pq.DiagnosticField.SQLSTATE) == b"26000"
        assert res.error_field(psycopg.pq.DiagnosticField.MESSAGE_PRIMARY) == (
            b'prepared statement "mine" does not exist'
        )
        with pytest.raises(psycopg.errors.InvalidSqlStatementName):
            conn.execute("EXECUTE p")
        assert conn.execute("SHOW work_mem").fetchone() == ("4MB",)
        # the reset reported parameter reaches the client (ParameterStatus)
        assert conn.info.parameter_status("application_name") == ""
        with pytest.raises(psycopg.errors.InvalidCursorName, match='cursor "c" does not exist'):
            conn.execute("FETCH c")
        with pytest.raises(psycopg.errors.ObjectNotInPrerequisiteState):
            conn.execute("SELECT lastval()")
        # psycopg forgets its own prepared statements on DISCARD ALL and prepares anew
        for _ in range(3):
            assert conn.execute("SELECT %s::int", [5], prepare=True).fetchone() == (5,)


def test_errors_inside_and_outside_blocks_leave_the_connection_usable(server):
    with psycopg.connect(server.dsn()) as conn:
        conn.execute("CREATE TABLE t (id int)")
        conn.commit()
        for sql, error, message in (
            ("VACUUM t", psycopg.errors.ActiveSqlTransaction, "VACUUM cannot run inside"),
            ("DISCARD ALL", psycopg.errors.ActiveSqlTransaction, "DISCARD ALL cannot run"),
            ("LOCK nosuch", psycopg.errors.UndefinedTable, 'relation "nosuch" does not exist'),
            ("VACUUM (bogus) t", psycopg.errors.SyntaxError, 'unrecognized VACUUM option "bogus"'),
        ):
            conn.execute("SELECT 1")  # psycopg opens the transaction block
            with pytest.raises(error, match=message):
                conn.execute(sql)
            assert conn.info.transaction_status == psycopg.pq.TransactionStatus.INERROR
            conn.rollback()
            assert conn.execute("SELECT count(*) FROM t").fetchone() == (0,)
        conn.execute("ANALYZE t")  # allowed in a block
        conn.execute("CHECKPOINT")
        conn.commit()
    with psycopg.connect(server.dsn(), autocommit=True) as conn:
        with pytest.raises(
            psycopg.errors.NoActiveSqlTransaction,
            match="LOCK TABLE can only be used in transaction blocks",
        ):
            conn.execute("LOCK t")
        assert conn.execute("SELECT 1").fetchone() == (1,)
        # a simple query of several statements is one implicit block
        conn.execute("LOCK t; INSERT INTO t VALUES (1)")
        with pytest.raises(psycopg.errors.ActiveSqlTransaction):
            conn.execute("SELECT 1; VACUUM t")
        assert conn.execute("SELECT count(*) FROM t").fetchone() == (1,)


def test_lock_nowait_between_two_connections(server):
    with (
        psycopg.connect(server.dsn(), autocommit=True) as a,
        psycopg.connect(server.dsn(), autocommit=True) as b,
    ):
        a.execute("CREATE TABLE t (id int)")
        a.execute("BEGIN")
        assert a.execute("LOCK TABLE t IN SHARE MODE").statusmessage == "LOCK TABLE"
        b.execute("BEGIN")
        with pytest.raises(psycopg.errors.LockNotAvailable) as err:
            b.execute("LOCK t IN ROW EXCLUSIVE MODE NOWAIT")
        assert str(err.value) == 'could not obtain lock on relation "t"'
        assert err.value.sqlstate == "55P03"
        b.execute("ROLLBACK")
        # ACCESS SHARE conflicts only with EXCLUSIVE modes vecgres readers never wait on
        b.execute("BEGIN")
        b.execute("LOCK t IN ACCESS SHARE MODE NOWAIT")
        assert b.execute("SELECT count(*) FROM t").fetchone() == (0,)
        # a writer waits for the lock; lock_timeout ends the wait
        b.execute("SET LOCAL lock_timeout = 100")
        with pytest.raises(psycopg.errors.LockNotAvailable, match="lock timeout"):
            b.execute("INSERT INTO t VALUES (1)")
        b.execute("ROLLBACK")
        a.execute("COMMIT")  # the lock ends with its transaction
        b.execute("BEGIN")
        b.execute("LOCK t NOWAIT")
        b.execute("INSERT INTO t VALUES (2)")
        a.execute("BEGIN")
        with pytest.raises(psycopg.errors.LockNotAvailable):
            a.execute("LOCK ONLY t NOWAIT")
        a.execute("ROLLBACK")
        b.execute("COMMIT")
        assert a.execute("SELECT id FROM t").fetchall() == [(2,)]


def test_vacuum_verbose_notices_and_the_extended_protocol(server):
    notices: list[tuple[str, str, str]] = []
    with psycopg.connect(server.dsn(), autocommit=True) as conn:
        conn.add_notice_handler(
            lambda d: notices.append((d.severity_nonlocalized, d.sqlstate, d.message_primary))
        )
        conn.execute("CREATE TABLE t (id int)")
        conn.execute("CREATE VIEW v AS SELECT * FROM t")
        for start in (0, 100):
            conn.execute(
                "INSERT INTO t SELECT g FROM generate_series(%s, %s) g", [start, start + 99]
            )
        conn.execute("DELETE FROM t WHERE id >= 30")
        cur = conn.execute("VACUUM (VERBOSE, ANALYZE) t, v")
        assert cur.statusmessage == "VACUUM"
        assert notices == [
            ("INFO", "00000", 'vacuuming "postgres.public.t"'),
            (
                "INFO",
                "00000",
                'finished vacuuming "postgres.public.t": 170 deleted rows removed, '
                "2 segments rewritten into 1; 1 sealed segments hold 30 rows",
            ),
            ("INFO", "00000", 'analyzing "public.t"'),
            (
                "WARNING",
                "01000",
                'skipping "v" --- cannot vacuum non-tables or special system tables',
            ),
        ]
        # Parse/Bind/Execute: each statement prepared by name, run twice
        for sql, tag in (
            ("VACUUM t", "VACUUM"),
            ("VACUUM FULL", "VACUUM"),
            ("ANALYZE t (id)", "ANALYZE"),
            ("CHECKPOINT", "CHECKPOINT"),
            ("DISCARD PLANS", "DISCARD PLANS"),
        ):
            for _ in range(2):
                assert conn.execute(sql, prepare=True).statusmessage == tag
        with conn.transaction():
            assert conn.execute("LOCK t", prepare=True).statusmessage == "LOCK TABLE"
        with pytest.raises(psycopg.errors.UndefinedTable):
            conn.execute("ANALYZE nosuch", prepare=True)
        assert conn.execute("SELECT count(*), max(id) FROM t").fetchone() == (30, 29)


def test_checkpoint_and_vacuum_need_privileges(server):
    with psycopg.connect(server.dsn(), autocommit=True) as admin:
        admin.execute("CREATE ROLE bob LOGIN")
        admin.execute("CREATE TABLE t (id int)")
        admin.execute("GRANT SELECT ON t TO bob")
    notices: list[str] = []
    with psycopg.connect(server.dsn(user="bob"), autocommit=True) as conn:
        conn.add_notice_handler(lambda d: notices.append(d.message_primary))
        with pytest.raises(psycopg.errors.InsufficientPrivilege) as err:
            conn.execute("CHECKPOINT")
        assert str(err.value) == (
            "must be superuser or have privileges of pg_checkpoint to do CHECKPOINT"
        )
        assert conn.execute("VACUUM t").statusmessage == "VACUUM"
        assert conn.execute("ANALYZE t").statusmessage == "ANALYZE"
        conn.execute("VACUUM ANALYZE t")  # one warning: the skipped VACUUM skips its ANALYZE
        assert notices == [
            'skipping "t" --- only table or database owner can vacuum it',
            'skipping "t" --- only table or database owner can analyze it',
            'skipping "t" --- only table or database owner can vacuum it',
        ]
        conn.execute("BEGIN")
        conn.execute("LOCK t IN ACCESS SHARE MODE")  # SELECT is enough for ACCESS SHARE
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="permission denied for"):
            conn.execute("LOCK t")
        conn.execute("ROLLBACK")
