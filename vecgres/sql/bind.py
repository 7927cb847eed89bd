"""Binding: names against the catalog, parameter and result types, and the DuckDB form.

A ``BoundQuery`` is what prepared statements cache: the query rewritten for
DuckDB (pgvector operators as ``pgv_*`` functions, tables as ``__rel_<oid>``
relations, sequences and settings as session functions) with ``$n``
parameters still open, plus the inferred parameter and result types.
"""

from __future__ import annotations

import datetime as dt
import decimal
import math
import re
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from sqlglot import exp
from sqlglot.errors import OptimizeError
from sqlglot.optimizer.qualify import qualify

from vecgres import errors
from vecgres.catalog.model import Catalog, Table
from vecgres.sql import pgcatalog
from vecgres.sql.dialect import DIALECT, VectorOp
from vecgres.sql.typemap import duck_type, sql_type
from vecgres.types import FLOAT8, INT4, INT8, TEXT, UNKNOWN, SqlType
from vecgres.vector import text as vector_text

REL_PREFIX = "__rel_"

_VECTOR_OP_FUNCS = {
    "l2": "pgv_l2_distance",
    "cosine": "pgv_cosine_distance",
    "ip": "pgv_negative_inner_product",
    "l1": "pgv_l1_distance",
}

# pgvector functions -> (DuckDB UDF, result type); None means "a vector"
_VECTOR_FUNCS: dict[str, tuple[str, SqlType | None]] = {
    "l2_distance": ("pgv_l2_distance", FLOAT8),
    "cosine_distance": ("pgv_cosine_distance", FLOAT8),
    "inner_product": ("pgv_inner_product", FLOAT8),
    "l1_distance": ("pgv_l1_distance", FLOAT8),
    "vector_dims": ("pgv_vector_dims", INT4),
    "vector_norm": ("pgv_vector_norm", FLOAT8),
    "l2_norm": ("pgv_vector_norm", FLOAT8),
    "l2_normalize": ("pgv_l2_normalize", None),
    "subvector": ("pgv_subvector", None),
    "binary_quantize": ("pgv_binary_quantize", SqlType("bit")),
    "vector_cmp": ("pgv_vector_cmp", INT4),
    "vector_l2_squared_distance": ("pgv_l2_squared_distance", FLOAT8),
    "vector_negative_inner_product": ("pgv_negative_inner_product", FLOAT8),
}

_SESSION_FUNCS = {
    "nextval": ("vg_nextval", INT8),
    "currval": ("vg_currval", INT8),
    "setval": ("vg_setval", INT8),
    "lastval": ("vg_lastval", INT8),
    "current_setting": ("vg_current_setting", TEXT),
    "set_config": ("vg_set_config", TEXT),
}


@dataclass(slots=True)
class BindContext:
    catalog: Catalog
    search_path: list[str]
    # column type lookup for the vector-aware rewrites: (relation alias, column) -> type
    column_types: dict[tuple[str, str], SqlType] = field(default_factory=dict)


@dataclass(slots=True)
class BoundQuery:
    """A query ready for DuckDB, parameters still open."""

    ast: exp.Expr
    tables: dict[str, Table]  # relation name used in the SQL -> table
    param_types: list[SqlType]
    output_names: list[str]
    output_types: list[SqlType | None]
    output_sources: list[tuple[int, int]]  # (table oid, attnum) or (0, 0)

    def render(self, params: Sequence[object]) -> str:
        """DuckDB SQL with the parameters substituted as typed literals."""
        ast = self.ast
        if self.param_types:
            ast = ast.copy()
            for node in list(ast.find_all(exp.Parameter)):
                index = _param_index(node)
                if index is None:
                    continue
                if index > len(params):
                    raise errors.UndefinedParameter(f"there is no parameter ${index}")
                node.replace(literal(params[index - 1], self.param_types[index - 1]))
        return ast.sql(dialect="duckdb")


def _param_index(node: exp.Expr) -> int | None:
    inner = node.this
    if isinstance(inner, exp.Literal) and not inner.is_string:
        return int(inner.this)
    return None


def count_params(ast: exp.Expr) -> int:
    highest = 0
    for node in ast.find_all(exp.Parameter):
        index = _param_index(node)
        if index is not None:
            highest = max(highest, index)
    return highest


