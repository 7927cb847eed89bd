"""PostgreSQL 15's text output format for whole Arrow columns.

``encode_text_column`` turns one Arrow array into one ``bytes`` (or None for
NULL) per row, exactly as PostgreSQL prints the value with the session
defaults vecgres reports (DateStyle ISO, TimeZone UTC, IntervalStyle
postgres, extra_float_digits 1, bytea_output hex). It accepts the layout of
``arrow_type`` and also what DuckDB hands back for the same SQL type (wider
integers, large strings, other time units, ``Etc/UTC`` zones, fixed-size
binary UUIDs). Columns are converted in bulk where Arrow or numpy can do it;
the per-value remainder is plain string work.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from decimal import Decimal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from vecgres.codec.arrow import numeric_precision_scale
from vecgres.codec.floats import format_float4, format_float8
from vecgres.codec.record import record_text
from vecgres.types import SqlType
from vecgres.vector import format_vector, format_vectors

Cell = bytes | None

# PostgreSQL keeps timestamps as microseconds since 2000-01-01 and reserves the
# extremes of int64 for +/-infinity; vecgres keeps the same sentinels in Arrow
TIMESTAMP_INFINITY = 2**63 - 1
TIMESTAMP_NEG_INFINITY = -(2**63)
DATE_INFINITY = 2**31 - 1
DATE_NEG_INFINITY = -(2**31)

_TEXT_LIKE = frozenset(
    {
        "text",
        "character varying",
        "character",
        "name",
        "char",
        "json",
        "jsonb",
        "unknown",
        "void",
        "record",
        "bit",
        "bit varying",
        "int2vector",
        "oidvector",
        "pg_node_tree",
        "sparsevec",
    }
)
_INTEGER = frozenset(
    {
        "smallint",
        "integer",
        "bigint",
        "oid",
        "regproc",
        "regclass",
        "regtype",
        "regnamespace",
        "xid",
    }
)


def plain(arr: pa.Array) -> pa.Array:
    """``arr`` without dictionary encoding or extension wrapping."""
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    if pa.types.is_dictionary(arr.type):
        arr = arr.dictionary_decode()
    if isinstance(arr.type, pa.BaseExtensionType):
        arr = arr.storage
    return arr


# below this many values a column is cheaper to print value by value than with Arrow
# kernels (whose fixed cost dominates a point query's one row)
_SMALL = 32


def _as_bytes_cells(arr: pa.Array) -> list[Cell]:
    """String/binary array -> list of bytes (None for NULL), without per-row decoding."""
    if len(arr) < _SMALL and _is_stringish(arr.type):
        return [None if v is None else v.encode() for v in arr.to_pylist()]
    if pa.types.is_large_string(arr.type) or pa.types.is_string_view(arr.type):
        arr = arr.cast(pa.large_binary())
    elif pa.types.is_string(arr.type):
        arr = arr.cast(pa.binary())
    result: list[Cell] = arr.to_pylist()
    return result


def _is_stringish(t: pa.DataType) -> bool:
    return bool(pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_string_view(t))


def _map(arr: pa.Array, fn: Callable[[object], str]) -> list[Cell]:
    return [None if v is None else fn(v).encode() for v in arr.to_pylist()]


def _bool(arr: pa.Array) -> list[Cell]:
    return [None if v is None else (b"t" if v else b"f") for v in arr.to_pylist()]


def _integer(arr: pa.Array) -> list[Cell]:
    if pa.types.is_floating(arr.type) or pa.types.is_decimal(arr.type):
        arr = pc.cast(arr, pa.int64(), safe=False)
    elif len(arr) < _SMALL and pa.types.is_integer(arr.type):
        return [None if v is None else str(v).encode() for v in arr.to_pylist()]
    return _as_bytes_cells(pc.cast(arr, pa.string()))


def _float(arr: pa.Array, single: bool) -> list[Cell]:
    fmt = format_float4 if single else format_float8
    return [None if v is None else fmt(v).encode() for v in arr.to_pylist()]


def _trim_fraction(text: str) -> str:
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def _numeric(arr: pa.Array, t: SqlType) -> list[Cell]:
    ps = numeric_precision_scale(t)
    if pa.types.is_integer(arr.type):
        return _integer(arr)
    if _is_stringish(arr.type):
        return _as_bytes_cells(arr)  # already numeric_out's text (PostgreSQL-scaled division)
    if pa.types.is_floating(arr.type):
        values: list[object] = [
            None if v is None else (Decimal(repr(v)) if v == v else Decimal("NaN"))
            for v in arr.to_pylist()
        ]
    else:
        values = arr.to_pylist()
        if ps is not None and pa.types.is_decimal(arr.type) and arr.type.scale == ps[1]:
            # the common case: the stored scale is the declared one, Arrow prints it right
            return _as_bytes_cells(pc.cast(arr, pa.string()))
    out: list[Cell] = []
    for v in values:
        if v is None:
            out.append(None)
            continue
        assert isinstance(v, Decimal)
        out.append(format_numeric(v, None if ps is None else ps[1]).encode())
    return out


def format_numeric(value: Decimal, scale: int | None) -> str:
    """numeric_out: fixed notation, ``scale`` fractional digits or trailing zeros trimmed."""
    if value.is_nan():
        return "NaN"
    if value.is_infinite():
        return "Infinity" if value > 0 else "-Infinity"
    if scale is not None:
        value = value.quantize(Decimal(1).scaleb(-scale))
        text = f"{value:f}"
        return text[1:] if text.startswith("-") and value == 0 else text
    return _trim_fraction(f"{value:f}")


def _bytea(arr: pa.Array) -> list[Cell]:
    return [None if v is None else b"\\x" + v.hex().encode() for v in arr.to_pylist()]


def _uuid(arr: pa.Array) -> list[Cell]:
    if pa.types.is_fixed_size_binary(arr.type) or pa.types.is_binary(arr.type):
        return [None if v is None else str(uuid.UUID(bytes=v)).encode() for v in arr.to_pylist()]
    return _as_bytes_cells(arr)


def _ints(arr: pa.Array) -> tuple[np.ndarray, list[bool]]:
    """int64 values (nulls as 0) and the null mask of an integer-like array."""
    mask = arr.is_null().to_pylist()
    values = np.asarray(arr.cast(pa.int64()).fill_null(0).to_numpy(zero_copy_only=False))
    return values, mask


def timestamp_micros(arr: pa.Array) -> pa.Array:
    """Microseconds since 1970-01-01 (int64) of any timestamp array."""
    unit = arr.type.unit
    ints = arr.cast(pa.int64())
    if unit == "us":
        return ints
    factor = {"s": 1_000_000, "ms": 1000, "ns": 1}[unit]
    if unit == "ns":
        return pc.divide(ints, 1000)
    return pc.multiply(ints, factor)


def _fraction(micros: int) -> str:
    return "" if micros == 0 else "." + f"{micros:06d}".rstrip("0")


def _iso_datetime_strings(micros: np.ndarray) -> list[str]:
    return [str(s) for s in np.datetime_as_string(micros.astype("datetime64[us]"), unit="us")]


def _fix_year(text: str) -> tuple[str, bool]:
    """numpy's astronomical year (``-0043``, ``+10000``) as PostgreSQL's (``0044 ... BC``)."""
    if text.startswith("+"):
        return text[1:], False
    if text.startswith("-") or text.startswith("0000"):
        year_text, rest = text.lstrip("-").split("-", 1)
        year = int(year_text) + 1 if text.startswith("-") else 1
        return f"{year:04d}-{rest}", True
    return text, False


def _timestamp(arr: pa.Array, with_zone: bool) -> list[Cell]:
    if pa.types.is_timestamp(arr.type):
        micros_arr = timestamp_micros(arr)
    else:
        micros_arr = arr
    values, mask = _ints(micros_arr)
    texts = _iso_datetime_strings(values)
    zone = "+00" if with_zone else ""
    out: list[Cell] = []
    for is_null, raw, text in zip(mask, values.tolist(), texts, strict=True):
        if is_null:
            out.append(None)
        elif raw == TIMESTAMP_INFINITY:
            out.append(b"infinity")
        elif raw == TIMESTAMP_NEG_INFINITY:
            out.append(b"-infinity")
        else:
            head, bc = _fix_year(text[:-7])
            head = head.replace("T", " ")
            frac = _fraction(raw % 1_000_000)
            out.append(f"{head}{frac}{zone}{' BC' if bc else ''}".encode())
    return out


def _date(arr: pa.Array) -> list[Cell]:
    if pa.types.is_date64(arr.type):
        arr = arr.cast(pa.date32())
    if pa.types.is_timestamp(arr.type):
        arr = pc.cast(arr, pa.date32(), safe=False)
    values, mask = _ints(arr.cast(pa.int32()))
    texts = np.datetime_as_string(values.astype("datetime64[D]"))
    out: list[Cell] = []
    for is_null, raw, text in zip(mask, values.tolist(), texts.tolist(), strict=True):
        if is_null:
            out.append(None)
        elif raw == DATE_INFINITY:
            out.append(b"infinity")
        elif raw == DATE_NEG_INFINITY:
            out.append(b"-infinity")
        else:
            fixed, bc = _fix_year(text)
            out.append((fixed + (" BC" if bc else "")).encode())
    return out


def format_time(micros: int) -> str:
    seconds, frac = divmod(micros, 1_000_000)
    minutes, sec = divmod(seconds, 60)
    hours, minute = divmod(minutes, 60)
    return f"{hours:02d}:{minute:02d}:{sec:02d}{_fraction(frac)}"


def _time(arr: pa.Array) -> list[Cell]:
    unit = arr.type.unit if pa.types.is_time(arr.type) else "us"
    scale = {"s": 1_000_000, "ms": 1000, "us": 1, "ns": 1}[unit]
    ints = arr.cast(pa.int64()) if pa.types.is_time(arr.type) else arr
    out: list[Cell] = []
    for v in ints.to_pylist():
        if v is None:
            out.append(None)
        else:
            micros = v // 1000 if unit == "ns" else v * scale
            out.append(format_time(micros).encode())
    return out


def _plural(value: int, unit: str, is_before: bool, is_zero: bool) -> tuple[str, bool, bool]:
    if value == 0:
        return "", is_before, is_zero
    sign = "+" if is_before and value > 0 else ""
    text = f"{'' if is_zero else ' '}{sign}{value} {unit}{'' if value == 1 else 's'}"
    return text, value < 0, False


def format_interval(months: int, days: int, micros: int) -> str:
    """EncodeInterval with IntervalStyle postgres (``1 year 2 mons -3 days +04:05:06``)."""
    years = int(months / 12)  # C division truncates toward zero
    mons = months - years * 12
    parts = ""
    is_before = False
    is_zero = True
    for value, unit in ((years, "year"), (mons, "mon"), (days, "day")):
        text, is_before, is_zero = _plural(value, unit, is_before, is_zero)
        parts += text
    if is_zero or micros != 0:
        minus = micros < 0
        magnitude = -micros if minus else micros
        sign = "-" if minus else ("+" if is_before else "")
        seconds, frac = divmod(magnitude, 1_000_000)
        minutes, sec = divmod(seconds, 60)
        hours, minute = divmod(minutes, 60)
        parts += (
            f"{'' if is_zero else ' '}{sign}{hours:02d}:{minute:02d}:{sec:02d}{_fraction(frac)}"
        )
    return parts


def _interval(arr: pa.Array) -> list[Cell]:
    if pa.types.is_duration(arr.type):
        unit = arr.type.unit
        factor = {"s": 1_000_000, "ms": 1000, "us": 1}.get(unit)
        out: list[Cell] = []
        for v in arr.cast(pa.int64()).to_pylist():
            if v is None:
                out.append(None)
            else:
                micros = v // 1000 if factor is None else v * factor
                days, rest = divmod(abs(micros), 86_400_000_000)
                sign = -1 if micros < 0 else 1
                out.append(format_interval(0, sign * days, sign * rest).encode())
        return out
    return [
        None
        if v is None
        else format_interval(v.months, v.days, _nanos_to_micros(v.nanoseconds)).encode()
        for v in arr.to_pylist()
    ]


def _nanos_to_micros(nanos: int) -> int:
    return int(nanos / 1000)


_ARRAY_SPECIALS = frozenset(b'{}",\\ \t\n\r\x0b\x0c')


def quote_array_element(cell: bytes) -> bytes:
    """array_out's quoting: empty, NULL, delimiters, braces, quotes, backslashes, spaces."""
    if cell and cell.upper() != b"NULL" and not _ARRAY_SPECIALS.intersection(cell):
        return cell
    escaped = cell.replace(b"\\", b"\\\\").replace(b'"', b'\\"')
    return b'"' + escaped + b'"'


