"""Functions, operators and aggregates against pgvector's
test/expected/vector_type.out and cast.out."""

from __future__ import annotations

import math
from collections.abc import Callable
from decimal import Decimal

import numpy as np
import pytest

from vecgres.errors import VecgresError
from vecgres.vector import (
    VectorAccumulator,
    binary_quantize,
    cosine_distance,
    cosine_distances,
    format_vector,
    inner_product,
    inner_products,
    l1_distance,
    l1_distances,
    l2_distance,
    l2_distances,
    l2_normalize,
    negative_inner_product,
    negative_inner_products,
    parse_vector,
    rowwise_cmp,
    rowwise_distances,
    subvector,
    vector_add,
    vector_avg,
    vector_cmp,
    vector_concat,
    vector_dims,
    vector_eq,
    vector_from_array,
    vector_ge,
    vector_gt,
    vector_le,
    vector_lt,
    vector_mul,
    vector_ne,
    vector_norm,
    vector_sub,
    vector_sum,
)


def v(text: str) -> np.ndarray:
    return parse_vector(text)


def err(fn: Callable[[], object], sqlstate: str, message: str) -> None:
    with pytest.raises(VecgresError) as info:
        fn()
    assert (info.value.code, info.value.message) == (sqlstate, message)


def test_arithmetic() -> None:
    assert format_vector(vector_add(v("[1,2,3]"), v("[4,5,6]"))) == "[5,7,9]"
    assert format_vector(vector_sub(v("[1,2,3]"), v("[4,5,6]"))) == "[-3,-3,-3]"
    assert format_vector(vector_mul(v("[1,2,3]"), v("[4,5,6]"))) == "[4,10,18]"
    assert format_vector(vector_concat(v("[1,2,3]"), v("[4,5]"))) == "[1,2,3,4,5]"
    err(lambda: vector_add(v("[3e38]"), v("[3e38]")), "22003", "value out of range: overflow")
    err(lambda: vector_sub(v("[-3e38]"), v("[3e38]")), "22003", "value out of range: overflow")
    err(lambda: vector_mul(v("[1e37]"), v("[1e37]")), "22003", "value out of range: overflow")
    err(lambda: vector_mul(v("[1e-37]"), v("[1e-37]")), "22003", "value out of range: underflow")
    for f in (vector_add, vector_sub, vector_mul):
        err(lambda f=f: f(v("[1,2]"), v("[3]")), "22000", "different vector dimensions 2 and 1")
    err(
        lambda: vector_concat(np.zeros(16000, np.float32), v("[1]")),
        "54000",
        "vector cannot have more than 16000 dimensions",
    )


CMP = [
    ("[1,2,3]", "[1,2,3]", 0),
    ("[1,2,3]", "[0,0,0]", 1),
    ("[0,0,0]", "[1,2,3]", -1),
    ("[1,2]", "[1,2,3]", -1),
    ("[1,2,3]", "[1,2]", 1),
    ("[1,2]", "[2,3,4]", -1),
    ("[2,3]", "[1,2,3]", 1),
    ("[-0]", "[0]", 0),
]


@pytest.mark.parametrize(("a", "b", "expected"), CMP)
def test_cmp(a: str, b: str, expected: int) -> None:
    x, y = v(a), v(b)
    assert vector_cmp(x, y) == expected
    assert vector_lt(x, y) == (expected < 0)
    assert vector_le(x, y) == (expected <= 0)
    assert vector_eq(x, y) == (expected == 0)
    assert vector_ne(x, y) == (expected != 0)
    assert vector_ge(x, y) == (expected >= 0)
    assert vector_gt(x, y) == (expected > 0)
    if len(x) == len(y):
        assert rowwise_cmp(x[None, :], y[None, :]).tolist() == [expected]