# --- literals -----------------------------------------------------------------


def vector_literal(values: np.ndarray, dims: int | None = None) -> exp.Expr:
    """A DuckDB FLOAT[] literal holding exactly these float32 values."""
    items = ",".join(_float_repr(float(x)) for x in np.asarray(values, dtype=np.float32))
    size = f"[{dims}]" if dims else "[]"
    return exp.cast(exp.Literal.string("[" + items + "]"), "FLOAT" + size, dialect="duckdb")


def _float_repr(x: float) -> str:
    if math.isnan(x):
        return "nan"
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    return repr(x)


def literal(value: object, t: SqlType) -> exp.Expr:
    """A typed DuckDB literal for a Python parameter value of SQL type ``t``."""
    if value is None:
        if t.name == "unknown":
            return exp.null()
        return exp.cast(exp.null(), duck_type(t), dialect="duckdb")
    if t.is_vector and t.name == "vector":
        if isinstance(value, str):
            return vector_literal(vector_text.parse_vector(value, t.typmod), t.dims)
        arr = np.asarray(value, dtype=np.float32)
        return vector_literal(arr, t.dims)
    if t.name == "unknown" or (t.name == "text" and isinstance(value, str)):
        if isinstance(value, str):
            return exp.Literal.string(value)
        return _python_literal(value)
    if isinstance(value, str):
        return exp.cast(exp.Literal.string(value), duck_type(t), dialect="duckdb")
    return exp.cast(_python_literal(value), duck_type(t), dialect="duckdb")


def _python_literal(value: object) -> exp.Expr:
    if isinstance(value, bool):
        return exp.true() if value else exp.false()
    if isinstance(value, int):
        return exp.Literal.number(value)
    if isinstance(value, float):
        if math.isnan(value) or math.isinf(value):
            return exp.cast(exp.Literal.string(_float_repr(value)), "DOUBLE")
        return exp.cast(exp.Literal.number(repr(value)), "DOUBLE")
    if isinstance(value, decimal.Decimal):
        return exp.cast(exp.Literal.string(str(value)), "DECIMAL(38,10)")
    if isinstance(value, bytes | bytearray | memoryview):
        return exp.func("from_hex", exp.Literal.string(bytes(value).hex()))
    if isinstance(value, dt.datetime):
        kind = "TIMESTAMPTZ" if value.tzinfo is not None else "TIMESTAMP"
        return exp.cast(exp.Literal.string(value.isoformat(sep=" ")), kind)
    if isinstance(value, dt.date):
        return exp.cast(exp.Literal.string(value.isoformat()), "DATE")
    if isinstance(value, dt.time):
        return exp.cast(exp.Literal.string(value.isoformat()), "TIME")
    if isinstance(value, dt.timedelta):
        return exp.cast(
            exp.Literal.string(
                f"{value.days} days {value.seconds} seconds {value.microseconds} microseconds"
            ),
            "INTERVAL",
        )
    if isinstance(value, uuid.UUID):
        return exp.cast(exp.Literal.string(str(value)), "UUID")
    if isinstance(value, np.ndarray):
        return vector_literal(value)
    if isinstance(value, list | tuple):
        return exp.Array(
            expressions=[_python_literal(v) if v is not None else exp.null() for v in value]
        )
    if isinstance(value, dict):
        import json

        return exp.cast(exp.Literal.string(json.dumps(value)), "JSON")
    return exp.Literal.string(str(value))


# --- binding ------------------------------------------------------------------


def rel_name(table: Table) -> str:
    return f"{REL_PREFIX}{table.oid}"