def _list_layout(arr: pa.Array) -> tuple[pa.Array, list[int]]:
    """The child values of a list array and one offset per row (plus the end)."""
    if pa.types.is_fixed_size_list(arr.type):
        size = arr.type.list_size
        values = arr.values.slice(arr.offset * size, len(arr) * size)
        return values, [i * size for i in range(len(arr) + 1)]
    offsets = arr.offsets.to_pylist()
    start = offsets[0]
    values = arr.values.slice(start, offsets[-1] - start)
    return values, [o - start for o in offsets]


def _is_list(t: pa.DataType) -> bool:
    return bool(pa.types.is_list(t) or pa.types.is_large_list(t) or pa.types.is_fixed_size_list(t))


def _array(arr: pa.Array, element: SqlType) -> list[Cell]:
    values, offsets = _list_layout(arr)
    values = plain(values)
    if _is_list(values.type) and not element.is_vector:
        # a nested list is a further array dimension (a vector's list is its value)
        cells = _array(values, element)
    else:
        cells = [
            None if c is None else quote_array_element(c)
            for c in encode_text_column(values, element)
        ]
    valid = arr.is_valid().to_pylist()
    out: list[Cell] = []
    for row, ok in enumerate(valid):
        if not ok:
            out.append(None)
            continue
        inner = cells[offsets[row] : offsets[row + 1]]
        out.append(b"{" + b",".join(b"NULL" if c is None else c for c in inner) + b"}")
    return out


