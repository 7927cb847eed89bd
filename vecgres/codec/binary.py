"""PostgreSQL's binary wire format (``*send``/``*recv``) for Arrow columns and parameters.

All values are big-endian. Fixed-width columns are converted with numpy in
one go; variable-width ones per value. ``decode_binary`` reads one binary
parameter (Bind) or COPY BINARY field into the Python value the engine takes.
"""

from __future__ import annotations

import datetime as dt
import json
import struct
import uuid
from decimal import Decimal
from typing import Final

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from vecgres.codec.arrow import numeric_precision_scale
from vecgres.codec.record import record_binary
from vecgres.codec.text import (
    DATE_INFINITY,
    DATE_NEG_INFINITY,
    TIMESTAMP_INFINITY,
    TIMESTAMP_NEG_INFINITY,
    Cell,
    _is_list,
    _list_layout,
    encode_text_column,
    format_interval,
    format_numeric,
    plain,
    timestamp_micros,
)
from vecgres.errors import DatatypeMismatch, InvalidBinaryRepresentation, ProtocolViolation
from vecgres.types import SqlType, by_oid
from vecgres.vector import halfvec_recv, halfvec_send, parse_sparsevec, vector_recv
from vecgres.vector.binary import sparsevec_recv, sparsevec_send
from vecgres.vector.bits import bit_recv, bit_send
from vecgres.vector.text import format_sparsevec

# days and microseconds between 1970-01-01 (Arrow, Unix) and 2000-01-01 (PostgreSQL)
PG_EPOCH_DAYS: Final = 10_957
PG_EPOCH_MICROS: Final = PG_EPOCH_DAYS * 86_400 * 1_000_000

NUMERIC_POS: Final = 0x0000
NUMERIC_NEG: Final = 0x4000
NUMERIC_NAN: Final = 0xC000
NUMERIC_PINF: Final = 0xD000
NUMERIC_NINF: Final = 0xF000

_FIXED: Final[dict[str, str]] = {
    "smallint": ">i2",
    "integer": ">i4",
    "bigint": ">i8",
    "real": ">f4",
    "double precision": ">f8",
    "oid": ">u4",
    "regproc": ">u4",
    "regclass": ">u4",
    "regtype": ">u4",
    "regnamespace": ">u4",
    "xid": ">u4",
}


def _split_fixed(data: np.ndarray, valid: list[bool], width: int) -> list[Cell]:
    raw = data.tobytes()
    return [raw[i * width : (i + 1) * width] if ok else None for i, ok in enumerate(valid)]


def _fixed(arr: pa.Array, dtype: str) -> list[Cell]:
    valid = arr.is_valid().to_pylist()
    if pa.types.is_decimal(arr.type):
        arr = pc.cast(arr, pa.float64() if dtype[1] == "f" else pa.int64(), safe=False)
    if pa.types.is_boolean(arr.type):
        arr = arr.cast(pa.int8())
    numbers = np.asarray(arr.fill_null(0).to_numpy(zero_copy_only=False))
    width = np.dtype(dtype).itemsize
    with np.errstate(over="ignore"):
        return _split_fixed(numbers.astype(dtype), valid, width)


def numeric_send(text: str, dscale: int | None = None) -> bytes:
    """numeric_send of a decimal in plain notation (as numeric_out prints it)."""
    if text == "NaN":
        return struct.pack(">hhHh", 0, 0, NUMERIC_NAN, 0)
    if text in ("Infinity", "-Infinity"):
        return struct.pack(">hhHh", 0, 0, NUMERIC_PINF if text[0] == "I" else NUMERIC_NINF, 0)
    negative = text.startswith("-")
    body = text.lstrip("-")
    int_part, _, frac_part = body.partition(".")
    scale = len(frac_part) if dscale is None else dscale
    int_part = int_part.lstrip("0")
    int_part = "0" * (-len(int_part) % 4) + int_part
    frac_part = frac_part + "0" * (-len(frac_part) % 4)
    groups = [int(int_part[i : i + 4]) for i in range(0, len(int_part), 4)]
    weight = len(groups) - 1
    groups += [int(frac_part[i : i + 4]) for i in range(0, len(frac_part), 4)]
    while groups and groups[0] == 0:
        groups.pop(0)
        weight -= 1
    while groups and groups[-1] == 0:
        groups.pop()
    if not groups:
        return struct.pack(">hhHh", 0, 0, NUMERIC_POS, scale)
    header = struct.pack(
        ">hhHh", len(groups), weight, NUMERIC_NEG if negative else NUMERIC_POS, scale
    )
    return header + struct.pack(f">{len(groups)}H", *groups)


