"""The top-k shape: ``SELECT ... FROM t [WHERE ...] ORDER BY col <op> const LIMIT k``.

Recognized here on the bound parse tree; the planner turns it into an
``AnnTopK`` of plain values, the executor searches the segments (exact or
ANN per segment) and only the winners go through DuckDB for the select list.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np
from sqlglot import exp

from vecgres.executor.keycols import key_dims
from vecgres.executor.relation import ROWID
from vecgres.executor.topk import TopKRun, run_topk
from vecgres.index.expression import (
    HALFVEC_SUBVECTOR,
    SUBVECTOR,
    expression_source_fits,
    expression_text,
    expression_type,
    parse_expression,
    searched_key,
)
from vecgres.index.predicate import Condition, simple_conditions
from vecgres.index.predicate import conditions as predicate_conditions
from vecgres.planner.topk import OPERATOR_METRIC, OPERATOR_TYPE, AnnTopK, plan_topk
from vecgres.result import ColumnInfo, Result
from vecgres.sql.shapecache import ShapeCache
from vecgres.sql.typemap import type_from_duck
from vecgres.types import SqlType
from vecgres.vector import bits, half
from vecgres.vector import text as vector_text

if TYPE_CHECKING:
    from vecgres.catalog.model import Column, Table
    from vecgres.sql.bind import BoundQuery
    from vecgres.storage.store import Snapshot

# the engine's Session: sql/ may not import engine (layers), so it is duck-typed here
Session_ = Any


@dataclass(frozen=True, slots=True)
class TopKShape:
    rel: str
    alias: str
    column: str
    operator: str  # pgv_* function name
    query: exp.Expr  # the vector literal or parameter
    limit: exp.Expr
    offset: exp.Expr | None
    where: exp.Expr | None
    projection: tuple[tuple[str, str | None], ...] | None
    # an expression key over a vector column: (key type, canonical text), e.g.
    # ("vector>halfvec", "(embedding)::halfvec(3)")
    expression: tuple[str, str] | None = None


def match_topk(bound: BoundQuery, *, cache: bool = True) -> TopKShape | None:
    """The top-k shape of a bound query, or None when the query has another shape.
    ``cache=False`` for a bound query made for one run (a nested search's)."""
    if not cache:
        return _match_topk(bound)
    return _cached_topk(bound)


def _match_topk(bound: BoundQuery) -> TopKShape | None:
    ast = bound.ast
    if not isinstance(ast, exp.Select) or ast.args.get("with"):
        return None
    if any(
        ast.args.get(k)
        for k in ("joins", "group", "having", "distinct", "qualify", "windows", "laterals")
    ):
        return None
    if any(isinstance(e, exp.AggFunc | exp.Window) for p in ast.expressions for e in p.walk()):
        return None
    source = ast.args.get("from_") or ast.args.get("from")
    if source is None or not isinstance(source.this, exp.Table):
        return None
    rel = source.this.name
    if rel not in bound.tables or len(bound.tables) != 1:
        return None
    order = ast.args.get("order")
    limit = ast.args.get("limit")
    if order is None or limit is None or len(order.expressions) != 1:
        return None
    ordered = order.expressions[0]
    if ordered.args.get("desc"):
        return None
    key = ordered.this
    if isinstance(key, exp.Column) and not key.table:
        for proj in ast.expressions:
            if isinstance(proj, exp.Alias) and proj.alias == key.name:
                key = proj.this
                break
    if not isinstance(key, exp.Anonymous) or key.name.lower() not in OPERATOR_METRIC:
        return None
    args = key.expressions
    if len(args) != 2:
        return None
    col, query = args
    if key_column(col) is None:
        col, query = query, col
    found = key_column(col)
    if found is None:
        return None
    col, expression = found
    if not (
        isinstance(query, exp.Parameter)
        or (isinstance(query, exp.Cast) and isinstance(query.this, exp.Literal))
        or (isinstance(query, exp.Literal) and query.is_string)
    ):
        return None
    table: Table = bound.tables[rel]
    column = table.column(col.name)
    if column is None or (expression is None and key_dims(column.type) is None):
        return None
    operator_type = OPERATOR_TYPE[key.name.lower()]
    if expression is not None:
        dims = expression[1]
        searched = searched_key(column.type, expression[0], dims, operator_type)
        expression = None if searched is None else (searched, dims)
    if expression is not None:
        key_type = expression[0]
        if not expression_source_fits(column.type, dims, key_type):
            return None  # pgvector raises the dimension error; DuckDB does too
        if expression_type(key_type) != operator_type:
            return None
        expr = (key_type, expression_text(column.name, key_type, dims))
    elif column.type.name != operator_type:
        return None
    offset = ast.args.get("offset")
    where = ast.args.get("where")
    projection = _projection(bound, table, key)
    return TopKShape(
        rel,
        source.this.alias_or_name,
        col.name,
        key.name.lower(),
        query,
        limit.expression,
        offset.expression if offset is not None else None,
        where.this if where is not None else None,
        projection,
        expr if expression is not None else None,
    )


_cached_topk: ShapeCache[TopKShape | None] = ShapeCache(_match_topk)


def key_column(node: exp.Expr) -> tuple[exp.Column, tuple[str, int] | None] | None:
    """The column an ORDER BY distance ranks: a bare column, or an expression key
    ``col::halfvec(n)`` / ``binary_quantize(col)::bit(n)`` as the binder renders them
    (``pgv_to_halfvec(col, n)``,
    ``pgv_bit_cast(CAST(pgv_binary_quantize(col) AS TEXT), n, false)``)."""
    if isinstance(node, exp.Column):
        return node, None
    if not isinstance(node, exp.Anonymous) or len(node.expressions) < 2:
        return None
    name = node.name.lower()
    inner, mod = node.expressions[0], node.expressions[1]
    if not (isinstance(mod, exp.Literal) and not mod.is_string):
        return None
    n = int(mod.this)
    if name == "pgv_to_halfvec" and isinstance(inner, exp.Column) and n > 0:
        return inner, ("vector>halfvec", n)
    if name == "pgv_check_typmod" and isinstance(inner, exp.Column) and n > 0:
        return inner, ("vector>vector", n)
    if name == "pgv_check_typmod" and n > 0:
        sub = _subvector_key(inner, n)
        if sub is not None:
            return sub
    if name == "pgv_to_sparsevec" and isinstance(inner, exp.Column) and n > 0:
        # a vector/halfvec column as sparsevec(n): kept dense (index/expression.py)
        return inner, ("vector>sparsevec", n)
    sparse_key = _SPARSE_CASTS.get(name)
    if sparse_key is not None and isinstance(inner, exp.Column) and n > 0:
        return inner, (sparse_key, n)
    if name == "pgv_bit_cast" and isinstance(inner, exp.Cast) and n > 0:
        q = inner.this
        if isinstance(q, exp.Column):
            return q, ("bit>bit", n)
        if (
            isinstance(q, exp.Anonymous)
            and q.name.lower() == "pgv_binary_quantize"
            and len(q.expressions) == 1
            and isinstance(q.expressions[0], exp.Column)
        ):
            return q.expressions[0], ("vector>bit", n)
    return None


# a sparsevec column's casts as the binder renders them -> their key types
_SPARSE_CASTS = {
    "pgv_sparsevec_typmod": "sparsevec>sparsevec",
    "pgv_sparsevec_to_vector": "sparsevec>vector",
    "pgv_sparsevec_to_halfvec": "sparsevec>halfvec",
}


def _subvector_key(node: exp.Expr, n: int) -> tuple[exp.Column, tuple[str, int]] | None:
    """``subvector(col, s, n)::vector(n)`` (``pgv_subvector``; ``pgv_halfvec_subvector``
    of a halfvec column) with a literal start."""
    if not (
        isinstance(node, exp.Anonymous)
        and node.name.lower() in ("pgv_subvector", "pgv_halfvec_subvector")
        and len(node.expressions) == 3
    ):
        return None
    prefix = SUBVECTOR if node.name.lower() == "pgv_subvector" else HALFVEC_SUBVECTOR
    col, start, count = node.expressions
    literal = all(isinstance(a, exp.Literal) and a.this.isdigit() for a in (start, count))
    if not isinstance(col, exp.Column) or not literal:
        return None
    first = int(start.this)
    if first < 1 or int(count.this) != n:
        return None
    return col, (f"{prefix}{first}", n)


def _projection(
    bound: BoundQuery, table: Table, key: exp.Expr
) -> tuple[tuple[str, str | None], ...] | None:
    """Output columns as (name, column or None for the distance) if that is all there is."""
    out: list[str | None] = []
    for proj in bound.ast.expressions:
        node = proj.this if isinstance(proj, exp.Alias) else proj
        if isinstance(node, exp.Star):
            out.extend(col.name for col in table.columns)
        elif isinstance(node, exp.Column) and table.column(node.name) is not None:
            out.append(node.name)
        elif node == key:
            out.append(None)
        else:
            return None
    if len(out) != len(bound.output_names):
        return None
    return tuple(zip(bound.output_names, out, strict=True))


def _int_value(node: exp.Expr | None, params: Sequence[object]) -> int | None:
    if node is None:
        return 0
    if isinstance(node, exp.Literal) and not node.is_string:
        return int(node.this)
    if isinstance(node, exp.Parameter):
        value = params[int(node.this.this) - 1]
        try:
            return int(value)  # type: ignore[call-overload,no-any-return]
        except (TypeError, ValueError):
            return None
    return None


def _query_vector(
    node: exp.Expr, params: Sequence[object], type_name: str = "vector"
) -> np.ndarray | None:
    """The query as float32 (vector, halfvec: float16-rounded values); None: not usable."""
    if isinstance(node, exp.Parameter):
        value = params[int(node.this.this) - 1]
        if value is None:
            return None
        if type_name == "halfvec":
            if isinstance(value, str):
                return vector_text.parse_halfvec(value).astype(np.float32)
            return half.to_half(np.asarray(value, dtype=np.float32))
        if isinstance(value, str):
            return vector_text.parse_vector(value)
        return np.asarray(value, dtype=np.float32)
    if not isinstance(node, exp.Cast):
        return None
    # a bound halfvec literal is already rounded (exact in float32)
    return vector_text.parse_vector(node.this.this)


def _query_bits(node: exp.Expr, params: Sequence[object]) -> str | None:
    """A bit query as its '0'/'1' text (through ``bits.bit_in``); None: not usable."""
    if isinstance(node, exp.Parameter):
        value = params[int(node.this.this) - 1]
        return bits.bit_in(value) if isinstance(value, str) else None
    if isinstance(node, exp.Literal) and node.is_string:
        return bits.bit_in(node.this)
    return None


def _query_sparse(
    node: exp.Expr, params: Sequence[object], dims: int | None
) -> tuple[np.ndarray, str | None] | None:
    """A sparsevec query as its canonical text (the executor parses it); None when
    DuckDB must decide (NULL, other dimensions: pgvector's error)."""
    from vecgres.vector import sparse

    if isinstance(node, exp.Parameter):
        value = params[int(node.this.this) - 1]
    elif isinstance(node, exp.Cast) and isinstance(node.this, exp.Literal):
        value = node.this.this
    elif isinstance(node, exp.Literal) and node.is_string:
        value = node.this
    else:
        return None
    if not isinstance(value, str):
        return None
    q = sparse.parse(value)
    if q.dim != dims:
        return None
    return np.zeros(0, np.float32), q.text()


def _dense_query(text: str) -> np.ndarray:
    from vecgres.vector import sparse

    return np.asarray(sparse.to_dense(sparse.parse(text)), dtype=np.float32)


def _filter_sql(bound: BoundQuery, shape: TopKShape, params: Sequence[object]) -> str:
    """DuckDB SQL selecting the row ids that pass the WHERE clause."""
    assert shape.where is not None
    select = (
        exp.select(exp.column(ROWID))
        .from_(
            exp.Table(
                this=exp.to_identifier(shape.rel),
                alias=exp.TableAlias(this=exp.to_identifier(shape.alias)),
            )
        )
        .where(shape.where.copy())
    )
    original = bound.ast
    bound.ast = select
    try:
        return bound.render(params)
    finally:
        bound.ast = original


def parse_query(
    column: Column,
    expression: tuple[str, str] | None,
    node: exp.Expr,
    params: Sequence[object],
) -> tuple[np.ndarray, str | None] | None:
    """(query vector, bit text or None) for the key; None when DuckDB must decide
    (pgvector's errors, NULL queries)."""
    key_type = expression[0] if expression is not None else column.type.name
    type_name = expression_type(key_type) if expression is not None else key_type
    dims = key_dims(column.type)
    if expression is not None:
        parsed_key = parse_expression(expression[1], column.type)
        dims = parsed_key[2] if parsed_key is not None else dims
    query_text: str | None = None
    try:
        if type_name == "sparsevec" and key_type == "vector>sparsevec":
            # a dense column's key ranks dense rows: the query densified
            text = _query_sparse(node, params, dims)
            if text is None or text[1] is None:
                return None
            query = _dense_query(text[1])
        elif type_name == "sparsevec":
            return _query_sparse(node, params, dims)
        elif type_name == "bit":
            query_text = _query_bits(node, params)
            if query_text is None or len(query_text) != dims:
                return None
            query = bits.pack([query_text])[0][0]
        else:
            found = _query_vector(node, params, type_name)
            if found is None:
                return None
            query = found.astype(np.float32)
    except Exception:
        return None
    if query_text is None and (query.shape != (dims,) or not np.isfinite(query).all()):
        return None
    return query, query_text


def plan_for(
    session: Session_, bound: BoundQuery, params: Sequence[object], *, cache: bool = True
) -> tuple[AnnTopK, TopKShape] | None:
    shape = match_topk(bound, cache=cache)
    if shape is None:
        return None
    k = _int_value(shape.limit, params)
    offset = _int_value(shape.offset, params)
    if k is None or offset is None or k < 0 or offset < 0:
        return None
    table = bound.tables[shape.rel]
    column = table.column(shape.column)
    assert column is not None
    parsed = parse_query(column, shape.expression, shape.query, params)
    if parsed is None:
        return None
    query, query_text = parsed
    conditions = column_conditions(table, shape.where, params, bound.param_types)
    plan = plan_topk(
        table,
        shape.rel,
        shape.column,
        shape.operator,
        query,
        k + offset,
        _filter_sql(bound, shape, params)
        if shape.where is not None and conditions is None
        else None,
        # the statement runs on the winners only when its select list needs DuckDB
        bound.render(params) if shape.projection is None else "",
        projection=shape.projection,
        offset=offset,
        query_text=query_text,
        key_expression=shape.expression,
        where=simple_conditions(shape.where),
        filter_conditions=conditions,
        **search_settings(session),
    )
    return plan, shape


def search_settings(session: Session_) -> dict[str, Any]:
    """The session's settings ``plan_topk`` reads, as its keyword arguments (every
    top-k path reads them here; kept until a setting changes: do not modify)."""
    return session.settings.derived(_search_settings, session.db.settings.ann_exact_max_rows)  # type: ignore[no-any-return]


def _search_settings(settings: Any, exact_max_rows: int) -> dict[str, Any]:
    return {
        "enable_ann": settings.get("vecgres.enable_ann") == "on",
        "ef_search": settings.get_int("hnsw.ef_search"),
        "probes": settings.get_int("ivfflat.probes"),
        "max_probes": settings.get_int("ivfflat.max_probes"),
        "adaptive_probes": settings.get("vecgres.ivfflat_adaptive_probes") == "on",
        "exact_max_rows": exact_max_rows,
        "hnsw_iterative_scan": settings.get("hnsw.iterative_scan"),
        "max_scan_tuples": settings.get_int("hnsw.max_scan_tuples"),
        "ivfflat_iterative_scan": settings.get("ivfflat.iterative_scan"),
    }


# column types whose comparisons with an integer or boolean constant evaluate the same
# in PostgreSQL, DuckDB and pyarrow (no float rounding, no collation)
_EXACT_TYPES = frozenset(("smallint", "integer", "bigint", "boolean"))
_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1
_INT_RANGE = {"smallint": 2**15, "integer": 2**31, "bigint": 2**63}


def column_conditions(
    table: Table,
    where: exp.Expr | None,
    params: Sequence[object],
    param_types: Sequence[SqlType],
) -> list[Condition] | None:
    """The WHERE as ``column <op> constant`` conditions the executor evaluates on the
    segments' columns (parameters by their values), or None when DuckDB must (and
    raises, say, for a parameter out of its type's range)."""
    if where is None:
        return None
    where = where.copy()
    for node in list(where.find_all(exp.Parameter)):
        if not isinstance(node.this, exp.Literal):
            return None
        position = int(node.this.this) - 1
        if position >= len(params) or position >= len(param_types):
            return None
        value, param_type = params[position], param_types[position]
        if isinstance(value, bool) and param_type.name == "boolean":
            node.replace(exp.Boolean(this=value))
        elif (
            isinstance(value, int)
            and not isinstance(value, bool)
            and param_type.name in _INT_RANGE
            and not param_type.is_array
            and -_INT_RANGE[param_type.name] <= value < _INT_RANGE[param_type.name]
        ):
            literal = exp.Literal.number(abs(value))
            node.replace(literal if value >= 0 else exp.Neg(this=literal))
        else:
            return None
    conds = predicate_conditions(where)
    if conds is None:
        return None
    for name, op, value in conds:
        column = table.column(name)
        if column is None or column.type.is_array or column.type.name not in _EXACT_TYPES:
            return None
        if op in ("is null", "is not null"):
            continue
        if column.type.name == "boolean":
            if not isinstance(value, bool) or op not in ("=", "<>"):
                return None
        elif isinstance(value, bool) or not isinstance(value, int):
            return None
        elif not _INT64_MIN <= value <= _INT64_MAX:
            return None  # PostgreSQL compares as numeric; pyarrow cannot hold it
    return conds


_R = TypeVar("_R")


def run_search(
    session: Session_, bound: BoundQuery, plan: Any, snap: Snapshot, runner: Callable[..., _R]
) -> _R:
    """Call an executor search (``run_topk``, ``run_range``) on the statement's table."""
    table = bound.tables[plan.rel]
    pending = session.txn.pending.get(table.oid) if session.txn is not None else None
    return runner(
        session.duck,
        session.db.ann,
        table,
        plan,
        snap.table(table.oid),
        pending,
        session.db.settings.batch_rows,
        session._check_cancel,
    )


def execute_plan(
    session: Session_, bound: BoundQuery, plan: AnnTopK, snap: Snapshot
) -> TopKRun | None:
    return run_search(session, bound, plan, snap, run_topk)


def try_topk(
    session: Session_, bound: BoundQuery, params: Sequence[object], snap: Snapshot
) -> Result | None:
    from vecgres.sql.fastpath_ann import try_fast
    from vecgres.sql.range_query import try_range

    fast = try_fast(session, bound, params, snap)
    if fast is not None:
        return fast
    ranged = try_range(session, bound, params, snap)
    if ranged is not None:
        return result_of(bound, ranged)
    found = plan_for(session, bound, params)
    if found is None:
        return None
    run = execute_plan(session, bound, found[0], snap)
    if run is None:
        return None
    return result_of(bound, run)


def result_of(bound: BoundQuery, run: TopKRun) -> Result:
    return Result(result_columns(bound, run.types), run.batches, lambda n: f"SELECT {n}")


def result_columns(bound: BoundQuery, types: Sequence[str]) -> list[ColumnInfo]:
    """The result's columns: the bound types, else the DuckDB types the run gave."""
    return [
        ColumnInfo(
            name,
            t or (type_from_duck(types[i]) if i < len(types) and types[i] else SqlType("text")),
            src[0],
            src[1],
        )
        for i, (name, t, src) in enumerate(
            zip(bound.output_names, bound.output_types, bound.output_sources, strict=True)
        )
    ]
