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
from vecgres.codec.record import anonymous_row_type, register_row_type
from vecgres.sql.derived_types import COLUMN_TYPES
from vecgres.types import SqlType, rowtype_oid

TypeOf = Callable[[exp.Expr], SqlType | None]

RECORD = SqlType("record")
# meta key on a whole-row struct: the table whose row type it is (pg_typeof(t) says "t")
ROWTYPE = "vg_rowtype"

_LISTS = ("vector", "halfvec")  # FLOAT lists in DuckDB; sparsevec and bit are text already
_ORIGINAL = "vg_record_field"  # meta on a field's wrapper: the value it wraps


def is_float_list(t: SqlType | None) -> bool:
    """A vector or halfvec value: a FLOAT list in DuckDB."""
    return t is not None and not t.is_array and t.name in _LISTS


def vector_text(node: exp.Expr, t: SqlType | None) -> exp.Expr:
    """``node`` as pgvector's text when it is a vector or halfvec (an array of them:
    an array of their texts)."""
    if t is not None and t.is_array and t.name in _LISTS:
        to = "text[]"
    elif is_float_list(t):
        to = "text"
    else:
        return node
    # a cast, which the vector rewrite turns into pgvector's output function
    out = exp.Cast(this=node, to=exp.DataType.build(to, dialect="postgres"))
    out.meta[_ORIGINAL] = True
    return out


def _field(node: exp.Expr, t: SqlType | None) -> exp.Expr:
    """A record field: pgvector values as their text, json and jsonb as JSON (so that
    row_to_json embeds them rather than quoting their text)."""
    if t is not None and not t.is_array and t.name in ("json", "jsonb"):
        out = exp.Cast(this=node, to=exp.DataType.build("json", dialect="postgres"))
        out.meta[_ORIGINAL] = True
        return out
    return vector_text(node, t)


def _record(
    fields: list[tuple[str, exp.Expr]], rowtype: str | None = None, t: SqlType = RECORD
) -> exp.Expr:
    struct = exp.Struct(
        expressions=[
            exp.PropertyEQ(this=exp.to_identifier(name), expression=value) for name, value in fields
        ]
    )
    struct.meta["vg_type"] = t
    if rowtype is not None:
        struct.meta[ROWTYPE] = rowtype
    return struct


def whole_row(table: Table, alias: str) -> exp.Expr:
    """A table's whole-row reference: a struct of its own columns (not DuckDB's row,
    which has the hidden row id), of the table's row type."""
    t = row_type(table)
    return _record(
        [(c.name, _field(exp.column(c.name, alias), c.type)) for c in table.columns],
        table.name,
        t,
    )


def row_type(table: Table) -> SqlType:
    """The table's composite row type (its columns' types registered for record_send)."""
    t = SqlType("record", rowtype_oid(table.oid))
    register_row_type(t.typmod, [(c.name, c.type) for c in table.columns])
    return t


def is_record(node: exp.Expr) -> bool:
    known = node.meta.get("vg_type") if node.meta else None
    return isinstance(known, SqlType) and known.name == "record" and not known.is_array


def record_fields(node: exp.Expr) -> list[tuple[str, exp.Expr]]:
    """A record's fields as (name, value): a json/jsonb field as its own text."""
    out: list[tuple[str, exp.Expr]] = []
    for prop in node.expressions:
        value = prop.expression
        if value.meta.get(_ORIGINAL) and isinstance(value, exp.Cast) and value.to.is_type("json"):
            value = value.this
        out.append((prop.name, value))
    return out


def _row(args: list[exp.Expr], type_of: TypeOf) -> exp.Expr:
    """ROW(a, b): a record whose fields are f1, f2, ... (PostgreSQL's names for them);
    when every field's type is known, record_send tags each with it."""
    names = [f"f{i}" for i in range(1, len(args) + 1)]
    types = [type_of(arg) for arg in args]
    t = RECORD
    known = [ft for ft in types if ft is not None and ft.name not in ("unknown", "record")]
    if args and len(known) == len(args):
        t = SqlType("record", anonymous_row_type(list(zip(names, known, strict=True))))
    fields = [(n, _field(arg.copy(), ft)) for n, arg, ft in zip(names, args, types, strict=True)]
    return _record(fields, None, t)