def numeric_recv(buf: bytes) -> Decimal:
    if len(buf) < 8:
        raise InvalidBinaryRepresentation("insufficient data left in message")
    ndigits, weight, sign, dscale = struct.unpack_from(">hhHh", buf)
    if ndigits < 0 or len(buf) != 8 + 2 * ndigits:
        raise InvalidBinaryRepresentation('invalid length in external "numeric" value')
    if sign == NUMERIC_NAN:
        return Decimal("NaN")
    if sign == NUMERIC_PINF:
        return Decimal("Infinity")
    if sign == NUMERIC_NINF:
        return Decimal("-Infinity")
    if sign not in (NUMERIC_POS, NUMERIC_NEG):
        raise InvalidBinaryRepresentation('invalid sign in external "numeric" value')
    digits = struct.unpack_from(f">{ndigits}H", buf, 8)
    if any(d > 9999 for d in digits):
        raise InvalidBinaryRepresentation('invalid digit in external "numeric" value')
    value = 0
    for d in digits:
        value = value * 10000 + d
    exponent = (weight - ndigits + 1) * 4
    result = Decimal(value).scaleb(exponent)
    if sign == NUMERIC_NEG:
        result = -result
    return result.quantize(Decimal(1).scaleb(-dscale)) if dscale >= 0 else result


def _numeric(arr: pa.Array, t: SqlType) -> list[Cell]:
    ps = numeric_precision_scale(t)
    texts = encode_text_column(arr, t)
    scale = None if ps is None else ps[1]
    return [None if c is None else numeric_send(c.decode(), scale) for c in texts]


def _timestamp(arr: pa.Array) -> list[Cell]:
    micros = timestamp_micros(arr) if pa.types.is_timestamp(arr.type) else arr.cast(pa.int64())
    valid = micros.is_valid().to_pylist()
    values = np.asarray(micros.fill_null(0).to_numpy(zero_copy_only=False), dtype=np.int64)
    shifted = values - PG_EPOCH_MICROS
    # the infinity sentinels keep their meaning in PostgreSQL's epoch
    shifted[values == TIMESTAMP_INFINITY] = TIMESTAMP_INFINITY
    shifted[values == TIMESTAMP_NEG_INFINITY] = TIMESTAMP_NEG_INFINITY
    return _split_fixed(shifted.astype(">i8"), valid, 8)


def _date(arr: pa.Array) -> list[Cell]:
    if pa.types.is_date64(arr.type):
        arr = arr.cast(pa.date32())
    if pa.types.is_timestamp(arr.type):
        arr = pc.cast(arr, pa.date32(), safe=False)
    days = arr.cast(pa.int32())
    valid = days.is_valid().to_pylist()
    values = np.asarray(days.fill_null(0).to_numpy(zero_copy_only=False), dtype=np.int64)
    shifted = values - PG_EPOCH_DAYS
    shifted[values == DATE_INFINITY] = DATE_INFINITY
    shifted[values == DATE_NEG_INFINITY] = DATE_NEG_INFINITY
    return _split_fixed(shifted.astype(">i4"), valid, 4)


def _time(arr: pa.Array) -> list[Cell]:
    unit = arr.type.unit if pa.types.is_time(arr.type) else "us"
    ints = arr.cast(pa.int64())
    if unit == "ns":
        ints = pc.divide(ints, 1000)
    elif unit != "us":
        ints = pc.multiply(ints, {"s": 1_000_000, "ms": 1000}[unit])
    return _fixed(ints, ">i8")