def bind_query(
    ast: exp.Expr,
    ctx: BindContext,
    parse_view: Callable[[str], exp.Expr],
    param_hints: Sequence[SqlType | None] = (),
) -> BoundQuery:
    """Bind a SELECT/VALUES/WITH query for DuckDB."""
    ast = ast.copy()
    tables: dict[str, Table] = {}
    _expand_views(ast, ctx, parse_view)
    pgcatalog.rewrite_catalog_sql(ast)
    _bind_tables(ast, ctx, tables)
    schema = {
        name: {col.name: duck_type(col.type) for col in table.columns}
        for name, table in tables.items()
    }
    # the hidden row id is addressable only by the engine's own statements
    for name in schema:
        schema[name]["_rowid"] = "BIGINT"
    try:
        ast = qualify(
            ast,
            dialect=DIALECT,
            schema=schema,
            quote_identifiers=False,
            identify=False,
            expand_alias_refs=False,
            validate_qualify_columns=True,
        )
    except OptimizeError as exc:
        raise _column_error(str(exc)) from None
    _hide_rowid_from_stars(ast)
    alias_tables = _alias_map(ast, tables)
    n_params = count_params(ast)
    param_types: list[SqlType] = [UNKNOWN] * n_params
    for index, hint in enumerate(param_hints[:n_params]):
        if hint is not None:
            param_types[index] = hint
    _infer_params(ast, alias_tables, param_types)
    _rewrite_vectors(ast, alias_tables, param_types)
    _rewrite_functions(ast)
    names, types, sources = _outputs(ast, alias_tables)
    param_types = [TEXT if t.name == "unknown" else t for t in param_types]
    return BoundQuery(ast, tables, param_types, names, types, sources)


def _column_error(text: str) -> errors.VecgresError:
    m = re.search(r"Column '([^']+)' could not be resolved(?: for table: '([^']+)')?", text)
    if m:
        col = m.group(1)
        if m.group(2) and not m.group(2).startswith(REL_PREFIX):
            return errors.UndefinedColumn(f"column {m.group(2)}.{col} does not exist")
        return errors.UndefinedColumn(f'column "{col}" does not exist')
    m = re.search(r"Ambiguous column '([^']+)'", text)
    if m:
        return errors.AmbiguousColumn(f'column reference "{m.group(1)}" is ambiguous')
    m = re.search(r"Unknown table: '?([^']+)'?", text)
    if m:
        return errors.UndefinedTable(f'missing FROM-clause entry for table "{m.group(1)}"')
    return errors.SyntaxError_(text)


def _cte_names(ast: exp.Expr) -> set[str]:
    return {cte.alias_or_name for cte in ast.find_all(exp.CTE)}


def _expand_views(ast: exp.Expr, ctx: BindContext, parse_view: Callable[[str], exp.Expr]) -> None:
    ctes = _cte_names(ast)
    for _ in range(32):  # views of views, bounded
        changed = False
        for node in list(ast.find_all(exp.Table)):
            if not isinstance(node.this, exp.Identifier) or (not node.db and node.name in ctes):
                continue
            found = ctx.catalog.resolve(node.name, node.db or None, ctx.search_path)
            if isinstance(found, Table) and found.kind == "v" and found.view_sql:
                sub = parse_view(found.view_sql)
                alias = node.alias or node.name
                node.replace(
                    exp.Subquery(this=sub, alias=exp.TableAlias(this=exp.to_identifier(alias)))
                )
                changed = True
        if not changed:
            return
    raise errors.FeatureNotSupported("views nested more than 32 levels")


_SYSTEM_SCHEMAS = {"pg_catalog", "information_schema"}


def _bind_tables(ast: exp.Expr, ctx: BindContext, tables: dict[str, Table]) -> None:
    ctes = _cte_names(ast)
    for node in list(ast.find_all(exp.Table)):
        if not isinstance(node.this, exp.Identifier):
            continue  # table functions
        if not node.db and node.name in ctes:
            continue
        table = pgcatalog.lookup(ctx.catalog, node.db or None, node.name, ctx.search_path)
        if table is None and node.db in _SYSTEM_SCHEMAS:
            raise errors.FeatureNotSupported(f"{node.db}.{node.name} is not supported by vecgres")
        if table is None:
            table = ctx.catalog.resolve_table(node.name, node.db or None, ctx.search_path)
        name = rel_name(table)
        tables[name] = table
        alias = node.alias or node.name
        node.set("this", exp.to_identifier(name))
        node.set("db", None)
        node.set("catalog", None)
        node.set("alias", exp.TableAlias(this=exp.to_identifier(alias)))


