"""The top-k search of a prepared statement on a snapshot it has read before.

``run_topk`` prepares each segment on every run: conforms it to the table's
layout, views its vectors as a matrix, copies its visibility mask, looks for
NULL vectors, and takes the winners' columns from the chunked Arrow data.
None of that changes while the snapshot's segments stay the same, and on a
100k-row table it costs several times the faiss search itself. ``TableParts``
keeps it per (CSN, segments, chunks); ``search`` then runs the same per-segment
search as ``run_topk`` (``_search_part``: same strategies, same exact
re-ranking, same merge order), so both give identical rows.

A search over several large indexed segments runs their first faiss searches
side by side (``_search_ahead``): one on the calling thread, the others on a
helper thread per further core (faiss releases the GIL), then ``_search_part``
takes those candidates instead of searching again. One statement at a time
fans out; the others, and every search while one does, search their segments
one after another on their own thread, so concurrent clients never ask for
more threads than the machine has cores.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, Final

import numpy as np
import pyarrow as pa

from vecgres.codec.arrow import from_storage
from vecgres.executor.annindex import single_search_thread
from vecgres.executor.keycols import KeyRows
from vecgres.executor.relation import layout_of
from vecgres.executor.topk import (
    TopKPlan,
    _ann_cost,
    _evaluate,
    _Fallback,
    _search_part,
    _take_rows,
    rank_parts,
)
from vecgres.executor.vectors import null_mask

if TYPE_CHECKING:
    from vecgres.catalog.model import Index, Table
    from vecgres.executor.annindex import AnnIndexes
    from vecgres.index.segment import SegmentIndex
    from vecgres.storage.snapshot import SegmentSnapshot, TableSnapshot

# a segment is searched on a helper thread only from this size: a smaller search is
# over before a thread hand-off (~0.05-0.1 ms) would pay off
FANOUT_MIN_ROWS: Final = 10_000


class Part:
    """One segment as the searches read it."""

    __slots__ = (
        "base",
        "data",
        "matching",
        "matrix",
        "outputs",
        "rowids",
        "seg",
        "usable",
        "vectors",
    )

    def __init__(self, seg: SegmentSnapshot, data: pa.Table, field: str, dims: int) -> None:
        self.seg = seg
        self.data = data
        self.rowids = seg.rowids
        n = len(self.rowids)
        self.vectors: pa.ChunkedArray | None = (
            data.column(field) if field in data.column_names else None
        )
        visible = seg.visible
        # rows a search may return before any WHERE: visible, with a vector
        base = np.ones(n, dtype=bool) if visible is None else visible.copy()
        self.matching = int(base.sum())  # visible rows: run_topk counts NULL vectors in
        if self.vectors is not None:
            nulls = null_mask(self.vectors)
            if nulls is not None:
                base &= ~nulls
        base.flags.writeable = False  # shared by every run: never changed in place
        self.base = base
        self.usable = int(base.sum())  # rows an unfiltered search may return
        self.matrix = KeyRows("vector", self.vectors, dims) if self.vectors is not None else None
        # output column -> the segment's column in the output layout
        self.outputs: dict[str, pa.Array | pa.ChunkedArray | _Numbers] = {}

    def output(self, table: Table, source: str) -> pa.Array | pa.ChunkedArray | _Numbers:
        """The segment's column ``source`` in the output layout (numbers as numpy)."""
        found = self.outputs.get(source)
        if found is None:
            found = _output_column(table, self.data, source)
            if isinstance(found, pa.ChunkedArray) and found.num_chunks == 1:
                found = found.chunk(0)
            if isinstance(found, pa.Array) and (
                pa.types.is_integer(found.type) or pa.types.is_floating(found.type)
            ):
                found = _Numbers(found)
            self.outputs[source] = found
        return found


class TableParts:
    """A table's segments at one snapshot, prepared once for every run reading it."""

    __slots__ = ("_key", "parts")

    def __init__(self, key: tuple[Any, ...], parts: list[Part]) -> None:
        self._key = key
        self.parts = parts

    def matches(self, key: tuple[Any, ...]) -> bool:
        mine = self._key
        return (
            mine[0] == key[0]
            and len(mine) == len(key)
            and all(a is b for a, b in zip(mine[1:], key[1:], strict=True))
        )


