"""Where passwords live until the catalog stores roles: a small ``UserStore`` protocol.

A store answers with the user's SCRAM verifier and/or MD5 hash; plaintext is
never kept. ``JsonUserStore`` reads ``{"user": "password" | {"scram": "...",
"md5": "md5..."}}`` and turns any plaintext into a verifier on load.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from vecgres.server.auth.scram import make_verifier


@dataclass(frozen=True, slots=True)
class Credentials:
    scram: str | None = None  # SCRAM-SHA-256$... verifier
    md5: str | None = None  # "md5" + md5(password + user), PostgreSQL's md5 format


class UserStore(Protocol):
    def credentials(self, user: str) -> Credentials | None:
        """The user's stored secrets, or None if the user has no password (or is unknown)."""


def md5_hash(password: str, user: str) -> str:
    return "md5" + hashlib.md5((password + user).encode()).hexdigest()


class MemoryUserStore:
    def __init__(self) -> None:
        self._users: dict[str, Credentials] = {}

    def set_password(self, user: str, password: str) -> None:
        self._users[user] = Credentials(make_verifier(password), md5_hash(password, user))

    def set_credentials(self, user: str, credentials: Credentials) -> None:
        self._users[user] = credentials

    def credentials(self, user: str) -> Credentials | None:
        return self._users.get(user)


class JsonUserStore(MemoryUserStore):
    def __init__(self, path: str | Path) -> None:
        super().__init__()
        data = json.loads(Path(path).read_text())
        if not isinstance(data, dict):
            raise ValueError(f"{path}: expected a JSON object of users")
        for user, entry in data.items():
            if isinstance(entry, str):
                if entry.startswith("SCRAM-SHA-256$"):
                    self.set_credentials(user, Credentials(scram=entry))
                else:
                    self.set_password(user, entry)
            elif isinstance(entry, dict):
                self.set_credentials(user, Credentials(entry.get("scram"), entry.get("md5")))
            else:
                raise ValueError(f"{path}: bad entry for user {user!r}")
