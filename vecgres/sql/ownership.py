"""ALTER TABLE/VIEW/SEQUENCE/SCHEMA/DATABASE ... OWNER TO role.

PostgreSQL's rules (ATExecChangeOwner, AlterSchemaOwner, AlterDatabaseOwner):
a superuser may give anything to anyone; anyone else must own the object (or
be a member of its owner), be a member of the new owner, and the new owner
must be able to create such an object (CREATE on the table's schema or on the
database, CREATEDB for a database). The old owner's own ACL entry moves to the
new owner, as ``aclnewowner`` does.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Final

from vecgres import errors
from vecgres.catalog.model import Catalog, Sequence, Table
from vecgres.result import Result

if TYPE_CHECKING:
    from vecgres.engine import Session

DATABASE_OID: Final = 5  # pg_database.oid of the current database (pgcatalog.builtins)

_OWNER_RE: Final = re.compile(
    r"^\s*ALTER\s+(?P<kind>TABLE|VIEW|SEQUENCE|SCHEMA|DATABASE)\s+(?:IF\s+EXISTS\s+)?"
    r"(?P<name>(?:\"(?:[^\"]|\"\")*\"|[\w$]+)(?:\s*\.\s*(?:\"(?:[^\"]|\"\")*\"|[\w$]+))?)"
    r"\s+OWNER\s+TO\s+(?P<role>\"(?:[^\"]|\"\")*\"|[\w$]+)\s*;?\s*$",
    re.I | re.S,
)


_IDENT_RE: Final = re.compile(r'"(?:[^"]|"")*"|[\w$]+')


_DROP_DATABASE_RE: Final = re.compile(
    r"^\s*DROP\s+DATABASE\s+(?:IF\s+EXISTS\s+)?(\"(?:[^\"]|\"\")*\"|[\w$]+)", re.I
)


def check_drop_database(session: Session, sql: str) -> None:
    """DROP DATABASE is for its owner (or a superuser): 42501 must be owner of database."""
    from vecgres.sql import grants

    m = _DROP_DATABASE_RE.match(sql)
    cluster = session.db.cluster
    if m is None or cluster is None:
        return
    name = grants.ident(m.group(1))
    if cluster.has_database(name) and not grants._owns(session, cluster.database_owner(name)):
        raise errors.InsufficientPrivilege(f"must be owner of database {name}")


def is_owner_change(sql: str) -> bool:
    return _OWNER_RE.match(sql) is not None


def database_exists(session: Session, name: str) -> bool:
    cluster = session.db.cluster
    return name == session.database if cluster is None else cluster.has_database(name)


def _move_owner(acl: dict[str, list[str]], old: str, new: str) -> dict[str, list[str]]:
    if old not in acl or old == new:
        return acl
    out: dict[str, list[str]] = {}
    for grantee, privs in acl.items():
        key = new if grantee == old else grantee
        have = out.get(key, [])
        out[key] = have + [p for p in privs if p not in have]
    return out


def run(session: Session, sql: str) -> Result:
    from vecgres.sql import grants

    m = _OWNER_RE.match(sql)
    assert m is not None
    kind = m.group("kind").upper()
    parts = [grants.ident(p) for p in _IDENT_RE.findall(m.group("name"))]
    new = grants._role_spec(session, m.group("role"))
    cluster = session.db.cluster
    if cluster is not None and cluster.role_attributes(new) is None:
        raise errors.UndefinedObject(f'role "{new}" does not exist')
    superuser = grants.is_superuser(session)
    mine = grants.roles_of(session, session.user)

    def may_become(owner: str, what: str) -> None:
        if superuser:
            return
        if owner not in mine:
            raise errors.InsufficientPrivilege(f"must be owner of {what}")
        if cluster is not None and not cluster.is_member(session.user, new):
            raise errors.InsufficientPrivilege(f'must be member of role "{new}"')

    if kind == "DATABASE":
        name = parts[-1]
        if cluster is None or not database_exists(session, name):
            raise errors.InvalidCatalogName(f'database "{name}" does not exist')
        old = cluster.database_owner(name)
        may_become(old, f"database {name}")
        attrs = cluster.role_attributes(new) or {}
        if not superuser and not (attrs.get("createdb") or attrs.get("superuser")):
            raise errors.InsufficientPrivilege("permission denied to change owner of database")
        acl = cluster.database_acl(name)
        cluster.set_database_owner(name, new)
        if acl is not None:
            cluster.set_database_acl(name, _move_owner(acl, old, new))
        return Result(None, None, "ALTER DATABASE")
    txn = session._begin_ddl()
    catalog: Catalog = (txn.catalog or session.db.catalog).edit()
    if kind == "SCHEMA":
        name = parts[-1]
        if name not in catalog.schemas:
            raise errors.InvalidSchemaName(f'schema "{name}" does not exist')
        old = grants.schema_owner(session, catalog, name)
        if not superuser and old not in grants._schema_roles(session, session.user):
            raise errors.InsufficientPrivilege(f"must be owner of schema {name}")
        may_become(session.user, f"schema {name}")
        if not superuser and not grants.has_database_privilege(
            session, new, session.database, "CREATE"
        ):
            raise errors.InsufficientPrivilege(f"permission denied for database {session.database}")
        catalog.schema_owners[name] = new
        if name in catalog.schema_acl:
            catalog.schema_acl[name] = _move_owner(catalog.schema_acl[name], old, new)
    else:
        schema = parts[0] if len(parts) == 2 else None
        rel = catalog.resolve(parts[-1], schema, session.settings.search_path())
        shown = ".".join(parts)
        if isinstance(rel, Sequence):
            may_become(rel.owner, f"sequence {rel.name}")
            if not superuser and not grants.has_schema_privilege(
                session, new, rel.schema, "CREATE"
            ):
                raise errors.InsufficientPrivilege(f"permission denied for schema {rel.schema}")
            rel.acl = _move_owner(rel.acl, rel.owner, new)
            rel.owner = new
            from vecgres.sql.ddl import DdlResult

            return session._apply_ddl(DdlResult(catalog, f"ALTER {kind}"))
        if not isinstance(rel, Table):
            raise errors.UndefinedTable(f'relation "{shown}" does not exist')
        word = "view" if rel.kind == "v" else "table"
        if kind == "VIEW" and rel.kind != "v":
            raise errors.WrongObjectType(f'"{rel.name}" is not a view')
        may_become(rel.owner, f"{word} {rel.name}")
        if not superuser and not grants.has_schema_privilege(session, new, rel.schema, "CREATE"):
            raise errors.InsufficientPrivilege(f"permission denied for schema {rel.schema}")
        rel.acl = _move_owner(rel.acl, rel.owner, new)
        rel.owner = new
        for seq in catalog.sequences.values():
            # a serial column's sequence follows its table (PostgreSQL moves owned sequences)
            if seq.schema == rel.schema and seq.owned_by and seq.owned_by[0] == rel.name:
                seq.acl = _move_owner(seq.acl, seq.owner, new)
                seq.owner = new
    from vecgres.sql.ddl import DdlResult

    return session._apply_ddl(DdlResult(catalog, f"ALTER {kind}"))
