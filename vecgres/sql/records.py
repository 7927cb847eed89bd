"""Records: whole-row references and pgvector values inside records and JSON.

PostgreSQL prints a record's fields with each type's output function and
pgvector's types have no JSON cast, so to_json and friends fall back to that
text too (``to_json('[1,2]'::vector)`` is ``"[1,2]"``). DuckDB holds vector and
halfvec as FLOAT lists, which its to_json would print as numbers: those fields
are turned into pgvector's text before they reach a struct or a JSON builder.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlglot import exp

from vecgres.catalog.model import Table
from vecgres.types import SqlType

TypeOf = Callable[[exp.Expr], SqlType | None]

RECORD = SqlType("record")
# meta key on a whole-row struct: the table whose row type it is (pg_typeof(t) says "t")
ROWTYPE = "vg_rowtype"

_LISTS = ("vector", "halfvec")  # FLOAT lists in DuckDB; sparsevec and bit are text already


def is_float_list(t: SqlType | None) -> bool:
    """vector and halfvec (and arrays of them): FLOAT lists in DuckDB."""
    return t is not None and t.name in _LISTS


def vector_text(node: exp.Expr, t: SqlType | None) -> exp.Expr:
    """``node`` as pgvector's text when it is a vector or halfvec (or an array of them)."""
    if t is None or not is_float_list(t):
        return node
    text = exp.DataType.build("text", dialect="postgres")
    if t.is_array:
        text = exp.DataType.build("text[]", dialect="postgres")
    # a cast, which the vector rewrite turns into pgvector's output function
    return exp.Cast(this=node, to=text)


def whole_row(table: Table, alias: str) -> exp.Expr:
    """A table's whole-row reference: a struct of its own columns (not DuckDB's row,
    which has the hidden row id), pgvector fields as their text."""
    struct = exp.Struct(
        expressions=[
            exp.PropertyEQ(
                this=exp.to_identifier(c.name),
                expression=vector_text(exp.column(c.name, alias), c.type),
            )
            for c in table.columns
        ]
    )
    struct.meta["vg_type"] = RECORD
    struct.meta[ROWTYPE] = table.name
    return struct


def is_record(node: exp.Expr) -> bool:
    known = node.meta.get("vg_type") if node.meta else None
    return known == RECORD


def _row(args: list[exp.Expr], type_of: TypeOf) -> exp.Expr:
    """ROW(a, b): a record whose fields are f1, f2, ... (PostgreSQL's names for them)."""
    fields: list[exp.Expr] = []
    for i, arg in enumerate(args, start=1):
        fields.append(
            exp.PropertyEQ(
                this=exp.to_identifier(f"f{i}"), expression=vector_text(arg.copy(), type_of(arg))
            )
        )
    struct = exp.Struct(expressions=fields)
    struct.meta["vg_type"] = RECORD
    return struct


def rewrite_rows(ast: exp.Expr, type_of: TypeOf) -> None:
    """``ROW(...)`` and a select list's ``(a, b)`` as records (DuckDB's own row()
    names fields differently and would keep vectors as lists)."""
    found: list[exp.Expr] = []
    for node in ast.walk():
        if isinstance(node, exp.Anonymous) and node.name.lower() == "row":
            found.append(node)
        elif isinstance(node, exp.Tuple) and isinstance(node.parent, exp.Select | exp.Alias):
            if node.arg_key == "expressions" or isinstance(node.parent, exp.Alias):
                found.append(node)
    for node in reversed(found):  # innermost first: a nested ROW is built before its parent
        node.replace(_row(list(node.expressions), type_of))
