"""Prepared queries answered without DuckDB: constant select lists and primary-key lookups.

A DuckDB round trip costs about a millisecond even for ``SELECT 1``, ten times
what PostgreSQL spends on a whole prepared round trip. Two shapes of bound
query are answered here instead, and everything else (or anything unusual at
run time) goes the normal way:

* a select list with no FROM made only of literals, casts between types whose
  text forms do not depend on settings, sign and ``+ - *``: its value never
  changes, so the rows of its first DuckDB run are kept and handed back again
  (PostgreSQL folds such expressions at plan time too); an expression that
  raised is never kept, so it raises each run;
* ``SELECT <plain columns> FROM t WHERE <unique key column> = $n`` over one
  table: the committed key map (``Database.keys``) gives the row id, the
  statement's snapshot gives the row. The key map and the snapshot agree only
  when no commit is under way, so the lookup holds the database's commit lock
  (without waiting for it: a busy lock means the normal path), and a
  transaction's own uncommitted writes to the table send it the normal way too.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any, Final

import numpy as np
import pyarrow as pa
from sqlglot import exp

from vecgres.codec.arrow import storage_reader
from vecgres.executor.relation import ROWID, duck_names, execution_layout, layout_of
from vecgres.result import ColumnInfo, Result
from vecgres.sql import grants, row_locks

if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence

    from vecgres.catalog.model import Index, Table
    from vecgres.sql.bind import BoundQuery
    from vecgres.storage.snapshot import TableSnapshot

# select-list nodes whose value cannot change between runs
_CONSTANT_NODES: Final = (
    exp.Alias,
    exp.Identifier,
    exp.Literal,
    exp.Null,
    exp.Boolean,
    exp.Neg,
    exp.Paren,
    exp.Cast,
    exp.DataType,
    exp.Add,
    exp.Sub,
    exp.Mul,
)
# cast targets whose result does not depend on DateStyle, TimeZone or other settings
_STABLE_TYPES: Final = frozenset(
    {
        exp.DataType.Type.TINYINT,
        exp.DataType.Type.SMALLINT,
        exp.DataType.Type.INT,
        exp.DataType.Type.BIGINT,
        exp.DataType.Type.INT128,
        exp.DataType.Type.FLOAT,
        exp.DataType.Type.DOUBLE,
        exp.DataType.Type.DECIMAL,
        exp.DataType.Type.TEXT,
        exp.DataType.Type.VARCHAR,
        exp.DataType.Type.CHAR,
        exp.DataType.Type.BOOLEAN,
        exp.DataType.Type.ARRAY,
    }
)
# a constant result kept for reuse is at most this many rows (one, really)
_MAX_CONSTANT_ROWS: Final = 16
_INTEGER_KEYS: Final = {"smallint": 2**15, "integer": 2**31, "bigint": 2**63}
_TEXT_KEYS: Final = frozenset({"text", "character varying"})
_POINT_PARTS: Final = frozenset({"expressions", "where"})
_DIGITS_RE: Final = re.compile(r"-?[0-9]{1,19}")


def _tag(n: int) -> str:
    return f"SELECT {n}"


def _select_parts(ast: exp.Expr) -> set[str] | None:
    if not isinstance(ast, exp.Select):
        return None
    return {k for k, v in ast.args.items() if v not in (None, [], False)}


class Plan:
    """No shortcut: the query goes to DuckDB."""

    cheap = False

    def run(
        self, session: Any, columns: Sequence[ColumnInfo], params: Sequence[object]
    ) -> Result | None:
        return None


NO_PLAN: Final = Plan()


class ConstantPlan(Plan):
    """A constant select list: the rows of its first successful run, kept."""

    def __init__(self) -> None:
        self.rows: tuple[list[ColumnInfo], list[pa.RecordBatch]] | None = None

    @property
    def cheap(self) -> bool:  # type: ignore[override]
        return self.rows is not None

    def run(
        self, session: Any, columns: Sequence[ColumnInfo], params: Sequence[object]
    ) -> Result | None:
        if self.rows is None:
            return None
        cols, batches = self.rows
        return Result(cols, iter(batches), _tag)

    def capture(self, result: Result) -> Result:
        """``result`` unchanged for its reader, its rows kept if it is read to the end."""
        source = result._batches
        if source is None or result.columns is None:
            return result
        columns = list(result.columns)

        def keep() -> Iterator[pa.RecordBatch]:
            seen: list[pa.RecordBatch] = []
            rows = 0
            for batch in source:
                rows += batch.num_rows
                if rows <= _MAX_CONSTANT_ROWS:
                    seen.append(batch)
                yield batch
            if rows <= _MAX_CONSTANT_ROWS:
                self.rows = (columns, seen)

        result._batches = keep()
        return result


def _is_constant(bound: BoundQuery) -> bool:
    if bound.tables or bound.param_types:
        return False
    if _select_parts(bound.ast) != {"expressions"}:
        return False
    for select in bound.ast.expressions:
        for node in select.walk():
            if not isinstance(node, _CONSTANT_NODES):
                return False
            if isinstance(node, exp.DataType) and node.this not in _STABLE_TYPES:
                return False
    return True


class PointPlan(Plan):
    """``SELECT cols FROM table WHERE key = $n`` with ``key`` a one-column unique index."""

    cheap = True

    def __init__(
        self,
        table: Table,
        index: Index,
        param: int,
        key_kind: str,
        param_limit: int,
        fields: list[str],
    ) -> None:
        self.table = table
        self.index = index
        self.param = param  # 0-based
        self.key_kind = key_kind  # "int" or "text"
        self.param_limit = param_limit  # integer parameters: |value| below this
        self.fields = fields  # duck names of the output columns
        self.field_set = set(fields)
        self.layout = layout_of(table)
        self.names = [ROWID, *duck_names(table)]
        types = dict(zip(self.names[1:], (c.type for c in table.columns), strict=True))
        # output columns stored as DuckDB reads them: a segment's view is projected once
        self.plain = all(storage_reader(types[f]) is None for f in fields)
        # the table's view at the last snapshot read: (csn, segments, chunks) -> view and
        # its segments conformed, so back-to-back lookups build neither again
        self._view: tuple[tuple[object, ...], TableSnapshot, dict[int, pa.Table]] | None = None

    def run(
        self, session: Any, columns: Sequence[ColumnInfo], params: Sequence[object]
    ) -> Result | None:
        if self.param >= len(params) or len(columns) != len(self.fields):
            return None
        key = _key_value(params[self.param], self.key_kind, self.param_limit)
        if key is _UNSURE:
            return None
        txn = session.txn
        if txn is not None and txn.pending.get(self.table.oid) is not None:
            return None  # the transaction's own writes: DuckDB sees them
        db = session.db
        batch = None
        if key is not None:
            lock = db._catalog_lock
            if not lock.acquire(blocking=False):
                return None  # a commit is under way: key map and snapshot may disagree
            try:
                if db.catalog.tables.get(self.table.oid) is not self.table:
                    return None
                rowid = db.keys.lookup(self.table, self.index, key)
                snap = db.snapshot() if rowid is not None else None
            finally:
                lock.release()
            if snap is not None:
                batch = self._fetch(snap, rowid)
                if batch is None:
                    return None
        return Result(list(columns), iter(() if batch is None else [batch]), _tag)

    def _table_view(self, snap: Any) -> tuple[TableSnapshot, dict[int, pa.Table]] | None:
        parts = snap._tables.get(self.table.oid)
        if parts is None:
            return None
        key = (snap.csn, *parts)
        cached = self._view
        if (
            cached is not None
            and cached[0][0] == key[0]
            and len(cached[0]) == len(key)
            and all(a is b for a, b in zip(cached[0][1:], key[1:], strict=True))
        ):
            return cached[1], cached[2]
        tsnap = snap.table(self.table.oid)
        if tsnap is None:
            return None
        self._view = (key, tsnap, {})
        return tsnap, self._view[2]

    def _fetch(self, snap: Any, rowid: int) -> pa.RecordBatch | None:
        """The row ``rowid`` of the snapshot, None when it is not there (ask DuckDB)."""
        view = self._table_view(snap)
        if view is None:
            return None
        tsnap, conformed = view
        found = _locate(tsnap, rowid)
        if found is None:
            return None
        seg_idx, offset = found
        data = conformed.get(seg_idx)
        if data is None:
            data = tsnap.segments[seg_idx].conformed(self.layout).rename_columns(self.names)
            if self.plain:
                data = data.select(self.fields)
            conformed[seg_idx] = data
        if self.plain:
            row = data.slice(offset, 1)
        else:
            row = execution_layout(self.table, data.slice(offset, 1), self.field_set)
            row = row.select(self.fields)
        batches = row.to_batches()
        return batches[0] if batches and batches[0].num_rows == 1 else None


def _locate(tsnap: TableSnapshot, rowid: int) -> tuple[int, int] | None:
    """(segment index, offset) of the visible row ``rowid``: ``find_rowids`` for one id."""
    for seg_idx, seg in enumerate(tsnap.segments):
        ids, perm = seg.sorted_index()
        j = int(np.searchsorted(ids, rowid))
        if j < len(ids) and int(ids[j]) == rowid:
            offset = j if perm is None else int(perm[j])
            if seg.visible is None or bool(seg.visible[offset]):
                return seg_idx, offset
    return None


class _Unsure:
    pass


_UNSURE: Final[Any] = _Unsure()


def _key_value(value: object, kind: str, limit: int) -> object:
    """The key as the key map holds it, None for NULL, or _UNSURE (ask DuckDB)."""
    if value is None:
        return None
    if kind == "text":
        return value if isinstance(value, str) else _UNSURE
    if isinstance(value, bool):
        return _UNSURE
    if isinstance(value, str):
        # the plainest spelling only: anything else gets DuckDB's (PostgreSQL's) checks
        if _DIGITS_RE.fullmatch(value) is None:
            return _UNSURE
        value = int(value)
    if not isinstance(value, int) or not -limit <= value < limit:
        return _UNSURE
    return value


def _point_plan(bound: BoundQuery) -> Plan:
    ast = bound.ast
    parts = _select_parts(ast)
    if len(bound.tables) != 1 or parts is None or parts - {"from", "from_"} != _POINT_PARTS:
        return NO_PLAN
    (table,) = bound.tables.values()
    if table.kind != "r":
        return NO_PLAN
    source = ast.args.get("from_") or ast.args.get("from")
    if not isinstance(source, exp.From) or not isinstance(source.this, exp.Table):
        return NO_PLAN
    alias = source.this.alias_or_name
    names = duck_names(table)
    by_name = dict(zip(names, table.columns, strict=True))

    def column(node: exp.Expr) -> str | None:
        if isinstance(node, exp.Column) and node.table == alias and node.name in by_name:
            return node.name
        return None

    fields: list[str] = []
    for select in ast.expressions:
        name = column(select.this if isinstance(select, exp.Alias) else select)
        if name is None:
            return NO_PLAN
        fields.append(name)
    cond = ast.args["where"].this
    if not isinstance(cond, exp.EQ):
        return NO_PLAN
    left, right = cond.this, cond.expression
    if isinstance(left, exp.Parameter):
        left, right = right, left
    key_name = column(left)
    if key_name is None or not isinstance(right, exp.Parameter):
        return NO_PLAN
    if not (isinstance(right.this, exp.Literal) and not right.this.is_string):
        return NO_PLAN
    param = int(right.this.this) - 1
    if not 0 <= param < len(bound.param_types):
        return NO_PLAN
    key_col = by_name[key_name]
    index = next(
        (i for i in table.unique_indexes if len(i.columns) == 1 and i.columns[0] == key_col.name),
        None,
    )
    if index is None:
        return NO_PLAN
    key_type, param_type = key_col.type, bound.param_types[param]
    if key_type.is_array or param_type.is_array:
        return NO_PLAN
    if key_type.name in _INTEGER_KEYS and param_type.name in _INTEGER_KEYS:
        return PointPlan(table, index, param, "int", _INTEGER_KEYS[param_type.name], fields)
    if key_type.name in _TEXT_KEYS and param_type.name in _TEXT_KEYS:
        if key_type.typmod != -1 or param_type.typmod != -1:
            return NO_PLAN  # varchar(n) parameters are cut to length first
        return PointPlan(table, index, param, "text", 0, fields)
    return NO_PLAN


class AnnPlan(Plan):
    """An unfiltered top-k search on a vector index (``fastpath_ann``): its work is
    bounded by ef_search/probes and the growing segment, so like a point lookup it
    costs less than a worker thread's hand-off."""

    cheap = True

    def __init__(self, bound: BoundQuery) -> None:
        self.bound = bound

    def run(
        self, session: Any, columns: Sequence[ColumnInfo], params: Sequence[object]
    ) -> Result | None:
        from vecgres.sql.fastpath_ann import try_fast

        return try_fast(session, self.bound, params, session.db.snapshot())