def _hide_rowid_from_stars(ast: exp.Expr) -> None:
    for select in ast.find_all(exp.Select):
        keep = [
            e
            for e in select.expressions
            if not (
                isinstance(e, exp.Alias)
                and e.alias == "_rowid"
                and isinstance(e.this, exp.Column)
                and e.this.name == "_rowid"
            )
            and not (isinstance(e, exp.Column) and e.name == "_rowid")
        ]
        if len(keep) != len(select.expressions):
            select.set("expressions", keep)


def _alias_map(ast: exp.Expr, tables: dict[str, Table]) -> dict[str, Table]:
    out: dict[str, Table] = {}
    for node in ast.find_all(exp.Table):
        table = tables.get(node.name)
        if table is not None:
            out[node.alias_or_name] = table
    return out


def column_type(col: exp.Expr, alias_tables: dict[str, Table]) -> SqlType | None:
    if not isinstance(col, exp.Column):
        return None
    table = alias_tables.get(col.table)
    if table is None:
        return None
    found = table.column(col.name)
    return found.type if found is not None else None


def expr_type(
    node: exp.Expr, alias_tables: dict[str, Table], params: list[SqlType]
) -> SqlType | None:
    """The SQL type of an expression, where it is evident."""
    if isinstance(node, exp.Column):
        return column_type(node, alias_tables)
    if isinstance(node, exp.Cast):
        try:
            return sql_type(node.to)
        except errors.VecgresError:
            return None
    if isinstance(node, exp.Paren):
        return expr_type(node.this, alias_tables, params)
    if isinstance(node, VectorOp):
        return FLOAT8
    if isinstance(node, exp.Parameter):
        index = _param_index(node)
        if index is not None and index <= len(params) and params[index - 1].name != "unknown":
            return params[index - 1]
    if isinstance(node, exp.Anonymous):
        spec = _VECTOR_FUNCS.get(node.name.lower())
        if spec is not None:
            if spec[1] is None:
                arg = node.expressions[0] if node.expressions else None
                inner = expr_type(arg, alias_tables, params) if arg is not None else None
                return SqlType("vector") if inner is None else SqlType(inner.name)
            return spec[1]
    if isinstance(node, exp.Add | exp.Sub | exp.Mul):
        left = expr_type(node.this, alias_tables, params)
        right = expr_type(node.expression, alias_tables, params)
        for side in (left, right):
            if side is not None and side.is_vector:
                return SqlType(side.name)
    if isinstance(node, exp.DPipe):
        left = expr_type(node.this, alias_tables, params)
        if left is not None and left.is_vector:
            return SqlType(left.name)
    if isinstance(node, exp.Avg | exp.Sum):
        inner = expr_type(node.this, alias_tables, params)
        if inner is not None and inner.is_vector:
            return SqlType(inner.name)
    return None


def _infer_params(ast: exp.Expr, alias_tables: dict[str, Table], params: list[SqlType]) -> None:
    for node in ast.find_all(exp.Parameter):
        index = _param_index(node)
        if index is None or params[index - 1].name != "unknown":
            continue
        parent = node.parent
        inferred: SqlType | None = None
        if isinstance(parent, exp.Cast):
            inferred = expr_type(parent, alias_tables, params)
        elif isinstance(parent, VectorOp):
            other = parent.expression if parent.this is node else parent.this
            inferred = expr_type(other, alias_tables, params) or SqlType("vector")
            inferred = SqlType(inferred.name) if inferred.is_vector else SqlType("vector")
        elif isinstance(parent, exp.Binary | exp.In | exp.Between):
            for other in parent.iter_expressions():
                if other is node:
                    continue
                inferred = expr_type(other, alias_tables, params)
                if inferred is not None:
                    break
        elif isinstance(parent, exp.Limit | exp.Offset | exp.Fetch):
            inferred = INT8
        if inferred is not None:
            params[index - 1] = inferred


def _vectorize_operand(
    node: exp.Expr, other: exp.Expr, alias_tables: dict[str, Table], params: list[SqlType]
) -> None:
    """Turn an untyped string literal beside a vector into a vector literal (pgvector's errors)."""
    if isinstance(node, exp.Literal) and node.is_string:
        t = expr_type(other, alias_tables, params)
        name = t.name if t is not None and t.is_vector else "vector"
        if name == "vector":
            node.replace(vector_literal(vector_text.parse_vector(node.this)))


