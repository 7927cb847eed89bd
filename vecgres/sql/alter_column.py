"""ALTER TABLE ... ALTER COLUMN ... TYPE / SET NOT NULL: column changes that read the rows.

A type change that keeps the stored layout (``varchar(10)`` to ``text``, a longer
``varchar``) only edits the catalog, as PostgreSQL skips the rewrite for a
binary-coercible change. Any other change rewrites the table the way UPDATE
does, inside the statement's transaction: the converted column gets a new
column id (segments keep the old one under ``c<old id>``, which the new layout
no longer reads), every visible row is deleted and inserted again with the
converted values under new row ids. The rewrite is one WAL record with the
catalog, so it is atomic, undone by ROLLBACK and replayed after a crash; the old
segments end up wholly deleted and compaction drops them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from sqlglot import exp

from vecgres import errors
from vecgres.codec.arrow import storage_type
from vecgres.executor.relation import ROWID, VISIBLE, table_view
from vecgres.sql.bind import bind_query
from vecgres.sql.dialect import DIALECT
from vecgres.sql.index_ddl import DEFAULT_OPCLASS, OPCLASSES, is_ann
from vecgres.sql.pgcatalog.render import quote_ident
from vecgres.sql.typemap import sql_type
from vecgres.sql.writes import _allocate, _prepare_rows
from vecgres.types import SqlType

if TYPE_CHECKING:
    from vecgres.catalog.model import Catalog, Column, Index, Table
    from vecgres.engine import Session

_NUMERIC = frozenset({"smallint", "integer", "bigint", "real", "double precision", "numeric"})
_STRING = frozenset({"text", "character varying", "character", "name"})
_VECTORS = frozenset({"vector", "halfvec", "sparsevec"})
_FLOAT_ARRAYS = frozenset({"integer", "real", "double precision", "numeric"})
# implicit and assignment casts of pg_cast between other built-in types (PostgreSQL 15)
_ASSIGNMENT: frozenset[tuple[str, str]] = frozenset(
    {
        ("date", "timestamp without time zone"),
        ("date", "timestamp with time zone"),
        ("timestamp without time zone", "date"),
        ("timestamp without time zone", "time without time zone"),
        ("timestamp without time zone", "timestamp with time zone"),
        ("timestamp with time zone", "date"),
        ("timestamp with time zone", "time without time zone"),
        ("timestamp with time zone", "timestamp without time zone"),
        ("time without time zone", "interval"),
        ("interval", "time without time zone"),
        ("json", "jsonb"),
        ("jsonb", "json"),
        ("bit", "bit varying"),
        ("bit varying", "bit"),
        ("char", "text"),
        ("char", "character varying"),
        ("char", "character"),
    }
)


def assignment_castable(source: SqlType, target: SqlType) -> bool:
    """Whether PostgreSQL converts ``source`` to ``target`` in an assignment (no USING)."""
    if target.name in _STRING and not target.is_array:
        return True  # every type has an I/O conversion to the string types
    if source.name == "unknown":
        return True
    if source.is_array and target.is_array:
        return assignment_castable(source.element, target.element)
    if source.is_array and target.is_vector:
        return source.name in _FLOAT_ARRAYS  # pgvector's array_to_vector casts
    if source.is_vector and target.is_array:
        return target.name == "real"
    if source.is_array or target.is_array:
        return False
    if source.name == target.name:
        return True
    if source.name in _NUMERIC and target.name in _NUMERIC:
        return True
    if source.name in _VECTORS and target.name in _VECTORS:
        return True
    return (source.name, target.name) in _ASSIGNMENT


@dataclass(slots=True)
class TypeChange:
    """One column whose stored values the statement converts."""

    old: Column  # as the table had it before the statement
    new: Column  # in the edited catalog (new type; a new column id when rewritten)
    using: exp.Expr | None
    rewritten: bool  # False: the stored values stay valid as they are


def change_type(cat: Catalog, table: Table, action: exp.AlterColumn) -> TypeChange:
    """Change the column's type in the edited catalog."""
    from copy import copy

    name = action.this.name
    if table.kind == "v":
        raise errors.WrongObjectType(
            "ALTER action ALTER COLUMN ... SET DATA TYPE cannot be performed on relation "
            f'"{table.name}"',
            detail="This operation is not supported for views.",
        )
    col = table.column(name)
    if col is None:
        raise errors.UndefinedColumn(f'column "{name}" of relation "{table.name}" does not exist')
    new_type = sql_type(action.args["dtype"])
    using = action.args.get("using") or None
    if using is None and not assignment_castable(col.type, new_type):
        raise errors.DatatypeMismatch(
            f'column "{name}" cannot be cast automatically to type {_type_be(new_type)}',
            hint=f'You might need to specify "USING {quote_ident(name)}::{new_type.format()}".',
        )
    _check_indexes(cat, table, col, new_type)
    old = copy(col)
    col.type = new_type
    if using is None and _binary_coercible(old.type, new_type):
        return TypeChange(old, col, using, rewritten=False)
    col.id = table.next_column_id
    table.next_column_id += 1
    col.missing = None  # every row gets a value of its own
    return TypeChange(old, col, using, rewritten=True)


