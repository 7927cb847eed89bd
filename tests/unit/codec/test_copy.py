"""COPY text/CSV/binary encoders and decoders; expected bytes are PostgreSQL 15's output."""

from __future__ import annotations

import pyarrow as pa
import pytest

from vecgres import types as T
from vecgres.codec.copy import (
    BINARY_TRAILER,
    CopyOptions,
    binary_header,
    encode_batch,
    header_line,
    make_decoder,
)
from vecgres.errors import BadCopyFileFormat

TYPES = [T.INT4, T.TEXT, T.FLOAT8]
BATCH = pa.record_batch(
    [
        pa.array([1, None, 3, 4, 5], pa.int32()),
        pa.array(["tab\there", "line\nbreak\\x", "", 'q"u,o', "\\."]),
        pa.array([1.5, None, 0.1, 2.0, 3.0]),
    ],
    names=["a", "b", "d"],
)
# PostgreSQL 15: \copy c to stdout
PG_TEXT = b'1\ttab\\there\t1.5\n\\N\tline\\nbreak\\\\x\t\\N\n3\t\t0.1\n4\tq"u,o\t2\n5\t\\\\.\t3\n'
# PostgreSQL 15: \copy c to stdout (format csv, header)
PG_CSV = b'a,b,d\n1,tab\there,1.5\n,"line\nbreak\\x",\n3,"",0.1\n4,"q""u,o",2\n5,\\.,3\n'


def test_text_encoding_matches_pg15():
    assert encode_batch(BATCH, TYPES, CopyOptions()) == PG_TEXT


def test_csv_encoding_with_header_matches_pg15():
    opts = CopyOptions(format="csv", header=True)
    assert header_line(BATCH.schema.names, opts) + encode_batch(BATCH, TYPES, opts) == PG_CSV


def test_csv_quotes_a_lone_end_marker():
    batch = pa.record_batch([pa.array(["\\."])], names=["x"])
    assert encode_batch(batch, [T.TEXT], CopyOptions(format="csv")) == b'"\\."\n'


EXPECTED_ROWS = [
    ["1", "tab\there", "1.5"],
    [None, "line\nbreak\\x", None],
    ["3", "", "0.1"],
    ["4", 'q"u,o', "2"],
    ["5", "\\.", "3"],
]


@pytest.mark.parametrize("chunk", [1, 3, 1000])
def test_text_decoding_in_chunks(chunk):
    dec = make_decoder(CopyOptions(), TYPES)
    rows = []
    for i in range(0, len(PG_TEXT), chunk):
        rows += dec.feed(PG_TEXT[i : i + chunk])
    rows += dec.finish()
    assert rows == EXPECTED_ROWS


@pytest.mark.parametrize("chunk", [1, 2, 1000])
def test_csv_decoding_in_chunks(chunk):
    dec = make_decoder(CopyOptions(format="csv", header=True), TYPES)
    rows = []
    for i in range(0, len(PG_CSV), chunk):
        rows += dec.feed(PG_CSV[i : i + chunk])
    rows += dec.finish()
    assert rows == EXPECTED_ROWS


def test_text_escapes_and_end_marker():
    dec = make_decoder(CopyOptions(), [T.TEXT, T.TEXT])
    rows = dec.feed(b"\\101\\x41\\t\\\\\tb\\.c\r\n\\.\nignored\n")
    assert rows == [["AA\t\\", "b.c"]]
    assert dec.finish() == []


def test_text_column_count_errors():
    dec = make_decoder(CopyOptions(), [T.INT4, T.INT4])
    with pytest.raises(BadCopyFileFormat, match="missing data for column 2"):
        dec.feed(b"1\n")
    dec = make_decoder(CopyOptions(), [T.INT4])
    with pytest.raises(BadCopyFileFormat, match="extra data after last expected column"):
        dec.feed(b"1\t2\n")


def test_last_line_without_newline():
    dec = make_decoder(CopyOptions(format="csv"), [T.INT4, T.TEXT])
    assert dec.feed(b'1,"a') == []
    dec = make_decoder(CopyOptions(format="csv"), [T.INT4, T.TEXT])
    dec.feed(b"1,x")
    assert dec.finish() == [["1", "x"]]


def test_unterminated_csv_quote():
    dec = make_decoder(CopyOptions(format="csv"), [T.TEXT])
    dec.feed(b'"abc')
    with pytest.raises(BadCopyFileFormat, match="unterminated CSV quoted field"):
        dec.finish()


def test_split_utf8_character_across_chunks():
    data = "é\n".encode()
    dec = make_decoder(CopyOptions(), [T.TEXT])
    assert dec.feed(data[:1]) == []
    assert dec.feed(data[1:]) == [["é"]]


def test_binary_round_trip():
    data = (
        binary_header() + encode_batch(BATCH, TYPES, CopyOptions(format="binary")) + BINARY_TRAILER
    )
    # PostgreSQL 15: \copy (select 1::int4, 'x'::text, 1.5::float8) to stdout (format binary)
    assert data.startswith(bytes.fromhex("5047434f50590aff0d0a0000000000000000000003"))
    dec = make_decoder(CopyOptions(format="binary"), TYPES)
    rows = []
    for i in range(0, len(data), 7):
        rows += dec.feed(data[i : i + 7])
    rows += dec.finish()
    assert rows == [
        [1, "tab\there", 1.5],
        [None, "line\nbreak\\x", None],
        [3, "", 0.1],
        [4, 'q"u,o', 2.0],
        [5, "\\.", 3.0],
    ]


def test_binary_bad_signature_and_truncation():
    dec = make_decoder(CopyOptions(format="binary"), [T.INT4])
    with pytest.raises(BadCopyFileFormat, match="signature"):
        dec.feed(b"NOTCOPY\n\xff\r\n\x00\x00\x00\x00\x00\x00\x00\x00\x00")
    dec = make_decoder(CopyOptions(format="binary"), [T.INT4])
    dec.feed(binary_header() + b"\x00\x01\x00\x00\x00\x04\x00")
    with pytest.raises(BadCopyFileFormat, match="unexpected EOF"):
        dec.finish()
