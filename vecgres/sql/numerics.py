"""numeric results with PostgreSQL's scale: ``/`` on numeric and ``avg`` of integers.

Only a query's own output columns are rewritten (to ``vg_numeric_div``,
which returns numeric text): inside larger expressions DuckDB's decimal
arithmetic stays in charge, and ORDER BY keeps comparing numbers.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from sqlglot import exp

from vecgres import errors
from vecgres.sql.typemap import sql_type
from vecgres.types import SqlType

TypeOf = Callable[[exp.Expr], SqlType | None]

_EXACT = ("smallint", "integer", "bigint", "numeric")


def _exact_kind(node: exp.Expr, type_of: TypeOf) -> str | None:
    """ "numeric", "integer" or None (float or unknown) for an operand."""
    if isinstance(node, exp.Paren):
        return _exact_kind(node.this, type_of)
    if isinstance(node, exp.Literal) and not node.is_string:
        return "integer" if re.fullmatch(r"\d+", node.this) else "numeric"
    if isinstance(node, exp.Neg):
        return _exact_kind(node.this, type_of)
    t = type_of(node)
    if t is None or t.is_array or t.name not in _EXACT:
        return None
    return "numeric" if t.name == "numeric" else "integer"


def _text(node: exp.Expr) -> exp.Expr:
    return exp.cast(node, "VARCHAR", dialect="duckdb")


def _div(a: exp.Expr, b: exp.Expr) -> exp.Expr:
    return exp.Anonymous(this="vg_numeric_div", expressions=[_text(a), _text(b)])


def _referenced_outputs(select: exp.Select) -> set[str]:
    """Output names and positions that ORDER BY, GROUP BY or HAVING refer to."""
    out: set[str] = set()
    for key in ("order", "group", "having"):
        part = select.args.get(key)
        if part is None:
            continue
        for node in part.find_all(exp.Column, exp.Literal):
            out.add(node.name if isinstance(node, exp.Column) else str(node.this))
    return out


def promote_real_arithmetic(ast: exp.Expr, type_of: TypeOf) -> None:
    """real op integer is double precision in PostgreSQL (there is no real-integer operator)."""
    for node in list(ast.find_all(exp.Add, exp.Sub, exp.Mul, exp.Div)):
        sides = (node.this, node.expression)
        types = [type_of(side) for side in sides]
        kinds = [_exact_kind(side, type_of) for side in sides]
        for index, t in enumerate(types):
            other = kinds[1 - index]
            if t is not None and t.name == "real" and not t.is_array and other == "integer":
                sides[index].replace(exp.cast(sides[index].copy(), "DOUBLE", dialect="duckdb"))


def rewrite_float_to_numeric(ast: exp.Expr, type_of: TypeOf) -> None:
    """``float8::numeric``: PostgreSQL keeps 15 significant digits (6 for real).

    DuckDB would convert the binary value exactly; the digits go through text as
    float8out's ``%.15g`` does. The result is held as DECIMAL(38,10) like every
    unconstrained numeric, so digits past the tenth decimal are rounded away.
    """
    for cast in list(ast.find_all(exp.Cast)):
        try:
            target = sql_type(cast.to)
        except errors.VecgresError:
            continue
        if target.name != "numeric" or target.is_array or target.typmod >= 4:
            continue
        source = type_of(cast.this)
        if source is None or source.is_array or source.name not in ("real", "double precision"):
            continue
        digits = 6 if source.name == "real" else 15
        text = exp.Anonymous(
            this="printf", expressions=[exp.Literal.string(f"%.{digits}g"), cast.this.copy()]
        )
        cast.replace(exp.Cast(this=text, to=cast.to.copy()))


def rewrite_to_char(ast: exp.Expr, type_of: TypeOf) -> None:
    """to_char(number, template): sqlglot reads every to_char as a date format."""
    for node in list(ast.find_all(exp.TimeToStr)):
        fmt = node.args.get("format")
        value = node.this
        if not (isinstance(fmt, exp.Literal) and fmt.is_string) or "%" in fmt.this:
            continue
        t = type_of(value)
        numeric = _exact_kind(value, type_of) is not None or (
            t is not None and t.name in ("real", "double precision") and not t.is_array
        )
        if numeric:
            node.replace(
                exp.Anonymous(
                    this="vg_to_char_number", expressions=[_text(value.copy()), fmt.copy()]
                )
            )


def rewrite_numeric_outputs(ast: exp.Expr, type_of: TypeOf) -> None:
    promote_real_arithmetic(ast, type_of)
    rewrite_to_char(ast, type_of)
    if not isinstance(ast, exp.Select):
        return
    used = _referenced_outputs(ast)
    for position, proj in enumerate(ast.expressions, start=1):
        inner = proj.this if isinstance(proj, exp.Alias) else proj
        if proj.alias_or_name in used or str(position) in used:
            continue
        replacement: exp.Expr | None = None
        if isinstance(inner, exp.Div):
            kinds = {_exact_kind(inner.this, type_of), _exact_kind(inner.expression, type_of)}
            if kinds == {"numeric"} or kinds == {"numeric", "integer"}:
                replacement = _div(inner.this.copy(), inner.expression.copy())
        elif (
            isinstance(inner, exp.Avg)
            and not isinstance(inner.this, exp.Distinct)
            and _exact_kind(inner.this, type_of) is not None
        ):
            arg = inner.this
            replacement = _div(exp.Sum(this=arg.copy()), exp.Count(this=arg.copy()))
        elif isinstance(inner, exp.Pow) and isinstance(inner.expression, exp.Literal):
            exponent = inner.expression.this
            fractional = not inner.expression.is_string and re.fullmatch(
                r"\d*\.\d*[1-9]\d*", exponent
            )
            if fractional and _exact_kind(inner.this, type_of) is not None:
                replacement = exp.Anonymous(
                    this="vg_numeric_power",
                    expressions=[_text(inner.this.copy()), _text(inner.expression.copy())],
                )
        if replacement is not None:
            inner.replace(replacement)


__all__ = ["rewrite_numeric_outputs"]
