"""Arrays of pgvector's types over the wire: array_out's text, array_send/array_recv
with the element type's OID and pgvector's binary element formats, pg_type rows that
psycopg and pgvector-python read, binary COPY, and the ErrorResponse position of
input and typmod errors (PostgreSQL's rules, checked with int and numeric on the
reference server: an input function's error points at the literal or the type
name, a length coercion's error has no position)."""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
import psycopg
import pytest
from pgvector import HalfVector, SparseVector, Vector
from pgvector.psycopg import register_vector
from psycopg.types import TypeInfo

import vecgres


def _setup(conn: psycopg.Connection) -> None:
    conn.execute("create extension if not exists vector")
    conn.execute("create table t (id int, vs vector[], hs halfvec(2)[], ss sparsevec(3)[])")
    conn.execute(
        """insert into t values
           (1, '{"[1,2]","[3.5,-4]",NULL}', '{"[1.5,2]"}', '{"{1:1,3:2.5}/3"}'),
           (2, '{}', NULL, '{NULL}')"""
    )


def _oids(conn: psycopg.Connection) -> dict[str, tuple[int, int, int]]:
    rows = conn.execute(
        "select typname, oid::int, typelem::int, typarray::int from pg_type "
        "where typname in ('vector', 'halfvec', 'sparsevec', '_vector', '_halfvec', '_sparsevec')"
    ).fetchall()
    return {name: (oid, elem, arr) for name, oid, elem, arr in rows}


def test_pg_type_rows_link_each_type_and_its_array(engine_server):
    with psycopg.connect(engine_server.dsn(), autocommit=True) as conn:
        _setup(conn)
        oids = _oids(conn)
        assert len(oids) == 6
        for name in ("vector", "halfvec", "sparsevec"):
            oid, elem, arr = oids[name]
            arr_oid, arr_elem, arr_arr = oids["_" + name]
            assert (elem, arr) == (0, arr_oid)
            assert (arr_elem, arr_arr) == (oid, 0)
            info = TypeInfo.fetch(conn, name)
            assert info is not None
            assert (info.oid, info.array_oid) == (oid, arr_oid)
        shown = conn.execute(
            "select typname, typcategory, typdelim from pg_type where typname = '_vector'"
        ).fetchone()
        assert shown == ("_vector", "A", ",")
        assert conn.execute(
            "select '_vector'::regtype::text, 'vector[]'::regtype::text"
        ).fetchone() == (
            "vector[]",
            "vector[]",
        )


def test_text_results_quote_every_element(engine_server):
    with psycopg.connect(engine_server.dsn(), autocommit=True) as conn:
        _setup(conn)
        # no loader for these OIDs: psycopg hands back the text PostgreSQL's array_out makes
        rows = conn.execute("select vs, hs, ss from t order by id").fetchall()
        assert rows == [
            ('{"[1,2]","[3.5,-4]",NULL}', '{"[1.5,2]"}', '{"{1:1,3:2.5}/3"}'),
            ("{}", None, "{NULL}"),
        ]
        oids = _oids(conn)
        cur = conn.execute("select vs, hs, ss, vs[1], ss[1] from t where id = 1")
        assert [d.type_code for d in cur.description] == [
            oids["_vector"][0],
            oids["_halfvec"][0],
            oids["_sparsevec"][0],
            oids["vector"][0],
            oids["sparsevec"][0],
        ]


def _array(elem_oid: int, items: list[bytes | None]) -> bytes:
    """array_send's format for a one-dimensional array."""
    out = struct.pack(">iiiii", 1, int(None in items), elem_oid, len(items), 1)
    for item in items:
        out += struct.pack(">i", -1) if item is None else struct.pack(">i", len(item)) + item
    return out


