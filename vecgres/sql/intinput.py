"""PostgreSQL's integer input (int2in, int4in, int8in) for text: literals and parameters.

DuckDB reads ``'1e3'`` as an integer and reports a value out of range as a
conversion error; PostgreSQL 15 takes only optional spaces, a sign and
decimal digits, and says 22003 ``value "70000" is out of range for type
smallint`` when the number does not fit.
"""

from __future__ import annotations

import re
from typing import Final

from vecgres import errors

# SQL type name -> bound of the magnitude (values v with -bound <= v < bound)
INTEGER_RANGES: Final = {"smallint": 2**15, "integer": 2**31, "bigint": 2**63}
# wire type OIDs of the same types
INTEGER_OIDS: Final = {21: "smallint", 23: "integer", 20: "bigint"}
# scanint8/pg_strtoint: C isspace() around an optional sign and ASCII digits
_INT_TEXT: Final = re.compile(r"[ \t\n\r\f\v]*([+-]?[0-9]+)[ \t\n\r\f\v]*")


def parse_integer(text: str, type_name: str) -> int:
    """``text`` read as PostgreSQL reads a ``type_name`` (smallint, integer, bigint)."""
    m = _INT_TEXT.fullmatch(text)
    if m is None:
        raise errors.InvalidTextRepresentation(
            f'invalid input syntax for type {type_name}: "{text}"'
        )
    value = int(m.group(1))
    bound = INTEGER_RANGES[type_name]
    if not -bound <= value < bound:
        raise errors.NumericValueOutOfRange(f'value "{text}" is out of range for type {type_name}')
    return value
