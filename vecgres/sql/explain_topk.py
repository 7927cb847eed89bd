"""EXPLAIN [ANALYZE] for top-k distance searches, in PostgreSQL's text format.

PostgreSQL + pgvector shows ``Limit -> Index Scan using <index> on <table>``
with ``Order By:`` and ``Filter:`` lines when the index is used, and
``Limit -> Sort -> Seq Scan`` otherwise. vecgres prints the same nodes
(always without cost estimates, as ``COSTS OFF``) and under the scan its own
details: the index method and search settings, and with ANALYZE the segments
searched and pruned and what each did (strategy, rows, rows matching the
filter, candidates, ANN rounds). VERBOSE adds each node's ``Output:``.

A statement with top-k searches in subqueries or CTEs shows DuckDB's plan of
the rest of it (joins, aggregates) with each search's ``Limit -> Index Scan``
where the statement reads its rows (the searches run first, as when the
statement runs). ``EXPLAIN EXECUTE name(values)`` explains a statement of SQL
PREPARE with those values. Other statements are explained by
``explain_plan.py`` from the plan DuckDB runs.
"""

from __future__ import annotations

import re
import time
from collections.abc import Sequence
from typing import Any

import pyarrow as pa
from sqlglot import exp

from vecgres.executor.rangesearch import RangePlan
from vecgres.executor.topk import SegmentReport
from vecgres.index.expression import expression_type
from vecgres.planner.duckplan import Relation
from vecgres.planner.pgplan import ExplainOptions, PlanNode, graft, parse_text
from vecgres.planner.topk import OPERATOR_SYMBOL, AnnTopK
from vecgres.result import Result
from vecgres.sql import prepared_sql
from vecgres.sql.bind import BoundQuery, bind_query
from vecgres.sql.explain_plan import (
    changed_settings,
    duck_plan,
    duck_text,
    explain_statement,
    lines_result,
    parse_options,
    pg_text,
    plan_result,
)
from vecgres.sql.range_query import execute_range, plan_range
from vecgres.sql.topk import TopKShape, execute_plan, plan_for
from vecgres.sql.topk_nested import plan_nested, rewrite
from vecgres.vector.text import format_vector

# the engine's Session: sql/ may not import engine (layers), so it is duck-typed here
Session_ = Any


def explain(session: Session_, ast: exp.Expr, params: Sequence[object]) -> Result:
    text = ast.expression.name if isinstance(ast.expression, exp.Expr) else str(ast.expression)
    opts, sql = parse_options(text)
    if opts.settings:
        opts.changed = changed_settings(session.settings)
    if prepared_sql.execute_target(sql):  # EXPLAIN EXECUTE name(values)
        stmt, params = prepared_sql.resolve_execute(session, sql)
        sql = stmt.sql
    query = session._parse_one(sql)
    started = time.perf_counter()
    if not isinstance(query, exp.Query):
        return explain_statement(session, query, opts, params, started)
    analyze = opts.analyze
    bound = bind_query(query, session._bind_context(), session._parse_view)
    ranged = plan_range(session, bound, params)
    if ranged is not None:
        return lines_result(_explain_range(session, bound, ranged, analyze, started), opts)
    found = plan_for(session, bound, params)
    if found is None:
        nested = _explain_nested(session, bound, params, opts)
        if nested is None:
            return explain_statement(session, query, opts, params, started)
        return nested
    plan, shape = found
    planned = time.perf_counter()
    reports: list[SegmentReport] | None = None
    rows = 0
    if analyze:
        run = execute_plan(session, bound, plan, session.db.snapshot())
        if run is not None:
            reports = run.segments
            rows = sum(b.num_rows for b in run.batches)
    done = time.perf_counter()
    name = bound.tables[shape.rel].name
    ms = (done - planned) * 1000
    select = bound.ast if isinstance(bound.ast, exp.Select) else None
    lines = _lines(plan, shape, name, reports, rows, analyze, ms, params, select, opts.verbose)
    lines.append(f"Planning Time: {(planned - started) * 1000:.3f} ms")
    if analyze:
        lines.append(f"Execution Time: {(done - planned) * 1000:.3f} ms")
    return lines_result(lines, opts)


