"""EXPLAIN [ANALYZE] of any statement: the plan DuckDB runs, in PostgreSQL's words.

Queries are bound and rendered as for execution, their tables registered, and
DuckDB asked for ``EXPLAIN (FORMAT json)`` (with ANALYZE: ``EXPLAIN ANALYZE``,
which runs the query and profiles each operator); ``planner/duckplan.py`` turns
that tree into PostgreSQL's nodes. INSERT/UPDATE/DELETE show ``Insert on t``
(``Update``, ``Delete``) over the plan of the rows they read (the VALUES or
SELECT, or the target's rows passing WHERE); with ANALYZE they run, as in
PostgreSQL. Options are PostgreSQL's, with its errors; FORMAT TEXT and JSON.
No costs are printed (DuckDB has no cost model): see ``planner/pgplan.py``.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Sequence
from typing import Any

import numpy as np
import pyarrow as pa
from sqlglot import exp

from vecgres import errors
from vecgres.config import GUCS
from vecgres.planner.duckplan import Deparse, Relation, translate
from vecgres.planner.pgplan import (
    Actual,
    ExplainOptions,
    PlanNode,
    fill_outputs,
    parse_text,
    render_json,
    render_text,
)
from vecgres.result import ColumnInfo, Result
from vecgres.sql.bind import BoundQuery, bind_query
from vecgres.sql.dialect import DUCK
from vecgres.types import SqlType
from vecgres.vector.text import format_vector

Session_ = Any  # the engine's Session (sql/ may not import the engine)

_BOOL_WORDS = {"true": True, "on": True, "1": True, "yes": True}
_BOOL_WORDS |= {"false": False, "off": False, "0": False, "no": False}
_OPTIONS_RE = re.compile(r"^\s*\(((?:[^()']|'[^']*')*)\)\s*(.*)$", re.S)
_LEGACY_RE = re.compile(r"^\s*((?:(?:ANALYZE|ANALYSE|VERBOSE)\s+)*)(.*)$", re.S | re.I)


def parse_options(text: str) -> tuple[ExplainOptions, str]:
    """EXPLAIN's options and the statement it explains, with PostgreSQL's errors."""
    opts = ExplainOptions()
    m = _OPTIONS_RE.match(text)
    if m is not None:
        for option in m.group(1).split(","):
            words = option.strip().split(None, 1)
            if not words:
                raise errors.SyntaxError_('syntax error at or near ")"')
            name = words[0].lower()
            value = words[1].strip().strip("'").lower() if len(words) > 1 else None
            _set_option(opts, name, value)
        rest = m.group(2)
    else:
        m2 = _LEGACY_RE.match(text)
        assert m2 is not None
        words = m2.group(1).lower().split()
        opts.analyze = any(w in ("analyze", "analyse") for w in words)
        opts.verbose = "verbose" in words
        rest = m2.group(2)
    if opts.timing is not None and opts.timing and not opts.analyze:
        raise errors.InvalidParameterValue("EXPLAIN option TIMING requires ANALYZE")
    return opts, rest


# the parameters EXPLAIN (SETTINGS) reports when changed: PostgreSQL's planner
# parameters (GUC_EXPLAIN) that vecgres has, and the ANN search's own
_PLANNER_SETTINGS = (
    "enable_bitmapscan",
    "enable_indexscan",
    "enable_seqscan",
    "hnsw.ef_search",
    "hnsw.iterative_scan",
    "hnsw.max_scan_tuples",
    "hnsw.scan_mem_multiplier",
    "ivfflat.iterative_scan",
    "ivfflat.max_probes",
    "ivfflat.probes",
    "jit",
    "max_parallel_workers_per_gather",
    "search_path",
    "vecgres.enable_ann",
    "work_mem",
)


def changed_settings(settings: Any) -> list[tuple[str, str]]:
    """(name, value as SHOW prints it) of each planner parameter whose value is not
    its default, in PostgreSQL's order (by name)."""
    out = []
    for name in _PLANNER_SETTINGS:
        guc = GUCS[name]
        value = settings.get(name)
        if guc.kind in ("int", "real"):
            try:
                same = float(value) == float(guc.default)
            except ValueError:
                same = value == guc.default
        else:
            same = value == guc.default
        if not same:
            out.append((name, settings.show(name)[1]))
    return out


