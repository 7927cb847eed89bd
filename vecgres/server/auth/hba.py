"""Host-based authentication rules: PostgreSQL's pg_hba.conf lines, first match wins.

Line format: ``type database user address method`` (``local`` lines have no
address). Types: local, host, hostssl, hostnossl. Methods: trust, reject,
password, md5, scram-sha-256. Database field: names, ``all``, ``sameuser``
(the database named like the user), ``samerole``/``samegroup`` (the user is a
member of the role named like the database). User field: names, ``all``,
``+group`` (members of that role). Address: a CIDR, an address with a
separate mask, or ``all``. Fields may be comma-separated lists, as in
pg_hba.conf; ``@file`` inclusions are not supported.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Final

METHODS: Final = frozenset({"trust", "reject", "password", "md5", "scram-sha-256"})
TYPES: Final = frozenset({"local", "host", "hostssl", "hostnossl"})

# whether a role is a member of another (directly or through other roles): for +group, samerole
Membership = Callable[[str, str], bool]


class HbaError(ValueError):
    """A malformed rule file (reported at start-up with the line number)."""


@dataclass(frozen=True, slots=True)
class HbaRule:
    conn_type: str
    databases: frozenset[str]
    users: frozenset[str]
    network: ipaddress.IPv4Network | ipaddress.IPv6Network | None
    method: str

    def matches(
        self,
        *,
        database: str,
        user: str,
        address: str | None,
        ssl: bool,
        member: Membership | None = None,
    ) -> bool:
        if self.conn_type == "local":
            if address is not None:
                return False
        else:
            if address is None:
                return False
            if self.conn_type == "hostssl" and not ssl:
                return False
            if self.conn_type == "hostnossl" and ssl:
                return False
            if self.network is not None:
                try:
                    ip = ipaddress.ip_address(address.split("%")[0])
                except ValueError:
                    return False
                if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
                    ip = ip.ipv4_mapped
                if ip.version != self.network.version or ip not in self.network:
                    return False
        return self._database_matches(database, user, member) and self._user_matches(user, member)

    def _database_matches(self, database: str, user: str, member: Membership | None) -> bool:
        for entry in self.databases:
            if entry == "all" or entry == database:
                return True
            if entry == "sameuser" and database == user:
                return True
            if entry in ("samerole", "samegroup") and member is not None and member(user, database):
                return True
        return False

    def _user_matches(self, user: str, member: Membership | None) -> bool:
        for entry in self.users:
            if entry == "all" or entry == user:
                return True
            if entry.startswith("+") and member is not None and member(user, entry[1:]):
                return True
        return False


def _network(text: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network | None:
    if text in ("all", "0.0.0.0/0", "::/0") and text == "all":
        return None
    if text == "samehost" or text == "localhost":
        raise HbaError(f"address {text!r} is not supported")
    return ipaddress.ip_network(text, strict=False)


def _is_address(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def parse_rules(text: str) -> list[HbaRule]:
    rules: list[HbaRule] = []
    for line_no, raw in enumerate(text.splitlines(), 1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        fields = line.split()
        conn_type = fields[0]
        if conn_type not in TYPES:
            raise HbaError(f"line {line_no}: invalid connection type {conn_type!r}")
        want = 4 if conn_type == "local" else 5
        if len(fields) < want:
            raise HbaError(f"line {line_no}: expected {want} fields")
        if conn_type != "local" and len(fields) >= 6 and _is_address(fields[4]):
            # "address mask" in two fields, as PostgreSQL also accepts
            fields[3:5] = [f"{fields[3]}/{fields[4]}"]
        try:
            network = None if conn_type == "local" else _network(fields[3])
        except ValueError as exc:
            raise HbaError(f"line {line_no}: {exc}") from None
        method = fields[want - 1]
        if method not in METHODS:
            raise HbaError(f"line {line_no}: invalid authentication method {method!r}")
        rules.append(
            HbaRule(
                conn_type,
                frozenset(fields[1].split(",")),
                frozenset(fields[2].split(",")),
                network,
                method,
            )
        )
    return rules


# no rule file: local connections are trusted, anything else must prove a password
DEFAULT_RULES: Final = parse_rules(
    """
    local all all trust
    host all all 127.0.0.1/32 trust
    host all all ::1/128 trust
    host all all 0.0.0.0/0 scram-sha-256
    host all all ::/0 scram-sha-256
    """
)


def load_rules(path: str | Path | None) -> list[HbaRule]:
    if path is None:
        return list(DEFAULT_RULES)
    return parse_rules(Path(path).read_text())


def choose_method(
    rules: list[HbaRule],
    *,
    database: str,
    user: str,
    address: str | None,
    ssl: bool,
    member: Membership | None = None,
) -> str | None:
    """The method of the first matching rule, or None (no pg_hba.conf entry)."""
    for rule in rules:
        if rule.matches(database=database, user=user, address=address, ssl=ssl, member=member):
            return rule.method
    return None
