"""ALTER TABLE … ADD / DROP / RENAME / VALIDATE CONSTRAINT, and what constraints
mean for DROP TABLE and TRUNCATE (the referencing side depends on the referenced)."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Final

import pyarrow as pa
from sqlglot import exp

from vecgres import errors
from vecgres.catalog.model import Catalog, Column, Constraint, Index, Table
from vecgres.executor.relation import visible_rows
from vecgres.result import Result
from vecgres.sql import checks, constraint_build, foreign_keys
from vecgres.sql.dialect import DIALECT

if TYPE_CHECKING:
    from vecgres.engine import Session

_IDENT = r'(?:"(?:[^"]|"")+"|[A-Za-z_][\w$]*)'
_ALTER_HEAD = rf"ALTER\s+TABLE\s+(IF\s+EXISTS\s+)?(?:ONLY\s+)?(?:({_IDENT})\.)?({_IDENT})\s+"
_RENAME: Final = re.compile(
    _ALTER_HEAD + rf"RENAME\s+CONSTRAINT\s+({_IDENT})\s+TO\s+({_IDENT})\s*;?\s*$", re.I | re.S
)
_VALIDATE: Final = re.compile(
    _ALTER_HEAD + rf"VALIDATE\s+CONSTRAINT\s+({_IDENT})\s*;?\s*$", re.I | re.S
)
_ADD: Final = re.compile(_ALTER_HEAD + r"ADD\s+(CHECK\b.*)$", re.I | re.S)


def _ident(text: str) -> str:
    if text.startswith('"'):
        return text[1:-1].replace('""', '"')
    return text.lower()


def command(session: Session, text: str) -> Result | None:
    """The ALTER TABLE forms sqlglot leaves as a command; None when ``text`` is none of them."""
    from vecgres.sql import ddl
    from vecgres.sql.ddl_more import _skipped_alter, _table_to_alter

    for pattern in (_RENAME, _VALIDATE, _ADD):
        m = pattern.match(text)
        if m is None:
            continue
        schema = _ident(m.group(2)) if m.group(2) else None
        altered = _table_to_alter(session, _ident(m.group(3)), schema, bool(m.group(1)))
        if altered is None:
            return _skipped_alter(session)
        cat, table = altered
        if pattern is _RENAME:
            rename(cat, table, _ident(m.group(4)), _ident(m.group(5)))
        elif pattern is _VALIDATE:
            validate(session, table, _ident(m.group(4)))
        else:
            parsed = session._parse_one(f"ALTER TABLE t ADD CONSTRAINT __unnamed {m.group(4)}")
            assert isinstance(parsed, exp.Alter)
            action = parsed.args["actions"][0]
            action.expressions[0].set("this", None)
            add(session, cat, table, action, parsed)
        return session._apply_ddl(ddl.DdlResult(cat, "ALTER TABLE"))
    return None


def is_constraint_action(action: exp.Expr) -> bool:
    return isinstance(action, exp.AddConstraint) or (
        isinstance(action, exp.Drop) and (action.args.get("kind") or "").upper() == "CONSTRAINT"
    )


def alter_action(
    session: Session, cat: Catalog, table: Table, action: exp.Expr, alter: exp.Alter
) -> None:
    if isinstance(action, exp.AddConstraint):
        add(session, cat, table, action, alter)
        return
    assert isinstance(action, exp.Drop)
    targets = action.args.get("tables") or [action.this]
    for target in targets:
        drop(
            session,
            cat,
            table,
            target.name,
            missing_ok=bool(action.args.get("exists")),
            cascade=bool(action.args.get("cascade")),
        )


def add(
    session: Session, cat: Catalog, table: Table, action: exp.AddConstraint, alter: exp.Alter
) -> None:
    not_valid = bool(alter.args.get("not_valid"))
    path = session.settings.search_path()
    taken = constraint_build.constraint_names(cat, table.schema)
    for item in action.expressions:
        name = item.name if isinstance(item, exp.Constraint) and item.name else None
        inner = item.expressions[0] if isinstance(item, exp.Constraint) else item
        if isinstance(inner, exp.PrimaryKey | exp.UniqueColumnConstraint):
            _add_key(session, cat, table, inner, name, taken)
            continue
        spec = constraint_build.spec_of(inner, name)
        if spec is None:
            raise errors.FeatureNotSupported(f"constraint {item.sql()} is not supported yet")
        spec.not_valid = not_valid
        con = constraint_build.build(cat, table, spec, path, taken)
        if con.validated:
            _validate_existing(session, table, con)
        table.constraints.append(con)


def _add_key(
    session: Session,
    cat: Catalog,
    table: Table,
    node: exp.PrimaryKey | exp.UniqueColumnConstraint,
    name: str | None,
    taken: set[str],
) -> None:
    primary = isinstance(node, exp.PrimaryKey)
    if primary:
        cols = [e.name for e in node.expressions]
    else:
        target = node.this
        cols = [e.name for e in target.expressions] if isinstance(target, exp.Schema) else []
    for col_name in cols:
        if table.column(col_name) is None:
            raise errors.UndefinedColumn(f'column "{col_name}" named in key does not exist')
    if primary and table.primary_key is not None:
        raise errors.InvalidTableDefinition(
            f'multiple primary keys for table "{table.name}" are not allowed'
        )
    if name is not None and (
        name in (c.name for c in table.constraints)
        or name in (i.constraint_name for i in table.indexes)
    ):
        raise errors.DuplicateObject(
            f'constraint "{name}" for relation "{table.name}" already exists'
        )
    if name is None:
        name = (
            constraint_build.choose_name(taken, table.name, None, "pkey")
            if primary
            else constraint_build.choose_name(taken, table.name, "_".join(cols), "key")
        )
    if cat.name_taken(table.schema, name):
        raise errors.DuplicateTable(f'relation "{name}" already exists')
    idx = Index(cat.allocate_oid(), name, cols, unique=True, primary=primary, constraint_name=name)
    if primary:
        _require_not_null(session, table, cols)
        for col_name in cols:
            col = table.column(col_name)
            assert col is not None
            col.not_null = True
    table.indexes.append(idx)
    session.db.keys.check_new_index(table, idx, session)


def _rows(session: Session, table: Table) -> pa.Table:
    assert session.txn is not None
    pending = session.txn.pending.get(table.oid)
    return visible_rows(table, session.db.snapshot().table(table.oid), pending)


def _require_not_null(session: Session, table: Table, cols: list[str]) -> None:
    data = _rows(session, table)
    for name in cols:
        if data.column(name).null_count:
            raise errors.NotNullViolation(
                f'column "{name}" of relation "{table.name}" contains null values'
            )


def _validate_existing(session: Session, table: Table, con: Constraint) -> None:
    if con.kind == "c":
        if checks.violated_by_existing(session, table, con):
            raise errors.CheckViolation(
                f'check constraint "{con.name}" of relation "{table.name}" is violated by some row'
            )
        return
    foreign_keys.check_keys(session, table, con, _rows(session, table))


def validate(session: Session, table: Table, name: str) -> None:
    con = next((c for c in table.constraints if c.name == name), None)
    if con is None:
        if any(i.constraint_name == name for i in table.indexes):
            return
        raise errors.UndefinedObject(
            f'constraint "{name}" of relation "{table.name}" does not exist'
        )
    if not con.validated:
        _validate_existing(session, table, con)
        con.validated = True


def rename(cat: Catalog, table: Table, old: str, new: str) -> None:
    taken = {c.name for c in table.constraints} | {
        i.constraint_name for i in table.indexes if i.constraint_name
    }
    if new in taken:
        raise errors.DuplicateObject(
            f'constraint "{new}" for relation "{table.name}" already exists'
        )
    for con in table.constraints:
        if con.name == old:
            con.name = new
            return
    for idx in table.indexes:
        if idx.constraint_name == old:
            if cat.name_taken(table.schema, new):
                raise errors.DuplicateTable(f'relation "{new}" already exists')
            idx.constraint_name = new
            idx.name = new
            return
    raise errors.UndefinedObject(f'constraint "{old}" for table "{table.name}" does not exist')


def drop(
    session: Session, cat: Catalog, table: Table, name: str, *, missing_ok: bool, cascade: bool
) -> None:
    for con in table.constraints:
        if con.name == name:
            table.constraints = [c for c in table.constraints if c is not con]
            return
    for idx in table.indexes:
        if idx.constraint_name != name:
            continue
        dependents = [
            (child, con)
            for child, con in foreign_keys.referencing(cat, table)
            if constraint_build.key_index(table, _names(table, con.ref_columns)) is idx
        ]
        if dependents and not cascade:
            raise errors.DependentObjectsStillExist(
                f"cannot drop constraint {name} on table {table.name} because other objects "
                "depend on it",
                detail="\n".join(
                    f"constraint {con.name} on table {child.name} depends on index {idx.name}"
                    for child, con in dependents
                ),
                hint="Use DROP ... CASCADE to drop the dependent objects too.",
            )
        for child, con in dependents:
            session.notice(f"drop cascades to constraint {con.name} on table {child.name}")
            child.constraints = [c for c in child.constraints if c is not con]
        table.indexes = [i for i in table.indexes if i is not idx]
        return
    if missing_ok:
        session.notice(f'constraint "{name}" of relation "{table.name}" does not exist, skipping')
        return
    raise errors.UndefinedObject(f'constraint "{name}" of relation "{table.name}" does not exist')


def _names(table: Table, ids: list[int]) -> list[str]:
    return [col.name for i in ids if (col := table.column_by_id(i)) is not None]


def drop_table_dependents(
    cat: Catalog, table: Table, dropping: set[int], cascade: bool, notices: list[str]
) -> None:
    """DROP TABLE of a referenced table: foreign keys of other tables depend on it."""
    dependents = [
        (child, con)
        for child, con in foreign_keys.referencing(cat, table)
        if child.oid != table.oid and child.oid not in dropping
    ]
    if not dependents:
        return
    if not cascade:
        raise errors.DependentObjectsStillExist(
            f"cannot drop table {table.name} because other objects depend on it",
            detail="\n".join(
                f"constraint {con.name} on table {child.name} depends on table {table.name}"
                for child, con in sorted(dependents, key=lambda d: (d[0].name, d[1].name))
            ),
            hint="Use DROP ... CASCADE to drop the dependent objects too.",
        )
    for child, con in dependents:
        notices.append(f"drop cascades to constraint {con.name} on table {child.name}")
        child.constraints = [c for c in child.constraints if c is not con]


def dropping_oids(cat: Catalog, targets: list[exp.Expr], search_path: list[str]) -> set[int]:
    out = set()
    for target in targets:
        if isinstance(target, exp.Table):
            found = cat.resolve(target.name, target.db or None, search_path)
            if isinstance(found, Table):
                out.add(found.oid)
    return out


def truncate_targets(session: Session, cat: Catalog, oids: list[int], cascade: bool) -> list[int]:
    """TRUNCATE: a table referenced from a table not truncated with it is an error,
    unless CASCADE, which truncates the referencing tables too."""
    out = list(oids)
    i = 0
    while i < len(out):
        table = cat.tables[out[i]]
        for child, _con in foreign_keys.referencing(cat, table):
            if child.oid in out:
                continue
            if not cascade:
                raise errors.FeatureNotSupported(
                    "cannot truncate a table referenced in a foreign key constraint",
                    detail=f'Table "{child.name}" references "{table.name}".',
                    hint=f'Truncate table "{child.name}" at the same time, or use TRUNCATE '
                    "... CASCADE.",
                )
            session.notice(f'truncate cascades to table "{child.name}"')
            session.lock_table(child)
            out.append(child.oid)
        i += 1
    return out


def drop_column(session: Session, cat: Catalog, table: Table, col: Column, cascade: bool) -> None:
    """DROP COLUMN: the table's constraints on the column go with it; another table's
    foreign key referencing it goes only with CASCADE."""
    table.constraints = [c for c in table.constraints if col.id not in c.columns]
    for child, con in foreign_keys.referencing(cat, table):
        if col.id not in con.ref_columns or child.oid == table.oid:
            continue
        if not cascade:
            raise errors.DependentObjectsStillExist(
                f"cannot drop column {col.name} of table {table.name} because other objects "
                "depend on it",
                detail=f"constraint {con.name} on table {child.name} depends on column "
                f"{col.name} of table {table.name}",
                hint="Use DROP ... CASCADE to drop the dependent objects too.",
            )
        session.notice(f"drop cascades to constraint {con.name} on table {child.name}")
        child.constraints = [c for c in child.constraints if c is not con]


def rename_column(table: Table, old: str, new: str) -> None:
    """RENAME COLUMN: CHECK expressions name the column (keys hold column ids)."""
    for con in table.constraints:
        if con.kind != "c" or con.expression is None:
            continue
        parsed = DIALECT.parse(f"SELECT {con.expression}")[0]
        assert isinstance(parsed, exp.Select)
        body = parsed.expressions[0]
        for node in body.find_all(exp.Column):
            if node.name == old:
                node.set("this", exp.to_identifier(new, quoted=True))
        con.expression = body.sql(dialect=DIALECT)
