"""The value layer of halfvec, sparsevec and bit: pgvector's results and errors."""

from __future__ import annotations

import math
import struct

import numpy as np
import pytest

from vecgres.errors import VecgresError
from vecgres.vector import bits, half
from vecgres.vector import sparse as S
from vecgres.vector.binary import sparsevec_recv, sparsevec_send


def _err(fn: object, *args: object) -> VecgresError:
    with pytest.raises(VecgresError) as info:
        fn(*args)  # type: ignore[operator]
    return info.value


# ---------------------------------------------------------------- halfvec


def test_to_half_rounds_and_checks_range() -> None:
    assert half.to_half([1.23456, 65519, -65519, 1e-8]).tolist() == [1.234375, 65504, -65504, 0]
    e = _err(half.to_half, [1, 65520])
    assert (e.code, e.message) == ("22003", '"65520" is out of range for type halfvec')


def test_half_arith_overflow_underflow_and_dims() -> None:
    f = np.float32
    assert half.arith(np.array([1, 2], f), np.array([3, 4], f), "*").tolist() == [3, 8]
    assert _err(half.arith, np.array([65504], f), np.array([65504], f), "+").message == (
        "value out of range: overflow"
    )
    assert _err(half.arith, np.array([1e-7], f), np.array([1e-7], f), "*").message == (
        "value out of range: underflow"
    )
    assert _err(half.arith, np.array([1, 2], f), np.array([3], f), "-").message == (
        "different halfvec dimensions 2 and 1"
    )


# ---------------------------------------------------------------- sparsevec


def test_sparse_parse_format_and_distances() -> None:
    a = S.parse(" { 3 : 3.5 , 1:1.5 , 2:0 } / 5 ")
    assert a.text() == "{1:1.5,3:3.5}/5"
    assert a.indices.tolist() == [0, 2]
    b = S.parse("{1:3,2:4}/5")
    assert S.l2_distance(S.parse("{}/5"), b) == 5
    assert S.inner_product(a, b) == 4.5
    assert S.l1_distance(S.parse("{1:3e38}/1"), S.parse("{1:-3e38}/1")) == math.inf
    assert math.isnan(S.cosine_distance(S.parse("{}/1"), S.parse("{}/1")))
    assert S.cosine_distance(S.parse("{1:1}/2"), S.parse("{2:2}/2")) == 1
    assert _err(S.l2_distance, a, S.parse("{}/4")).message == (
        "different sparsevec dimensions 5 and 4"
    )


def test_sparse_cmp_normalize_and_dense_casts() -> None:
    p = S.parse
    assert S.cmp(p("{1:1,2:2}/2"), p("{1:2,2:3,3:4}/3")) == -1
    assert S.cmp(p("{1:1,2:2,3:3}/3"), p("{}/3")) == 1
    assert S.cmp(p("{1:2,2:3}/2"), p("{1:1,2:2,3:3}/3")) == 1
    assert S.l2_normalize(p("{1:3e38,2:1e-37}/2")).text() == "{1:1}/2"
    assert S.from_dense(np.array([0, 1.5, 0, -2], np.float32)).text() == "{2:1.5,4:-2}/4"
    assert S.to_dense(p("{2:1.5}/3")).tolist() == [0, 1.5, 0]
    assert _err(S.from_dense, np.ones(6, np.float32), 5).message == "expected 5 dimensions, not 6"
    e = _err(S.to_dense, p("{}/16001"))
    assert (e.code, e.message) == ("54000", "vector cannot have more than 16000 dimensions")
    e = _err(S.to_dense, p("{1:65520}/1"), -1, "halfvec")
    assert e.message == '"65520" is out of range for type halfvec'


def test_sparse_batch_distances() -> None:
    rows = [S.parse("{1:1}/3"), None, S.parse("{2:2,3:1}/3")]
    q = S.parse("{1:1,2:1}/3")
    out = S.distances("l2_squared", rows, q)
    assert out[0] == 1
    assert math.isnan(out[1])
    assert out[2] == 3
    assert S.distances("negative_ip", rows, q).tolist()[::2] == [-1, -2]


