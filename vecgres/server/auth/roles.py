"""Roles made with CREATE ROLE / CREATE USER: one JSON file per data directory.

Roles belong to the whole cluster (every database sees the same ones), so they
live beside the database directories in ``<data>/roles.json``, replaced
atomically on each change. Passwords are kept only as SCRAM-SHA-256 verifiers
(PostgreSQL's default ``password_encryption``), or as the md5 hash a client
sent already hashed. The store is also the ``UserStore`` the authentication
code asks.
"""

from __future__ import annotations

import json
import threading
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from vecgres.admin import RoleOptions
from vecgres.errors import DuplicateObject, ObjectInUse, UndefinedObject, VecgresError
from vecgres.server.auth.jsonfile import write_durably
from vecgres.server.auth.scram import Verifier, make_verifier
from vecgres.server.auth.users import Credentials, UserStore

FILE_NAME = "roles.json"


class InvalidGrantOperation(VecgresError):
    sqlstate = "0LP01"


# the role initdb makes: it owns the data directory and is always a superuser
BOOTSTRAP_ROLE = "postgres"
BOOTSTRAP_OID = 10
FIRST_ROLE_OID = 16384  # PostgreSQL's FirstNormalObjectId


@dataclass(frozen=True, slots=True)
class Role:
    name: str
    login: bool = False
    superuser: bool = False
    createdb: bool = False
    createrole: bool = False
    inherit: bool = True
    replication: bool = False
    bypassrls: bool = False
    connection_limit: int = -1
    valid_until: str | None = None
    scram: str | None = None
    md5: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    member_of: tuple[str, ...] = ()  # roles granted to this one (GRANT role TO this)
    oid: int = 0  # pg_authid.oid: 10 for the bootstrap superuser, then from FIRST_ROLE_OID


def _secrets(name: str, password: str) -> tuple[str | None, str | None]:
    """(scram, md5) to store for ``password``: a pre-hashed value is kept as given."""
    if password.startswith("SCRAM-SHA-256$") and Verifier.parse(password) is not None:
        return password, None
    if len(password) == 35 and password.startswith("md5"):
        return None, password
    return make_verifier(password), None


