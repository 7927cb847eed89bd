"""The T5 watch (t5_plugin.py) itself: quiet on the real engine, loud when fsync is skipped."""

from __future__ import annotations

from pathlib import Path

import pytest
from harness import figures
from t5_plugin import AckWatch

import vecgres
from vecgres.storage import fileio


def _workload(path: Path) -> None:
    conn = vecgres.connect(str(path))
    cur = conn.cursor()
    cur.execute("CREATE TABLE t (id int, v text)")
    for i in range(20):
        cur.execute("INSERT INTO t VALUES (%s, %s)", (i, str(i)))
        conn.commit()
    cur.execute("UPDATE t SET v = 'x' WHERE id < 5")
    conn.commit()
    cur.execute("SELECT count(*) FROM t WHERE v = 'x'")
    assert cur.fetchall() == [(5,)]
    conn.close()


def test_engine_acknowledges_after_fsync(tmp_path: Path) -> None:
    with AckWatch() as watch:
        _workload(tmp_path / "db")
    early = watch.early()
    figures("t5_watch", acks=len(watch.acks), acks_before_fsync=len(early))
    assert len(watch.acks) >= 21
    assert early == []


def test_watch_catches_a_skipped_fsync(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # an fsync that does nothing and leaves no trace: every acknowledgement is early
    monkeypatch.setattr(fileio, "_fsync_fd", lambda fd, path: None)
    with AckWatch() as watch:
        _workload(tmp_path / "db")
    assert len(watch.acks) >= 21
    assert len(watch.early()) == len(watch.acks)
