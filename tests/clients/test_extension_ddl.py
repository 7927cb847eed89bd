"""CREATE / ALTER / DROP EXTENSION over the wire: the notices and error fields
PostgreSQL 15 sends (extension.c; checked on the reference server with plpgsql)."""

from __future__ import annotations

import psycopg
import pytest


@pytest.fixture
def conn(server):
    with psycopg.connect(server.dsn(), autocommit=True) as conn:
        yield conn


def _notices(conn: psycopg.Connection) -> list[tuple[str, str, str]]:
    seen: list[tuple[str, str, str]] = []
    conn.add_notice_handler(
        lambda d: seen.append((d.severity or "", d.sqlstate or "", d.message_primary or ""))
    )
    return seen


def test_update_to_the_installed_version_is_a_notice(conn):
    seen = _notices(conn)
    cur = conn.execute("alter extension plpgsql update")
    assert cur.statusmessage == "ALTER EXTENSION"
    conn.execute("create extension vector")
    conn.execute("alter extension vector update to '0.8.6'")
    conn.execute("alter extension vector update")
    assert seen == [
        ("NOTICE", "00000", 'version "1.0" of extension "plpgsql" is already installed'),
        ("NOTICE", "00000", 'version "0.8.6" of extension "vector" is already installed'),
        ("NOTICE", "00000", 'version "0.8.6" of extension "vector" is already installed'),
    ]
    assert conn.execute(
        "select extversion from pg_extension where extname = 'vector'"
    ).fetchone() == ("0.8.6",)


def test_create_if_not_exists_and_drop_if_exists_notices(conn):
    seen = _notices(conn)
    conn.execute("create extension vector")
    conn.execute("create extension if not exists vector")
    conn.execute("create extension if not exists plpgsql")
    conn.execute("drop extension vector")
    conn.execute("drop extension if exists vector")
    assert seen == [
        ("NOTICE", "42710", 'extension "vector" already exists, skipping'),
        ("NOTICE", "42710", 'extension "plpgsql" already exists, skipping'),
        ("NOTICE", "00000", 'extension "vector" does not exist, skipping'),
    ]


def test_version_errors_carry_postgresql_fields(conn):
    with pytest.raises(psycopg.errors.InvalidParameterValue) as caught:
        conn.execute("alter extension plpgsql update to 'a/b'")
    assert caught.value.diag.message_primary == 'invalid extension version name: "a/b"'
    assert caught.value.diag.message_detail == (
        "Version names must not contain directory separator characters."
    )
    conn.execute("create extension vector")
    with pytest.raises(psycopg.errors.InvalidParameterValue) as caught:
        conn.execute("alter extension vector update to '0.7.4'")
    assert caught.value.diag.message_primary == (
        'extension "vector" has no update path from version "0.8.6" to version "0.7.4"'
    )
    # the statement failed, the connection did not
    assert conn.execute("select 1").fetchone() == (1,)


def test_drop_extension_lists_every_dependent_column(conn):
    conn.execute("create extension vector")
    conn.execute("create table a (id int, e vector(2))")
    conn.execute("create table b (h halfvec(2), s sparsevec(5))")
    with pytest.raises(psycopg.errors.DependentObjectsStillExist) as caught:
        conn.execute("drop extension vector restrict")
    assert caught.value.diag.message_primary == (
        "cannot drop extension vector because other objects depend on it"
    )
    assert caught.value.diag.message_detail == (
        "column e of table a depends on type vector\n"
        "column s of table b depends on type sparsevec\n"
        "column h of table b depends on type halfvec"
    )
    assert caught.value.diag.message_hint == (
        "Use DROP ... CASCADE to drop the dependent objects too."
    )


def test_drop_extension_cascade_drops_the_columns(conn):
    seen = _notices(conn)
    conn.execute("create extension vector")
    conn.execute("create table a (id int, e vector(2))")
    conn.execute("create index on a using hnsw (e vector_l2_ops)")
    conn.execute("insert into a values (1, '[1,2]'), (2, '[3,4]')")
    conn.execute("drop extension vector cascade")
    assert seen == [("NOTICE", "00000", "drop cascades to column e of table a")]
    assert conn.execute("select * from a order by id").fetchall() == [(1,), (2,)]
    assert conn.execute("select count(*) from pg_indexes where tablename = 'a'").fetchone() == (0,)
    assert conn.execute(
        "select count(*) from pg_extension where extname = 'vector'"
    ).fetchone() == (0,)
    conn.execute("create extension vector")
    conn.execute("alter table a add column e halfvec(2)")
    conn.execute("create table b (s sparsevec(5), x int, h halfvec(2))")
    details: list[str] = []
    conn.add_notice_handler(lambda d: details.append(d.message_detail or ""))
    conn.execute("drop extension vector cascade")
    assert seen[-1] == ("NOTICE", "00000", "drop cascades to 3 other objects")
    assert details == [
        "drop cascades to column e of table a\n"
        "drop cascades to column h of table b\n"
        "drop cascades to column s of table b"
    ]
    assert conn.execute("select * from b").fetchall() == []
    assert [d.name for d in conn.execute("select * from b").description] == ["x"]


def test_drop_extension_cascade_refusals(conn):
    conn.execute("create extension vector")
    conn.execute("create table only_vectors (e vector(2))")
    with pytest.raises(psycopg.errors.FeatureNotSupported):
        conn.execute("drop extension vector cascade")
    conn.execute("drop table only_vectors")
    conn.execute("create table a (id int, e vector(2))")
    conn.execute("create view av as select id, e from a")
    with pytest.raises(psycopg.errors.FeatureNotSupported):
        conn.execute("drop extension vector cascade")
    # nothing changed
    assert conn.execute(
        "select count(*) from pg_extension where extname = 'vector'"
    ).fetchone() == (1,)
    assert [d.name for d in conn.execute("select * from av").description] == ["id", "e"]