def finish(
    session: Session, cat: Catalog, old: Table, new: Table, changes: list[TypeChange]
) -> None:
    """After every action of the statement: check what depends on the changed columns,
    then convert the stored rows if any change needs it."""
    check_dependents(cat, new, changes)
    rewritten = [change for change in changes if change.rewritten]
    if rewritten:
        rewrite(session, old, new, rewritten)


def _type_be(t: SqlType) -> str:
    """The type as PostgreSQL's format_type_be names it: without its typmod."""
    return SqlType(t.name, -1, t.is_array).format()


def _binary_coercible(old: SqlType, new: SqlType) -> bool:
    """A change that leaves every stored value valid as it is."""
    if storage_type(old) != storage_type(new) or old.is_array != new.is_array:
        return False
    if old == new:
        return True
    if new.name in ("text", "character varying") and old.name in ("text", "character varying"):
        # a longer varchar, or none: no value can be too long now
        return new.typmod < 0 or (old.name == "character varying" and 0 <= old.typmod <= new.typmod)
    if old.name == new.name == "numeric":
        return new.typmod < 0
    return False


def _check_indexes(cat: Catalog, table: Table, col: Column, new_type: SqlType) -> None:
    """ANN indexes on the column are rebuilt (a new OID, so their files and cached
    searches go) when their operator class takes the new type, else the change fails
    as PostgreSQL's re-creation of the index would."""
    shown = _type_be(new_type)
    for idx in table.indexes:
        if col.name not in idx.columns or not is_ann(idx.method):
            continue
        if idx.expression is not None:
            raise errors.FeatureNotSupported(
                "cannot alter the type of a column used by an expression index"
            )
        opclass = idx.opclass or ""
        accepted = OPCLASSES.get(idx.method, {}).get(opclass)
        if accepted != new_type.name or new_type.is_array:
            if DEFAULT_OPCLASS.get(idx.method, {}).get(col.type.name) == opclass:
                # a default opclass is not part of the index definition PostgreSQL replays
                raise errors.UndefinedObject(
                    f"data type {shown} has no default operator class for "
                    f'access method "{idx.method}"',
                    hint="You must specify an operator class for the index or define a "
                    "default operator class for the data type.",
                )
            raise errors.DatatypeMismatch(
                f'operator class "{opclass}" does not accept data type {shown}'
            )
        if new_type.dims is None and new_type.name != "sparsevec":
            raise errors.InternalError("column does not have dimensions")
        idx.oid = cat.allocate_oid()


def check_dependents(cat: Catalog, table: Table, changes: list[TypeChange]) -> None:
    """A view reading a changed column blocks the change; a default kept from before
    must take the new type by an assignment cast (PostgreSQL stores it coerced to the
    old type, so that is the cast it needs)."""
    from vecgres.sql.ddl import _dependent_views

    for change in changes:
        before, col = change.old, change.new
        kept_default = col.default is not None and col.default == before.default
        if kept_default and not assignment_castable(before.type, col.type):
            raise errors.DatatypeMismatch(
                f'default for column "{col.name}" cannot be cast automatically to type '
                f"{_type_be(col.type)}"
            )
        for view in _dependent_views(cat, table, [table.schema]):
            parsed = DIALECT.parse(view.view_sql or "SELECT 1")[0]
            if parsed is None:
                continue
            if any(isinstance(n, exp.Star) for n in parsed.find_all(exp.Star)) or any(
                n.name == before.name for n in parsed.find_all(exp.Column)
            ):
                raise errors.FeatureNotSupported(
                    "cannot alter type of a column used by a view or rule",
                    detail=f'rule _RETURN on view {view.name} depends on column "{before.name}"',
                )