def test_binary_results_are_array_send_with_pgvector_elements(engine_server):
    with psycopg.connect(engine_server.dsn(), autocommit=True) as conn:
        _setup(conn)
        oids = _oids(conn)
        vs, hs, ss = conn.execute("select vs, hs, ss from t where id = 1", binary=True).fetchone()
        assert vs == _array(
            oids["vector"][0],
            [struct.pack(">hhff", 2, 0, 1, 2), struct.pack(">hhff", 2, 0, 3.5, -4), None],
        )
        assert hs == _array(oids["halfvec"][0], [struct.pack(">hhee", 2, 0, 1.5, 2)])
        # sparsevec_send: dim, nnz, unused, 0-based indices, values
        assert ss == _array(oids["sparsevec"][0], [struct.pack(">iiiiiff", 3, 2, 0, 0, 2, 1, 2.5)])
        empty, sparse_null = conn.execute(
            "select vs, ss from t where id = 2", binary=True
        ).fetchone()
        assert empty == struct.pack(">iii", 0, 0, oids["vector"][0])  # no dimensions
        assert sparse_null == _array(oids["sparsevec"][0], [None])
        # array_agg of a vector(2) column and a slice are vector[] too
        conn.execute("create table v (id int, e vector(2))")
        conn.execute("insert into v values (1, '[1,2]'), (2, NULL), (3, '[0.5,-1]')")
        agg, sliced = conn.execute(
            "select array_agg(e order by id), (array_agg(e order by id))[2:3] from v",
            binary=True,
        ).fetchone()
        one, half = struct.pack(">hhff", 2, 0, 1, 2), struct.pack(">hhff", 2, 0, 0.5, -1)
        assert agg == _array(oids["vector"][0], [one, None, half])
        assert sliced == _array(oids["vector"][0], [None, half])


def test_pgvector_python_reads_and_writes_arrays(engine_server):
    with psycopg.connect(engine_server.dsn(), autocommit=True) as conn:
        _setup(conn)
        register_vector(conn)
        for binary in (False, True):
            vs, hs, ss = conn.execute(
                "select vs, hs, ss from t where id = 1", binary=binary
            ).fetchone()
            assert [None if v is None else v.to_list() for v in vs] == [[1, 2], [3.5, -4], None]
            assert [h.to_list() for h in hs] == [[1.5, 2]]
            assert [(s.dimensions(), s.indices(), s.values()) for s in ss] == [
                (3, [0, 2], [1, 2.5])
            ]
        a = np.array([0.25, -1], dtype=np.float32)
        conn.execute("insert into t (id, vs) values (10, %s)", ([a, None],))
        conn.execute("insert into t (id, vs) values (11, %b)", ([a, Vector([5, 6])],))
        conn.execute("insert into t (id, hs) values (12, %s)", ([HalfVector([1, 2])],))
        conn.execute("insert into t (id, hs) values (13, %b)", ([HalfVector([3, 4])],))
        conn.execute("insert into t (id, ss) values (14, %s)", ([SparseVector({1: 2}, 3)],))
        conn.execute("insert into t (id, ss) values (15, %b)", ([SparseVector({2: 1}, 3)],))
        got = conn.execute(
            "select id, vs::text, hs::text, ss::text from t where id >= 10 order by id"
        ).fetchall()
        assert got == [
            (10, '{"[0.25,-1]",NULL}', None, None),
            (11, '{"[0.25,-1]","[5,6]"}', None, None),
            (12, None, '{"[1,2]"}', None),
            (13, None, '{"[3,4]"}', None),
            (14, None, None, '{"{2:2}/3"}'),
            (15, None, None, '{"{3:1}/3"}'),
        ]
        # a parameter's typmod is applied to each element when it is assigned
        for fmt in ("%s", "%b"):
            with pytest.raises(psycopg.errors.DataException) as info:
                conn.execute(
                    f"insert into t (id, hs) values (16, {fmt})", ([HalfVector([1, 2, 3])],)
                )
            assert info.value.diag.message_primary == "expected 2 dimensions, not 3"
        found = conn.execute(
            "select id from t where %s = any(vs) order by id", (Vector([5, 6]),)
        ).fetchall()
        assert found == [(11,)]
        assert conn.execute("select %s::vector[]", ([a],)).fetchone() == ([Vector([0.25, -1])],)


