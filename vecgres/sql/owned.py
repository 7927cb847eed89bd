"""REASSIGN OWNED BY ... TO ... and DROP OWNED BY ...: clearing a role's objects before DROP ROLE.

As in PostgreSQL they act on the current database (its tables, views and
schemas) and on the shared objects (databases): REASSIGN OWNED gives the
role's objects to another role; DROP OWNED drops them and revokes every
privilege granted to the role. Both need the privileges of every role named
(a superuser has them all).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Final

from sqlglot import exp

from vecgres import errors
from vecgres.result import Result

if TYPE_CHECKING:
    from vecgres.catalog.model import Catalog, Sequence, Table
    from vecgres.engine import Session
    from vecgres.sql.ddl import DdlResult

_OWNED_RE: Final = re.compile(
    r"^\s*(?:(?P<reassign>REASSIGN)\s+OWNED\s+BY\s+(?P<from>.+?)\s+TO\s+(?P<to>\S+)"
    r"|(?P<drop>DROP)\s+OWNED\s+BY\s+(?P<roles>.+?)(?:\s+(?P<mode>CASCADE|RESTRICT))?)\s*;?\s*$",
    re.I | re.S,
)


def is_owned_statement(sql: str) -> bool:
    return _OWNED_RE.match(sql) is not None


def run(session: Session, sql: str) -> Result:
    from vecgres.sql import grants

    m = _OWNED_RE.match(sql)
    assert m is not None
    names = [
        grants._role_spec(session, w)
        for w in grants._split_list(m.group("from") or m.group("roles"))
    ]
    new = grants._role_spec(session, m.group("to")) if m.group("reassign") else None
    cluster = session.db.cluster
    for name in [*names, *([new] if new else [])]:
        if cluster is not None and cluster.role_attributes(name) is None:
            raise errors.UndefinedObject(f'role "{name}" does not exist')
    if not grants.is_superuser(session):
        mine = grants.roles_of(session, session.user)
        needed = [*names, *([new] if new else [])]
        if any(name not in mine for name in needed):
            what = "reassign" if new else "drop"
            raise errors.InsufficientPrivilege(f"permission denied to {what} objects")
    txn = session._begin_ddl()
    catalog = (txn.catalog or session.db.catalog).edit()
    from vecgres.sql.ddl import DdlResult

    if new is not None:
        _reassign(session, catalog, names, new)
        return session._apply_ddl(DdlResult(catalog, "REASSIGN OWNED"))
    result = _drop(session, catalog, names, cascade=(m.group("mode") or "").upper() == "CASCADE")
    return session._apply_ddl(result)


def _relations(catalog: Catalog) -> list[Table | Sequence]:
    return [*catalog.tables.values(), *catalog.sequences.values()]


def _reassign(session: Session, catalog: Catalog, olds: list[str], new: str) -> None:
    from vecgres.sql.ownership import _move_owner

    for rel in _relations(catalog):
        if rel.owner in olds:
            rel.acl = _move_owner(rel.acl, rel.owner, new)
            rel.owner = new
    for schema, owner in list(catalog.schema_owners.items()):
        if owner in olds:
            catalog.schema_owners[schema] = new
            if schema in catalog.schema_acl:
                catalog.schema_acl[schema] = _move_owner(catalog.schema_acl[schema], owner, new)
    cluster = session.db.cluster
    if cluster is not None:
        for database, what in [m for old in olds for m in cluster.database_mentions(old)]:
            if what == "owner":
                old = cluster.database_owner(database)
                acl = cluster.database_acl(database)
                cluster.set_database_owner(database, new)
                if acl is not None:
                    cluster.set_database_acl(database, _move_owner(acl, old, new))


def _drop(session: Session, catalog: Catalog, roles: list[str], *, cascade: bool) -> DdlResult:
    from vecgres.sql.ddl import DdlResult, drop_objects

    path = session.settings.search_path()
    dropped: list[int] = []
    notices: list[str] = []
    # views first: a view of the role's over its own table goes before the table
    owned = sorted(
        (t for t in catalog.tables.values() if t.owner in roles),
        key=lambda t: (t.kind != "v", t.oid),
    )
    for rel in owned:
        if rel.oid not in catalog.tables:
            continue  # went with an earlier CASCADE
        stmt = exp.Drop(
            kind="VIEW" if rel.kind == "v" else "TABLE",
            tables=[exp.to_table(f'"{rel.schema}"."{rel.name}"')],
            cascade=cascade,
        )
        step = drop_objects(stmt, catalog, path)
        catalog, dropped, notices = (
            step.catalog,
            dropped + step.dropped_tables,
            notices + step.notices,
        )
    for seq in [s for s in catalog.sequences.values() if s.owner in roles]:
        if seq.oid in catalog.sequences:  # not gone with its table
            stmt = exp.Drop(kind="SEQUENCE", tables=[exp.to_table(f'"{seq.schema}"."{seq.name}"')])
            catalog = drop_objects(stmt, catalog, path).catalog
    for schema in [s for s, owner in catalog.schema_owners.items() if owner in roles]:
        stmt = exp.Drop(kind="SCHEMA", tables=[exp.Table(db=exp.to_identifier(schema))])
        stmt.set("cascade", cascade)
        step = drop_objects(stmt, catalog, path)
        catalog, dropped = step.catalog, dropped + step.dropped_tables
        catalog.schema_owners.pop(schema, None)
        catalog.schema_acl.pop(schema, None)
    # and every privilege granted to the roles
    for item in _relations(catalog):
        for role in roles:
            item.acl.pop(role, None)
    for acl in catalog.schema_acl.values():
        for role in roles:
            acl.pop(role, None)
    cluster = session.db.cluster
    if cluster is not None:
        for role in roles:
            for database, what in cluster.database_mentions(role):
                db_acl = cluster.database_acl(database)
                if what == "privileges" and db_acl is not None:
                    db_acl.pop(role, None)
                    cluster.set_database_acl(database, db_acl)
    return DdlResult(catalog, "DROP OWNED", notices=notices, dropped_tables=dropped)
