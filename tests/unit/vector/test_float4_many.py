"""format_float4_many (the vectorised float4 output) is byte-identical to format_float4."""

from __future__ import annotations

import numpy as np
import pytest

from vecgres.vector.floats import format_float4, format_float4_many


def _check(values: np.ndarray) -> None:
    fast = format_float4_many(values)
    ref = [format_float4(x) for x in values]
    bad = [(float(x), a, b) for x, a, b in zip(values, fast, ref, strict=True) if a != b]
    assert bad == []


def test_edge_values() -> None:
    f32 = np.finfo(np.float32)
    edges = [0.0, -0.0, 1.0, -1.0, 0.1, 0.5, 1.5, 2100000.25, 16777216.0, 16777218.0]
    edges += [float(f32.max), -float(f32.max), float(f32.tiny), float(f32.smallest_subnormal)]
    edges += [1e-45, 3e-38, 1.17549435e-38, 3.4028235e38, 1e38, 1e-38, 123456.7, 9.9999999]
    edges += [float(10.0**k) for k in range(-38, 39)]
    values = np.array(edges, dtype=np.float32)
    # every power of two, and its neighbours, in both signs
    powers = np.arange(0, 255, dtype=np.uint32) << np.uint32(23)
    near = np.concatenate([powers, powers + np.uint32(1), powers - np.uint32(1)])
    near = near[(near >> np.uint32(23)) < 255]
    bits = np.concatenate([near, near | np.uint32(0x80000000)])
    values = np.concatenate([values, bits.view(np.float32)])
    assert np.isfinite(values).all()
    _check(values)
    assert format_float4_many(np.array([2100000.25, 0.1, -1e-45], np.float32)) == [
        "2.1000002e+06",
        "0.1",
        "-1e-45",
    ]


def test_inf_and_nan_spellings() -> None:
    vals = np.array([np.inf, -np.inf, np.nan], dtype=np.float32)
    assert format_float4_many(vals) == ["Infinity", "-Infinity", "NaN"]


@pytest.mark.parametrize("seed", [1, 2])
def test_random_bit_patterns(seed: int) -> None:
    rng = np.random.default_rng(seed)
    bits = rng.integers(0, 2**32, 100_000, dtype=np.uint64).astype(np.uint32)
    values = bits.view(np.float32)
    _check(values[np.isfinite(values)])


def test_embedding_like_values() -> None:
    rng = np.random.default_rng(3)
    values = np.concatenate(
        [
            rng.standard_normal(50_000).astype(np.float32),
            (rng.integers(-1000, 1000, 20_000) / 64).astype(np.float32),
            rng.random(20_000).astype(np.float32) * 1e-3,
            np.round(rng.standard_normal(20_000), 3).astype(np.float32),
        ]
    )
    _check(values)
