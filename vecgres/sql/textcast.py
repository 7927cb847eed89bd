"""Values turned into text by their output function, not DuckDB's VARCHAR cast.

``t::text``, ``ARRAY[1,2]::text``, ``1.50::numeric::text``, ``format('%s', t)`` and
``'x' || t`` print the value as PostgreSQL's output function does (record_out,
array_out, numeric_out, interval_out, byteaout). DuckDB's cast says ``[1, 2]`` and
``{'id': 1}``; these expressions become ``vg_pg_text(to_json(x), typeof(x), type)``
(executor/textcast.py). pgvector's own types and arrays of them are left to the
vector rewrite, which already applies their output functions.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlglot import exp

from vecgres import errors
from vecgres.sql.typemap import sql_type
from vecgres.sql.vector_resolve import KINDS
from vecgres.sql.vector_rewrite import NAME, STRENGTH, _figure_colname
from vecgres.types import SqlType

TypeOf = Callable[[exp.Expr], SqlType | None]

TEXT = SqlType("text")
# scalar types whose DuckDB text differs from their output function's
_SCALARS = frozenset({"record", "numeric", "interval", "bytea"})
_TEXT_TARGETS = ("text", "character varying")


def needs_output_function(t: SqlType | None) -> bool:
    """Whether DuckDB's VARCHAR cast of a ``t`` value differs from PostgreSQL's text."""
    if t is None:
        return False
    if t.is_array:
        return t.name not in KINDS
    return t.name in _SCALARS


def output_text(node: exp.Expr, t: SqlType) -> exp.Expr:
    """``node`` printed by its type's output function (a text value; NULL stays NULL)."""
    out = exp.Anonymous(
        this="vg_pg_text",
        expressions=[
            exp.cast(exp.Anonymous(this="to_json", expressions=[node.copy()]), "VARCHAR"),
            exp.Anonymous(this="typeof", expressions=[node.copy()]),
            exp.Literal.string(t.name),
        ],
    )
    out.meta["vg_type"] = TEXT
    return out


def _literal_type(node: exp.Expr) -> SqlType | None:
    if isinstance(node, exp.Boolean):
        return SqlType("boolean")
    if isinstance(node, exp.Literal):
        if node.is_string:
            return TEXT
        return SqlType("numeric") if "." in node.this or "e" in node.this.lower() else None
    return None


def value_type(node: exp.Expr, type_of: TypeOf) -> SqlType | None:
    """``type_of``, and an ARRAY[...] constructor's type from its elements."""
    known = type_of(node)
    if known is not None or not isinstance(node, exp.Array):
        return known
    integer = False
    for item in node.expressions:
        t = value_type(item, type_of) or _literal_type(item)
        if t is not None:
            return t if t.is_array else t.array_of()
        integer = integer or (isinstance(item, exp.Literal) and not item.is_string)
    return SqlType("integer", is_array=True) if integer else None


def _cast_target(cast: exp.Cast) -> SqlType | None:
    try:
        return sql_type(cast.to)
    except errors.VecgresError:
        return None


def rewrite_text_casts(ast: exp.Expr, type_of: TypeOf) -> None:
    """Casts to text, format()'s arguments and ``||``'s operands of the types whose
    text DuckDB prints its own way."""
    for cast in list(ast.find_all(exp.Cast)):
        target = _cast_target(cast)
        if target is None or target.is_array or target.name not in _TEXT_TARGETS:
            continue
        source = value_type(cast.this, type_of)
        if not needs_output_function(source):
            continue
        assert source is not None
        name, strength = _figure_colname(cast)
        out = output_text(cast.this, source)
        if target.name == "character varying" and target.typmod > 4:
            # an explicit cast to varchar(n) cuts the text (VARHDRSZ + n typmod)
            out = exp.Anonymous(
                this="left", expressions=[out, exp.Literal.number(target.typmod - 4)]
            )
            out.meta["vg_type"] = target
        if name is not None:
            out.meta[NAME] = name
            out.meta[STRENGTH] = strength
        cast.replace(out)
    for fmt in list(ast.find_all(exp.Format)):
        for arg in list(fmt.expressions):
            t = value_type(arg, type_of)
            if needs_output_function(t):
                assert t is not None
                arg.replace(output_text(arg, t))
    for pipe in list(ast.find_all(exp.DPipe)):
        sides = (value_type(pipe.this, type_of), value_type(pipe.expression, type_of))
        if any(t is not None and t.is_array for t in sides):
            continue  # || of an array is array concatenation
        for side, t in zip((pipe.this, pipe.expression), sides, strict=True):
            if needs_output_function(t):
                assert t is not None
                side.replace(output_text(side, t))


def float_json(node: exp.Expr, type_of: TypeOf) -> exp.Expr | None:
    """A real or double precision value's JSON text (VARCHAR), as to_json prints it
    with float4out/float8out (``1``, not DuckDB's ``1.0``); None for other types."""
    t = type_of(node)
    if t is None or t.is_array or t.name not in ("real", "double precision"):
        return None
    fn = "vg_float4_json" if t.name == "real" else "vg_float8_json"
    return exp.Anonymous(this=fn, expressions=[node.copy()])


def float_json_value(node: exp.Expr, type_of: TypeOf) -> exp.Expr:
    """``node`` for DuckDB's JSON builders: a float as its JSON (so they embed
    float8out's ``1``), anything else as it is."""
    text = float_json(node, type_of)
    return node if text is None else exp.cast(text, "JSON", dialect="duckdb")


__all__ = [
    "float_json",
    "float_json_value",
    "needs_output_function",
    "output_text",
    "rewrite_text_casts",
]
