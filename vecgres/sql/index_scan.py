"""What an index scan cannot return, when ``enable_seqscan = off`` forces one.

pgvector's hnsw and ivfflat indexes hold no NULL vectors, nor zero vectors for the
cosine opclasses (their norm is 0: they cannot be normalized). PostgreSQL with
``enable_seqscan = off`` answers ``ORDER BY col <op> x`` through such an index
whenever one matches the operator, with or without LIMIT, so those rows are
missing from the answer (pgvector's regression tests count them). vecgres orders
exactly; to give the same rows it adds the index's own exclusions to the WHERE of
every such SELECT. With ``enable_seqscan`` on, nothing changes.
"""

from __future__ import annotations

from sqlglot import exp

from vecgres.catalog.model import Column, Table
from vecgres.planner.topk import OPERATOR_METRIC, OPERATOR_TYPE, choose_index

# the DuckDB function of each key type's norm (pgvector's support function 2)
_NORM = {
    "vector": "pgv_vector_norm",
    "halfvec": "pgv_vector_norm",
    "sparsevec": "pgv_sparsevec_l2_norm",
}


def exclude_unindexed(ast: exp.Expr, alias_tables: dict[str, Table]) -> None:
    """Add ``col IS NOT NULL`` (and, for a cosine opclass, a non-zero norm) to each
    SELECT of ``ast`` whose ORDER BY ranks a column by a distance an index serves."""
    for select in list(ast.find_all(exp.Select)):
        key = _ordered_key(select)
        if key is None:
            continue
        found = _indexed_column(key, select, alias_tables)
        if found is None:
            continue
        column_node, metric = found
        condition: exp.Expr = exp.Not(this=exp.Is(this=column_node.copy(), expression=exp.Null()))
        norm = _NORM.get(OPERATOR_TYPE[key.name.lower()])
        if metric == "cosine" and norm is not None:
            nonzero = exp.NEQ(
                this=exp.Anonymous(this=norm, expressions=[column_node.copy()]),
                expression=exp.Literal.number(0),
            )
            condition = exp.and_(condition, nonzero)
        select.where(condition, copy=False)


def _ordered_key(select: exp.Select) -> exp.Anonymous | None:
    order = select.args.get("order")
    if order is None or not order.expressions:
        return None
    first = order.expressions[0]
    if first.args.get("desc"):
        return None  # an index scan gives nearest first only
    key = first.this
    if isinstance(key, exp.Anonymous) and key.name.lower() in OPERATOR_METRIC:
        return key
    return None


def _indexed_column(
    key: exp.Anonymous, select: exp.Select, alias_tables: dict[str, Table]
) -> tuple[exp.Column, str] | None:
    """The bare column of the select's one table the distance ranks, if an index of
    the operator's opclass is on it."""
    source = select.args.get("from_") or select.args.get("from")
    if source is None or not isinstance(source.this, exp.Table) or select.args.get("joins"):
        return None
    alias = source.this.alias_or_name
    table = alias_tables.get(alias)
    if table is None:
        return None
    operator = key.name.lower()
    for arg in key.expressions:
        if not isinstance(arg, exp.Column) or (arg.table and arg.table != alias):
            continue
        column = _column(table, arg.name)
        if column is None:
            continue
        metric = OPERATOR_METRIC[operator]
        if choose_index(table, column.name, metric, OPERATOR_TYPE[operator]) is not None:
            return arg, metric
    return None


def _column(table: Table, name: str) -> Column | None:
    found = table.column(name)
    if found is not None:
        return found
    return next((c for c in table.columns if c.field_name == name), None)
