"""CREATE TABLE ... AS SELECT and SELECT ... INTO: a new table from a query's result.

The columns take the query's result types with their typmods (a ``vector(3)``
column stays ``vector(3)``, so the copy can be indexed). The rows are computed
once by DuckDB, converted as a bulk INSERT converts them (one vectorized pass,
no row-by-row path) and become the transaction's pending writes of the new
table, committed with its catalog entry in one WAL record.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlglot import exp

from vecgres import errors
from vecgres.catalog.model import Column, Table
from vecgres.result import Result
from vecgres.sql import ddl
from vecgres.sql.bind import bind_query
from vecgres.sql.writes import _allocate, _prepare_rows
from vecgres.types import SqlType

if TYPE_CHECKING:
    from vecgres.engine import Session


def create_table_as(session: Session, ast: exp.Create) -> Result:
    """``CREATE TABLE [IF NOT EXISTS] t [(names)] AS query [WITH [NO] DATA]``."""
    target = ast.this
    given: list[str] = []
    if isinstance(target, exp.Schema):
        given = [e.name for e in target.expressions]
        target = target.this
    props = ast.args.get("properties")
    no_data = any(
        isinstance(p, exp.WithDataProperty) and p.args.get("no")
        for p in (props.expressions if props is not None else [])
    )
    query = ast.expression
    assert isinstance(target, exp.Table)
    assert isinstance(query, exp.Query)
    return _create(session, target, given, query, bool(ast.args.get("exists")), no_data)


def select_into(session: Session, ast: exp.Select) -> Result:
    """``SELECT ... INTO [TABLE] t FROM ...``: CREATE TABLE AS under another name."""
    into = ast.args["into"]
    query = ast.copy()
    query.set("into", None)
    target = into.this
    if into.args.get("temporary") or into.args.get("unlogged"):
        raise errors.FeatureNotSupported("SELECT INTO TEMPORARY/UNLOGGED is not supported yet")
    assert isinstance(target, exp.Table)
    return _create(session, target, [], query, False, False)


def _create(
    session: Session,
    target: exp.Table,
    given: list[str],
    query: exp.Query,
    if_not_exists: bool,
    no_data: bool,
) -> Result:
    catalog = session._catalog()
    path = session.settings.search_path()
    schema = ddl._target_schema(target, catalog, path)
    name = target.name
    if catalog.find_relation(schema, name) is not None:
        if if_not_exists:
            session.notice(f'relation "{name}" already exists, skipping', "42P07")
            return Result(None, None, "CREATE TABLE AS", notices=session._take_notices())
        raise errors.DuplicateTable(f'relation "{name}" already exists')
    bound = bind_query(query, session._bind_context(), session._parse_view, [])
    described = session._describe_by_running(type("P", (), {"bound": bound})())
    if len(given) > len(described):
        raise errors.SyntaxError_("too many column names were specified")
    names = given + [c.name for c in described[len(given) :]]
    columns: list[Column] = []
    for position, (col_name, info) in enumerate(zip(names, described, strict=True), start=1):
        if any(c.name == col_name for c in columns):
            raise errors.DuplicateColumn(f'column "{col_name}" specified more than once')
        col_type = _storable(info.type)
        known = position <= len(bound.output_types) and bound.output_types[position - 1]
        if not known and col_type.name == "numeric":
            # DuckDB gives every decimal a precision; PostgreSQL's computed numerics have none
            col_type = SqlType("numeric", -1, col_type.is_array)
        columns.append(Column(position, col_name, col_type))
    cat = catalog.edit()
    table = Table(cat.allocate_oid(), schema, name, columns, len(columns) + 1)
    rows = None
    if not no_data:
        snap = session.db.snapshot()
        session._register_tables(bound.tables, snap)
        try:
            src = session.duck.arrow(bound.render([]))
        finally:
            session.duck.clear()
        src = src.rename_columns([f"s{i}" for i in range(src.num_columns)])
        rows = _prepare_rows(
            session,
            table,
            table.columns,
            src,
            fill_defaults=False,
            source_types=list(bound.output_types),
        )
    cat.tables[table.oid] = table
    tag = "CREATE TABLE AS" if no_data else f"SELECT {rows.num_rows if rows is not None else 0}"
    result = session._apply_ddl(ddl.DdlResult(cat, tag, created_table=table))
    if rows is not None and rows.num_rows:
        assert session.txn is not None
        session.lock_table(table)
        session.txn.writes(table.oid).inserts.append(_allocate(session, table, rows))
    return result


def _storable(t: SqlType) -> SqlType:
    """A result type as a column type: PostgreSQL stores an unknown literal as text."""
    if t.name == "unknown":
        return SqlType("text")
    if t.name in ("record", "void"):
        raise errors.FeatureNotSupported(f"column of type {t.format()} is not supported yet")
    return t
