"""DDL: statements that change the catalog, as functions from an old catalog to a new one."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlglot import exp

from vecgres import errors
from vecgres.catalog.model import Catalog, Column, Index, Sequence, Table
from vecgres.sql import constraint_build, constraint_ddl, create_like
from vecgres.sql.dialect import DIALECT
from vecgres.sql.typemap import SERIAL_TYPES, sql_type
from vecgres.types import SqlType

NAMEDATALEN = 63


@dataclass(slots=True)
class DdlResult:
    catalog: Catalog
    tag: str
    notices: list[str] = field(default_factory=list)
    created_table: Table | None = None
    dropped_tables: list[int] = field(default_factory=list)
    truncated_tables: list[int] = field(default_factory=list)


def _ident(node: exp.Expr | None) -> str:
    if node is None:
        return ""
    return node.name if isinstance(node, exp.Identifier | exp.Column) else str(node.this)


def _target_schema(table: exp.Table, catalog: Catalog, search_path: list[str]) -> str:
    if table.db:
        if table.db not in catalog.schemas:
            raise errors.InvalidSchemaName(f'schema "{table.db}" does not exist')
        return table.db
    for schema in search_path:
        if schema in catalog.schemas:
            return schema
    raise errors.InvalidSchemaName("no schema has been selected to create in")


def default_sql(node: exp.Expr) -> str:
    return node.sql(dialect=DIALECT)


def create_table(stmt: exp.Create, catalog: Catalog, search_path: list[str]) -> DdlResult:
    schema_node = stmt.this
    if not isinstance(schema_node, exp.Schema) or not isinstance(schema_node.this, exp.Table):
        if stmt.expression is not None:
            raise errors.FeatureNotSupported("CREATE TABLE AS is not supported yet")
        raise errors.SyntaxError_("syntax error in CREATE TABLE")
    table_node = schema_node.this
    for prop in stmt.args["properties"].expressions if stmt.args.get("properties") else []:
        if isinstance(prop, exp.InheritsProperty):
            raise errors.FeatureNotSupported("table inheritance (INHERITS) is not supported")
    name = table_node.name
    schema = _target_schema(table_node, catalog, search_path)
    if catalog.find_relation(schema, name) is not None:
        if stmt.args.get("exists"):
            return DdlResult(
                catalog, "CREATE TABLE", [f'relation "{name}" already exists, skipping']
            )
        raise errors.DuplicateTable(f'relation "{name}" already exists')
    cat = catalog.edit()
    oid = cat.allocate_oid()
    columns: list[Column] = []
    primary: list[str] | None = None
    uniques: list[list[str]] = []
    specs: list[constraint_build.Spec] = []
    next_id = 1
    likes: list[create_like.Like] = []
    for item in schema_node.expressions:
        if isinstance(item, exp.LikeProperty):
            likes.append(create_like.like_of(item, catalog, search_path))
            for copied in likes[-1].columns(next_id):
                if any(c.name == copied.name for c in columns):
                    raise errors.DuplicateColumn(f'column "{copied.name}" specified more than once')
                columns.append(copied)
                next_id += 1
        elif isinstance(item, exp.ColumnDef):
            col_name = item.name
            if any(c.name == col_name for c in columns):
                raise errors.DuplicateColumn(f'column "{col_name}" specified more than once')
            kind = item.args.get("kind")
            if kind is None:
                raise errors.SyntaxError_(f'syntax error at or near "{col_name}"')
            col_type = sql_type(kind)
            col = Column(next_id, col_name, col_type)
            next_id += 1
            is_serial = isinstance(kind, exp.DataType) and kind.this in SERIAL_TYPES
            for constraint in item.constraints:
                ckind = constraint.kind
                if isinstance(ckind, exp.PrimaryKeyColumnConstraint):
                    if primary is not None:
                        raise errors.InvalidTableDefinition(
                            f'multiple primary keys for table "{name}" are not allowed'
                        )
                    primary = [col_name]
                    col.not_null = True
                elif isinstance(ckind, exp.NotNullColumnConstraint):
                    col.not_null = not ckind.args.get("allow_null")
                elif isinstance(ckind, exp.UniqueColumnConstraint):
                    uniques.append([col_name])
                elif isinstance(ckind, exp.DefaultColumnConstraint):
                    col.default = default_sql(ckind.this)
                elif isinstance(ckind, exp.GeneratedAsIdentityColumnConstraint):
                    is_serial = True
                elif isinstance(ckind, exp.CheckColumnConstraint | exp.Reference):
                    named = constraint.args.get("this")
                    specs.append(
                        constraint_build.Spec(ckind, named.name if named else None, [col_name])
                    )
            if is_serial:
                seq_name = _serial_name(name, col_name, cat, schema)
                seq_oid = cat.allocate_oid()
                type_name = col_type.name
                cat.sequences[seq_oid] = Sequence(
                    seq_oid,
                    schema,
                    seq_name,
                    max_value={"smallint": 32767, "integer": 2147483647}.get(
                        type_name, 9223372036854775807
                    ),
                    type_name=type_name,
                    owned_by=(name, col_name),
                )
                col.default = f"nextval('{seq_name}'::regclass)"
                col.not_null = True
            columns.append(col)
        elif isinstance(item, exp.PrimaryKey):
            if primary is not None:
                raise errors.InvalidTableDefinition(
                    f'multiple primary keys for table "{name}" are not allowed'
                )
            primary = [_ident(e) for e in item.expressions]
        elif isinstance(item, exp.UniqueColumnConstraint | exp.Constraint):
            inner = item
            if isinstance(item, exp.Constraint):
                inner = item.expressions[0] if item.expressions else item
            if isinstance(inner, exp.PrimaryKey):
                primary = [_ident(e) for e in inner.expressions]
            elif isinstance(inner, exp.UniqueColumnConstraint):
                target = inner.this
                cols = (
                    [_ident(e) for e in target.expressions]
                    if isinstance(target, exp.Schema)
                    else []
                )
                uniques.append(cols)
            else:
                spec = constraint_build.spec_of(item)
                if spec is None:
                    raise errors.FeatureNotSupported(
                        f"constraint {item.sql()} is not supported yet"
                    )
                specs.append(spec)
        elif (spec := constraint_build.spec_of(item)) is not None:
            specs.append(spec)
        else:
            if "MATCH PARTIAL" in item.sql().upper():
                raise errors.FeatureNotSupported("MATCH PARTIAL not yet implemented")
            raise errors.FeatureNotSupported(f"table element {item.sql()} is not supported yet")
    if not columns:
        raise errors.FeatureNotSupported("tables without columns are not supported")
    table = Table(oid, schema, name, columns, next_id)
    if primary is not None:
        for key in primary:
            key_col = table.column(key)
            if key_col is None:
                raise errors.UndefinedColumn(f'column "{key}" named in key does not exist')
            key_col.not_null = True
        pk_name = f"{name}_pkey"
        table.indexes.append(
            Index(
                cat.allocate_oid(),
                pk_name,
                primary,
                unique=True,
                primary=True,
                constraint_name=pk_name,
            )
        )
    for cols in uniques:
        for key in cols:
            if table.column(key) is None:
                raise errors.UndefinedColumn(f'column "{key}" named in key does not exist')
        idx_name = f"{name}_{'_'.join(cols)}_key"
        table.indexes.append(
            Index(cat.allocate_oid(), idx_name, cols, unique=True, constraint_name=idx_name)
        )
    taken = constraint_build.constraint_names(cat, schema)
    for spec in specs:
        table.constraints.append(constraint_build.build(cat, table, spec, search_path, taken))
    for like in likes:
        like.copy_indexes(cat, table)
        like.copy_checks(cat, table)
    cat.tables[oid] = table
    return DdlResult(cat, "CREATE TABLE", created_table=table)


def _serial_name(table: str, column: str, cat: Catalog, schema: str) -> str:
    base = f"{table}_{column}_seq"
    name = base
    n = 0
    while cat.name_taken(schema, name):
        n += 1
        name = f"{base}{n}"
    return name


def drop_objects(stmt: exp.Drop, catalog: Catalog, search_path: list[str]) -> DdlResult:
    kind = (stmt.kind or "").upper()
    targets = stmt.args.get("tables") or stmt.expressions or [stmt.this]
    cat = catalog.edit()
    result = DdlResult(cat, f"DROP {kind}")
    for target in targets:
        if not isinstance(target, exp.Table):
            raise errors.SyntaxError_("syntax error in DROP")
        name = _schema_name(target) if kind == "SCHEMA" else target.name
        if kind == "SCHEMA":
            if name not in cat.schemas:
                if stmt.args.get("exists"):
                    result.notices.append(f'schema "{name}" does not exist, skipping')
                    continue
                raise errors.InvalidSchemaName(f'schema "{name}" does not exist')
            members = [t for t in cat.tables.values() if t.schema == name]
            members_seq = [s for s in cat.sequences.values() if s.schema == name]
            if (members or members_seq) and not stmt.args.get("cascade"):
                raise errors.DependentObjectsStillExist(
                    f"cannot drop schema {name} because other objects depend on it",
                    hint="Use DROP ... CASCADE to drop the dependent objects too.",
                )
            for t in members:
                del cat.tables[t.oid]
                result.dropped_tables.append(t.oid)
            for s in members_seq:
                del cat.sequences[s.oid]
            del cat.schemas[name]
            continue
        if kind == "INDEX":
            found = _find_index(cat, target, search_path)
            if found is None:
                if stmt.args.get("exists"):
                    result.notices.append(f'index "{name}" does not exist, skipping')
                    continue
                raise errors.UndefinedObject(f'index "{name}" does not exist')
            table, idx = found
            if idx.constraint_name:
                raise errors.DependentObjectsStillExist(
                    f"cannot drop index {name} because constraint {idx.constraint_name} on "
                    f"table {table.name} requires it",
                    hint=f"You can drop constraint {idx.constraint_name} on table "
                    f"{table.name} instead.",
                )
            table.indexes = [i for i in table.indexes if i.oid != idx.oid]
            continue
        found_rel = cat.resolve(name, target.db or None, search_path)
        want_view = kind == "VIEW"
        want_seq = kind == "SEQUENCE"
        ok = (want_seq and isinstance(found_rel, Sequence)) or (
            not want_seq and isinstance(found_rel, Table) and (found_rel.kind == "v") == want_view
        )
        if found_rel is None or not ok:
            if found_rel is not None and not ok:
                what = {"VIEW": "a view", "SEQUENCE": "a sequence"}.get(kind, "a table")
                raise errors.WrongObjectType(f'"{name}" is not {what}')
            if stmt.args.get("exists"):
                noun = {"VIEW": "view", "SEQUENCE": "sequence"}.get(kind, "table")
                result.notices.append(f'{noun} "{name}" does not exist, skipping')
                continue
            noun = {"VIEW": "view", "SEQUENCE": "sequence"}.get(kind, "table")
            if noun == "view":
                raise errors.UndefinedTable(f'view "{name}" does not exist')
            raise errors.UndefinedTable(f'{noun} "{name}" does not exist')
        if isinstance(found_rel, Sequence):
            del cat.sequences[found_rel.oid]
            continue
        if found_rel.kind == "r":
            constraint_ddl.drop_table_dependents(
                cat,
                found_rel,
                constraint_ddl.dropping_oids(cat, targets, search_path),
                bool(stmt.args.get("cascade")),
                result.notices,
            )
        for view in _dependent_views(cat, found_rel, search_path):
            if not stmt.args.get("cascade"):
                noun = "view" if found_rel.kind == "v" else "table"
                raise errors.DependentObjectsStillExist(
                    f"cannot drop {noun} {name} because other objects depend on it",
                    detail=f"view {view.name} depends on {noun} {name}",
                    hint="Use DROP ... CASCADE to drop the dependent objects too.",
                )
            result.notices.append(f"drop cascades to view {view.name}")
            del cat.tables[view.oid]
        del cat.tables[found_rel.oid]
        if found_rel.kind == "r":
            result.dropped_tables.append(found_rel.oid)
            for seq in list(cat.sequences.values()):
                if (
                    seq.owned_by is not None
                    and seq.schema == found_rel.schema
                    and seq.owned_by[0] == found_rel.name
                ):
                    del cat.sequences[seq.oid]
    return result


def _dependent_views(cat: Catalog, target: Table, search_path: list[str]) -> list[Table]:
    """Views whose query names ``target`` (directly)."""
    out = []
    for view in list(cat.tables.values()):
        if view.kind != "v" or not view.view_sql or view.oid == target.oid:
            continue
        try:
            parsed = DIALECT.parse(view.view_sql)[0]
        except Exception:  # a view we stored ourselves; unparsable means no known dependency
            continue
        if parsed is None:
            continue
        for node in parsed.find_all(exp.Table):
            found = cat.resolve(node.name, node.db or None, [view.schema, *search_path])
            if found is not None and found.oid == target.oid:
                out.append(view)
                break
    return out


def _find_index(
    cat: Catalog, target: exp.Table, search_path: list[str]
) -> tuple[Table, Index] | None:
    schemas = [target.db] if target.db else search_path
    for schema in schemas:
        found = cat.find_index(schema, target.name)
        if found is not None:
            return found
    return None


def _schema_name(node: exp.Expr) -> str:
    # sqlglot parses a schema name as a table with only a db part
    if isinstance(node, exp.Table) and not node.name and node.db:
        return node.db
    return node.name


def create_schema(stmt: exp.Create, catalog: Catalog) -> DdlResult:
    name = _schema_name(stmt.this)
    if name in catalog.schemas or name in ("pg_catalog", "information_schema"):
        if stmt.args.get("exists"):
            return DdlResult(
                catalog, "CREATE SCHEMA", [f'schema "{name}" already exists, skipping']
            )
        raise errors.DuplicateSchema(f'schema "{name}" already exists')
    cat = catalog.edit()
    cat.schemas[name] = cat.allocate_oid()
    return DdlResult(cat, "CREATE SCHEMA")


def create_sequence(stmt: exp.Create, catalog: Catalog, search_path: list[str]) -> DdlResult:
    target = stmt.this
    schema = _target_schema(target, catalog, search_path)
    name = target.name
    if catalog.find_relation(schema, name) is not None:
        if stmt.args.get("exists"):
            return DdlResult(
                catalog, "CREATE SEQUENCE", [f'relation "{name}" already exists, skipping']
            )
        raise errors.DuplicateTable(f'relation "{name}" already exists')
    cat = catalog.edit()
    seq = Sequence(cat.allocate_oid(), schema, name)
    props = stmt.args.get("properties")
    for prop in props.expressions if props is not None else []:
        if isinstance(prop, exp.SequenceProperties):
            for key in ("start", "increment", "minvalue", "maxvalue"):
                val = prop.args.get(key)
                if val is None:
                    continue
                number = int(val.sql())
                if key == "start":
                    seq.start = number
                elif key == "increment":
                    seq.increment = number
                elif key == "minvalue":
                    seq.min_value = number
                else:
                    seq.max_value = number
            if prop.args.get("cycle"):
                seq.cycle = True
    if seq.increment < 0 and seq.max_value == 9223372036854775807:
        seq.max_value = -1
        seq.min_value = -9223372036854775808
        if seq.start == 1:
            seq.start = -1
    if seq.increment == 0:
        raise errors.InvalidParameterValue("INCREMENT must not be zero")
    cat.sequences[seq.oid] = seq
    return DdlResult(cat, "CREATE SEQUENCE")


def create_view(
    stmt: exp.Create, catalog: Catalog, search_path: list[str], columns: list[tuple[str, SqlType]]
) -> DdlResult:
    target = stmt.this
    if isinstance(target, exp.Schema):
        target = target.this
    schema = _target_schema(target, catalog, search_path)
    name = target.name
    existing = catalog.find_relation(schema, name)
    replace = bool(stmt.args.get("replace"))
    if existing is not None and not (
        replace and isinstance(existing, Table) and existing.kind == "v"
    ):
        raise errors.DuplicateTable(f'relation "{name}" already exists')
    cat = catalog.edit()
    oid = existing.oid if existing is not None else cat.allocate_oid()
    cols = [Column(i + 1, n, t) for i, (n, t) in enumerate(columns)]
    query = stmt.expression
    cat.tables[oid] = Table(
        oid, schema, name, cols, len(cols) + 1, kind="v", view_sql=query.sql(dialect=DIALECT)
    )
    return DdlResult(cat, "CREATE VIEW")
