"""Text literals of pgvector's types, and arrays of them, assigned to a column.

PostgreSQL coerces an untyped literal in ``INSERT ... VALUES`` or ``UPDATE ... SET``
to the column's type while it parses the statement: the type's input function
runs with typmod -1 under an error callback that points at the literal (the
``position`` of the ErrorResponse, psql's caret), and the typmod (``vector(3)``)
is applied afterwards by the length coercion, whose errors carry no position.
For ``vector[]`` the input function is ``array_in``, which calls ``vector_in``
on each element: a bad element fails with pgvector's own message.

So here the input step runs at bind time (for INSERT ... VALUES of plain vectors,
when the statement failed: the write path parses those anyway); the stored value is
still produced, and its typmod checked for every element, by the write path's
conversion.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Final

import sqlglot
from sqlglot import exp

from vecgres import errors
from vecgres.sql.dialect import DIALECT
from vecgres.types import SqlType
from vecgres.vector import arrays, bits
from vecgres.vector import sparse as S
from vecgres.vector import text as vector_text

if TYPE_CHECKING:
    from vecgres.catalog.model import Column

KINDS: Final = ("vector", "halfvec", "sparsevec")
_BITS: Final = ("bit", "bit varying")

_INPUT: Final[dict[str, Callable[[str], object]]] = {
    "vector": vector_text.parse_vector,
    "halfvec": vector_text.parse_halfvec,
    "sparsevec": S.parse,
    "bit": bits.bit_in,
    "bit varying": bits.bit_in,
}


def handles(t: SqlType) -> bool:
    """A column type whose literal input is checked here."""
    return t.name in KINDS or (t.name in _BITS and not t.is_array)


def element_texts(text: str, t: SqlType) -> list[str | None]:
    """``array_in`` for an array of a pgvector type (vecgres/vector/arrays.py)."""
    return arrays.element_texts(text, t.name)


def point_at(exc: errors.VecgresError, literal: exp.Expr) -> None:
    """An input function's error carries the literal's position (1-based)."""
    start = literal.meta.get("start") if literal.meta else None
    if exc.position is None and isinstance(start, int):
        exc.position = start + 1


def recheck_inputs(values: exp.Expr | None, columns: Sequence[Column]) -> None:
    """An INSERT ... VALUES failed: if one of its pgvector literals fails its input
    function, that error (pointing at the literal) is the one PostgreSQL reports, as
    it reads every literal before any row is converted. Checked only on failure, so a
    bulk VALUES of good vectors is parsed once, by the write path."""
    if isinstance(values, exp.Values):
        for row in values.expressions:
            for value, col in zip(row.expressions, columns, strict=False):
                if _scalar_literal(value, col.type):
                    assigned_literal(value, col.type)


def assign_select_literals(select: exp.Select, columns: Sequence[Column]) -> None:
    """INSERT ... SELECT '[1,2]': an untyped literal in the select list is coerced to
    its column's type like a VALUES literal (PostgreSQL leaves it unresolved for the
    INSERT to coerce), so its input error points at it, rows or not."""
    if any(isinstance(item, exp.Star) or item.is_star for item in select.expressions):
        return  # the select list's positions are not the columns'
    for item, col in zip(select.expressions, columns, strict=False):
        value = item.this if isinstance(item, exp.Alias) else item
        if isinstance(value, exp.Literal) and value.is_string and handles(col.type):
            value.replace(assigned_literal(value, col.type))


def _scalar_literal(value: exp.Expr, t: SqlType) -> bool:
    return isinstance(value, exp.Literal) and value.is_string and handles(t) and not t.is_array


def assigned_literal(literal: exp.Literal, t: SqlType, *, fold: bool = False) -> exp.Expr:
    """The untyped string ``literal`` assigned to a column of type ``t``, checked by
    the type's input function; an array becomes a cast to the unconstrained array type
    (the write path's conversion checks each element's typmod). ``fold``: the typmod is
    checked now too, as PostgreSQL's planner folds the length coercion of a constant
    (``UPDATE t SET v = '[1,2,3]' WHERE false`` fails on a vector(2))."""
    try:
        items = element_texts(literal.this, t) if t.is_array else [literal.this]
        if not t.is_array:
            _INPUT[t.name](literal.this)
    except errors.VecgresError as exc:
        point_at(exc, literal)
        raise
    if fold and t.typmod >= 0:
        for item in items:
            if item is not None:
                _typmod_check(item, t)
    if t.is_array:
        # read as the array type (typmod -1) by the vector rewrite, as a cast would be
        to = sqlglot.parse_one(f"SELECT NULL::{t.name}[]", dialect=DIALECT)
        assert isinstance(to, exp.Select)
        return exp.Cast(this=literal, to=to.expressions[0].to)
    return literal


def _typmod_check(text: str, t: SqlType) -> None:
    if t.name in _BITS:
        bits.bit_in(text, t.typmod, t.name == "bit varying")
    elif t.name == "sparsevec":
        S.parse(text, t.typmod)
    elif t.name == "halfvec":
        vector_text.parse_halfvec(text, t.typmod)
    else:
        vector_text.parse_vector(text, t.typmod)


def from_texts(inner: exp.Expr, source: SqlType | None, target: SqlType) -> exp.Expr:
    """DuckDB SQL for ``text::vector(3)[]`` (array_in, then each element's typmod)
    and ``text[]::vector[]`` (each element by the element's input function)."""
    scalar = not source.is_array if source is not None else not isinstance(inner, exp.Array)
    if scalar:
        texts: exp.Expr = exp.func(
            "pgv_array_in",
            exp.cast(inner, "VARCHAR", dialect="duckdb"),
            exp.Literal.string(target.name),
        )
    else:
        texts = exp.cast(inner, "VARCHAR[]", dialect="duckdb")
    elem = exp.func(
        f"pgv_{target.name}_in", exp.column("pgv_text"), exp.Literal.number(target.typmod)
    )
    body = exp.func(
        "list_transform", texts, exp.Lambda(this=elem, expressions=[exp.to_identifier("pgv_text")])
    )
    duck = "VARCHAR[]" if target.name == "sparsevec" else "FLOAT[][]"
    return exp.cast(body, duck, dialect="duckdb")
