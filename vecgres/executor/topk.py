"""Top-k by vector distance over a table's segments (exact or per-segment ANN).

Each sealed segment is searched on its own: exact distances on numpy views
of the Arrow vectors, or its faiss index with an allow-list or a widened
candidate list (the planner's thresholds pick, from the selectivity measured
on that segment). The growing segment and the transaction's own inserts are
searched exactly. Candidates are re-ranked with pgvector's exact distance,
merged, and only the winning rows are handed to DuckDB, which evaluates the
select list, ORDER BY and LIMIT on them.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np
import pyarrow as pa

from vecgres.catalog.model import Index, Table
from vecgres.codec.arrow import from_storage
from vecgres.errors import DataException
from vecgres.executor import subset_distances
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
    stored_conversions,
    table_view,
)
from vecgres.executor.vectors import null_mask
from vecgres.index import predicate
from vecgres.index.binary import JaccardIndex
from vecgres.index.expression import SPARSE_KEYS
from vecgres.index.predicate import Condition
from vecgres.index.sparse import SparseIndex
from vecgres.index.spec import effective_lists
from vecgres.vector import bits
from vecgres.vector import sparse as sparse_ops
from vecgres.vector.ops import (
    cosine_distances,
    l1_distances,
    l2_distances,
    negative_inner_products,
)
from vecgres.vector.storage import sparse_csr

if TYPE_CHECKING:
    from vecgres.executor.duck import DuckSession
    from vecgres.index.segment import SegmentIndex
    from vecgres.storage.snapshot import SegmentSnapshot, TableSnapshot
    from vecgres.storage.store import TableLayout

DISTANCES: dict[str, Callable[[np.ndarray, np.ndarray], np.ndarray]] = {
    "l2": l2_distances,
    "cosine": cosine_distances,
    "ip": negative_inner_products,
    "l1": l1_distances,
}
# bit columns: packed rows against the query's '0'/'1' text
BIT_DISTANCES: dict[str, Callable[[np.ndarray, str], np.ndarray]] = {
    "hamming": bits.hamming_distances,
    "jaccard": bits.jaccard_distances,
}
# sparsevec columns: CSR rows against the query (vecgres.vector.sparse metric names)
SPARSE_METRICS = {"l2": "l2", "ip": "negative_ip", "cosine": "cosine", "l1": "l1"}
# after this many widenings an ANN search that is still short goes exact
MAX_WIDENINGS = 4


class TopKPlan(Protocol):
    """What the executor reads of the planner's ``AnnTopK`` (planner/topk.py)."""

    @property
    def rel(self) -> str: ...
    @property
    def column(self) -> str: ...
    @property
    def metric(self) -> str: ...
    @property
    def query(self) -> np.ndarray: ...
    @property
    def k(self) -> int: ...
    @property
    def filter_sql(self) -> str | None: ...
    @property
    def final_sql(self) -> str: ...
    @property
    def index(self) -> Index | None: ...
    @property
    def ef_search(self) -> int: ...
    @property
    def probes(self) -> int: ...
    @property
    def max_probes(self) -> int: ...
    @property
    def adaptive_probes(self) -> bool: ...
    @property
    def exact_max_rows(self) -> int: ...
    @property
    def projection(self) -> tuple[tuple[str, str | None], ...] | None: ...
    @property
    def offset(self) -> int: ...
    @property
    def exact_below_fraction(self) -> float: ...
    @property
    def allowlist_below_fraction(self) -> float: ...
    @property
    def where(self) -> tuple[tuple[str, str, object], ...]: ...
    @property
    def key_type(self) -> str: ...
    @property
    def query_text(self) -> str | None: ...
    @property
    def iterative_scan(self) -> str: ...
    @property
    def max_scan_tuples(self) -> int: ...
    @property
    def filter_conditions(self) -> tuple[tuple[str, str, object], ...] | None: ...


@dataclass(slots=True)
class SegmentReport:
    """What happened in one segment (EXPLAIN ANALYZE, tests)."""

    segment_id: int | None
    rows: int
    matching: int
    strategy: str  # skipped | exact | ann | ann-allowlist | ann-widened
    candidates: int = 0
    rounds: int = 0  # ANN searches made (an "exact" one with rounds > 0 came up short)
    lists: int = 0  # ivfflat: lists probed by the last search (adaptive probing)


