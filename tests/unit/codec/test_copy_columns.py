"""COPY FROM decoded a chunk at a time into Arrow columns (codec/copy_columns.py):
the columnar path gives exactly the rows the row-by-row decoder gives, and
leaves to it whatever it cannot take, so errors stay the row decoder's."""

from __future__ import annotations

import random
import struct

import numpy as np
import pyarrow as pa
import pytest

from vecgres import types as T
from vecgres.codec.copy import (
    BINARY_TRAILER,
    CopyOptions,
    Part,
    binary_header,
    make_decoder,
)
from vecgres.codec.copy_columns import ColumnBatch
from vecgres.errors import BadCopyFileFormat, DataException, InvalidBinaryRepresentation
from vecgres.sql.copy_vectors import vector_text_array, vector_text_column
from vecgres.types import SqlType

VECTOR3 = SqlType("vector", 3)


def _rows(parts: list[Part]) -> list[list[object]]:
    out: list[list[object]] = []
    for part in parts:
        if isinstance(part, ColumnBatch):
            cols = [c.to_pylist() for c in part.columns]
            assert all(len(c) == part.num_rows for c in cols)
            out += [list(r) for r in zip(*cols, strict=True)]
        else:
            out += part
    return out


def _decode_parts(data: bytes, options: CopyOptions, types: list[SqlType], step: int):
    dec = make_decoder(options, types)
    parts: list[Part] = []
    for i in range(0, len(data), step):
        parts += dec.feed_parts(data[i : i + step])
    rows = dec.finish()
    if rows:
        parts.append(rows)
    return parts


def _decode_rows(data: bytes, options: CopyOptions, types: list[SqlType]):
    dec = make_decoder(options, types)
    return dec.feed(data) + dec.finish()


TEXT = (
    b"1\tone\t[1,2,3]\n"
    b"\\N\t\\N\t\\N\n"
    b"3\t\t[0.5,-2e-3,+4]\n"
    b"4\tcaf\xc3\xa9 \xe2\x82\xac\t[1e-46,3.4028235e38,-0]\n"
)


@pytest.mark.parametrize("step", [5, 17, 1 << 20])
def test_text_columns_match_the_row_decoder(step):
    data = TEXT * 50
    types = [T.INT8, T.TEXT, VECTOR3]
    parts = _decode_parts(data, CopyOptions(), types, step)
    assert any(isinstance(p, ColumnBatch) for p in parts)
    assert _rows(parts) == _decode_rows(data, CopyOptions(), types)
    assert _rows(parts)[:2] == [["1", "one", "[1,2,3]"], [None, None, None]]


@pytest.mark.parametrize(
    "data",
    [
        b"1\ta\\tb\n2\tc\n",  # an escape
        b"1\ta\r\n2\tc\r\n",  # CRLF line ends
        b"1\ta\n\\.\n2\tb\n",  # the end-of-data marker, then ignored lines
        b"1\tx\\Ny\n",  # \N inside a field is an escaped N, not NULL
    ],
)
def test_text_the_columnar_path_leaves_to_the_row_decoder(data):
    types = [T.INT4, T.TEXT]
    parts = _decode_parts(data, CopyOptions(), types, 1 << 20)
    assert not any(isinstance(p, ColumnBatch) for p in parts)
    assert _rows(parts) == _decode_rows(data, CopyOptions(), types)


def test_text_header_custom_null_and_delimiter():
    opts = CopyOptions(delimiter="|", null="NULL", header=True)
    data = b"a|b\n" + b"1|NULL\n2|\n3|x\n" * 3
    parts = _decode_parts(data, opts, [T.INT4, T.TEXT], 8)
    assert _rows(parts) == [["1", None], ["2", ""], ["3", "x"]] * 3
    assert any(isinstance(p, ColumnBatch) for p in parts[1:])


def test_text_last_line_without_newline():
    parts = _decode_parts(b"1\ta\n2\tb", CopyOptions(), [T.INT4, T.TEXT], 1 << 20)
    assert _rows(parts) == [["1", "a"], ["2", "b"]]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"1\ta\n2\n", "missing data for column"),
        (b"1\ta\n2\tb\tc\n", "extra data after last expected column"),
        (b"1\ta\n2\t\xff\n", 'invalid byte sequence for encoding "UTF8": 0xff'),
    ],
)
def test_text_errors_are_the_row_decoders(data, message):
    with pytest.raises(BadCopyFileFormat, match=message):
        _decode_parts(data, CopyOptions(), [T.INT4, T.TEXT], 1 << 20)


# --- binary -------------------------------------------------------------------------------


def _field(value: bytes | None) -> bytes:
    return b"\xff\xff\xff\xff" if value is None else struct.pack(">i", len(value)) + value


def _vector(*xs: float, dim: int | None = None, unused: int = 0) -> bytes:
    return struct.pack(f">hh{len(xs)}f", len(xs) if dim is None else dim, unused, *xs)


def _tuple(*fields: bytes | None) -> bytes:
    return struct.pack(">h", len(fields)) + b"".join(_field(f) for f in fields)


