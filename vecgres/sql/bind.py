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
from decimal import Decimal, InvalidOperation
from typing import Any

import numpy as np
from sqlglot import exp
from sqlglot.errors import OptimizeError
from sqlglot.optimizer.normalize_identifiers import normalize_identifiers
from sqlglot.optimizer.qualify import qualify

from vecgres import errors
from vecgres.catalog.model import Catalog, Table
from vecgres.executor.relation import duck_names
from vecgres.index.predicate import COMPARISON_SYMBOLS
from vecgres.sql import derived_types, index_scan, pgcatalog, row_locks
from vecgres.sql.arrayops import rewrite_arrays
from vecgres.sql.dialect import DIALECT, DUCK, VectorOp
from vecgres.sql.intinput import check_integer_literals
from vecgres.sql.joinscope import qualify_join_conditions
from vecgres.sql.jsonops import rewrite_json
from vecgres.sql.literals import scalar_literal, typed_literal
from vecgres.sql.numerics import rewrite_float_to_numeric, rewrite_numeric_outputs
from vecgres.sql.records import whole_row
from vecgres.sql.textcast import rewrite_text_casts
from vecgres.sql.typemap import duck_type, sql_type
from vecgres.sql.vector_resolve import arithmetic_result, branch_result, branches
from vecgres.sql.vector_rewrite import alias_unnest_columns, rewrite_vectors
from vecgres.types import FLOAT8, INT4, INT8, TEXT, UNKNOWN, SqlType

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
    "vecgres_check": ("vg_check", TEXT),
}


@dataclass(slots=True)
class BindContext:
    catalog: Catalog
    search_path: list[str]
    # column type lookup for the vector-aware rewrites: (relation alias, column) -> type
    column_types: dict[tuple[str, str], SqlType] = field(default_factory=dict)
    # enable_seqscan = off: distance orders go through their index (sql/index_scan.py)
    index_scans: bool = False


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
        return ast.sql(dialect=DUCK)


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
    if t.is_vector or (t.is_array and t.element.is_vector and isinstance(value, list | str)):
        from vecgres.sql.vector_rewrite import value_literal

        return value_literal(value, t)
    if t.name == "unknown" or (t.name == "text" and not t.is_array and isinstance(value, str)):
        if isinstance(value, str):
            return exp.Literal.string(value)
        return _python_literal(value)
    if isinstance(value, str):
        # a text-format value: arrays ('{a,b}') and bytea ('\x01') in PostgreSQL's
        # format, which DuckDB's cast does not read
        typed = typed_literal(value, t) if t.is_array or t.name == "bytea" else None
        if typed is not None:
            return typed
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


def _check_distinct_on(select: exp.Select) -> None:
    distinct = select.args.get("distinct")
    on = distinct.args.get("on") if isinstance(distinct, exp.Distinct) else None
    order = select.args.get("order")
    if on is None or order is None:
        return
    wanted = list(on.expressions) if isinstance(on, exp.Tuple) else [on]
    by_alias = {p.alias: p.this for p in select.expressions if isinstance(p, exp.Alias)}

    def resolve(node: exp.Expr) -> str:
        if isinstance(node, exp.Literal) and not node.is_string and node.this.isdigit():
            index = int(node.this) - 1
            if 0 <= index < len(select.expressions):
                proj = select.expressions[index]
                node = proj.this if isinstance(proj, exp.Alias) else proj
        elif isinstance(node, exp.Column) and not node.table and node.name in by_alias:
            node = by_alias[node.name]
        return node.sql()

    remaining = {resolve(e) for e in wanted}
    for item in order.expressions:
        if not remaining:
            return
        key = resolve(item.this if isinstance(item, exp.Ordered) else item)
        if key not in remaining and key not in {resolve(e) for e in wanted}:
            raise errors.VecgresError(
                "SELECT DISTINCT ON expressions must match initial ORDER BY expressions",
                sqlstate="42P10",
            )
        remaining.discard(key)


