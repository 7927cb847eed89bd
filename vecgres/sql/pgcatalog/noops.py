"""Session statements that have nothing to do in vecgres, answered as PostgreSQL answers them.

asyncpg resets a pooled connection with ``SELECT pg_advisory_unlock_all();
CLOSE ALL; UNLISTEN *; RESET ALL``. vecgres keeps no advisory locks and no
listeners, so ``UNLISTEN`` has nothing to release: it succeeds with its
command tag (``CLOSE ALL`` is the cursors' own statement). psycopg sends
``DEALLOCATE ALL`` after DDL invalidated its prepared statements: the
connection drops them (``deallocate``) and the statement answers with its tag.
"""

from __future__ import annotations

import re
from collections.abc import MutableMapping

from vecgres import errors

_NOOPS = (
    (re.compile(r"^\s*UNLISTEN\s+(\*|\"[^\"]+\"|\w+)\s*;?\s*$", re.I), "UNLISTEN"),
    (re.compile(r"^\s*DEALLOCATE\s+(PREPARE\s+)?ALL\s*;?\s*$", re.I), "DEALLOCATE ALL"),
    (re.compile(r"^\s*DEALLOCATE\s+(PREPARE\s+)?(\"[^\"]+\"|\w+)\s*;?\s*$", re.I), "DEALLOCATE"),
)
_DEALLOCATE = re.compile(r"^\s*DEALLOCATE\s+(?:PREPARE\s+)?(\"[^\"]+\"|\w+)\s*;?\s*$", re.I)


def noop_tag(sql: str) -> str | None:
    """The command tag of a statement with nothing to do, else None."""
    for pattern, tag in _NOOPS:
        if pattern.match(sql):
            return tag
    return None


def deallocate(sql: str, *mappings: MutableMapping[str, object], missing_ok: bool = False) -> None:
    """Drop the prepared statements a ``DEALLOCATE`` names from ``mappings`` (the
    protocol-level ones and those of SQL PREPARE share one namespace)."""
    match = _DEALLOCATE.match(sql)
    if match is None:
        return
    word = match.group(1)
    if word.upper() == "ALL":
        for statements in mappings:
            for name in [n for n in statements if n]:
                del statements[name]
        return
    name = word[1:-1].replace('""', '"') if word.startswith('"') else word.lower()
    found = False
    for statements in mappings:
        if name in statements:
            del statements[name]
            found = True
    if not found and not missing_ok:
        raise errors.InvalidSqlStatementName(f'prepared statement "{name}" does not exist')
