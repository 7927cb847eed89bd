"""Cluster-wide statements: CREATE/DROP DATABASE and CREATE/ALTER/DROP ROLE (or USER).

Databases and roles belong to the whole data directory, not to the one
database a ``Session`` runs in, so the engine hands these statements to a
``ClusterHooks`` object the owner of the data directory (the wire server's
``Cluster``) wires into each ``Database``. This module parses the statements
(sqlglot turns them into opaque commands) and calls the hooks; it knows
nothing about files or the wire.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Final, Protocol

from vecgres import errors
from vecgres.result import Notice, Result

_ADMIN_RE: Final = re.compile(r"^\s*(CREATE|DROP|ALTER)\s+(DATABASE|ROLE|USER)\b(.*)$", re.I | re.S)
# one word of a role option list: a keyword, a quoted string, a number or an identifier
_TOKEN_RE: Final = re.compile(r"""\s*('(?:[^']|'')*'|"(?:[^"]|"")*"|[A-Za-z_][\w$]*|-?\d+|=|,)""")

# role attributes and their catalog names (pg_authid's columns without the rol prefix)
_FLAGS: Final = {
    "SUPERUSER": ("superuser", True),
    "NOSUPERUSER": ("superuser", False),
    "CREATEDB": ("createdb", True),
    "NOCREATEDB": ("createdb", False),
    "CREATEROLE": ("createrole", True),
    "NOCREATEROLE": ("createrole", False),
    "INHERIT": ("inherit", True),
    "NOINHERIT": ("inherit", False),
    "LOGIN": ("login", True),
    "NOLOGIN": ("login", False),
    "REPLICATION": ("replication", True),
    "NOREPLICATION": ("replication", False),
    "BYPASSRLS": ("bypassrls", True),
    "NOBYPASSRLS": ("bypassrls", False),
}


@dataclass(slots=True)
class RoleOptions:
    """What a CREATE/ALTER ROLE statement said; ``password`` is None when not mentioned."""

    flags: dict[str, bool] = field(default_factory=dict)
    password: str | None = None
    clear_password: bool = False  # PASSWORD NULL
    connection_limit: int | None = None
    valid_until: str | None = None


class ClusterHooks(Protocol):
    """What the owner of the data directory does for the statements of this module."""

    def create_database(self, name: str, owner: str = ...) -> None: ...

    def drop_database(self, name: str, *, missing_ok: bool, current: str) -> bool:
        """Remove a database; False if it was missing and ``missing_ok``."""

    def create_role(self, name: str, options: RoleOptions) -> None: ...

    def alter_role(self, name: str, options: RoleOptions) -> None: ...

    def drop_role(self, name: str, *, missing_ok: bool, current: str) -> bool:
        """Remove a role; False if it was missing and ``missing_ok``."""

    def role_attributes(self, name: str) -> dict[str, bool] | None:
        """superuser/createdb/createrole/login of a role; None if there is no such role."""

    # roles' membership and databases' owners and ACLs (used by vecgres.sql.grants)
    def role_names(self) -> list[str]: ...

    def role_catalog(self) -> list[dict[str, Any]]:
        """Every role's oid, name, attributes and memberships (for pg_authid and friends)."""

    def has_database(self, name: str) -> bool: ...

    def privileges_of(self, name: str) -> set[str]:
        """``name`` and the roles whose privileges it inherits."""

    def is_member(self, name: str, group: str) -> bool: ...

    def grant_membership(self, group: str, member: str) -> bool: ...

    def revoke_membership(self, group: str, member: str) -> bool: ...

    def database_owner(self, name: str) -> str: ...

    def database_acl(self, name: str) -> dict[str, list[str]] | None: ...

    def set_database_acl(self, name: str, acl: dict[str, list[str]]) -> None: ...

    def set_database_owner(self, name: str, owner: str) -> None: ...

    def remote_dependencies(self, role: str, current: str) -> list[tuple[str, int]]:
        """(database, how many objects ``role`` owns or is granted there), other databases."""

    def database_mentions(self, role: str) -> list[tuple[str, str]]:
        """(database, "owner"|"privileges") where ``role`` is named."""


def is_admin(sql: str) -> bool:
    return _ADMIN_RE.match(sql) is not None