def _explain_range(
    session: Session_, bound: BoundQuery, plan: RangePlan, analyze: bool, started: float
) -> list[str]:
    """``Seq Scan`` (or the index) with the range filter, and per-segment strategies."""
    planned = time.perf_counter()
    name = bound.tables[plan.rel].name
    where = bound.ast.args.get("where")
    scan = (
        f"Index Scan using {plan.index.name} on {name}"
        if plan.index is not None
        else f"Seq Scan on {name}"
    )
    lines = [scan]
    if where is not None:
        lines.append(f"  Filter: {_pg_text(where.this)}")
    lines.append(f"  Vecgres: range search per segment, radius={plan.radius}")
    if analyze:
        run = execute_range(session, bound, plan, session.db.snapshot())
        rows = sum(b.num_rows for b in run.batches)
        done = time.perf_counter()
        lines[0] += f" (actual time=0.000..{(done - planned) * 1000:.3f} rows={rows} loops=1)"
        for r in run.segments:
            seg = f"segment {r.segment_id}" if r.segment_id is not None else "growing"
            lines.append(
                f"  Segment: {seg}: {r.strategy}, rows={r.rows} matching={r.matching} "
                f"candidates={r.candidates}"
            )
        lines.append(f"Planning Time: {(planned - started) * 1000:.3f} ms")
        lines.append(f"Execution Time: {(done - planned) * 1000:.3f} ms")
    else:
        lines.append(f"Planning Time: {(planned - started) * 1000:.3f} ms")
    return lines


def _explain_nested(
    session: Session_, bound: BoundQuery, params: Sequence[object], opts: ExplainOptions
) -> Result | None:
    """A statement whose subqueries or CTEs are top-k searches: each search runs on
    its own (as it does when the statement runs) and DuckDB plans the rest of the
    statement on their results; the plan shows each search's ``Limit -> Index Scan``
    where the statement reads it. None without a search the ANN path runs (none, or
    ``vecgres.enable_ann = off``): DuckDB's own plan is the whole plan."""
    _root, searches = plan_nested(session, bound, params)
    if not searches:
        return None
    started = time.perf_counter()
    rewritten = rewrite(session, bound, params, session.db.snapshot())
    if rewritten is None or rewritten.bound is None:
        return None
    searched = time.perf_counter()
    # aliases as PostgreSQL gives them: a table read again is t_1, t_2, ...
    seen: dict[str, int] = {}
    for node in rewritten.bound.ast.find_all(exp.Table):
        if node.name in rewritten.bound.tables:
            seen[node.alias_or_name] = seen.get(node.alias_or_name, 0) + 1
    registered: list[tuple[Relation, pa.Table]] = []
    subtrees: dict[str, PlanNode] = {}
    labels: dict[str, str] = {}
    # a search's columns -> (its subquery or CTE name, the column's name)
    renames: dict[str, tuple[str, str]] = {}
    for relation, search in rewritten.by_relation.items():
        name = search.sub.tables[search.shape.rel].name
        own = search.shape.alias if search.shape.alias not in (search.shape.rel, name) else None
        alias = own or name
        n = seen.get(alias, 0)
        seen[alias] = n + 1
        if n:
            alias = f"{alias}_{n}"
        run = search.run
        table = rewritten.relations[relation]
        reports = run.segments if run is not None and opts.analyze else None
        analyze = opts.analyze and run is not None
        lines = _lines(
            search.plan,
            search.shape,
            name,
            reports,
            table.num_rows,
            analyze,
            search.ms,
            params,
            search.sub.ast if isinstance(search.sub.ast, exp.Select) else None,
            opts.verbose,
            alias,
            nested=True,
        )
        subtree = parse_text(lines)
        subtrees[relation] = subtree
        # its subquery's or CTE's name; an expression's subquery (InitPlan) has none
        named = search.label.startswith(("CTE ", "Subquery Scan on "))
        label = search.label.rsplit(" ", 1)[-1] if named else alias
        labels[relation] = label
        outputs = search.sub.output_names
        columns = {c.lower() for c in table.column_names} | {o.lower() for o in outputs}
        registered.append((Relation(relation, alias, frozenset(columns)), table))
        for i, out in enumerate(outputs):
            renames[f"{relation}_c{i}"] = (label, out)

    def deparse(text: str, scope: dict[str, str], right: dict[str, str] | None) -> str:
        for column, (label, out) in renames.items():
            pattern = re.compile(rf"\b{column}\b")
            if pattern.search(text):  # a filter DuckDB pushed into the scan of the results
                text = pattern.sub(_quoted(out), text)
                # where the plan's own scope names the column (a join side), it stays
                scope = {out.lower(): label, **scope}
                if right is not None:
                    right = {out.lower(): label, **right}
        return duck_text(text, scope, right)

    root, run_ms = duck_plan(
        session, rewritten.bound, params, opts, registered, rewritten.sql, deparse
    )
    shown = {
        relation: ", ".join(f"{labels[relation]}.{_quoted(out)}" for out in search.sub.output_names)
        for relation, search in rewritten.by_relation.items()
    }
    root = graft(root, subtrees, labels, shown if opts.verbose else None)
    search_ms = (searched - started) * 1000
    planning = (time.perf_counter() - started) * 1000 - run_ms - search_ms
    execution = run_ms + search_ms if opts.analyze else None
    return plan_result(root, opts, planning, execution)