# PostgreSQL statements sqlglot reads as bare expressions: real commands we do not run
_PG_COMMANDS = frozenset(
    [
        "LISTEN",
        "NOTIFY",
        "UNLISTEN",
        "CLUSTER",
        "REINDEX",
        "PREPARE",
        "EXECUTE",
        "DEALLOCATE",
        "DECLARE",
        "FETCH",
        "MOVE",
        "CLOSE",
        "GRANT",
        "REVOKE",
        "COMMENT",
        "SECURITY",
        "LOAD",
        "REFRESH",
        "IMPORT",
        "REASSIGN",
    ]
)


def _exponent_literal(text: str) -> exp.Expr:
    """``1.5e3`` as PostgreSQL reads it: a numeric (DuckDB would read a double and
    lose digits), with the scale numeric_in gives it (``1.50e1`` is 15.0)."""
    try:
        fixed = format(Decimal(text), "f")
    except InvalidOperation:
        return exp.Literal.number(text)
    digits = len(fixed) - ("." in fixed)
    if "." in fixed and digits <= 38:
        return exp.Literal.number(fixed)  # DuckDB's DECIMAL(w, s), numeric's scale s
    if "." in fixed or digits > 28:
        # beyond DuckDB's DECIMAL(38) (numeric's 28 integer digits): a double, as before
        return exp.Literal.number(text)
    number = exp.cast(exp.Literal.number(fixed), "numeric")
    number.meta["vg_name"] = "?column?"  # still a literal, to a client
    return number