def needs_no_transaction(sql: str) -> str | None:
    """The statement name if it cannot run inside a transaction block (as PostgreSQL)."""
    m = _ADMIN_RE.match(sql)
    if m is not None and m.group(2).upper() == "DATABASE" and m.group(1).upper() != "ALTER":
        return f"{m.group(1).upper()} DATABASE"
    return None


def run(hooks: ClusterHooks | None, sql: str, *, database: str, user: str) -> Result:
    m = _ADMIN_RE.match(sql)
    assert m is not None
    verb, noun, rest = m.group(1).upper(), m.group(2).upper(), m.group(3)
    if hooks is None:
        raise errors.FeatureNotSupported(
            f"{verb} {noun} needs the server's data directory of several databases",
            hint='Run it through "vecgres serve".',
        )
    words = _tokens(rest)
    attrs = hooks.role_attributes(user)
    # a --users file's user is the operator's (the cluster reports it as a superuser)
    me = attrs or {}  # a role dropped while its session lives on may do nothing
    if noun == "DATABASE":
        if verb == "CREATE" and not (me.get("superuser") or me.get("createdb")):
            raise errors.InsufficientPrivilege("permission denied to create database")
        return _database(hooks, verb, words, database, user)
    _check_role_privilege(hooks, me, verb, words, user)
    return _role(hooks, verb, noun, words, user)


def _check_role_privilege(
    hooks: ClusterHooks, me: dict[str, bool], verb: str, words: list[str], user: str
) -> None:
    """PostgreSQL 15's rules: CREATEROLE manages non-superusers, superusers manage all."""
    if me.get("superuser"):
        return
    names = [_unquote(w) for w in words if w != "," and w.upper() not in ("IF", "EXISTS")]
    target = names[0] if names else ""
    upper = {w.upper() for w in words[1:]}
    if verb == "CREATE":
        if "SUPERUSER" in upper:
            raise errors.InsufficientPrivilege("must be superuser to create superusers")
        if not me.get("createrole"):
            raise errors.InsufficientPrivilege("permission denied to create role")
        return
    if verb == "ALTER":
        other = hooks.role_attributes(target) or {}
        if other.get("superuser") or "SUPERUSER" in upper or "NOSUPERUSER" in upper:
            raise errors.InsufficientPrivilege(
                "must be superuser to alter superuser roles or change superuser attribute"
            )
        # a role may change its own password without CREATEROLE
        own_password = target == user and upper <= {"PASSWORD", "ENCRYPTED", "WITH"} | {
            w.upper() for w in words if w.startswith("'")
        }
        if not me.get("createrole") and not own_password:
            raise errors.InsufficientPrivilege("permission denied")
        return
    for name in names:
        other = hooks.role_attributes(name) or {}
        if other.get("superuser"):
            raise errors.InsufficientPrivilege("must be superuser to drop superusers")
    if not me.get("createrole"):
        raise errors.InsufficientPrivilege("permission denied to drop role")


def _database(hooks: ClusterHooks, verb: str, words: list[str], current: str, owner: str) -> Result:
    if verb == "CREATE":
        name, options = _name(words), words[1:]
        _check_database_options(options)
        hooks.create_database(name, owner)
        return Result(None, None, "CREATE DATABASE")
    if verb == "DROP":
        missing_ok = _if_exists(words)
        name = _name(words)
        tail = [w.upper() for w in words[1:]]
        if tail and tail[0] not in ("WITH", "("):
            raise errors.SyntaxError_(f'syntax error at or near "{words[1]}"')
        if not hooks.drop_database(name, missing_ok=missing_ok, current=current):
            notice = Notice("NOTICE", "00000", f'database "{name}" does not exist, skipping')
            return Result(None, None, "DROP DATABASE", notices=[notice])
        return Result(None, None, "DROP DATABASE")
    raise errors.FeatureNotSupported("ALTER DATABASE is not supported yet")


def _check_database_options(words: list[str]) -> None:
    upper = [w.upper() for w in words]
    for i, word in enumerate(upper):
        if word == "ENCODING" and i + 1 < len(words):
            value = words[i + 2] if words[i + 1] == "=" and i + 2 < len(words) else words[i + 1]
            encoding = _unquote(value).upper().replace("-", "")
            if encoding not in ("UTF8", "UNICODE"):
                raise errors.InvalidParameterValue(
                    f"new encoding ({_unquote(value).upper()}) is incompatible with the "
                    "encoding of the template database (UTF8)",
                    hint="Use the same encoding as in the template database, "
                    "or use template0 as template.",
                )


