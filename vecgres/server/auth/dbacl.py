"""Owners and privileges of databases (CONNECT, CREATE, TEMPORARY): ``<data>/databases.json``.

Like roles, databases belong to the whole cluster (pg_database is a shared
catalog), so their owners and ACLs live beside ``roles.json`` rather than in
one database's catalog. A database with no entry is owned by the bootstrap
superuser and has PostgreSQL's default ACL (PUBLIC may CONNECT and TEMPORARY,
the owner may do everything); ``acl`` stays None until the first GRANT or
REVOKE, as ``pg_database.datacl`` stays NULL.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Final

from vecgres.errors import InsufficientPrivilege, Severity
from vecgres.server.auth.jsonfile import write_durably

FILE_NAME: Final = "databases.json"
BOOTSTRAP_OWNER: Final = "postgres"
PUBLIC: Final = "public"
DATABASE_PRIVILEGES: Final = ("CREATE", "TEMPORARY", "CONNECT")

Acl = dict[str, list[str]]


class InsufficientPrivilegeFatal(InsufficientPrivilege):
    """42501 at connection start: the connection ends (PostgreSQL reports it as FATAL)."""

    severity = Severity.FATAL


def default_acl(owner: str) -> Acl:
    """PostgreSQL's acldefault for a database: PUBLIC=Tc, owner=CTc (in that order)."""
    return {PUBLIC: ["TEMPORARY", "CONNECT"], owner: list(DATABASE_PRIVILEGES)}


class DatabaseAcls:
    def __init__(self, root: str | Path) -> None:
        self.path = Path(root) / FILE_NAME
        self._lock = threading.Lock()
        self._entries: dict[str, dict[str, object]] = {}
        if self.path.exists():
            self._entries = json.loads(self.path.read_text())

    def owner(self, database: str) -> str:
        entry = self._entries.get(database, {})
        owner = entry.get("owner")
        return owner if isinstance(owner, str) else BOOTSTRAP_OWNER

    def acl(self, database: str) -> Acl | None:
        """The stored ACL, or None while it is the default."""
        acl = self._entries.get(database, {}).get("acl")
        return {k: list(v) for k, v in acl.items()} if isinstance(acl, dict) else None

    def effective_acl(self, database: str) -> Acl:
        acl = self.acl(database)
        return acl if acl is not None else default_acl(self.owner(database))

    def created(self, database: str, owner: str) -> None:
        with self._lock:
            self._entries[database] = {"owner": owner, "acl": None}
            self._save()

    def dropped(self, database: str) -> None:
        with self._lock:
            if self._entries.pop(database, None) is not None:
                self._save()

    def set_acl(self, database: str, acl: Acl) -> None:
        with self._lock:
            entry = self._entries.setdefault(database, {"owner": BOOTSTRAP_OWNER})
            entry["acl"] = acl
            self._save()

    def set_owner(self, database: str, owner: str) -> None:
        with self._lock:
            entry = self._entries.setdefault(database, {"owner": BOOTSTRAP_OWNER, "acl": None})
            old = entry.get("owner") or BOOTSTRAP_OWNER
            entry["owner"] = owner
            acl = entry.get("acl")
            if isinstance(acl, dict) and old in acl:
                # the old owner's own entry moves to the new owner (PostgreSQL's aclnewowner)
                entry["acl"] = {(owner if k == old else k): v for k, v in acl.items()}
            self._save()

    def role_dropped(self, role: str) -> None:
        with self._lock:
            changed = False
            for entry in self._entries.values():
                acl = entry.get("acl")
                if isinstance(acl, dict) and role in acl:
                    del acl[role]
                    changed = True
            if changed:
                self._save()

    def mentions(self, role: str) -> list[tuple[str, str]]:
        """(database, "owner"|"privileges") for each database ``role`` owns or is granted on."""
        out: list[tuple[str, str]] = []
        for name in sorted(self._entries):
            if self.owner(name) == role:
                out.append((name, "owner"))
            acl = self.acl(name)
            if acl is not None and role in acl and self.owner(name) != role:
                out.append((name, "privileges"))
        return out

    def _save(self) -> None:
        write_durably(self.path, self._entries)