def normalize_statement(ast: exp.Expr, sql: str = "") -> exp.Expr:
    """A parsed statement as PostgreSQL reads it: unquoted names folded to lower case,
    a bare VALUES list as the query it stands for, LIMIT/OFFSET constants checked."""
    if isinstance(
        ast, exp.Alias | exp.Column | exp.Identifier | exp.Literal | exp.Predicate | exp.Not
    ):
        # sqlglot accepts a bare expression as a statement; PostgreSQL does not
        words = sql.split()
        first = words[0] if words else ""
        if first.upper() in _PG_COMMANDS:
            raise errors.FeatureNotSupported(f"{first.upper()} is not supported")
        raise errors.SyntaxError_(
            f'syntax error at or near "{first}"', position=sql.find(first) + 1 if first else None
        )
    ast = normalize_identifiers(ast, dialect=DIALECT)
    # sqlglot reads E'...' strings (escapes already applied) as byte strings: they are text
    for estr in list(ast.find_all(exp.ByteString)):
        estr.replace(exp.Literal.string(estr.this))
    for lit in list(ast.find_all(exp.Literal)):
        if not lit.is_string and ("e" in lit.this or "E" in lit.this):
            lit.replace(_exponent_literal(lit.this))
    for cast in ast.find_all(exp.Cast):
        # ('{a,b}')::text[] and ($1)::int[] (Django's spelling) are the bare cast
        while isinstance(cast.this, exp.Paren) and isinstance(
            cast.this.this, exp.Literal | exp.Parameter | exp.Paren
        ):
            cast.set("this", cast.this.this)
    for rnd in list(ast.find_all(exp.Round)):
        # PostgreSQL rounds float8 halves to even, numeric ones away from zero
        arg = rnd.this
        places = rnd.args.get("decimals")
        if isinstance(places, exp.Literal) and not places.is_string and places.this.isdigit():
            # round(x, n) exists only for numeric: its result has exactly n decimals
            if int(places.this) <= 38:
                scaled = exp.cast(rnd.copy(), f"DECIMAL(38,{int(places.this)})", dialect="duckdb")
                scaled.meta["vg_name"] = "round"  # the column is still named round
                rnd.replace(scaled)
            continue
        if (
            isinstance(arg, exp.Cast)
            and arg.to.this
            in (
                exp.DataType.Type.DOUBLE,
                exp.DataType.Type.FLOAT,
            )
            and rnd.args.get("decimals") is None
        ):
            rnd.replace(
                exp.Anonymous(this="round_even", expressions=[arg.copy(), exp.Literal.number(0)])
            )
    for call in list(ast.find_all(exp.Anonymous)):
        # octet_length of text: DuckDB counts bytes of blobs only
        if call.name.lower() == "octet_length" and len(call.expressions) == 1:
            call.set("expressions", [exp.Encode(this=call.expressions[0].copy())])
    for fmt in list(ast.find_all(exp.Format)):
        if re.search(r"%(\d+\$)?[IL]", fmt.this.name):
            continue  # %I/%L quote: pgcatalog's rewrite spells these out
        fmt.replace(
            exp.Anonymous(
                this="printf",
                # PostgreSQL's %s takes any type as its text
                expressions=[
                    fmt.this.copy(),
                    *[exp.cast(e.copy(), "VARCHAR", dialect="duckdb") for e in fmt.expressions],
                ],
            )
        )
    if isinstance(ast, exp.Values) and not ast.alias:
        width = len(ast.expressions[0].expressions) if ast.expressions else 0
        names = [exp.to_identifier(f"column{i + 1}") for i in range(width)]
        ast = exp.select(*[exp.column(n.name) for n in names]).from_(
            exp.Values(
                expressions=ast.expressions,
                alias=exp.TableAlias(
                    this=exp.to_identifier("*VALUES*", quoted=True), columns=names
                ),
            )
        )
    for select in ast.find_all(exp.Select):
        _check_distinct_on(select)
    row_locks.strip(ast)  # FOR UPDATE/SHARE: checked here, its locks taken at run time
    for clause in ast.find_all(exp.Limit, exp.Offset):
        value = clause.expression
        if isinstance(value, exp.Neg) and isinstance(value.this, exp.Literal):
            if isinstance(clause, exp.Limit):
                raise errors.VecgresError("LIMIT must not be negative", sqlstate="2201W")
            raise errors.VecgresError("OFFSET must not be negative", sqlstate="2201X")
    return ast


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
    for select in ast.find_all(exp.Select):
        for proj in select.expressions:
            if isinstance(proj, exp.Alias):
                proj.meta[_USER_ALIAS] = True  # qualify names the others after themselves
    tables: dict[str, Table] = {}
    _expand_views(ast, ctx, parse_view)
    pgcatalog.rewrite_catalog_sql(ast)
    _bind_tables(ast, ctx, tables)
    # names as identifiers sqlglot will not fold: catalog names are exact
    schema = {
        name: {_exact(col.name): duck_type(col.type) for col in table.columns}
        for name, table in tables.items()
    }
    alias_unnest_columns(ast)
    # the hidden row id is addressable only by the engine's own statements (and only
    # when they name it, so NATURAL JOIN and USING never see it)
    if any(c.name == "_rowid" for c in ast.find_all(exp.Column)):
        for name in schema:
            schema[name]["_rowid"] = "BIGINT"
    _name_function_columns(ast)
    if ast.find(exp.Join):
        qualify_join_conditions(ast, schema)
    before = ast.copy()
    try:
        ast = qualify(
            ast,
            dialect=DIALECT,
            schema=dict(schema),
            quote_identifiers=False,
            identify=False,
            expand_alias_refs=False,
            validate_qualify_columns=True,
        )
    except OptimizeError as exc:
        raise _column_error(str(exc), before, tables) from None
    _hide_rowid_from_stars(ast)
    alias_tables = _alias_map(ast, tables)
    _expand_whole_rows(ast, alias_tables)
    _use_duck_names(ast, alias_tables)
    n_params = count_params(ast)
    param_types: list[SqlType] = [UNKNOWN] * n_params
    for index, hint in enumerate(param_hints[:n_params]):
        if hint is not None:
            param_types[index] = hint
    derived_types.propagate(
        ast,
        lambda node: expr_type(node, alias_tables, param_types),
        lambda col: _column_source(col, alias_tables),
    )
    _infer_params(ast, alias_tables, param_types)
    _check_operand_types(ast, alias_tables, param_types)
    check_integer_literals(
        ast, lambda node: expr_type(node, alias_tables, param_types), param_types
    )
    _check_setop_types(ast, alias_tables, param_types)
    for length in list(ast.find_all(exp.Length)):
        t = expr_type(length.this, alias_tables, param_types)
        if t is not None and t.name == "character" and not t.is_array:
            # char(n)'s padding is not part of its value
            length.set("this", exp.Anonymous(this="rtrim", expressions=[length.this.copy()]))
    rewrite_json(ast, lambda node: expr_type(node, alias_tables, param_types))
    rewrite_text_casts(ast, lambda node: expr_type(node, alias_tables, param_types))
    rewrite_float_to_numeric(ast, lambda node: expr_type(node, alias_tables, param_types))
    rewrite_numeric_outputs(ast, lambda node: expr_type(node, alias_tables, param_types))
    rewrite_arrays(ast, lambda node: expr_type(node, alias_tables, param_types))
    rewrite_typed_literals(ast)
    _rewrite_vectors(ast, alias_tables, param_types)
    if ctx.index_scans:
        index_scan.exclude_unindexed(ast, alias_tables)
    _rewrite_functions(ast)
    names, types, sources = _outputs(ast, alias_tables)
    param_types = [TEXT if t.name == "unknown" else t for t in param_types]
    return BoundQuery(ast, tables, param_types, names, types, sources)