def _rewrite_vectors(ast: exp.Expr, alias_tables: dict[str, Table], params: list[SqlType]) -> None:
    # casts to vector first: literals are parsed now, with pgvector's errors
    for cast in list(ast.find_all(exp.Cast)):
        try:
            target = sql_type(cast.to)
        except errors.VecgresError:
            if isinstance(cast.to, exp.DataType) and cast.to.this == exp.DataType.Type.USERDEFINED:
                raise
            continue
        if target.name != "vector" or target.is_array:
            if target.name in ("halfvec", "sparsevec", "bit", "bit varying"):
                raise errors.FeatureNotSupported(f"type {target.name} is not supported yet")
            continue
        inner = cast.this
        if isinstance(inner, exp.Literal) and inner.is_string:
            cast.replace(
                vector_literal(vector_text.parse_vector(inner.this, target.typmod), target.dims)
            )
            continue
        if isinstance(inner, exp.Parameter):
            continue  # substituted as a vector literal at execution
        source = expr_type(inner, alias_tables, params)
        if source is not None and source.is_vector:
            if target.dims is None:
                cast.replace(inner.copy())
            else:
                cast.replace(
                    exp.func("pgv_check_typmod", inner.copy(), exp.Literal.number(target.typmod))
                )
            continue
        if source is not None and source.is_array:
            cast.replace(
                exp.func(
                    "pgv_check_typmod",
                    exp.cast(inner.copy(), "FLOAT[]", dialect="duckdb"),
                    exp.Literal.number(target.typmod),
                )
            )
            continue
        cast.replace(
            exp.func(
                "pgv_vector_in",
                exp.cast(inner.copy(), "VARCHAR", dialect="duckdb"),
                exp.Literal.number(target.typmod),
            )
        )
    for op in list(ast.find_all(VectorOp)):
        if op.metric not in _VECTOR_OP_FUNCS:
            raise errors.FeatureNotSupported(f"operator {op.symbol} is not supported yet")
        _vectorize_operand(op.this, op.expression, alias_tables, params)
        _vectorize_operand(op.expression, op.this, alias_tables, params)
        op.replace(exp.func(_VECTOR_OP_FUNCS[op.metric], op.this.copy(), op.expression.copy()))
    # comparisons and arithmetic with a vector column and a string literal
    for node in list(
        ast.find_all(
            exp.EQ, exp.NEQ, exp.LT, exp.LTE, exp.GT, exp.GTE, exp.Add, exp.Sub, exp.Mul, exp.DPipe
        )
    ):
        left, right = node.this, node.expression
        lt = expr_type(left, alias_tables, params)
        rt = expr_type(right, alias_tables, params)
        if not ((lt is not None and lt.is_vector) or (rt is not None and rt.is_vector)):
            continue
        _vectorize_operand(left, right, alias_tables, params)
        _vectorize_operand(right, left, alias_tables, params)
        name = {
            exp.EQ: "pgv_eq",
            exp.NEQ: "pgv_ne",
            exp.LT: "pgv_lt",
            exp.LTE: "pgv_le",
            exp.GT: "pgv_gt",
            exp.GTE: "pgv_ge",
            exp.Add: "pgv_add",
            exp.Sub: "pgv_sub",
            exp.Mul: "pgv_mul",
            exp.DPipe: "pgv_concat",
        }[type(node)]
        node.replace(exp.func(name, node.this.copy(), node.expression.copy()))
    for agg in list(ast.find_all(exp.Avg, exp.Sum)):
        t = expr_type(agg.this, alias_tables, params)
        if t is not None and t.is_vector:
            name = "pgv_avg_list" if isinstance(agg, exp.Avg) else "pgv_sum_list"
            agg.replace(exp.func(name, exp.func("list", agg.this.copy())))
    for call in list(ast.find_all(exp.Anonymous)):
        spec = _VECTOR_FUNCS.get(call.name.lower())
        if spec is None:
            continue
        args = [a.copy() for a in call.expressions]
        for index, arg in enumerate(args):
            if (
                (isinstance(arg, exp.Literal)
                and arg.is_string
                and index < 2
                and call.name.lower() not in ("subvector",))
                or (isinstance(arg, exp.Literal) and arg.is_string and index == 0)
            ):
                args[index] = vector_literal(vector_text.parse_vector(arg.this))
        call.replace(exp.func(spec[0], *args))