def test_a_bad_element_of_a_text_parameter_fails_like_array_in(engine_server):
    with psycopg.connect(engine_server.dsn(), autocommit=True) as conn:
        _setup(conn)
        oid = _oids(conn)["_vector"][0]
        _send_typed(conn, '{"[1,2]"," [ 5 , 6 ] "}', oid)
        with pytest.raises(psycopg.errors.InvalidTextRepresentation) as info:
            _send_typed(conn, '{"[1,2]","[1,x]"}', oid)
        assert info.value.diag.message_primary == 'invalid input syntax for type vector: "[1,x]"'
        assert info.value.diag.statement_position is None  # a parameter has no position
        got = conn.execute("select vs::text from t where id = 20").fetchall()
        assert got == [('{"[1,2]","[5,6]"}',)]


def _send_typed(conn: psycopg.Connection, text: str, oid: int) -> None:
    """An INSERT whose parameter is sent as text with the type OID ``oid``."""
    from psycopg.adapt import Dumper

    class Raw(Dumper):
        def dump(self, obj: object) -> bytes:
            return str(obj).encode()

    Raw.oid = oid
    with conn.cursor() as cur:
        cur.adapters.register_dumper(str, Raw)
        cur.execute("insert into t (id, vs) values (20, %s)", (text,))


def test_binary_array_parameter_with_the_wrong_element_type(engine_server):
    from psycopg.adapt import Dumper
    from psycopg.pq import Format

    with psycopg.connect(engine_server.dsn(), autocommit=True) as conn:
        _setup(conn)
        oids = _oids(conn)

        class Raw(Dumper):
            format = Format.BINARY

            def dump(self, obj: object) -> bytes:
                assert isinstance(obj, bytes)
                return obj

        Raw.oid = oids["_vector"][0]
        good = _array(oids["vector"][0], [struct.pack(">hhff", 2, 0, 7, 8)])
        wrong = _array(oids["halfvec"][0], [struct.pack(">hhee", 2, 0, 7, 8)])
        with conn.cursor() as cur:
            cur.adapters.register_dumper(bytes, Raw)
            cur.execute("insert into t (id, vs) values (30, %b)", (good,))
            with pytest.raises(psycopg.errors.DatatypeMismatch) as info:
                cur.execute("insert into t (id, vs) values (31, %b)", (wrong,))
            assert info.value.diag.message_primary == "wrong element type"
        assert conn.execute("select vs::text from t where id >= 30").fetchall() == [('{"[7,8]"}',)]


def test_binary_copy_round_trips_arrays(engine_server):
    with psycopg.connect(engine_server.dsn(), autocommit=True) as conn:
        _setup(conn)
        register_vector(conn)
        conn.execute("create table u (id int, vs vector[], hs halfvec(2)[], ss sparsevec(3)[])")
        types = ["int4", "vector[]", "halfvec[]", "sparsevec[]"]
        with conn.cursor() as cur:
            with cur.copy("copy t to stdout (format binary)") as copy:
                copy.set_types(types)
                rows = list(copy.rows())
            assert len(rows) == 2
            with cur.copy("copy u from stdin (format binary)") as copy:
                copy.set_types(types)
                for row in rows:
                    copy.write_row(row)
                copy.write_row((3, [Vector([9, 9])], [HalfVector([1, 2]), None], []))
        assert conn.execute(
            "select id, vs::text, hs::text, ss::text from u order by id"
        ).fetchall() == [
            (1, '{"[1,2]","[3.5,-4]",NULL}', '{"[1.5,2]"}', '{"{1:1,3:2.5}/3"}'),
            (2, "{}", None, "{NULL}"),
            (3, '{"[9,9]"}', '{"[1,2]",NULL}', "{}"),
        ]
        # each element's typmod is checked, the COPY is all or nothing
        bad = [(4, None, [HalfVector([1, 2])], None), (5, None, [HalfVector([1, 2, 3])], None)]
        with pytest.raises(psycopg.errors.DataException) as info:
            _copy_rows(conn, "copy u from stdin (format binary)", types, bad)
        assert info.value.diag.message_primary == "expected 2 dimensions, not 3"
        assert conn.execute("select count(*) from u").fetchone() == (3,)