def rewrite(session: Session, old: Table, new: Table, changes: list[TypeChange]) -> None:
    """Convert the rows of ``old`` into ``new``'s layout as pending writes of the
    transaction: every visible row deleted and inserted again, converted."""
    converted = {change.new.id: change for change in changes}
    before = {col.id: col for col in old.columns}
    items: list[exp.Expr] = []
    columns: list[Column] = []
    for col in new.columns:
        change = converted.get(col.id)
        if change is not None:
            source = change.using.copy() if change.using is not None else _ref(change.old.name)
        elif col.id in before:
            source = _ref(before[col.id].name)
        else:
            continue  # added by the same statement: its default fills it
        items.append(exp.alias_(source, f"s{len(items)}", quoted=True))
        columns.append(col)
    query = exp.select(*items).from_(exp.table_(old.name, db=old.schema, quoted=True))
    bound = bind_query(query, session._bind_context(), session._parse_view, [])
    # the USING results' types (DuckDB's where analysis cannot tell) before any row runs
    described = session._describe_by_running(type("P", (), {"bound": bound})())
    for position, col in enumerate(columns):
        change = converted.get(col.id)
        if change is None or change.using is None:
            continue
        if not assignment_castable(described[position].type, col.type):
            raise errors.DatatypeMismatch(
                f'result of USING clause for column "{change.old.name}" cannot be cast '
                f"automatically to type {_type_be(col.type)}",
                hint="You might need to add an explicit cast.",
            )
    snap = session.db.snapshot()
    assert session.txn is not None
    pending = session.txn.pending.get(old.oid)
    session._register_tables(bound.tables, snap)
    try:
        src = session.duck.arrow(bound.render([]))
    finally:
        session.duck.clear()
    rows = _prepare_rows(
        session, new, columns, src, fill_defaults=True, source_types=list(bound.output_types)
    )
    data, masked = table_view(old, snap.table(old.oid), pending, stored=True)
    if masked:
        data = data.filter(data.column(VISIBLE))
    rowids = data.column(ROWID).to_numpy()
    writes = session.txn.writes(old.oid)
    if rowids.size:
        writes.deletes.append(np.asarray(rowids, dtype=np.int64))
    if rows.num_rows:
        writes.inserts.append(_allocate(session, new, rows))
    for index in new.unique_indexes:
        # the rows just converted are the whole table now: its keys must be unique
        if not _unique_keys(index, rows):
            session.db.keys.check_new_index(new, index, session)  # names the duplicate


def _unique_keys(index: Index, rows: pa.Table) -> bool:
    """Whether no two rows share a non-null key (one Arrow group-by, no Python loop)."""
    keys = rows.select(index.columns)
    for name in index.columns:
        keys = keys.filter(pc.is_valid(keys.column(name)))
    try:
        counts = keys.group_by(index.columns).aggregate([([], "count_all")])
    except (pa.ArrowNotImplementedError, pa.ArrowInvalid):
        return False  # key types Arrow cannot group: the row-by-row check decides
    return bool(counts.num_rows == keys.num_rows)


def _ref(name: str) -> exp.Column:
    return exp.column(exp.to_identifier(name, quoted=True))


def set_not_null(session: Session, table: Table, col: Column, not_null: bool) -> None:
    """SET NOT NULL checks the stored rows; DROP NOT NULL refuses a key column."""
    if not not_null:
        pk = table.primary_key
        if pk is not None and col.name in pk.columns:
            raise errors.InvalidTableDefinition(f'column "{col.name}" is in a primary key')
        col.not_null = False
        return
    if not col.not_null and _has_nulls(session, table, col):
        raise errors.NotNullViolation(
            f'column "{col.name}" of relation "{table.name}" contains null values'
        )
    col.not_null = True


def _has_nulls(session: Session, table: Table, col: Column) -> bool:
    pending = session.txn.pending.get(table.oid) if session.txn is not None else None
    data, masked = table_view(table, session.db.snapshot().table(table.oid), pending, stored=True)
    values = data.column(table.attnum(col.name))
    if masked:
        values = values.filter(data.column(VISIBLE))
    return bool(values.null_count)
