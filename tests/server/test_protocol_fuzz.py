"""protocol.py is total: any byte string parses, asks for more, or raises ProtocolViolation."""

from __future__ import annotations

import contextlib
import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vecgres.config import Settings
from vecgres.errors import ProtocolViolation
from vecgres.server import protocol as pq

SETTINGS = Settings()
KINDS = st.sampled_from(sorted(pq.KNOWN_TYPES | {ord("y"), 0}))


@st.composite
def framed(draw: st.DrawFn) -> bytes:
    kind = draw(KINDS)
    body = draw(st.binary(max_size=64))
    length = draw(st.one_of(st.just(len(body) + 4), st.integers(-(2**31), 2**31 - 1)))
    return bytes([kind]) + struct.pack(">i", length) + body


@settings(max_examples=500, deadline=None)
@given(st.one_of(st.binary(max_size=80), framed()))
def test_read_message_is_total(data: bytes) -> None:
    with contextlib.suppress(ProtocolViolation):
        pq.read_message(data, SETTINGS)


@settings(max_examples=500, deadline=None)
@given(st.binary(max_size=80), st.sampled_from([80877103, 80877104, 80877102, 3 << 16, 4 << 16]))
def test_read_startup_is_total(tail: bytes, code: int) -> None:
    for data in (tail, struct.pack(">ii", len(tail) + 8, code) + tail):
        with contextlib.suppress(ProtocolViolation):
            pq.read_startup(data, SETTINGS)


def test_bind_round_trip() -> None:
    body = b"p\0s\0" + struct.pack(">hh", 1, 1) + struct.pack(">hi", 2, 4) + b"\0\0\0\1"
    body += struct.pack(">i", -1) + struct.pack(">hh", 1, 1)
    msg, size = pq.read_message(b"B" + struct.pack(">i", len(body) + 4) + body, SETTINGS)
    assert msg == pq.Bind("p", "s", (1,), (b"\0\0\0\1", None), (1,))
    assert size == len(body) + 5


def test_negative_count_is_rejected() -> None:
    body = b"\0select\0" + struct.pack(">h", -1)
    with pytest.raises(pq.MessageFormatError, match="negative"):
        pq.parse_body(ord("P"), body)


def test_small_message_limit_applies_per_type() -> None:
    big = b"S" + struct.pack(">i", 20_000)
    with pytest.raises(pq.FramingError):
        pq.read_message(big, SETTINGS)
    assert pq.read_message(b"Q" + struct.pack(">i", 20_000), SETTINGS) is None
