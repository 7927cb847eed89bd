"""Records and JSON of pgvector values over the wire, in text and binary results.

Expected texts are PostgreSQL's (checked on PostgreSQL 15 with text stand-ins for the
pgvector types, which print through their text output in both records and JSON).
"""

from __future__ import annotations

import struct

import psycopg

ROW_1 = '(1,"[1,2,3]",{1:1.5}/3,101,"a b")'
ROW_2 = "(2,,,,)"


def _load(conn: psycopg.Connection) -> None:
    conn.execute("create extension if not exists vector")
    conn.execute("create table items (id int, v vector(3), s sparsevec(3), b bit(3), note text)")
    conn.execute(
        "insert into items values (1, '[1,2,3]', '{1:1.5}/3', B'101', 'a b'),"
        " (2, null, null, null, null)"
    )


def test_whole_row_is_record_text_in_text_results(engine_server):
    with psycopg.connect(engine_server.dsn(), autocommit=True) as conn:
        _load(conn)
        cur = conn.execute("select items from items order by id")
        reltype = conn.execute("select reltype from pg_class where relname = 'items'")
        assert cur.description[0].type_code == reltype.fetchone()[0]  # the table's row type
        raw = [cur.pgresult.get_value(i, 0) for i in range(cur.pgresult.ntuples)]
        assert raw == [ROW_1.encode(), ROW_2.encode()]
        # psycopg has no loader for a row type it was not told about: the text
        assert cur.fetchall() == [(ROW_1,), (ROW_2,)]
        # an anonymous record it parses into its fields' texts
        assert conn.execute("select row(id, note) from items where id = 1").fetchone() == (
            ("1", "a b"),
        )
        cur = conn.execute(
            "select row(id, v), (items).v, pg_typeof(items)::text from items where id = 1"
        )
        assert cur.pgresult.get_value(0, 0) == b'(1,"[1,2,3]")'
        assert cur.fetchone()[1:] == ("[1,2,3]", "items")


def test_whole_row_is_record_send_in_binary_results(engine_server):
    with psycopg.connect(engine_server.dsn(), autocommit=True) as conn:
        _load(conn)
        cur = conn.cursor(binary=True)
        cur.execute("select items from items order by id")
        first = cur.pgresult.get_value(0, 0)
        # record_send: field count, then per field its type oid, length and bytes
        (count,) = struct.unpack_from(">i", first)
        assert count == 5
        oid, size = struct.unpack_from(">Ii", first, 4)
        assert (oid, size) == (23, 4)
        assert struct.unpack_from(">i", first, 12) == (1,)
        # then vector_send (oid 16385): uint16 dim, uint16 unused, float4s
        assert struct.unpack_from(">IiHHfff", first, 16) == (16385, 16, 3, 0, 1, 2, 3)
        # an anonymous record psycopg loads by its fields' OIDs
        cur.execute("select row(id, note) from items order by id")
        assert cur.fetchall() == [((1, "a b"),), ((2, None),)]


def test_json_of_vectors_and_rows_in_text_and_binary(engine_server):
    with psycopg.connect(engine_server.dsn(), autocommit=True) as conn:
        _load(conn)
        queries = {
            "select row_to_json(items) from items where id = 1": (
                '{"id":1,"v":"[1,2,3]","s":"{1:1.5}/3","b":"101","note":"a b"}'
            ),
            "select to_jsonb(items) from items where id = 1": (
                '{"b": "101", "s": "{1:1.5}/3", "v": "[1,2,3]", "id": 1, "note": "a b"}'
            ),
            "select json_build_object('v', v) from items where id = 1": '{"v" : "[1,2,3]"}',
            "select json_agg(items order by id) from items": (
                '[{"id":1,"v":"[1,2,3]","s":"{1:1.5}/3","b":"101","note":"a b"}, \n'
                ' {"id":2,"v":null,"s":null,"b":null,"note":null}]'
            ),
            "select json_object_agg(id, v order by id) from items": (
                '{ "1" : "[1,2,3]", "2" : null }'
            ),
        }
        for sql, text in queries.items():
            for binary in (False, True):
                cur = conn.cursor(binary=binary)
                cur.execute(sql)
                raw = cur.pgresult.get_value(0, 0)
                if binary and sql.startswith("select to_jsonb"):
                    assert raw == b"\x01" + text.encode()  # jsonb_send: version 1, then text
                else:
                    assert raw == text.encode(), (sql, binary)
