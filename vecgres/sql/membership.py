"""Role membership: GRANT role TO role, REVOKE, SET ROLE / RESET ROLE, and DROP ROLE's check.

Memberships are cluster-wide, kept by the cluster's role store; a member
inherits its groups' privileges when it has INHERIT (the default), and may
``SET ROLE`` to any group it belongs to. ``SET ROLE`` changes the session's
current user (``current_user``, the privilege checks, the owner of what it
creates); ``session_user`` stays the role that logged in.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Final

from vecgres import errors
from vecgres.result import Notice, Result

if TYPE_CHECKING:
    from vecgres.catalog.model import Catalog, Sequence, Table
    from vecgres.engine import Session

_MEMBER_RE: Final = re.compile(
    r"^\s*(?P<verb>GRANT|REVOKE)\s+(?P<admin>ADMIN\s+OPTION\s+FOR\s+)?(?P<groups>.+?)\s+"
    r"(?:TO|FROM)\s+(?P<members>.+?)(?P<tail>\s+WITH\s+ADMIN\s+OPTION"
    r"|\s+GRANTED\s+BY\s+\S+|\s+CASCADE|\s+RESTRICT)?\s*;?\s*$",
    re.I | re.S,
)
_ROLE_SETTING_RE: Final = re.compile(
    r"^(?:(?:SESSION|LOCAL)\s+)?ROLE\b(?:\s*(?:TO|=)\s*|\s+)?(?P<value>.*)$", re.I | re.S
)


def session_user(session: Session) -> str:
    """The role that logged in (``SET ROLE`` does not change it)."""
    return session.session_user


def run(session: Session, sql: str) -> Result:
    from vecgres.sql.grants import _role_spec, _split_list, ident

    m = _MEMBER_RE.match(sql)
    if m is None:
        raise errors.SyntaxError_(f'syntax error at or near "{sql.split()[0]}"')
    verb = m.group("verb").upper()
    tail = (m.group("tail") or "").strip().upper()
    if m.group("admin") or tail.startswith("WITH"):
        raise errors.FeatureNotSupported("ADMIN OPTION is not supported yet")
    cluster = session.db.cluster
    if cluster is None:
        raise errors.FeatureNotSupported(
            f"{verb} of a role needs the server's data directory",
            hint='Run it through "vecgres serve".',
        )
    groups = [ident(w) for w in _split_list(m.group("groups"))]
    members = [_role_spec(session, w) for w in _split_list(m.group("members"))]
    me = cluster.role_attributes(session.user)
    superuser = me is not None and me.get("superuser", False)
    for name in [*groups, *members]:
        if cluster.role_attributes(name) is None:
            raise errors.UndefinedObject(f'role "{name}" does not exist')
    notices: list[Notice] = []
    for group in groups:
        attrs = cluster.role_attributes(group) or {}
        if not superuser:
            if attrs.get("superuser"):
                raise errors.InsufficientPrivilege("must be superuser to alter superusers")
            if not (me or {}).get("createrole"):
                raise errors.InsufficientPrivilege(f'must have admin option on role "{group}"')
        for member in members:
            if verb == "GRANT":
                if not cluster.grant_membership(group, member):
                    notices.append(
                        Notice(
                            "NOTICE",
                            "00000",
                            f'role "{member}" is already a member of role "{group}"',
                        )
                    )
            elif not cluster.revoke_membership(group, member):
                notices.append(
                    Notice("WARNING", "01000", f'role "{member}" is not a member of role "{group}"')
                )
    return Result(None, None, f"{verb} ROLE", notices=notices)


# --- SET ROLE ----------------------------------------------------------------------------------
def is_role_setting(verb: str, rest: str) -> bool:
    """SET [SESSION|LOCAL] ROLE ..., RESET ROLE, SHOW ROLE."""
    if verb.upper() in ("RESET", "SHOW"):
        return rest.strip().rstrip(";").strip().lower() == "role"
    return _ROLE_SETTING_RE.match(rest.strip()) is not None


def role_setting(session: Session, verb: str, rest: str) -> Result | None:
    """SET/RESET/SHOW ROLE's result; RESET ALL also resets the role (and returns None)."""
    if verb.upper() == "RESET" and rest.strip().rstrip(";").strip().upper() == "ALL":
        # pools reset a connection with RESET ALL: the next client must not inherit a role
        session.role_setting = None
        session.user = session.session_user
        return None
    if is_role_setting(verb, rest):
        return set_role(session, verb, rest)
    return None


