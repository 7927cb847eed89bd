"""An input function's error points at its literal (PostgreSQL's LINE/caret): pgvector
type and bit literals in casts, operators, function arguments and values assigned to
columns; a typmod mismatch (length coercion) carries no position; a bad typmod in a type
name points at the type name."""

from __future__ import annotations

import pytest

from vecgres import errors


@pytest.mark.parametrize(
    ("sql", "message", "position"),
    [
        ("SELECT '[7,x]'::vector", 'invalid input syntax for type vector: "[7,x]"', 8),
        ("SELECT 1,  '[]'::halfvec(2)", "halfvec must have at least 1 dimension", 12),
        ("SELECT '{3:1}/2'::sparsevec", "sparsevec index out of bounds", 8),
        ("SELECT '[7,8]'::vector <-> '[7,'", 'invalid input syntax for type vector: "[7,"', 28),
        (
            "SELECT l1_distance('[1]'::halfvec, '[nan]')",
            "NaN not allowed in halfvec",
            36,
        ),
        ("SELECT '102'::bit(3)", '"2" is not a valid binary digit', 8),
        ("SELECT hamming_distance('11', '1z')", '"z" is not a valid binary digit', 31),
        ("SELECT '[7,8,9]'::vector(2)", "expected 2 dimensions, not 3", None),
        ("SELECT '{}/4'::sparsevec(3)", "expected 3 dimensions, not 4", None),
    ],
)
def test_literal_error_positions(cur, sql: str, message: str, position: int | None) -> None:
    with pytest.raises(errors.VecgresError) as info:
        cur.execute(sql)
    err = info.value
    assert (err.message, err.position) == (message, position)


# PostgreSQL coerces an untyped literal in INSERT ... VALUES and UPDATE ... SET to the
# column's type while it reads the statement: the input function (typmod -1) points at
# the literal, the typmod's length coercion does not (checked on the reference server
# with int and varchar(2) columns); a type name's typmod error points at the type name
# (typenameTypeMod; numeric(0), varchar(0) and bit(0) there).
@pytest.mark.parametrize(
    ("sql", "message", "position"),
    [
        ("INSERT INTO t (v) VALUES ('[1,x]')", 'invalid input syntax for type vector: "[1,x]"', 27),
        ("INSERT INTO t (h) VALUES ('[1,65520]')", '"65520" is out of range for type halfvec', 27),
        ("INSERT INTO t (s) VALUES ('{1:1}/2'), ('{0:1}/2')", "sparsevec index out of bounds", 40),
        ("INSERT INTO t (b) VALUES ('10x')", '"x" is not a valid binary digit', 27),
        (
            'INSERT INTO t (vs) VALUES (\'{"[1,2]","[Infinity,1]"}\')',
            "infinite value not allowed in vector",
            28,
        ),
        ("INSERT INTO t (vs) VALUES ('{[1,2]}')", 'invalid input syntax for type vector: "[1"', 28),
        ("INSERT INTO t (vs) VALUES ('{\"[1,2]\"')", 'malformed array literal: "{"[1,2]""', 28),
        (
            "UPDATE t SET v = '[1,,2]' WHERE false",
            'invalid input syntax for type vector: "[1,,2]"',
            18,
        ),
        (
            "INSERT INTO t (h, v) SELECT NULL, '[1,x]'",
            'invalid input syntax for type vector: "[1,x]"',
            35,
        ),
        ("UPDATE t SET v = '[1,2,3]' WHERE false", "expected 2 dimensions, not 3", None),
        ("INSERT INTO t (v) VALUES ('[1,2,3]')", "expected 2 dimensions, not 3", None),
        (
            'INSERT INTO t (vs) VALUES (\'{"[1,2]","[1,2,3]"}\')',
            "expected 2 dimensions, not 3",
            None,
        ),
        (
            "INSERT INTO t (b) VALUES ('1010')",
            "bit string length 4 does not match type bit(3)",
            None,
        ),
        (
            "CREATE TABLE u (a int, x  vector(0))",
            "dimensions for type vector must be at least 1",
            27,
        ),
        (
            "CREATE TABLE u (x sparsevec(1000000001))",
            "dimensions for type sparsevec cannot exceed 1000000000",
            19,
        ),
        ("CREATE TABLE u (x halfvec(0)[])", "dimensions for type halfvec must be at least 1", 19),
        ("CREATE TABLE u (x vector(a))", 'invalid input syntax for type integer: "a"', 19),
        ("CREATE TABLE u (x vector('3x'))", 'invalid input syntax for type integer: "3x"', 19),
        ("CREATE TABLE u (x vector(1.5))", 'invalid input syntax for type integer: "1.5"', 19),
        ("CREATE TABLE u (x vector(1, 2))", "invalid type modifier", 19),
        (
            "SELECT 1, CAST('[1]' AS halfvec(16001))",
            "dimensions for type halfvec cannot exceed 16000",
            25,
        ),
        ("SELECT 1, '[1]'::vector(a)", 'invalid input syntax for type integer: "a"', 18),
    ],
)
def test_assignment_and_typmod_error_positions(
    cur, sql: str, message: str, position: int | None
) -> None:
    cur.execute("CREATE EXTENSION IF NOT EXISTS vector")
    cur.execute("CREATE TABLE t (v vector(2), h halfvec, s sparsevec, b bit(3), vs vector(2)[])")
    with pytest.raises(errors.VecgresError) as info:
        cur.execute(sql)
    err = info.value
    assert (err.message, err.position) == (message, position)
    cur.execute("SELECT count(*) FROM t")
    assert cur.fetchall() == [(0,)]