_SCALAR_SRFS = (exp.ExplodingGenerateSeries, exp.GenerateSeries, exp.Unnest, exp.Explode)


def _name_function_columns(ast: exp.Expr) -> None:
    """``FROM generate_series(...) AS g``: a scalar function's one column takes the alias."""
    for node in list(ast.find_all(exp.Table, exp.Lateral)):
        alias = node.args.get("alias")
        fn = node.this
        if not isinstance(alias, exp.TableAlias) or alias.columns or not alias.this:
            continue
        if isinstance(fn, exp.Unnest) and len(fn.expressions) != 1:
            continue
        if isinstance(fn, _SCALAR_SRFS):
            alias.set("columns", [exp.to_identifier(alias.name)])


def _exact(name: str) -> str:
    return (
        name
        if name == name.lower() and name.isidentifier()
        else '"' + name.replace('"', '""') + '"'
    )


def _column_error(
    text: str, ast: exp.Expr, tables: dict[str, Table] | None = None
) -> errors.VecgresError:
    ranges = {t.alias_or_name for t in ast.find_all(exp.Table)} | {
        s.alias for s in ast.find_all(exp.Subquery) if s.alias
    }
    m = re.search(r"Column '([^']+)' could not be resolved(?: for table: '([^']+)')?", text)
    if m and not m.group(2) and tables:
        holders = [
            t
            for t in ast.find_all(exp.Table)
            if t.name in tables and tables[t.name].column(m.group(1))
        ]
        if len(holders) > 1:
            return errors.AmbiguousColumn(f'column reference "{m.group(1)}" is ambiguous')
    if m:
        col = m.group(1)
        if m.group(2) and not m.group(2).startswith(REL_PREFIX):
            if m.group(2) not in ranges:
                return errors.UndefinedTable(f'missing FROM-clause entry for table "{m.group(2)}"')
            return errors.UndefinedColumn(f"column {m.group(2)}.{col} does not exist")
        return errors.UndefinedColumn(f'column "{col}" does not exist')
    m = re.search(r"Unknown column: (\w+)", text)
    if m:
        col = m.group(1)
        for node in ast.find_all(exp.Column):
            if node.name == col and node.table:
                if node.table not in ranges:
                    return errors.UndefinedTable(
                        f'missing FROM-clause entry for table "{node.table}"'
                    )
                return errors.UndefinedColumn(f"column {node.table}.{col} does not exist")
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
                expanded = exp.Subquery(
                    this=sub, alias=exp.TableAlias(this=exp.to_identifier(alias))
                )
                expanded.meta[derived_types.VIEW] = found.oid  # clients see the view's columns
                node.replace(expanded)
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


