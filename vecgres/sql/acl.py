"""ACLs in PostgreSQL's ``aclitem`` text form: ``grantee=privs/grantor``.

``relacl``, ``nspacl`` and ``datacl`` (and so psql's ``\\dp``/``\\dn+``/``\\l``)
show an object's ACL as an array of these, NULL while it still has its
default. PUBLIC is the empty grantee. vecgres has no grant options, so every
grant is the owner's, and the grantor is always the object's owner, as in
PostgreSQL when a superuser or the owner grants.
"""

from __future__ import annotations

import re
from typing import Final

# PostgreSQL's privilege letters, in the bit order it prints them (ACL_ALL_RIGHTS_STR)
LETTERS: Final = {
    "INSERT": "a",
    "SELECT": "r",
    "UPDATE": "w",
    "DELETE": "d",
    "TRUNCATE": "D",
    "REFERENCES": "x",
    "TRIGGER": "t",
    "EXECUTE": "X",
    "USAGE": "U",
    "CREATE": "C",
    "TEMPORARY": "T",
    "CONNECT": "c",
}
_ORDER: Final = list(LETTERS)
_PLAIN_RE: Final = re.compile(r"^[a-z0-9_]+$")


def _name(role: str) -> str:
    """A role name as aclitem prints it (putid): quoted unless plain lower-case."""
    if role == "public":
        return ""
    if _PLAIN_RE.match(role):
        return role
    return '"' + role.replace('"', '""') + '"'


def item(grantee: str, privileges: list[str], grantor: str) -> str:
    letters = "".join(LETTERS[p] for p in sorted(privileges, key=_ORDER.index) if p in LETTERS)
    return f"{_name(grantee)}={letters}/{_name(grantor)}"


def items(acl: dict[str, list[str]] | None, owner: str) -> list[str] | None:
    """The aclitem[] text of a stored ACL (None stays None: the default ACL)."""
    if acl is None or not acl:
        return None
    return [item(grantee, privs, owner) for grantee, privs in acl.items() if privs]