@dataclass(slots=True)
class TopKRun:
    types: list[str]
    batches: Iterator[pa.RecordBatch]
    segments: list[SegmentReport] = field(default_factory=list)


class _Fallback(Exception):
    """The fast path cannot decide the order (NaN distances, NULL vectors sorting last)."""


def run_topk(
    duck: DuckSession,
    ann: AnnIndexes,
    table: Table,
    plan: TopKPlan,
    snap: TableSnapshot | None,
    pending: PendingWrites | None,
    batch_rows: int,
    check_cancel: Callable[[], None],
) -> TopKRun | None:
    """The statement's result computed on its winners only; None to use DuckDB's exact path."""
    column = table.column(plan.column)
    assert column is not None
    dims = len(plan.query)
    if plan.query_text is not None and plan.key_type not in SPARSE_KEYS:
        dims = len(plan.query_text)
    snap, gone = prune(table, snap, plan.where)
    own_inserts = pending is not None and any(b.num_rows for b in pending.inserts)
    view: tuple[pa.Table, bool] | None = None
    if plan.filter_sql is not None:
        view = table_view(table, snap, pending, stored=True)
    allowed: np.ndarray | None = None
    if plan.filter_sql is not None:
        assert view is not None
        data, masked = view
        duck.register(plan.rel, data, masked, convert=stored_conversions(table))
        try:
            allowed = np.sort(duck.arrow(plan.filter_sql).column(0).to_numpy())
        finally:
            duck.clear()
    own_deleted = pending.deleted_rowids() if pending is not None else None
    truncated = pending is not None and pending.truncated
    layout = layout_of(table)
    best_ids: list[np.ndarray] = []
    best_dist: list[np.ndarray] = []
    # the part each candidate comes from, and its offset there
    best_part: list[np.ndarray] = []
    best_off: list[np.ndarray] = []
    reports = [SegmentReport(s.segment_id, len(s.rowids), 0, "pruned") for s in gone]
    matching_total = 0
    parts: list[tuple[SegmentSnapshot | None, pa.Table, np.ndarray | None]] = []
    if snap is not None and not truncated:
        parts.extend((s, s.conformed(layout), s.visible) for s in snap.segments)
    if pending is not None:
        parts.extend(
            (None, pa.Table.from_batches([b]), None) for b in pending.inserts if b.num_rows
        )
    threads = single_search_thread() if plan.index is not None else None
    try:
        for part_idx, (seg, part, visible) in enumerate(parts):
            check_cancel()
            if part.num_rows == 0:
                continue
            rowids = (
                seg.rowids
                if seg is not None
                else np.asarray(part.column(ROWID).to_numpy(), dtype=np.int64)
            )
            mask = np.ones(len(rowids), dtype=bool) if visible is None else visible.copy()
            if own_deleted is not None and own_deleted.size:
                mask &= ~np.isin(rowids, own_deleted)
            if allowed is not None:
                mask &= _member(rowids, allowed)
            if plan.filter_conditions is not None:
                mask &= _evaluate(table, plan.filter_conditions, part)
            matching_total += int(mask.sum())
            if column.field_name not in part.column_names:
                continue  # stored before the column existed: NULL vectors only
            vectors_col = part.column(column.field_name)
            nulls = null_mask(vectors_col)
            if nulls is not None:
                mask &= ~nulls
            offsets, dist, report = _search_part(
                ann, table, plan, seg, vectors_col, dims, rowids, mask
            )
            reports.append(report)
            if len(offsets):
                best_ids.append(rowids[offsets])
                best_dist.append(dist)
                best_part.append(np.full(len(offsets), part_idx))
                best_off.append(offsets)
    except _Fallback:
        return None
    finally:
        if threads is not None:
            threads()
    need = plan.k
    order, ranked_dist, ranked_where = rank_parts(best_dist, best_part, best_off, need)
    if order is not None:
        ranked = np.concatenate(best_ids)[order]
        winners = np.sort(ranked)
    else:
        ranked = winners = np.empty(0, dtype=np.int64)
    if len(winners) < need and len(winners) < matching_total:
        # rows with NULL vectors take the remaining places (they sort last, as in PostgreSQL)
        return None
    if plan.projection is not None and not own_inserts:
        # only segments' rows and plain columns: take the winners from their
        # segments, in rank order (no view of the whole table, no DuckDB)
        return _project_parts(
            table,
            plan,
            [p[1] for p in parts],
            layout,
            ranked_where[plan.offset :],
            ranked_dist[plan.offset :],
            reports,
        )
    if view is None:
        view = table_view(table, snap, pending, stored=True)
    data, masked = view
    all_ids = data.column(ROWID).to_numpy()
    keep = np.isin(all_ids, winners)
    if masked:
        keep &= data.column(VISIBLE).to_numpy(zero_copy_only=False)
    if plan.projection is not None:
        rows = np.flatnonzero(keep)
        used = {source for _, source in plan.projection if source is not None}
        winners_data = execution_layout(table, data.take(pa.array(rows, pa.int64())), used)
        return _project(winners_data, np.arange(len(rows)), plan, ranked, ranked_dist, reports)
    small = execution_layout(table, data.filter(pa.array(keep)))
    types, batches = run_on_rows(duck, plan.rel, small, masked, plan.final_sql, batch_rows)
    return TopKRun(types, batches, reports)