def _use_duck_names(ast: exp.Expr, alias_tables: dict[str, Table]) -> None:
    """Columns named like an earlier one but for case: DuckDB knows them by another name."""
    renames: dict[str, dict[str, str]] = {}
    for alias, table in alias_tables.items():
        mapping = {
            col.name: duck
            for col, duck in zip(table.columns, duck_names(table), strict=True)
            if duck != col.name
        }
        if mapping:
            renames[alias] = mapping
    if not renames:
        return
    for col in ast.find_all(exp.Column):
        new = renames.get(col.table, {}).get(col.name)
        if new is not None:
            col.set("this", exp.to_identifier(new, quoted=True))
    # output names that differ only by case are ambiguous to DuckDB: order by expressions
    for select in ast.find_all(exp.Select):
        order = select.args.get("order")
        if order is None:
            continue
        outputs = {p.alias: p.this for p in select.expressions if isinstance(p, exp.Alias)}
        for item in order.expressions:
            ref = item.this if isinstance(item, exp.Ordered) else None
            if isinstance(ref, exp.Column) and not ref.table and ref.name in outputs:
                ref.replace(outputs[ref.name].copy())


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


def _expand_whole_rows(ast: exp.Expr, alias_tables: dict[str, Table]) -> None:
    """A table's whole-row reference (``SELECT t FROM t``, ``row_to_json(t)``) is a
    record of its columns: spelled out, because DuckDB's would add the hidden row id."""
    for col in list(ast.find_all(exp.TableColumn)):
        table = alias_tables.get(col.name)
        if table is None:
            continue
        row = whole_row(table, col.name)
        row.meta["vg_name"] = col.name  # FigureColname: `SELECT t FROM t` is column t
        col.replace(row)


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


def _column_source(col: exp.Column, alias_tables: dict[str, Table]) -> tuple[int, int] | None:
    table = alias_tables.get(col.table)
    if table is None or table.column(col.name) is None:
        return None
    return (table.oid, table.attnum(col.name))


