"""json and jsonb operators and functions, rewritten for DuckDB at bind time.

DuckDB's JSON type holds text; jsonb values are kept in PostgreSQL's
canonical text by the ``vg_jsonb_*`` functions (executor/jsonfuncs.py).
Which operand is json, jsonb or neither comes from the catalog and casts.
"""

from __future__ import annotations

import json
from collections.abc import Callable

from sqlglot import exp

from vecgres import errors
from vecgres.executor.jsonfuncs import dump, jsonb_in
from vecgres.sql.pgcatalog.signatures import udf_name
from vecgres.sql.records import (
    ROWTYPE,
    is_float_list,
    is_record,
    record_fields,
    rewrite_rows,
    vector_text,
)
from vecgres.sql.textcast import float_json, float_json_value
from vecgres.types import SqlType
from vecgres.vector.arrays import split_array as parse_array

TypeOf = Callable[[exp.Expr], SqlType | None]

_JSONB_BUILDERS = {"jsonb_build_object": "json_object", "jsonb_build_array": "json_array"}
_JSON_BUILDERS = {"json_build_object": "json_object", "json_build_array": "json_array"}


def _text(node: exp.Expr) -> exp.Expr:
    return exp.cast(node, "VARCHAR", dialect="duckdb")


def _call(name: str, *args: exp.Expr) -> exp.Expr:
    # Anonymous, so sqlglot does not reinterpret DuckDB's own JSON functions
    return exp.Anonymous(this=name, expressions=list(args))


def _canonical(node: exp.Expr) -> exp.Expr:
    return _jsonb(exp.func("vg_jsonb_in", _text(node)))


def _jsonb(node: exp.Expr) -> exp.Expr:
    """Typed jsonb for the result's description (DuckDB only knows JSON)."""
    node.meta["vg_type"] = SqlType("jsonb")
    return node


def _json_kind(node: exp.Expr, type_of: TypeOf, memo: dict[int, str | None]) -> str | None:
    key = id(node)
    if key in memo:
        return memo[key]
    kind: str | None = None
    known = node.meta.get("vg_type") if node.meta else None
    if isinstance(known, SqlType) and not known.is_array and known.name in ("json", "jsonb"):
        kind = known.name  # a builder already rewritten (nested builders)
    elif isinstance(node, exp.Paren | exp.JSONExtract | exp.JSONBExtract):
        kind = _json_kind(node.this, type_of, memo)
    elif isinstance(node, exp.DPipe | exp.Sub):
        kind = "jsonb" if _json_kind(node.this, type_of, memo) == "jsonb" else None
    elif isinstance(node, exp.Anonymous):
        name = node.name.lower()
        if name in _JSONB_BUILDERS or name in ("to_jsonb", "jsonb_set", "jsonb_agg"):
            kind = "jsonb"
        elif name in _JSON_BUILDERS or name in ("to_json", "json_agg", "row_to_json"):
            kind = "json"
    elif isinstance(node, exp.JSONArrayAgg | exp.JSONObjectAgg):
        kind = "json"
    elif isinstance(node, exp.JSONBObjectAgg):
        kind = "jsonb"
    else:
        t = type_of(node)
        if t is not None and not t.is_array and t.name in ("json", "jsonb"):
            kind = t.name
    memo[key] = kind
    return kind


def _pointer(path: str) -> str:
    """A PostgreSQL text[] path literal as a JSON pointer, which DuckDB reads."""
    parts = parse_array(path)
    return "".join(
        "/" + (p or "").replace("~", "~0").replace("/", "~1") for p in parts if p is not None
    )


def _json_literal_check(text: str) -> None:
    try:
        json.loads(text)
    except ValueError:
        raise errors.InvalidTextRepresentation("invalid input syntax for type json") from None


