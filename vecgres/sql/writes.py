"""INSERT, UPDATE and DELETE: rows computed by DuckDB, checked here, buffered in the transaction."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa
from sqlglot import exp

from vecgres import errors
from vecgres.codec.arrow import arrow_type
from vecgres.executor.duck import raise_sql
from vecgres.executor.keys import unique_violation
from vecgres.executor.relation import ROWID, storage_schema
from vecgres.result import ColumnInfo, Result
from vecgres.sql.bind import BoundQuery, bind_query, expr_type, rel_name
from vecgres.sql.dialect import DIALECT
from vecgres.sql.typemap import duck_type
from vecgres.types import SqlType

if TYPE_CHECKING:
    from vecgres.catalog.model import Column, Table
    from vecgres.engine import Session

SRC = "__src"


def _target(session: Session, node: exp.Expr) -> tuple[Table, str]:
    table_node = node.this if isinstance(node, exp.Schema) else node
    if not isinstance(table_node, exp.Table):
        raise errors.SyntaxError_("syntax error: expected a table name")
    table = session._catalog().resolve_table(
        table_node.name, table_node.db or None, session.settings.search_path()
    )
    if table.kind != "r":
        raise errors.FeatureNotSupported(
            f'cannot change view "{table.name}"',
            detail="Views are not automatically updatable yet.",
        )
    return table, table_node.alias_or_name


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _conversion(col: Column, src_expr: str, src_type: str, table: Table) -> str:
    """DuckDB SQL that turns ``src_expr`` (of DuckDB type ``src_type``) into ``col``'s type."""
    t = col.type
    if t.name == "vector" and not t.is_array:
        up = src_type.upper()
        if up in ("VARCHAR", "JSON", '"NULL"', "NULL"):
            return f"pgv_vector_in(CAST({src_expr} AS VARCHAR), {t.typmod})"
        if "[" in up:
            return f"pgv_check_typmod(CAST({src_expr} AS FLOAT[]), {t.typmod})"
        raise errors.DatatypeMismatch(
            f'column "{col.name}" is of type {t} but expression is of type {src_type.lower()}',
            hint="You will need to rewrite or cast the expression.",
        )
    target = duck_type(t)
    expr = f"CAST({src_expr} AS {target})"
    if t.name in ("character varying", "character") and t.typmod >= 4 and not t.is_array:
        n = t.typmod - 4
        label = "character varying" if t.name == "character varying" else "character"
        err = raise_sql(errors.StringDataRightTruncation(f"value too long for type {label}({n})"))
        # PostgreSQL trims trailing spaces that do not fit instead of failing
        pad = ", ' '" if t.name == "character" else ""  # DuckDB's rpad needs the fill
        expr = (
            f"CASE WHEN length(rtrim({expr}, ' ')) > {n} THEN {err} "
            f"ELSE {'rpad' if t.name == 'character' else 'left'}({expr}, {n}{pad}) END"
        )
        if t.name == "character":
            expr = f"CASE WHEN {src_expr} IS NULL THEN NULL ELSE {expr} END"
    return expr


def _default_sql(session: Session, col: Column) -> str:
    if col.default is None:
        return f"CAST(NULL AS {duck_type(col.type)})"
    parsed = session._parse_one(f"SELECT {col.default}")
    bound = bind_query(parsed, session._bind_context(), session._parse_view)
    assert isinstance(bound.ast, exp.Select)
    # the expression itself (not a scalar subquery), so volatile defaults run once per row
    expr = bound.ast.expressions[0]
    if isinstance(expr, exp.Alias):
        expr = expr.this
    return expr.sql(dialect="duckdb")


