"""Distance-range queries: ``… WHERE col <op> q < r [AND …] [ORDER BY …] [LIMIT k]``.

A top-level conjunct ``distance(col, const) < r`` (or ``<=``, or ``r > …``)
on a one-table SELECT is answered by the executor's range prefilter
(``executor/rangesearch.py``: faiss ``range_search`` on segments with a
matching index, numpy elsewhere); the whole statement then runs in DuckDB on
the surviving rows, so every other clause keeps its exact meaning.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from sqlglot import exp

from vecgres.executor.rangesearch import RangePlan, run_range
from vecgres.executor.topk import TopKRun
from vecgres.index.predicate import simple_conditions
from vecgres.planner.topk import OPERATOR_METRIC, OPERATOR_TYPE, choose_index
from vecgres.sql.shapecache import ShapeCache
from vecgres.sql.topk import key_column, parse_query, run_search

if TYPE_CHECKING:
    from vecgres.sql.bind import BoundQuery
    from vecgres.storage.store import Snapshot

Session_ = Any

_BELOW: dict[type[exp.Expr], bool] = {exp.LT: False, exp.LTE: True}
_ABOVE: dict[type[exp.Expr], bool] = {exp.GT: False, exp.GTE: True}


@dataclass(frozen=True, slots=True)
class RangeShape:
    rel: str
    column: str
    operator: str
    expression: tuple[str, int] | None
    query: exp.Expr
    radius: exp.Expr


def _conjuncts(node: exp.Expr) -> list[exp.Expr]:
    while isinstance(node, exp.Paren):
        node = node.this
    if isinstance(node, exp.And):
        return _conjuncts(node.this) + _conjuncts(node.expression)
    return [node]


def _distance(node: exp.Expr) -> tuple[exp.Column, tuple[str, int] | None, str, exp.Expr] | None:
    while isinstance(node, exp.Paren):
        node = node.this
    if not isinstance(node, exp.Anonymous) or node.name.lower() not in OPERATOR_METRIC:
        return None
    if len(node.expressions) != 2:
        return None
    col, query = node.expressions
    if key_column(col) is None:
        col, query = query, col
    found = key_column(col)
    if found is None:
        return None
    if not (
        isinstance(query, exp.Parameter)
        or (isinstance(query, exp.Cast) and isinstance(query.this, exp.Literal))
        or (isinstance(query, exp.Literal) and query.is_string)
    ):
        return None
    return found[0], found[1], node.name.lower(), query


def _match_range(bound: BoundQuery) -> RangeShape | None:
    ast = bound.ast
    if not isinstance(ast, exp.Select) or ast.args.get("with") or ast.args.get("joins"):
        return None
    source = ast.args.get("from_") or ast.args.get("from")
    if source is None or not isinstance(source.this, exp.Table) or len(bound.tables) != 1:
        return None
    rel = source.this.name
    where = ast.args.get("where")
    if rel not in bound.tables or where is None:
        return None
    for conj in _conjuncts(where.this):
        if type(conj) in _BELOW:
            dist, radius = conj.this, conj.expression
        elif type(conj) in _ABOVE:
            dist, radius = conj.expression, conj.this
        else:
            continue
        found = _distance(dist)
        if found is None:
            continue
        col, expression, operator, query = found
        return RangeShape(rel, col.name, operator, expression, query, radius)
    return None


def match_range(bound: BoundQuery) -> RangeShape | None:
    return _cached_range(bound)


_cached_range: ShapeCache[RangeShape | None] = ShapeCache(_match_range)


def _number(node: exp.Expr, params: Sequence[object]) -> float | None:
    while isinstance(node, exp.Paren):
        node = node.this
    if isinstance(node, exp.Neg):
        inner = _number(node.this, params)
        return None if inner is None else -inner
    if isinstance(node, exp.Literal) and not node.is_string:
        return float(node.this)
    if isinstance(node, exp.Parameter):
        value = params[int(node.this.this) - 1]
        if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
            return None
        return float(value)
    return None


def try_range(
    session: Session_, bound: BoundQuery, params: Sequence[object], snap: Snapshot
) -> TopKRun | None:
    plan = plan_range(session, bound, params)
    if plan is None:
        return None
    return execute_range(session, bound, plan, snap)


def execute_range(session: Session_, bound: BoundQuery, plan: RangePlan, snap: Snapshot) -> TopKRun:
    return run_search(session, bound, plan, snap, run_range)


def plan_range(session: Session_, bound: BoundQuery, params: Sequence[object]) -> RangePlan | None:
    shape = match_range(bound)
    if shape is None:
        return None
    table = bound.tables[shape.rel]
    column = table.column(shape.column)
    if column is None:
        return None
    key_type = OPERATOR_TYPE[shape.operator]
    expression: tuple[str, str] | None = None
    from vecgres.index.expression import (
        expression_source_fits,
        expression_text,
        expression_type,
        searched_key,
    )

    searched = None
    if shape.expression is not None:
        searched = searched_key(column.type, *shape.expression, key_type)
    if searched is not None and shape.expression is not None:
        kind, n = searched, shape.expression[1]
        if not expression_source_fits(column.type, n, kind):
            return None
        if expression_type(kind) != key_type:
            return None
        expression = (kind, expression_text(column.name, kind, n))
    elif column.type.name != key_type:
        return None
    radius = _number(shape.radius, params)
    if radius is None or radius != radius:
        return None
    parsed = parse_query(column, expression, shape.query, params)
    if parsed is None:
        return None
    query, query_text = parsed
    metric = OPERATOR_METRIC[shape.operator]
    settings = session.settings
    index = None
    where_node = bound.ast.args.get("where")
    where = simple_conditions(where_node.this if where_node is not None else None)
    if settings.get("vecgres.enable_ann") == "on":
        index = choose_index(
            table, shape.column, metric, key_type, expression[1] if expression else None, where
        )
    return RangePlan(
        rel=shape.rel,
        column=shape.column,
        key_type=expression[0] if expression else key_type,
        metric=metric,
        query=query,
        query_text=query_text,
        radius=radius,
        final_sql=bound.render(params),
        index=index,
        ef_search=settings.get_int("hnsw.ef_search"),
        probes=settings.get_int("ivfflat.probes"),
        where=tuple(where),
    )
