"""T7 (parser): for every frontend message type, valid frames and frames with
mutated bodies or lengths (0, 1-3, 4, exact, exact±1, 2^31-1, negative) either
parse, ask for more bytes, or raise ProtocolViolation (08P01, or 22021 for
bad UTF-8); nothing else,
and parsing never allocates more than 64 KiB beyond the frame (tracemalloc)."""

from __future__ import annotations

import struct
import tracemalloc

from harness import figures, scaled
from hypothesis import given, settings
from hypothesis import strategies as st

from vecgres.config import Settings
from vecgres.errors import ProtocolViolation
from vecgres.server import protocol as pq

SETTINGS = Settings()
BODIES: dict[int, list[bytes]] = {
    ord("Q"): [b"SELECT 1\0"],
    ord("P"): [b"s\0SELECT $1\0" + struct.pack(">hi", 1, 23)],
    ord("B"): [
        b"p\0s\0"
        + struct.pack(">hh", 1, 1)
        + struct.pack(">hi", 1, 4)
        + b"\0\0\0\1"
        + struct.pack(">hh", 1, 0)
    ],
    ord("D"): [b"S\0", b"Pp\0"],
    ord("E"): [b"p\0" + struct.pack(">i", 0)],
    ord("C"): [b"Ss\0"],
    ord("S"): [b""],
    ord("H"): [b""],
    ord("X"): [b""],
    ord("d"): [b"1\t[1,2]\n"],
    ord("c"): [b""],
    ord("f"): [b"oops\0"],
    ord("p"): [b"password\0"],
    ord("F"): [struct.pack(">ihhhih", 1, 0, 0, 1, -1, 0)],
}
LENGTHS = st.sampled_from(["exact", 0, 1, 3, 4, "minus1", "plus1", 2**31 - 1, -1, -(2**31)])
_stats = {"examples": 0, "violations": 0, "parsed": 0, "incomplete": 0}


@st.composite
def frames(draw: st.DrawFn) -> bytes:
    kind = draw(st.sampled_from(sorted(BODIES)))
    body = bytearray(draw(st.sampled_from(BODIES[kind])))
    for _ in range(draw(st.integers(0, 3))):
        op = draw(st.integers(0, 3))
        if op == 0 and body:
            pos = draw(st.integers(0, len(body) - 1))
            body[pos] = draw(st.integers(0, 255))
        elif op == 1 and body:
            del body[draw(st.integers(0, len(body) - 1)) :]
        elif op == 2:
            body += draw(st.binary(max_size=32))
        elif op == 3 and len(body) >= 2:
            # counts (int16) that disagree with the payload
            pos = draw(st.integers(0, len(body) - 2))
            body[pos : pos + 2] = struct.pack(">h", draw(st.sampled_from([-1, 0, 2, 300, 32767])))
    choice = draw(LENGTHS)
    exact = len(body) + 4
    length = {"exact": exact, "minus1": exact - 1, "plus1": exact + 1}.get(choice, choice)  # type: ignore[call-overload]
    return bytes([kind]) + struct.pack(">i", length) + bytes(body)


@settings(max_examples=scaled(500), deadline=None)
@given(frames())
def test_every_type_parses_or_is_a_protocol_violation(frame: bytes) -> None:
    _stats["examples"] += 1
    tracemalloc.start()
    code = None
    try:
        result = pq.read_message(frame, SETTINGS)
    except ProtocolViolation as exc:
        code = exc.code
        result = None
    finally:
        _current, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    if code is not None:
        # 22021: invalid UTF-8 in a string field, as PostgreSQL answers
        assert code in ("08P01", "22021")
        _stats["violations"] += 1
    else:
        _stats["parsed" if result is not None else "incomplete"] += 1
    assert peak < 64 * 1024 + 4 * len(frame), (frame[:40], peak)
    if result is not None:
        _msg, size = result
        assert 5 <= size <= len(frame)


def test_figures() -> None:
    figures("fuzz.parser", **_stats, unexpected_exception_types=0)