def set_role(session: Session, verb: str, rest: str) -> Result:
    import pyarrow as pa

    from vecgres.result import ColumnInfo
    from vecgres.types import SqlType

    verb = verb.upper()
    login = session_user(session)
    current = session.role_setting
    if verb == "SHOW":
        value = current if current is not None else "none"
        batch = pa.record_batch([pa.array([value], pa.string())], names=["role"])
        return Result([ColumnInfo("role", SqlType("text"))], iter([batch]), "SHOW")
    if verb == "SET" and re.match(r"LOCAL\b", rest.strip(), re.I):
        raise errors.FeatureNotSupported("SET LOCAL ROLE is not supported yet")
    m = _ROLE_SETTING_RE.match(rest.strip().rstrip(";").strip())
    value = "none" if verb == "RESET" or m is None else m.group("value").strip()
    if value.upper() in ("NONE", "DEFAULT", ""):
        target = None
    else:
        if value.startswith("'") and value.endswith("'"):
            name = value[1:-1].replace("''", "'")
        else:
            from vecgres.sql.grants import ident

            name = ident(value)
        cluster = session.db.cluster
        if cluster is not None:
            if cluster.role_attributes(name) is None:
                raise errors.InvalidParameterValue(f'role "{name}" does not exist')
            attrs = cluster.role_attributes(login)
            superuser = attrs is not None and attrs.get("superuser", False)
            if not superuser and not cluster.is_member(login, name):
                raise errors.InsufficientPrivilege(f'permission denied to set role "{name}"')
        target = name
    session.session_user = login
    session.role_setting = target
    session.user = target if target is not None else login
    return Result(None, None, verb)


# --- DROP ROLE ---------------------------------------------------------------------------------
_FIRST_NORMAL_OID: Final = 16384

_DROP_ROLE_RE: Final = re.compile(
    r"^\s*DROP\s+(?:ROLE|USER|GROUP)\s+(?:IF\s+EXISTS\s+)?(.+?);?\s*$", re.I | re.S
)


def check_drop_role(session: Session, sql: str) -> None:
    """2BP01 when a role to drop owns objects or holds privileges (PostgreSQL's DropRole)."""
    m = _DROP_ROLE_RE.match(sql)
    cluster = session.db.cluster
    if m is None or cluster is None:
        return
    from vecgres.sql.grants import _split_list, ident

    for name in (ident(w) for w in _split_list(m.group(1))):
        if cluster.role_attributes(name) is None:
            continue
        # PostgreSQL lists them by OID: the initdb database "postgres" has OID 5, the others
        # were made after initdb (and before their own objects)
        found = [
            (
                5.0 if db == "postgres" else _FIRST_NORMAL_OID - 0.5,
                f"owner of database {db}" if what == "owner" else f"privileges for database {db}",
            )
            for db, what in cluster.database_mentions(name)
        ]
        found += _local_dependencies(session, session._catalog(), name)
        lines = [text for _, text in sorted(found, key=lambda item: item[0])]
        for database, count in cluster.remote_dependencies(name, session.database):
            lines.append(f"{count} object{'' if count == 1 else 's'} in database {database}")
        if lines:
            raise errors.DependentObjectsStillExist(
                f'role "{name}" cannot be dropped because some objects depend on it',
                detail="\n".join(lines),
            )


def count_dependencies(catalog: Catalog, role: str) -> int:
    """How many tables and schemas of ``catalog`` ``role`` owns or holds privileges on."""
    tables = sum(1 for t in catalog.tables.values() if t.owner == role or role in t.acl)
    tables += sum(1 for s in catalog.sequences.values() if s.owner == role or role in s.acl)
    schemas = sum(
        1
        for s in catalog.schemas
        if catalog.schema_owners.get(s) == role or role in catalog.schema_acl.get(s, {})
    )
    return tables + schemas


def _local_dependencies(session: Session, catalog: Catalog, role: str) -> list[tuple[float, str]]:
    """What ``role`` owns or is granted in this database, ordered by OID as PostgreSQL does."""
    path = session.settings.search_path()
    found: list[tuple[int, str]] = []
    relations: list[tuple[Table | Sequence, str]] = [
        (t, "view" if t.kind == "v" else "table") for t in catalog.tables.values()
    ]
    relations += [(seq, "sequence") for seq in catalog.sequences.values()]
    for rel, word in relations:
        visible = catalog.resolve(rel.name, None, path) is rel
        shown = rel.name if visible else f"{rel.schema}.{rel.name}"
        if rel.owner == role:
            found.append((rel.oid, f"owner of {word} {shown}"))
        elif role in rel.acl:
            found.append((rel.oid, f"privileges for {word} {shown}"))
    for schema, oid in catalog.schemas.items():
        if catalog.schema_owners.get(schema) == role:
            found.append((oid, f"owner of schema {schema}"))
        elif role in catalog.schema_acl.get(schema, {}):
            found.append((oid, f"privileges for schema {schema}"))
    return [(float(oid), text) for oid, text in found]
