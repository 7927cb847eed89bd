"""An input function's error points at its literal (PostgreSQL's LINE/caret): pgvector
type and bit literals in casts, operators and function arguments; a typmod mismatch
(length coercion) carries no position."""

from __future__ import annotations

import pytest

from vecgres import errors


@pytest.mark.parametrize(
    ("sql", "message", "position"),
    [
        ("SELECT '[7,x]'::vector", 'invalid input syntax for type vector: "[7,x]"', 8),
        ("SELECT 1,  '[]'::halfvec(2)", "halfvec must have at least 1 dimension", 12),
        ("SELECT '{3:1}/2'::sparsevec", "sparsevec index out of bounds", 8),
        ("SELECT '[7,8]'::vector <-> '[7,'", 'invalid input syntax for type vector: "[7,"', 28),
        (
            "SELECT l1_distance('[1]'::halfvec, '[nan]')",
            "NaN not allowed in halfvec",
            36,
        ),
        ("SELECT '102'::bit(3)", '"2" is not a valid binary digit', 8),
        ("SELECT hamming_distance('11', '1z')", '"z" is not a valid binary digit', 31),
        ("SELECT '[7,8,9]'::vector(2)", "expected 2 dimensions, not 3", None),
        ("SELECT '{}/4'::sparsevec(3)", "expected 3 dimensions, not 4", None),
    ],
)
def test_literal_error_positions(cur, sql: str, message: str, position: int | None) -> None:
    with pytest.raises(errors.VecgresError) as info:
        cur.execute(sql)
    err = info.value
    assert (err.message, err.position) == (message, position)