def _prepare_rows(
    session: Session,
    table: Table,
    columns: list[Column],
    source: pa.Table,
    *,
    fill_defaults: bool,
) -> pa.Table:
    """Source rows -> a table with every column of ``table`` in its storage type (no row ids)."""
    duck = session.duck
    duck.con.register(SRC, source)
    try:
        types = [str(t) for t in duck.con.sql(f"SELECT * FROM {SRC} LIMIT 0").types]
        provided = {col.name: index for index, col in enumerate(columns)}
        exprs = []
        for col in table.columns:
            if col.name in provided:
                index = provided[col.name]
                src = _q(source.schema.names[index])
                exprs.append(f"{_conversion(col, src, types[index], table)} AS {_q(col.name)}")
            elif fill_defaults:
                exprs.append(f"{_default_sql(session, col)} AS {_q(col.name)}")
            else:
                raise errors.InternalError(f"column {col.name} missing")
        out = duck.arrow(f"SELECT {', '.join(exprs)} FROM {SRC}")
    finally:
        duck.con.unregister(SRC)
    _check_not_null(table, out)
    schema = pa.schema([pa.field(col.name, arrow_type(col.type)) for col in table.columns])
    try:
        return out.cast(schema)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
        raise errors.DatatypeMismatch(f"cannot store value: {exc}") from None


def _check_not_null(table: Table, rows: pa.Table) -> None:
    for col in table.columns:
        if col.not_null and rows.column(col.name).null_count:
            raise errors.NotNullViolation(
                f'null value in column "{col.name}" of relation "{table.name}" violates '
                "not-null constraint"
            )


def _allocate(session: Session, table: Table, rows: pa.Table) -> pa.RecordBatch:
    """Storage batch: row ids allocated, fields renamed to column ids."""
    assert session.txn is not None
    pending = session.txn.writes(table.oid)
    start = session.db.store.next_rowid(table.oid)
    for batch in pending.inserts:
        if batch.num_rows:
            start = max(start, int(batch.column(0).to_numpy()[-1]) + 1)
    rowids = pa.array(np.arange(start, start + rows.num_rows, dtype=np.int64))
    arrays = [rowids, *rows.columns]
    batch = pa.Table.from_arrays(arrays, schema=storage_schema(table)).combine_chunks()
    return (
        batch.to_batches()[0]
        if batch.num_rows
        else pa.RecordBatch.from_pylist([], schema=storage_schema(table))
    )


def _returning(
    session: Session,
    ast: exp.Expr,
    table: Table,
    alias: str,
    rows: pa.Table,
    params: Sequence[object],
) -> Result:
    returning = ast.args.get("returning")
    if returning is None:
        return Result(None, None, "")
    bound = _returning_query(session, ast, table, alias)
    data = rows
    if ROWID not in data.schema.names:
        data = data.add_column(0, ROWID, pa.array(np.zeros(rows.num_rows, dtype=np.int64)))
    session.duck.register(rel_name(table), data, False)
    try:
        result = session.duck.arrow(bound.render(params))
    finally:
        session.duck.clear()
    cols = returning_columns(session, ast, bound)
    return Result(cols, iter(result.to_batches()), "")


def _returning_query(session: Session, ast: exp.Expr, table: Table, alias: str) -> BoundQuery:
    returning = ast.args["returning"]
    query = exp.select(*[e.copy() for e in returning.expressions]).from_(
        exp.Table(
            this=exp.to_identifier(table.name),
            db=exp.to_identifier(table.schema),
            alias=exp.TableAlias(this=exp.to_identifier(alias)),
        )
    )
    return bind_query(query, session._bind_context(), session._parse_view)


def returning_columns(
    session: Session, ast: exp.Expr, bound: BoundQuery | None = None
) -> list[ColumnInfo]:
    table_node = ast.this
    if isinstance(ast, exp.Insert):
        table, alias = _target(session, ast.this)
    else:
        table, alias = _target(session, table_node)
    bound = bound or _returning_query(session, ast, table, alias)
    return [
        ColumnInfo(n, t or SqlType("text"), s[0], s[1])
        for n, t, s in zip(
            bound.output_names, bound.output_types, bound.output_sources, strict=True
        )
    ]