def expr_type(
    node: exp.Expr, alias_tables: dict[str, Table], params: list[SqlType]
) -> SqlType | None:
    """The SQL type of an expression, where it is evident."""
    known = node.meta.get("vg_type") if node.meta else None
    if isinstance(known, SqlType):
        return known
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
    if isinstance(node, exp.Anonymous) and node.name.lower() in (
        "vg_numeric_div",
        "vg_numeric_power",
    ):
        return SqlType("numeric")
    if isinstance(node, exp.Anonymous):
        spec = _VECTOR_FUNCS.get(node.name.lower())
        if spec is not None:
            if spec[1] is None:
                arg = node.expressions[0] if node.expressions else None
                inner = expr_type(arg, alias_tables, params) if arg is not None else None
                return SqlType("vector") if inner is None else SqlType(inner.name)
            return spec[1]
    if isinstance(node, exp.Add | exp.Sub | exp.Mul | exp.DPipe):
        # vector + halfvec is halfvec: pgvector's implicit casts decide
        result = arithmetic_result(
            expr_type(node.this, alias_tables, params),
            expr_type(node.expression, alias_tables, params),
        )
        if result is not None:
            return result
    if isinstance(node, exp.Avg | exp.Sum):
        inner = expr_type(node.this, alias_tables, params)
        if inner is not None and inner.is_vector:
            return SqlType(inner.name)
    if isinstance(node, exp.Array):
        # ARRAY[v, '[1,2]']: an array of the elements' common pgvector type
        common = branch_result([expr_type(e, alias_tables, params) for e in node.expressions])
        if common is not None:
            return common.array_of()
    if isinstance(node, exp.Explode | exp.Unnest):
        # unnest(anyarray) in a select list: the element type
        arg = node.this if isinstance(node, exp.Explode) else None
        if arg is None and node.expressions:
            arg = node.expressions[0]
        inner = expr_type(arg, alias_tables, params) if isinstance(arg, exp.Expr) else None
        if inner is not None and inner.is_array and inner.element.is_vector:
            return inner.element
    if isinstance(node, exp.Bracket) and node.expressions:
        # vector[] subscripted is a vector, sliced a vector[] (DuckDB would say float[2])
        inner = expr_type(node.this, alias_tables, params)
        if inner is not None and inner.is_array and inner.element.is_vector:
            return inner if isinstance(node.expressions[0], exp.Slice) else inner.element
    if isinstance(node, exp.ArrayAgg):
        # DuckDB's FLOAT[n][] says vector[] for halfvec too
        arg = node.this.this if isinstance(node.this, exp.Order) else node.this
        if isinstance(arg, exp.Distinct) and len(arg.expressions) == 1:
            arg = arg.expressions[0]
        inner = expr_type(arg, alias_tables, params) if isinstance(arg, exp.Expr) else None
        if inner is not None and inner.is_vector:
            return SqlType(inner.name).array_of()
        if inner is not None and inner.name == "oid" and not inner.is_array:
            return inner.array_of()  # oid[], not DuckDB's BIGINT[] (asyncpg's typeinfo query)
    values = branches(node)
    if values:  # CASE/COALESCE/... over pgvector values
        return branch_result([expr_type(v, alias_tables, params) for v in values])
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
            if parent.metric in ("hamming", "jaccard"):
                inferred = SqlType("bit varying")
            elif not inferred.is_vector:
                inferred = SqlType("vector")
            else:
                inferred = SqlType(inferred.name)
        elif isinstance(parent, exp.Binary | exp.In | exp.Between):
            for other in parent.iter_expressions():
                if id(other) == id(node):
                    continue
                inferred = expr_type(other, alias_tables, params)
                if inferred is not None:
                    break
        elif isinstance(parent, exp.Limit | exp.Offset | exp.Fetch):
            inferred = INT8
        elif (isinstance(parent, exp.Paren) and isinstance(parent.parent, exp.Any | exp.All)) or (
            isinstance(parent, exp.Anonymous) and parent.name.lower() == "all"
        ):
            # x = ANY($1), x <> ALL($1) (sqlglot reads ALL as a call): an array of x's type
            quantified = parent.parent if isinstance(parent, exp.Paren) else parent
            comparison = quantified.parent if quantified is not None else None
            if isinstance(comparison, exp.Binary):
                other = (
                    comparison.this
                    if comparison.expression is quantified
                    else comparison.expression
                )
                element = expr_type(other, alias_tables, params)
                if element is not None and not element.is_array:
                    inferred = element.array_of()
        if inferred is not None:
            params[index - 1] = inferred


def _rewrite_vectors(ast: exp.Expr, alias_tables: dict[str, Table], params: list[SqlType]) -> None:
    rewrite_vectors(ast, lambda node: expr_type(node, alias_tables, params))


_STRINGS = ("text", "character varying", "character")


def _literal_type(node: exp.Expr) -> str | None:
    if isinstance(node, exp.Literal) and not node.is_string:
        text = node.this
        if re.fullmatch(r"\d+", text):
            return "integer" if int(text) < 2**31 else "bigint" if int(text) < 2**63 else "numeric"
        return "numeric"
    return None


