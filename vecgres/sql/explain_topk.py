"""EXPLAIN [ANALYZE] for top-k distance searches, in PostgreSQL's text format.

PostgreSQL + pgvector shows ``Limit -> Index Scan using <index> on <table>``
with ``Order By:`` and ``Filter:`` lines when the index is used, and
``Limit -> Sort -> Seq Scan`` otherwise. vecgres prints the same nodes
(always without cost estimates, as ``COSTS OFF``) and under the scan its own
details: the index method and search settings, and with ANALYZE what each
segment did (strategy, rows matching, candidates). Other statements are
explained by ``explain_plan.py`` from the plan DuckDB runs.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from sqlglot import exp

from vecgres.executor.rangesearch import RangePlan
from vecgres.executor.topk import SegmentReport
from vecgres.index.expression import expression_type
from vecgres.planner.topk import OPERATOR_SYMBOL, AnnTopK
from vecgres.result import Result
from vecgres.sql.bind import BoundQuery, bind_query
from vecgres.sql.explain_plan import explain_statement, lines_result, parse_options, pg_text
from vecgres.sql.range_query import execute_range, plan_range
from vecgres.sql.topk import TopKShape, execute_plan, plan_for
from vecgres.sql.topk_nested import plan_nested, rewrite
from vecgres.vector.text import format_vector

# the engine's Session: sql/ may not import engine (layers), so it is duck-typed here
Session_ = Any


def explain(session: Session_, ast: exp.Expr, params: Sequence[object]) -> Result:
    text = ast.expression.name if isinstance(ast.expression, exp.Expr) else str(ast.expression)
    opts, sql = parse_options(text)
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
        nested = _explain_nested(session, bound, params, analyze, started)
        if nested is None:
            return explain_statement(session, query, opts, params, started)
        return lines_result(nested, opts)
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
    lines = _lines(plan, shape, name, reports, rows, analyze, (done - planned) * 1000)
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
    session: Session_, bound: BoundQuery, params: Sequence[object], analyze: bool, started: float
) -> list[str] | None:
    """A statement whose subqueries or CTEs are top-k searches: DuckDB runs the rest
    (``Custom Scan (DuckDB)``, as PostgreSQL names an extension's node) on their
    results, and each search is shown under it as PostgreSQL shows a CTE or subquery."""
    _root, searches = plan_nested(session, bound, params)
    if not searches:
        return None
    planned = time.perf_counter()
    rows = 0
    if analyze:
        snap = session.db.snapshot()
        rewritten = rewrite(session, bound, params, snap)
        if rewritten is not None:
            searches = rewritten.searches
            session._register_tables(bound.tables, snap)
            sql = rewritten.register(session.duck)
        else:  # vecgres.enable_ann = off: DuckDB runs every search exactly
            session._register_tables(bound.tables, snap)
            sql = bound.render(params)
        try:
            rows = session.duck.arrow(sql).num_rows
        finally:
            session.duck.clear()
    done = time.perf_counter()
    ms = (done - planned) * 1000
    lines = [
        "Custom Scan (DuckDB)"
        + (f" (actual time=0.000..{ms:.3f} rows={rows} loops=1)" if analyze else "")
    ]
    for search in searches:
        name = search.sub.tables[search.shape.rel].name
        run = search.run
        reports = run.segments if run is not None else None
        found_rows = 0
        if run is not None:
            batches = list(run.batches)
            run.batches = iter(batches)
            found_rows = sum(b.num_rows for b in batches)
        inner = _lines(
            search.plan, search.shape, name, reports, found_rows, analyze and run is not None, ms
        )
        lines.append(f"  {search.label}")
        lines.append(f"    ->  {inner[0]}")
        lines.extend(f"        {text}" for text in inner[1:])
    lines.append(f"Planning Time: {(planned - started) * 1000:.3f} ms")
    if analyze:
        lines.append(f"Execution Time: {ms:.3f} ms")
    return lines


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
) -> list[str]:
    actual = f" (actual time=0.000..{ms:.3f} rows={rows} loops=1)" if analyze else ""
    rel = name if shape.alias in (shape.rel, name) else f"{name} {shape.alias}"
    shown_type = expression_type(plan.key_type) if ">" in plan.key_type else plan.key_type
    if plan.query_text is not None:  # bit and sparsevec queries keep their text
        shown = f"'{plan.query_text}'::{shown_type}"
    else:
        shown = f"'{format_vector(plan.query)}'::{shown_type}"
    key = shape.column
    if shape.expression is not None:  # an expression key: (v)::halfvec(3)
        key = shape.expression[1]
    order = f"({key} {OPERATOR_SYMBOL[plan.metric]} {shown})"
    where = _pg_text(shape.where) if shape.where is not None else None
    scanned = sum(r.rows for r in reports) if reports is not None else 0
    scan_actual = f" (actual time=0.000..{ms:.3f} rows={scanned} loops=1)" if analyze else ""
    out = [f"Limit{actual}"]
    if plan.index is not None:
        out.append(f"  ->  Index Scan using {plan.index.name} on {rel}{actual}")
        out.append(f"        Order By: {order}")
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
        out.append(f"        Sort Key: ({order})")
        out.append(f"        ->  Seq Scan on {rel}{scan_actual}")
        if where:
            out.append(f"              Filter: {where}")
        indent = "              "
    if reports is not None:
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