def _quoted(name: str) -> str:
    return (
        name
        if name.isidentifier() and name == name.lower()
        else '"' + name.replace('"', '""') + '"'
    )


_NUMBER_RE = re.compile(r"-?\d+(\.\d+)?")


def _with_params(node: exp.Expr, params: Sequence[object]) -> exp.Expr:
    """``node`` with its parameters as the constants they are in this run (PostgreSQL
    explains a statement with parameters by its plan for their values)."""
    if not params or node.find(exp.Parameter) is None:
        return node
    node = node.copy()
    for param in list(node.find_all(exp.Parameter)):
        inner = param.this
        if not isinstance(inner, exp.Literal) or inner.is_string:
            continue
        i = int(inner.this)
        if not 1 <= i <= len(params):
            continue
        value = params[i - 1]
        if value is None:
            param.replace(exp.Null())
        elif isinstance(value, bool):
            param.replace(exp.Boolean(this=value))
        elif isinstance(value, int | float) or (
            isinstance(value, str) and _NUMBER_RE.fullmatch(value) is not None
        ):  # over the wire parameters come as text
            param.replace(exp.Literal.number(value))
        else:
            param.replace(exp.Literal.string(str(value)))
    return node


def _outputs(
    select: exp.Select, order: str, params: Sequence[object], prefix: str | None
) -> list[tuple[str, bool]]:
    """(text, is a column) of what a search's nodes hand up, as VERBOSE prints it: the
    select list, then the distance it is ordered by unless the list has it; columns
    qualified by ``prefix`` when given."""
    items = []
    for item in select.expressions:
        node = item.this if isinstance(item, exp.Alias) else item
        if isinstance(node, exp.Column):
            name = _quoted(node.name)
            items.append((f"{prefix}.{name}" if prefix else name, True))
        else:
            scope = {"*": prefix} if prefix else None
            items.append((pg_text(_with_params(node, params), scope), False))
    if all(text != order for text, _ in items):
        items.append((order, False))
    return items


def _pg_text(node: exp.Expr) -> str:
    """PostgreSQL's deparse of a one-table filter: columns unqualified."""
    return pg_text(node)