def _rewrite_functions(ast: exp.Expr) -> None:
    for call in list(ast.find_all(exp.Anonymous, exp.Func)):
        name = call.sql_name().lower() if not isinstance(call, exp.Anonymous) else call.name.lower()
        spec = _SESSION_FUNCS.get(name)
        if spec is None:
            continue
        args = []
        for arg in call.iter_expressions():
            # nextval('s'::regclass): the name is what matters
            while isinstance(arg, exp.Cast) and isinstance(arg.to, exp.ObjectIdentifier):
                arg = arg.this
            args.append(arg.copy())
        call.replace(exp.func(spec[0], *args))


def _outputs(
    ast: exp.Expr, alias_tables: dict[str, Table]
) -> tuple[list[str], list[SqlType | None], list[tuple[int, int]]]:
    query = ast
    while isinstance(query, exp.Subquery):
        query = query.this
    if isinstance(query, exp.SetOperation):
        query = query.this
        while not isinstance(query, exp.Select) and isinstance(
            query, exp.SetOperation | exp.Subquery
        ):
            query = query.this
    if not isinstance(query, exp.Select):
        return [], [], []
    names: list[str] = []
    types: list[SqlType | None] = []
    sources: list[tuple[int, int]] = []
    for proj in query.expressions:
        inner = proj.this if isinstance(proj, exp.Alias) else proj
        names.append(_output_name(proj))
        t = expr_type(inner, alias_tables, [])
        if isinstance(inner, exp.Anonymous) and inner.name.startswith("pgv_"):
            t = t or None
        types.append(t)
        src = (0, 0)
        if isinstance(inner, exp.Column):
            table = alias_tables.get(inner.table)
            if table is not None and table.column(inner.name) is not None:
                src = (table.oid, table.attnum(inner.name))
        sources.append(src)
    return names, types, sources


_GENERATED_ALIAS = re.compile(r"^_col_\d+$")


def _output_name(proj: exp.Expr) -> str:
    if isinstance(proj, exp.Alias):
        if _GENERATED_ALIAS.match(proj.alias):
            return _output_name(proj.this)
        return proj.alias
    if isinstance(proj, exp.Column):
        return proj.name
    if isinstance(proj, exp.Cast):
        return _output_name(proj.this) if isinstance(proj.this, exp.Column) else _type_label(proj)
    if isinstance(proj, exp.Anonymous):
        name = proj.name.lower()
        for pg_name, (udf, _) in {**_VECTOR_FUNCS, **_SESSION_FUNCS}.items():
            if udf == name:
                return pg_name
        return name
    if isinstance(proj, exp.Func) and not isinstance(proj, exp.Binary):
        return _FUNC_NAMES.get(type(proj).__name__, proj.sql_name().lower())
    return "?column?"


_FUNC_NAMES = {
    "Count": "count",
    "CountIf": "count",
    "Avg": "avg",
    "Sum": "sum",
    "Min": "min",
    "Max": "max",
    "Coalesce": "coalesce",
    "ArrayAgg": "array_agg",
    "CurrentTimestamp": "now",
    "Case": "case",
    "Upper": "upper",
    "Lower": "lower",
    "Length": "length",
    "Abs": "abs",
    "Round": "round",
    "Nullif": "nullif",
    "StringAgg": "string_agg",
    "GroupConcat": "string_agg",
    "Explode": "unnest",
    "Unnest": "unnest",
    "If": "case",
    "Sqrt": "sqrt",
}


def _type_label(cast: exp.Cast) -> str:
    try:
        t = sql_type(cast.to)
    except errors.VecgresError:
        return "?column?"
    names = {
        "integer": "int4",
        "bigint": "int8",
        "smallint": "int2",
        "real": "float4",
        "double precision": "float8",
        "boolean": "bool",
        "character varying": "varchar",
        "character": "bpchar",
        "timestamp with time zone": "timestamptz",
        "timestamp without time zone": "timestamp",
        "time without time zone": "time",
    }
    return names.get(t.name, t.name) if not t.is_array else "?column?"


def _unused(*_: Any) -> None:
    return None