def _set_option(opts: ExplainOptions, name: str, value: str | None) -> None:
    if name == "format":
        if value is None:
            raise errors.SyntaxError_("format requires a parameter")
        if value in ("xml", "yaml"):
            raise errors.FeatureNotSupported(f"EXPLAIN (FORMAT {value.upper()}) is not supported")
        if value not in ("text", "json"):
            raise errors.InvalidParameterValue(
                f'unrecognized value for EXPLAIN option "format": "{value}"'
            )
        opts.format = value
        return
    fields = {
        "analyze": "analyze",
        "analyse": "analyze",
        "verbose": "verbose",
        "costs": "costs",
        "buffers": "buffers",
        "timing": "timing",
        "summary": "summary",
        "settings": "settings",
        "wal": "",
    }
    if name not in fields:
        raise errors.SyntaxError_(f'unrecognized EXPLAIN option "{name}"')
    flag = True if value is None else _BOOL_WORDS.get(value)
    if flag is None:
        raise errors.SyntaxError_(f"{name} requires a Boolean value")
    if fields[name]:
        setattr(opts, fields[name], flag)


# --- output -------------------------------------------------------------------------


def plan_result(
    root: PlanNode,
    opts: ExplainOptions,
    planning_ms: float | None,
    execution_ms: float | None,
) -> Result:
    """The EXPLAIN result: one text column ``QUERY PLAN``."""
    planning = planning_ms if opts.summarized else None
    execution = execution_ms if opts.summarized and opts.analyze else None
    if opts.verbose:
        fill_outputs(root)
    if opts.format == "json":
        lines = [render_json(root, opts, planning, execution)]
    else:
        lines = render_text(root, opts)
        if opts.settings and opts.changed:
            shown = ", ".join(f"{name} = '{value}'" for name, value in opts.changed)
            lines.append(f"Settings: {shown}")
        if planning is not None:
            lines.append(f"Planning Time: {planning:.3f} ms")
        if execution is not None:
            lines.append(f"Execution Time: {execution:.3f} ms")
    batch = pa.record_batch([pa.array(lines, pa.string())], names=["QUERY PLAN"])
    return Result([ColumnInfo("QUERY PLAN", SqlType("text"))], iter([batch]), "EXPLAIN")


def lines_result(lines: list[str], opts: ExplainOptions) -> Result:
    """EXPLAIN of a top-k search, whose plan is printed as lines: the options applied."""
    planning = execution = None
    body = []
    for line in lines:
        if line.startswith("Planning Time: "):
            planning = float(line.split()[2])
        elif line.startswith("Execution Time: "):
            execution = float(line.split()[2])
        else:
            body.append(line)
    if execution is None and opts.summarized:
        planning = planning or 0.0
    return plan_result(parse_text(body), opts, planning, execution)


# --- expressions --------------------------------------------------------------------

_OPERATORS = {
    "pgv_l2_distance": ("<->", "vector"),
    "pgv_cosine_distance": ("<=>", "vector"),
    "pgv_negative_inner_product": ("<#>", "vector"),
    "pgv_l1_distance": ("<+>", "vector"),
    "pgv_halfvec_cosine_distance": ("<=>", "halfvec"),
    "pgv_sparsevec_cosine_distance": ("<=>", "sparsevec"),
    "pgv_hamming_distance": ("<~>", "bit"),
    "pgv_jaccard_distance": ("<%>", "bit"),
}


# DuckDB's rewrites of LIKE patterns: back to PostgreSQL's ``~~``
_LIKE = {"prefix": "{}%", "suffix": "%{}", "contains": "%{}%"}


def _vector_text(node: exp.Expr, shown_type: str) -> str | None:
    """A vector constant as PostgreSQL prints it: ``'[1,2,3]'::vector``."""
    while isinstance(node, exp.Cast | exp.Paren):
        node = node.this
    if isinstance(node, exp.Array):
        try:
            values = [float(v.sql(dialect=DUCK)) for v in node.expressions]
        except ValueError:
            return None
        return f"'{format_vector(np.asarray(values, dtype=np.float32))}'::{shown_type}"
    if isinstance(node, exp.Literal) and node.is_string:
        text = node.this
        if text.startswith("[") and shown_type != "bit":
            try:
                values = [float(v) for v in text.strip("[]").split(",") if v.strip()]
            except ValueError:
                return f"'{text}'::{shown_type}"
            return f"'{format_vector(np.asarray(values, dtype=np.float32))}'::{shown_type}"
        return f"'{text}'::{shown_type}"
    return None


