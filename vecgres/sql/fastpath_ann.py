"""Prepared top-k searches straight from the statement to the segment indexes.

``SELECT <plain columns and/or the distance> FROM t [WHERE <integer/boolean
column comparisons>] ORDER BY vec <op> $1 LIMIT k [OFFSET n]`` on a ``vector(n)``
column is, on a warm prepared statement, a faiss search and a few row reads.
The general top-k path (sql/topk.py) pays on each run for what does not change
between runs: matching the shape and the WHERE on the parse tree, conforming
every segment to the table's layout, viewing its vectors, copying its masks,
taking the winners from chunked columns. Here the shape, result columns and
scalar WHERE are analysed once per bound query, the segments once per
snapshot, and each run only reads its parameters, searches and takes the rows.

The search itself is ``run_topk``'s (executor/ann_fast.py calls the same
per-segment function and merges the same way), so the rows are identical.
Anything else — another column type, a transaction's own writes, NULL
vectors among the winners, a WHERE the segments cannot evaluate — returns
None and the statement takes the general path.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
from sqlglot import exp

from vecgres.executor import ann_fast
from vecgres.executor.prune import pruned
from vecgres.index.predicate import Condition, simple_conditions
from vecgres.planner.topk import OPERATOR_TYPE, plan_topk
from vecgres.result import Result
from vecgres.sql.shapecache import ShapeCache
from vecgres.sql.topk import (
    TopKShape,
    _int_value,
    column_conditions,
    match_topk,
    parse_query,
    result_columns,
    search_settings,
)
from vecgres.vector.text import plain_f32

if TYPE_CHECKING:
    from vecgres.catalog.model import Column, Table
    from vecgres.sql.bind import BoundQuery
    from vecgres.storage.store import Snapshot

# the WHERE's conditions per parameter values, kept for this many distinct values
_CONDITIONS_KEPT = 64


def _plain_vector(text: str) -> np.ndarray | None:
    """A text vector parameter as ``vector_text.parse_vector`` reads it, for literals of
    plain decimals; None for anything else (parse_vector decides, and raises pgvector's
    errors)."""
    f = plain_f32(text)
    return f if f is not None and np.isfinite(f).all() else None


def _tag(n: int) -> str:
    return f"SELECT {n}"


class FastTopK:
    """One bound query's fast top-k: what its runs share."""

    __slots__ = (
        "_conditions",
        "_view",
        "bound",
        "column",
        "columns",
        "dims",
        "projection",
        "query_param",
        "shape",
        "table",
        "where",
        "where_params",
    )

    def __init__(
        self, bound: BoundQuery, shape: TopKShape, table: Table, column: Column, dims: int
    ) -> None:
        assert shape.projection is not None
        self.bound = bound
        self.shape = shape
        self.table = table
        self.column = column
        self.dims = dims
        self.projection = shape.projection
        query = shape.query
        # the query vector's parameter (0-based), or -1 for a literal
        self.query_param = (
            int(query.this.this) - 1
            if isinstance(query, exp.Parameter) and isinstance(query.this, exp.Literal)
            else -1
        )
        self.columns = result_columns(
            bound, ["DOUBLE" if source is None else "" for _, source in shape.projection]
        )
        # the WHERE's literal conjuncts: index choice (partial indexes) and pruning
        self.where: list[Condition] = simple_conditions(shape.where)
        self.where_params: tuple[int, ...] = ()
        if shape.where is not None:
            self.where_params = tuple(
                sorted(
                    {
                        int(p.this.this) - 1
                        for p in shape.where.find_all(exp.Parameter)
                        if isinstance(p.this, exp.Literal)
                    }
                )
            )
        self._conditions: dict[tuple[Any, ...], list[Condition] | None] = {}
        self._view: ann_fast.TableParts | None = None

    def conditions(self, params: Sequence[object]) -> list[Condition] | None:
        """``column_conditions`` of the WHERE, per the values of its parameters."""
        try:
            key = tuple(
                (type(params[i]), params[i]) if i < len(params) else None for i in self.where_params
            )
            hash(key)
        except TypeError:  # an unhashable value (a list): no memo
            return column_conditions(self.table, self.shape.where, params, self.bound.param_types)
        if key in self._conditions:
            return self._conditions[key]
        found = column_conditions(self.table, self.shape.where, params, self.bound.param_types)
        if len(self._conditions) >= _CONDITIONS_KEPT:
            self._conditions.clear()
        self._conditions[key] = found
        return found

    def run(self, session: Any, params: Sequence[object], snap: Snapshot) -> Result | None:
        table, shape = self.table, self.shape
        txn = session.txn
        if txn is not None and txn.pending.get(table.oid) is not None:
            return None  # the transaction's own writes: the general path merges them
        k = _int_value(shape.limit, params)
        offset = _int_value(shape.offset, params)
        if k is None or offset is None or k < 0 or offset < 0:
            return None
        query = shape.query
        if 0 <= self.query_param < len(params):
            value = params[self.query_param]
            if isinstance(value, str):
                plain = _plain_vector(value)
                if plain is not None:
                    params = list(params)
                    params[self.query_param] = plain
        parsed = parse_query(self.column, None, query, params)
        if parsed is None:
            return None
        conds = None
        if shape.where is not None:
            conds = self.conditions(params)
            if conds is None:
                return None  # DuckDB evaluates the WHERE (and raises what it raises)
        key = ann_fast.snapshot_key(snap, table.oid)
        if key is None:
            return None
        view = self._view
        if view is None or not view.matches(key):
            tsnap = snap.table(table.oid)
            if tsnap is None:
                return None
            view = self._view = ann_fast.table_parts(
                table, tsnap, key, self.column.field_name, self.dims
            )
        plan = plan_topk(
            table,
            shape.rel,
            shape.column,
            shape.operator,
            parsed[0],
            k + offset,
            None,
            "",
            projection=self.projection,
            offset=offset,
            where=self.where,
            filter_conditions=conds,
            **search_settings(session),
        )
        parts = view.parts
        if self.where:
            parts = [p for p in parts if not pruned(p.seg, table, self.where)]
        found = ann_fast.search(session.db.ann, table, plan, parts, session._check_cancel, view)
        if found is None:
            return None
        batch = ann_fast.project(table, self.projection, *found, view)
        return Result(list(self.columns), iter([batch] if batch.num_rows else []), _tag)


def _prepare(bound: BoundQuery) -> FastTopK | None:
    shape = match_topk(bound)
    if shape is None or shape.expression is not None or shape.projection is None:
        return None
    if OPERATOR_TYPE[shape.operator] != "vector":
        return None
    table = bound.tables[shape.rel]
    if table.kind != "r":
        return None
    column = table.column(shape.column)
    if column is None or column.type.name != "vector" or column.type.is_array:
        return None
    dims = column.type.dims
    if dims is None or dims <= 0:
        return None  # rows of any length: the general path checks each
    return FastTopK(bound, shape, table, column, dims)


_prepared: ShapeCache[FastTopK | None] = ShapeCache(_prepare)


def try_fast(
    session: Any, bound: BoundQuery, params: Sequence[object], snap: Snapshot
) -> Result | None:
    """The statement's result by the fast path, or None for the general one."""
    fast = _prepared(bound)
    if fast is None:
        return None
    return fast.run(session, params, snap)


def unfiltered(bound: BoundQuery) -> bool:
    """The fast path takes ``bound`` and it has no WHERE (a filter can make a search
    long: such statements keep to a worker thread)."""
    fast = _prepared(bound)
    return fast is not None and fast.shape.where is None
