"""``x::text`` as PostgreSQL's output functions print ``x``: array_out, record_out,
numeric_out, interval_out, byteaout.

DuckDB's own VARCHAR cast prints ``[1, 2]`` and ``{'id': 1}``. A Python UDF cannot
take DuckDB's ANY type, so the binder hands ``vg_pg_text`` the value as
``to_json(x)`` (lossless for the types DuckDB prints as JSON numbers, strings,
lists and objects) together with ``typeof(x)`` (a constant DuckDB folds), which
says what each JSON value is: a list is an array, an object a record, and a
number's DuckDB type picks its output function (float4out, a DECIMAL's scale).
The SQL type name is the third argument: a ``numeric`` DuckDB computed as DOUBLE
prints as numeric_out does.
"""

from __future__ import annotations

import functools
import json
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pyarrow as pa

from vecgres.codec.floats import format_float4, format_float8
from vecgres.codec.record import quote_field
from vecgres.codec.text import format_numeric, quote_array_element


@dataclass(frozen=True, slots=True)
class DuckType:
    """A parsed DuckDB type: a scalar name (with DECIMAL's precision and scale),
    a list of ``element`` or a struct of ``fields``."""

    name: str
    element: DuckType | None = None
    fields: tuple[tuple[str, DuckType], ...] = ()
    scale: int | None = None
    computed: bool = False  # DECIMAL(38,10): DuckDB's numeric of no declared scale


_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_ ]*?(?=[\[\](),]|$)")


def _parse(text: str, pos: int) -> tuple[DuckType, int]:
    if text.startswith("STRUCT(", pos):
        pos += len("STRUCT(")
        fields: list[tuple[str, DuckType]] = []
        while text[pos] != ")":
            if text[pos] == '"':
                end = pos + 1
                while not (text[end] == '"' and text[end + 1 : end + 2] != '"'):
                    end += 2 if text[end] == '"' else 1
                name = text[pos + 1 : end].replace('""', '"')
                pos = end + 1
            else:
                end = text.index(" ", pos)
                name = text[pos:end]
                pos = end
            field, pos = _parse(text, pos + 1)
            fields.append((name, field))
            if text.startswith(", ", pos):
                pos += 2
        out = DuckType("STRUCT", fields=tuple(fields))
        pos += 1
    elif text.startswith('"', pos):  # a quoted type name: "NULL" for an untyped NULL
        end = text.index('"', pos + 1)
        out = DuckType(text[pos + 1 : end].upper())
        pos = end + 1
    else:
        match = _WORD.match(text, pos)
        if match is None:
            raise ValueError(f"unreadable DuckDB type {text!r}")
        name = match.group(0).strip().upper()
        pos = match.end()
        args: list[str] = []
        if text.startswith("(", pos):
            depth, start = 0, pos
            while True:
                depth += {"(": 1, ")": -1}.get(text[pos], 0)
                pos += 1
                if depth == 0:
                    break
            args = [a.strip() for a in text[start + 1 : pos - 1].split(",")]
        if name == "DECIMAL" and len(args) == 2:
            scale = int(args[1])
            out = DuckType(name, scale=scale, computed=(int(args[0]), scale) == (38, 10))
        else:
            out = DuckType(name)
    while text.startswith("[", pos):
        pos = text.index("]", pos) + 1
        out = DuckType("LIST", element=out)
    return out, pos


ANY = DuckType("ANY")  # a type this parser does not read: the JSON value's shape decides


@functools.lru_cache(maxsize=256)
def parse_duck_type(text: str) -> DuckType:
    """``typeof()``'s text as a DuckType (``STRUCT(a INTEGER, b VARCHAR[])``)."""
    try:
        out, pos = _parse(text, 0)
    except (ValueError, IndexError):
        return ANY
    return out if pos == len(text) else ANY


def _json_text(value: object) -> str:
    """A JSON value as jsonb_out spaces it."""
    if isinstance(value, dict):
        items = (f"{json.dumps(k, ensure_ascii=False)}: {_json_text(v)}" for k, v in value.items())
        return "{" + ", ".join(items) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_json_text(v) for v in value) + "]"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


_BLOB_ESCAPE = re.compile(r"\\x([0-9A-Fa-f]{2})")
_MONTHS = re.compile(r"\b(\d+) months?\b")