def _copy_rows(conn: psycopg.Connection, sql: str, types: list[str], rows: list[tuple]) -> None:
    with conn.cursor() as cur, cur.copy(sql) as copy:
        copy.set_types(types)
        for row in rows:
            copy.write_row(row)


def _copy_text(conn: psycopg.Connection, sql: str, data: str) -> None:
    with conn.cursor() as cur, cur.copy(sql) as copy:
        copy.write(data)


def test_text_copy_of_arrays_uses_array_in_and_array_out(engine_server):
    with psycopg.connect(engine_server.dsn(), autocommit=True) as conn:
        _setup(conn)
        conn.execute("create table u (id int, vs vector[], hs halfvec(2)[], ss sparsevec(3)[])")
        with conn.cursor() as cur:
            with cur.copy("copy u from stdin") as copy:
                copy.write('7\t{"[1,2]",NULL," [ 3 , 4 ] "}\t{"[1.5,2]"}\t{"{2:1,1:0}/3"}\n')
            with cur.copy("copy u to stdout") as copy:
                out = [bytes(chunk) for chunk in copy]
        assert b"".join(out) == b'7\t{"[1,2]",NULL,"[3,4]"}\t{"[1.5,2]"}\t{"{2:1}/3"}\n'
        with pytest.raises(psycopg.errors.InvalidTextRepresentation) as info:
            _copy_text(conn, "copy u (id, vs) from stdin", '8\t{"[1,x]"}\n')
        assert info.value.diag.message_primary == 'invalid input syntax for type vector: "[1,x]"'


@pytest.mark.parametrize(
    ("sql", "sqlstate", "message", "position"),
    [
        # input errors point at the literal (the column's input function, typmod -1)
        (
            "insert into t (id, vs) values (9, '{\"[1,x]\"}')",
            "22P02",
            'invalid input syntax for type vector: "[1,x]"',
            35,
        ),
        (
            "insert into t (id, hs) values (9, '{\"[1,70000]\"}')",
            "22003",
            '"70000" is out of range for type halfvec',
            35,
        ),
        (
            "insert into t (id, ss) values (9, '{\"{4:1}/3\"}')",
            "22000",
            "sparsevec index out of bounds",
            35,
        ),
        (
            "insert into v values ('[1,x]')",
            "22P02",
            'invalid input syntax for type vector: "[1,x]"',
            23,
        ),
        ("insert into v values ('[1,2]'), ('[nan,1]')", "22000", "NaN not allowed in vector", 34),
        (
            "update v set e = '[1,x]' where false",
            "22P02",
            'invalid input syntax for type vector: "[1,x]"',
            18,
        ),
        (
            'select 1, \'{"[1,2]","[]"}\'::vector[]',
            "22000",
            "vector must have at least 1 dimension",
            11,
        ),
        # the length coercion (typmod) runs after input: no position
        ("insert into v values ('[1,2,3]')", "22000", "expected 2 dimensions, not 3", None),
        (
            "insert into t (id, hs) values (9, '{\"[1,2,3]\"}')",
            "22000",
            "expected 2 dimensions, not 3",
            None,
        ),
        ("select '[1,2]'::vector(3)", "22000", "expected 3 dimensions, not 2", None),
        # a type name's typmod: typenameTypeMod points at the type name
        (
            "create table w (id int, e  vector(0))",
            "22023",
            "dimensions for type vector must be at least 1",
            28,
        ),
        (
            "create table w (e halfvec(16001)[])",
            "22023",
            "dimensions for type halfvec cannot exceed 16000",
            19,
        ),
        ("create table w (e vector(a))", "22P02", 'invalid input syntax for type integer: "a"', 19),
        (
            "create table w (e sparsevec(1.5))",
            "22P02",
            'invalid input syntax for type integer: "1.5"',
            19,
        ),
        ("create table w (e vector(2, 3))", "22023", "invalid type modifier", 19),
        (
            "select 1, '[1]'::vector(0)",
            "22023",
            "dimensions for type vector must be at least 1",
            18,
        ),
        (
            "select cast('[1]' as vector(-1))",
            "22023",
            "dimensions for type vector must be at least 1",
            22,
        ),
        (
            "alter table v add column f vector(0)",
            "22023",
            "dimensions for type vector must be at least 1",
            28,
        ),
    ],
)
def test_error_positions_over_the_wire(engine_server, sql, sqlstate, message, position):
    with psycopg.connect(engine_server.dsn(), autocommit=True) as conn:
        _setup(conn)
        conn.execute("create table v (e vector(2))")
        with pytest.raises(psycopg.Error) as info:
            conn.execute(sql)
        err = info.value
        assert (err.sqlstate, err.diag.message_primary) == (sqlstate, message)
        assert err.diag.statement_position == (None if position is None else str(position))
        assert conn.execute("select count(*) from v").fetchone() == (0,)


