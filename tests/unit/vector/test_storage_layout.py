"""The stored layouts of bit and sparsevec columns and the readers index code uses."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

import vecgres
from vecgres.errors import DataException
from vecgres.vector import storage


def test_bits_round_trip_and_packed_rows() -> None:
    texts = pa.array(["10110", None, "00001", "11111"])
    stored = storage.bits_to_storage(texts)
    assert stored.type == storage.BIT_STORAGE
    assert stored.field("len").to_pylist() == [5, 0, 5, 5]
    assert stored[0]["data"].as_py() == bytes([0b10110000])
    assert storage.bits_from_storage(stored).to_pylist() == texts.to_pylist()
    packed, nbits, valid = storage.packed_bits(stored)
    assert nbits == 5
    assert valid.tolist() == [True, False, True, True]
    assert packed.tolist() == [[0b10110000], [0], [0b00001000], [0b11111000]]


def test_varbit_lengths_differ() -> None:
    stored = storage.bits_to_storage(pa.array(["1", "", "110000001"]))
    assert storage.bits_from_storage(stored).to_pylist() == ["1", "", "110000001"]
    assert stored[2]["data"].as_py() == bytes([0b11000000, 0b10000000])
    with pytest.raises(DataException, match="different bit lengths 1 and 0"):
        storage.packed_bits(stored)


def test_sparse_round_trip_and_csr() -> None:
    texts = pa.array(["{1:1.5,3:-2}/5", None, "{}/2", "{2:0.1}/3"])
    stored = storage.sparse_to_storage(texts)
    assert stored.type == storage.SPARSE_STORAGE
    assert storage.sparse_from_storage(stored).to_pylist() == texts.to_pylist()
    indptr, indices, values, dims = storage.sparse_csr(stored.slice(0))
    assert indptr.tolist() == [0, 2, 2, 2, 3]
    assert indices.tolist() == [0, 2, 1]
    assert values.tolist() == [1.5, -2.0, np.float32(0.1)]
    assert dims.tolist() == [5, -1, 2, 3]
    indptr, indices, _, dims = storage.sparse_csr(stored.slice(3))
    assert indptr.tolist() == [0, 1]
    assert indices.tolist() == [1]
    assert dims.tolist() == [3]


def test_columns_are_stored_in_the_columnar_layouts(tmp_path: object) -> None:
    con = vecgres.connect(str(tmp_path))
    try:
        cur = con.cursor()
        cur.execute("CREATE TABLE t (id int, b bit(4), v varbit, s sparsevec(4))")
        cur.execute("INSERT INTO t VALUES (1, '1010', '1', '{4:2}/4'), (2, NULL, NULL, NULL)")
        con.commit()
        cur.execute("ALTER TABLE t ADD COLUMN d bit(2) DEFAULT B'01'")
        cur.execute("INSERT INTO t VALUES (3, '0001', '', '{}/4', '10')")
        cur.execute("SELECT id, b, v, s, d, b <~> '1111' FROM t ORDER BY id")
        assert cur.fetchall() == [
            (1, "1010", "1", "{4:2}/4", "01", 2.0),
            (2, None, None, None, "01", None),
            (3, "0001", "", "{}/4", "10", 3.0),
        ]
        con.commit()
    finally:
        con.close()
    con = vecgres.connect(str(tmp_path))
    try:
        cur = con.cursor()
        cur.execute("SELECT s, v FROM t WHERE b = '1010'")
        assert cur.fetchall() == [("{4:2}/4", "1")]
    finally:
        con.close()