BINARY_TYPES = [T.INT2, T.INT4, T.INT8, T.FLOAT4, T.FLOAT8, T.TEXT, VECTOR3]


def _binary_row(i: int) -> bytes:
    return _tuple(
        struct.pack(">h", -i),
        None if i % 3 == 0 else struct.pack(">i", i * 1000),
        struct.pack(">q", i << 40),
        struct.pack(">f", i / 3),
        struct.pack(">d", -i / 7),
        None if i % 5 == 0 else f"row {i} é".encode(),
        None if i % 4 == 0 else _vector(i, 0.5, -1e-40),
    )


@pytest.mark.parametrize("step", [3, 64, 1 << 20])
def test_binary_columns_match_the_row_decoder(step):
    data = binary_header() + b"".join(_binary_row(i) for i in range(200)) + BINARY_TRAILER
    opts = CopyOptions(format="binary")
    parts = _decode_parts(data, opts, BINARY_TYPES, step)
    assert any(isinstance(p, ColumnBatch) for p in parts)
    expected = _decode_rows(data, opts, BINARY_TYPES)
    got = _rows(parts)
    assert len(got) == 200
    for g, e in zip(got, expected, strict=True):
        assert g[:6] == e[:6]
        assert (g[6] is None and e[6] is None) or np.array_equal(
            np.asarray(g[6], np.float32), np.asarray(e[6], np.float32)
        )
    batch = next(p for p in parts if isinstance(p, ColumnBatch))
    assert [c.type for c in batch.columns] == [
        pa.int16(),
        pa.int32(),
        pa.int64(),
        pa.float32(),
        pa.float64(),
        pa.string(),
        pa.list_(pa.float32()),
    ]
    assert got[1][:6] == [-1, 1000, 1 << 40, pytest.approx(1 / 3), -1 / 7, "row 1 é"]


@pytest.mark.parametrize(
    ("bad", "error", "message"),
    [
        (_tuple(b"\x00\x01\x02", b"x", None), Exception, "insufficient data left in message"),
        (_tuple(b"\x00\x00\x00\x00\x01", b"x", None), Exception, "incorrect binary data format"),
        (_tuple(b"\x00\x00\x00\x01", b"\xc3", None), InvalidBinaryRepresentation, "0xc3"),
        (_tuple(None, None, _vector(1, 2, unused=1)), DataException, "unused to be 0, not 1"),
        (_tuple(None, None, _vector(1, float("nan"))), DataException, "NaN not allowed"),
        (_tuple(None, None, _vector(1, 2, dim=3)), Exception, "insufficient data left"),
        (struct.pack(">h", 2), BadCopyFileFormat, "row field count is 2, expected 3"),
    ],
)
def test_binary_errors_are_the_row_decoders(bad, error, message):
    good = _tuple(b"\x00\x00\x00\x07", b"ok", _vector(1, 2))
    data = binary_header() + good * 3 + bad + good + BINARY_TRAILER
    with pytest.raises(error, match=message):
        _decode_parts(data, CopyOptions(format="binary"), [T.INT4, T.TEXT, T.VECTOR], 1 << 20)


def test_binary_vectors_of_different_sizes_go_row_by_row():
    data = binary_header() + _tuple(_vector(1, 2)) + _tuple(_vector(3)) + BINARY_TRAILER
    parts = _decode_parts(data, CopyOptions(format="binary"), [T.VECTOR], 1 << 20)
    assert not any(isinstance(p, ColumnBatch) for p in parts)
    assert [list(r[0]) for r in _rows(parts)] == [[1.0, 2.0], [3.0]]


# --- vector text in bulk ------------------------------------------------------------------


def _same(a: pa.Array, b: pa.Array) -> bool:
    if a.is_null().to_pylist() != b.is_null().to_pylist():
        return False
    fa = a.flatten().to_numpy(zero_copy_only=False)
    fb = b.flatten().to_numpy(zero_copy_only=False)
    # bit for bit: -0.0 and the rounding of midpoints included
    return fa.view(np.uint32).tolist() == fb.view(np.uint32).tolist()


def test_vector_text_array_rounds_like_strtof():
    rng = random.Random(5)
    values: list[str | None] = []
    for i in range(300):
        if i % 17 == 0:
            values.append(None)
            continue
        dim = rng.randint(1, 6)
        nums = [
            rng.choice(
                [
                    f"{rng.uniform(-1e3, 1e3)!r}",
                    f"{rng.randint(0, 10**12)}e{rng.randint(-60, 25)}",
                    f"{np.float32(rng.random())!s}",
                    "-0",
                    ".5",
                    "+1.",
                    "1E+3",
                    # a float32 rounding midpoint, then just above it
                    "1.00000005960464477539062500",
                    "1.000000059604644775390625001",
                ]
            )
            for _ in range(dim)
        ]
        values.append("[" + ",".join(nums) + "]")
    got = vector_text_array(pa.array(values, pa.string()), -1)
    assert _same(got, vector_text_column(values, -1))
    assert got[0].as_py() is None
    assert len(got[1].as_py()) >= 1


