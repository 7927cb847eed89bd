"""PostgreSQL's integer input (int2in, int4in, int8in) for text: literals and parameters.

DuckDB reads ``'1e3'`` as an integer and reports a value out of range as a
conversion error; PostgreSQL 15 takes only optional spaces, a sign and
decimal digits, and says 22003 ``value "70000" is out of range for type
smallint`` when the number does not fit.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from decimal import Decimal
from typing import TYPE_CHECKING, Final

from sqlglot import exp

from vecgres import errors
from vecgres.types import INT4, INT8

if TYPE_CHECKING:
    from vecgres.types import SqlType

# SQL type name -> bound of the magnitude (values v with -bound <= v < bound)
INTEGER_RANGES: Final = {"smallint": 2**15, "integer": 2**31, "bigint": 2**63}
# wire type OIDs of the same types
INTEGER_OIDS: Final = {21: "smallint", 23: "integer", 20: "bigint"}
# scanint8/pg_strtoint: C isspace() around an optional sign and ASCII digits
_INT_TEXT: Final = re.compile(r"[ \t\n\r\f\v]*([+-]?[0-9]+)[ \t\n\r\f\v]*")


def parse_integer(text: str, type_name: str) -> int:
    """``text`` read as PostgreSQL reads a ``type_name`` (smallint, integer, bigint)."""
    m = _INT_TEXT.fullmatch(text)
    if m is None:
        raise errors.InvalidTextRepresentation(
            f'invalid input syntax for type {type_name}: "{text}"'
        )
    value = int(m.group(1))
    bound = INTEGER_RANGES[type_name]
    if not -bound <= value < bound:
        raise errors.NumericValueOutOfRange(f'value "{text}" is out of range for type {type_name}')
    return value


_COMPARED: Final = (exp.EQ, exp.NEQ, exp.LT, exp.LTE, exp.GT, exp.GTE, exp.In, exp.Between)


def check_integer_literals(
    ast: exp.Expr, type_of: Callable[[exp.Expr], SqlType | None], params: list[SqlType]
) -> None:
    """String literals compared with an integer: PostgreSQL reads them as that integer
    type (``1 = '1e3'`` is 22P02), DuckDB would compare them some other way. A
    parameter of unknown type compared with an integer constant is that type
    (``1 = $1``), so its text is read the same way at Bind."""
    for param in ast.find_all(exp.Parameter):
        inner = param.this
        index = int(inner.this) - 1 if isinstance(inner, exp.Literal) else -1
        if not 0 <= index < len(params) or params[index].name != "unknown":
            continue
        if isinstance(param.parent, _COMPARED):
            for other in param.parent.iter_expressions():
                name = _number_type(other)  # (None for the parameter itself)
                if name is not None:
                    params[index] = INT4 if name == "integer" else INT8
                    break
    for node in ast.find_all(exp.EQ, exp.NEQ, exp.LT, exp.LTE, exp.GT, exp.GTE):
        _check_pair(node.this, node.expression, type_of)
        _check_pair(node.expression, node.this, type_of)
    for in_list in ast.find_all(exp.In):
        for item in in_list.expressions:
            _check_pair(in_list.this, item, type_of)
    for between in ast.find_all(exp.Between):
        for bound in (between.args.get("low"), between.args.get("high")):
            if bound is not None:
                _check_pair(between.this, bound, type_of)


def _check_pair(
    operand: exp.Expr, other: exp.Expr, type_of: Callable[[exp.Expr], SqlType | None]
) -> None:
    if not (isinstance(other, exp.Literal) and other.is_string):
        return
    t = type_of(operand)
    name = _constant_type(operand) if t is None else None if t.is_array else t.name
    if name in INTEGER_RANGES:
        parse_integer(other.this, name)
    elif name == "numeric":
        # DuckDB would cast the text to the other side's DECIMAL(p, s), which may be too
        # narrow for it (1.5 = '1e3'); PostgreSQL compares unconstrained numerics
        other.replace(numeric_constant(other.this))


# numeric_in: spaces around a sign, digits with an optional point and exponent
_NUMERIC_TEXT: Final = re.compile(
    r"[ \t\n\r\f\v]*([+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?)[ \t\n\r\f\v]*"
)
_NUMERIC_SPECIAL: Final = re.compile(r"[ \t\n\r\f\v]*[+-]?(?:nan|inf|infinity)[ \t\n\r\f\v]*", re.I)


def numeric_constant(text: str) -> exp.Expr:
    """``text`` read as PostgreSQL reads a numeric: a decimal literal, or a double for
    NaN, the infinities and numbers longer than a DuckDB DECIMAL (they order the same)."""
    m = _NUMERIC_TEXT.fullmatch(text)
    if m is None and not _NUMERIC_SPECIAL.fullmatch(text):
        raise errors.InvalidTextRepresentation(f'invalid input syntax for type numeric: "{text}"')
    plain = None if m is None else format(Decimal(m.group(1)), "f")
    if plain is not None and len(plain.lstrip("-").replace(".", "")) <= 38:
        return exp.Literal.number(plain)
    return exp.cast(exp.Literal.string(text.strip()), exp.DataType.build("double"))


def _constant_type(node: exp.Expr) -> str | None:
    """PostgreSQL's type of a numeric constant: integer, bigint or numeric."""
    name = _number_type(node)
    if name is None:
        while isinstance(node, exp.Neg | exp.Paren):
            node = node.this
        if isinstance(node, exp.Literal) and not node.is_string:
            return "numeric"
    return name


def _number_type(node: exp.Expr) -> str | None:
    """PostgreSQL's type of an integer constant: integer if it fits, else bigint."""
    while isinstance(node, exp.Neg | exp.Paren):
        node = node.this
    if not (isinstance(node, exp.Literal) and not node.is_string and node.this.isdigit()):
        return None
    value = int(node.this)
    return "integer" if value < 2**31 else "bigint" if value < 2**63 else None