def test_norms_and_distances() -> None:
    assert vector_dims(v("[1,2,3]")) == 3
    assert round(vector_norm(v("[1,1]")), 5) == 1.41421
    assert vector_norm(v("[3,4]")) == 5
    assert vector_norm(v("[0,1]")) == 1
    assert np.float32(vector_norm(v("[3e37,4e37]"))) == np.float32(5e37)
    assert vector_norm(v("[0,0]")) == 0
    assert l2_distance(v("[0,0]"), v("[3,4]")) == 5
    assert l2_distance(v("[0,0]"), v("[0,1]")) == 1
    assert l2_distance(v("[3e38]"), v("[-3e38]")) == math.inf
    assert l2_distance(v("[1,1,1,1,1,1,1,1,1]"), v("[1,1,1,1,1,1,1,4,5]")) == 5
    assert inner_product(v("[1,2]"), v("[3,4]")) == 11
    assert inner_product(v("[3e38]"), v("[3e38]")) == math.inf
    assert inner_product(v("[1,1,1,1,1,1,1,1,1]"), v("[1,2,3,4,5,6,7,8,9]")) == 45
    assert negative_inner_product(v("[1,2]"), v("[3,4]")) == -11
    assert cosine_distance(v("[1,2]"), v("[2,4]")) == 0
    assert math.isnan(cosine_distance(v("[1,2]"), v("[0,0]")))
    assert cosine_distance(v("[1,1]"), v("[1,1]")) == 0
    assert cosine_distance(v("[1,0]"), v("[0,2]")) == 1
    assert cosine_distance(v("[1,1]"), v("[-1,-1]")) == 2
    assert cosine_distance(v("[1,1]"), v("[1.1,1.1]")) == 0
    assert cosine_distance(v("[1,1]"), v("[-1.1,-1.1]")) == 2
    assert math.isnan(cosine_distance(v("[3e38]"), v("[3e38]")))
    nine = v("[1,2,3,4,5,6,7,8,9]")
    assert cosine_distance(nine, nine) == 0
    assert cosine_distance(nine, -nine) == 2
    assert l1_distance(v("[0,0]"), v("[3,4]")) == 7
    assert l1_distance(v("[0,0]"), v("[0,1]")) == 1
    assert l1_distance(v("[3e38]"), v("[-3e38]")) == math.inf
    assert l1_distance(nine, nine) == 0
    assert l1_distance(nine, v("[0,3,2,5,4,7,6,9,8]")) == 9
    for f in (l2_distance, inner_product, cosine_distance, l1_distance):
        err(lambda f=f: f(v("[1,2]"), v("[3]")), "22000", "different vector dimensions 2 and 1")


def test_batch_matches_scalar() -> None:
    rng = np.random.default_rng(7)
    m = rng.standard_normal((50, 17)).astype(np.float32)
    q = rng.standard_normal(17).astype(np.float32)
    m[3] = 0
    pairs: list[tuple[Callable[..., np.ndarray], Callable[..., float], str]] = [
        (l2_distances, l2_distance, "l2"),
        (inner_products, inner_product, "ip"),
        (negative_inner_products, negative_inner_product, "negative_ip"),
        (cosine_distances, cosine_distance, "cosine"),
        (l1_distances, l1_distance, "l1"),
    ]
    for batch, scalar, metric in pairs:
        got = batch(m, q)
        want = np.array([scalar(r, q) for r in m])
        # float32 accumulation: equal up to float32 rounding of the sum
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
        rows = rowwise_distances(metric, m, np.tile(q, (50, 1)))
        np.testing.assert_allclose(rows, want, rtol=1e-5, atol=1e-6)
        assert got.dtype == np.float64
    assert math.isnan(cosine_distances(m, q)[3])
    err(lambda: l2_distances(m, q[:3]), "22000", "different vector dimensions 17 and 3")


def test_l2_normalize() -> None:
    assert format_vector(l2_normalize(v("[3,4]"))) == "[0.6,0.8]"
    assert format_vector(l2_normalize(v("[3,0]"))) == "[1,0]"
    assert format_vector(l2_normalize(v("[0,0.1]"))) == "[0,1]"
    assert format_vector(l2_normalize(v("[0,0]"))) == "[0,0]"
    assert format_vector(l2_normalize(v("[3e38]"))) == "[1]"