def infer_params(session: Session, ast: exp.Expr, param_types: list[SqlType]) -> None:
    """Types of $n in INSERT VALUES and UPDATE SET from their target columns."""
    if isinstance(ast, exp.Insert):
        table, _ = _target(session, ast.this)
        columns = _insert_columns(ast, table)
        source = ast.expression
        if isinstance(source, exp.Values):
            for row in source.expressions:
                for index, value in enumerate(row.expressions):
                    if isinstance(value, exp.Parameter) and index < len(columns):
                        number = int(value.this.this) - 1
                        if number < len(param_types) and param_types[number].name == "text":
                            param_types[number] = columns[index].type
    elif isinstance(ast, exp.Update):
        table, _ = _target(session, ast.this)
        for assign in ast.expressions:
            if isinstance(assign, exp.EQ) and isinstance(assign.expression, exp.Parameter):
                col = table.column(assign.this.name)
                number = int(assign.expression.this.this) - 1
                if col is not None and number < len(param_types):
                    param_types[number] = col.type
    where = ast.args.get("where")
    if where is not None:
        table, alias = _target(session, ast.this if not isinstance(ast, exp.Insert) else ast.this)
        types = {alias: table}
        for node in where.find_all(exp.Parameter):
            parent = node.parent
            if isinstance(parent, exp.Binary):
                other = parent.expression if parent.this is node else parent.this
                t = expr_type(other, types, []) if isinstance(other, exp.Column) else None
                if t is None and isinstance(other, exp.Column):
                    col = table.column(other.name)
                    t = col.type if col is not None else None
                number = int(node.this.this) - 1
                if t is not None and number < len(param_types):
                    param_types[number] = t


def _insert_columns(ast: exp.Insert, table: Table) -> list[Column]:
    target = ast.this
    if isinstance(target, exp.Schema) and target.expressions:
        cols = []
        for ident in target.expressions:
            col = table.column(ident.name)
            if col is None:
                raise errors.UndefinedColumn(
                    f'column "{ident.name}" of relation "{table.name}" does not exist'
                )
            if col in cols:
                raise errors.DuplicateColumn(f'column "{col.name}" specified more than once')
            cols.append(col)
        return cols
    return list(table.columns)


def _values_with_defaults(session: Session, source: exp.Values, columns: list[Column]) -> exp.Expr:
    """VALUES rows with DEFAULT replaced by each column's default expression."""
    rows = []
    for row in source.expressions:
        values = list(row.expressions)
        if len(values) > len(columns):
            raise errors.SyntaxError_("INSERT has more expressions than target columns")
        new_values = []
        for index, value in enumerate(values):
            if (
                (isinstance(value, exp.Var)
                and value.name.upper() == "DEFAULT")
                or (isinstance(value, exp.Column)
                and value.name.upper() == "DEFAULT"
                and not value.table)
            ):
                col = columns[index]
                new_values.append(
                    session._parse_one(f"SELECT {col.default or 'NULL'}").expressions[0]
                )
            else:
                new_values.append(value)
        if len(values) < len(columns):
            for col in columns[len(values) :]:
                new_values.append(
                    session._parse_one(f"SELECT {col.default or 'NULL'}").expressions[0]
                )
        rows.append(exp.Tuple(expressions=new_values))
    names = [f"v{i}" for i in range(len(columns))]
    return exp.select(*[exp.column(n) for n in names]).from_(
        exp.Values(
            expressions=rows,
            alias=exp.TableAlias(
                this=exp.to_identifier("v"), columns=[exp.to_identifier(n) for n in names]
            ),
        )
    )


