"""Records (``SELECT t FROM t``, ``ROW(1, v)``): PostgreSQL's record_out and record_send.

A record reaches the codec as an Arrow struct; each field's SQL type is read
off its Arrow type (the binder has already turned pgvector fields into their
text, which is what record_out prints for them). A table's row type
(``SqlType("record", typmod=its pg_type OID)``) has its columns' types
registered by the binder (``register_row_type``): record_send then tags each
field with its column's type OID and sends a pgvector field in that type's
binary format, as PostgreSQL does.
"""

from __future__ import annotations

import struct
import threading
from collections.abc import Callable, Sequence

import pyarrow as pa

from vecgres.types import SqlType

Cell = bytes | None
Encoder = Callable[[pa.Array, SqlType], list[Cell]]

_SPECIALS = frozenset(b'"\\(),')


# a row type's typmod -> its fields' (name, type): what the binder resolved for the table
_ROW_TYPES: dict[int, tuple[tuple[str, SqlType], ...]] = {}
_ROW_TYPES_LOCK = threading.Lock()


def register_row_type(typmod: int, fields: Sequence[tuple[str, SqlType]]) -> None:
    """Record the columns of the row type ``SqlType("record", typmod)``."""
    value = tuple(fields)
    if _ROW_TYPES.get(typmod) != value:
        with _ROW_TYPES_LOCK:
            _ROW_TYPES[typmod] = value


_ANONYMOUS: dict[tuple[tuple[str, SqlType], ...], int] = {}


def anonymous_row_type(fields: Sequence[tuple[str, SqlType]]) -> int:
    """The typmod of an anonymous record (``ROW(1, v)``) whose fields have these
    types: like PostgreSQL's blessed record typmods, it says what each field is
    (the record's OID stays 2249)."""
    key = tuple(fields)
    found = _ANONYMOUS.get(key)
    if found is None:
        with _ROW_TYPES_LOCK:
            found = _ANONYMOUS.setdefault(key, len(_ANONYMOUS) + 1)
            _ROW_TYPES[found] = key
    return found


def _declared(t: SqlType | None, children: list[pa.Array]) -> list[SqlType] | None:
    """The registered field types of row type ``t``, when they fit the struct's fields."""
    if t is None or t.typmod <= 0:
        return None
    fields = _ROW_TYPES.get(t.typmod)
    if fields is None or len(fields) != len(children):
        return None
    return [ft for _, ft in fields]


def _floats(text: str) -> list[float]:
    body = text.strip()[1:-1]
    return [float(x) for x in body.split(",")] if body.strip() else []


def _restore(child: pa.Array, t: SqlType) -> pa.Array:
    """A vector or halfvec field (or an array of them) the binder turned into text,
    back as the float lists their binary output reads."""
    if t.name not in ("vector", "halfvec"):
        return child
    vec = pa.list_(pa.float32())
    if not t.is_array and (pa.types.is_string(child.type) or pa.types.is_large_string(child.type)):
        return pa.array([None if v is None else _floats(v) for v in child.to_pylist()], vec)
    listed = pa.types.is_list(child.type) or pa.types.is_large_list(child.type)
    if t.is_array and listed and pa.types.is_string(child.type.value_type):
        rows = [
            None if row is None else [None if v is None else _floats(v) for v in row]
            for row in child.to_pylist()
        ]
        return pa.array(rows, pa.list_(vec))
    return child


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


def record_binary(arr: pa.StructArray, encode: Encoder, t: SqlType | None = None) -> list[Cell]:
    """record_send for each row: field count, then (type oid, length, bytes) per field."""
    children = arr.flatten()
    declared = _declared(t, children)
    if declared is None:
        types = [field_type(c.type) for c in children]
    else:
        children = [_restore(c, ft) for c, ft in zip(children, declared, strict=True)]
        types = declared
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
