"""Records (``SELECT t FROM t``, ``ROW(1, v)``): PostgreSQL's record_out and record_send.

A record reaches the codec as an Arrow struct; each field's SQL type is read
off its Arrow type (the binder has already turned pgvector fields into their
text, which is what record_out prints for them).
"""

from __future__ import annotations

import struct
from collections.abc import Callable

import pyarrow as pa

from vecgres.types import SqlType

Cell = bytes | None
Encoder = Callable[[pa.Array, SqlType], list[Cell]]

_SPECIALS = frozenset(b'"\\(),')


def field_type(t: pa.DataType) -> SqlType:
    """The SQL type a record field of Arrow type ``t`` prints as."""
    if pa.types.is_struct(t):
        return SqlType("record")
    if pa.types.is_list(t) or pa.types.is_large_list(t) or pa.types.is_fixed_size_list(t):
        return field_type(t.value_type).array_of()
    if pa.types.is_boolean(t):
        return SqlType("boolean")
    if pa.types.is_int8(t) or pa.types.is_int16(t) or pa.types.is_uint8(t):
        return SqlType("smallint")
    if pa.types.is_int32(t) or pa.types.is_uint16(t):
        return SqlType("integer")
    if pa.types.is_integer(t):
        return SqlType("bigint")
    if pa.types.is_float32(t):
        return SqlType("real")
    if pa.types.is_floating(t):
        return SqlType("double precision")
    if pa.types.is_decimal(t):
        if (t.precision, t.scale) == (38, 10):
            return SqlType("numeric")  # DuckDB's computed numerics: typemap.type_from_duck
        # the value's own scale, as numeric_out prints it (typmod: VARHDRSZ + p << 16 | s)
        return SqlType("numeric", ((t.precision << 16) | t.scale) + 4)
    if pa.types.is_date(t):
        return SqlType("date")
    if pa.types.is_timestamp(t):
        zoned = t.tz is not None
        return SqlType("timestamp with time zone" if zoned else "timestamp without time zone")
    if pa.types.is_time(t):
        return SqlType("time without time zone")
    if pa.types.is_interval(t):
        return SqlType("interval")
    if pa.types.is_binary(t) or pa.types.is_large_binary(t):
        return SqlType("bytea")
    return SqlType("text")


def quote_field(cell: bytes) -> bytes:
    """record_out's quoting: empty, or holding quotes, backslashes, parentheses,
    commas or white space."""
    if cell and not _SPECIALS.intersection(cell) and not any(c in b" \t\n\r\x0b\x0c" for c in cell):
        return cell
    return b'"' + cell.replace(b"\\", b"\\\\").replace(b'"', b'""') + b'"'


def record_text(arr: pa.StructArray, encode: Encoder) -> list[Cell]:
    """record_out for each row: ``(1,"[1,2]",)``; a NULL field is empty."""
    children = arr.flatten()  # flatten, not field(i): it applies the array's offset
    fields = [encode(c, field_type(c.type)) for c in children]
    valid = arr.is_valid().to_pylist()
    out: list[Cell] = []
    for row, ok in enumerate(valid):
        if not ok:
            out.append(None)
            continue
        cells = [b"" if f[row] is None else quote_field(f[row]) for f in fields]  # type: ignore[arg-type]
        out.append(b"(" + b",".join(cells) + b")")
    return out


def record_binary(arr: pa.StructArray, encode: Encoder) -> list[Cell]:
    """record_send for each row: field count, then (type oid, length, bytes) per field."""
    children = arr.flatten()
    types = [field_type(c.type) for c in children]
    fields = [encode(c, t) for c, t in zip(children, types, strict=True)]
    valid = arr.is_valid().to_pylist()
    out: list[Cell] = []
    for row, ok in enumerate(valid):
        if not ok:
            out.append(None)
            continue
        parts = [struct.pack(">i", len(types))]
        for t, f in zip(types, fields, strict=True):
            cell = f[row]
            parts.append(struct.pack(">I", t.oid))
            parts.append(
                b"\xff\xff\xff\xff" if cell is None else struct.pack(">i", len(cell)) + cell
            )
        out.append(b"".join(parts))
    return out
