"""EXPLAIN over the wire as psql, ORMs' ``.explain()`` and BI tools run it: any
statement, PostgreSQL's node names and options; ANALYZE of a write runs it."""

from __future__ import annotations

import json
from pathlib import Path

import psycopg
import pytest
from wireclient import serving

from vecgres.config import Settings


@pytest.fixture
def conn(tmp_path: Path):
    with (
        serving(tmp_path, settings=Settings(port=0, fsync=False)) as srv,
        psycopg.connect(srv.dsn(), autocommit=True) as c,
    ):
        c.execute("CREATE EXTENSION IF NOT EXISTS vector")
        c.execute("CREATE TABLE t (id int PRIMARY KEY, cat int, v vector(2))")
        c.execute("CREATE TABLE c (cat int, name text)")
        c.execute(
            "INSERT INTO t SELECT i, i % 4, ARRAY[i, 0]::vector(2) "
            "FROM generate_series(1, 40) AS g(i)"
        )
        c.execute("INSERT INTO c VALUES (0, 'zero'), (1, 'one')")
        yield c


def _plan(conn: psycopg.Connection, sql: str, params: tuple[object, ...] = ()) -> list[str]:
    return [r[0] for r in conn.execute(sql, params).fetchall()]


def test_explain_point_query_with_parameter(conn: psycopg.Connection) -> None:
    # a prepared statement with a bound parameter, as an ORM sends it
    plan = _plan(conn, "EXPLAIN SELECT * FROM t WHERE id = %s", (7,))
    assert plan == ["Seq Scan on t", "  Filter: (id = 7)"]


def test_explain_join_aggregate(conn: psycopg.Connection) -> None:
    plan = _plan(
        conn,
        "EXPLAIN (COSTS OFF) SELECT c.name, count(*) FROM t JOIN c ON t.cat = c.cat "
        "GROUP BY c.name ORDER BY c.name",
    )
    assert plan[0] == "Sort"
    assert plan[1] == "  Sort Key: c.name"
    assert plan[2] == "  ->  HashAggregate"
    assert plan[3] == "        Group Key: c.name"
    assert plan[4].strip() == "->  Hash Join"
    assert plan[5].strip() == "Hash Cond: (t.cat = c.cat)"
    assert [line.strip() for line in plan[6:]] == [
        "->  Seq Scan on t",
        "->  Hash",
        "->  Seq Scan on c",
    ]


def test_explain_analyze_runs_writes(conn: psycopg.Connection) -> None:
    plan = _plan(conn, "EXPLAIN ANALYZE DELETE FROM t WHERE cat = 3")
    assert plan[0].startswith("Delete on t (actual time=")
    assert plan[0].endswith(" rows=0 loops=1)")
    assert plan[1].startswith("  ->  Seq Scan on t (actual time=")
    assert plan[1].endswith(" rows=10 loops=1)")
    assert plan[2:4] == ["        Filter: (cat = 3)", "        Rows Removed by Filter: 30"]
    assert plan[-2].startswith("Planning Time: ")
    assert plan[-2].endswith(" ms")
    assert plan[-1].startswith("Execution Time: ")
    assert plan[-1].endswith(" ms")
    assert conn.execute("SELECT count(*) FROM t").fetchone() == (30,)
    # without ANALYZE nothing runs
    _plan(conn, "EXPLAIN UPDATE t SET cat = 9")
    assert conn.execute("SELECT count(*) FROM t WHERE cat = 9").fetchone() == (0,)
    plan = _plan(conn, "EXPLAIN (ANALYZE, TIMING OFF, SUMMARY OFF) UPDATE t SET cat = 9")
    assert plan == [
        "Update on t (actual rows=0 loops=1)",
        "  ->  Seq Scan on t (actual rows=30 loops=1)",
    ]
    assert conn.execute("SELECT count(*) FROM t WHERE cat = 9").fetchone() == (30,)