def _pg_form(node: exp.Expr) -> exp.Expr:
    """The bound (DuckDB) form of an expression turned back into the user's."""
    if isinstance(node, exp.Anonymous | exp.Func) and not isinstance(node, exp.Cast):
        name = (node.name if isinstance(node, exp.Anonymous) else node.sql_name()).lower()
        if (name in _OPERATORS and len(node.expressions) == 2) or (
            name in _OPERATORS and node.args.get("this") is not None
        ):
            args = node.expressions if isinstance(node, exp.Anonymous) else list(node.args.values())
            args = [a for a in args if isinstance(a, exp.Expr)]
            if len(args) == 2:
                op, shown_type = _OPERATORS[name]
                sides = []
                for arg in args:
                    shown = _vector_text(arg, shown_type)
                    if shown is None:
                        while isinstance(arg, exp.Cast) and isinstance(arg.this, exp.Column):
                            arg = arg.this
                        shown = arg.sql(dialect="postgres")
                    sides.append(shown)
                return exp.Var(this=f"({sides[0]} {op} {sides[1]})")
        if name == "count_star":
            return exp.Var(this="count(*)")
    if isinstance(node, exp.Paren) and isinstance(node.this, exp.Not | exp.Anonymous):
        inner_form = _pg_form(node.this)
        if isinstance(inner_form, exp.Var):  # already parenthesized
            return inner_form
    like = isinstance(node, exp.Anonymous) and node.name.lower() in _LIKE
    if like and len(node.expressions) == 2:
        subject, pattern = node.expressions
        if isinstance(pattern, exp.Literal) and pattern.is_string:
            text = _LIKE[node.name.lower()].format(pattern.this.replace("'", "''"))
            return exp.Var(this=f"({subject.sql(dialect='postgres')} ~~ '{text}'::text)")
    if isinstance(node, exp.Not) and isinstance(node.this, exp.Is):
        inner = node.this
        if isinstance(inner.expression, exp.Null):
            return exp.Var(this=f"({inner.this.sql(dialect='postgres')} IS NOT NULL)")
    return node


# expressions PostgreSQL prints as keywords, not as function calls
_KEYWORD_CALLS = re.compile(r"\b(coalesce|greatest|least|nullif)\(")


def pg_text(
    node: exp.Expr,
    scope: dict[str, str] | None = None,
    right_scope: dict[str, str] | None = None,
) -> str:
    """PostgreSQL's deparse of a bound or DuckDB expression: pgvector's operators, the
    user's column names, qualified by ``scope`` (column -> alias) where given."""
    copy = node.copy()
    if right_scope is not None and isinstance(copy, exp.Binary):
        _qualify(copy.left, scope or {})
        _qualify(copy.right, right_scope)
    else:
        _qualify(copy, scope or {})
    copy = copy.transform(_pg_form)
    text = str(copy.sql(dialect="postgres", normalize_functions="lower"))
    text = _KEYWORD_CALLS.sub(lambda m: m.group(1).upper() + "(", text)
    if isinstance(copy, exp.Binary):  # PostgreSQL parenthesizes every operator
        text = f"({text})"
    return text


def _qualify(node: exp.Expr, scope: dict[str, str]) -> None:
    for col in list(node.find_all(exp.Column)):
        alias = scope.get(col.name.lower(), scope.get("*"))
        col.set("table", exp.to_identifier(alias) if alias else None)


def duck_text(text: str, scope: dict[str, str], right_scope: dict[str, str] | None) -> str:
    """``pg_text`` of an expression as DuckDB's plan prints it (text left as is when it
    does not parse: DuckDB prints some internals no parser reads back)."""
    import sqlglot

    try:
        node = sqlglot.parse_one(text.replace("#", "__hash_"), read="duckdb")
    except Exception:  # sqlglot's errors vary with the input
        return text
    node = _without_visibility(node)
    if isinstance(node, exp.Column) and node.name == "__vis":
        return ""
    return pg_text(node, scope, right_scope).replace("__hash_", "#")


def _without_visibility(node: exp.Expr) -> exp.Expr:
    """The filter without the row-visibility column vecgres's views add."""

    def hidden(n: exp.Expr) -> bool:
        return isinstance(n, exp.Column) and n.name == "__vis"

    def strip(n: exp.Expr) -> exp.Expr:
        if isinstance(n, exp.And):
            if hidden(n.left):
                return n.right
            if hidden(n.right):
                return n.left
        return n

    node = node.transform(strip)
    while isinstance(node, exp.Paren) and isinstance(node.this, exp.Paren):
        node = node.this
    return node


