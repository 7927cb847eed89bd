"""Distance-range prefilter: ``WHERE col <op> q < r`` answered per segment.

Each sealed segment with a matching index is asked for its rows within the
radius by faiss ``range_search`` (flat: exact; HNSW/IVF: approximate, as an
index scan in pgvector is); other segments, the growing segment and the
transaction's own rows compute exact distances with numpy. The radius gets a
little slack so float rounding never drops a row: the statement itself then
runs in DuckDB on the surviving rows only, where the predicate is evaluated
exactly (so the result equals brute force whenever the candidates are exact).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa

from vecgres.catalog.model import Index, Table
from vecgres.executor.annindex import AnnIndexes, single_search_thread
from vecgres.executor.keycols import KeyRows
from vecgres.executor.prune import prune
from vecgres.executor.relation import (
    ROWID,
    VISIBLE,
    PendingWrites,
    execution_layout,
    layout_of,
    run_on_rows,
    table_view,
)
from vecgres.executor.topk import BIT_DISTANCES, DISTANCES, SegmentReport, TopKRun
from vecgres.executor.vectors import null_mask
from vecgres.index.expression import SPARSE_KEYS
from vecgres.index.sparse import SparseIndex, exact_within
from vecgres.vector import sparse as sparse_ops

if TYPE_CHECKING:
    from vecgres.executor.duck import DuckSession
    from vecgres.storage.snapshot import SegmentSnapshot, TableSnapshot

# metrics faiss's range_search measures like pgvector (up to the mapping below)
RANGE_METRICS = ("l2", "ip", "cosine")
SLACK = 1e-5


@dataclass(frozen=True, slots=True)
class RangePlan:
    rel: str
    column: str
    key_type: str  # vector | halfvec | sparsevec | bit | vector>halfvec | vector>bit
    metric: str
    query: np.ndarray
    query_text: str | None
    radius: float
    final_sql: str  # the statement, run on the surviving rows
    index: Index | None
    ef_search: int
    probes: int
    where: tuple[tuple[str, str, object], ...] = ()  # simple conjuncts, for pruning


def _slack(r: float) -> float:
    return abs(r) * SLACK + SLACK


def faiss_radius(metric: str, r: float) -> float | None:
    """pgvector's ``d < r`` as faiss's range: squared L2 below, inner product above."""
    if metric == "l2":
        return None if r <= 0 else (r + _slack(r)) ** 2
    if metric == "ip":
        return -r - _slack(r)  # -ip < r  <=>  ip > -r
    if metric == "cosine":
        return 1.0 - r - _slack(r)  # 1 - cos < r  <=>  cos > 1 - r (normalized)
    return None


def run_range(
    duck: DuckSession,
    ann: AnnIndexes,
    table: Table,
    plan: RangePlan,
    snap: TableSnapshot | None,
    pending: PendingWrites | None,
    batch_rows: int,
    check_cancel: Callable[[], None],
) -> TopKRun:
    column = table.column(plan.column)
    assert column is not None
    dims = len(plan.query_text) if plan.query_text is not None else len(plan.query)
    snap, gone = prune(table, snap, plan.where)
    # stored layouts: only the surviving rows are converted (sparsevec to text etc.)
    data, masked = table_view(table, snap, pending, stored=True)
    own_deleted = pending.deleted_rowids() if pending is not None else None
    layout = layout_of(table)
    parts: list[tuple[SegmentSnapshot | None, pa.Table, np.ndarray | None]] = []
    if snap is not None and not (pending is not None and pending.truncated):
        parts.extend((s, s.conformed(layout), s.visible) for s in snap.segments)
    if pending is not None:
        parts.extend(
            (None, pa.Table.from_batches([b]), None) for b in pending.inserts if b.num_rows
        )
    survivors: list[np.ndarray] = []
    reports = [SegmentReport(s.segment_id, len(s.rowids), 0, "pruned") for s in gone]
    for seg, part, visible in parts:
        check_cancel()
        if part.num_rows == 0 or column.field_name not in part.column_names:
            continue
        rowids = np.asarray(part.column(ROWID).to_numpy(), dtype=np.int64)
        mask = np.ones(len(rowids), dtype=bool) if visible is None else visible.copy()
        if own_deleted is not None and own_deleted.size:
            mask &= ~np.isin(rowids, own_deleted)
        col = part.column(column.field_name)
        nulls = null_mask(col)
        if nulls is not None:
            mask &= ~nulls
        found, report = _segment(ann, table, plan, seg, col, dims, mask)
        survivors.append(rowids[found])
        reports.append(report)
    winners = np.concatenate(survivors) if survivors else np.empty(0, np.int64)
    keep = np.isin(data.column(ROWID).to_numpy(), winners)
    if masked:
        keep &= data.column(VISIBLE).to_numpy(zero_copy_only=False)
    small = execution_layout(table, data.filter(pa.array(keep)))
    types, batches = run_on_rows(duck, plan.rel, small, masked, plan.final_sql, batch_rows)
    return TopKRun(types, batches, reports)


def _segment(
    ann: AnnIndexes,
    table: Table,
    plan: RangePlan,
    seg: SegmentSnapshot | None,
    col: pa.ChunkedArray,
    dims: int,
    mask: np.ndarray,
) -> tuple[np.ndarray, SegmentReport]:
    rows = len(mask)
    matching = int(mask.sum())
    seg_id = seg.segment_id if seg is not None else None
    if matching == 0:
        return np.empty(0, np.int64), SegmentReport(seg_id, rows, 0, "skipped")
    if plan.key_type in SPARSE_KEYS:
        return _sparse_segment(ann, table, plan, seg, col, mask)
    index = None
    radius = faiss_radius(plan.metric, plan.radius)
    if (
        plan.index is not None
        and seg is not None
        and seg.segment_id is not None
        and radius is not None
        and plan.metric in RANGE_METRICS
    ):
        index = ann.get(table, plan.index, seg)
    if index is not None and radius is not None:
        threads = single_search_thread()  # one query: one OpenMP thread (annindex.py)
        try:
            found = index.range_search(
                plan.query,
                radius,
                None if matching == rows else mask,
                ef_search=plan.ef_search,
                probes=plan.probes,
            )
            found = found[mask[found]]
            return found, SegmentReport(seg_id, rows, matching, "ann-range", len(found))
        except RuntimeError:
            pass  # an index type without range search (quantized kinds): exact below
        finally:
            if threads is not None:
                threads()
    offsets = np.flatnonzero(mask)
    matrix = KeyRows(plan.key_type, col, dims)
    if plan.query_text is not None:
        d = np.asarray(BIT_DISTANCES[plan.metric](matrix[offsets], plan.query_text))
    else:
        d = np.asarray(DISTANCES[plan.metric](matrix[offsets], plan.query), dtype=np.float64)
    with np.errstate(invalid="ignore"):
        found = offsets[d <= plan.radius + _slack(plan.radius)]
    return found, SegmentReport(seg_id, rows, matching, "exact-range", len(found))


def _sparse_segment(
    ann: AnnIndexes,
    table: Table,
    plan: RangePlan,
    seg: SegmentSnapshot | None,
    col: pa.ChunkedArray,
    mask: np.ndarray,
) -> tuple[np.ndarray, SegmentReport]:
    """A sparsevec range: the segment's inverted index, else the exact CSR kernel."""
    rows, matching = len(mask), int(mask.sum())
    seg_id = seg.segment_id if seg is not None else None
    assert plan.query_text is not None
    query = sparse_ops.parse(plan.query_text)
    radius = plan.radius + _slack(plan.radius)
    index = None
    if plan.index is not None and seg is not None and seg.segment_id is not None:
        index = ann.get(table, plan.index, seg)
    if isinstance(index, SparseIndex):
        found = index.within(query, radius, None if matching == rows else mask)
        found = found[mask[found]]
        return found, SegmentReport(seg_id, rows, matching, "ann-range", len(found))
    found = exact_within(col, np.flatnonzero(mask), query, plan.metric, radius)
    return found, SegmentReport(seg_id, rows, matching, "exact-range", len(found))