def _project(
    data: pa.Table,
    positions: np.ndarray,
    plan: TopKPlan,
    ranked: np.ndarray,
    ranked_dist: np.ndarray,
    reports: list[SegmentReport],
) -> TopKRun:
    """The result of ``SELECT cols, distance … ORDER BY distance LIMIT k`` without DuckDB."""
    assert plan.projection is not None
    ranked, ranked_dist = ranked[plan.offset :], ranked_dist[plan.offset :]
    found_ids = np.asarray(data.column(ROWID).take(pa.array(positions)).to_numpy())
    sorter = np.argsort(found_ids)
    take = pa.array(positions[sorter[np.searchsorted(found_ids[sorter], ranked)]], pa.int64())
    arrays: list[pa.Array | pa.ChunkedArray] = []
    types: list[str] = []
    for _name, source in plan.projection:
        if source is None:
            arrays.append(pa.array(ranked_dist, pa.float64()))
            types.append("DOUBLE")
        else:
            arrays.append(data.column(source).take(take))
            types.append("")
    names = [name for name, _ in plan.projection]
    table = pa.table(arrays, names=[f"c{i}" for i in range(len(names))])
    return TopKRun(types, iter(table.to_batches()), reports)


def _project_parts(
    table: Table,
    plan: TopKPlan,
    parts: list[pa.Table],
    layout: TableLayout,
    ranked_where: np.ndarray,
    ranked_dist: np.ndarray,
    reports: list[SegmentReport],
) -> TopKRun:
    """``_project`` for winners given as (part, offset) in rank order: each output
    column is taken from the parts holding winners, then put in rank order."""
    assert plan.projection is not None
    holding = np.unique(ranked_where[:, 0])
    reorder: pa.Array | None = None  # one part holding every winner: already in rank order
    if len(holding) > 1:
        by_part = np.argsort(ranked_where[:, 0], kind="stable")
        rank_order = np.empty(len(by_part), dtype=np.int64)
        rank_order[by_part] = np.arange(len(by_part))
        reorder = pa.array(rank_order, pa.int64())
    takes = [
        (parts[int(part_idx)], ranked_where[ranked_where[:, 0] == part_idx, 1])
        for part_idx in holding
    ]
    arrays: list[pa.Array | pa.ChunkedArray] = []
    types: list[str] = []
    for _name, source in plan.projection:
        if source is None:
            arrays.append(pa.array(ranked_dist, pa.float64()))
            types.append("DOUBLE")
            continue
        column = table.column(source)
        assert column is not None
        field_type = layout.schema.field(column.field_name).type
        chunks: list[pa.Array] = []
        for part, offsets in takes:
            if column.field_name in part.column_names:
                taken = _take_rows(part.column(column.field_name), offsets)
                if taken.type != field_type:
                    taken = taken.cast(field_type)
                chunks.append(taken)
            else:  # stored before the column existed
                fill = layout.missing.get(column.field_name)
                chunks.append(pa.array([fill] * len(offsets), type=field_type))
        if not chunks:
            merged = pa.array([], type=field_type)
        elif reorder is None:
            merged = chunks[0]
        else:
            merged = pa.concat_arrays(chunks).take(reorder)
        arrays.append(from_storage(merged, column.type))
        types.append("")
    out = pa.table(arrays, names=[f"c{i}" for i in range(len(arrays))])
    return TopKRun(types, iter(out.to_batches()), reports)


