"""vector/halfvec binary send/recv."""

from __future__ import annotations

import struct

import numpy as np
import pytest

from vecgres.errors import VecgresError
from vecgres.vector import halfvec_recv, halfvec_send, vector_recv, vector_send


def test_round_trip() -> None:
    v = np.array([1.5, -0.0, 3e38], dtype=np.float32)
    buf = vector_send(v)
    assert buf == struct.pack(">hh3f", 3, 0, 1.5, -0.0, 3e38)
    assert vector_recv(buf).tobytes() == v.tobytes()
    assert vector_recv(buf, 3).dtype == np.float32
    h = np.array([1, 0.5, -2], dtype=np.float16)
    assert halfvec_recv(halfvec_send(h)).tobytes() == h.tobytes()


@pytest.mark.parametrize(
    ("buf", "typmod", "sqlstate", "message"),
    [
        (struct.pack(">hh", 0, 0), -1, "22000", "vector must have at least 1 dimension"),
        (struct.pack(">hh", -1, 0), -1, "22000", "vector must have at least 1 dimension"),
        (
            struct.pack(">hh", 16001, 0),
            -1,
            "54000",
            "vector cannot have more than 16000 dimensions",
        ),
        (struct.pack(">hhf", 1, 0, 1), 2, "22000", "expected 2 dimensions, not 1"),
        (struct.pack(">hhf", 1, 7, 1), -1, "22000", "expected unused to be 0, not 7"),
        (struct.pack(">hhf", 1, 0, float("nan")), -1, "22000", "NaN not allowed in vector"),
        (
            struct.pack(">hhf", 1, 0, float("-inf")),
            -1,
            "22000",
            "infinite value not allowed in vector",
        ),
        (struct.pack(">hhf", 2, 0, 1), -1, "08P01", "insufficient data left in message"),
        (b"\x00", -1, "08P01", "insufficient data left in message"),
        (struct.pack(">hhff", 1, 0, 1, 2), -1, "22P03", "incorrect binary data format"),
    ],
)
def test_recv_errors(buf: bytes, typmod: int, sqlstate: str, message: str) -> None:
    with pytest.raises(VecgresError) as info:
        vector_recv(buf, typmod)
    assert (info.value.code, info.value.message) == (sqlstate, message)