def _blob(text: str) -> str:
    """DuckDB's blob text (``\\x01ab``) as byteaout's hex (``\\x016162``)."""
    data = bytearray()
    pos = 0
    for match in _BLOB_ESCAPE.finditer(text):
        data += text[pos : match.start()].encode()
        data.append(int(match.group(1), 16))
        pos = match.end()
    data += text[pos:].encode()
    return "\\x" + data.hex()


def _interval(text: str) -> str:
    """DuckDB's interval text says ``2 months``; interval_out says ``2 mons``."""
    return _MONTHS.sub(lambda m: f"{m.group(1)} mon" + ("" if m.group(1) == "1" else "s"), text)


def _scalar(t: DuckType, value: Any, pg_name: str) -> str:
    name = t.name
    if isinstance(value, bool):
        return "t" if value else "f"
    if name == "FLOAT":
        return format_float4(float(value))
    if name == "DOUBLE":
        if pg_name == "numeric":
            return format_numeric(Decimal(repr(float(value))), None)
        return format_float8(float(value))
    if name == "DECIMAL":
        return format_numeric(Decimal(value), None if t.computed else t.scale)
    if name == "BLOB" and isinstance(value, str):
        return _blob(value)
    if name == "INTERVAL" and isinstance(value, str):
        return _interval(value)
    if isinstance(value, str):
        return value
    if isinstance(value, Decimal | int | float):
        return str(value)
    return _json_text(value)


def _array(t: DuckType, value: list[Any]) -> str:
    assert t.element is not None
    cells: list[str] = []
    for item in value:
        if item is None:
            cells.append("NULL")
        elif t.element.name == "LIST" and isinstance(item, list):
            cells.append(_array(t.element, item))  # a further dimension, never quoted
        else:
            text = format_value(t.element, item, "")
            cells.append(quote_array_element(text.encode()).decode())
    return "{" + ",".join(cells) + "}"


def _record(t: DuckType, value: dict[str, Any]) -> str:
    cells: list[str] = []
    for name, field in t.fields:
        item = value.get(name)
        cells.append(
            "" if item is None else quote_field(format_value(field, item, "").encode()).decode()
        )
    return "(" + ",".join(cells) + ")"


def format_value(t: DuckType, value: Any, pg_name: str) -> str:
    """PostgreSQL's text of one non-NULL value, read from its JSON."""
    if t.name == "ANY" and isinstance(value, list):
        t = DuckType("LIST", element=ANY)
    elif t.name == "ANY" and isinstance(value, dict):
        t = DuckType("STRUCT", fields=tuple((k, ANY) for k in value))
    if t.name == "LIST" and isinstance(value, list):
        return _array(t, value)
    if t.name == "STRUCT" and isinstance(value, dict):
        return _record(t, value)
    return _scalar(t, value, pg_name)


def _pg_text(values: pa.ChunkedArray, types: pa.ChunkedArray, names: pa.ChunkedArray) -> pa.Array:
    out: list[str | None] = []
    for text, duck, pg_name in zip(
        values.to_pylist(), types.to_pylist(), names.to_pylist(), strict=True
    ):
        if text is None:
            out.append(None)
            continue
        value = json.loads(text, parse_float=Decimal)
        out.append(None if value is None else format_value(parse_duck_type(duck), value, pg_name))
    return pa.array(out, pa.string())


def _float_json(single: bool) -> Callable[[pa.ChunkedArray], pa.Array]:
    """to_json of a float: float4out/float8out's text as a JSON number; NaN and the
    infinities, which JSON has no number for, as strings."""
    fmt = format_float4 if single else format_float8

    def fn(values: pa.ChunkedArray) -> pa.Array:
        out: list[str | None] = []
        for v in values.to_pylist():
            if v is None:
                out.append(None)
                continue
            text = fmt(v)
            out.append(text if math.isfinite(v) else f'"{text}"')
        return pa.array(out, pa.string())

    return fn


def register_text_udfs(add: Callable[[str, Callable[..., pa.Array], list[Any], Any], None]) -> None:
    """Register ``vg_pg_text(to_json(x), typeof(x), pg type name)`` and the float
    JSON texts ``vg_float4_json`` and ``vg_float8_json``."""
    add("vg_pg_text", _pg_text, ["VARCHAR", "VARCHAR", "VARCHAR"], "VARCHAR")
    add("vg_float4_json", _float_json(single=True), ["FLOAT"], "VARCHAR")
    add("vg_float8_json", _float_json(single=False), ["DOUBLE"], "VARCHAR")


__all__ = ["DuckType", "format_value", "parse_duck_type", "register_text_udfs"]