def _derived_row(col: exp.Expr, type_of: TypeOf) -> exp.Expr | None:
    """A subquery's or CTE's whole-row reference (``SELECT r FROM (SELECT ...) r``)."""
    select = col.find_ancestor(exp.Select)
    while select is not None:
        from_ = select.args.get("from_") or select.args.get("from")
        sources = [from_.this] if from_ is not None else []
        sources.extend(j.this for j in select.args.get("joins") or [])
        for src in sources:
            if src.alias_or_name != col.name:
                continue
            query: exp.Expr | None = None
            if isinstance(src, exp.Subquery):
                query = src.this
            elif isinstance(src, exp.Table):
                query = cte_query(select, src.name)
            outputs = _outputs(query, type_of) if query is not None else None
            if outputs is None:
                return None
            fields = []
            for name, t in outputs:
                value = exp.column(name, col.name)
                if t is not None and t.name != "unknown":
                    value.meta["vg_type"] = t  # what (r).name is, read back by _field_of
                fields.append((name, _field(value, t)))
            return _record(fields)
        select = select.find_ancestor(exp.Select)
    return None


def cte_query(select: exp.Expr, name: str) -> exp.Expr | None:
    """The query of the CTE ``name`` visible from ``select`` (None: no such CTE)."""
    node: exp.Expr | None = select
    while node is not None:
        with_ = node.args.get("with_") or node.args.get("with")
        if isinstance(with_, exp.With):
            for cte in with_.expressions:
                if cte.alias_or_name == name:
                    found: exp.Expr = cte.this
                    return found
        node = node.parent
    return None


def _outputs(query: exp.Expr, type_of: TypeOf) -> list[tuple[str, SqlType | None]] | None:
    """A derived table's column names and types (a set operation's from its first
    branch's names and the branches' resolved types)."""
    first = query
    while isinstance(first, exp.SetOperation | exp.Subquery):
        first = first.this
    if not isinstance(first, exp.Select) or first.is_star:
        return None
    resolved = query.meta.get(COLUMN_TYPES) if query is not first else None
    out: list[tuple[str, SqlType | None]] = []
    for i, proj in enumerate(first.expressions):
        inner = proj.this if isinstance(proj, exp.Alias) else proj
        t = resolved[i] if isinstance(resolved, list) and i < len(resolved) else type_of(inner)
        out.append((proj.alias_or_name, t))
    return out


def _field_of(dot: exp.Dot) -> exp.Expr | None:
    """``(t).v`` of a whole-row record: the field's own value (typed as the column)."""
    target = dot.this
    while isinstance(target, exp.Paren):
        target = target.this
    if not (isinstance(target, exp.Struct) and is_record(target)):
        return None
    for prop in target.expressions:
        if isinstance(prop, exp.PropertyEQ) and prop.name == dot.name:
            value: exp.Expr = prop.expression
            if value.meta.get(_ORIGINAL):
                value = value.this
            return value.copy()
    return None


def rewrite_rows(ast: exp.Expr, type_of: TypeOf) -> None:
    """``ROW(...)``, a select list's ``(a, b)`` and a subquery's whole row as records
    (DuckDB's own rows name fields differently and keep vectors as lists); ``(t).v``
    as the field itself."""
    found: list[exp.Expr] = []
    for node in ast.walk():
        if isinstance(node, exp.Anonymous) and node.name.lower() == "row":
            found.append(node)
        elif isinstance(node, exp.Tuple) and isinstance(node.parent, exp.Select | exp.Alias):
            if node.arg_key == "expressions" or isinstance(node.parent, exp.Alias):
                found.append(node)
        elif isinstance(node, exp.TableColumn):
            found.append(node)
    for node in reversed(found):  # innermost first: a nested ROW is built before its parent
        if isinstance(node, exp.TableColumn):
            row = _derived_row(node, type_of)
            if row is not None:
                node.replace(row)
        else:
            node.replace(_row(list(node.expressions), type_of))
    for dot in list(ast.find_all(exp.Dot)):
        value = _field_of(dot)
        if value is not None:
            dot.replace(value)
    for test in list(ast.find_all(exp.Is)):
        if isinstance(test.expression, exp.Null) and is_record(test.this):
            _null_test(test)
    for agg in list(ast.find_all(exp.ArrayAgg)):
        arg = agg.this.this if isinstance(agg.this, exp.Order) else agg.this
        if isinstance(arg, exp.Expr) and is_record(arg):
            agg.meta["vg_type"] = arg.meta["vg_type"].array_of()


def _null_test(test: exp.Is) -> None:
    """``row IS NULL``: every field is NULL; ``row IS NOT NULL``: none is (so a row
    with some NULL fields is neither)."""
    negate = bool(test.args.get("negate"))
    checks: list[exp.Expr] = [
        exp.Is(this=value.copy(), expression=exp.null(), negate=negate)
        for _, value in record_fields(test.this)
    ]
    if not checks:
        test.replace(exp.false() if not negate else exp.true())
        return
    test.replace(exp.Paren(this=exp.and_(*checks)))