def _pg_typeof(node: exp.Anonymous, type_of: TypeOf, memo: dict[int, str | None]) -> None:
    """pg_typeof(x) as a constant where the type is evident, else from DuckDB's typeof."""
    arg = node.expressions[0]
    if arg.meta.get(ROWTYPE):
        # a table's whole-row reference is of the table's row type
        rowtype = arg.meta.get("vg_type")
        if _compared_as_oid(node) and isinstance(rowtype, SqlType):
            node.replace(exp.Literal.number(rowtype.oid))
        else:
            node.replace(exp.Literal.string(arg.meta[ROWTYPE]))
        return
    kind = memo.get(id(arg))
    t = SqlType(kind) if kind is not None else type_of(arg)
    if isinstance(arg, exp.Anonymous) and arg.name.lower() == "pg_typeof":
        t = SqlType("regtype")
    if t is None and isinstance(arg, exp.DPipe):
        t = SqlType("text")
    if t is None and isinstance(arg, exp.Avg):
        inner = type_of(arg.this)
        integral = inner is None or inner.name in ("smallint", "integer", "bigint", "numeric")
        t = SqlType("numeric" if integral else "double precision")
    as_oid = _compared_as_oid(node)
    if t is not None:
        shown = SqlType(t.name, is_array=t.is_array).format()
        label: exp.Expr = exp.Literal.string(shown)
        if as_oid:
            label = exp.Literal.number(SqlType(t.name, is_array=t.is_array).oid)
        if arg.find(exp.AggFunc) is not None:
            # still an aggregate: one row per group, as PostgreSQL gives
            label = exp.func("coalesce", exp.func("any_value", label), label.copy())
    else:
        label = exp.func("vg_pg_type_name", _call("typeof", arg.copy()))
        if as_oid:
            label = exp.func(udf_name("regtype_in", 1), label)
    label.meta["vg_name"] = "pg_typeof"  # the select item's name, as PostgreSQL gives it
    node.replace(label)


_COMPARISONS = (exp.EQ, exp.NEQ, exp.LT, exp.LTE, exp.GT, exp.GTE, exp.In)


def _compared_as_oid(node: exp.Expr) -> bool:
    """pg_typeof's regtype is shown as its name, but compared or cast to a number as
    its OID (regtype = regtype is oid = oid)."""
    parent = node.parent
    if isinstance(parent, exp.Cast):
        return not parent.to.is_type(*exp.DataType.TEXT_TYPES)
    return isinstance(parent, _COMPARISONS)


_RELEVANT = (
    exp.Cast,
    exp.JSONExtract,
    exp.JSONBExtract,
    exp.JSONBExtractScalar,
    exp.ArrayContainsAll,
    exp.ArrayContainedBy,
    exp.JSONBContainsTopKey,
    exp.JSONBContains,
    exp.JSONBContainsAnyTopKeys,
    exp.JSONBContainsAllTopKeys,
    exp.DPipe,
    exp.Sub,
    exp.JSONArrayAgg,
    exp.JSONObjectAgg,
    exp.JSONBObjectAgg,
    exp.Anonymous,
)

_VALUE_FUNCS = frozenset(
    {"to_json", "to_jsonb", "jsonb_agg", "array_to_json", *_JSON_BUILDERS, *_JSONB_BUILDERS}
)


def _unwrap(node: exp.Expr) -> exp.Expr:
    """An aggregate's argument without its ORDER BY or DISTINCT."""
    if isinstance(node, exp.Order):
        node = node.this
    if isinstance(node, exp.Distinct) and len(node.expressions) == 1:
        node = node.expressions[0]
    return node


def _json_values(node: exp.Expr) -> list[exp.Expr]:
    """The arguments a JSON function turns into JSON values."""
    if isinstance(node, exp.JSONArrayAgg):
        return [_unwrap(node.this)]
    if isinstance(node, exp.JSONObjectAgg):
        return [_unwrap(e) for e in node.expressions]
    if isinstance(node, exp.JSONBObjectAgg):
        return [node.this, _unwrap(node.expression)]
    if isinstance(node, exp.Anonymous) and node.name.lower() in _VALUE_FUNCS:
        return [_unwrap(e) for e in node.expressions]
    return []


def _vectors_as_text(ast: exp.Expr, type_of: TypeOf) -> None:
    """pgvector values have no JSON cast: PostgreSQL's to_json uses their text."""
    swaps: list[tuple[exp.Expr, SqlType]] = []
    for node in ast.walk():
        for arg in _json_values(node):
            try:
                t = type_of(arg)
            except errors.VecgresError:
                continue
            if t is not None and (is_float_list(t) or is_float_list(t.element)):
                swaps.append((arg, t))
    for arg, t in swaps:
        arg.replace(vector_text(arg.copy(), t))