def describe_explain(session: Session_, ast: exp.Expr) -> tuple[int, list[ColumnInfo]]:
    """(parameters of the explained statement, EXPLAIN's columns) for a prepare."""
    from vecgres.sql.bind import count_params

    text = ast.expression.name if isinstance(ast.expression, exp.Expr) else str(ast.expression)
    try:
        _opts, sql = parse_options(text)
        n = count_params(session._parse_one(sql))
    except errors.VecgresError:
        n = 0  # the statement's run reports it
    return n, [ColumnInfo("QUERY PLAN", SqlType("text"))]


# --- statements ---------------------------------------------------------------------


def explain_statement(
    session: Session_,
    statement: exp.Expr,
    opts: ExplainOptions,
    params: Sequence[object],
    started: float,
) -> Result:
    if isinstance(statement, exp.Query):
        bound = bind_query(statement, session._bind_context(), session._parse_view)
        root, run_ms = duck_plan(session, bound, params, opts)
        planning = (time.perf_counter() - started) * 1000 - run_ms
        return plan_result(root, opts, planning, run_ms)
    if isinstance(statement, exp.Insert | exp.Update | exp.Delete):
        return _explain_dml(session, statement, opts, params, started)
    raise errors.SyntaxError_(
        f'syntax error at or near "{statement.sql(dialect="postgres").split()[0]}"'
    )


def _relations(session: Session_, bound: BoundQuery, analyze: bool) -> list[Relation]:
    """The tables the query scans, aliased as PostgreSQL shows them (a table read
    twice under one name: ``t`` and ``t_1``), with their deleted rows under ANALYZE."""
    from vecgres.executor.relation import duck_names

    out = []
    seen: dict[str, int] = {}
    for node in bound.ast.find_all(exp.Table):
        table = bound.tables.get(node.name)
        if table is None:
            continue
        alias = node.alias_or_name
        n = seen.get(alias, 0)
        seen[alias] = n + 1
        hidden = _hidden_rows(session, node.name) if analyze else 0
        cols = frozenset(c.lower() for c in duck_names(table))
        physical = tuple(c.name for c in table.columns)
        name = alias if n == 0 else f"{alias}_{n}"
        out.append(Relation(table.name, name, cols, hidden, physical))
    return out


def _hidden_rows(session: Session_, name: str) -> int:
    """Rows of a registered table its visibility view hides (0 without one)."""
    try:
        out = session.duck.arrow(f'SELECT count(*) FROM "{name}__raw" WHERE NOT __vis')
    except errors.VecgresError:
        return 0
    return int(out.column(0)[0].as_py())


def duck_plan(
    session: Session_,
    bound: BoundQuery,
    params: Sequence[object],
    opts: ExplainOptions,
    registered: Sequence[tuple[Relation, pa.Table]] = (),
    sql: str | None = None,
    deparse: Deparse = duck_text,
) -> tuple[PlanNode, float]:
    """The PostgreSQL plan of ``bound`` as DuckDB plans it (and runs it, with
    ANALYZE), and the milliseconds the run took. ``registered``: relations the
    statement reads besides its tables (the results of its nested searches), shown
    as ``Seq Scan on <relation name>``; ``sql``: the statement's text when already
    rendered; ``deparse``: how DuckDB's expressions are shown."""
    if sql is None:
        sql = bound.render(params)
    session._register_tables(bound.tables, session.db.snapshot(), sql)
    began = time.perf_counter()
    rows = None
    try:
        relations = _relations(session, bound, opts.analyze)
        for relation, table in registered:
            session.duck.register(relation.name, table, False)
            relations.append(relation)
        tree = None
        if opts.analyze:
            tree = _json(session.duck.arrow("EXPLAIN ANALYZE (FORMAT json) " + sql))
            if isinstance(tree, dict) and "operator" not in tree:
                # DuckDB profiles no plan for some queries (VALUES): run it, count rows
                tree = None
                rows = session.duck.arrow(sql).num_rows
        if tree is None:
            tree = _json(session.duck.arrow("EXPLAIN (FORMAT json) " + sql))
    finally:
        session.duck.clear()
    ran = (time.perf_counter() - began) * 1000
    subqueries = [s.alias for s in bound.ast.find_all(exp.Subquery) if s.alias]
    names: dict[str, str] = {}
    keys: dict[str, str] = {}
    for select in bound.ast.find_all(exp.Select):
        for item in select.expressions:
            if isinstance(item, exp.Alias) and not isinstance(item.this, exp.Column):
                names.setdefault(item.alias, pg_text(item.this))
        for clause in ("group", "order"):
            part = select.args.get(clause)
            for col in part.find_all(exp.Column) if part is not None else ():
                if col.table:
                    keys.setdefault(col.name.lower(), col.table)
    root = translate(
        tree,
        relations,
        deparse,
        opts.analyze and rows is None,
        verbose=opts.verbose,
        subquery=subqueries[0] if len(subqueries) == 1 else "unnamed_subquery",
        names=names,
        keys=keys,
    )
    if rows is not None:
        root.actual = Actual(0.0, ran, rows)
    return root, ran


