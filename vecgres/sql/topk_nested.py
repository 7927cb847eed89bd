"""Top-k searches nested in a larger query: subqueries and CTEs.

``WITH a AS (SELECT id FROM t ORDER BY e1 <=> $1 LIMIT 50), b AS (…)
SELECT … FROM a FULL JOIN b USING (id) …``: every uncorrelated SELECT of the
statement that has the top-k shape (``sql/topk.py``) runs through the ANN path
on its own; its rows become a relation registered in DuckDB, and the SELECT
is replaced by a scan of that relation in rank order. DuckDB then runs the
rest of the statement (joins, re-ranking expressions, GROUP BY) on those
results.

A SELECT without the shape, one that reads columns of an enclosing query, and
one whose search declines (a NULL or malformed query vector, whose error DuckDB
raises in pgvector's words; NULL vectors taking the last places) stays in the
statement and DuckDB computes it exactly. With ``vecgres.enable_ann = off``
nothing is substituted: DuckDB runs the statement as written, the reference
results are compared against.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa
from sqlglot import exp

from vecgres.sql.bind import BoundQuery
from vecgres.sql.topk import execute_plan, plan_for

if TYPE_CHECKING:
    from vecgres.executor.duck import DuckSession
    from vecgres.executor.topk import TopKRun
    from vecgres.planner.topk import AnnTopK
    from vecgres.sql.topk import TopKShape
    from vecgres.storage.store import Snapshot

# the engine's Session: sql/ may not import engine (layers), so it is duck-typed here
Session_ = Any

RELATION_PREFIX = "__vg_topk_"
RANK = "__vg_rank"


@dataclass(slots=True)
class NestedSearch:
    """One top-k SELECT of the statement, planned for the ANN path."""

    label: str  # as EXPLAIN names it: "CTE a", "Subquery Scan on s", "InitPlan 1"
    select: exp.Select  # the node in the rewritten copy of the statement
    sub: BoundQuery  # the SELECT alone, bound to its one table
    plan: AnnTopK
    shape: TopKShape
    run: TopKRun | None = None
    ms: float = 0.0  # how long its search took (EXPLAIN ANALYZE)


@dataclass(slots=True)
class Rewritten:
    """The statement with its searches replaced by scans of their results."""

    sql: str
    relations: dict[str, pa.Table] = field(default_factory=dict)
    searches: list[NestedSearch] = field(default_factory=list)
    # the rewritten statement (EXPLAIN plans it), and the search each relation holds
    bound: BoundQuery | None = None
    by_relation: dict[str, NestedSearch] = field(default_factory=dict)

    def register(self, duck: DuckSession) -> str:
        """Register the search results (dropped by the statement's ``clear()``); the SQL."""
        for name, table in self.relations.items():
            duck.register(name, table, False)
        return self.sql


def plan_nested(
    session: Session_, bound: BoundQuery, params: Sequence[object]
) -> tuple[exp.Expr, list[NestedSearch]]:
    """A copy of the statement and the top-k SELECTs in it that the ANN path can run."""
    root = bound.ast.copy()
    found: list[NestedSearch] = []
    if root.find(exp.Select) is None or _recursive(root):
        return root, found
    init_plans = 0
    for select in list(root.find_all(exp.Select)):
        if select is root or _inside_match(select, found):
            continue
        sub = _sub_bound(bound, select)
        if sub is None:
            continue
        planned = plan_for(session, sub, params, cache=False)
        if planned is None:
            continue
        label = _label(select)
        if label is None:
            init_plans += 1
            label = f"InitPlan {init_plans}"
        found.append(NestedSearch(label, select, sub, planned[0], planned[1]))
    return root, found


def rewrite(
    session: Session_, bound: BoundQuery, params: Sequence[object], snap: Snapshot
) -> Rewritten | None:
    """The statement with its nested top-k searches already run; None when there are
    none (or ANN is off), and DuckDB runs the statement as it is."""
    if session.settings.get("vecgres.enable_ann") != "on":
        return None
    if sum(1 for _ in bound.ast.find_all(exp.Select)) < 2:
        return None
    root, searches = plan_nested(session, bound, params)
    if not searches:
        return None
    out = Rewritten("")
    for search in searches:
        began = time.perf_counter()
        run = execute_plan(session, search.sub, search.plan, snap)
        if run is None:
            continue
        search.run = run
        name = f"{RELATION_PREFIX}{len(out.relations)}"
        table = _result_table(run, search.sub.output_names, name)
        search.ms = (time.perf_counter() - began) * 1000
        if table is None:
            continue
        out.relations[name] = table
        out.searches.append(search)
        out.by_relation[name] = search
        search.select.replace(_scan(name, search.sub.output_names))
    if not out.relations:
        return None
    rendered = BoundQuery(
        root,
        bound.tables,
        bound.param_types,
        bound.output_names,
        bound.output_types,
        bound.output_sources,
    )
    out.sql = rendered.render(params)
    out.bound = rendered
    return out


def _recursive(root: exp.Expr) -> bool:
    return any(w.args.get("recursive") for w in root.find_all(exp.With))


def _inside_match(select: exp.Select, found: list[NestedSearch]) -> bool:
    matched = {id(s.select) for s in found}
    parent = select.parent
    while parent is not None:
        if id(parent) in matched:
            return True
        parent = parent.parent
    return False


def _sub_bound(bound: BoundQuery, select: exp.Select) -> BoundQuery | None:
    """The SELECT as a statement of its own, when it reads one table and nothing of
    an enclosing query (every column qualified by its own table's alias; the binder
    qualifies them all, so unqualified names are the SELECT's own output aliases)."""
    source = select.args.get("from_") or select.args.get("from")
    if source is None or not isinstance(source.this, exp.Table):
        return None
    rel = source.this.name
    table = bound.tables.get(rel)
    if table is None:
        return None
    alias = source.this.alias_or_name
    for node in select.walk():
        if isinstance(node, exp.Select | exp.Lateral) and node is not select:
            return None
        if isinstance(node, exp.Column) and node.table and node.table != alias:
            return None
    names = [proj.alias_or_name for proj in select.expressions]
    return BoundQuery(
        select,
        {rel: table},
        bound.param_types,
        names,
        [None] * len(names),
        [(0, 0)] * len(names),
    )


def _label(select: exp.Select) -> str | None:
    """How PostgreSQL's EXPLAIN names the node; None for an expression's subquery."""
    parent = select.parent
    if isinstance(parent, exp.CTE):
        return f"CTE {parent.alias}"
    if isinstance(parent, exp.Subquery) and parent.alias:
        return f"Subquery Scan on {parent.alias}"
    return None


def _result_table(run: TopKRun, names: list[str], relation: str) -> pa.Table | None:
    """The search's rows with positional column names and their rank, all prefixed by
    the relation's name (EXPLAIN tells the relations apart by them); None when the
    result has no batch to take a schema from (DuckDB then computes it)."""
    batches = list(run.batches)
    run.batches = iter(batches)
    if not batches:
        return None
    table = pa.Table.from_batches(batches)
    if table.num_columns != len(names):
        return None
    table = table.rename_columns([f"{relation}_c{i}" for i in range(len(names))])
    rank = pa.array(np.arange(table.num_rows, dtype=np.int64))
    return table.append_column(relation + RANK, rank)


def _scan(relation: str, names: list[str]) -> exp.Select:
    """``SELECT c0 AS name0, … FROM relation ORDER BY rank``: the search's rows under
    the names the SELECT gave them, in its order."""
    columns = [
        exp.alias_(exp.column(f"{relation}_c{i}"), exp.to_identifier(name, quoted=True))
        for i, name in enumerate(names)
    ]
    return exp.select(*columns).from_(relation).order_by(exp.column(relation + RANK))
