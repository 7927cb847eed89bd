"""INSERT, UPDATE and DELETE: rows computed by DuckDB, checked here, buffered in the transaction."""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, TypeGuard

import numpy as np
import pyarrow as pa
from sqlglot import exp

from vecgres import errors
from vecgres.codec.arrow import arrow_type, to_storage
from vecgres.executor.duck import raise_sql
from vecgres.executor.keys import unique_violation
from vecgres.executor.relation import ROWID, duck_names, storage_schema
from vecgres.index import expression as index_expression
from vecgres.index import sparse as sparse_index
from vecgres.result import ColumnInfo, Result
from vecgres.sql import foreign_keys
from vecgres.sql.bind import BoundQuery, bind_query, expr_type, literal, rel_name
from vecgres.sql.dialect import DIALECT, DUCK
from vecgres.sql.literals import typed_literal
from vecgres.sql.typemap import duck_type, sql_type, type_from_duck
from vecgres.sql.vector_arrays import (
    assign_select_literals,
    assigned_literal,
    handles,
    recheck_inputs,
)
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


def _col(name: str, table: str) -> exp.Column:
    """A column reference that keeps its exact case (catalog names are exact)."""
    # the range variable stays unquoted, as binding names it (sql/bind.py _bind_tables)
    return exp.Column(this=exp.to_identifier(name, quoted=True), table=exp.to_identifier(table))


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _conversion(col: Column, src_expr: str, src_type: str, table: Table) -> str:
    """DuckDB SQL that turns ``src_expr`` (of DuckDB type ``src_type``) into ``col``'s type."""
    t = col.type
    if t.is_array and t.element.is_vector:
        return _vector_array_conversion(col, src_expr, src_type, table)
    if t.is_vector or (t.name in ("bit", "bit varying") and not t.is_array):
        from vecgres.sql.vector_rewrite import storage_conversion

        try:
            return storage_conversion(t, src_expr, src_type)
        except errors.DatatypeMismatch as exc:
            raise errors.DatatypeMismatch(
                f'column "{col.name}" is of type {t} but expression is of type {src_type.lower()}',
                hint=exc.hint,
            ) from None
    target = duck_type(t)
    src_up = src_type.upper()
    if t.is_array and "[" not in src_up and src_up not in ("VARCHAR", "NULL", '"NULL"', "UNKNOWN"):
        shown = type_from_duck(src_type).format()
        raise errors.DatatypeMismatch(
            f'column "{col.name}" is of type {t} but expression is of type {shown}',
            hint="You will need to rewrite or cast the expression.",
        )
    expr = f"CAST({src_expr} AS {target})"
    if t.name == "jsonb" and not t.is_array:
        expr = f"vg_jsonb_in(CAST({src_expr} AS VARCHAR))"
    if t.name in ("character varying", "character") and t.typmod >= 4 and not t.is_array:
        n = t.typmod - 4
        label = "character varying" if t.name == "character varying" else "character"
        err = raise_sql(errors.StringDataRightTruncation(f"value too long for type {label}({n})"))
        # PostgreSQL trims trailing spaces that do not fit instead of failing
        fit = f"rpad({expr}, {n}, ' ')" if t.name == "character" else f"left({expr}, {n})"
        expr = f"CASE WHEN length(rtrim({expr}, ' ')) > {n} THEN {err} ELSE {fit} END"
        if t.name == "character":
            expr = f"CASE WHEN {src_expr} IS NULL THEN NULL ELSE {expr} END"
    return expr


def _vector_array_conversion(col: Column, src_expr: str, src_type: str, table: Table) -> str:
    """halfvec(n)[] / sparsevec(n)[] / vector(n)[]: each element converted (and checked)
    as a value of the element type would be."""
    from dataclasses import replace

    up = src_type.upper()
    if up.endswith("[]"):
        source, element_type = src_expr, src_type[:-2]
    else:
        # a text value: array_in, each element checked by the element's input function
        source = f"pgv_array_in(CAST({src_expr} AS VARCHAR), '{col.type.name}')"
        element_type = "VARCHAR"
    element = _conversion(replace(col, type=col.type.element), "x", element_type, table)
    return f"CAST(list_transform({source}, lambda x: {element}) AS {duck_type(col.type)})"


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
    text: str = expr.sql(dialect=DUCK)
    return text