def run_insert(
    session: Session, ast: exp.Insert, params: Sequence[object], param_types: list[SqlType]
) -> Result:
    table, alias = _target(session, ast.this)
    session.lock_table(table)
    columns = _insert_columns(ast, table)
    source = ast.expression
    if isinstance(source, exp.Values):
        query = _values_with_defaults(session, source, columns)
    elif isinstance(source, exp.Query):
        query = source
    elif source is None:
        query = exp.select(*[exp.null() for _ in columns]) if False else None
        columns = []
        query = exp.select(exp.Literal.number(1).as_("__one"))
    else:
        raise errors.FeatureNotSupported(f"INSERT source {source.key} is not supported")
    bound = bind_query(query, session._bind_context(), session._parse_view, param_types)
    snap = session.db.snapshot()
    session._register_tables(bound.tables, snap)
    try:
        src = session.duck.arrow(bound.render(params))
    finally:
        session.duck.clear()
    if columns and src.num_columns != len(columns):
        if src.num_columns > len(columns):
            raise errors.SyntaxError_("INSERT has more expressions than target columns")
        raise errors.SyntaxError_("INSERT has more target columns than expressions")
    if not columns:
        src = src.drop_columns(["__one"])
    src = src.rename_columns([f"s{i}" for i in range(src.num_columns)])
    rows = _prepare_rows(session, table, columns, src, fill_defaults=True)
    assert session.txn is not None
    pending = session.txn.writes(table.oid)
    conflict = ast.args.get("conflict")
    replaced = np.empty(0, dtype=np.int64)
    updated: pa.Table | None = None
    if conflict is not None:
        rows, replaced, updated = _on_conflict(session, table, alias, conflict, rows, params)
    session.db.keys.check(table, rows, pending, replaced)
    batch = _allocate(session, table, rows)
    if replaced.size:
        pending.deletes.append(replaced)
    pending.inserts.append(batch)
    count = rows.num_rows
    all_rows = pa.Table.from_batches([batch]).rename_columns([ROWID, *rows.schema.names])
    if updated is not None and updated.num_rows:
        upd_batch = _allocate(session, table, updated)
        pending.inserts.append(upd_batch)
        count += updated.num_rows
        all_rows = pa.concat_tables(
            [
                all_rows,
                pa.Table.from_batches([upd_batch]).rename_columns([ROWID, *updated.schema.names]),
            ]
        )
    result = _returning(session, ast, table, alias, all_rows, params)
    result._tag = f"INSERT 0 {count}"
    return result


def _on_conflict(
    session: Session,
    table: Table,
    alias: str,
    conflict: exp.OnConflict,
    rows: pa.Table,
    params: Sequence[object],
) -> tuple[pa.Table, np.ndarray, pa.Table | None]:
    assert session.txn is not None
    pending = session.txn.writes(table.oid)
    keys_node = conflict.args.get("conflict_keys") or []
    key_names = [(k.this if isinstance(k, exp.Ordered) else k).name for k in keys_node]
    index = None
    for candidate in table.unique_indexes:
        if not key_names or sorted(candidate.columns) == sorted(key_names):
            index = candidate
            break
    if index is None:
        raise errors.InvalidColumnReference(
            "there is no unique or exclusion constraint matching the ON CONFLICT specification"
        )
    cols = [rows.column(name).to_pylist() for name in index.columns]
    keys = cols[0] if len(cols) == 1 else list(zip(*cols, strict=True))
    existing = session.db.keys.conflicts(table, index, keys, pending)
    seen: set[Any] = set()
    fresh = []
    hits: list[tuple[int, int]] = []
    for pos, (key, rowid) in enumerate(zip(keys, existing, strict=True)):
        if key in seen and key is not None:
            if conflict.args.get("action") and "UPDATE" in str(conflict.args.get("action")).upper():
                raise errors.CardinalityViolation(
                    "ON CONFLICT DO UPDATE command cannot affect row a second time",
                    hint="Ensure that no rows proposed for insertion within the same command "
                    "have duplicate constrained values.",
                )
        if rowid is None:
            fresh.append(pos)
            if key is not None:
                seen.add(key)
        else:
            hits.append((pos, rowid))
    action = conflict.args.get("action")
    do_nothing = action is not None and "NOTHING" in action.name.upper()
    new_rows = rows.take(pa.array(fresh, pa.int64()))
    # a fresh row may still collide with another fresh row of the same statement
    if do_nothing or not hits:
        return (
            _dedupe(new_rows, index.columns) if do_nothing else new_rows,
            np.empty(0, dtype=np.int64),
            None,
        )
    # DO UPDATE SET ... [WHERE ...]: evaluate over the existing rows joined with EXCLUDED
    excluded = rows.take(pa.array([p for p, _ in hits], pa.int64()))
    old_rowids = np.array([r for _, r in hits], dtype=np.int64)
    updated = _conflict_update(session, table, alias, conflict, excluded, old_rowids, params)
    return new_rows, updated[1], updated[0]


