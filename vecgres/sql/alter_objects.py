"""ALTER INDEX ... RENAME TO and ALTER TABLE ... SET SCHEMA: catalog-only renames and moves."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Final

from sqlglot import exp

from vecgres import errors
from vecgres.catalog.model import Catalog, Table
from vecgres.result import Result
from vecgres.sql import ddl
from vecgres.sql.grants import ident

if TYPE_CHECKING:
    from vecgres.engine import Session


def alter_index(session: Session, ast: exp.Alter) -> Result:
    """``ALTER INDEX [IF EXISTS] name RENAME TO new`` (an index behind a constraint
    renames the constraint too, as PostgreSQL's RenameRelation does)."""
    actions = ast.args.get("actions") or []
    if len(actions) != 1 or not isinstance(actions[0], exp.AlterRename):
        raise errors.FeatureNotSupported("ALTER INDEX supports only RENAME TO")
    target = ast.this
    catalog = session._catalog()
    schemas = [target.db] if target.db else session.settings.search_path()
    found = None
    for schema in schemas:
        found = catalog.find_index(schema, target.name)
        if found is not None:
            break
    if found is None:
        relation = catalog.resolve(target.name, target.db or None, session.settings.search_path())
        if isinstance(relation, Table):
            # PostgreSQL's RenameRelation renames whatever relation ALTER INDEX names
            return _rename_table(session, catalog, relation, actions[0].this.name)
        if ast.args.get("exists"):
            session.notice(f'relation "{target.name}" does not exist, skipping')
            return Result(None, None, "ALTER INDEX", notices=session._take_notices())
        raise errors.UndefinedTable(f'relation "{target.name}" does not exist')
    table, index = found
    new = actions[0].this.name
    if catalog.name_taken(table.schema, new):
        raise errors.DuplicateTable(f'relation "{new}" already exists')
    session.lock_table(table)
    cat = catalog.edit()
    for idx in cat.tables[table.oid].indexes:
        if idx.oid == index.oid:
            idx.name = new
            if idx.constraint_name == index.name:
                idx.constraint_name = new
    return session._apply_ddl(ddl.DdlResult(cat, "ALTER INDEX"))


def _rename_table(session: Session, catalog: Catalog, table: Table, new: str) -> Result:
    if catalog.name_taken(table.schema, new):
        raise errors.DuplicateTable(f'relation "{new}" already exists')
    session.lock_table(table)
    cat = catalog.edit()
    cat.tables[table.oid].name = new
    return session._apply_ddl(ddl.DdlResult(cat, "ALTER INDEX"))


IDENT: Final = r'(?:"(?:[^"]|"")+"|[A-Za-z_][\w$]*)'  # one name, quoted or not
_SET_SCHEMA: Final = re.compile(
    rf"ALTER\s+TABLE\s+(IF\s+EXISTS\s+)?(?:ONLY\s+)?(?:({IDENT})\.)?({IDENT})\s+"
    rf"SET\s+SCHEMA\s+({IDENT})\s*;?\s*$",
    re.I | re.S,
)


def is_set_schema(text: str) -> bool:
    return _SET_SCHEMA.match(text) is not None


def set_schema(session: Session, text: str) -> Result:
    """``ALTER TABLE t SET SCHEMA s``: the table, its indexes and its owned sequences move."""
    m = _SET_SCHEMA.match(text)
    assert m is not None
    catalog = session._catalog()
    name = ident(m.group(3))
    schema = ident(m.group(2)) if m.group(2) else None
    found = catalog.resolve(name, schema, session.settings.search_path())
    if not isinstance(found, Table):
        if m.group(1):
            session.notice(f'relation "{name}" does not exist, skipping')
            return Result(None, None, "ALTER TABLE", notices=session._take_notices())
        raise errors.UndefinedTable(f'relation "{name}" does not exist')
    target = ident(m.group(4))
    if target not in catalog.schemas:
        raise errors.InvalidSchemaName(f'schema "{target}" does not exist')
    cat = catalog.edit()
    table = cat.tables[found.oid]
    if table.schema == target:
        return session._apply_ddl(ddl.DdlResult(cat, "ALTER TABLE"))
    session.lock_table(table)
    if cat.find_relation(target, name) is not None:
        raise errors.DuplicateTable(f'relation "{name}" already exists in schema "{target}"')
    for idx in table.indexes:
        if cat.name_taken(target, idx.name):
            raise errors.DuplicateTable(
                f'relation "{idx.name}" already exists in schema "{target}"'
            )
    source = table.schema
    for seq in cat.sequences.values():
        if seq.owned_by is not None and seq.schema == source and seq.owned_by[0] == name:
            if cat.find_relation(target, seq.name) is not None:
                raise errors.DuplicateTable(
                    f'relation "{seq.name}" already exists in schema "{target}"'
                )
            seq.schema = target
            # defaults name their sequence by text: qualify it, as pg_get_expr would show
            for col in table.columns:
                if col.default == f"nextval('{seq.name}'::regclass)":
                    col.default = f"nextval('{target}.{seq.name}'::regclass)"
    table.schema = target
    return session._apply_ddl(ddl.DdlResult(cat, "ALTER TABLE"))