def rewrite_json(ast: exp.Expr, type_of: TypeOf) -> None:
    rewrite_rows(ast, type_of)
    _vectors_as_text(ast, type_of)
    memo: dict[int, str | None] = {}
    nodes = [n for n in ast.walk(bfs=False) if isinstance(n, _RELEVANT)]
    if not nodes:
        return
    # kinds are settled on the original tree, before any operand is rewritten
    for node in nodes:
        _json_kind(node, type_of, memo)
        for child in node.iter_expressions():
            _json_kind(child, type_of, memo)
    for node in nodes:
        is_typeof = isinstance(node, exp.Anonymous) and node.name.lower() == "pg_typeof"
        if is_typeof and len(node.expressions) == 1:
            assert isinstance(node, exp.Anonymous)
            _pg_typeof(node, type_of, memo)
    nodes = [n for n in ast.walk(bfs=False) if isinstance(n, _RELEVANT)]
    for node in reversed(nodes):
        if node.parent is None and node is not ast:
            continue  # already replaced together with an ancestor
        _rewrite_one(node, type_of, memo)
    _push_filters(ast)


def _rewrite_one(node: exp.Expr, type_of: TypeOf, memo: dict[int, str | None]) -> None:
    kind = memo.get(id(node))
    if isinstance(node, exp.Cast):
        try:
            target = type_of(node)
        except errors.VecgresError:
            return
        if target is None or target.is_array or target.name not in ("json", "jsonb"):
            return
        inner = node.this
        if isinstance(inner, exp.Literal) and inner.is_string:
            _json_literal_check(inner.this)
            if target.name == "jsonb":
                node.set("this", exp.Literal.string(jsonb_in(inner.this) or ""))
            return
        if target.name == "jsonb" and memo.get(id(inner)) != "jsonb":
            node.replace(_canonical(inner.copy()))
        return
    if isinstance(node, exp.JSONExtract) and kind is not None:
        node.replace(_reformat(node.copy(), kind))
        return
    if isinstance(node, exp.JSONBExtract | exp.JSONBExtractScalar):
        path = node.expression
        if not (isinstance(path, exp.Literal) and path.is_string):
            raise errors.FeatureNotSupported("#> and #>> with a non-constant path")
        pointer = exp.Literal.string(_pointer(path.this))
        target = node.this.copy()
        if isinstance(node, exp.JSONBExtract):
            got = _call("json_extract", target, pointer)
            node.replace(_reformat(got, kind or "jsonb"))
        else:
            node.replace(exp.func("vg_jsonb_text", _text(_call("json_extract", target, pointer))))
        return
    if isinstance(node, exp.ArrayContainsAll | exp.ArrayContainedBy):
        left, right = node.this, node.expression
        kinds = {memo.get(id(left)), memo.get(id(right))}
        if "json" in kinds:
            op = "@>" if isinstance(node, exp.ArrayContainsAll) else "<@"
            raise errors.UndefinedFunction(
                f"operator does not exist: json {op} json",
                hint="No operator matches the given name and argument types. "
                "You might need to add explicit type casts.",
            )
        if "jsonb" in kinds:
            if isinstance(node, exp.ArrayContainedBy):
                left, right = right, left
            node.replace(exp.func("vg_jsonb_contains", _text(left.copy()), _text(right.copy())))
        return
    if isinstance(node, exp.JSONBContainsTopKey | exp.JSONBContains):
        node.replace(
            exp.func("vg_jsonb_exists", _text(node.this.copy()), _text(node.expression.copy()))
        )
        return
    if isinstance(node, exp.JSONBContainsAnyTopKeys | exp.JSONBContainsAllTopKeys):
        name = (
            "vg_jsonb_exists_any"
            if isinstance(node, exp.JSONBContainsAnyTopKeys)
            else "vg_jsonb_exists_all"
        )
        keys = exp.cast(node.expression.copy(), "VARCHAR[]", dialect="duckdb")
        node.replace(exp.func(name, _text(node.this.copy()), keys))
        return
    if isinstance(node, exp.DPipe) and memo.get(id(node.this)) == "jsonb":
        node.replace(
            exp.func("vg_jsonb_concat", _text(node.this.copy()), _text(node.expression.copy()))
        )
        return
    if isinstance(node, exp.Sub) and memo.get(id(node.this)) == "jsonb":
        node.replace(
            exp.func("vg_jsonb_delete", _text(node.this.copy()), _text(node.expression.copy()))
        )
        return
    if isinstance(node, exp.JSONArrayAgg):
        node.replace(_json_agg(node, type_of, memo))
        return
    if isinstance(node, exp.JSONObjectAgg | exp.JSONBObjectAgg):
        node.replace(_object_agg(node, type_of, memo))
        return
    if isinstance(node, exp.Anonymous):
        if isinstance(node.parent, exp.Table) and node.name.lower() in ("jsonb_each", "json_each"):
            _rewrite_each(node)
        else:
            _rewrite_function(node, type_of, memo)


