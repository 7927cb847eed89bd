"""The top-k shape: ``SELECT ... FROM t [WHERE ...] ORDER BY col <op> const LIMIT k``.

When a query has this shape, the k nearest rows are found by exact distance
computation on the segments' vectors (numpy/faiss, no copy of the vectors),
and only the winners go through DuckDB for the select list.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from vecgres.executor.topk import TopKPlan, match_topk, run_topk

if TYPE_CHECKING:
    from vecgres.engine import Session
    from vecgres.result import Result
    from vecgres.sql.bind import BoundQuery
    from vecgres.storage.store import Snapshot


def try_topk(
    session: Session, bound: BoundQuery, params: Sequence[object], snap: Snapshot
) -> Result | None:
    plan: TopKPlan | None = match_topk(bound)
    if plan is None:
        return None
    return run_topk(session, bound, plan, params, snap)
