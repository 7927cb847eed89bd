"""Catalog spellings clients send, over psycopg, with PostgreSQL 15's answers.

int2vector subscripts from 0, ``unnest(a, b) WITH ORDINALITY``, pg_depend,
``format('%I')``, parse_ident, string_to_array (also in FROM), ``::name``,
ON conditions scoped to the relations joined so far, pg_language,
pg_tablespace_location, has_table_privilege on catalogs,
information_schema.constraint_column_usage, and DROP EXTENSION.
"""

from __future__ import annotations

import psycopg
import pytest

SETUP = """
create table t (id serial primary key, a int, b text unique);
create index t_ab on t (a, b);
"""

# (query, PostgreSQL 15's rows), checked against tests/pgref
CASES = [
    (
        "select indkey[0], indkey[1], indkey[2], array_lower(indkey, 1), array_upper(indkey, 1)"
        " from pg_index where indexrelid = 't_ab'::regclass",
        [(2, 3, None, 0, 1)],
    ),
    (
        "select array(select pg_get_indexdef(i.indexrelid, k + 1, true)"
        " from pg_catalog.generate_subscripts(i.indkey, 1) as k order by k)"
        " from pg_index i where i.indexrelid = 't_ab'::regclass",
        [(["a", "b"],)],
    ),
    (
        "select key, opt, n from pg_index i,"
        " unnest(i.indkey, i.indoption) with ordinality u(key, opt, n)"
        " where i.indexrelid = 't_ab'::regclass order by n",
        [(2, 0, 1), (3, 0, 2)],
    ),
    (
        "select objid::regclass::text, refobjsubid, deptype from pg_depend"
        " where classid = 'pg_class'::regclass and refclassid = 'pg_class'::regclass"
        " and refobjid = 't'::regclass and deptype = 'a' order by 1, 2",
        [("t_ab", 2, "a"), ("t_ab", 3, "a"), ("t_id_seq", 1, "a")],
    ),
    (
        "select c.conname, d.refobjsubid, d.deptype from pg_depend d"
        " join pg_constraint c on c.oid = d.objid"
        " where d.classid = 'pg_constraint'::regclass and d.refobjid = 't'::regclass order by 1",
        [("t_b_key", 3, "a"), ("t_pkey", 1, "a")],
    ),
    (
        "select c.relname from pg_depend d join pg_class c on c.oid = d.objid"
        " where d.refclassid = 'pg_constraint'::regclass and d.deptype = 'i'"
        " and c.relname like 't%'"
        " order by 1",
        [("t_b_key",), ("t_pkey",)],
    ),
    (
        "select format('%I.%I|%L|%L|%s|%s|%%', 'public', 'My T', 'it''s', null, null, 3),"
        " format('%2$I %1$L', 'x', 'Y'), format('%s-%s', 1, 'a')",
        [("public.\"My T\"|'it''s'|NULL||3|%", "\"Y\" 'x'", "1-a")],
    ),
    (
        "select parse_ident('a.\"B c\".D'), parse_ident('  x  '), parse_ident('a.b c', false)",
        [(["a", "B c", "d"], ["x"], ["a", "b"])],
    ),
    (
        "select string_to_array('a,b,,c', ','), string_to_array('a,b,,c', ',', ''),"
        " string_to_array('', ','), string_to_array('abc', null), string_to_array('abc', '')",
        [(["a", "b", "", "c"], ["a", "b", None, "c"], [], ["a", "b", "c"], ["abc"])],
    ),
    ("select x, x[2] from string_to_array('p,q', ',') x", [(["p", "q"], "q")]),
    (
        "select trim(s[i]) from generate_series(1, 2) as i, string_to_array('a, b', ',') s"
        " order by 1",
        [("a",), ("b",)],
    ),
    (
        "select t1.relname from pg_class t1 join pg_namespace n on n.oid = relnamespace"
        " left join pg_class t2 on t2.oid = t1.oid where t1.relname = 't'",
        [("t",)],
    ),
    (
        "select spcname, pg_tablespace_location(oid) from pg_tablespace order by 1",
        [("pg_default", ""), ("pg_global", "")],
    ),
    (
        "select lanname, lanispl from pg_language order by oid",
        [("internal", False), ("c", False), ("sql", False), ("plpgsql", True)],
    ),
    (
        "select has_table_privilege('pg_class', 'select'),"
        " has_table_privilege(current_user, 'information_schema.tables', 'select')",
        [(True, True)],
    ),
    (
        "select table_name, column_name, constraint_name"
        " from information_schema.constraint_column_usage where table_name = 't' order by 3",
        [("t", "b", "t_b_key"), ("t", "id", "t_pkey")],
    ),
    ("select 'x'::name as \"select\", 1 as update from pg_catalog.pg_am limit 1", [("x", 1)]),
    (
        "select pg_size_pretty(1024::bigint), pg_size_pretty(10240::bigint),"
        " pg_size_pretty(123456789::bigint), pg_size_pretty(-20000::bigint),"
        " pg_size_pretty(5000000000000::bigint), pg_size_pretty(20000000000000000::bigint)",
        [("1024 bytes", "10 kB", "118 MB", "-20 kB", "4657 GB", "18 PB")],
    ),
]


@pytest.fixture
def conn(server):
    with psycopg.connect(server.dsn(), autocommit=True) as conn:
        conn.execute(SETUP)
        yield conn


def test_catalog_spellings_answer_as_postgresql(conn):
    for sql, expected in CASES:
        assert conn.execute(sql).fetchall() == expected, sql


def test_name_casts_are_sent_as_name(conn):
    cur = conn.execute("select 'pg_class'::name, relname::name from pg_class limit 1")
    assert [d.type_code for d in cur.description] == [19, 19]


def test_bad_catalog_arguments_are_postgresql_errors(conn):
    with pytest.raises(psycopg.errors.InvalidParameterValue) as caught:
        conn.execute("select parse_ident('a.b.')")
    assert caught.value.diag.message_primary == 'string is not a valid identifier: "a.b."'
    assert caught.value.diag.message_detail == 'No valid identifier after ".".'
    with pytest.raises(psycopg.errors.UndefinedFile):
        conn.execute("select pg_tablespace_location(12345)")
    with pytest.raises(psycopg.errors.UndefinedTable):
        conn.execute("select has_table_privilege('nosuch', 'select')")


def test_drop_extension(conn):
    conn.execute("create extension vector")
    conn.execute("create table v (e vector(2))")
    with pytest.raises(psycopg.errors.DependentObjectsStillExist) as caught:
        conn.execute("drop extension vector")
    assert caught.value.diag.message_detail == "column e of table v depends on type vector"
    conn.execute("drop table v")
    conn.execute('drop extension "vector"')
    assert conn.execute(
        "select count(*) from pg_extension where extname = 'vector'"
    ).fetchone() == (0,)
    with pytest.raises(psycopg.errors.UndefinedObject) as missing:
        conn.execute("drop extension vector")
    assert missing.value.diag.message_primary == 'extension "vector" does not exist'
    notices: list[str] = []
    conn.add_notice_handler(lambda d: notices.append(d.message_primary or ""))
    conn.execute("drop extension if exists vector")
    assert notices == ['extension "vector" does not exist, skipping']
