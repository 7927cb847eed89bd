"""The pgv_* DuckDB UDFs through a real DuckDB connection, and error decoding."""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa
import pytest

from vecgres.errors import DataException, InvalidTextRepresentation, VecgresError
from vecgres.executor.udfs import decode_udf_error, encode_udf_error, register_vector_udfs
from vecgres.vector import format_vector


@pytest.fixture
def con() -> Iterator[duckdb.DuckDBPyConnection]:
    c = duckdb.connect()
    register_vector_udfs(c)
    values = pa.array(np.array([0, 0, 0, 3, 4, 0, 1, 2, 3], dtype=np.float32))
    col = pa.FixedSizeListArray.from_arrays(values, 3)
    # a NULL row too
    col = pa.concat_arrays([col, pa.array([None], type=col.type)])
    c.register("items", pa.table({"id": [1, 2, 3, 4], "v": col}))
    c.register(
        "mixed", pa.table({"v": pa.array([[1.0, 2.0], [1.0, 2.0, 3.0]], pa.list_(pa.float32()))})
    )
    yield c
    c.close()


def q(con: duckdb.DuckDBPyConnection, sql: str) -> list[Any]:
    return [r[0] if len(r) == 1 else r for r in con.sql(sql).fetchall()]


def sql_error(con: duckdb.DuckDBPyConnection, sql: str) -> VecgresError:
    with pytest.raises(duckdb.Error) as info:
        con.sql(sql).fetchall()
    decoded = decode_udf_error(str(info.value))
    assert decoded is not None, str(info.value)
    return decoded


Q = "[0,0,3]::FLOAT[]"


def test_distances(con: duckdb.DuckDBPyConnection) -> None:
    assert q(con, f"SELECT pgv_l2_distance(v, {Q}) FROM items ORDER BY id") == [
        3.0,
        math.sqrt(34),
        math.sqrt(5),
        None,
    ]
    assert q(con, f"SELECT pgv_inner_product(v, {Q}) FROM items ORDER BY id") == [
        0.0,
        0.0,
        9.0,
        None,
    ]
    assert q(con, f"SELECT pgv_negative_inner_product(v, {Q}) FROM items ORDER BY id") == [
        -0.0,
        -0.0,
        -9.0,
        None,
    ]
    got = q(con, f"SELECT pgv_cosine_distance(v, {Q}) FROM items ORDER BY id")
    assert math.isnan(got[0])
    assert got[1] == 1.0
    assert got[3] is None
    assert q(con, f"SELECT pgv_l1_distance(v, {Q}) FROM items ORDER BY id") == [
        3.0,
        10.0,
        3.0,
        None,
    ]
    # ORDER BY distance, the shape the planner will generate
    assert q(
        con, f"SELECT id FROM items WHERE v IS NOT NULL ORDER BY pgv_l2_distance(v, {Q}) LIMIT 2"
    ) == [3, 1]


def test_functions(con: duckdb.DuckDBPyConnection) -> None:
    assert q(con, "SELECT pgv_vector_dims(v) FROM items ORDER BY id") == [3, 3, 3, None]
    assert q(con, "SELECT pgv_vector_norm(v) FROM items ORDER BY id")[:2] == [0.0, 5.0]
    assert q(con, "SELECT pgv_vector_out(pgv_l2_normalize(v)) FROM items ORDER BY id") == [
        "[0,0,0]",
        "[0.6,0.8,0]",
        format_vector(np.array([1, 2, 3]) / np.sqrt(14)),
        None,
    ]
    assert q(con, f"SELECT pgv_vector_out(pgv_add(v, {Q})) FROM items ORDER BY id") == [
        "[0,0,3]",
        "[3,4,3]",
        "[1,2,6]",
        None,
    ]
    assert q(con, f"SELECT pgv_vector_out(pgv_sub(v, {Q})) FROM items ORDER BY id")[1] == "[3,4,-3]"
    assert q(con, f"SELECT pgv_vector_out(pgv_mul(v, {Q})) FROM items ORDER BY id")[2] == "[0,0,9]"
    assert (
        q(con, "SELECT pgv_vector_out(pgv_concat(v, [9]::FLOAT[])) FROM items ORDER BY id")[1]
        == "[3,4,0,9]"
    )
    assert q(con, "SELECT pgv_vector_out(pgv_subvector(v, 2, 9)) FROM items ORDER BY id") == [
        "[0,0]",
        "[4,0]",
        "[2,3]",
        None,
    ]
    assert q(con, "SELECT pgv_binary_quantize(v) FROM items ORDER BY id") == [
        "000",
        "110",
        "111",
        None,
    ]
    assert q(con, f"SELECT pgv_vector_cmp(v, {Q}) FROM items ORDER BY id") == [-1, 1, 1, None]
    for name, want in [
        ("lt", [True, False, False]),
        ("le", [True, False, False]),
        ("eq", [False, False, False]),
        ("ne", [True, True, True]),
        ("ge", [False, True, True]),
        ("gt", [False, True, True]),
    ]:
        assert q(con, f"SELECT pgv_{name}(v, {Q}) FROM items ORDER BY id") == [*want, None]
    assert q(con, "SELECT pgv_gt([1,2,3]::FLOAT[], [1,2]::FLOAT[])") == [True]
    assert q(con, "SELECT pgv_vector_cmp([1,2]::FLOAT[], [2,3,4]::FLOAT[])") == [-1]