def snapshot_key(snap: Any, table_oid: int) -> tuple[Any, ...] | None:
    """(CSN, sealed segments..., chunks...) of the table in ``snap``: equal keys, same parts."""
    found = snap._tables.get(table_oid)
    if found is None:
        return None
    return (snap.csn, *found[0], None, *found[1])


def table_parts(
    table: Table, tsnap: TableSnapshot, key: tuple[Any, ...], field: str, dims: int
) -> TableParts:
    layout = layout_of(table)
    return TableParts(
        key,
        [
            Part(seg, seg.conformed(layout), field, dims)
            for seg in tsnap.segments
            if len(seg.rowids)
        ],
    )


def search(
    ann: AnnIndexes,
    table: Table,
    plan: TopKPlan,
    parts: list[Part],
    check_cancel: Callable[[], None],
) -> tuple[list[Part], np.ndarray, np.ndarray] | None:
    """(parts, (part, offset) of the winners in rank order, their distances) — or
    None where ``run_topk`` would hand the statement to DuckDB."""
    dims = len(plan.query)
    conditions = plan.filter_conditions
    best_dist: list[np.ndarray] = []
    best_part: list[np.ndarray] = []
    best_off: list[np.ndarray] = []
    matching_total = 0
    threads = single_search_thread() if plan.index is not None else None
    source: Any = ann
    try:
        if conditions is None and plan.index is not None and len(parts) > 1:
            ahead = _search_ahead(ann, table, plan, plan.index, parts)
            if ahead:
                source = _AheadIndexes(ann, ahead)
        for part_idx, part in enumerate(parts):
            check_cancel()
            usable: int | None = None
            if conditions is not None:
                passing = _evaluate(table, conditions, part.data)
                mask = part.base & passing
                visible = passing if part.seg.visible is None else passing & part.seg.visible
                matching_total += int(visible.sum())
            else:
                mask, usable = part.base, part.usable
                matching_total += part.matching
            if part.vectors is None or part.matrix is None:
                continue  # stored before the column existed: NULL vectors only
            offsets, dist, _report = _search_part(
                source,
                table,
                plan,
                part.seg,
                part.vectors,
                dims,
                part.rowids,
                mask,
                part.matrix,
                usable,
            )
            if len(offsets):
                best_dist.append(dist)
                best_part.append(np.full(len(offsets), part_idx))
                best_off.append(offsets)
    except _Fallback:
        return None
    finally:
        if threads is not None:
            threads()
    need = plan.k
    _order, ranked_dist, ranked_where = rank_parts(best_dist, best_part, best_off, need)
    if len(ranked_dist) < need and len(ranked_dist) < matching_total:
        return None  # rows with NULL vectors take the remaining places: DuckDB's path
    return parts, ranked_where[plan.offset :], ranked_dist[plan.offset :]


class _Ahead:
    """A segment's index whose first search was run ahead: that search's answer, then
    the index itself."""

    __slots__ = ("_call", "_found", "_probed", "index")

    def __init__(
        self, index: SegmentIndex, call: tuple[Any, ...], found: np.ndarray, probed: list[int]
    ) -> None:
        self.index = index
        self._call = call
        self._found: np.ndarray | None = found
        self._probed = probed

    def __getattr__(self, name: str) -> Any:
        return getattr(self.index, name)

    def search(
        self,
        query: np.ndarray,
        k: int,
        allowed: np.ndarray | None,
        *,
        ef_search: int,
        probes: int,
        max_probes: int = 0,
        probed: list[int] | None = None,
    ) -> np.ndarray:
        found = self._found
        if (
            found is not None
            and allowed is None
            and query is self._call[0]
            and (k, ef_search, probes, max_probes) == self._call[1:]
        ):
            self._found = None
            if probed is not None:
                probed.extend(self._probed)
            return found
        return self.index.search(
            query,
            k,
            allowed,
            ef_search=ef_search,
            probes=probes,
            max_probes=max_probes,
            probed=probed,
        )


class _AheadIndexes:
    """``AnnIndexes`` for one search: the segments searched ahead answer first."""

    __slots__ = ("_ahead", "_ann")

    def __init__(self, ann: AnnIndexes, ahead: dict[int, _Ahead]) -> None:
        self._ann = ann
        self._ahead = ahead

    def get(self, table: Table, idx: Index, seg: SegmentSnapshot) -> Any:
        found = self._ahead.get(seg.segment_id) if seg.segment_id is not None else None
        return found if found is not None else self._ann.get(table, idx, seg)