def _check_operand_types(
    ast: exp.Expr, alias_tables: dict[str, Table], params: list[SqlType]
) -> None:
    """Type errors PostgreSQL reports that DuckDB's implicit casts would hide."""
    for where in ast.find_all(exp.Where):
        t = expr_type(where.this, alias_tables, params)
        if t is not None and t.name != "boolean" and not t.is_vector:
            shown = SqlType(t.name, is_array=t.is_array).format()
            raise errors.DatatypeMismatch(
                f"argument of WHERE must be type boolean, not type {shown}"
            )
    for node in ast.find_all(exp.EQ, exp.NEQ, exp.LT, exp.LTE, exp.GT, exp.GTE):
        for col, other in ((node.this, node.expression), (node.expression, node.this)):
            t = column_type(col, alias_tables)
            lit = _literal_type(other)
            if t is not None and lit is not None and t.name in _STRINGS and not t.is_array:
                left, right = SqlType(t.name).format(), lit
                if col is node.expression:
                    left, right = right, left
                raise errors.UndefinedFunction(
                    f"operator does not exist: {left} {COMPARISON_SYMBOLS[type(node)]} {right}",
                    hint="No operator matches the given name and argument types. "
                    "You might need to add explicit type casts.",
                )


_NUMBERS = ("smallint", "integer", "bigint", "numeric", "real", "double precision")


def _first_select(node: exp.Expr) -> exp.Select | None:
    while isinstance(node, exp.SetOperation | exp.Subquery):
        node = node.this
    return node if isinstance(node, exp.Select) else None


def _check_setop_types(
    ast: exp.Expr, alias_tables: dict[str, Table], params: list[SqlType]
) -> None:
    """UNION/INTERSECT/EXCEPT of a number and a string column: PostgreSQL refuses (DuckDB casts)."""
    for op in ast.find_all(exp.SetOperation):
        left, right = _first_select(op.this), _first_select(op.expression)
        if left is None or right is None or len(left.expressions) != len(right.expressions):
            continue
        for a, b in zip(left.expressions, right.expressions, strict=True):
            ta, tb = _known_type(a, alias_tables, params), _known_type(b, alias_tables, params)
            if ta is None or tb is None:
                continue
            if (ta in _NUMBERS and tb in _STRINGS) or (ta in _STRINGS and tb in _NUMBERS):
                word = {exp.Union: "UNION", exp.Intersect: "INTERSECT", exp.Except: "EXCEPT"}
                raise errors.DatatypeMismatch(
                    f"{word.get(type(op), 'UNION')} types {ta} and {tb} cannot be matched"
                )


def _known_type(
    proj: exp.Expr, alias_tables: dict[str, Table], params: list[SqlType]
) -> str | None:
    inner = proj.this if isinstance(proj, exp.Alias) else proj
    lit = _literal_type(inner)
    if lit is not None:
        return lit
    t = expr_type(inner, alias_tables, params)
    if t is None or t.is_array:
        return None
    return SqlType(t.name).format()


def _is_pgvector_type(t: SqlType) -> bool:
    return t.name in ("vector", "halfvec", "sparsevec", "bit", "bit varying")


def _casts_to_pgvector(cast: exp.Cast) -> bool:
    try:
        return _is_pgvector_type(sql_type(cast.to))
    except errors.VecgresError:
        return False


def rewrite_typed_literals(ast: exp.Expr) -> None:
    """'...'::T for the types whose text input DuckDB reads differently (arrays, bytea)."""
    for cast in list(ast.find_all(exp.Cast)):
        inner = cast.this
        if not (isinstance(inner, exp.Literal) and inner.is_string):
            continue
        try:
            target = sql_type(cast.to)
        except errors.VecgresError:
            continue
        if _is_pgvector_type(target) or (
            isinstance(cast.parent, exp.Cast) and _casts_to_pgvector(cast.parent)
        ):
            continue  # pgvector's types (arrays of them, arrays cast to them): vector_rewrite
        replacement = typed_literal(inner.this, target) or scalar_literal(inner.this, target)
        if replacement is not None:
            # still a cast of a constant to a client: named after its type
            replacement.meta["vg_literal"] = inner.this
            replacement.meta["vg_name"] = _type_label(cast)
            cast.replace(replacement)


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
        udf = "vg_setval3" if name == "setval" and len(args) == 3 else spec[0]
        call.replace(exp.func(udf, *args))