def _json_text(node: exp.Expr, type_of: TypeOf, memo: dict[int, str | None]) -> exp.Expr:
    """A value's JSON text (VARCHAR): json and jsonb as they are, records as
    composite_to_json prints them, others through to_json."""
    if is_record(node):
        return _record_json(node, type_of, memo)
    if _json_kind(node, type_of, memo) in ("json", "jsonb"):
        return _text(node.copy())
    if _is_decimal_constant(node):
        return _text(node.copy())  # a numeric constant keeps its scale (2.50)
    return float_json(node, type_of) or _text(exp.func("to_json", node.copy()))


def _is_decimal_constant(node: exp.Expr) -> bool:
    if not isinstance(node, exp.Literal) or node.is_string:
        return False
    return "." in node.this and "e" not in node.this.lower()


def _concat(*parts: exp.Expr) -> exp.Expr:
    out = parts[0]
    for part in parts[1:]:
        out = exp.DPipe(this=out, expression=part, safe=True)
    return out


def _record_json(node: exp.Expr, type_of: TypeOf, memo: dict[int, str | None]) -> exp.Expr:
    """A record as row_to_json prints it: ``{"a":1,"v":"[1,2]"}``, json and jsonb
    fields embedded as their own text (DuckDB's to_json would re-print them)."""
    parts: list[exp.Expr] = []
    for i, (name, value) in enumerate(record_fields(node)):
        key = json.dumps(name, ensure_ascii=False) + ":"
        parts.append(exp.Literal.string(("," if i else "{") + key))
        parts.append(
            exp.func("coalesce", _json_text(value, type_of, memo), exp.Literal.string("null"))
        )
    if not parts:
        return exp.Literal.string("{}")
    parts.append(exp.Literal.string("}"))
    return _concat(*parts)  # a constructed record is never NULL itself


def _with_order(value: exp.Expr, arg: exp.Expr) -> exp.Expr:
    """list() of ``value``, keeping the aggregate's ORDER BY."""
    if isinstance(arg, exp.Order):
        return _list(exp.Order(this=value, expressions=[e.copy() for e in arg.expressions]))
    return _list(value)


_LIST = "vg_json_list"  # meta on the list() aggregate inside a rewritten JSON aggregate


def _list(arg: exp.Expr) -> exp.Expr:
    out = _call("list", arg)
    out.meta[_LIST] = True
    return out


def _push_filters(ast: exp.Expr) -> None:
    """``json_agg(x) FILTER (WHERE ...)``: the rewritten aggregate is a scalar around
    list(); the filter belongs on the list()."""
    for filt in list(ast.find_all(exp.Filter)):
        inner = filt.this
        if isinstance(inner, exp.AggFunc) or (inner.meta and inner.meta.get(_LIST)):
            continue
        lists = [n for n in inner.walk() if n.meta and n.meta.get(_LIST)]
        if not lists:
            continue
        where = filt.expression
        for node in lists:
            node.replace(exp.Filter(this=node.copy(), expression=where.copy()))
        filt.replace(inner.copy())


