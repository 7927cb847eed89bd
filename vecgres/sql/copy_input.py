"""Decoded COPY rows -> Arrow columns that INSERT's conversion can cast to the table types.

Text and CSV rows arrive as strings. Most types are cast by DuckDB with the
same rules as INSERT; the text forms DuckDB reads differently from
PostgreSQL (array literals ``{a,"b c",NULL}``, bytea ``\\x..`` hex) are
turned into Arrow values here first. Binary rows arrive as Python values.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pyarrow as pa

from vecgres import errors
from vecgres.types import SqlType


def parse_array_literal(text: str, type_name: str) -> list[str | None]:
    """A one-dimensional PostgreSQL array literal into its element strings."""

    def bad(detail: str) -> errors.VecgresError:
        return errors.InvalidTextRepresentation(f'malformed array literal: "{text}"', detail=detail)

    body = text.strip()
    if body.startswith("[") and "=" in body:
        # explicit bounds ('[1:2]={1,2}'): the bounds do not survive in Arrow
        body = body.split("=", 1)[1].strip()
    if not body.startswith("{"):
        raise bad('Array value must start with "{" or dimension information.')
    if not body.endswith("}"):
        raise bad("Unexpected end of input.")
    inner = body[1:-1]
    out: list[str | None] = []
    if not inner.strip():
        return out
    pos, n = 0, len(inner)
    while True:
        while pos < n and inner[pos].isspace():
            pos += 1
        if pos < n and inner[pos] == "{":
            raise errors.FeatureNotSupported(
                f"multidimensional arrays of {type_name} are not supported"
            )
        chars: list[str] = []
        quoted = False
        if pos < n and inner[pos] == '"':
            quoted = True
            pos += 1
            while pos < n and inner[pos] != '"':
                if inner[pos] == "\\" and pos + 1 < n:
                    pos += 1
                chars.append(inner[pos])
                pos += 1
            if pos >= n:
                raise bad("Unexpected end of input.")
            pos += 1
            while pos < n and inner[pos].isspace():
                pos += 1
        else:
            while pos < n and inner[pos] != ",":
                if inner[pos] == "\\" and pos + 1 < n:
                    pos += 1
                elif inner[pos] in '{}"':
                    raise bad(f'Unexpected "{inner[pos]}" character.')
                chars.append(inner[pos])
                pos += 1
        value = "".join(chars)
        if not quoted:
            value = value.strip()
            if not value:
                raise bad('Unexpected "," character.' if pos < n else "Unexpected end of input.")
        out.append(None if not quoted and value.upper() == "NULL" else value)
        if pos >= n:
            return out
        if inner[pos] != ",":
            raise bad(f'Unexpected "{inner[pos]}" character.')
        pos += 1


def parse_bytea(text: str) -> bytes:
    """bytea's text input: ``\\x`` hex, or the escape format with ``\\\\`` and ``\\nnn``."""
    if text.startswith("\\x"):
        digits = text[2:]
        try:
            return bytes.fromhex(digits)
        except ValueError:
            raise errors.InvalidTextRepresentation(
                "invalid hexadecimal data: odd number of digits"
                if len(digits.replace(" ", "")) % 2
                else "invalid hexadecimal digit"
            ) from None
    out = bytearray()
    pos, n = 0, len(text)
    while pos < n:
        ch = text[pos]
        if ch != "\\":
            out += ch.encode()
            pos += 1
        elif text[pos + 1 : pos + 2] == "\\":
            out.append(0x5C)
            pos += 2
        elif len(text) >= pos + 4 and all(c in "01234567" for c in text[pos + 1 : pos + 4]):
            out.append(int(text[pos + 1 : pos + 4], 8) & 0xFF)
            pos += 4
        else:
            raise errors.InvalidTextRepresentation("invalid input syntax for type bytea")
    return bytes(out)


def text_column(values: Sequence[str | None], t: SqlType) -> pa.Array:
    """One column of text-format values, as the Arrow input of INSERT's conversion."""
    if t.is_array:
        element = t.element.name
        return pa.array(
            [None if v is None else parse_array_literal(v, element) for v in values],
            pa.list_(pa.string()),
        )
    if t.name == "bytea":
        return pa.array([None if v is None else parse_bytea(v) for v in values], pa.binary())
    return pa.array(values, pa.string())


def value_column(values: Sequence[object], t: SqlType) -> pa.Array:
    """One column of binary-format values (already decoded to Python objects)."""
    if t.name == "vector" and not t.is_array:
        return pa.array(
            [None if v is None else np.asarray(v, dtype=np.float32) for v in values],
            pa.list_(pa.float32()),
        )
    try:
        return pa.array(values)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        # mixed Python types (an interval with months arrives as text): let the cast read text
        return pa.array([None if v is None else str(v) for v in values], pa.string())