def _take_rows(column: pa.ChunkedArray, offsets: np.ndarray) -> pa.Array:
    """``column.take(offsets)`` chunk by chunk: taking a few rows from a ChunkedArray
    costs ~10x taking them from its Array (pyarrow 2x.x), as much as the search."""
    if column.num_chunks == 1:
        return column.chunk(0).take(pa.array(offsets, pa.int64()))
    lengths = np.array([len(chunk) for chunk in column.chunks], dtype=np.int64)
    ends = np.cumsum(lengths)
    which = np.searchsorted(ends, offsets, side="right")
    pieces: list[pa.Array] = []
    order: list[np.ndarray] = []
    for chunk_idx in np.unique(which):
        sel = np.flatnonzero(which == chunk_idx)
        local = offsets[sel] - (ends[chunk_idx] - lengths[chunk_idx])
        pieces.append(column.chunk(int(chunk_idx)).take(pa.array(local, pa.int64())))
        order.append(sel)
    if not pieces:
        return pa.array([], type=column.type)
    grouped = np.concatenate(order)
    back = np.empty(len(grouped), dtype=np.int64)
    back[grouped] = np.arange(len(grouped))
    return pa.concat_arrays(pieces).take(pa.array(back, pa.int64()))


def _evaluate(table: Table, conditions: tuple[Condition, ...], part: pa.Table) -> np.ndarray:
    """Rows of ``part`` passing every condition (catalog column names), by pyarrow."""
    columns = {}
    for name, _op, _value in conditions:
        column = table.column(name)
        assert column is not None
        if column.field_name not in part.column_names:
            raise _Fallback  # an own insert made before the column was added
        columns[name] = part.column(column.field_name)
    return predicate.evaluate(list(conditions), columns, part.num_rows)


def _member(rowids: np.ndarray, sorted_allowed: np.ndarray) -> np.ndarray:
    if not len(sorted_allowed):
        return np.zeros(len(rowids), dtype=bool)
    pos = np.searchsorted(sorted_allowed, rowids)
    pos[pos >= len(sorted_allowed)] = 0
    return np.asarray(sorted_allowed[pos] == rowids)


class SparseRows:
    """A stored sparsevec column read as CSR (``vector.storage.sparse_csr``), for
    the rows asked only, or once for the whole column when every row is."""

    __slots__ = ("_column", "_full")

    def __init__(self, column: pa.ChunkedArray) -> None:
        self._column = column
        self._full: tuple[np.ndarray, ...] | None = None

    def distances(self, offsets: np.ndarray, query: sparse_ops.Sparse, metric: str) -> np.ndarray:
        n = len(self._column)
        if len(offsets) == n and n and offsets[0] == 0 and offsets[-1] == n - 1:
            if self._full is None:
                self._full = sparse_csr(self._column)
            indptr, indices, values, dims = self._full
        else:
            taken = self._column.take(pa.array(np.asarray(offsets, dtype=np.int64)))
            indptr, indices, values, dims = sparse_csr(taken)
        if (dims != query.dim).any():
            # pgvector's "different sparsevec dimensions" (or NULLs): DuckDB's path says it
            raise _Fallback
        return sparse_ops.csr_distances(SPARSE_METRICS[metric], indptr, indices, values, query)


def _sparse_query(plan: TopKPlan) -> sparse_ops.Sparse:
    assert plan.query_text is not None
    return sparse_ops.parse(plan.query_text)