def _prepare_rows(
    session: Session,
    table: Table,
    columns: list[Column],
    source: pa.Table,
    *,
    fill_defaults: bool,
    source_types: Sequence[SqlType | None] = (),
) -> pa.Table:
    """Source rows -> a table with every column of ``table`` in its storage type (no row ids).

    ``source_types``: the SQL types of the source columns where the binder knows
    them; DuckDB sees sparsevec as text, so pgvector's assignment casts from it
    (sparsevec → vector, halfvec) are applied from these."""
    duck = session.duck
    duck.con.register(SRC, source)
    try:
        types = [str(t) for t in duck.con.sql(f"SELECT * FROM {SRC} LIMIT 0").types]
        provided = {col.name: index for index, col in enumerate(columns)}
        exprs = []
        for col in table.columns:
            if col.name in provided:
                index = provided[col.name]
                src, src_type = _q(source.schema.names[index]), types[index]
                given = source_types[index] if index < len(source_types) else None
                if _sparse_to_dense(given, col):
                    src, src_type = f"pgv_sparsevec_to_vector({src}, -1)", "FLOAT[]"
                exprs.append(f"{_conversion(col, src, src_type, table)} AS {_q(col.name)}")
            elif fill_defaults:
                default = _default_sql(session, col)
                if col.default is not None and not col.type.is_vector:
                    # defaults are assigned to the column's type like any other value
                    default = _conversion(col, f"({default})", "UNKNOWN", table)
                exprs.append(f"{default} AS {_q(col.name)}")
            else:
                raise errors.InternalError(f"column {col.name} missing")
        out = duck.arrow(f"SELECT {', '.join(exprs)} FROM {SRC}")
    finally:
        duck.con.unregister(SRC)
    return _checked_rows(table, out)


def _sparse_to_dense(given: SqlType | None, col: Column) -> bool:
    """A sparsevec value assigned to a vector or halfvec column (pgvector's ASSIGNMENT cast)."""
    return (
        given is not None
        and given.name == "sparsevec"
        and not given.is_array
        and col.type.name in ("vector", "halfvec")
        and not col.type.is_array
    )


def _sparse_cast(value: exp.Expr, col: Column) -> bool:
    """``value`` is spelled ``….::sparsevec`` and assigned to a vector or halfvec column."""
    return isinstance(value, exp.Cast) and _sparse_to_dense(sql_type(value.to), col)


def _assignment_cast(session: Session, value: exp.Expr, col: Column) -> exp.Expr:
    """pgvector's sparsevec assignment cast, spelled out: VALUES columns and SET
    expressions carry no types the write path could read."""
    target = session._parse_one(f"SELECT NULL::{col.type.name}")
    return exp.Cast(this=value, to=target.expressions[0].to)


def _checked_rows(table: Table, out: pa.Table) -> pa.Table:
    """Converted rows, NOT NULL checked, cast to the table's Arrow types."""
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
    arrays = [
        rowids,
        *(to_storage(c, col.type) for c, col in zip(rows.columns, table.columns, strict=True)),
    ]
    batch = pa.Table.from_arrays(arrays, schema=storage_schema(table)).combine_chunks()
    if table.constraints:
        from vecgres.sql import checks

        checks.check_rows(session, table, rows, batch)
        foreign_keys.check_new_rows(session, table, rows)
    if table.indexes:
        sparse_index.check_batch(table, batch)  # pgvector's per-row index limits
        index_expression.check_batch(table, batch)  # index expressions evaluated per row
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
    if data.num_columns == len(table.columns) + 1:
        data = data.rename_columns([ROWID, *duck_names(table)])
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
    for node in ast.find_all(exp.Parameter):
        # ``$1::integer`` (SQLAlchemy with asyncpg): the cast names the parameter's type
        number = _param_number(node)
        if (
            isinstance(node.parent, exp.Cast)
            and number is not None
            and number < len(param_types)
            and param_types[number].name == "text"
        ):
            with contextlib.suppress(errors.VecgresError):
                param_types[number] = sql_type(node.parent.to)
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
        table, alias = _target(session, ast.this)
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