# one statement fans out at a time; the helpers: one thread per further core
_fanout = threading.Lock()
# (pid, helpers, their number) made on first use; a forked child makes its own
_helpers: list[tuple[int, ThreadPoolExecutor | None, int]] = []
_helpers_lock = threading.Lock()


def _one_thread() -> None:
    single_search_thread()  # a helper thread's searches run on one OpenMP thread


def _pool() -> tuple[ThreadPoolExecutor, int] | None:
    """The helper threads and their number; None on a one-core machine."""
    pid = os.getpid()
    with _helpers_lock:
        if not _helpers or _helpers[0][0] != pid:
            from vecgres.index.segment import machine_cores  # loaded with faiss already

            workers = machine_cores() - 1
            pool = (
                ThreadPoolExecutor(
                    workers, thread_name_prefix="vecgres-search", initializer=_one_thread
                )
                if workers > 0
                else None
            )
            _helpers[:] = [(pid, pool, workers)]
        _pid, found, workers = _helpers[0]
        return None if found is None else (found, workers)


def _search_ahead(
    ann: AnnIndexes, table: Table, plan: TopKPlan, idx: Index, parts: list[Part]
) -> dict[int, _Ahead]:
    """The first faiss search of each large segment ``_search_part`` will search by
    its index in full (no rows deleted), run concurrently with the same arguments;
    {} when fewer than two qualify, the machine has one core or another statement is
    fanning out."""
    jobs: list[tuple[int, SegmentIndex, int]] = []
    for part in parts:
        seg, rows = part.seg, len(part.rowids)
        if seg.segment_id is None or part.matrix is None or rows < FANOUT_MIN_ROWS:
            continue
        if part.usable != rows:
            continue  # deleted rows or NULL vectors: a widened first search
        index = ann.get(table, idx, seg)
        if index is None or not hasattr(index, "query_for") or index.spec.binary:
            continue  # none yet, or the sparse and Jaccard structures
        if (
            rows <= max(plan.exact_max_rows, plan.k)
            or plan.exact_below_fraction > 1.0
            or (plan.exact_max_rows > 0 and rows <= _ann_cost(index, plan, rows, 1.0))
        ):
            continue  # ranked exactly (``_search_part``'s test, all rows matching)
        jobs.append((seg.segment_id, index, rows))  # type: ignore[arg-type]
    if len(jobs) < 2:
        return {}
    helpers = _pool()
    if helpers is None or not _fanout.acquire(blocking=False):
        return {}
    pool, workers = helpers
    try:
        query = plan.query
        spec = jobs[0][1].spec
        prepared = jobs[0][1].query_for(query)
        lanes = min(len(jobs), workers + 1)
        futures: list[Future[list[tuple[int, np.ndarray | None, list[int], int]]]] = []
        try:
            futures.extend(
                pool.submit(_first_searches, jobs[lane::lanes], plan, spec, prepared)
                for lane in range(1, lanes)
            )
        except RuntimeError:  # the interpreter is shutting down: no helpers
            lanes = 1
        done = _first_searches(jobs[0::lanes], plan, spec, prepared)
        for future in futures:
            done += future.result()
    finally:
        _fanout.release()
    by_id = {sid: (index, rows) for sid, index, rows in jobs}
    return {
        sid: _Ahead(
            by_id[sid][0],
            (query, min(plan.k, by_id[sid][1]), plan.ef_search, plan.probes, max_probes),
            found,
            probed,
        )
        for sid, found, probed, max_probes in done
        if found is not None
    }


def _first_searches(
    jobs: list[tuple[int, SegmentIndex, int]], plan: TopKPlan, spec: Any, prepared: np.ndarray
) -> list[tuple[int, np.ndarray | None, list[int], int]]:
    """``_search_part``'s first search of each segment (None: it failed; the segment's
    own search then runs again and raises), with the IVFFlat lists it probed and the
    adaptive-probing bound it was given (topk._ivf_options)."""
    out: list[tuple[int, np.ndarray | None, list[int], int]] = []
    for sid, index, rows in jobs:
        probed: list[int] = []
        adaptive = index.spec.method == "ivfflat" and plan.adaptive_probes
        max_probes = plan.max_probes if adaptive else 0
        try:
            found = index.search(
                plan.query,
                min(plan.k, rows),
                None,
                ef_search=plan.ef_search,
                probes=plan.probes,
                prepared=prepared if index.spec == spec else None,
                max_probes=max_probes,
                probed=probed,
            )
        except Exception:
            found = None
        out.append((sid, found, probed, max_probes))
    return out