def _dedupe(rows: pa.Table, key_cols: list[str]) -> pa.Table:
    cols = [rows.column(name).to_pylist() for name in key_cols]
    keys = cols[0] if len(cols) == 1 else list(zip(*cols, strict=True))
    seen: set[Any] = set()
    keep = []
    for pos, key in enumerate(keys):
        if key is None or key not in seen:
            keep.append(pos)
            seen.add(key)
    return rows.take(pa.array(keep, pa.int64()))


def _conflict_update(
    session: Session,
    table: Table,
    alias: str,
    conflict: exp.OnConflict,
    excluded: pa.Table,
    old_rowids: np.ndarray,
    params: Sequence[object],
) -> tuple[pa.Table, np.ndarray]:
    sets = conflict.args.get("expressions") or []
    assignments: dict[str, exp.Expr] = {}
    for assign in sets:
        assignments[assign.this.name] = assign.expression
    where = conflict.args.get("where")
    projections: list[exp.Expr] = [exp.alias_(exp.column(ROWID, table=alias), "__rowid")]
    for col in table.columns:
        value = assignments.get(col.name, exp.column(col.name, table=alias))
        projections.append(exp.alias_(value.copy(), col.name))
    ex_table = exp.Table(
        this=exp.to_identifier("__excluded_src"),
        alias=exp.TableAlias(this=exp.to_identifier("excluded")),
    )
    query = (
        exp.select(*projections)
        .from_(
            exp.Table(
                this=exp.to_identifier(table.name),
                db=exp.to_identifier(table.schema),
                alias=exp.TableAlias(this=exp.to_identifier(alias)),
            )
        )
        .join(
            ex_table,
            on=exp.EQ(
                this=exp.column(ROWID, table=alias),
                expression=exp.column("__target", table="excluded"),
            ),
        )
    )
    if where is not None:
        query = query.where(where.this.copy() if isinstance(where, exp.Where) else where.copy())
    # bind with a CTE-like stand-in so "excluded" resolves: register it as a relation
    ex_data = excluded.append_column("__target", pa.array(old_rowids))
    bound = _bind_with_extra(session, query, {"__excluded_src": ex_data}, table)
    snap = session.db.snapshot()
    session._register_tables(bound.tables, snap)
    session.duck.con.register("__excluded_src", ex_data)
    try:
        out = session.duck.arrow(bound.render(params))
    finally:
        session.duck.clear()
        session.duck.con.unregister("__excluded_src")
    deleted = out.column(0).to_numpy()
    src = out.drop_columns([out.schema.names[0]])
    src = src.rename_columns([f"s{i}" for i in range(src.num_columns)])
    rows = _prepare_rows(session, table, list(table.columns), src, fill_defaults=False)
    return rows, deleted.astype(np.int64)


def _bind_with_extra(
    session: Session, query: exp.Expr, extra: dict[str, pa.Table], table: Table
) -> BoundQuery:
    """Bind a query that also reads ad-hoc Arrow relations (EXCLUDED)."""
    from vecgres.catalog.model import Column as CatColumn
    from vecgres.catalog.model import Table as CatTable

    cat = session._catalog().edit()
    for name, data in extra.items():
        cols = [CatColumn(i + 1, n, SqlType("text")) for i, n in enumerate(data.schema.names)]
        for col in cols:
            real = table.column(col.name)
            if real is not None:
                col.type = real.type
        fake = CatTable(-1, "pg_temp", name, cols, len(cols) + 1)
        cat.tables[-1] = fake
    ctx = session._bind_context()
    ctx.catalog = cat
    ctx.search_path = [*ctx.search_path, "pg_temp"]
    bound = bind_query(query, ctx, session._parse_view)
    # the stand-in is registered by the caller under its own name
    for name in list(bound.tables):
        if bound.tables[name].oid == -1:
            del bound.tables[name]
            for node in bound.ast.find_all(exp.Table):
                if node.name == name:
                    node.set("this", exp.to_identifier("__excluded_src"))
    return bound