def test_explain_json_and_range_filter(conn: psycopg.Connection) -> None:
    (doc,) = conn.execute(
        "EXPLAIN (FORMAT JSON, ANALYZE) SELECT id FROM t WHERE cat = 1 ORDER BY id LIMIT 2"
    ).fetchone()
    parsed = json.loads(doc) if isinstance(doc, str) else doc
    plan = parsed[0]["Plan"]
    assert plan["Node Type"] == "Limit"
    assert plan["Actual Rows"] == 2
    assert plan["Plans"][0]["Node Type"] == "Sort"
    assert plan["Plans"][0]["Sort Key"] == ["id"]
    scan = plan["Plans"][0]["Plans"][0]
    assert scan["Node Type"] == "Seq Scan"
    assert scan["Relation Name"] == "t"
    assert scan["Filter"] == "(cat = 1)"
    assert scan["Actual Rows"] == 10
    assert isinstance(parsed[0]["Execution Time"], float)
    # a range search shows pgvector's operator and the user's column, not internals
    plan_lines = _plan(conn, "EXPLAIN SELECT id FROM t WHERE v <-> '[3,0]' < 2")
    assert plan_lines[1] == "  Filter: ((v <-> '[3,0]'::vector) < 2)"


def test_explain_errors_keep_the_connection(conn: psycopg.Connection) -> None:
    with pytest.raises(psycopg.errors.SyntaxError, match='unrecognized EXPLAIN option "foo"'):
        conn.execute("EXPLAIN (foo) SELECT 1")
    with pytest.raises(psycopg.errors.InvalidParameterValue, match="TIMING requires ANALYZE"):
        conn.execute("EXPLAIN (TIMING) SELECT 1")
    assert _plan(conn, "EXPLAIN SELECT 1") == ["Result"]


def test_explain_execute_with_settings_and_verbose(conn: psycopg.Connection) -> None:
    conn.execute(
        "PREPARE near(vector, int) AS SELECT id FROM t WHERE cat = $2 ORDER BY v <-> $1 LIMIT 3"
    )
    # cat = 1: ids 1, 5, 9, 13, ...; nearest to [10,0]: 9, 13, 5
    assert conn.execute("EXECUTE near('[10,0]', 1)").fetchall() == [(9,), (13,), (5,)]
    conn.execute("CREATE INDEX t_v ON t USING hnsw (v vector_l2_ops)")
    conn.execute("SET hnsw.ef_search = 64")
    plan = _plan(conn, "EXPLAIN (COSTS OFF, VERBOSE, SETTINGS) EXECUTE near('[10,0]', 1)")
    assert plan == [
        "Limit",
        "  Output: id, ((v <-> '[10,0]'::vector))",
        "  ->  Index Scan using t_v on public.t",
        "        Output: id, (v <-> '[10,0]'::vector)",
        "        Order By: (t.v <-> '[10,0]'::vector)",
        "        Filter: (t.cat = 1)",
        "        Vecgres: hnsw per segment, ef_search=64, growing segment exact",
        "Settings: hnsw.ef_search = '64'",
    ]
    plan = _plan(conn, "EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF) EXECUTE near('[10,0]', 1)")
    assert plan[0] == "Limit (actual rows=3 loops=1)"
    assert "        Segment: growing: exact, rows=40 matching=10 candidates=10" in plan
    assert conn.execute("EXECUTE near('[10,0]', 1)").fetchall() == [(9,), (13,), (5,)]
    with pytest.raises(psycopg.errors.SyntaxError, match="wrong number of parameters"):
        conn.execute("EXPLAIN EXECUTE near('[10,0]')")
    conn.execute("DEALLOCATE near")
    with pytest.raises(psycopg.errors.InvalidSqlStatementName, match='"near" does not exist'):
        conn.execute("EXPLAIN EXECUTE near('[10,0]', 1)")
    assert conn.execute("SELECT count(*) FROM t").fetchone() == (40,)


def test_explain_nested_search_shows_the_index_scan(conn: psycopg.Connection) -> None:
    conn.execute("CREATE INDEX t_v ON t USING hnsw (v vector_l2_ops)")
    plan = _plan(
        conn,
        "EXPLAIN (COSTS OFF) SELECT c.name, s.id FROM "
        "(SELECT id, cat FROM t ORDER BY v <-> %s LIMIT 4) s JOIN c ON c.cat = s.cat",
        ("[3,0]",),
    )
    assert [line.strip() for line in plan if line.strip().startswith("->")] == [
        "->  Seq Scan on c",
        "->  Hash",
        "->  Limit",
        "->  Index Scan using t_v on t",
    ] or [line.strip() for line in plan if line.strip().startswith("->")] == [
        "->  Limit",
        "->  Index Scan using t_v on t",
        "->  Hash",
        "->  Seq Scan on c",
    ], plan
    assert plan[0] == "Hash Join"
    assert "Order By: (v <-> '[3,0]'::vector)" in [line.strip() for line in plan]
