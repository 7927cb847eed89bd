"""psql's \\d family against vecgres, compared with what PostgreSQL 15 prints.

The expected outputs are PostgreSQL 15's for the same objects (checked on the
reference server), except where noted: vecgres has one database per data
directory, so ``\\l`` lists just it.
"""

from __future__ import annotations

import shutil
import subprocess

import pytest

pytestmark = pytest.mark.skipif(shutil.which("psql") is None, reason="psql not installed")

SETUP = [
    "create table items(id bigint primary key, name text not null, price numeric(10,2),"
    " embedding vector(3))",
    "create index items_name on items(name)",
    "create sequence s1",
    "create view v1 as select id from items",
]


def _psql(server, command: str) -> str:
    conn = f"host=127.0.0.1 port={server.port} user=postgres dbname=postgres sslmode=disable"
    done = subprocess.run(
        ["psql", conn, "-X", "-c", command], capture_output=True, text=True, timeout=30
    )
    assert done.stderr == "", done.stderr
    return done.stdout


@pytest.fixture
def objects(server):
    for sql in SETUP:
        _psql(server, sql)
    return server


EXPECTED = {
    "\\dt": """\
         List of relations
 Schema | Name  | Type  |  Owner
--------+-------+-------+----------
 public | items | table | postgres
(1 row)

""",
    "\\d items": """\
                    Table "public.items"
  Column   |     Type      | Collation | Nullable | Default
-----------+---------------+-----------+----------+---------
 id        | bigint        |           | not null |
 name      | text          |           | not null |
 price     | numeric(10,2) |           |          |
 embedding | vector(3)     |           |          |
Indexes:
    "items_pkey" PRIMARY KEY, btree (id)
    "items_name" btree (name)

""",
    "\\di": """\
               List of relations
 Schema |    Name    | Type  |  Owner   | Table
--------+------------+-------+----------+-------
 public | items_name | index | postgres | items
 public | items_pkey | index | postgres | items
(2 rows)

""",
    "\\dn": """\
      List of schemas
  Name  |       Owner
--------+-------------------
 public | pg_database_owner
(1 row)

""",
    "\\dv": """\
        List of relations
 Schema | Name | Type |  Owner
--------+------+------+----------
 public | v1   | view | postgres
(1 row)

""",
    "\\ds": """\
          List of relations
 Schema | Name |   Type   |  Owner
--------+------+----------+----------
 public | s1   | sequence | postgres
(1 row)

""",
}


@pytest.mark.parametrize("command", sorted(EXPECTED))
def test_psql_meta_command(objects, command):
    # psql pads header cells with trailing blanks; compare lines without them
    got = [line.rstrip() for line in _psql(objects, command).splitlines()]
    assert got == EXPECTED[command].splitlines()


def test_psql_list_databases_and_roles(objects):
    out = _psql(objects, "\\l")
    assert " postgres | postgres | UTF8     | C       | C     |" in out
    assert "(1 row)" in out
    roles = _psql(objects, "\\du")
    assert " postgres  | Superuser, Create role, Create DB, Replication, Bypass RLS | {}" in roles


def test_psql_describe_plus_shows_access_method(objects):
    out = _psql(objects, "\\d+ items")
    assert "Access method: heap" in out
    assert '"items_pkey" PRIMARY KEY, btree (id)' in out


def test_psql_extension_and_functions_after_create_extension(server):
    _psql(server, "create extension vector")
    assert [line.rstrip() for line in _psql(server, "\\dx").splitlines()] == [
        "                             List of installed extensions",
        "  Name   | Version |   Schema   |                     Description",
        "---------+---------+------------+------------------------------------------------------",
        " plpgsql | 1.0     | pg_catalog | PL/pgSQL procedural language",
        " vector  | 0.8.1   | public     | vector data type and ivfflat and hnsw access methods",
        "(2 rows)",
        "",
    ]
    functions = _psql(server, "\\df l2*")
    assert " public | l2_distance  | double precision | vector, vector      | func" in functions
    assert " public | l2_normalize | vector           | vector              | func" in functions
