"""T12: statement_timeout cancels a slow query inside DuckDB with 57014 soon
after the deadline, and a query over the per-query memory budget fails with
53200 instead of the process dying; the session keeps working after both."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from harness import figures

import vecgres
from vecgres.errors import VecgresError

SLOW = (
    "SELECT count(*) FROM generate_series(1, 100000000) a, generate_series(1, 1000) b "
    "WHERE a * b % 7 = 3"
)
BIG_SORT = (
    "SELECT count(*) FROM (SELECT md5(i::text) || md5((i + 1)::text) AS m "
    "FROM generate_series(1, 800000) i ORDER BY m)"
)


def _run(cur, sql: str) -> list[tuple[object, ...]]:  # type: ignore[no-untyped-def]
    cur.execute(sql)
    rows: list[tuple[object, ...]] = cur.fetchall()
    return rows


@pytest.fixture
def cur(tmp_path: Path) -> Iterator[object]:
    con = vecgres.connect(str(tmp_path / "db"), query_memory_limit_bytes=16 * 1024 * 1024)
    con.autocommit = True
    yield con.cursor()
    con.close()


def test_statement_timeout_cancels_inside_duckdb(cur) -> None:  # type: ignore[no-untyped-def]
    cur.execute("SET statement_timeout = 200")
    overshoot: list[float] = []
    for _ in range(3):
        start = time.monotonic()
        with pytest.raises(VecgresError) as info:
            _run(cur, SLOW)
        overshoot.append((time.monotonic() - start) * 1000 - 200)
        assert (info.value.code, info.value.message) == (
            "57014",
            "canceling statement due to statement timeout",
        )
    cur.execute("SET statement_timeout = 0")
    cur.execute("SELECT 41 + 1")
    assert cur.fetchall() == [(42,)]
    figures("limits.timeout", runs=3, overshoot_ms_max=round(max(overshoot)))


def test_timeout_of_a_finished_statement_does_not_cancel_the_next(cur) -> None:  # type: ignore[no-untyped-def]
    # 1 s, not less: on a loaded machine SELECT 2 itself may take tens of ms
    cur.execute("SET statement_timeout = 1000")
    cur.execute("SELECT 1")
    assert cur.fetchall() == [(1,)]
    time.sleep(1.1)  # the first statement's timer fired while idle
    cur.execute("SELECT 2")
    assert cur.fetchall() == [(2,)]


def test_memory_limit_is_out_of_memory_not_a_dead_process(cur) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(VecgresError) as info:
        _run(cur, BIG_SORT)
    assert info.value.code == "53200"
    assert info.value.message == "out of memory"
    cur.execute("SELECT count(*) FROM generate_series(1, 1000)")
    assert cur.fetchall() == [(1000,)]
    figures("limits.memory", out_of_memory=1, oom_kills=0)