def test_embedded_rows_hold_vector_texts_like_a_single_vector(tmp_path: Path):
    conn = vecgres.connect(str(tmp_path / "db"))
    try:
        cur = conn.cursor()
        cur.execute("create extension vector")
        cur.execute("create table a (vs vector[], hs halfvec[], ss sparsevec[])")
        cur.execute("""insert into a values ('{"[1,2]",NULL}', '{"[1.5,2]"}', '{"{2:1}/2"}')""")
        conn.commit()
        cur.execute("select vs, hs, ss, vs[1], '[1,2]'::vector from a")
        assert cur.fetchall() == [(["[1,2]", None], ["[1.5,2]"], ["{2:1}/2"], "[1,2]", "[1,2]")]
    finally:
        conn.close()


def test_asyncpg_finds_the_array_types_through_pg_type(engine_server):
    import asyncio

    import asyncpg
    from pgvector.asyncpg import register_vector as register_asyncpg

    async def run() -> tuple[list[asyncpg.Record], list[asyncpg.Record]]:
        dsn = f"postgresql://postgres@127.0.0.1:{engine_server.port}/postgres?sslmode=disable"
        conn = await asyncpg.connect(dsn)
        try:
            await conn.execute("create extension if not exists vector")
            await register_asyncpg(conn)
            await conn.execute("create table t (id int, vs vector[], hs halfvec[], ss sparsevec[])")
            await conn.execute(
                """insert into t values (1, '{"[1,2]",NULL}', '{"[1.5,2]"}', '{"{1:1}/3"}')"""
            )
            # binary array_recv of each type, elements in pgvector's binary format
            await conn.execute(
                "insert into t values (2, $1, $2, $3)",
                [Vector([3, 4])],
                [HalfVector([1, 2]), None],
                [SparseVector({1: 2}, 3)],
            )
            read = await conn.fetch("select vs, hs, ss from t where id = 1")
            texts = await conn.fetch("select vs::text, hs::text, ss::text from t order by id")
            return read, texts
        finally:
            await conn.close()

    read, texts = asyncio.run(run())
    vs, hs, ss = read[0]
    assert [None if v is None else v.to_list() for v in vs] == [[1, 2], None]
    assert [h.to_list() for h in hs] == [[1.5, 2]]
    assert [(s.dimensions(), s.indices(), s.values()) for s in ss] == [(3, [0], [1])]
    assert [tuple(r) for r in texts] == [
        ('{"[1,2]",NULL}', '{"[1.5,2]"}', '{"{1:1}/3"}'),
        ('{"[3,4]"}', '{"[1,2]",NULL}', '{"{2:2}/3"}'),
    ]


def test_a_position_counts_from_the_start_of_a_multi_statement_query(engine_server):
    # the simple protocol's string holds several statements: PostgreSQL's cursor
    # position is an offset into the whole string (psql's caret on its line)
    with psycopg.connect(engine_server.dsn(), autocommit=True) as conn:
        conn.execute("create extension if not exists vector")
        for sql, position in [
            ("select 1; select '[1,x]'::vector", "18"),
            ("select 1;\n  select '{\"[1,x]\"}'::vector[]", "20"),
            ("create table a (id int);  create table b (e vector(0))", "45"),
        ]:
            with pytest.raises(psycopg.Error) as info:
                conn.execute(sql)
            assert info.value.diag.statement_position == position, sql