def _best(
    matrix: KeyRows | SparseRows, offsets: np.ndarray, plan: TopKPlan
) -> tuple[np.ndarray, np.ndarray]:
    """(offsets, distances) of the best ``k`` of ``offsets``, by pgvector's exact distance."""
    if not len(offsets):
        return np.empty(0, dtype=np.int64), np.empty(0)
    if isinstance(matrix, SparseRows):
        try:
            d = matrix.distances(offsets, _sparse_query(plan), plan.metric)
        except DataException:
            raise _Fallback from None
    elif plan.query_text is not None:
        d = np.asarray(BIT_DISTANCES[plan.metric](matrix[offsets], plan.query_text))
    else:
        # few rows (a search's candidates) are ranked as they are: no shortlist
        picked = (
            _shortlist(matrix, offsets, plan) if len(offsets) >= subset_distances.MIN_ROWS else None
        )
        if picked is not None:
            offsets = offsets[picked]
        d = np.asarray(DISTANCES[plan.metric](matrix[offsets], plan.query), dtype=np.float64)
    if not np.isfinite(d).all():
        raise _Fallback
    take = min(plan.k, len(offsets))
    if take == len(offsets):
        return offsets, d  # all of them (a search's own candidates, most often)
    idx = np.argpartition(d, take - 1)[:take]
    return offsets[idx], d[idx]


def _shortlist(matrix: KeyRows, offsets: np.ndarray, plan: TopKPlan) -> np.ndarray | None:
    """Positions of ``offsets`` worth ranking exactly (executor/subset_distances.py);
    None: rank them all."""
    full = matrix.full if plan.key_type == "vector" else None
    if full is None:
        return None
    approx = subset_distances.approximate(plan.metric, full, plan.query, offsets)
    return None if approx is None else subset_distances.shortlist(approx, plan.k)


def _ann_cost(
    index: SegmentIndex | SparseIndex | JaccardIndex, plan: TopKPlan, rows: int, fraction: float
) -> float:
    """Distances an ANN search would compute: exact on fewer matching rows is cheaper
    and exact (a filtered HNSW search over a correlated filter can also lose recall)."""
    if isinstance(index, SparseIndex):
        return index.cost(len(_sparse_query(plan).indices))
    if isinstance(index, JaccardIndex):
        return index.cost()
    spec = index.spec
    if spec.method == "hnsw":
        return plan.ef_search / fraction * 2 * spec.m
    if spec.method == "ivfflat":
        return plan.probes * rows / effective_lists(spec, rows)
    return float(rows)


def rank_parts(
    best_dist: list[np.ndarray], best_part: list[np.ndarray], best_off: list[np.ndarray], k: int
) -> tuple[np.ndarray | None, np.ndarray, np.ndarray]:
    """The first ``k`` of every part's candidates by distance: (their positions in the
    concatenated candidates, or None when there are none; distances; (part, offset))."""
    if not best_dist:
        return None, np.empty(0), np.empty((0, 2), dtype=np.int64)
    dist = np.concatenate(best_dist)
    order = np.argsort(dist, kind="stable")[:k]
    where = np.column_stack((np.concatenate(best_part)[order], np.concatenate(best_off)[order]))
    return order, dist[order], where


