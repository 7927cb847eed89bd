"""A memo of a shape match (top-k, range) per bound query.

A prepared statement's runs share one bound query; the bound query and its tree
are kept and compared by identity, so a stale hit is impossible.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Generic, TypeVar

if TYPE_CHECKING:
    from sqlglot import exp

    from vecgres.sql.bind import BoundQuery

T = TypeVar("T")


class ShapeCache(Generic[T]):
    def __init__(self, match: Callable[[BoundQuery], T], limit: int = 256) -> None:
        self._match = match
        self._limit = limit
        self._hits: dict[int, tuple[BoundQuery, exp.Expr, T]] = {}

    def __call__(self, bound: BoundQuery) -> T:
        hit = self._hits.get(id(bound))
        if hit is not None and hit[0] is bound and hit[1] is bound.ast:
            return hit[2]
        shape = self._match(bound)
        if len(self._hits) >= self._limit:
            self._hits.clear()
        self._hits[id(bound)] = (bound, bound.ast, shape)
        return shape
