"""Exact top-k by vector distance over a table's segments.

Distances are computed on numpy views of the Arrow vector columns (no copy
of the stored vectors); each chunk contributes its best ``k + offset``
candidates, the candidates are merged, and only the winning rows are handed
to DuckDB, which evaluates the select list, ORDER BY and LIMIT on them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa
from sqlglot import exp

from vecgres.executor.relation import ROWID, VISIBLE, table_view
from vecgres.result import Result
from vecgres.vector import text as vector_text
from vecgres.vector.ops import (
    cosine_distances,
    l1_distances,
    l2_distances,
    negative_inner_products,
)

if TYPE_CHECKING:
    from vecgres.catalog.model import Table

_METRICS = {
    "pgv_l2_distance": l2_distances,
    "pgv_cosine_distance": cosine_distances,
    "pgv_negative_inner_product": negative_inner_products,
    "pgv_l1_distance": l1_distances,
}


@dataclass(frozen=True, slots=True)
class TopKPlan:
    rel: str
    column: str
    metric: str
    query: exp.Expr  # the vector literal or parameter
    limit: exp.Expr
    offset: exp.Expr | None
    where: exp.Expr | None


def match_topk(bound: Any) -> TopKPlan | None:
    """The top-k plan of a bound query, or None when the query has another shape."""
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
    if not isinstance(key, exp.Anonymous) or key.name.lower() not in _METRICS:
        return None
    args = key.expressions
    if len(args) != 2:
        return None
    col, query = args
    if not isinstance(col, exp.Column):
        col, query = query, col
    if not isinstance(col, exp.Column):
        return None
    if not (
        isinstance(query, exp.Parameter)
        or (isinstance(query, exp.Cast) and isinstance(query.this, exp.Literal))
    ):
        return None
    table: Table = bound.tables[rel]
    column = table.column(col.name)
    if column is None or column.type.dims is None or column.type.name != "vector":
        return None
    offset = ast.args.get("offset")
    where = ast.args.get("where")
    return TopKPlan(
        rel,
        col.name,
        key.name.lower(),
        query,
        limit.expression,
        offset.expression if offset is not None else None,
        where.this if where is not None else None,
    )


def _int_value(node: exp.Expr | None, params: Sequence[object]) -> int | None:
    if node is None:
        return 0
    if isinstance(node, exp.Literal) and not node.is_string:
        return int(node.this)
    if isinstance(node, exp.Parameter):
        value = params[int(node.this.this) - 1]
        try:
            return int(value)  # type: ignore[call-overload]
        except (TypeError, ValueError):
            return None
    return None


def _query_vector(node: exp.Expr, params: Sequence[object]) -> np.ndarray:
    if isinstance(node, exp.Parameter):
        value = params[int(node.this.this) - 1]
        if isinstance(value, str):
            return vector_text.parse_vector(value)
        return np.asarray(value, dtype=np.float32)
    assert isinstance(node, exp.Cast)
    text = node.this.this
    return np.array([float(x) for x in text.strip("[]").split(",")], dtype=np.float32)


def run_topk(
    session: Any, bound: Any, plan: TopKPlan, params: Sequence[object], snap: Any
) -> Result | None:
    k = _int_value(plan.limit, params)
    offset = _int_value(plan.offset, params)
    if k is None or offset is None or k < 0 or offset < 0:
        return None
    need = k + offset
    table: Table = bound.tables[plan.rel]
    column = table.column(plan.column)
    assert column is not None and column.type.dims is not None
    query = _query_vector(plan.query, params)
    if query.shape != (column.type.dims,) or not np.isfinite(query).all():
        return None  # DuckDB raises pgvector's error
    pending = session.txn.pending.get(table.oid) if session.txn is not None else None
    data, masked = table_view(table, snap.table(table.oid), pending)
    allowed: np.ndarray | None = None
    if plan.where is not None:
        allowed = _filter_rowids(session, bound, plan, params, data, masked, table)
    distance = _METRICS[plan.metric]
    vectors = data.column(plan.column)
    # columns may be chunked differently: use whole arrays sliced by position
    vis = data.column(VISIBLE).to_numpy() if masked else None
    rowids = data.column(ROWID).to_numpy()
    best_pos: list[np.ndarray] = []
    best_dist: list[np.ndarray] = []
    base = 0
    dims = column.type.dims
    for chunk in vectors.chunks:
        n = len(chunk)
        if n == 0:
            continue
        session._check_cancel()
        mask = np.ones(n, dtype=bool)
        if chunk.null_count:
            mask &= ~np.asarray(chunk.is_null())
        if vis is not None:
            mask &= vis[base : base + n]
        if allowed is not None:
            mask &= np.isin(rowids[base : base + n], allowed)
        if not mask.any():
            base += n
            continue
        matrix = chunk.flatten().to_numpy(zero_copy_only=False).reshape(-1, dims)
        if chunk.null_count:
            matrix = np.nan_to_num(matrix)
        d = np.asarray(distance(matrix, query), dtype=np.float64)
        d = np.where(mask, d, np.inf)
        invalid = mask & ~np.isfinite(d)
        if invalid.any():
            return None  # NaN/inf distances: leave the ordering to DuckDB's exact path
        take = min(need, int(mask.sum()))
        if take == 0:
            base += n
            continue
        idx = np.argpartition(d, take - 1)[:take] if take < n else np.arange(n)
        idx = idx[np.isfinite(d[idx])]
        best_pos.append(idx + base)
        best_dist.append(d[idx])
        base += n
    if best_pos:
        pos = np.concatenate(best_pos)
        dist = np.concatenate(best_dist)
        order = np.argsort(dist, kind="stable")[:need]
        winners = np.sort(pos[order])
    else:
        winners = np.empty(0, dtype=np.int64)
    matching = int(np.isin(rowids, allowed).sum()) if allowed is not None else None
    if len(winners) < need and (matching is None or len(winners) < matching):
        # fewer non-null candidates than asked: NULL vectors sort last, as in PostgreSQL
        return None
    small = data.take(pa.array(winners, pa.int64()))
    if masked:
        small = small.drop_columns([VISIBLE])
    session.duck.register(plan.rel, small, False)
    try:
        sql = bound.render(params)
        types, stream = session.duck.query(sql, session.db.settings.batch_rows)
        batches = list(stream)
    finally:
        session.duck.clear()
    from vecgres.result import ColumnInfo
    from vecgres.types import SqlType

    columns = [
        ColumnInfo(name, t or SqlType("text"), src[0], src[1])
        for name, t, src in zip(
            bound.output_names, bound.output_types, bound.output_sources, strict=True
        )
    ]
    if any(t is None for t in bound.output_types):
        from vecgres.sql.typemap import type_from_duck

        columns = [
            ColumnInfo(
                c.name,
                bound.output_types[i] or type_from_duck(types[i]),
                c.table_oid,
                c.column_number,
            )
            for i, c in enumerate(columns)
        ]
    return Result(columns, iter(batches), lambda n: f"SELECT {n}")


def _filter_rowids(
    session: Any,
    bound: Any,
    plan: TopKPlan,
    params: Sequence[object],
    data: pa.Table,
    masked: bool,
    table: Table,
) -> np.ndarray:
    """Row ids that pass the WHERE clause, evaluated by DuckDB on the scalar columns."""
    select = (
        exp.select(exp.column(ROWID))
        .from_(
            exp.Table(
                this=exp.to_identifier(plan.rel),
                alias=exp.TableAlias(
                    this=exp.to_identifier(
                        bound.ast.args.get("from_", bound.ast.args.get("from")).this.alias_or_name
                    )
                ),
            )
        )
        .where(plan.where.copy() if plan.where is not None else exp.true())
    )
    original = bound.ast
    bound.ast = select
    try:
        session.duck.register(plan.rel, data, masked)
        sql = bound.render(params)
        result = session.duck.arrow(sql)
    finally:
        bound.ast = original
        session.duck.clear()
    return result.column(0).to_numpy()