def _search_part(
    ann: AnnIndexes,
    table: Table,
    plan: TopKPlan,
    seg: SegmentSnapshot | None,
    vectors_col: pa.ChunkedArray,
    dims: int,
    rowids: np.ndarray,
    mask: np.ndarray,
    matrix: KeyRows | SparseRows | None = None,
    matching: int | None = None,
) -> tuple[np.ndarray, np.ndarray, SegmentReport]:
    """(offsets in the part, distances, report) of the part's best ``k`` passing ``mask``
    (``matrix``: the part's key rows, ``matching``: ``mask``'s count, when the caller
    keeps them)."""
    rows = len(rowids)
    if matching is None:
        matching = int(mask.sum())
    seg_id = seg.segment_id if seg is not None else None
    if matching == 0:
        return np.empty(0, np.int64), np.empty(0), SegmentReport(seg_id, rows, 0, "skipped")
    if matrix is None:
        matrix = (
            SparseRows(vectors_col)
            if plan.key_type in SPARSE_KEYS
            else KeyRows(plan.key_type, vectors_col, dims)
        )
    index = None
    if plan.index is not None and seg is not None and seg.segment_id is not None:
        index = ann.get(table, plan.index, seg)
    fraction = matching / rows
    if (
        index is None
        or matching <= max(plan.exact_max_rows, plan.k)
        or fraction < plan.exact_below_fraction
        or (plan.exact_max_rows > 0 and matching <= _ann_cost(index, plan, rows, fraction))
    ):
        ids, dist = _best(matrix, np.flatnonzero(mask), plan)
        return ids, dist, SegmentReport(seg_id, rows, matching, "exact", matching)
    want = min(plan.k, matching)
    full = matching == rows
    # the sparse and Jaccard indexes score rows exactly: its allow-list costs nothing
    use_allowlist = (
        not full
        and (
            fraction < plan.allowlist_below_fraction
            or isinstance(index, SparseIndex | JaccardIndex)
        )
        and index.filters_inside
    )
    k = plan.k if full or use_allowlist else math.ceil(plan.k / fraction * 1.5)
    ef, probes = plan.ef_search, plan.probes
    if not full:
        # keep ef_search *allowed* candidates in the list: a filtered search otherwise
        # loses recall in proportion to the fraction filtered out (pgvector's iterative
        # scan answers the same problem by scanning on)
        ef = math.ceil(ef / fraction)
    strategy = "ann" if full else ("ann-allowlist" if use_allowlist else "ann-widened")
    query = _sparse_query(plan) if isinstance(index, SparseIndex) else plan.query
    rounds = 0
    scanned = 0  # candidates of the re-searches (hnsw.max_scan_tuples)
    probed: list[int] = []  # ivfflat: lists probed per search
    ivf = _ivf_options(index, plan, probed)
    while True:
        found = index.search(
            query,  # type: ignore[arg-type]
            min(k, rows),
            mask if use_allowlist else None,
            ef_search=ef,
            probes=probes,
            **ivf,
        )
        rounds += 1
        found = found[mask[found]]
        if len(found) >= want:
            ids, dist = _best(matrix, found, plan)
            report = SegmentReport(seg_id, rows, matching, strategy, len(found), rounds)
            if probed:
                report.lists = probed[-1]
            return ids, dist, report
        widened = _widen(index, plan, rows, rounds, scanned, k, ef, probes)
        if widened is None:
            break
        k, ef, probes = widened
        scanned += max(k, ef)
    ids, dist = _best(matrix, np.flatnonzero(mask), plan)
    return ids, dist, SegmentReport(seg_id, rows, matching, "exact", matching, rounds)


def _ivf_options(
    index: SegmentIndex | SparseIndex | JaccardIndex, plan: TopKPlan, probed: list[int]
) -> dict[str, Any]:
    """The adaptive-probing arguments of an IVFFlat segment search (index/ivf_probe.py):
    probe up to ``ivfflat.max_probes`` lists, and report the lists probed."""
    if isinstance(index, SparseIndex | JaccardIndex) or index.spec.method != "ivfflat":
        return {}
    return {"max_probes": plan.max_probes if plan.adaptive_probes else 0, "probed": probed}


def _widen(
    index: SegmentIndex | SparseIndex | JaccardIndex,
    plan: TopKPlan,
    rows: int,
    rounds: int,
    scanned: int,
    k: int,
    ef: int,
    probes: int,
) -> tuple[int, int, int] | None:
    """(k, ef_search, probes) of the next search of a segment whose search came up
    short, or None to finish it exactly (planner/topk.py: the iterative-scan settings)."""
    if plan.iterative_scan == "off":
        return None
    method = index.spec.method
    if method == "ivfflat":
        limit = min(plan.max_probes, effective_lists(index.spec, rows))
        if probes >= limit:
            return None
        return min(k * 2, rows), ef, min(probes * 2, limit)
    if k >= rows and ef >= rows:
        return None  # the list already holds every row
    if method == "hnsw":
        if scanned + max(k, ef) * 2 > plan.max_scan_tuples:
            return None
    elif rounds > MAX_WIDENINGS:
        return None
    return k * 2, ef * 2, probes