def _param_number(node: exp.Parameter) -> int | None:
    inner = node.this
    text = inner.this if isinstance(inner, exp.Expr) else inner
    return int(text) - 1 if isinstance(text, str) and text.isdigit() else None


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


def _values_with_defaults(
    session: Session, source: exp.Values, columns: list[Column], explicit: bool = False
) -> exp.Expr:
    """VALUES rows with DEFAULT replaced by each column's default expression."""
    rows = []
    for row in source.expressions:
        values = list(row.expressions)
        if len(values) > len(columns):
            raise errors.SyntaxError_("INSERT has more expressions than target columns")
        if explicit and len(values) < len(columns):
            raise errors.SyntaxError_("INSERT has more target columns than expressions")
        new_values = []
        for index, value in enumerate(values):
            if (isinstance(value, exp.Var) and value.name.upper() == "DEFAULT") or (
                isinstance(value, exp.Column)
                and value.name.upper() == "DEFAULT"
                and not value.table
            ):
                col = columns[index]
                new_values.append(
                    session._parse_one(f"SELECT {col.default or 'NULL'}").expressions[0]
                )
            elif (
                isinstance(value, exp.Literal) and value.is_string and handles(columns[index].type)
            ):
                # arrays now; plain values only if the INSERT fails (recheck_inputs)
                col_type = columns[index].type
                new_values.append(assigned_literal(value, col_type) if col_type.is_array else value)
            elif isinstance(value, exp.Literal) and value.is_string:
                # an untyped literal takes its column's type, with PostgreSQL's input syntax
                typed = typed_literal(value.this, columns[index].type)
                new_values.append(typed if typed is not None else value)
            elif _sparse_cast(value, columns[index]):
                new_values.append(_assignment_cast(session, value, columns[index]))
            else:
                new_values.append(value)
        new_values.extend(
            session._parse_one(f"SELECT {col.default or 'NULL'}").expressions[0]
            for col in columns[len(values) :]
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


def _materialize_dml_ctes(
    session: Session, ast: exp.Expr, params: Sequence[object], param_types: list[SqlType]
) -> None:
    """WITH x AS (INSERT/UPDATE/DELETE ... RETURNING ...): run it once, first; the rest of
    the statement reads its RETURNING rows as constants."""
    with_ = ast.args.get("with_")
    if not isinstance(with_, exp.With):
        return
    for cte in list(with_.expressions):
        body = cte.this
        if isinstance(body, exp.Insert):
            result = run_insert(session, body, params, param_types)
        elif isinstance(body, exp.Update):
            result = run_update(session, body, params, param_types)
        elif isinstance(body, exp.Delete):
            result = run_delete(session, body, params, param_types)
        else:
            continue
        cols = result.columns or []
        if not cols:
            cte.pop()  # nothing to read: PostgreSQL runs it all the same
            continue
        names = [exp.to_identifier(c.name) for c in cols]
        rows = [row for batch in result.batches() for row in batch.to_pylist()]
        typed = [
            exp.alias_(exp.cast(exp.null(), duck_type(c.type), dialect="duckdb"), c.name)
            for c in cols
        ]
        if not rows:
            cte.set("this", exp.select(*typed).where(exp.false()))
            continue
        values = exp.Values(
            expressions=[
                exp.Tuple(
                    expressions=[literal(row[k], c.type) for k, c in zip(row, cols, strict=True)]
                )
                for row in rows
            ],
            alias=exp.TableAlias(this=exp.to_identifier("r"), columns=names),
        )
        cte.set("this", exp.select(*[exp.column(n.name) for n in names]).from_(values))
    if not with_.expressions:
        ast.set("with_", None)


def run_insert(
    session: Session, ast: exp.Insert, params: Sequence[object], param_types: list[SqlType]
) -> Result:
    try:
        return _run_insert(session, ast, params, param_types)
    except Exception:
        # a bad pgvector literal's input error comes first, as in PostgreSQL
        recheck_inputs(ast.expression, _target_columns(session, ast))
        raise


def _plain_literal(value: exp.Expr) -> TypeGuard[exp.Literal]:
    return isinstance(value, exp.Literal) and value.is_string


def _target_columns(session: Session, ast: exp.Insert) -> list[Column]:
    try:
        return _insert_columns(ast, _target(session, ast.this)[0])
    except errors.VecgresError:
        return []


def _run_insert(
    session: Session, ast: exp.Insert, params: Sequence[object], param_types: list[SqlType]
) -> Result:
    if ast.args.get("with_") is not None:
        ast = ast.copy()  # the prepared statement keeps its data-modifying CTEs
        _materialize_dml_ctes(session, ast, params, param_types)
    table, alias = _target(session, ast.this)
    session.lock_table(table)
    columns = _insert_columns(ast, table)
    source = ast.expression
    if isinstance(source, exp.Query) and ast.args.get("with_") is not None:
        # WITH ... INSERT ... SELECT: the CTEs belong to the source query
        source = source.copy()
        source.set("with_", ast.args["with_"].copy())
    if isinstance(source, exp.Values):
        explicit = isinstance(ast.this, exp.Schema) and bool(ast.this.expressions)
        query = _values_with_defaults(session, source, columns, explicit)
    elif isinstance(source, exp.Query):
        query = source
        if isinstance(query, exp.Select):
            query = query.copy()  # the prepared statement keeps its literals
            assign_select_literals(query, columns)
    elif source is None:
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
    explicit = isinstance(ast.this, exp.Schema) and bool(ast.this.expressions)
    if not explicit and 0 < src.num_columns < len(columns):
        # INSERT INTO t SELECT a, b: the leading columns, the rest take their defaults
        columns = columns[: src.num_columns]
    if columns and src.num_columns != len(columns):
        if src.num_columns > len(columns):
            raise errors.SyntaxError_("INSERT has more expressions than target columns")
        raise errors.SyntaxError_("INSERT has more target columns than expressions")
    # DEFAULT VALUES: the placeholder column stays so the row count survives
    src = src.rename_columns([f"s{i}" for i in range(src.num_columns)])
    rows = _prepare_rows(
        session, table, columns, src, fill_defaults=True, source_types=bound.output_types
    )
    assert session.txn is not None
    pending = session.txn.writes(table.oid)
    conflict = ast.args.get("conflict")
    replaced = np.empty(0, dtype=np.int64)
    updated: pa.Table | None = None
    if conflict is not None:
        rows, replaced, updated = _on_conflict(session, table, alias, conflict, rows, params)
    session.db.keys.check(table, rows, pending, replaced)
    batch = _allocate(session, table, rows)
    before = foreign_keys.rows_before(session, table, replaced)  # referenced keys it changes
    if replaced.size:
        pending.deletes.append(replaced)
    pending.inserts.append(batch)
    count = rows.num_rows
    all_rows = pa.Table.from_batches([batch]).rename_columns([ROWID, *rows.schema.names])
    if updated is not None and updated.num_rows:
        upd_batch = _allocate(session, table, updated)
        pending.inserts.append(upd_batch)
        if before is not None:
            foreign_keys.after_change(session, table, before, updated)
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
    action_text = str(conflict.args.get("action") or "").upper()
    for pos, (key, rowid) in enumerate(zip(keys, existing, strict=True)):
        if key in seen and key is not None and "UPDATE" in action_text:
            raise errors.CardinalityViolation(
                "ON CONFLICT DO UPDATE command cannot affect row a second time",
                hint="Ensure that no rows proposed for insertion within the same command "
                "have duplicate constrained values.",
            )
        if key is not None:
            seen.add(key)
        if rowid is None:
            fresh.append(pos)
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
    projections: list[exp.Expr] = [exp.alias_(_col(ROWID, alias), "__rowid")]
    for col in table.columns:
        value = assignments.get(col.name, _col(col.name, alias))
        projections.append(exp.alias_(value.copy(), col.name, quoted=True))
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
                this=_col(ROWID, alias),
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
    projections: list[exp.Expr] = [exp.alias_(_col(ROWID, alias), "__rowid")]
    projections += [_col(col.name, alias) for col in table.columns]
    rows = _select_rows(session, ast, table, alias, projections, params, param_types)
    rowids = np.unique(rows.column(0).to_numpy().astype(np.int64))
    assert session.txn is not None
    if rowids.size:
        session.txn.writes(table.oid).deletes.append(rowids)
    rows = rows.rename_columns([ROWID, *(c.name for c in table.columns)])
    if rowids.size:
        foreign_keys.after_change(session, table, rows)
    result = _returning(session, ast, table, alias, rows, params)
    result._tag = f"DELETE {rowids.size}"
    return result


def _check_row_by_row(table: Table, rowids: np.ndarray, before: pa.Table, after: pa.Table) -> None:
    """PostgreSQL checks a unique key as each row is updated, in table order: a new key
    that another updated row still holds at that moment is a violation (even a swap)."""
    order = np.argsort(rowids, kind="stable")
    for index in table.unique_indexes:
        olds = list(zip(*(before.column(c).to_pylist() for c in index.columns), strict=True))
        news = list(zip(*(after.column(c).to_pylist() for c in index.columns), strict=True))
        held = {k for k in olds if None not in k}
        for i in order:
            old_key, new_key = olds[i], news[i]
            held.discard(old_key)
            if None in new_key:
                continue
            if new_key in held and new_key != old_key:
                raise unique_violation(index, new_key[0] if len(new_key) == 1 else new_key)
            held.add(new_key)


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
        column = table.column(name)
        if column is not None and _plain_literal(assign.expression) and handles(column.type):
            assigned_literal(assign.expression, column.type)  # input errors first, SET order
    projections: list[exp.Expr] = [exp.alias_(_col(ROWID, alias), "__rowid")]
    for col in table.columns:
        value = assignments.get(col.name)
        if value is None:
            projections.append(exp.alias_(_col(col.name, alias), col.name, quoted=True))
        elif (
            isinstance(value, exp.Var | exp.Column)
            and value.name.upper() == "DEFAULT"
            and not getattr(value, "table", "")
        ):
            parsed = session._parse_one(f"SELECT {col.default or 'NULL'}").expressions[0]
            projections.append(exp.alias_(parsed, col.name, quoted=True))
        else:
            if _sparse_cast(value, col):
                value = _assignment_cast(session, value.copy(), col)
            elif _plain_literal(value) and handles(col.type):
                value = assigned_literal(value, col.type, fold=True)
            projections.append(exp.alias_(value.copy(), col.name, quoted=True))
    key_cols = sorted({c for index in table.unique_indexes for c in index.columns})
    projections += [exp.alias_(_col(name, alias), f"__old_{name}") for name in key_cols]
    out = _select_rows(session, ast, table, alias, projections, params, param_types)
    old = out.column(0).to_numpy().astype(np.int64)
    if np.unique(old).size != old.size:
        # a joined UPDATE matched a row twice: PostgreSQL updates it once
        _, first = np.unique(old, return_index=True)
        out = out.take(pa.array(np.sort(first)))
        old = out.column(0).to_numpy().astype(np.int64)
    old_keys = out.select([f"__old_{name}" for name in key_cols]).rename_columns(key_cols)
    out = out.drop_columns([f"__old_{name}" for name in key_cols])
    src = out.drop_columns([out.schema.names[0]])
    src = src.rename_columns([f"s{i}" for i in range(src.num_columns)])
    rows = _prepare_rows(session, table, list(table.columns), src, fill_defaults=False)
    assert session.txn is not None
    pending = session.txn.writes(table.oid)
    _check_row_by_row(table, old, old_keys, rows)
    session.db.keys.check(table, rows, pending, old)
    if old.size:
        pending.deletes.append(old)
        batch = _allocate(session, table, rows)
        pending.inserts.append(batch)
        foreign_keys.after_change(session, table, old_keys, rows)
        ret_rows = pa.Table.from_batches([batch]).rename_columns([ROWID, *rows.schema.names])
    else:
        ret_rows = rows
    result = _returning(session, ast, table, alias, ret_rows, params)
    result._tag = f"UPDATE {old.size}"
    return result


__all__ = ["DIALECT", "run_delete", "run_insert", "run_update", "unique_violation"]
