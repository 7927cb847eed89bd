"""Session statements that have nothing to do in vecgres, answered as PostgreSQL answers them.

asyncpg resets a pooled connection with ``SELECT pg_advisory_unlock_all();
CLOSE ALL; UNLISTEN *; RESET ALL``. vecgres keeps no advisory locks and no
listeners, so ``UNLISTEN`` has nothing to release: it succeeds with its
command tag (``CLOSE ALL`` is the cursors' own statement).
"""

from __future__ import annotations

import re

_NOOPS = ((re.compile(r"^\s*UNLISTEN\s+(\*|\"[^\"]+\"|\w+)\s*;?\s*$", re.I), "UNLISTEN"),)


def noop_tag(sql: str) -> str | None:
    """The command tag of a statement with nothing to do, else None."""
    for pattern, tag in _NOOPS:
        if pattern.match(sql):
            return tag
    return None