def project(
    table: Table,
    projection: tuple[tuple[str, str | None], ...],
    parts: list[Part],
    ranked_where: np.ndarray,
    ranked_dist: np.ndarray,
) -> pa.RecordBatch:
    """The winners' output columns in rank order (``_project_parts`` on cached arrays)."""
    arrays: list[pa.Array] = []
    part_of, offsets = ranked_where[:, 0], ranked_where[:, 1]
    single = len(ranked_where) and bool((part_of == part_of[0]).all())
    holding = [int(part_of[0])] if single else sorted(set(part_of.tolist()))
    for _name, source in projection:
        if source is None:
            arrays.append(pa.array(ranked_dist, pa.float64()))
            continue
        if not holding:
            arrays.append(_output_type(table, source))
            continue
        outputs = [parts[i].output(table, source) for i in holding]
        if all(isinstance(out, _Numbers) for out in outputs):
            arrays.append(_numbers_of(outputs, holding, part_of, offsets, single))  # type: ignore[arg-type]
            continue
        chunks: list[pa.Array] = []
        for part_idx, whole in zip(holding, outputs, strict=True):
            if isinstance(whole, _Numbers):
                whole = whole.array
            taken = offsets if single else offsets[part_of == part_idx]
            chunks.append(
                whole.take(pa.array(taken, pa.int64()))
                if isinstance(whole, pa.Array)
                else _take_rows(whole, taken)
            )
        if len(chunks) == 1:
            arrays.append(chunks[0])
        else:
            by_part = np.argsort(part_of, kind="stable")
            rank_order = np.empty(len(by_part), dtype=np.int64)
            rank_order[by_part] = np.arange(len(by_part))
            arrays.append(pa.concat_arrays(chunks).take(pa.array(rank_order, pa.int64())))
    return pa.RecordBatch.from_arrays(arrays, names=[f"c{i}" for i in range(len(arrays))])


class _Numbers:
    """A segment's integer or float output column as numpy (values, NULL mask): a few
    winners are taken by fancy indexing, ~20x cheaper than pyarrow's ``take``."""

    __slots__ = ("array", "nulls", "type", "values")

    def __init__(self, array: pa.Array) -> None:
        self.array = array
        self.type = array.type
        self.values = np.asarray(array.fill_null(0).to_numpy(zero_copy_only=False))
        self.nulls = (
            np.asarray(array.is_null().to_numpy(zero_copy_only=False), dtype=bool)
            if array.null_count
            else None
        )


def _numbers_of(
    outputs: list[_Numbers],
    holding: list[int],
    part_of: np.ndarray,
    offsets: np.ndarray,
    single: bool,
) -> pa.Array:
    """The winners' values of numeric columns, in rank order."""
    if single:
        out = outputs[0]
        values = out.values[offsets]
        nulls = out.nulls[offsets] if out.nulls is not None else None
    else:
        values = np.empty(len(offsets), dtype=outputs[0].values.dtype)
        nulls = np.zeros(len(offsets), dtype=bool)
        for part_idx, out in zip(holding, outputs, strict=True):
            sel = part_of == part_idx
            values[sel] = out.values[offsets[sel]]
            if out.nulls is not None:
                nulls[sel] = out.nulls[offsets[sel]]
        if not nulls.any():
            nulls = None
    return pa.array(values, type=outputs[0].type, mask=nulls)


def _output_type(table: Table, source: str) -> pa.Array | pa.ChunkedArray:
    """An empty output column of ``source``'s type."""
    column = table.column(source)
    assert column is not None
    field_type = layout_of(table).schema.field(column.field_name).type
    return from_storage(pa.array([], type=field_type), column.type)


def _output_column(table: Table, data: pa.Table, source: str) -> pa.Array | pa.ChunkedArray:
    """A segment's whole column in the output layout (as ``_project_parts`` makes it)."""
    column = table.column(source)
    assert column is not None
    field_type = layout_of(table).schema.field(column.field_name).type
    stored = data.column(column.field_name)
    whole: pa.Array | pa.ChunkedArray = stored.chunk(0) if stored.num_chunks == 1 else stored
    if whole.type != field_type:
        whole = whole.cast(field_type)
    return from_storage(whole, column.type)
