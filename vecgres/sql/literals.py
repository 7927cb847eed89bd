"""String literals of PostgreSQL's input formats that DuckDB reads differently.

An untyped string literal takes the type it is assigned to or cast to, with
PostgreSQL's input syntax: ``'{1,2,3}'`` for arrays, ``'\\x00ff'`` for bytea.
These become DuckDB expressions of the right type here, at bind time, so a
malformed literal fails with PostgreSQL's message before anything runs.
"""

from __future__ import annotations

from sqlglot import exp

from vecgres import errors
from vecgres.sql.intinput import parse_integer
from vecgres.sql.typemap import duck_type
from vecgres.types import SqlType
from vecgres.vector.arrays import split_array as parse_array


def bytea_literal(text: str) -> exp.Expr:
    """PostgreSQL's bytea input: hex (``\\x...``) or the escape format."""
    if text.startswith("\\x"):
        digits = "".join(text[2:].split())
        try:
            bytes.fromhex(digits)
        except ValueError:
            raise errors.InvalidTextRepresentation(
                "invalid hexadecimal data: odd number of digits"
                if len(digits) % 2
                else f'invalid hexadecimal digit: "{digits}"'
            ) from None
        return exp.func("from_hex", exp.Literal.string(digits))
    out = bytearray()
    i = 0
    raw = text.encode()
    while i < len(raw):
        if raw[i] == 0x5C:  # backslash: \\ or \ooo
            if raw[i + 1 : i + 2] == b"\\":
                out.append(0x5C)
                i += 2
                continue
            octal = raw[i + 1 : i + 4]
            if len(octal) == 3 and all(0x30 <= c <= 0x37 for c in octal):
                out.append(int(octal, 8))
                i += 4
                continue
            raise errors.InvalidTextRepresentation("invalid input syntax for type bytea")
        out.append(raw[i])
        i += 1
    return exp.func("from_hex", exp.Literal.string(out.hex()))


def typed_literal(text: str, t: SqlType) -> exp.Expr | None:
    """A DuckDB expression for the string literal ``text`` read as type ``t``.

    None when DuckDB's own cast already reads PostgreSQL's format.
    """
    if t.is_array:
        elem = t.element
        items: list[exp.Expr] = []
        for item in parse_array(text):
            if item is None:
                items.append(exp.null())
            elif elem.name == "bytea":
                items.append(bytea_literal(item))
            else:
                items.append(exp.Literal.string(item))
        return exp.cast(exp.Array(expressions=items), duck_type(t), dialect="duckdb")
    if t.name == "bytea":
        return bytea_literal(text)
    return None


_BOOL_WORDS = {
    "t": True,
    "tr": True,
    "tru": True,
    "true": True,
    "y": True,
    "ye": True,
    "yes": True,
    "on": True,
    "1": True,
    "f": False,
    "fa": False,
    "fal": False,
    "fals": False,
    "false": False,
    "n": False,
    "no": False,
    "of": False,
    "off": False,
    "0": False,
}


def scalar_literal(text: str, t: SqlType) -> exp.Expr | None:
    """Literal input DuckDB would read more leniently than PostgreSQL (or not at all)."""
    if t.is_array:
        return None
    if t.name in ("smallint", "integer", "bigint"):
        parse_integer(text, t.name)  # PostgreSQL's syntax and range errors
        return None
    if t.name in ("double precision", "real"):
        try:
            number = float(text)
        except ValueError:
            return None  # DuckDB's message is translated
        if number in (float("inf"), float("-inf")) and "inf" not in text.lower():
            raise errors.NumericValueOutOfRange(
                f'"{text.strip()}" is out of range for type {t.name}'
            )
        return None
    if t.name == "boolean":
        truth = _BOOL_WORDS.get(text.strip().lower())
        if truth is None:
            raise errors.InvalidTextRepresentation(
                f'invalid input syntax for type boolean: "{text}"'
            )
        return exp.true() if truth else exp.false()
    if t.name in ("character varying", "character") and t.typmod >= 4:
        # an explicit cast truncates; char(n) pads with spaces
        n = t.typmod - 4
        value = text[:n]
        if t.name == "character":
            value = value.ljust(n)
        return exp.Literal.string(value)
    return None