def _role(hooks: ClusterHooks, verb: str, noun: str, words: list[str], user: str) -> Result:
    tag = f"{verb} ROLE"
    if verb == "DROP":
        missing_ok = _if_exists(words)
        names = [_unquote(w) for w in words if w != ","]
        if not names:
            raise errors.SyntaxError_("syntax error at end of input")
        notices = [
            Notice("NOTICE", "00000", f'role "{name}" does not exist, skipping')
            for name in names
            if not hooks.drop_role(name, missing_ok=missing_ok, current=user)
        ]
        return Result(None, None, tag, notices=notices)
    name = _name(words)
    if verb == "ALTER" and len(words) > 1 and words[1].upper() in ("SET", "RESET", "RENAME"):
        raise errors.FeatureNotSupported(f"ALTER ROLE ... {words[1].upper()} is not supported yet")
    options = _role_options(words[1:])
    if verb == "CREATE":
        if noun == "USER":
            options.flags.setdefault("login", True)
        hooks.create_role(name, options)
    else:
        hooks.alter_role(name, options)
    return Result(None, None, tag)


def _role_options(words: list[str]) -> RoleOptions:
    options = RoleOptions()
    i = 1 if words and words[0].upper() == "WITH" else 0
    while i < len(words):
        word = words[i].upper()
        if word in _FLAGS:
            key, flag = _FLAGS[word]
            options.flags[key] = flag
            i += 1
        elif word in ("PASSWORD", "ENCRYPTED", "UNENCRYPTED"):
            if word != "PASSWORD":
                i += 1
                if i >= len(words) or words[i].upper() != "PASSWORD":
                    raise _syntax(words, i)
            if i + 1 >= len(words):
                raise _syntax(words, i + 1)
            value = words[i + 1]
            if value.upper() == "NULL":
                options.clear_password = True
                options.password = None
            elif value.startswith("'"):
                options.password = _unquote(value)
                if options.password == "":
                    options.clear_password = True
                    options.password = None
            else:
                raise _syntax(words, i + 1)
            i += 2
        elif word == "CONNECTION" and i + 2 < len(words) and words[i + 1].upper() == "LIMIT":
            options.connection_limit = int(words[i + 2])
            i += 3
        elif word == "VALID" and i + 2 < len(words) and words[i + 1].upper() == "UNTIL":
            options.valid_until = _unquote(words[i + 2])
            i += 3
        elif word in ("IN", "ROLE", "ADMIN", "USER", "SYSID"):
            raise errors.FeatureNotSupported("role membership is not supported yet")
        else:
            raise _syntax(words, i)
    return options


def _tokens(text: str) -> list[str]:
    text = text.strip().rstrip(";").strip()
    out: list[str] = []
    pos = 0
    while pos < len(text):
        m = _TOKEN_RE.match(text, pos)
        if m is None:
            if text[pos:].strip():
                raise errors.SyntaxError_(f'syntax error at or near "{text[pos:].split()[0]}"')
            break
        out.append(m.group(1))
        pos = m.end()
    return out


def _if_exists(words: list[str]) -> bool:
    if len(words) >= 2 and words[0].upper() == "IF" and words[1].upper() == "EXISTS":
        del words[:2]
        return True
    return False


def _name(words: list[str]) -> str:
    if not words or words[0] in ("=", ","):
        raise errors.SyntaxError_("syntax error at end of input")
    if words[0].startswith("'"):
        raise errors.SyntaxError_(f'syntax error at or near "{words[0]}"')
    return _unquote(words[0])


def _unquote(word: str) -> str:
    if len(word) >= 2 and word[0] == word[-1] == '"':
        return word[1:-1].replace('""', '"')
    if len(word) >= 2 and word[0] == word[-1] == "'":
        return word[1:-1].replace("''", "'")
    return word.lower()


def _syntax(words: list[str], i: int) -> errors.VecgresError:
    if i >= len(words):
        return errors.SyntaxError_("syntax error at end of input")
    return errors.SyntaxError_(f'syntax error at or near "{words[i]}"')
