"""Table row types and record text over the wire, in text and binary results.

Expected values are PostgreSQL's (checked on PostgreSQL 15; pgvector's types, which
the reference lacks, through pgvector's documented text and binary formats).
"""

from __future__ import annotations

import struct

import psycopg

VECTOR_OID = 16385


def _load(conn: psycopg.Connection) -> None:
    conn.execute("create extension if not exists vector")
    conn.execute("create table t (id int, v vector(2), s text)")
    conn.execute("insert into t values (1, '[1,2]', 'a b'), (2, null, null)")
    conn.execute("create table t2 (id int, a vector[])")
    conn.execute("insert into t2 values (1, array['[1,2]', '[3,4]']::vector[])")


def test_tables_have_composite_row_types_in_the_catalog(engine_server):
    with psycopg.connect(engine_server.dsn(), autocommit=True) as conn:
        _load(conn)
        oid, reltype = conn.execute(
            "select oid::int, reltype::int from pg_class where relname = 't'"
        ).fetchone()
        assert reltype != 0
        row = conn.execute(
            "select oid::int, typname, typtype, typcategory, typrelid::int, typarray::int,"
            " typinput::text, typoutput::text from pg_type where typname = 't'"
        ).fetchone()
        assert row[:5] == (reltype, "t", "c", "C", oid)
        assert row[6:] == ("record_in", "record_out")
        array = conn.execute(
            "select oid::int, typname, typelem::int, typcategory from pg_type where typname = '_t'"
        ).fetchone()
        assert array == (row[5], "_t", reltype, "A")
        # the type is found by name, and its name is the table's
        assert conn.execute("select to_regtype('t')::oid::int, 't'::regtype::text").fetchone() == (
            reltype,
            "t",
        )
        assert conn.execute("select format_type(%s, -1)", [row[5]]).fetchone() == ("t[]",)


def test_whole_row_is_described_with_the_row_type(engine_server):
    with psycopg.connect(engine_server.dsn(), autocommit=True) as conn:
        _load(conn)
        reltype = conn.execute("select reltype from pg_class where relname = 't'").fetchone()[0]
        cur = conn.execute("select t, row(1, 2) from t order by id")
        codes = [d.type_code for d in cur.description]
        codes.append(conn.execute("select array_agg(t) from t").description[0].type_code)
        assert codes[0] == reltype
        assert codes[1] == 2249  # an anonymous record stays record
        array_oid = conn.execute("select typarray from pg_type where oid = %s", [reltype])
        assert codes[2] == array_oid.fetchone()[0]
        assert cur.pgresult.fmod(0) == -1


def test_record_text_of_casts_and_formats(engine_server):
    with psycopg.connect(engine_server.dsn(), autocommit=True) as conn:
        _load(conn)
        cur = conn.execute(
            "select t::text, format('%s', t), t::text || 'x', pg_typeof(t::text)::text"
            " from t order by id"
        )
        assert cur.fetchall() == [
            ('(1,"[1,2]","a b")', '(1,"[1,2]","a b")', '(1,"[1,2]","a b")x', "text"),
            ("(2,,)", "(2,,)", "(2,,)x", "text"),
        ]
        assert conn.execute("select t2::text from t2").fetchone() == (
            '(1,"{""[1,2]"",""[3,4]""}")',
        )
        assert conn.execute("select row(1, '[1,2]'::vector)::text").fetchone() == ('(1,"[1,2]")',)
        assert conn.execute("select array[1,2]::text, 1.50::numeric(5,2)::text").fetchone() == (
            "{1,2}",
            "1.50",
        )


def test_record_send_tags_each_field_with_its_column_type(engine_server):
    with psycopg.connect(engine_server.dsn(), autocommit=True) as conn:
        _load(conn)
        cur = conn.cursor(binary=True)
        cur.execute("select t from t order by id")
        first = cur.pgresult.get_value(0, 0)
        assert struct.unpack_from(">i", first) == (3,)
        # id: int4 (oid 23, 4 bytes, 1)
        assert struct.unpack_from(">Iii", first, 4) == (23, 4, 1)
        # v: vector, in vector_send's format (uint16 dim, uint16 unused, float4s)
        oid, size = struct.unpack_from(">Ii", first, 16)
        assert (oid, size) == (VECTOR_OID, 12)
        assert struct.unpack_from(">HHff", first, 24) == (2, 0, 1.0, 2.0)
        # s: text
        assert struct.unpack_from(">Ii", first, 36) == (25, 3)
        assert first[44:] == b"a b"
        second = cur.pgresult.get_value(1, 0)
        assert struct.unpack_from(">iIiiIiIi", second) == (3, 23, 4, 2, VECTOR_OID, -1, 25, -1)
        # an array of vectors in a record: _vector's oid, array_send of vector_send elements
        cur.execute("select t2 from t2")
        raw = cur.pgresult.get_value(0, 0)
        (array_oid,) = conn.execute("select typarray::int from pg_type where typname = 'vector'")
        assert struct.unpack_from(">I", raw, 16) == array_oid
        body = raw[24:]
        ndim, _, elem = struct.unpack_from(">iiI", body)
        assert (ndim, elem) == (1, VECTOR_OID)
        assert struct.unpack_from(">ii", body, 12) == (2, 1)  # two elements from index 1
        assert struct.unpack_from(">iHHff", body, 20) == (12, 2, 0, 1.0, 2.0)
        assert struct.unpack_from(">iHHff", body, 36) == (12, 2, 0, 3.0, 4.0)


def test_anonymous_record_send_tags_fields_with_their_types(engine_server):
    with psycopg.connect(engine_server.dsn(), autocommit=True) as conn:
        _load(conn)
        cur = conn.cursor(binary=True)
        cur.execute("select row(id, v), row(1, 'x'::text) from t where id = 1")
        assert [d.type_code for d in cur.description] == [2249, 2249]
        raw = cur.pgresult.get_value(0, 0)
        assert struct.unpack_from(">iIiiIiHHff", raw) == (2, 23, 4, 1, VECTOR_OID, 12, 2, 0, 1, 2)
        raw = cur.pgresult.get_value(0, 1)
        assert struct.unpack_from(">iIiiIi", raw) == (2, 23, 4, 1, 25, 1)
        assert raw[-1:] == b"x"
        # psycopg loads an anonymous record's fields by their type OIDs
        assert cur.fetchone()[1] == (1, "x")