def _select_rows(
    session: Session,
    ast: exp.Expr,
    table: Table,
    alias: str,
    projections: list[exp.Expr],
    params: Sequence[object],
    param_types: list[SqlType],
) -> pa.Table:
    query = exp.select(*projections).from_(
        exp.Table(
            this=exp.to_identifier(table.name),
            db=exp.to_identifier(table.schema),
            alias=exp.TableAlias(this=exp.to_identifier(alias)),
        )
    )
    sources: list[exp.Expr] = []
    from_ = ast.args.get("from_")
    if isinstance(from_, exp.From):
        sources.append(from_.this)
        sources.extend(j.this for j in from_.args.get("joins") or [])
    using = ast.args.get("using")
    if isinstance(using, list):
        sources.extend(using)
    for src in sources:
        query = query.join(src.copy(), join_type="cross")
    where = ast.args.get("where")
    if where is not None:
        query = query.where(where.this.copy())
    bound = bind_query(query, session._bind_context(), session._parse_view, param_types)
    snap = session.db.snapshot()
    session._register_tables(bound.tables, snap)
    try:
        return session.duck.arrow(bound.render(params))
    finally:
        session.duck.clear()


def run_delete(
    session: Session, ast: exp.Delete, params: Sequence[object], param_types: list[SqlType]
) -> Result:
    table, alias = _target(session, ast.this)
    session.lock_table(table)
    projections: list[exp.Expr] = [exp.alias_(exp.column(ROWID, table=alias), "__rowid")]
    projections += [exp.column(col.name, table=alias) for col in table.columns]
    rows = _select_rows(session, ast, table, alias, projections, params, param_types)
    rowids = np.unique(rows.column(0).to_numpy().astype(np.int64))
    assert session.txn is not None
    if rowids.size:
        session.txn.writes(table.oid).deletes.append(rowids)
    rows = rows.rename_columns([ROWID, *(c.name for c in table.columns)])
    result = _returning(session, ast, table, alias, rows, params)
    result._tag = f"DELETE {rowids.size}"
    return result


def run_update(
    session: Session, ast: exp.Update, params: Sequence[object], param_types: list[SqlType]
) -> Result:
    table, alias = _target(session, ast.this)
    session.lock_table(table)
    assignments: dict[str, exp.Expr] = {}
    for assign in ast.expressions:
        target = assign.this
        name = target.name
        if table.column(name) is None:
            raise errors.UndefinedColumn(
                f'column "{name}" of relation "{table.name}" does not exist'
            )
        assignments[name] = assign.expression
    projections: list[exp.Expr] = [exp.alias_(exp.column(ROWID, table=alias), "__rowid")]
    for col in table.columns:
        value = assignments.get(col.name)
        if value is None:
            projections.append(exp.alias_(exp.column(col.name, table=alias), col.name))
        elif (
            isinstance(value, exp.Var | exp.Column)
            and value.name.upper() == "DEFAULT"
            and not getattr(value, "table", "")
        ):
            parsed = session._parse_one(f"SELECT {col.default or 'NULL'}").expressions[0]
            projections.append(exp.alias_(parsed, col.name))
        else:
            projections.append(exp.alias_(value.copy(), col.name))
    out = _select_rows(session, ast, table, alias, projections, params, param_types)
    old = out.column(0).to_numpy().astype(np.int64)
    if np.unique(old).size != old.size:
        # a joined UPDATE matched a row twice: PostgreSQL updates it once
        _, first = np.unique(old, return_index=True)
        out = out.take(pa.array(np.sort(first)))
        old = out.column(0).to_numpy().astype(np.int64)
    src = out.drop_columns([out.schema.names[0]])
    src = src.rename_columns([f"s{i}" for i in range(src.num_columns)])
    rows = _prepare_rows(session, table, list(table.columns), src, fill_defaults=False)
    assert session.txn is not None
    pending = session.txn.writes(table.oid)
    session.db.keys.check(table, rows, pending, old)
    if old.size:
        pending.deletes.append(old)
        batch = _allocate(session, table, rows)
        pending.inserts.append(batch)
        ret_rows = pa.Table.from_batches([batch]).rename_columns([ROWID, *rows.schema.names])
    else:
        ret_rows = rows
    result = _returning(session, ast, table, alias, ret_rows, params)
    result._tag = f"UPDATE {old.size}"
    return result


__all__ = ["DIALECT", "run_delete", "run_insert", "run_update", "unique_violation"]
