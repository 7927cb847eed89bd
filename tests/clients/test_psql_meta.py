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
        " vector  | 0.8.6   | public     | vector data type and ivfflat and hnsw access methods",
        "(2 rows)",
        "",
    ]
    assert [line.rstrip() for line in _psql(server, "\\df l2*").splitlines()] == [
        "                           List of functions",
        " Schema |     Name     | Result data type | Argument data types  | Type",
        "--------+--------------+------------------+----------------------+------",
        " public | l2_distance  | double precision | halfvec, halfvec     | func",
        " public | l2_distance  | double precision | sparsevec, sparsevec | func",
        " public | l2_distance  | double precision | vector, vector       | func",
        " public | l2_norm      | double precision | halfvec              | func",
        " public | l2_norm      | double precision | sparsevec            | func",
        " public | l2_normalize | halfvec          | halfvec              | func",
        " public | l2_normalize | sparsevec        | sparsevec            | func",
        " public | l2_normalize | vector           | vector               | func",
        "(8 rows)",
        "",
    ]


def _lines(server, command: str) -> list[str]:
    return [line.rstrip() for line in _psql(server, command).splitlines()]


# psql's catalog queries for access methods, operator classes and families, operators
# and casts, over the rows pgvector's install script creates (sql/vector.sql). The
# reference PostgreSQL has no pgvector: the layout is psql's, the rows pgvector's.
VECTOR_META = {
    "\\df vector_dims": """\
                          List of functions
 Schema |    Name     | Result data type | Argument data types | Type
--------+-------------+------------------+---------------------+------
 public | vector_dims | integer          | halfvec             | func
 public | vector_dims | integer          | vector              | func
(2 rows)

""",
    "\\df *to_float4": """\
                                List of functions
 Schema |       Name        | Result data type |    Argument data types    | Type
--------+-------------------+------------------+---------------------------+------
 public | halfvec_to_float4 | real[]           | halfvec, integer, boolean | func
 public | vector_to_float4  | real[]           | vector, integer, boolean  | func
(2 rows)

""",
    "\\dC halfvec": """\
                              List of casts
    Source type     | Target type |       Function       |   Implicit?
--------------------+-------------+----------------------+---------------
 double precision[] | halfvec     | array_to_halfvec     | in assignment
 halfvec            | halfvec     | halfvec              | yes
 halfvec            | real[]      | halfvec_to_float4    | in assignment
 halfvec            | sparsevec   | halfvec_to_sparsevec | yes
 halfvec            | vector      | halfvec_to_vector    | in assignment
 integer[]          | halfvec     | array_to_halfvec     | in assignment
 numeric[]          | halfvec     | array_to_halfvec     | in assignment
 real[]             | halfvec     | array_to_halfvec     | in assignment
 sparsevec          | halfvec     | sparsevec_to_halfvec | in assignment
 vector             | halfvec     | vector_to_halfvec    | yes
(10 rows)

""",
    "\\do <=>": """\
                                List of operators
 Schema | Name | Left arg type | Right arg type |   Result type    | Description
--------+------+---------------+----------------+------------------+-------------
 public | <=>  | halfvec       | halfvec        | double precision |
 public | <=>  | sparsevec     | sparsevec      | double precision |
 public | <=>  | vector        | vector         | double precision |
(3 rows)

""",
    "\\do+ <~>": """\
                                         List of operators
 Schema | Name | Left arg type | Right arg type |   Result type    |     Function     | Description
--------+------+---------------+----------------+------------------+------------------+-------------
 public | <~>  | bit           | bit            | double precision | hamming_distance |
(1 row)

""",
    "\\dAc ivfflat": """\
                      List of operator classes
   AM    | Input type | Storage type |   Operator class   | Default?
---------+------------+--------------+--------------------+----------
 ivfflat | bit        |              | bit_hamming_ops    | no
 ivfflat | halfvec    |              | halfvec_cosine_ops | no
 ivfflat | halfvec    |              | halfvec_ip_ops     | no
 ivfflat | halfvec    |              | halfvec_l2_ops     | no
 ivfflat | vector     |              | vector_cosine_ops  | no
 ivfflat | vector     |              | vector_ip_ops      | no
 ivfflat | vector     |              | vector_l2_ops      | yes
(7 rows)

""",
    "\\dAf hnsw *sparsevec*": """\
           List of operator families
  AM  |   Operator family    | Applicable types
------+----------------------+------------------
 hnsw | sparsevec_cosine_ops | sparsevec
 hnsw | sparsevec_ip_ops     | sparsevec
 hnsw | sparsevec_l1_ops     | sparsevec
 hnsw | sparsevec_l2_ops     | sparsevec
(4 rows)

""",
    "\\dAo hnsw vector_l2_ops": """\
              List of operators of operator families
  AM  | Operator family |      Operator      | Strategy | Purpose
------+-----------------+--------------------+----------+----------
 hnsw | vector_l2_ops   | <->(vector,vector) |        1 | ordering
(1 row)

""",
    "\\dAo btree vector_ops": """\
              List of operators of operator families
  AM   | Operator family |     Operator      | Strategy | Purpose
-------+-----------------+-------------------+----------+---------
 btree | vector_ops      | <(vector,vector)  |        1 | search
 btree | vector_ops      | <=(vector,vector) |        2 | search
 btree | vector_ops      | =(vector,vector)  |        3 | search
 btree | vector_ops      | >=(vector,vector) |        4 | search
 btree | vector_ops      | >(vector,vector)  |        5 | search
(5 rows)

""",
}


def test_psql_vector_access_methods_operators_and_casts(server):
    # vecgres takes vector columns and their indexes without CREATE EXTENSION, so
    # hnsw and ivfflat are always there; operators and casts come with the extension
    assert _lines(server, "\\do <=>")[-2:] == ["(0 rows)", ""]
    _psql(server, "create extension vector")
    assert _lines(server, "\\dA") == [
        "List of access methods",
        "  Name   | Type",
        "---------+-------",
        " brin    | Index",
        " btree   | Index",
        " gin     | Index",
        " gist    | Index",
        " hash    | Index",
        " heap    | Table",
        " hnsw    | Index",
        " ivfflat | Index",
        " spgist  | Index",
        "(9 rows)",
        "",
    ]
    for command, expected in VECTOR_META.items():
        assert _lines(server, command) == expected.splitlines(), command
    _psql(server, "drop extension vector")
    assert _lines(server, "\\do <=>")[-2:] == ["(0 rows)", ""]
    assert _lines(server, "\\dC halfvec")[-2:] == ["(0 rows)", ""]