class RoleStore:
    def __init__(self, root: str | Path) -> None:
        self.path = Path(root) / FILE_NAME
        self._lock = threading.Lock()
        self._roles: dict[str, Role] = {}
        if self.path.exists():
            data = json.loads(self.path.read_text())
            for name, entry in data.items():
                entry["member_of"] = tuple(entry.get("member_of", ()))
                self._roles[name] = Role(**{**entry, "name": name})
        if any(role.oid == 0 for role in self._roles.values()):
            # roles.json from before OIDs were kept: number them once, in name order
            for name in sorted(self._roles):
                if self._roles[name].oid == 0:
                    oid = BOOTSTRAP_OID if name == BOOTSTRAP_ROLE else self._next_oid()
                    self._roles[name] = replace(self._roles[name], oid=oid)
            self._save()
        if BOOTSTRAP_ROLE not in self._roles:
            self._roles[BOOTSTRAP_ROLE] = Role(
                BOOTSTRAP_ROLE,
                oid=BOOTSTRAP_OID,
                login=True,
                superuser=True,
                createdb=True,
                createrole=True,
                replication=True,
                bypassrls=True,
            )
            self._save()

    def get(self, name: str) -> Role | None:
        return self._roles.get(name)

    def attributes(self, name: str) -> dict[str, bool] | None:
        role = self._roles.get(name)
        if role is None:
            return None
        return {
            "superuser": role.superuser,
            "createdb": role.createdb,
            "createrole": role.createrole,
            "login": role.login,
        }

    def credentials(self, user: str) -> Credentials | None:
        role = self._roles.get(user)
        if role is None or (role.scram is None and role.md5 is None):
            return None
        return Credentials(role.scram, role.md5)

    def create(self, name: str, options: RoleOptions) -> None:
        with self._lock:
            if name in self._roles:
                raise DuplicateObject(f'role "{name}" already exists')
            self._roles[name] = self._apply(Role(name, oid=self._next_oid()), options)
            self._save()

    def alter(self, name: str, options: RoleOptions) -> None:
        with self._lock:
            role = self._roles.get(name)
            if role is None:
                raise UndefinedObject(f'role "{name}" does not exist')
            self._roles[name] = self._apply(role, options)
            self._save()

    def drop(self, name: str, *, missing_ok: bool, current: str) -> bool:
        with self._lock:
            if name not in self._roles:
                if missing_ok:
                    return False
                raise UndefinedObject(f'role "{name}" does not exist')
            if name == current:
                raise ObjectInUse("current user cannot be dropped")
            if name == BOOTSTRAP_ROLE:
                raise ObjectInUse(
                    f"cannot drop role {name} because it is required by the database system"
                )
            del self._roles[name]
            for other, role in list(self._roles.items()):
                if name in role.member_of:
                    left = tuple(r for r in role.member_of if r != name)
                    self._roles[other] = replace(role, member_of=left)
            self._save()
            return True

    def _next_oid(self) -> int:
        return max([FIRST_ROLE_OID - 1, *(r.oid for r in self._roles.values())]) + 1

    def catalog_rows(self) -> list[dict[str, Any]]:
        """One dict per role for pg_authid/pg_roles/pg_auth_members (no secrets)."""
        keep = (
            *("oid", "name", "superuser", "inherit", "createrole", "createdb", "login"),
            *("replication", "bypassrls", "connection_limit", "valid_until", "member_of"),
        )
        return [
            {key: getattr(role, key) for key in keep}
            for role in sorted(self._roles.values(), key=lambda r: r.oid)
        ]

    # --- membership (GRANT role TO role) ---------------------------------------------------
    def names(self) -> list[str]:
        return sorted(self._roles)

    def grant_membership(self, group: str, member: str) -> bool:
        """Make ``member`` a member of ``group``; False if it already was."""
        with self._lock:
            for name in (group, member):
                if name not in self._roles:
                    raise UndefinedObject(f'role "{name}" does not exist')
            role = self._roles[member]
            if group in role.member_of:
                return False
            if group == member or self.is_member(group, member):
                raise InvalidGrantOperation(f'role "{group}" is a member of role "{member}"')
            self._roles[member] = replace(role, member_of=(*role.member_of, group))
            self._save()
            return True

    def revoke_membership(self, group: str, member: str) -> bool:
        """End ``member``'s membership of ``group``; False if it was not a member."""
        with self._lock:
            for name in (group, member):
                if name not in self._roles:
                    raise UndefinedObject(f'role "{name}" does not exist')
            role = self._roles[member]
            if group not in role.member_of:
                return False
            left = tuple(r for r in role.member_of if r != group)
            self._roles[member] = replace(role, member_of=left)
            self._save()
            return True

    def is_member(self, name: str, group: str) -> bool:
        """Whether ``name`` is ``group`` or a member of it, directly or through other roles."""
        return group in self._closure(name, inherit_only=False)

    def privileges_of(self, name: str) -> set[str]:
        """The roles whose privileges ``name`` uses: itself and what it inherits (INHERIT)."""
        return self._closure(name, inherit_only=True)

    def _closure(self, name: str, *, inherit_only: bool) -> set[str]:
        seen = {name}
        todo = [name]
        while todo:
            role = self._roles.get(todo.pop())
            if role is None or (inherit_only and not role.inherit):
                continue
            for group in role.member_of:
                if group not in seen:
                    seen.add(group)
                    todo.append(group)
        return seen

    def _apply(self, role: Role, options: RoleOptions) -> Role:
        changes: dict[str, Any] = dict(options.flags)
        if options.clear_password:
            changes["scram"] = changes["md5"] = None
        elif options.password is not None:
            changes["scram"], changes["md5"] = _secrets(role.name, options.password)
        if options.connection_limit is not None:
            changes["connection_limit"] = options.connection_limit
        if options.valid_until is not None:
            changes["valid_until"] = options.valid_until
        return replace(role, **changes)

    def _save(self) -> None:
        data = {}
        for name, role in sorted(self._roles.items()):
            entry = asdict(role)
            del entry["name"]
            data[name] = entry
        write_durably(self.path, data)


class ChainedUserStore:
    """The first store that knows the user answers (a --users file, then SQL roles)."""

    def __init__(self, *stores: UserStore) -> None:
        self.stores = stores

    def credentials(self, user: str) -> Credentials | None:
        for store in self.stores:
            found = store.credentials(user)
            if found is not None:
                return found
        return None