def _joined(items: exp.Expr, sep: exp.Expr | str, head: str, tail: str) -> exp.Expr:
    """head + items joined by sep + tail; NULL when there were no rows (as PostgreSQL)."""
    if isinstance(sep, str):
        sep = exp.Literal.string(sep)
    body = exp.func("array_to_string", items, sep)
    return exp.DPipe(
        this=exp.DPipe(this=exp.Literal.string(head), expression=body, safe=True),
        expression=exp.Literal.string(tail),
        safe=True,
    )


def _json_agg(node: exp.JSONArrayAgg, type_of: TypeOf, memo: dict[int, str | None]) -> exp.Expr:
    """json_agg: elements as to_json prints them, ", " between them, and a line break
    before each record or array after the first (json_agg_transfn's layout)."""
    arg = node.this
    value = _unwrap(arg)
    if isinstance(value, exp.Distinct):
        raise errors.FeatureNotSupported("json_agg(DISTINCT ...)")
    t = type_of(value)
    structured = is_record(value) or isinstance(value, exp.Array) or (t is not None and t.is_array)
    item = exp.func("coalesce", _json_text(value, type_of, memo), exp.Literal.string("null"))
    sep: exp.Expr = exp.Literal.string(", ")
    if structured:
        newline = exp.func("chr", exp.Literal.number(10))
        sep = exp.DPipe(
            this=exp.DPipe(this=sep, expression=newline, safe=True),
            expression=exp.Literal.string(" "),
            safe=True,
        )
    joined = _joined(_with_order(item, arg), sep, "[", "]")
    return _json(exp.func("vg_json_format", joined, exp.Literal.string("compact")))


def _object_agg(
    node: exp.JSONObjectAgg | exp.JSONBObjectAgg, type_of: TypeOf, memo: dict[int, str | None]
) -> exp.Expr:
    """json_object_agg prints ``{ "k" : v, ... }``; jsonb_object_agg is canonical jsonb."""
    if isinstance(node, exp.JSONObjectAgg):
        key, arg = node.expressions[0], node.expressions[1]
    else:
        key, arg = node.this, node.expression
    value = _unwrap(arg)
    key_text = _text(exp.func("to_json", _text(key.copy())))
    value_text = exp.func("coalesce", _json_text(value, type_of, memo), exp.Literal.string("null"))
    if isinstance(node, exp.JSONObjectAgg):
        pair = exp.DPipe(
            this=exp.DPipe(this=key_text, expression=exp.Literal.string(" : "), safe=True),
            expression=value_text,
            safe=True,
        )
        joined = _joined(_with_order(pair, arg), ", ", "{ ", " }")
        return _json(exp.func("vg_json_format", joined, exp.Literal.string("compact")))
    pair = exp.DPipe(
        this=exp.DPipe(this=key_text, expression=exp.Literal.string(":"), safe=True),
        expression=value_text,
        safe=True,
    )
    return _jsonb(exp.func("vg_jsonb_in", _joined(_with_order(pair, arg), ",", "{", "}")))


def _json(node: exp.Expr) -> exp.Expr:
    """Typed json, so that an enclosing builder embeds it as it is."""
    node.meta["vg_type"] = SqlType("json")
    return node


def _json_built(
    name: str, args: list[exp.Expr], type_of: TypeOf, memo: dict[int, str | None]
) -> exp.Expr:
    """json_build_object / json_build_array as PostgreSQL prints them: ``{"k" : v, ...}``
    and ``[a, b]``, json values (nested builders, records) embedded as their own text."""
    values = [
        exp.func("coalesce", _json_text(a, type_of, memo), exp.Literal.string("null")) for a in args
    ]
    if name == "json_build_array":
        if not values:
            return _json(
                exp.func("vg_json_format", exp.Literal.string("[]"), exp.Literal.string("compact"))
            )
        parts: list[exp.Expr] = [exp.Literal.string("[")]
        for i, value in enumerate(values):
            parts.extend([exp.Literal.string(", ")] if i else [])
            parts.append(value)
        parts.append(exp.Literal.string("]"))
    else:
        if len(args) % 2:
            raise errors.InvalidParameterValue(
                "argument list must have even number of elements",
                hint="The arguments of json_build_object() must consist of alternating keys"
                " and values.",
            )
        parts = [exp.Literal.string("{")]
        for i in range(0, len(args), 2):
            key = _text(exp.func("to_json", _text(args[i].copy())))
            parts.extend([exp.Literal.string(", ")] if i else [])
            parts.extend([key, exp.Literal.string(" : "), values[i + 1]])
        parts.append(exp.Literal.string("}"))
    return _json(exp.func("vg_json_format", _concat(*parts), exp.Literal.string("compact")))