def test_binary_quantize() -> None:
    assert binary_quantize(v("[1,0,-1]")) == "100"
    assert binary_quantize(v("[0,0.1,-0.2,-0.3,0.4,0.5,0.6,-0.7,0.8,-0.9,1]")) == "01001110101"
    assert (
        binary_quantize(v("[1,2,3,-4,5,6,-7,8,1,-2,-3,4,5,-6,7,8,-1,2,3]")) == "1110110110011011011"
    )


@pytest.mark.parametrize(
    ("start", "count", "expected"),
    [
        (1, 3, "[1,2,3]"),
        (3, 2, "[3,4]"),
        (-1, 3, "[1]"),
        (3, 9, "[3,4,5]"),
        (1, 0, None),
        (3, -1, None),
        (-1, 2, None),
        (2147483647, 10, None),
        (3, 2147483647, "[3,4,5]"),
        (-2147483644, 2147483647, "[1,2]"),
    ],
)
def test_subvector(start: int, count: int, expected: str | None) -> None:
    x = v("[1,2,3,4,5]")
    if expected is None:
        err(lambda: subvector(x, start, count), "22000", "vector must have at least 1 dimension")
    else:
        assert format_vector(subvector(x, start, count)) == expected


def test_aggregates() -> None:
    a, b = v("[1,2,3]"), v("[3,5,7]")
    assert format_vector(vector_avg([a, b])) == "[2,3.5,5]"  # type: ignore[arg-type]
    assert format_vector(vector_avg([a, b, None])) == "[2,3.5,5]"  # type: ignore[arg-type]
    assert vector_avg([]) is None
    err(lambda: vector_avg([v("[1,2]"), v("[3]")]), "22000", "expected 2 dimensions, not 1")
    assert format_vector(vector_avg([v("[3e38]"), v("[3e38]")])) == "[3e+38]"  # type: ignore[arg-type]
    assert format_vector(vector_sum([a, b])) == "[4,7,10]"  # type: ignore[arg-type]
    assert format_vector(vector_sum([a, b, None])) == "[4,7,10]"  # type: ignore[arg-type]
    assert vector_sum([]) is None
    err(lambda: vector_sum([v("[1,2]"), v("[3]")]), "22000", "different vector dimensions 2 and 1")
    err(lambda: vector_sum([v("[3e38]"), v("[3e38]")]), "22003", "value out of range: overflow")
    # parallel partial states combine like vector_combine
    p1, p2 = VectorAccumulator("avg"), VectorAccumulator("avg")
    p1.add(a)
    p2.add(b)
    p2.add(None)
    p1.merge(p2)
    p1.merge(VectorAccumulator("avg"))
    assert p1.count == 2
    assert format_vector(p1.avg()) == "[2,3.5,5]"  # type: ignore[arg-type]
    p3 = VectorAccumulator("avg")
    p3.add(v("[1]"))
    err(lambda: p1.merge(p3), "22000", "expected 3 dimensions, not 1")


def test_array_casts() -> None:
    assert format_vector(vector_from_array([1, 2, 3])) == "[1,2,3]"
    assert format_vector(vector_from_array([Decimal("1.0"), Decimal("2.0")])) == "[1,2]"
    assert format_vector(vector_from_array(np.array([1, 2, 3], np.float64), 3)) == "[1,2,3]"
    assert format_vector(vector_from_array([1e-46, -1e-46])) == "[0,-0]"
    err(lambda: vector_from_array([1, 2, 3], 2), "22000", "expected 2 dimensions, not 3")
    err(lambda: vector_from_array([None]), "22004", "array must not contain nulls")
    err(lambda: vector_from_array([math.nan]), "22000", "NaN not allowed in vector")
    err(lambda: vector_from_array([math.inf]), "22000", "infinite value not allowed in vector")
    err(lambda: vector_from_array([-math.inf]), "22000", "infinite value not allowed in vector")
    err(lambda: vector_from_array([4e38, -4e38]), "22000", "infinite value not allowed in vector")
    err(lambda: vector_from_array([]), "22000", "vector must have at least 1 dimension")
    err(lambda: vector_from_array([[1]]), "22000", "array must be 1-D")
    err(lambda: vector_from_array(["x"]), "22000", "unsupported array type")
    err(
        lambda: vector_from_array(list(range(16001))),
        "54000",
        "vector cannot have more than 16000 dimensions",
    )