@pytest.mark.parametrize(
    ("literal", "message"),
    [
        ("[1,,2]", "invalid input syntax for type vector"),
        ("[]", "vector must have at least 1 dimension"),
        ("[1e39,1]", "out of range for type vector"),
        ("[nan,1]", "NaN not allowed in vector"),
        ("[1,2]x", 'invalid input syntax for type vector: "\\[1,2\\]x"'),
        ("[1]2]", 'invalid input syntax for type vector: "\\[1\\]2\\]"'),
        ("1,2]", 'invalid input syntax for type vector: "1,2\\]"'),
    ],
)
def test_vector_text_array_errors_are_pgvectors(literal, message):
    with pytest.raises(Exception, match=message):
        vector_text_array(pa.array(["[1,2]", literal], pa.string()), -1)


def test_vector_text_array_accepts_what_the_fast_path_does_not():
    values = ["[ 1 , 2 ]", "[0x1p3,1.5e0]", None, "[1,2]"]
    got = vector_text_array(pa.array(values, pa.string()), 2)
    assert got.to_pylist() == [[1.0, 2.0], [8.0, 1.5], None, [1.0, 2.0]]


def test_text_a_leading_byte_order_mark_stays_data():
    data = "\ufeffa\tb\nc\td\n".encode()
    parts = _decode_parts(data, CopyOptions(), [T.TEXT, T.TEXT], 1 << 20)
    assert _rows(parts) == [["\ufeffa", "b"], ["c", "d"]]


def test_text_a_long_line_in_many_pieces():
    data = b"1\t" + b"x" * 100_000 + b"\n2\ty\n"
    parts = _decode_parts(data, CopyOptions(), [T.INT4, T.TEXT], 1000)
    assert _rows(parts) == [["1", "x" * 100_000], ["2", "y"]]


def _lookalike_row(i: int) -> bytes:
    # values holding the bytes of a field count (00 03) and of small lengths, so the
    # scanner's candidate starts include many look-alikes inside the data
    return _tuple(
        struct.pack(">q", [3, 768, 0x0003_0000_0000, i][i % 4]),
        None if i % 7 == 0 else b"\x00\x03\x00\x00\x00\x02ab" * (i % 3),
        _vector(0.0, 4.2e-45, float(i)),
    )


@pytest.mark.parametrize("seed", range(5))
def test_scan_tuples_matches_the_row_by_row_scan(seed):
    from vecgres.codec.copy_columns import _scan_tuples_by_row, scan_tuples

    rng = random.Random(seed)
    body = b"".join(_lookalike_row(rng.randrange(1000)) for _ in range(300)) + BINARY_TRAILER
    for cut in [0, 1, 2, len(body), *(rng.randrange(len(body)) for _ in range(40))]:
        buf = body[:cut]
        got, want = scan_tuples(buf, 3), _scan_tuples_by_row(buf, 3)
        assert (got.consumed, got.trailer) == (want.consumed, want.trailer)
        assert np.array_equal(got.starts, want.starts)
        assert np.array_equal(got.lengths, want.lengths)
    assert scan_tuples(body, 3).trailer
    assert len(scan_tuples(body, 3).starts) == 300
    # a wrong field count or a bad length stops the scan where the row scan stops
    bad = body[:100] + b"\xff\xfe" + body[102:]
    for buf in (bad, body[:50] + struct.pack(">h", 2) + body[52:]):
        got, want = scan_tuples(buf, 3), _scan_tuples_by_row(buf, 3)
        assert (got.consumed, got.trailer, len(got.starts)) == (
            want.consumed,
            want.trailer,
            len(want.starts),
        )


@pytest.mark.parametrize("step", [1, 7, 100, 999])
def test_binary_decoded_in_several_held_chunks(monkeypatch, step):
    import vecgres.codec.copy as copy_mod

    # decoded every ~300 bytes: many joins of held data, tuples cut at every place
    monkeypatch.setattr(copy_mod, "DECODE_BYTES", 300)
    data = binary_header() + b"".join(_binary_row(i) for i in range(120)) + BINARY_TRAILER
    opts = CopyOptions(format="binary")
    parts = _decode_parts(data, opts, BINARY_TYPES, step)
    assert sum(isinstance(p, ColumnBatch) for p in parts) > 1
    got, expected = _rows(parts), _decode_rows(data, opts, BINARY_TYPES)
    assert [g[:6] for g in got] == [e[:6] for e in expected]
    assert [None if g[6] is None else list(g[6]) for g in got] == [
        None if e[6] is None else [float(x) for x in e[6]] for e in expected
    ]
    # no trailer: every complete row is decoded first, then the end is an error
    dec = make_decoder(opts, BINARY_TYPES)
    for i in range(0, len(data) - 2, step):
        dec.feed_parts(data[i : min(i + step, len(data) - 2)])
    with pytest.raises(BadCopyFileFormat, match="unexpected EOF in COPY data"):
        dec.finish_parts()
