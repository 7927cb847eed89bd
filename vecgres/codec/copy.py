"""COPY data formats: text, CSV and binary, as PostgreSQL 15 reads and writes them.

Decoders are incremental: feed them chunks as they arrive (CopyData messages
or file reads) and they hand back complete rows; ``finish()`` checks the end.
``feed_parts`` is ``feed`` for bulk loads: text and binary decoders hand back
whole chunks of rows as Arrow columns (copy_columns.py) where they can.
Text and CSV rows come back as lists of ``str | None`` (the engine casts them
with the column types' input rules); binary rows as Python values decoded by
the column type OIDs. Encoders take Arrow record batches plus the SqlTypes of
their columns and return one ``bytes`` per batch.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

import pyarrow as pa

from vecgres.codec.binary import decode_binary, encode_binary_column
from vecgres.codec.copy_columns import (
    ColumnBatch,
    binary_columns,
    binary_fast,
    scan_tuples,
    text_columns,
)
from vecgres.codec.text import encode_text_column
from vecgres.errors import BadCopyFileFormat
from vecgres.types import SqlType

BINARY_SIGNATURE: Final = b"PGCOPY\n\xff\r\n\x00"
END_OF_DATA: Final = "\\."

Row = list[object]
# what feed_parts hands back, in data order: rows decoded one by one, or column batches
Part = list[Row] | ColumnBatch


@dataclass(frozen=True, slots=True)
class CopyOptions:
    """The COPY ... WITH (...) options that shape the data."""

    format: str = "text"  # text | csv | binary
    delimiter: str | None = None  # text: tab, csv: comma
    null: str | None = None  # text: \N, csv: empty
    header: bool = False
    quote: str = '"'
    escape: str | None = None  # csv: defaults to quote
    # csv COPY TO: positions of the columns whose non-NULL values are always quoted
    force_quote: frozenset[int] = frozenset()

    @property
    def delim(self) -> str:
        return (
            self.delimiter
            if self.delimiter is not None
            else ("," if self.format == "csv" else "\t")
        )

    @property
    def null_text(self) -> str:
        return self.null if self.null is not None else ("" if self.format == "csv" else "\\N")


# --- text format --------------------------------------------------------------------------

_TEXT_ESCAPES: Final = {
    "b": "\b",
    "f": "\f",
    "n": "\n",
    "r": "\r",
    "t": "\t",
    "v": "\v",
}


def _unescape_text(field: str) -> str:
    if "\\" not in field:
        return field
    out: list[str] = []
    pos = 0
    n = len(field)
    while pos < n:
        ch = field[pos]
        if ch != "\\" or pos + 1 == n:
            out.append(ch)
            pos += 1
            continue
        nxt = field[pos + 1]
        if nxt in _TEXT_ESCAPES:
            out.append(_TEXT_ESCAPES[nxt])
            pos += 2
        elif nxt in "01234567":
            end = pos + 1
            while end < n and end < pos + 4 and field[end] in "01234567":
                end += 1
            out.append(chr(int(field[pos + 1 : end], 8) & 0xFF))
            pos = end
        elif nxt == "x" and pos + 2 < n and field[pos + 2] in "0123456789abcdefABCDEF":
            end = pos + 2
            while end < n and end < pos + 4 and field[end] in "0123456789abcdefABCDEF":
                end += 1
            out.append(chr(int(field[pos + 2 : end], 16)))
            pos = end
        else:
            # any other escaped character stands for itself (\\ -> \, \. -> .)
            out.append(nxt)
            pos += 2
    return "".join(out)


def _split_text_line(line: str, delim: str) -> list[str]:
    """Split on unescaped delimiters (a backslash escapes the next character)."""
    if "\\" not in line:
        return line.split(delim)
    fields: list[str] = []
    start = 0
    pos = 0
    n = len(line)
    while pos < n:
        ch = line[pos]
        if ch == "\\":
            pos += 2
            continue
        if ch == delim:
            fields.append(line[start:pos])
            start = pos + 1
        pos += 1
    fields.append(line[start:])
    return fields


class _LineDecoder:
    """Shared chunk buffering: complete lines out, a partial line kept."""

    def __init__(
        self, options: CopyOptions, column_count: int, names: Sequence[str] | None = None
    ) -> None:
        self.options = options
        self.column_count = column_count
        self.names = list(names) if names is not None else None
        self.buffer = ""
        self.pending = b""
        self.line_no = 0
        self.done = False
        self.header_pending = options.header

    def feed(self, chunk: bytes) -> list[Row]:
        raise NotImplementedError

    def feed_parts(self, chunk: bytes) -> list[Part]:
        rows = self.feed(chunk)
        return [rows] if rows else []

    def _text(self, chunk: bytes) -> str:
        data = self.pending + chunk
        try:
            text = data.decode("utf-8")
            self.pending = b""
        except UnicodeDecodeError as exc:
            if exc.end < len(data) or exc.start < len(data) - 3:
                raise BadCopyFileFormat(
                    f'invalid byte sequence for encoding "UTF8": 0x{data[exc.start]:02x}',
                    sqlstate="22P04",
                )
            # a multi-byte character split across chunks: keep its head for the next one
            text = data[: exc.start].decode("utf-8")
            self.pending = data[exc.start :]
        return text

    def _check_count(self, fields: Sequence[object]) -> None:
        if len(fields) > self.column_count:
            raise BadCopyFileFormat("extra data after last expected column")
        if len(fields) < self.column_count:
            missing = f'"{self.names[len(fields)]}"' if self.names is not None else len(fields) + 1
            raise BadCopyFileFormat(f"missing data for column {missing}")


class TextDecoder(_LineDecoder):
    """COPY ... FROM (FORMAT text): tab-separated, ``\\N`` for NULL, backslash escapes."""

    def __init__(
        self, options: CopyOptions, column_count: int, names: Sequence[str] | None = None
    ) -> None:
        super().__init__(options, column_count, names)
        self.tail = bytearray()  # feed_parts: the bytes after the last complete line

    def feed_parts(self, chunk: bytes) -> list[Part]:
        cut = chunk.rfind(b"\n") + 1
        if not cut:
            self.tail += chunk  # a long line arriving in pieces is not copied each time
            return []
        body = bytes(self.tail) + chunk[:cut]
        self.tail = bytearray(chunk[cut:])
        if not (self.done or self.header_pending):
            batch = text_columns(
                body, self.options.delim, self.options.null_text, self.column_count
            )
            if batch is not None:
                self.line_no += batch.num_rows
                return [batch]
        rows = self.feed(body)  # whole lines: the row decoder keeps no partial line
        return [rows] if rows else []

    def feed(self, chunk: bytes) -> list[Row]:
        self.buffer += self._text(chunk)
        rows: list[Row] = []
        # one split per chunk: cutting line by line off the front copies the rest each time
        lines = [] if self.done else self.buffer.split("\n")
        if lines:
            self.buffer = lines.pop()  # the line still incomplete
        for k, line in enumerate(lines):
            row = self._line(line.removesuffix("\r"))
            if row is not None:
                rows.append(row)
            if self.done:  # after \. nothing more is read, as before
                self.buffer = "\n".join([*lines[k + 1 :], self.buffer])
                break
        return rows

    def _line(self, line: str) -> Row | None:
        self.line_no += 1
        if self.header_pending:
            self.header_pending = False
            return None
        if line == END_OF_DATA:
            self.done = True
            return None
        null = self.options.null_text
        raw = _split_text_line(line, self.options.delim)
        self._check_count(raw)
        return [None if f == null else _unescape_text(f) for f in raw]

    def finish(self) -> list[Row]:
        rows: list[Row] = []
        if self.tail:
            rows, self.tail = self.feed(bytes(self.tail)), bytearray()
        if self.pending:
            raise BadCopyFileFormat('invalid byte sequence for encoding "UTF8"')
        if self.buffer and not self.done:
            tail, self.buffer = self.buffer, ""
            row = self._line(tail.removesuffix("\r"))
            return rows if row is None else [*rows, row]
        return rows


class CsvDecoder(_LineDecoder):
    """COPY ... FROM (FORMAT csv): quoted fields may span lines; unquoted empty = NULL."""

    def feed(self, chunk: bytes) -> list[Row]:
        self.buffer += self._text(chunk)
        rows: list[Row] = []
        while not self.done:
            parsed = self._parse_record(final=False)
            if parsed is None:
                break
            if parsed:
                rows.append(parsed)
        return rows

    def finish(self) -> list[Row]:
        if self.pending:
            raise BadCopyFileFormat('invalid byte sequence for encoding "UTF8"')
        rows: list[Row] = []
        while self.buffer and not self.done:
            parsed = self._parse_record(final=True)
            if parsed is None:
                break
            if parsed:
                rows.append(parsed)
        return rows

    def _parse_record(self, *, final: bool) -> Row | None:
        """Parse one record from the buffer; None if incomplete, [] if it was skipped."""
        opts = self.options
        quote = opts.quote
        escape = opts.escape or quote
        delim = opts.delim
        buf = self.buffer
        fields: list[str | None] = []
        field: list[str] = []
        quoted = False
        in_quotes = False
        pos = 0
        n = len(buf)
        while True:
            if pos >= n:
                if not final or in_quotes:
                    if final and in_quotes:
                        raise BadCopyFileFormat("unterminated CSV quoted field")
                    return None
                end = pos
                break
            ch = buf[pos]
            if in_quotes:
                if ch == escape and pos + 1 < n and buf[pos + 1] == quote:
                    field.append(quote)
                    pos += 2
                    continue
                if ch == escape and escape != quote and pos + 1 < n and buf[pos + 1] == escape:
                    field.append(escape)
                    pos += 2
                    continue
                if ch == quote:
                    if pos + 1 >= n and not final:
                        return None  # the next chunk may hold a doubled quote
                    in_quotes = False
                    pos += 1
                    continue
                field.append(ch)
                pos += 1
                continue
            if ch == quote:
                in_quotes = True
                quoted = True
                pos += 1
                continue
            if ch == delim:
                fields.append(self._field(field, quoted))
                field, quoted = [], False
                pos += 1
                continue
            if ch in "\r\n":
                end = pos
                pos += 1
                if ch == "\r" and pos < n and buf[pos] == "\n":
                    pos += 1
                elif ch == "\r" and pos >= n and not final:
                    return None
                break
            field.append(ch)
            pos += 1
        fields.append(self._field(field, quoted))
        raw_line = buf[:end]
        self.buffer = buf[pos:]
        self.line_no += 1
        if self.header_pending:
            self.header_pending = False
            return []
        if raw_line == END_OF_DATA:
            self.done = True
            return []
        self._check_count(fields)
        return list(fields)

    def _field(self, chars: list[str], quoted: bool) -> str | None:
        text = "".join(chars)
        if not quoted and text == self.options.null_text:
            return None
        return text


# binary data is decoded into columns this many bytes at a time (or at its end)
DECODE_BYTES: Final = 8 * 1024 * 1024


class BinaryDecoder:
    """COPY ... FROM (FORMAT binary): PGCOPY header, tuples of length-prefixed fields."""

    def __init__(self, types: Sequence[SqlType]) -> None:
        self.types = list(types)
        self.oids = [t.oid for t in types]
        self.fast = binary_fast(types)
        self.buffer = bytearray()
        self.held: list[bytes] = []  # data after ``buffer`` that feed_parts has not decoded
        self.held_size = 0
        self.header_done = False
        self.done = False
        self.line_no = 0

    def feed(self, chunk: bytes) -> list[Row]:
        if self.held:
            self.buffer = bytearray(self._unhold())
        self.buffer += chunk
        if not self.header_done and not self._header():
            return []
        return self._rows()

    def feed_parts(self, chunk: bytes) -> list[Part]:
        if self.fast and self.header_done and not self.done:
            # held as received and joined once when decoded (a growing buffer copies)
            self.held.append(chunk)
            self.held_size += len(chunk)
            if self.held_size + len(self.buffer) < DECODE_BYTES and not chunk.endswith(
                BINARY_TRAILER
            ):
                return []  # decoded with what follows: each columnar decode has a fixed cost
            return self._parts()
        self.buffer += chunk
        if not self.header_done and not self._header():
            return []
        return self._parts()

    def finish_parts(self) -> list[Part]:
        """``finish`` after the rows ``feed_parts`` held back."""
        parts = self._parts() if self.header_done else []
        rows = self.finish()
        return [*parts, rows] if rows else parts

    def _unhold(self) -> bytes | bytearray:
        data: bytes | bytearray = self.buffer
        if self.held:
            data = b"".join([self.buffer, *self.held])
            self.held, self.held_size = [], 0
        return data

    def _parts(self) -> list[Part]:
        parts: list[Part] = []
        data = self._unhold()
        if self.fast and not self.done:
            if isinstance(data, bytearray):
                data = bytes(data)  # numpy must not hold the bytearray (it is cut below)
            scan = scan_tuples(data, len(self.oids))
            batch = binary_columns(data, scan, self.types) if scan.consumed else None
            if batch is not None:
                with memoryview(data) as view:
                    data = view[scan.consumed :].tobytes()
                self.line_no += batch.num_rows
                parts.append(batch)
        self.buffer = data if isinstance(data, bytearray) else bytearray(data)
        # the trailer, a partial tuple, or rows the columnar path left to the row decoder
        rows = self._rows()
        if rows:
            parts.append(rows)
        return parts

    def _rows(self) -> list[Row]:
        rows: list[Row] = []
        while not self.done:
            row = self._tuple()
            if row is None:
                break
            if row:
                rows.append(row)
        return rows

    def _header(self) -> bool:
        if len(self.buffer) < len(BINARY_SIGNATURE) + 8:
            if not BINARY_SIGNATURE.startswith(bytes(self.buffer[: len(BINARY_SIGNATURE)])):
                raise BadCopyFileFormat("COPY file signature not recognized")
            return False
        if bytes(self.buffer[: len(BINARY_SIGNATURE)]) != BINARY_SIGNATURE:
            raise BadCopyFileFormat("COPY file signature not recognized")
        flags, ext_len = struct.unpack_from(">iI", self.buffer, len(BINARY_SIGNATURE))
        if flags & 0x10000:
            raise BadCopyFileFormat("COPY file format OIDs are not supported")
        if flags & ~0xFFFF & ~0x10000:
            raise BadCopyFileFormat("unrecognized critical flags in COPY file header")
        start = len(BINARY_SIGNATURE) + 8
        if len(self.buffer) < start + ext_len:
            return False
        del self.buffer[: start + ext_len]
        self.header_done = True
        return True

    def _tuple(self) -> Row | None:
        buf = self.buffer
        if len(buf) < 2:
            return None
        (count,) = struct.unpack_from(">h", buf)
        if count == -1:
            self.done = True
            del buf[:2]
            return []
        if count != len(self.oids):
            raise BadCopyFileFormat(f"row field count is {count}, expected {len(self.oids)}")
        pos = 2
        fields: list[bytes | None] = []
        for _ in range(count):
            if len(buf) < pos + 4:
                return None
            (length,) = struct.unpack_from(">i", buf, pos)
            pos += 4
            if length == -1:
                fields.append(None)
                continue
            if length < 0:
                raise BadCopyFileFormat("invalid field size")
            if len(buf) < pos + length:
                return None
            fields.append(bytes(buf[pos : pos + length]))
            pos += length
        del buf[:pos]
        self.line_no += 1
        return [
            None if f is None else decode_binary(f, oid)
            for f, oid in zip(fields, self.oids, strict=True)
        ]

    def finish(self) -> list[Row]:
        if not self.header_done:
            raise BadCopyFileFormat("COPY file signature not recognized")
        rows: list[Row] = []
        if self.held:
            self.buffer = bytearray(self._unhold())
            rows = self._rows()
        if self.buffer and not self.done:
            raise BadCopyFileFormat("unexpected EOF in COPY data")
        if not self.done:
            raise BadCopyFileFormat("unexpected EOF in COPY data")
        return rows


Decoder = TextDecoder | CsvDecoder | BinaryDecoder


def make_decoder(
    options: CopyOptions, types: Sequence[SqlType], names: Sequence[str] | None = None
) -> Decoder:
    """A decoder for COPY FROM data with ``options`` into columns of ``types``.

    ``names`` (the columns' names) make errors name the column as PostgreSQL does.
    """
    if options.format == "binary":
        return BinaryDecoder(types)
    if options.format == "csv":
        return CsvDecoder(options, len(types), names)
    return TextDecoder(options, len(types), names)


# --- encoders -----------------------------------------------------------------------------

_TEXT_OUT_ESCAPES: Final = {
    ord("\\"): "\\\\",
    ord("\b"): "\\b",
    ord("\f"): "\\f",
    ord("\n"): "\\n",
    ord("\r"): "\\r",
    ord("\t"): "\\t",
    ord("\v"): "\\v",
}


def _text_field(cell: bytes, table: dict[int, str]) -> str:
    return cell.decode("utf-8").translate(table)


def _csv_field(cell: bytes, opts: CopyOptions, single: bool = False, force: bool = False) -> str:
    text = cell.decode("utf-8")
    quote = opts.quote
    escape = opts.escape or quote
    needs = (
        force
        or text == opts.null_text
        # a lone \. would read back as the end-of-data marker (PG quotes it only then)
        or (single and text == END_OF_DATA)
        or any(c in text for c in (opts.delim, quote, "\r", "\n"))
        or (escape != quote and escape in text)
    )
    if not needs:
        return text
    body = text.replace(escape, escape + escape) if escape != quote else text
    body = body.replace(quote, escape + quote)
    return quote + body + quote


def header_line(names: Sequence[str], options: CopyOptions) -> bytes:
    """The HEADER line of a text or CSV COPY TO."""
    if options.format == "csv":
        fields = [_csv_field(n.encode(), options) for n in names]
    else:
        table = dict(_TEXT_OUT_ESCAPES)
        table.setdefault(ord(options.delim), "\\" + options.delim)
        fields = [_text_field(n.encode(), table) for n in names]
    return (options.delim.join(fields) + "\n").encode()


def binary_header() -> bytes:
    return BINARY_SIGNATURE + struct.pack(">iI", 0, 0)


BINARY_TRAILER: Final = struct.pack(">h", -1)


def encode_batch(batch: pa.RecordBatch, types: Sequence[SqlType], options: CopyOptions) -> bytes:
    """One Arrow batch as COPY TO data, without header or trailer."""
    return b"".join(encode_rows(batch, types, options))


def encode_rows(
    batch: pa.RecordBatch, types: Sequence[SqlType], options: CopyOptions
) -> list[bytes]:
    """One Arrow batch as COPY TO data, one ``bytes`` per row (PostgreSQL sends a
    CopyData message per row, and clients such as psycopg read them so)."""
    if options.format == "binary":
        columns = [encode_binary_column(batch.column(i), t) for i, t in enumerate(types)]
        count = struct.pack(">h", len(types))
        return [
            count
            + b"".join(
                b"\xff\xff\xff\xff" if cell is None else struct.pack(">i", len(cell)) + cell
                for cell in row
            )
            for row in zip(*columns, strict=True)
        ]
    text_columns = [encode_text_column(batch.column(i), t) for i, t in enumerate(types)]
    null = options.null_text
    delim = options.delim
    if options.format == "csv":
        single = len(types) == 1
        forced = [i in options.force_quote for i in range(len(types))]
        return [
            (
                delim.join(
                    null if c is None else _csv_field(c, options, single, f)
                    for c, f in zip(row, forced, strict=True)
                )
                + "\n"
            ).encode("utf-8")
            for row in zip(*text_columns, strict=True)
        ]
    table = dict(_TEXT_OUT_ESCAPES)
    table.setdefault(ord(delim), "\\" + delim)
    return [
        (delim.join(null if c is None else _text_field(c, table) for c in row) + "\n").encode(
            "utf-8"
        )
        for row in zip(*text_columns, strict=True)
    ]