def _interval(arr: pa.Array) -> list[Cell]:
    out: list[Cell] = []
    if pa.types.is_duration(arr.type):
        factor = {"s": 1_000_000, "ms": 1000, "us": 1}.get(arr.type.unit)
        for v in arr.cast(pa.int64()).to_pylist():
            if v is None:
                out.append(None)
            else:
                micros = int(v / 1000) if factor is None else v * factor
                out.append(struct.pack(">qii", micros, 0, 0))
        return out
    for v in arr.to_pylist():
        if v is None:
            out.append(None)
        else:
            out.append(struct.pack(">qii", int(v.nanoseconds / 1000), v.days, v.months))
    return out


def _text_bytes(arr: pa.Array, t: SqlType) -> list[Cell]:
    return encode_text_column(arr, t)


def _uuid(arr: pa.Array) -> list[Cell]:
    if pa.types.is_fixed_size_binary(arr.type) or pa.types.is_binary(arr.type):
        return list(arr.to_pylist())
    return [None if v is None else uuid.UUID(v).bytes for v in arr.to_pylist()]


def _vector(arr: pa.Array) -> list[Cell]:
    """pgvector's vector_send: uint16 dim, uint16 0, dim x float4."""
    values, offsets = _list_layout(arr)
    floats = np.asarray(values.fill_null(0).to_numpy(zero_copy_only=False)).astype(">f4")
    valid = arr.is_valid().to_pylist()
    if pa.types.is_fixed_size_list(arr.type):
        dim = arr.type.list_size
        header = struct.pack(">HH", dim, 0)
        raw = floats.tobytes()
        width = 4 * dim
        return [
            header + raw[i * width : (i + 1) * width] if ok else None for i, ok in enumerate(valid)
        ]
    raw = floats.tobytes()
    out: list[Cell] = []
    for row, ok in enumerate(valid):
        if not ok:
            out.append(None)
            continue
        start, end = offsets[row], offsets[row + 1]
        out.append(struct.pack(">HH", end - start, 0) + raw[4 * start : 4 * end])
    return out


def _vector_type(arr: pa.Array, name: str) -> list[Cell]:
    """halfvec_send (from float16-exact float32 lists), sparsevec_send (from its
    canonical text) and varbit_send (from '0'/'1' text)."""
    out: list[Cell] = []
    for value in arr.to_pylist():
        if value is None:
            out.append(None)
        elif name == "halfvec":
            out.append(halfvec_send(np.asarray(value, dtype=np.float16)))
        elif name == "sparsevec":
            dim, idx, vals = parse_sparsevec(value)
            out.append(sparsevec_send(dim, idx, vals))
        else:
            out.append(bit_send(value))
    return out


def _array(arr: pa.Array, element: SqlType) -> list[Cell]:
    values, offsets = _list_layout(arr)
    values = plain(values)
    # a vector-typed element's list is its value, not a further dimension
    nested = _is_list(values.type) and not element.is_vector
    if nested:
        # a further dimension: encode it as an array and unpack its dims and elements
        inner = _array(values, element)
    else:
        inner = encode_binary_column(values, element)
    valid = arr.is_valid().to_pylist()
    out: list[Cell] = []
    for row, ok in enumerate(valid):
        if not ok:
            out.append(None)
            continue
        cells = inner[offsets[row] : offsets[row + 1]]
        if not cells:
            out.append(struct.pack(">iii", 0, 0, element.oid))
            continue
        if nested:
            out.append(_stack_subarrays(cells, element))
            continue
        has_null = any(c is None for c in cells)
        parts = [struct.pack(">iiiii", 1, int(has_null), element.oid, len(cells), 1)]
        parts.extend(
            b"\xff\xff\xff\xff" if c is None else struct.pack(">i", len(c)) + c for c in cells
        )
        out.append(b"".join(parts))
    return out


def _stack_subarrays(cells: list[Cell], element: SqlType) -> bytes:
    """Combine equal-shape binary sub-arrays into one array with an extra leading dimension."""
    dims: list[int] | None = None
    has_null = False
    bodies: list[bytes] = []
    for cell in cells:
        if cell is None:
            raise InvalidBinaryRepresentation(
                "multidimensional arrays must have array expressions with matching dimensions"
            )
        ndim, flag, _ = struct.unpack_from(">iii", cell)
        sub_dims = [struct.unpack_from(">i", cell, 12 + 8 * k)[0] for k in range(ndim)]
        if dims is not None and sub_dims != dims:
            raise InvalidBinaryRepresentation(
                "multidimensional arrays must have array expressions with matching dimensions"
            )
        dims = sub_dims
        has_null = has_null or bool(flag)
        bodies.append(cell[12 + 8 * ndim :])
    assert dims is not None
    all_dims = [len(cells), *dims]
    header = struct.pack(">iii", len(all_dims), int(has_null), element.oid)
    header += b"".join(struct.pack(">ii", d, 1) for d in all_dims)
    return header + b"".join(bodies)