def _json(out: pa.Table) -> Any:
    return json.loads(out.column(out.num_columns - 1)[0].as_py())


def _explain_dml(
    session: Session_,
    ast: exp.Insert | exp.Update | exp.Delete,
    opts: ExplainOptions,
    params: Sequence[object],
    started: float,
) -> Result:
    target = ast.this
    if isinstance(target, exp.Schema):  # INSERT INTO t (a, b)
        target = target.this
    assert isinstance(target, exp.Table)
    kind = {exp.Insert: "Insert", exp.Update: "Update", exp.Delete: "Delete"}[type(ast)]
    alias = target.alias or None
    top = PlanNode(kind, relation=target.name, alias=alias)
    source = _source_query(ast, target)
    child: PlanNode
    run_ms = 0.0
    if source is None:
        child = PlanNode("Result")
    else:
        try:
            bound = bind_query(source, session._bind_context(), session._parse_view)
        except errors.VecgresError:
            bound = None  # VALUES with DEFAULT and the like: the node without DuckDB
        if bound is not None:
            child, run_ms = duck_plan(session, bound, params, opts)
        else:
            values = source.find(exp.Values)
            many = values is not None and len(values.expressions) > 1
            child = PlanNode("Values Scan", relation='"*VALUES*"') if many else PlanNode("Result")
    if child.node_type == "Values Scan":
        child.alias = None
    conflict = ast.args.get("conflict") if isinstance(ast, exp.Insert) else None
    if conflict is not None:
        action = "NOTHING" if conflict.args.get("nothing") else "UPDATE"
        top.details.append(("Conflict Resolution", action))
    top.children.append(child)
    planning = (time.perf_counter() - started) * 1000 - run_ms
    execution = None
    if opts.analyze:
        began = time.perf_counter()
        rows = _run_dml(session, ast, params)
        dml_ms = (time.perf_counter() - began) * 1000
        execution = run_ms + dml_ms
        returned = rows if ast.args.get("returning") is not None else 0
        top.actual = Actual(execution, execution, returned)
        if child.actual is None:  # rows made without DuckDB
            child.actual = Actual(0.0, 0.0, rows)
    return plan_result(top, opts, planning, execution)


def _source_query(ast: exp.Insert | exp.Update | exp.Delete, target: exp.Table) -> exp.Query | None:
    """The query giving the rows a DML statement writes (None: one row of constants)."""
    if isinstance(ast, exp.Insert):
        expr = ast.expression
        if isinstance(expr, exp.Values):
            if len(expr.expressions) == 1:
                return None
            return exp.select("*").from_(expr.copy())
        return expr.copy() if isinstance(expr, exp.Query) else None
    query = exp.select("*").from_(target.copy())
    extra = ast.args.get("from") if isinstance(ast, exp.Update) else ast.args.get("using")
    if isinstance(extra, exp.From):
        query = query.join(extra.this.copy(), join_type="cross")
    elif isinstance(extra, list):
        for item in extra:
            query = query.join(item.copy(), join_type="cross")
    for join in ast.args.get("joins") or []:
        query = query.join(join.copy())
    where = ast.args.get("where")
    if where is not None:
        query = query.where(where.this.copy())
    return query


def _run_dml(
    session: Session_, ast: exp.Insert | exp.Update | exp.Delete, params: Sequence[object]
) -> int:
    """Run the statement EXPLAIN ANALYZE explains; the rows it wrote."""
    from vecgres.sql.writes import run_delete, run_insert, run_update
    from vecgres.types import UNKNOWN

    types = [UNKNOWN] * len(params)
    if isinstance(ast, exp.Insert):
        result = run_insert(session, ast, params, types)
    elif isinstance(ast, exp.Update):
        result = run_update(session, ast, params, types)
    else:
        result = run_delete(session, ast, params, types)
    for _ in result.batches():
        pass
    tag = result.command_tag.split()
    return int(tag[-1]) if tag and tag[-1].isdigit() else 0