def _outputs(
    ast: exp.Expr, alias_tables: dict[str, Table]
) -> tuple[list[str], list[SqlType | None], list[tuple[int, int]]]:
    query = ast
    while isinstance(query, exp.Subquery):
        query = query.this
    mixed: set[int] = set()
    resolved: list[SqlType | None] | None = None
    if isinstance(query, exp.SetOperation):
        mixed = _mixed_number_columns(query)
        resolved = derived_types.output_types(query)
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
        if len(types) in mixed:
            # integer and numeric branches: numeric whose values keep their own scale
            t = SqlType("numeric")
        elif resolved is not None and len(types) < len(resolved):
            t = resolved[len(types)]  # the branches' common type (derived_types)
        types.append(t)
        src = (0, 0)
        derived = inner.meta.get(derived_types.SOURCE) if inner.meta else None
        if isinstance(derived, tuple):
            src = derived  # a derived table's column: where its value came from
        elif isinstance(inner, exp.Column):
            table = alias_tables.get(inner.table)
            if table is not None and table.column(inner.name) is not None:
                src = (table.oid, table.attnum(inner.name))
                if pgcatalog.is_system(table):
                    types[-1] = pgcatalog.shown_type(table, inner.name) or t
        sources.append(src if resolved is None else (0, 0))  # set operations: no origin
    return names, types, sources


def _mixed_number_columns(op: exp.SetOperation) -> set[int]:
    """Output positions where set-operation branches mix integer and numeric constants."""
    branches: list[exp.Select] = []
    stack: list[exp.Expr] = [op]
    while stack:
        node = stack.pop()
        if isinstance(node, exp.SetOperation):
            stack.extend((node.this, node.expression))
        elif isinstance(node, exp.Subquery):
            stack.append(node.this)
        elif isinstance(node, exp.Select):
            branches.append(node)
    kinds: dict[int, set[str | None]] = {}
    for select in branches:
        for index, proj in enumerate(select.expressions):
            inner = proj.this if isinstance(proj, exp.Alias) else proj
            kinds.setdefault(index, set()).add(_literal_type(inner))
    return {i for i, k in kinds.items() if k == {"integer", "numeric"}}


_GENERATED_ALIAS = re.compile(r"^_col_\d+$")
_USER_ALIAS = "vg_user_alias"  # meta of a select item's alias the statement wrote


def _output_name(proj: exp.Expr) -> str:
    named = proj.meta.get("vg_name") if proj.meta else None
    if isinstance(named, str):
        return named  # set by vector_rewrite for what it replaced
    if isinstance(proj, exp.Alias):
        # sqlglot names an unaliased item after its value (`1.5`, `count(*)::int` is
        # "*"); PostgreSQL's FigureColname names it after its expression
        if proj.meta.get(_USER_ALIAS) and not _GENERATED_ALIAS.match(proj.alias):
            return proj.alias
        return _output_name(proj.this)
    if isinstance(proj, exp.Column):
        return proj.name
    if isinstance(proj, exp.Subquery) and not isinstance(proj.this, exp.SetOperation):
        # a scalar subquery keeps its select item's alias; unnamed, its column's name
        if proj.alias and not _GENERATED_ALIAS.match(proj.alias):
            return proj.alias
        inner = proj.this.expressions if isinstance(proj.this, exp.Select) else []
        return _output_name(inner[0]) if len(inner) == 1 else "?column?"
    if isinstance(proj, exp.Cast):
        # FigureColname: a named operand (column, function, ARRAY[...]) names the cast
        named = _output_name(proj.this)
        return named if named != "?column?" else _type_label(proj)
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
    # FigureColname takes the type name's last word, so int[] names its column int4
    return names.get(t.name, t.name)


def _unused(*_: Any) -> None:
    return None
