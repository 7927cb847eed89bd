"""Integer input as PostgreSQL 15 reads it: text Bind parameters and literals.

Expected SQLSTATEs and messages were recorded from the reference PostgreSQL 15
(tests/pgref) for the same statements: a well-formed number that does not fit
is 22003 ``value "..." is out of range for type ...``, anything but spaces, a
sign and digits is 22P02.
"""

from __future__ import annotations

import psycopg
import pytest

# (type, text parameter, PostgreSQL's value or (sqlstate, message))
PARAMS = [
    ("int2", "70000", ("22003", 'value "70000" is out of range for type smallint')),
    ("int2", "-32769", ("22003", 'value "-32769" is out of range for type smallint')),
    ("int4", "3000000000", ("22003", 'value "3000000000" is out of range for type integer')),
    (
        "int8",
        "9223372036854775808",
        ("22003", 'value "9223372036854775808" is out of range for type bigint'),
    ),
    (
        "int8",
        "-9223372036854775809",
        ("22003", 'value "-9223372036854775809" is out of range for type bigint'),
    ),
    ("int2", "abc", ("22P02", 'invalid input syntax for type smallint: "abc"')),
    ("int4", "1e3", ("22P02", 'invalid input syntax for type integer: "1e3"')),
    ("int4", " 12 ", 12),
    ("int2", "+5", 5),
    ("int2", "-32768", -32768),
    ("int8", "9223372036854775807", 9223372036854775807),
]


@pytest.mark.parametrize(("typ", "text", "expected"), PARAMS)
def test_text_parameter_bound_to_integer(engine_server, typ, text, expected):
    with psycopg.connect(engine_server.dsn(), autocommit=True) as conn:
        for prepare in (False, True):
            if isinstance(expected, int):
                row = conn.execute(f"select %s::{typ}", [text], prepare=prepare).fetchone()
                assert row == (expected,)
                continue
            with pytest.raises(psycopg.Error) as err:
                conn.execute(f"select %s::{typ}", [text], prepare=prepare)
            assert (err.value.diag.sqlstate, err.value.diag.message_primary) == expected
        # the connection goes on after the errors
        assert conn.execute("select 1").fetchone() == (1,)


def test_integer_parameter_of_a_table_column(engine_server):
    with psycopg.connect(engine_server.dsn(), autocommit=True) as conn:
        conn.execute("create table small (id smallint primary key, name text)")
        conn.execute("insert into small values (1, 'one')")
        with pytest.raises(psycopg.errors.NumericValueOutOfRange) as err:
            conn.execute("insert into small values (%s, 'big')", ["70000"])
        assert err.value.diag.message_primary == 'value "70000" is out of range for type smallint'
        got = conn.execute("select name from small where id = %s", ["1"], prepare=True)
        assert got.fetchall() == [("one",)]
        with pytest.raises(psycopg.errors.NumericValueOutOfRange):
            conn.execute("select name from small where id = %s", ["70000"], prepare=True)


LITERALS = [
    ("select '70000'::int2", ("22003", 'value "70000" is out of range for type smallint')),
    ("select '3000000000'::int4", ("22003", 'value "3000000000" is out of range for type integer')),
    (
        "select cast('99999999999999999999' as int8)",
        ("22003", 'value "99999999999999999999" is out of range for type bigint'),
    ),
    ("select '1e3'::int4", ("22P02", 'invalid input syntax for type integer: "1e3"')),
    ("select 70000::int2", ("22003", "smallint out of range")),
]


@pytest.mark.parametrize(("sql", "expected"), LITERALS)
def test_integer_literal_input(engine_server, sql, expected):
    with psycopg.connect(engine_server.dsn(), autocommit=True) as conn:
        with pytest.raises(psycopg.Error) as err:
            conn.execute(sql)
        assert (err.value.diag.sqlstate, err.value.diag.message_primary) == expected
        assert conn.execute("select ' 12 '::int4").fetchone() == (12,)


# a string literal or an unknown-type parameter compared with an integer is read as that
# integer type, compared with a numeric as a numeric (PostgreSQL 15's answers, recorded
# from tests/pgref)
COMPARED = [
    ("select 1 where 1 = '1e3'", ("22P02", 'invalid input syntax for type integer: "1e3"')),
    ("select 1 where '1e3' = 1", ("22P02", 'invalid input syntax for type integer: "1e3"')),
    ("select 1 where 1::bigint = '1e3'", ("22P02", 'invalid input syntax for type bigint: "1e3"')),
    (
        "select 1 where 1::smallint < '1e3'",
        ("22P02", 'invalid input syntax for type smallint: "1e3"'),
    ),
    (
        "select 1 where 1 = '99999999999'",
        ("22003", 'value "99999999999" is out of range for type integer'),
    ),
    ("select 1 where 1 in (2, '1e3')", ("22P02", 'invalid input syntax for type integer: "1e3"')),
    (
        "select 1 where 1 between '0' and '1e3'",
        ("22P02", 'invalid input syntax for type integer: "1e3"'),
    ),
    (
        "select 1 where 3000000000 = '1e3'",
        ("22P02", 'invalid input syntax for type bigint: "1e3"'),
    ),
    ("select 1 where 1 <> ' 12 '", [(1,)]),
    ("select 1 where 1 = '1'", [(1,)]),
    # with a numeric constant the literal is an unconstrained numeric, not the constant's
    # DECIMAL(p, s)
    ("select 1 where 1.5 = '1e3'", []),
    ("select 1 where 1.5 < '1e3'", [(1,)]),
    ("select 1 where '1.50' = 1.5", [(1,)]),
    ("select 1 where 1.5 = ' 1.5 '", [(1,)]),
    ("select 1 where 1.5 in (2, '15e-1')", [(1,)]),
    ("select 1 where 99999999999999999999 = '1e20'", []),
    ("select 1 where 1.5 = 'NaN'", []),
    ("select 1 where 1.5 = 'abc'", ("22P02", 'invalid input syntax for type numeric: "abc"')),
    ("select 1 where 1.5 = '1.5.'", ("22P02", 'invalid input syntax for type numeric: "1.5."')),
]


@pytest.mark.parametrize(("sql", "expected"), COMPARED)
def test_string_literal_compared_with_an_integer(engine_server, sql, expected):
    with psycopg.connect(engine_server.dsn(), autocommit=True) as conn:
        if isinstance(expected, list):
            assert conn.execute(sql).fetchall() == expected
            return
        with pytest.raises(psycopg.Error) as err:
            conn.execute(sql)
        assert (err.value.diag.sqlstate, err.value.diag.message_primary) == expected
        assert conn.execute("select 1 where 2 = '2'").fetchall() == [(1,)]


def test_text_parameter_compared_with_an_integer_constant(engine_server):
    with psycopg.connect(engine_server.dsn(), autocommit=True) as conn:
        for prepare in (False, True):
            with pytest.raises(psycopg.errors.InvalidTextRepresentation) as err:
                conn.execute("select 1 where 1 = %s", ["1e3"], prepare=prepare)
            assert err.value.diag.message_primary == 'invalid input syntax for type integer: "1e3"'
            got = conn.execute("select 1 where 1 = %s", [" 1 "], prepare=prepare)
            assert got.fetchall() == [(1,)]
            assert conn.execute("select 1 where %s = 1::bigint", [" 7 "]).fetchall() == []
            # a bigint constant makes the parameter a bigint
            got = conn.execute("select 1 where %s in (3000000000)", ["3000000000"])
            assert got.fetchall() == [(1,)]
