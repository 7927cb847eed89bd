"""round(x, n) names its result column ``round``, as PostgreSQL's FigureColname does
(pgvector's regression tests print ``round(vector_norm(...)::numeric, 5)``); vecgres
runs it as a cast to a scaled decimal, which must not rename the column."""

from __future__ import annotations

from decimal import Decimal


def test_round_with_places_keeps_its_name(cur) -> None:
    cur.execute(
        "SELECT round(vector_norm('[1,1]')::numeric, 5),"
        " round(l2_norm('[3,4]'::halfvec)::numeric, 1), round(2.345, 2) AS r2, round(7.5)"
    )
    assert [d[0] for d in cur.description] == ["round", "round", "r2", "round"]
    assert cur.fetchone() == (Decimal("1.41421"), Decimal("5.0"), Decimal("2.35"), Decimal("8"))