def _ann_plan(bound: BoundQuery) -> Plan:
    from vecgres.sql.fastpath_ann import unfiltered

    return AnnPlan(bound) if unfiltered(bound) else NO_PLAN


def plan_for(bound: BoundQuery) -> Plan:
    """The shortcut for one bound query."""
    if _is_constant(bound):
        return ConstantPlan()
    point = _point_plan(bound)
    return point if point is not NO_PLAN else _ann_plan(bound)


def plan_of(stmt: Any) -> Plan:
    """The shortcut of a prepared statement's current binding, made once per binding."""
    cached = stmt.fast
    if cached is None or cached[0] is not stmt.bound:
        locks = stmt.ast is not None and stmt.ast.meta.get(row_locks.META)
        # FOR UPDATE takes its table locks before the snapshot: the normal path
        cached = stmt.fast = (stmt.bound, NO_PLAN if locks else plan_for(stmt.bound))
    plan: Plan = cached[1]
    return plan


def execute_quick(session: Any, stmt: Any, params: Sequence[object]) -> Result | None:
    """The result of prepared ``stmt`` if its shortcut answers it now, else None (nothing
    was done: run it the normal way, which also raises whatever error is due).

    The statement bookkeeping of ``Session.execute_prepared`` that such a statement does
    not need is skipped: it takes no locks, writes nothing and reads no DuckDB, so there
    is no transaction to open and commit, no timer to arm and no cursor to detach."""
    if stmt.kind != "query" or stmt.bound is None:
        return None
    txn = session.txn
    if txn is not None and (not txn.explicit or txn.failed or txn.catalog is not None):
        return None  # an implicit (multi-statement) block, an aborted one, or uncommitted DDL
    if stmt.catalog_version != session.db.catalog.version:
        return None
    plan = plan_of(stmt)
    if not plan.cheap or session.cursors.streaming():
        return None
    try:
        grants.check(session, stmt)
    except Exception:
        return None  # the normal path raises it and aborts the transaction block
    if session._timer is not None:
        session._disarm_timeout()  # the last statement's timer is not this one's
    try:
        result = plan.run(session, stmt.columns or [], params)
    except Exception:
        return None  # the normal path raises it with the statement's bookkeeping
    if result is not None and session.notices:
        result.notices = session._take_notices()
    return result
