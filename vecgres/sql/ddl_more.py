"""Dispatch of DDL statements onto the catalog functions of ``ddl.py``."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Final

from sqlglot import exp

from vecgres import errors
from vecgres.catalog.model import Catalog, Column, Index, Table
from vecgres.result import Result
from vecgres.sql import (
    alter_column,
    alter_objects,
    constraint_ddl,
    create_as,
    ddl,
    extension_ddl,
    index_ddl,
)
from vecgres.sql.alter_objects import IDENT
from vecgres.sql.bind import bind_query
from vecgres.sql.dialect import DIALECT
from vecgres.sql.grants import ident
from vecgres.sql.typemap import sql_type

if TYPE_CHECKING:
    from vecgres.engine import Session


def run(session: Session, ast: exp.Expr) -> Result:
    catalog = session._catalog()
    path = session.settings.search_path()
    if isinstance(ast, exp.Create):
        kind = (ast.kind or "").upper()
        if kind == "TABLE" and isinstance(ast.expression, exp.Query):
            return create_as.create_table_as(session, ast)
        if kind == "TABLE":
            return session._apply_ddl(ddl.create_table(ast, catalog, path))
        if kind == "SCHEMA":
            return session._apply_ddl(ddl.create_schema(ast, catalog))
        if kind == "SEQUENCE":
            return session._apply_ddl(ddl.create_sequence(ast, catalog, path))
        if kind == "VIEW":
            query = ast.expression
            bound = bind_query(query, session._bind_context(), session._parse_view)
            cols = session._describe_by_running(type("P", (), {"bound": bound})())
            names = [c.name for c in cols]
            target = ast.this
            if isinstance(target, exp.Schema) and target.expressions:
                given = [e.name for e in target.expressions]
                names = given + names[len(given) :]
            return session._apply_ddl(
                ddl.create_view(
                    ast, catalog, path, [(n, c.type) for n, c in zip(names, cols, strict=True)]
                )
            )
        if kind == "INDEX":
            return _create_index(session, ast)
        raise errors.FeatureNotSupported(f"CREATE {kind} is not supported yet")
    if isinstance(ast, exp.Drop):
        kind = (ast.kind or "").upper()
        if kind in ("TABLE", "VIEW", "SCHEMA", "SEQUENCE", "INDEX"):
            result = ddl.drop_objects(ast, catalog, path)
            for oid in set(catalog.sequences) - set(result.catalog.sequences):
                session.db.sequences.forget(oid)
            return session._apply_ddl(result)
        if kind == "EXTENSION":
            return extension_ddl.run(session, ast.sql(dialect=DIALECT))
        raise errors.FeatureNotSupported(f"DROP {kind} is not supported yet")
    if isinstance(ast, exp.TruncateTable):
        cat = catalog.edit()
        oids = []
        for node in ast.expressions:
            table = cat.resolve_table(node.name, node.db or None, path)
            session.lock_table(table)
            oids.append(table.oid)
        oids = constraint_ddl.truncate_targets(
            session, cat, oids, str(ast.args.get("option") or "").upper() == "CASCADE"
        )
        for oid in oids:
            index_ddl.truncate_notices(session, cat.tables[oid])
        return session._apply_ddl(ddl.DdlResult(catalog, "TRUNCATE TABLE", truncated_tables=oids))
    if isinstance(ast, exp.Alter):
        return _alter(session, ast)
    if isinstance(ast, exp.Select) and ast.args.get("into") is not None:
        return create_as.select_into(session, ast)
    if isinstance(ast, exp.Command) and ast.name.upper() == "REINDEX":
        return index_ddl.reindex(session, f"REINDEX {ast.expression.name}")
    if isinstance(ast, exp.Command):
        text = (
            ast.name
            + " "
            + (
                ast.expression.name
                if isinstance(ast.expression, exp.Expr)
                else str(ast.expression or "")
            )
        ).strip()
        done = constraint_ddl.command(session, text)
        if done is not None:
            return done
        if extension_ddl.is_extension_statement(text):
            return extension_ddl.run(session, text)
        m = _SET_STORAGE.match(text)
        if m:
            return _set_storage(session, m)
        if alter_objects.is_set_schema(text):
            return alter_objects.set_schema(session, text)
        raise errors.FeatureNotSupported(
            f"statement is not supported yet: {text.split()[0] if text else ''}"
        )
    if isinstance(ast, exp.Comment):
        from vecgres.sql.pgcatalog.comments import comment

        return session._apply_ddl(comment(ast, catalog, path))
    raise errors.FeatureNotSupported(
        f"{type(ast).__name__.upper()} statements are not supported yet"
    )


def _create_index(session: Session, ast: exp.Create) -> Result:
    """Index metadata. Unique indexes are enforced; ANN methods go to index_ddl."""
    catalog = session._catalog()
    index_node = ast.this
    table_node = index_node.args.get("table")
    if table_node is None:
        raise errors.SyntaxError_("syntax error in CREATE INDEX")
    table = catalog.resolve_table(
        table_node.name, table_node.db or None, session.settings.search_path()
    )
    params = index_node.args.get("params")
    method = "btree"
    columns: list[str] = []
    if params is not None:
        using = params.args.get("using")
        if using is not None:
            method = using.name.lower() if isinstance(using, exp.Expr) else str(using).lower()
        for col in params.args.get("columns") or []:
            node = col.this if isinstance(col, exp.Ordered) else col
            if isinstance(node, exp.Column):
                columns.append(node.name)
            elif isinstance(node, exp.Opclass) and isinstance(node.this, exp.Column):
                columns.append(node.this.name)
            elif not index_ddl.is_ann(method):  # index_ddl takes ANN expression keys
                raise errors.FeatureNotSupported("expression indexes are not supported yet")
    if index_ddl.is_ann(method):
        return index_ddl.create_ann_index(session, ast, method)
    if method not in index_ddl.KNOWN_METHODS:
        raise errors.UndefinedObject(f'access method "{method}" does not exist')
    if method not in ("btree", "hash"):
        raise errors.FeatureNotSupported(f"index method {method} is not supported yet")
    for name in columns:
        if table.column(name) is None:
            raise errors.UndefinedColumn(f'column "{name}" does not exist')
    keys = list(params.args.get("columns") or []) if params is not None else []
    index_ddl.check_plain_opclasses(table, method, keys)
    cat = catalog.edit()
    table = cat.tables[table.oid]
    name = index_node.name or index_ddl.choose_index_name(cat, table, columns)
    if cat.name_taken(table.schema, name):
        if ast.args.get("exists"):
            session.notice(f'relation "{name}" already exists, skipping', "42P07")
            return Result(None, None, "CREATE INDEX", notices=session._take_notices())
        raise errors.DuplicateTable(f'relation "{name}" already exists')
    unique = bool(ast.args.get("unique"))
    idx = Index(cat.allocate_oid(), name, columns, method=method, unique=unique)
    table.indexes.append(idx)
    if unique:
        session.db.keys.check_new_index(table, idx, session)
    return session._apply_ddl(ddl.DdlResult(cat, "CREATE INDEX"))


def _table_to_alter(
    session: Session, name: str, schema: str | None, if_exists: bool
) -> tuple[Catalog, Table] | None:
    """The table ALTER TABLE changes, locked, in an edited catalog; None when IF EXISTS
    found none (the notice is given)."""
    catalog = session._catalog()
    found = catalog.resolve(name, schema, session.settings.search_path())
    if not isinstance(found, Table):
        if if_exists:
            session.notice(f'relation "{name}" does not exist, skipping')
            return None
        raise errors.UndefinedTable(f'relation "{name}" does not exist')
    session.lock_table(found)
    cat = catalog.edit()
    return cat, cat.tables[found.oid]


def _skipped_alter(session: Session) -> Result:
    return Result(None, None, "ALTER TABLE", notices=session._take_notices())


def _alter(session: Session, ast: exp.Alter) -> Result:
    if (ast.args.get("kind") or "").upper() == "INDEX":
        return alter_objects.alter_index(session, ast)
    if (ast.args.get("kind") or "TABLE").upper() != "TABLE":
        raise errors.FeatureNotSupported(f"ALTER {ast.args.get('kind')} is not supported yet")
    target = ast.this
    altered = _table_to_alter(session, target.name, target.db or None, bool(ast.args.get("exists")))
    if altered is None:
        return _skipped_alter(session)
    cat, table = altered
    before, changes = session._catalog().tables[table.oid], []
    for action in ast.args.get("actions") or []:
        if constraint_ddl.is_constraint_action(action):
            constraint_ddl.alter_action(session, cat, table, action, ast)
        elif isinstance(action, exp.AlterColumn) and action.args.get("dtype") is not None:
            changes.append(alter_column.change_type(cat, table, action))
        elif isinstance(action, exp.ColumnDef):
            _add_column(session, table, action)
        elif isinstance(action, exp.Drop):
            dropped = action.args.get("tables") or [action.this]
            name = dropped[0].name if dropped[0] is not None else ""
            col = table.column(name)
            if col is None:
                if action.args.get("exists"):
                    continue
                raise errors.UndefinedColumn(
                    f'column "{name}" of relation "{table.name}" does not exist'
                )
            if any(name in idx.columns for idx in table.indexes if idx.primary):
                table.indexes = [i for i in table.indexes if name not in i.columns]
            table.indexes = [i for i in table.indexes if name not in i.columns]
            constraint_ddl.drop_column(session, cat, table, col, bool(action.args.get("cascade")))
            table.columns = [c for c in table.columns if c.name != name]
            if not table.columns:
                raise errors.FeatureNotSupported("cannot drop the last column of a table")
        elif isinstance(action, exp.RenameColumn):
            old = action.this.name
            new = action.args["to"].name
            col = table.column(old)
            if col is None:
                raise errors.UndefinedColumn(f'column "{old}" does not exist')
            if table.column(new) is not None:
                raise errors.DuplicateColumn(
                    f'column "{new}" of relation "{table.name}" already exists'
                )
            constraint_ddl.rename_column(table, old, new)
            col.name = new
            for idx in table.indexes:
                idx.columns = [new if c == old else c for c in idx.columns]
        elif isinstance(action, exp.AlterRename):
            new = action.this.name
            if cat.name_taken(table.schema, new):
                raise errors.DuplicateTable(f'relation "{new}" already exists')
            table.name = new
        elif isinstance(action, exp.AlterColumn):
            col = table.column(action.this.name)
            if col is None:
                raise errors.UndefinedColumn(f'column "{action.this.name}" does not exist')
            if action.args.get("drop") and action.args.get("allow_null") is None:
                col.default = None
            elif action.args.get("default") is not None:
                col.default = action.args["default"].sql(dialect=DIALECT)
            elif action.args.get("allow_null") is not None:
                alter_column.set_not_null(session, table, col, not action.args["allow_null"])
            else:
                raise errors.FeatureNotSupported("this ALTER COLUMN form is not supported yet")
        else:
            raise errors.FeatureNotSupported(
                f"ALTER TABLE {type(action).__name__} is not supported yet"
            )
    if changes:
        alter_column.finish(session, cat, before, table, changes)
    return session._apply_ddl(ddl.DdlResult(cat, "ALTER TABLE"))


_SET_STORAGE: Final = re.compile(
    rf"ALTER\s+TABLE\s+(IF\s+EXISTS\s+)?(?:ONLY\s+)?(?:({IDENT})\.)?({IDENT})\s+"
    rf"ALTER\s+(?:COLUMN\s+)?({IDENT})\s+SET\s+STORAGE\s+(\w+)\s*;?\s*$",
    re.I | re.S,
)
_STORAGE_CODES: Final = {"plain": "p", "external": "e", "extended": "x", "main": "m"}


def _set_storage(session: Session, m: re.Match[str]) -> Result:
    """ALTER TABLE t ALTER COLUMN c SET STORAGE mode (pgvector's README suggests PLAIN
    for vectors). It is recorded for pg_attribute; vecgres's Arrow segments have no
    TOAST, so it changes nothing about how values are stored."""
    mode = m.group(5).lower()
    code = _STORAGE_CODES.get(mode)
    if code is None:
        raise errors.InvalidParameterValue(f'invalid storage type "{m.group(5)}"')
    schema = ident(m.group(2)) if m.group(2) else None
    altered = _table_to_alter(session, ident(m.group(3)), schema, bool(m.group(1)))
    if altered is None:
        return _skipped_alter(session)
    cat, table = altered
    name = ident(m.group(4))
    col = table.column(name)
    if col is None:
        raise errors.UndefinedColumn(f'column "{name}" of relation "{table.name}" does not exist')
    if code != "p" and col.type.typlen > 0 and not col.type.is_array:
        raise errors.FeatureNotSupported(
            f"column data type {col.type.name} can only have storage PLAIN"
        )
    col.storage = code
    return session._apply_ddl(ddl.DdlResult(cat, "ALTER TABLE"))


def _add_column(session: Session, table: Table, action: exp.ColumnDef) -> None:
    name = action.name
    if table.column(name) is not None and action.args.get("exists"):
        session.notice(
            f'column "{name}" of relation "{table.name}" already exists, skipping', "42701"
        )
        return
    if table.column(name) is not None:
        raise errors.DuplicateColumn(f'column "{name}" of relation "{table.name}" already exists')
    kind = action.args.get("kind")
    if kind is None:
        raise errors.SyntaxError_("syntax error in ADD COLUMN")
    col = Column(table.next_column_id, name, sql_type(kind))
    table.next_column_id += 1
    for constraint in action.constraints:
        ckind = constraint.kind
        if isinstance(ckind, exp.DefaultColumnConstraint):
            col.default = ckind.this.sql(dialect=DIALECT)
        elif isinstance(ckind, exp.NotNullColumnConstraint):
            col.not_null = True
        elif isinstance(ckind, exp.PrimaryKeyColumnConstraint | exp.UniqueColumnConstraint):
            raise errors.FeatureNotSupported("adding a key column is not supported yet")
    if col.default is not None:
        # existing rows read the default as it is now (PostgreSQL's attmissingval)
        value = session.execute(f"SELECT CAST({col.default} AS {col.type})")
        rows = list(value.batches())
        col.missing = rows[0].column(0).to_pylist()[0] if rows and rows[0].num_rows else None
        if hasattr(col.missing, "isoformat") or not isinstance(
            col.missing, int | float | str | bool | type(None)
        ):
            col.missing = str(col.missing) if col.missing is not None else None
    stored = session.db.snapshot().table(table.oid)
    if col.not_null and col.missing is None and stored is not None and stored.num_rows():
        raise errors.NotNullViolation(
            f'column "{name}" of relation "{table.name}" contains null values'
        )
    table.columns.append(col)
