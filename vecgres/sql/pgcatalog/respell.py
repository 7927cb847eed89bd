"""Client statements respelled before parsing: forms the parser does not take.

``SET SESSION CHARACTERISTICS AS TRANSACTION ...`` (Metabase) is PostgreSQL's
older spelling of ``SET default_transaction_isolation``/``_read_only``; and
catalog queries may name output columns with reserved words after ``AS``
(Metabase's ``... AS select, ... AS insert``), which PostgreSQL accepts as
column labels but sqlglot does not.
"""

from __future__ import annotations

import re

from vecgres import errors

_CHARACTERISTICS = re.compile(
    r"\s*SET\s+SESSION\s+CHARACTERISTICS\s+AS\s+TRANSACTION\s+(.*?)\s*;?\s*$", re.I | re.S
)
_ISOLATION = re.compile(
    r"ISOLATION\s+LEVEL\s+(SERIALIZABLE|REPEATABLE\s+READ|READ\s+COMMITTED|READ\s+UNCOMMITTED)$",
    re.I,
)
_ACCESS = re.compile(r"READ\s+(ONLY|WRITE)$", re.I)

# a reserved word used as an output column label: AS select, / AS update)
_KEYWORD_LABEL = re.compile(
    r"(\bAS\s+)(SELECT|INSERT|UPDATE|DELETE|FROM|WHERE|ORDER|GROUP|LIMIT|TABLE)(\s*(?:,|\)|\bFROM\b))",
    re.I,
)


def is_session_characteristics(sql: str) -> bool:
    return _CHARACTERISTICS.match(sql) is not None


def session_characteristics(sql: str) -> str:
    """The ``SET`` of the GUC a ``SET SESSION CHARACTERISTICS`` statement changes."""
    m = _CHARACTERISTICS.match(sql)
    assert m is not None
    mode = " ".join(m.group(1).split())
    if found := _ISOLATION.match(mode):
        level = " ".join(found.group(1).lower().split())
        return f"SET default_transaction_isolation = '{level}'"
    if found := _ACCESS.match(mode):
        return f"SET default_transaction_read_only = {found.group(1).upper() == 'ONLY'}"
    raise errors.FeatureNotSupported(
        f"SET SESSION CHARACTERISTICS AS TRANSACTION {mode} is not supported by vecgres"
    )


def quote_keyword_labels(sql: str) -> str | None:
    """``sql`` with reserved-word column labels quoted, or None when it has none."""
    spelled = _KEYWORD_LABEL.sub(lambda m: f'{m.group(1)}"{m.group(2).lower()}"{m.group(3)}', sql)
    return None if spelled == sql else spelled
