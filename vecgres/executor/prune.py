"""Skip sealed segments whose per-column (min, max) rule out a scalar filter.

The conditions are a query's simple top-level conjuncts (``column <op>
constant``, ``vecgres.index.predicate``); a segment is skipped when one of
them holds for no value in [min, max] (NULLs never pass a comparison). Only
numbers are compared by range; text only for equality (binary order is the
same in Python, pyarrow and DuckDB, but not in every collation).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from vecgres.catalog.model import Table
from vecgres.index.predicate import Condition

if TYPE_CHECKING:
    from vecgres.storage.snapshot import SegmentSnapshot, TableSnapshot


def _number(v: Any) -> bool:
    return (isinstance(v, int | float) and not isinstance(v, bool)) or type(v).__name__ == "Decimal"


def _impossible(op: str, value: object, lo: Any, hi: Any) -> bool:
    if _number(value) and _number(lo) and _number(hi):
        v: Any = value
        if op == "=":
            return bool(v < lo or v > hi)
        if op == "<":
            return bool(lo >= v)
        if op == "<=":
            return bool(lo > v)
        if op == ">":
            return bool(hi <= v)
        if op == ">=":
            return bool(hi < v)
        if op == "<>":
            return bool(lo == hi == v)
        return False
    if op == "=" and isinstance(value, str) and isinstance(lo, str) and isinstance(hi, str):
        return value < lo or value > hi
    return False


def pruned(seg: SegmentSnapshot, table: Table, where: Sequence[Condition]) -> bool:
    if seg.segment_id is None:
        return False
    for name, op, value in where:
        column = table.column(name)
        if column is None or value is None:
            continue
        stats = seg.column_stats(column.field_name)
        if stats is not None and _impossible(op, value, stats[0], stats[1]):
            return True
    return False


def prune(
    table: Table, snap: TableSnapshot | None, where: Sequence[Condition]
) -> tuple[TableSnapshot | None, list[SegmentSnapshot]]:
    """The snapshot without the ruled-out segments, and those segments."""
    if snap is None or not where:
        return snap, []
    from vecgres.storage.snapshot import TableSnapshot

    kept = [s for s in snap.segments if not pruned(s, table, where)]
    if len(kept) == len(snap.segments):
        return snap, []
    gone = [s for s in snap.segments if s not in kept]
    return TableSnapshot(snap.table_id, tuple(kept)), gone
