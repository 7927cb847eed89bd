"""SQL EXECUTE of a statement prepared through the extended protocol, and
pg_prepared_statements listing both kinds (one namespace, as in PostgreSQL 15).

The expected values are PostgreSQL 15's for the same client calls (checked on the
reference server): psycopg names its prepared statements ``_pg3_N``.
"""

from __future__ import annotations

import psycopg
import pytest


def _connect(server) -> psycopg.Connection:
    return psycopg.connect(
        f"host=127.0.0.1 port={server.port} user=postgres dbname=postgres sslmode=disable",
        autocommit=True,
    )


def _protocol_statement(cur: psycopg.Cursor) -> str:
    rows = cur.execute(
        "select name from pg_prepared_statements where not from_sql order by name"
    ).fetchall()
    assert len(rows) == 1
    return str(rows[0][0])


def test_execute_runs_a_statement_prepared_by_parse(engine_server):
    with _connect(engine_server) as conn:
        cur = conn.cursor()
        conn.execute("create table t (id integer, v vector(2))")
        conn.execute("insert into t values (1, '[1,2]'), (2, '[3,4]')")
        cur.execute("select v from t where id = %s", (2,), prepare=True)
        assert cur.fetchall() == [("[3,4]",)]
        name = _protocol_statement(cur)
        cur.execute(f"EXECUTE {name}(1)")
        assert cur.description[0].name == "v"
        assert cur.fetchall() == [("[1,2]",)]
        # the protocol statement stays usable by the protocol afterwards
        cur.execute("select v from t where id = %s", (2,), prepare=True)
        assert cur.fetchall() == [("[3,4]",)]


def test_pg_prepared_statements_lists_both_kinds(engine_server):
    with _connect(engine_server) as conn:
        cur = conn.cursor()
        cur.execute("PREPARE p1(int, text) AS SELECT $1, $2")
        cur.execute("select %s::int + 1 as x", (5,), prepare=True)
        assert cur.fetchall() == [(6,)]
        name = _protocol_statement(cur)
        rows = cur.execute(
            "select name, statement, parameter_types, from_sql, generic_plans, custom_plans,"
            " prepare_time <= now() from pg_prepared_statements order by from_sql, name"
        ).fetchall()
        assert rows == [
            (name, "select $1::int + 1 as x", ["smallint"], False, 0, 1, True),
            ("p1", "PREPARE p1(int, text) AS SELECT $1, $2", ["integer", "text"], True, 0, 0, True),
        ]
        cur.execute(f"EXECUTE {name}(41)")
        assert cur.description[0].name == "x"
        assert cur.fetchall() == [(42,)]
        counts = cur.execute(
            "select generic_plans, custom_plans from pg_prepared_statements where name = %s",
            (name,),
        ).fetchall()
        assert counts == [(0, 2)]
        columns = cur.execute(
            "select attname, format_type(atttypid, atttypmod) from pg_attribute"
            " where attrelid = 'pg_prepared_statements'::regclass and attnum > 0 order by attnum"
        ).fetchall()
        assert columns == [
            ("name", "text"),
            ("statement", "text"),
            ("prepare_time", "timestamp with time zone"),
            ("parameter_types", "regtype[]"),
            ("from_sql", "boolean"),
            ("generic_plans", "bigint"),
            ("custom_plans", "bigint"),
        ]


def test_one_namespace_errors_and_deallocate(engine_server):
    with _connect(engine_server) as conn:
        cur = conn.cursor()
        cur.execute("select %s::int + 1 as x", (5,), prepare=True)
        name = _protocol_statement(cur)
        with pytest.raises(psycopg.errors.SyntaxError) as err:
            cur.execute(f"EXECUTE {name}")
        assert str(err.value).splitlines() == [
            f'wrong number of parameters for prepared statement "{name}"',
            "DETAIL:  Expected 1 parameters but got 0.",
        ]
        with pytest.raises(psycopg.errors.DuplicatePreparedStatement) as dup:
            cur.execute(f"PREPARE {name} AS SELECT 1")
        assert str(dup.value) == f'prepared statement "{name}" already exists'
        # the connection stays usable; DEALLOCATE drops the protocol statement
        cur.execute(f"DEALLOCATE {name}")
        assert cur.statusmessage == "DEALLOCATE"
        assert cur.execute("select count(*) from pg_prepared_statements").fetchone() == (0,)
        with pytest.raises(psycopg.errors.InvalidSqlStatementName) as gone:
            cur.execute(f"EXECUTE {name}(1)")
        assert str(gone.value) == f'prepared statement "{name}" does not exist'


def test_parse_of_a_name_sql_prepared_is_refused(engine_server):
    with _connect(engine_server) as conn:
        conn.execute("PREPARE _pg3_0 AS SELECT 1")
        cur = conn.cursor()
        # psycopg names its first prepared statement _pg3_0: its Parse collides
        with pytest.raises(psycopg.errors.DuplicatePreparedStatement) as dup:
            cur.execute("select %s::int", (1,), prepare=True)
        assert str(dup.value) == 'prepared statement "_pg3_0" already exists'
        assert cur.execute("EXECUTE _pg3_0").fetchall() == [(1,)]


def test_generic_plans_after_five_custom_ones(engine_server):
    with _connect(engine_server) as conn:
        cur = conn.cursor()
        cur.execute("PREPARE q(int) AS SELECT $1 * 2")
        cur.execute("PREPARE c AS SELECT 1")
        for i in range(7):
            assert cur.execute(f"EXECUTE q({i})").fetchall() == [(2 * i,)]
        cur.execute("EXECUTE c")
        cur.execute("EXECUTE c")
        rows = cur.execute(
            "select name, generic_plans, custom_plans from pg_prepared_statements order by name"
        ).fetchall()
        assert rows == [("c", 2, 0), ("q", 2, 5)]