def encode_binary_column(arr: pa.Array, t: SqlType) -> list[Cell]:
    """PostgreSQL's binary send format for every value of ``arr`` (SQL type ``t``)."""
    arr = plain(arr)
    if pa.types.is_null(arr.type):
        return [None] * len(arr)
    if t.is_array:
        return _array(arr, t.element)
    name = t.name
    if name == "record" and pa.types.is_struct(arr.type):
        return record_binary(arr, encode_binary_column, t)
    if name in ("int2vector", "oidvector") and pa.types.is_list(arr.type):
        # int2vectorsend/oidvectorsend are array_send of the elements
        return _array(arr, SqlType("smallint" if name == "int2vector" else "oid"))
    if name in _FIXED:
        if pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type):
            raise InvalidBinaryRepresentation(f"no binary output for type {t} from text")
        return _fixed(arr, _FIXED[name])
    if name == "boolean":
        return [None if v is None else (b"\x01" if v else b"\x00") for v in arr.to_pylist()]
    if name == "numeric":
        return _numeric(arr, t)
    if name == "bytea":
        return list(arr.to_pylist())
    if name == "uuid":
        return _uuid(arr)
    if name == "date":
        return _date(arr)
    if name == "time without time zone":
        return _time(arr)
    if name in ("timestamp without time zone", "timestamp with time zone"):
        return _timestamp(arr)
    if name == "interval":
        return _interval(arr)
    if name == "jsonb":
        return [None if c is None else b"\x01" + c for c in _text_bytes(arr, t)]
    if name == "vector":
        return _vector(arr)
    if name in ("halfvec", "sparsevec", "bit", "bit varying"):
        return _vector_type(arr, name)
    # text-likes (text, varchar, bpchar, name, json, char, unknown): UTF-8 bytes
    return _text_bytes(arr, t)


# --- decoding: binary parameters and COPY BINARY fields -------------------------------------


def _need(buf: bytes, size: int, type_name: str) -> None:
    if len(buf) != size:
        raise ProtocolViolation(
            "insufficient data left in message"
            if len(buf) < size
            else f"incorrect binary data format in {type_name} value"
        )


def _decode_text(buf: bytes) -> str:
    try:
        return buf.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidBinaryRepresentation(
            f'invalid byte sequence for encoding "UTF8": 0x{buf[exc.start]:02x}'
        )


def _decode_array(buf: bytes) -> list[object]:
    if len(buf) < 12:
        raise ProtocolViolation("insufficient data left in message")
    ndim, flags, elem_oid = struct.unpack_from(">iii", buf)
    if ndim < 0 or ndim > 6:
        raise InvalidBinaryRepresentation(f"invalid number of dimensions: {ndim}")
    if flags not in (0, 1):
        raise InvalidBinaryRepresentation("invalid array flags")
    if len(buf) < 12 + 8 * ndim:
        raise ProtocolViolation("insufficient data left in message")
    dims = [struct.unpack_from(">ii", buf, 12 + 8 * k)[0] for k in range(ndim)]
    if any(d < 0 for d in dims):
        raise InvalidBinaryRepresentation("array size exceeds the maximum allowed")
    pos = 12 + 8 * ndim
    count = 1
    for d in dims:
        count *= d
    if ndim == 0:
        count = 0
    items: list[object] = []
    for _ in range(count):
        if pos + 4 > len(buf):
            raise ProtocolViolation("insufficient data left in message")
        (length,) = struct.unpack_from(">i", buf, pos)
        pos += 4
        if length == -1:
            items.append(None)
            continue
        if length < 0 or pos + length > len(buf):
            raise ProtocolViolation("insufficient data left in message")
        items.append(decode_binary(buf[pos : pos + length], elem_oid))
        pos += length
    if pos != len(buf):
        raise InvalidBinaryRepresentation("incorrect binary data format in array")
    # fold the flat element list into nested lists, innermost dimension last
    for d in reversed(dims[1:]):
        items = [items[i : i + d] for i in range(0, len(items), d)]
    return items