def test_sparsevec_binary_round_trip_and_errors() -> None:
    dim, idx, vals = S.parse("{2:1.5,5:-2}/6")
    buf = sparsevec_send(dim, idx, vals)
    assert buf == struct.pack(">iiiiiff", 6, 2, 0, 1, 4, 1.5, -2.0)
    d2, i2, v2 = sparsevec_recv(buf)
    assert (d2, i2.tolist(), v2.tolist()) == (6, [1, 4], [1.5, -2.0])
    bad_order = struct.pack(">iiiiiff", 6, 2, 0, 4, 1, 1.0, 2.0)
    assert _err(sparsevec_recv, bad_order).message == (
        "sparsevec indices must be in ascending order"
    )
    zero = struct.pack(">iiiif", 6, 1, 0, 1, 0.0)
    assert _err(sparsevec_recv, zero).message == (
        "binary representation of sparsevec cannot contain zero values"
    )
    assert _err(sparsevec_recv, buf, 5).message == "expected 5 dimensions, not 6"
    # CheckNnz: more entries than dimensions is a limit (54000), a negative count data
    too_many = struct.pack(">iiiiiff", 1, 2, 0, 0, 1, 1.0, 2.0)
    e = _err(sparsevec_recv, too_many)
    assert (e.code, e.message) == ("54000", "sparsevec cannot have more elements than dimensions")
    e = _err(sparsevec_recv, struct.pack(">iii", 3, -2, 0))
    assert (e.code, e.message) == ("22000", "sparsevec cannot have negative number of elements")


# ---------------------------------------------------------------- bit


def test_bit_distances() -> None:
    assert bits.hamming_distance("111", "100") == 2
    assert bits.jaccard_distance("1111", "1110") == 0.25
    assert bits.jaccard_distance("", "") == 1
    assert _err(bits.hamming_distance, "111", "00").message == "different bit lengths 3 and 2"
    packed, n = bits.pack(["1010", "0000", "1111"])
    assert n == 4
    assert bits.hamming_distances(packed, "1000").tolist() == [1, 1, 3]
    assert bits.jaccard_distances(packed, "1000").tolist() == [0.5, 1, 0.75]


def test_bit_input_casts_and_binary() -> None:
    assert bits.bit_in("B101") == "101"
    assert bits.bit_in("x1F") == "00011111"
    e = _err(bits.bit_in, "102")
    assert (e.code, e.message) == ("22P02", '"2" is not a valid binary digit')
    e = _err(bits.bit_in, "10", 3)
    assert (e.code, e.message) == ("22026", "bit string length 2 does not match type bit(3)")
    assert _err(bits.bit_in, "1010", 3, True).message == (
        "bit string too long for type bit varying(3)"
    )
    assert bits.bit_cast("10", 3) == "100"
    assert bits.bit_cast("1010", 3, True) == "101"
    assert bits.bit_send("1011") == struct.pack(">iB", 4, 0b10110000)
    assert bits.bit_recv(struct.pack(">iBB", 9, 0xFF, 0x80)) == "111111111"


def test_sparse_batch_equals_one_row_functions() -> None:
    """The vectorised kernel sums in the same order as the one-row functions."""
    rng = np.random.default_rng(7)
    for _ in range(60):
        dim = int(rng.integers(1, 30))

        def rand(dim: int = dim) -> S.Sparse:
            scale = 10.0 ** rng.integers(-3, 4)
            v = np.where(rng.random(dim) < 0.4, rng.standard_normal(dim) * scale, 0)
            return S.from_dense(v.astype(np.float32))

        rows: list[S.Sparse | None] = [rand() if rng.random() > 0.2 else None for _ in range(8)]
        q = rand()
        for metric, fn in S._METRICS.items():
            got = S.distances(metric, rows, q)
            for row, value in zip(rows, got, strict=True):
                if row is None:
                    assert math.isnan(value)
                    continue
                want = fn(row, q)
                assert (math.isnan(want) and math.isnan(value)) or want == value


def test_sparse_stored_form_parses_like_input() -> None:
    for text in ("{}/3", "{1:1.5,3:-2e-05}/3", "{2:3.4028235e+38}/2", "{1:-9.36753e-40}/1"):
        a, b = S.parse(text), S.parse_stored(text)
        assert (a.dim, a.indices.tolist()) == (b.dim, b.indices.tolist())
        assert a.values.tobytes() == b.values.tobytes()
    # subnormal results are kept (only underflow to zero is out of range)
    assert S.parse("{1:1e-40}/1").text() == "{1:1e-40}/1"
    assert _err(S.parse, "{1:1e-46}/1").message == '"1e-46" is out of range for type sparsevec'
