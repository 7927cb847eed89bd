"""Host-based authentication rules: PostgreSQL's pg_hba.conf lines, first match wins.

Line format: ``type database user address method`` (``local`` lines have no
address). Types: local, host, hostssl, hostnossl. Methods: trust, reject,
password, md5, scram-sha-256. ``all`` matches any database or user;
``samerole``/groups are not supported.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from pathlib import Path
from typing import Final

METHODS: Final = frozenset({"trust", "reject", "password", "md5", "scram-sha-256"})
TYPES: Final = frozenset({"local", "host", "hostssl", "hostnossl"})


class HbaError(ValueError):
    """A malformed rule file (reported at start-up with the line number)."""


@dataclass(frozen=True, slots=True)
class HbaRule:
    conn_type: str
    databases: frozenset[str]
    users: frozenset[str]
    network: ipaddress.IPv4Network | ipaddress.IPv6Network | None
    method: str

    def matches(self, *, database: str, user: str, address: str | None, ssl: bool) -> bool:
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
        if "all" not in self.databases and database not in self.databases:
            return False
        return "all" in self.users or user in self.users


def _network(text: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network | None:
    if text in ("all", "0.0.0.0/0", "::/0") and text == "all":
        return None
    if text == "samehost" or text == "localhost":
        raise HbaError(f"address {text!r} is not supported")
    return ipaddress.ip_network(text, strict=False)


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
    rules: list[HbaRule], *, database: str, user: str, address: str | None, ssl: bool
) -> str | None:
    """The method of the first matching rule, or None (no pg_hba.conf entry)."""
    for rule in rules:
        if rule.matches(database=database, user=user, address=address, ssl=ssl):
            return rule.method
    return None