def _rewrite_each(node: exp.Anonymous) -> None:
    """jsonb_each(x) in FROM: DuckDB's json_each, values printed as PostgreSQL does."""
    table = node.parent
    assert isinstance(table, exp.Table)
    value = exp.column("value")
    kind = "jsonb" if node.name.lower() == "jsonb_each" else "json"
    query = exp.select(exp.column("key"), _reformat(value, kind).as_("value")).from_(
        exp.Table(this=_call("json_each", *[a.copy() for a in node.expressions]))
    )
    alias = table.args.get("alias")
    table.replace(exp.Subquery(this=query, alias=alias.copy() if alias else None))


def _reformat(node: exp.Expr, kind: str) -> exp.Expr:
    if kind == "jsonb":
        return _canonical(node)
    return exp.func("vg_json_format", _text(node), exp.Literal.string("plain"))


def _rewrite_function(node: exp.Anonymous, type_of: TypeOf, memo: dict[int, str | None]) -> None:
    name = node.name.lower()
    if name in ("row_to_json", "to_json", "to_jsonb") and len(node.expressions) == 1:
        arg = node.expressions[0]
        if is_record(arg):
            text = _record_json(arg, type_of, memo)
            if name == "to_jsonb":
                node.replace(_jsonb(exp.func("vg_jsonb_in", text)))
            else:
                node.replace(_json(exp.func("vg_json_format", text, exp.Literal.string("compact"))))
            return
        floated = float_json(arg, type_of)
        if floated is not None:
            node.replace(_canonical(floated) if name == "to_jsonb" else _json(floated))
            return
    args = [a.copy() for a in node.expressions]
    if name in ("jsonb_typeof", "json_typeof") and len(args) == 1:
        node.replace(exp.func("vg_json_typeof", exp.func("json_type", args[0])))
    elif name in ("jsonb_array_length", "json_array_length") and len(args) == 1:
        node.replace(exp.func("json_array_length", args[0]))
    elif name in ("jsonb_object_keys", "json_object_keys") and len(args) == 1:
        node.replace(exp.Explode(this=exp.func("json_keys", args[0])))
    elif name in ("jsonb_array_elements_text", "json_array_elements_text") and len(args) == 1:
        node.replace(
            exp.Explode(this=_call("json_extract_string", args[0], exp.Literal.string("$[*]")))
        )
    elif name in ("jsonb_array_elements", "json_array_elements") and len(args) == 1:
        elems = exp.Explode(this=_call("json_extract", args[0], exp.Literal.string("$[*]")))
        node.replace(_reformat(elems, "jsonb" if name.startswith("jsonb") else "json"))
    elif name in _JSONB_BUILDERS:
        args = [float_json_value(a, type_of) for a in args]
        node.replace(_canonical(exp.func(_JSONB_BUILDERS[name], *args)))
    elif name in _JSON_BUILDERS:
        node.replace(_json_built(name, list(node.expressions), type_of, memo))
    elif name == "to_jsonb" and len(args) == 1:
        node.replace(_canonical(exp.func("to_json", args[0])))
    elif name == "jsonb_agg":
        args = [float_json_value(a, type_of) for a in args]
        node.replace(_canonical(exp.func("to_json", _list(*args))))
    elif name == "jsonb_set" and len(args) in (3, 4):
        path = args[1]
        if isinstance(path, exp.Literal) and path.is_string:
            items = parse_array(path.this)
            path = exp.Array(
                expressions=[exp.null() if i is None else exp.Literal.string(i) for i in items]
            )
        node.replace(
            exp.func(
                "vg_jsonb_set",
                _text(args[0]),
                exp.cast(path, "VARCHAR[]", dialect="duckdb"),
                _text(args[2]),
            )
        )


__all__ = ["dump", "rewrite_json"]