def _vector(arr: pa.Array) -> list[Cell]:
    """pgvector's vector_out (``[1,2.5,3]``), whole fixed-size columns at once."""
    values, offsets = _list_layout(arr)
    floats = np.asarray(values.fill_null(0).to_numpy(zero_copy_only=False), dtype=np.float32)
    valid = arr.is_valid().to_pylist()
    if pa.types.is_fixed_size_list(arr.type) and arr.type.list_size > 0:
        texts = format_vectors(floats.reshape(len(arr), arr.type.list_size))
        return [t.encode() if ok else None for t, ok in zip(texts, valid, strict=True)]
    return [
        format_vector(floats[offsets[row] : offsets[row + 1]]).encode() if ok else None
        for row, ok in enumerate(valid)
    ]


def encode_text_column(arr: pa.Array, t: SqlType) -> list[Cell]:
    """PostgreSQL's text output for every value of ``arr`` (a column of SQL type ``t``)."""
    arr = plain(arr)
    if pa.types.is_null(arr.type):
        return [None] * len(arr)
    if t.is_array:
        if _is_stringish(arr.type):
            return _as_bytes_cells(arr)
        return _array(arr, t.element)
    name = t.name
    if pa.types.is_struct(arr.type):
        # a record, also where the statement's analysis did not know the type
        return record_text(arr, encode_text_column)
    if (
        name in ("text", "unknown")
        and _is_list(arr.type)
        and pa.types.is_struct(arr.type.value_type)
    ):
        return _array(arr, SqlType("record"))
    if name in ("int2vector", "oidvector") and pa.types.is_list(arr.type):
        # a catalog column held as a list (pg_index.indkey): PostgreSQL prints "1 2"
        return _map(arr, lambda v: " ".join(str(x) for x in v))  # type: ignore[attr-defined]
    if _is_stringish(arr.type) and name not in ("bytea",):
        # already text (catalog names, regclass rendered by the engine, uuid, json)
        return _as_bytes_cells(arr)
    if name == "boolean":
        return _bool(arr)
    if name in _INTEGER:
        return _integer(arr)
    if name == "real":
        return _float(arr, single=True)
    if name == "double precision":
        return _float(arr, single=False)
    if name == "numeric":
        return _numeric(arr, t)
    if name == "bytea":
        return _bytea(arr)
    if name == "uuid":
        return _uuid(arr)
    if name == "date":
        return _date(arr)
    if name == "time without time zone":
        return _time(arr)
    if name in ("timestamp without time zone", "timestamp with time zone"):
        return _timestamp(arr, with_zone=name == "timestamp with time zone")
    if name == "interval":
        return _interval(arr)
    if name in ("vector", "halfvec"):
        return _vector(arr)
    if name in _TEXT_LIKE:
        return _map(arr, str)
    raise ValueError(f"no text output for type {t} from Arrow {arr.type}")