def test_text_io(con: duckdb.DuckDBPyConnection) -> None:
    assert q(con, "SELECT pgv_vector_in(' [ 1,  2 ,    3  ] ', -1)") == [[1.0, 2.0, 3.0]]
    assert q(con, "SELECT pgv_vector_out(pgv_vector_in('[1.5e38,-1e-46]', 2))") == ["[1.5e+38,-0]"]
    assert q(con, "SELECT pgv_vector_in(NULL, -1)") == [None]
    assert q(con, "SELECT pgv_vector_out(v) FROM items ORDER BY id") == [
        "[0,0,0]",
        "[3,4,0]",
        "[1,2,3]",
        None,
    ]
    assert q(con, "SELECT pgv_vector_out(v) FROM mixed") == ["[1,2]", "[1,2,3]"]
    assert q(con, "SELECT pgv_check_typmod(v, 3) FROM items ORDER BY id")[1] == [3.0, 4.0, 0.0]


def test_aggregates(con: duckdb.DuckDBPyConnection) -> None:
    assert q(con, "SELECT pgv_vector_out(pgv_avg_list(list(v ORDER BY id))) FROM items") == [
        "[1.3333334,2,1]"
    ]
    assert q(con, "SELECT pgv_vector_out(pgv_sum_list(list(v ORDER BY id))) FROM items") == [
        "[4,6,3]"
    ]
    e = sql_error(con, "SELECT pgv_avg_list(list(v)) FROM mixed")
    assert (e.code, e.message) == ("22000", "expected 2 dimensions, not 3")
    e = sql_error(con, "SELECT pgv_sum_list(list(v)) FROM mixed")
    assert (e.code, e.message) == ("22000", "different vector dimensions 2 and 3")
    e = sql_error(con, "SELECT pgv_sum_list([[3e38]::FLOAT[], [3e38]::FLOAT[]])")
    assert (e.code, e.message) == ("22003", "value out of range: overflow")


def test_errors_round_trip(con: duckdb.DuckDBPyConnection) -> None:
    e = sql_error(con, "SELECT pgv_l2_distance(v, [1,2]::FLOAT[]) FROM items")
    assert isinstance(e, DataException)
    assert (e.code, e.message) == ("22000", "different vector dimensions 3 and 2")
    e = sql_error(con, "SELECT pgv_l2_distance(v, [1,2]::FLOAT[]) FROM mixed")
    assert e.message == "different vector dimensions 3 and 2"
    e = sql_error(con, "SELECT pgv_vector_in('1,2', -1)")
    assert isinstance(e, InvalidTextRepresentation)
    assert e.detail == 'Vector contents must start with "[".'
    e = sql_error(con, "SELECT pgv_vector_in('[1,2,3]', 2)")
    assert e.message == "expected 2 dimensions, not 3"
    e = sql_error(con, "SELECT pgv_check_typmod(v, 2) FROM items")
    assert e.message == "expected 2 dimensions, not 3"
    e = sql_error(con, "SELECT pgv_add([3e38]::FLOAT[], [3e38]::FLOAT[])")
    assert (e.code, e.message) == ("22003", "value out of range: overflow")
    e = sql_error(con, "SELECT pgv_subvector(v, 5, 1) FROM items")
    assert e.message == "vector must have at least 1 dimension"
    e = sql_error(con, "SELECT pgv_concat(v, repeat([1]::FLOAT[], 15998)) FROM items")
    assert (e.code, e.message) == ("54000", "vector cannot have more than 16000 dimensions")


def test_decode() -> None:
    err = InvalidTextRepresentation(
        'invalid input syntax for type vector: "x\x1e"', detail="D", hint="H"
    )
    text = "Invalid Input Error: Python exception ...: UdfError: " + encode_udf_error(err) + " tail"
    back = decode_udf_error(text)
    assert isinstance(back, InvalidTextRepresentation)
    assert (back.message, back.detail, back.hint, back.code) == (err.message, "D", "H", "22P02")
    assert decode_udf_error("Binder Error: no such function") is None
    odd = decode_udf_error('\x1eVGERR{"sqlstate": "22004", "message": "m"}\x1e')
    assert odd is not None
    assert odd.code == "22004"