def _lines(
    plan: AnnTopK,
    shape: TopKShape,
    name: str,
    reports: list[SegmentReport] | None,
    rows: int,
    analyze: bool,
    ms: float,
    params: Sequence[object] = (),
    select: exp.Select | None = None,
    verbose: bool = False,
    alias: str | None = None,
    nested: bool = False,
) -> list[str]:
    """The plan's lines; ``select``: the search's SELECT (VERBOSE shows its output
    columns), ``alias``: the name the scan shows (default: the query's alias)."""
    actual = f" (actual time=0.000..{ms:.3f} rows={rows} loops=1)" if analyze else ""
    if alias is None:
        alias = shape.alias if shape.alias not in (shape.rel, name) else name
    rel = name if alias == name else f"{name} {alias}"
    shown_type = expression_type(plan.key_type) if ">" in plan.key_type else plan.key_type
    if plan.query_text is not None:  # bit and sparsevec queries keep their text
        shown = f"'{plan.query_text}'::{shown_type}"
    elif shown_type == "sparsevec":  # (v::sparsevec(n)) of a dense column: a dense query
        from vecgres.vector import sparse

        shown = f"'{sparse.from_dense(plan.query).text()}'::sparsevec"
    else:
        shown = f"'{format_vector(plan.query)}'::{shown_type}"
    key = shape.column
    if shape.expression is not None:  # an expression key: (v)::halfvec(3)
        key = shape.expression[1]
    order = f"({key} {OPERATOR_SYMBOL[plan.metric]} {shown})"
    # VERBOSE qualifies the scan's conditions and keys (PostgreSQL: useprefix)
    qualified = f"({alias}.{key} {OPERATOR_SYMBOL[plan.metric]} {shown})" if verbose else order
    if shape.expression is not None:
        qualified = order
    where = None
    if shape.where is not None:
        where = pg_text(_with_params(shape.where, params), {"*": alias} if verbose else None)
    scan_output = upper_output = ""
    if verbose and select is not None:
        # inside a larger statement PostgreSQL qualifies every output (useprefix)
        prefix = alias if nested else None
        items = _outputs(select, qualified if nested else order, params, prefix)
        scan_output = ", ".join(text for text, _ in items)
        # a node above the scan shows an expression it takes from it parenthesized
        upper_output = ", ".join(text if column else f"({text})" for text, column in items)
    scanned = sum(r.rows for r in reports) if reports is not None else 0
    scan_actual = f" (actual time=0.000..{ms:.3f} rows={scanned} loops=1)" if analyze else ""
    out = [f"Limit{actual}"]
    if upper_output:
        out.append(f"  Output: {upper_output}")
    if plan.index is not None:
        out.append(f"  ->  Index Scan using {plan.index.name} on {rel}{actual}")
        if scan_output:
            out.append(f"        Output: {scan_output}")
        out.append(f"        Order By: {qualified}")
        if where:
            out.append(f"        Filter: {where}")
        method = plan.index.method
        knob = (
            f"ef_search={plan.ef_search}"
            if method == "hnsw"
            else f"probes={plan.probes}"
            if method == "ivfflat"
            else "exhaustive"
        )
        if method == "hnsw" and plan.iterative_scan != "off":
            knob += f", iterative_scan={plan.iterative_scan} max_scan_tuples={plan.max_scan_tuples}"
        elif method == "ivfflat" and plan.iterative_scan != "off":
            knob += f", iterative_scan={plan.iterative_scan} max_probes={plan.max_probes}"
        quant = plan.index.options.get("quantization")
        out.append(
            f"        Vecgres: {method}{' ' + quant if quant else ''} per segment, {knob}, "
            "growing segment exact"
        )
        indent = "        "
    else:
        out.append(f"  ->  Sort{actual}")
        if upper_output:
            out.append(f"        Output: {upper_output}")
        out.append(f"        Sort Key: ({qualified})")
        out.append(f"        ->  Seq Scan on {rel}{scan_actual}")
        if scan_output:
            out.append(f"              Output: {scan_output}")
        if where:
            out.append(f"              Filter: {where}")
        indent = "              "
    if reports is not None:
        pruned = sum(r.strategy == "pruned" for r in reports)
        out.append(f"{indent}Segments: {len(reports) - pruned} searched, {pruned} pruned")
        for r in reports:
            name = f"segment {r.segment_id}" if r.segment_id is not None else "growing"
            # an exact segment with ANN rounds: the index search came up short
            rounds = f" ann_rounds={r.rounds}" if r.rounds else ""
            if r.lists:  # ivfflat: lists probed (adaptive probing)
                rounds = f" lists={r.lists}{rounds}"
            out.append(
                f"{indent}Segment: {name}: {r.strategy}, rows={r.rows} matching={r.matching} "
                f"candidates={r.candidates}{rounds}"
            )
    return out