def decode_binary(buf: bytes, oid: int) -> object:
    """The Python value of one binary-format parameter of type ``oid``."""
    t = by_oid(oid)
    if t is None:
        raise InvalidBinaryRepresentation(f"no binary input function available for type {oid}")
    if t.is_array:
        if t.element.is_vector and len(buf) >= 12 and buf[8:12] != t.element.oid.to_bytes(4, "big"):
            raise DatatypeMismatch("wrong element type")  # array_recv
        return _decode_array(buf)
    name = t.name
    if name == "vector":  # first: a prepared search's query vector, on every run
        return vector_recv(buf)
    if name in _FIXED:
        dtype = np.dtype(_FIXED[name])
        _need(buf, dtype.itemsize, name)
        value = np.frombuffer(buf, dtype=dtype)[0]
        return float(value) if dtype.kind == "f" else int(value)
    if name == "boolean":
        _need(buf, 1, name)
        return buf != b"\x00"
    if name == "bytea":
        return bytes(buf)
    if name == "numeric":
        return numeric_recv(buf)
    if name == "uuid":
        _need(buf, 16, name)
        return uuid.UUID(bytes=bytes(buf))
    if name == "date":
        _need(buf, 4, name)
        (days,) = struct.unpack(">i", buf)
        if days in (DATE_INFINITY, DATE_NEG_INFINITY):
            return "infinity" if days > 0 else "-infinity"
        return dt.date(2000, 1, 1) + dt.timedelta(days=days)
    if name == "time without time zone":
        _need(buf, 8, name)
        (micros,) = struct.unpack(">q", buf)
        if not 0 <= micros <= 86_400_000_000:
            raise InvalidBinaryRepresentation("time out of range")
        if micros == 86_400_000_000:
            return "24:00:00"
        seconds, frac = divmod(micros, 1_000_000)
        return dt.time(seconds // 3600, seconds // 60 % 60, seconds % 60, frac)
    if name in ("timestamp without time zone", "timestamp with time zone"):
        _need(buf, 8, name)
        (micros,) = struct.unpack(">q", buf)
        if micros in (TIMESTAMP_INFINITY, TIMESTAMP_NEG_INFINITY):
            return "infinity" if micros > 0 else "-infinity"
        base = dt.datetime(2000, 1, 1)
        try:
            value = base + dt.timedelta(microseconds=micros)
        except OverflowError:
            raise InvalidBinaryRepresentation("timestamp out of range")
        return value.replace(tzinfo=dt.UTC) if name == "timestamp with time zone" else value
    if name == "interval":
        _need(buf, 16, name)
        micros, days, months = struct.unpack(">qii", buf)
        if months:
            # a timedelta cannot hold months; the engine reads PostgreSQL's interval text
            return format_interval(months, days, micros)
        return dt.timedelta(days=days, microseconds=micros)
    if name == "jsonb":
        if not buf or buf[0] != 1:
            raise InvalidBinaryRepresentation(
                f"unsupported jsonb version number {buf[0] if buf else 0}"
            )
        text = _decode_text(buf[1:])
        _check_json(text)
        return text
    if name == "json":
        text = _decode_text(buf)
        _check_json(text)
        return text
    if name == "halfvec":
        # stored as float16-exact float32 (Arrow's float16 does not reach DuckDB)
        return halfvec_recv(buf).astype(np.float32)
    if name == "sparsevec":
        # canonical text: what sparsevec values are everywhere above storage
        return format_sparsevec(*sparsevec_recv(buf))
    if name in ("bit", "bit varying"):
        return bit_recv(buf)
    # text, varchar, bpchar, name, char, unknown, ...: UTF-8 text
    return _decode_text(buf)


def _check_json(text: str) -> None:
    try:
        json.loads(text)
    except ValueError:
        raise InvalidBinaryRepresentation("invalid input syntax for type json") from None


__all__ = [
    "decode_binary",
    "encode_binary_column",
    "format_numeric",
    "numeric_recv",
    "numeric_send",
]
