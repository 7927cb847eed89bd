"""The traffic cop: ``Database`` (one data directory) and ``Session`` (one connection).

Both the embedded API (``vecgres.connect``) and the wire server sit on
``Session``. A session parses, plans and runs statements, tracks the
transaction state and the session's settings, and hands back ``Result``s
whose rows stream as Arrow record batches.

Interface contract (what the server and the DB-API rely on):

* ``Database.open(path, settings)`` opens or creates a data directory,
  recovers it, and refuses (``DatabaseLocked``) if another process owns it.
* ``Database.session(user=..., database=...)`` returns a new ``Session``.
* ``Session.prepare(sql, param_types)`` parses and plans exactly one statement
  and returns a ``PreparedStatement`` whose ``param_types`` are the inferred
  parameter types (``$n`` placeholders) and ``columns`` the result description
  (None when the statement returns no rows).
* ``Session.execute_prepared(stmt, params)`` runs it. ``params`` are Python
  values: ``None``, ``bool``, ``int``, ``float``, ``Decimal``, ``str``, ``bytes``,
  ``date``/``time``/``datetime``/``timedelta``, ``UUID``, lists, ``numpy`` arrays
  (vectors). A ``str`` is coerced to the parameter's type by PostgreSQL's input
  rules, so the server can pass text-format parameters straight through.
* ``Session.execute(sql, params)`` = prepare + execute of one statement.
* ``Session.execute_script(sql)`` runs a simple-query string that may hold
  several statements (implicit transaction, as PostgreSQL's simple protocol).
* ``Session.transaction_status`` is ``"I"``, ``"T"`` or ``"E"``.
* ``Session.cancel()`` may be called from another thread; the running
  statement fails with ``57014``.
* Any error raised is a ``VecgresError`` carrying a SQLSTATE.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import re
import threading
import time
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
from sqlglot import exp
from sqlglot.errors import ParseError, TokenError

from vecgres import admin, cursors, errors
from vecgres.catalog.model import Catalog, Table
from vecgres.config import Settings
from vecgres.executor.duck import DuckSession
from vecgres.executor.keys import KeyIndexes
from vecgres.executor.relation import PendingWrites, layout_of, stored_conversions, table_view
from vecgres.executor.sequences import SequenceState
from vecgres.result import ColumnInfo, Notice, Result
from vecgres.sql import (
    ddl,
    fastpath,
    grants,
    maintenance,
    membership,
    pgcatalog,
    prepared_sql,
    row_locks,
)
from vecgres.sql.bind import BindContext, BoundQuery, bind_query, count_params
from vecgres.sql.dialect import DIALECT
from vecgres.sql.rendercache import Template
from vecgres.sql.settings import SessionSettings
from vecgres.sql.typemap import type_from_duck
from vecgres.storage.store import CommitBatch, Snapshot, Store, TableChange
from vecgres.types import SqlType

_TXN_RE = re.compile(
    r"^\s*(BEGIN|START\s+TRANSACTION|COMMIT|END|ROLLBACK|ABORT|SAVEPOINT|RELEASE)\b(.*)$",
    re.I | re.S,
)
_SET_RE = re.compile(r"^\s*(SET|RESET|SHOW)\b(.*)$", re.I | re.S)
_COPY_RE = re.compile(r"^\s*COPY\b", re.I)


class Database:
    """One data directory: storage, the committed catalog, locks and key indexes."""

    def __init__(self, store: Store, settings: Settings, path: Path) -> None:
        self.store = store
        self.settings = settings
        self.path = path
        self.catalog = Catalog.from_bytes(store.catalog)
        self._catalog_lock = threading.RLock()
        self.locks = LockManager()
        self.keys = KeyIndexes()
        self.sequences = SequenceState(store)
        for table in self.catalog.tables.values():
            if table.kind == "r":
                store.set_layout(table.oid, layout_of(table))
        self.keys.rebuild(self.catalog, store.snapshot())
        self._closed = False
        # CREATE/DROP DATABASE and roles: set by the owner of the data directory (the server)
        self.cluster: admin.ClusterHooks | None = None
        from vecgres.executor.annindex import AnnIndexes

        self.ann = AnnIndexes(store, str(path), lambda: self.catalog)
        store.on_sealed = self.ann.on_sealed
        self.ann.startup()

    @classmethod
    def open(cls, path: str | Path, settings: Settings | None = None) -> Database:
        settings = settings or Settings()
        store = Store.open(str(path), settings)
        try:
            return cls(store, settings, Path(path))
        except BaseException:
            store.close()
            raise

    def session(self, user: str = "postgres", database: str = "postgres") -> Session:
        return Session(self, user=user, database=database)

    def snapshot(self) -> Snapshot:
        return self.store.snapshot()

    def role_dependencies(self, role: str) -> int:
        """Objects ``role`` owns or holds privileges on here (for DROP ROLE in another database)."""
        return membership.count_dependencies(self.catalog, role)

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            try:
                self.ann.close()
                self.sequences.flush()
            finally:
                self.store.close()

    def commit(self, txn: Transaction) -> None:
        """Make a transaction's writes durable and visible (one WAL record)."""
        changes: list[TableChange] = []
        for oid, pending in txn.pending.items():
            inserts = [b for b in pending.inserts if b.num_rows]
            deleted = pending.deleted_rowids()
            if inserts and deleted.size:
                # rows the transaction inserted and deleted again never reach storage
                inserts = _drop_rowids(inserts, deleted)
            if not inserts and not deleted.size and not pending.truncated:
                continue
            changes.append(
                TableChange(
                    oid,
                    inserts=inserts,
                    deletes=deleted if deleted.size else None,
                    truncate=pending.truncated,
                )
            )
        changes.extend(TableChange(oid, drop=True) for oid in txn.dropped)
        blob = txn.catalog.to_bytes() if txn.catalog is not None else None
        if not changes and blob is None:
            return
        with self._catalog_lock:
            if txn.catalog is not None:
                for table in txn.catalog.tables.values():
                    if table.kind == "r":
                        self.store.set_layout(table.oid, layout_of(table))
            self.store.commit(CommitBatch(tables=changes, catalog=blob))
            if txn.catalog is not None:
                dropped = _dropped_indexes(self.catalog, txn.catalog)
                self.catalog = txn.catalog
                if dropped:
                    self.ann.forget_indexes(dropped)
            self.keys.apply_commit(self.catalog, txn, self.store.snapshot)


def _skipped(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
    """No rows: the query still runs to its end (its stream cleans up after itself)."""
    for _batch in batches:
        pass
    yield from ()


def _dropped_indexes(old: Catalog, new: Catalog) -> list[tuple[int, int]]:
    """(table oid, index oid) of the indexes ``old`` has on tables ``new`` still has,
    and ``new`` lacks (a dropped table's files go with its segments)."""
    gone: list[tuple[int, int]] = []
    for oid, table in old.tables.items():
        kept = new.tables.get(oid)
        if kept is None or not table.indexes:
            continue
        now = {idx.oid for idx in kept.indexes}
        gone.extend((oid, idx.oid) for idx in table.indexes if idx.oid not in now)
    return gone


def _drop_rowids(batches: list[pa.RecordBatch], deleted: np.ndarray) -> list[pa.RecordBatch]:
    out = []
    for batch in batches:
        rowids = batch.column("_rowid").to_numpy()
        keep = ~np.isin(rowids, deleted)
        if keep.all():
            out.append(batch)
        elif keep.any():
            out.append(batch.filter(pa.array(keep)))
    return out


class LockManager:
    """Table write locks: one writer per table, held to the end of its transaction."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._owners: dict[int, object] = {}

    def acquire(self, oid: int, owner: object, timeout_ms: int, cancelled: threading.Event) -> None:
        deadline = time.monotonic() + timeout_ms / 1000 if timeout_ms > 0 else None
        with self._cond:
            while True:
                current = self._owners.get(oid)
                if current is None or current is owner:
                    self._owners[oid] = owner
                    return
                if cancelled.is_set():
                    raise errors.QueryCanceled("canceling statement due to user request")
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    raise errors.LockNotAvailable("canceling statement due to lock timeout")
                self._cond.wait(0.05 if remaining is None else min(remaining, 0.05))

    def try_acquire(self, oid: int, owner: object) -> bool:
        """Take the lock if no one else holds it (LOCK ... NOWAIT); never waits."""
        with self._cond:
            current = self._owners.get(oid)
            if current is None or current is owner:
                self._owners[oid] = owner
                return True
            return False

    def release_all(self, owner: object) -> None:
        with self._cond:
            for oid in [o for o, who in self._owners.items() if who is owner]:
                del self._owners[oid]
            self._cond.notify_all()


@dataclass(slots=True)
class Transaction:
    explicit: bool
    catalog: Catalog | None = None  # set once the transaction has done DDL
    pending: dict[int, PendingWrites] = field(default_factory=dict)
    dropped: list[int] = field(default_factory=list)
    savepoints: list[tuple[str, Any]] = field(default_factory=list)
    failed: bool = False
    ddl: bool = False
    constraints: Any = None  # sql.foreign_keys.DeferState: deferred constraint checks

    def writes(self, oid: int) -> PendingWrites:
        found = self.pending.get(oid)
        if found is None:
            found = self.pending[oid] = PendingWrites()
        return found

    def mark(self) -> Any:
        return (
            self.catalog,
            {oid: p.mark() for oid, p in self.pending.items()},
            list(self.dropped),
            None if self.constraints is None else self.constraints.copy(),
        )

    def rollback_to(self, mark: Any) -> None:
        catalog, marks, dropped, self.constraints = mark
        self.catalog = catalog
        for oid in list(self.pending):
            if oid in marks:
                self.pending[oid].rollback_to(marks[oid])
            else:
                del self.pending[oid]
        self.dropped = dropped


@dataclass(slots=True)
class PreparedStatement:
    """A parsed and bound statement, ready to run many times."""

    sql: str
    param_types: list[SqlType]
    columns: list[ColumnInfo] | None
    kind: str
    ast: exp.Expr | None = None
    bound: BoundQuery | None = None
    catalog_version: int = -1
    template: Template | None = None  # bound's SQL with parameter markers (rendercache)
    fast: Any = None  # (bound, fastpath.Plan): the answer without DuckDB, if any


_PLAN_CACHE_SIZE = 256


def _column_from_duck(bound: BoundQuery, index: int, duck: str | None) -> ColumnInfo:
    """Result column ``index``: the bound type where analysis knew it, else DuckDB's."""
    name = bound.output_names[index] if index < len(bound.output_names) else f"col{index}"
    t = bound.output_types[index] if index < len(bound.output_types) else None
    if t is None:
        t = type_from_duck(duck) if duck is not None else SqlType("text")
    src = bound.output_sources[index] if index < len(bound.output_sources) else (0, 0)
    return ColumnInfo(name, t, src[0], src[1])


class Session:
    """One connection's state: settings, transaction, DuckDB connection."""

    def __init__(self, db: Database, *, user: str, database: str) -> None:
        self.db = db
        self.user = user  # current_user: SET ROLE changes it (vecgres.sql.membership)
        self.session_user = user
        self.role_setting: str | None = None
        self.database = database
        self.settings = SessionSettings(user)
        self.txn: Transaction | None = None
        self.duck = DuckSession(memory_limit_bytes=db.settings.query_memory_limit_bytes)
        self._cancel = threading.Event()
        self._deadline: float | None = None
        # statement_timeout: a timer interrupts DuckDB; the token tells a stale timer apart
        self._timer: threading.Timer | None = None
        self._timer_token: object | None = None
        self._timed_out = False
        self.currvals: dict[int, int] = {}
        self.lastval: int | None = None
        self.notices: list[Notice] = []
        self.cursors = cursors.CursorSet()
        self.sql_prepared: dict[str, PreparedStatement] = {}  # PREPARE name AS ...
        # statement text -> (catalog and search_path it was bound under, statement)
        self._plans: OrderedDict[str, tuple[tuple[Catalog, tuple[str, ...]], PreparedStatement]] = (
            OrderedDict()
        )
        self._install_functions()

    # --- public contract -------------------------------------------------------
    @property
    def transaction_status(self) -> str:
        if self.txn is None or not self.txn.explicit:
            return "I"
        return "E" if self.txn.failed else "T"

    def cancel(self) -> None:
        self._cancel.set()
        with contextlib.suppress(Exception):
            self.duck.interrupt()

    def cursor_columns(self, name: str) -> list[ColumnInfo] | None:
        """The columns of the open SQL cursor ``name`` (the wire's Describe portal)."""
        return self.cursors.columns(name)

    def close(self) -> None:
        self._disarm_timeout()
        self.cursors.close_all()
        if self.txn is not None:
            self._end_transaction(commit=False)
        self.duck.close()

    def _arm_timeout(self) -> None:
        self._disarm_timeout()
        self._timed_out = False
        timeout = self.settings.get_int("statement_timeout")
        self._deadline = time.monotonic() + timeout / 1000 if timeout > 0 else None
        if timeout > 0:
            token = self._timer_token = object()
            self._timer = threading.Timer(timeout / 1000, self._fire_timeout, (token,))
            self._timer.daemon = True
            self._timer.start()

    def _disarm_timeout(self) -> None:
        self._timer_token = None
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _fire_timeout(self, token: object) -> None:
        if self._timer_token is token:
            self._timed_out = True
            self._cancel.set()
            with contextlib.suppress(Exception):
                self.duck.interrupt()

    def _canceled(self, exc: errors.VecgresError) -> errors.VecgresError:
        """A 57014 from an interrupt says why: the timeout or the client's cancel."""
        if isinstance(exc, errors.QueryCanceled) and self._timed_out:
            return errors.QueryCanceled("canceling statement due to statement timeout")
        return exc

    def split(self, sql: str) -> list[str]:
        """The statements of a simple-query string, as text."""
        try:
            tokens = DIALECT.tokenize(sql)
        except TokenError as exc:
            raise errors.SyntaxError_(f"syntax error: {exc}") from None
        out: list[str] = []
        start = 0
        for tok in tokens:
            if tok.token_type.name == "SEMICOLON":
                text = sql[start : tok.start].strip()
                if text:
                    out.append(text)
                start = tok.end + 1
        tail = sql[start:].strip()
        if tail:
            out.append(tail)
        return out

    def execute(self, sql: str, params: Sequence[object] | None = None) -> Result:
        stmt = self._prepare_cached(sql)
        return self.execute_prepared(stmt, params or ())

    def _prepare_cached(self, sql: str) -> PreparedStatement:
        """Queries run again by their text skip parsing and binding (simple protocol, DB-API)."""
        if self.txn is not None and self.txn.catalog is not None:
            return self.prepare(sql, describe=False)  # uncommitted DDL: bind afresh
        key = (self.db.catalog, self._plan_path())
        hit = self._plans.get(sql)
        if hit is not None and hit[0][0] is key[0] and hit[0][1] == key[1]:
            self._plans.move_to_end(sql)
            return hit[1]
        stmt = self.prepare(sql, describe=False)
        if stmt.kind == "query":
            self._plans[sql] = (key, stmt)
            if len(self._plans) > _PLAN_CACHE_SIZE:
                self._plans.popitem(last=False)
        return stmt

    def execute_script(self, sql: str) -> Iterator[Result]:
        statements = self.split(sql)
        implicit = len(statements) > 1 and self.txn is None
        if implicit:
            self.txn = Transaction(explicit=False)
        try:
            end = 0
            for text in statements:
                start = max(sql.find(text, end), 0)
                end = start + len(text)
                try:
                    result = self.execute(text)
                except errors.VecgresError as exc:
                    # PostgreSQL's position counts from the start of the whole query string
                    if exc.position is not None:
                        exc.position += start
                    raise
                yield result
        except BaseException:
            if implicit and self.txn is not None and not self.txn.explicit:
                self._end_transaction(commit=False)
            raise
        if implicit and self.txn is not None and not self.txn.explicit:
            self._end_transaction(commit=True)

    def prepare(
        self, sql: str, param_types: Sequence[SqlType | None] = (), *, describe: bool = True
    ) -> PreparedStatement:
        """Parse and bind; ``describe=False`` leaves unknown result types to the first run."""
        substitute = pgcatalog.substitute(sql)
        if substitute is not None:
            sql, param_types = substitute
        if pgcatalog.noop_tag(sql) is not None:
            return PreparedStatement(sql, [], None, "noop")
        if _TXN_RE.match(sql):
            return PreparedStatement(sql, [], None, "txn")
        if admin.is_admin(sql):
            return PreparedStatement(sql, [], None, "admin")
        if maintenance.is_statement(sql):  # VACUUM, ANALYZE, CHECKPOINT, DISCARD, LOCK
            return PreparedStatement(sql, [], None, "maintenance")
        if grants.is_grant(sql):
            return PreparedStatement(sql, [], None, "grant")
        if prepared_sql.is_statement(sql):
            return PreparedStatement(sql, [], None, "prepared")
        if cursors.is_cursor_statement(sql):
            query = cursors.declared_query(sql)
            inner = [] if query is None else self.prepare(query, param_types).param_types
            return PreparedStatement(sql, inner, self.cursors.describe(sql), "cursor")
        if _SET_RE.match(sql):
            m = _SET_RE.match(sql)
            assert m is not None
            cols = (
                [ColumnInfo(self.settings.show_name(m.group(2)), SqlType("text"))]
                if m.group(1).upper() == "SHOW"
                else None
            )
            return PreparedStatement(sql, [], cols, "set")
        if _COPY_RE.match(sql):
            # COPY has its own parser (vecgres.sql.copy_stmt)
            return PreparedStatement(sql, [], None, "copy")
        ast = self._parse_one(sql)
        stmt = PreparedStatement(sql, [], None, _kind(ast), ast=ast)
        n = count_params(ast)
        if stmt.kind == "query":
            stmt.bound = bind_query(ast, self._bind_context(), self._parse_view, param_types)
            stmt.param_types = stmt.bound.param_types
            stmt.columns = [
                ColumnInfo(name, t or SqlType("text"), src[0], src[1])
                for name, t, src in zip(
                    stmt.bound.output_names,
                    stmt.bound.output_types,
                    stmt.bound.output_sources,
                    strict=True,
                )
            ]
            stmt.catalog_version = self._catalog().version
            if any(t is None for t in stmt.bound.output_types):
                stmt.columns = self._describe_by_running(stmt) if describe else None
        else:
            if stmt.kind == "explain":
                from vecgres.sql.explain_plan import describe_explain

                n, stmt.columns = describe_explain(self, ast)
            hints = list(param_types) + [None] * (n - len(param_types))
            stmt.param_types = [h or SqlType("text") for h in hints[:n]]
            if stmt.kind in ("insert", "update", "delete"):
                stmt.columns = self._dml_columns(ast)
                self._infer_dml_params(ast, stmt)
        return stmt

    def execute_prepared(self, stmt: PreparedStatement, params: Sequence[object]) -> Result:
        quick = fastpath.execute_quick(self, stmt, params)
        if quick is not None:
            return quick
        self._cancel.clear()
        self._arm_timeout()
        if stmt.kind not in ("txn", "set", "cursor") or cursors.declared_query(stmt.sql):
            self.cursors.detach()  # the statement needs DuckDB: open cursors stop streaming
        if stmt.kind == "txn":
            return self._transaction_control(stmt.sql)
        if stmt.kind == "noop":
            # SQL PREPARE's statements (the server drops its own first, and says
            # when a name is unknown: it may be one of its own)
            pgcatalog.deallocate(stmt.sql, self.sql_prepared, missing_ok=True)
            return Result(None, None, pgcatalog.noop_tag(stmt.sql) or "")
        if self.txn is not None and self.txn.failed:
            raise errors.InFailedSqlTransaction(
                "current transaction is aborted, commands ignored until end of transaction block"
            )
        if stmt.kind == "set":
            return self._set_command(stmt.sql)
        autocommit = self.txn is None
        if autocommit:
            self.txn = Transaction(explicit=False)
        txn = self.txn
        assert txn is not None
        mark = txn.mark()
        try:
            if stmt.kind == "admin":
                result = self._admin(stmt.sql, in_block=not autocommit)
            elif stmt.kind == "prepared":
                result = prepared_sql.run(self, stmt.sql)
            elif stmt.kind == "maintenance":
                result = maintenance.run(self, stmt.sql, in_block=not autocommit)
            elif stmt.kind == "cursor":
                result = self.cursors.run(
                    stmt.sql,
                    in_block=not autocommit,
                    execute=lambda q: self.execute_prepared(self.prepare(q), params),
                )
            else:
                result = self._dispatch(stmt, params)
            if result.copy is not None and result.copy.direction == "in":
                from vecgres.sql.copy import end_with_copy

                # the data arrives after this returns; the COPY ends the statement
                end_with_copy(self, result.copy, autocommit, mark)
                return result
            if stmt.kind == "query" and result.columns is not None and autocommit:
                # a read-only statement: nothing to commit, stream lazily (the rows are
                # the snapshot's: FOR UPDATE's table locks end with the statement)
                self.txn = None
                if stmt.ast is not None and row_locks.META in stmt.ast.meta:
                    self.db.locks.release_all(txn)
                return result
            if autocommit:
                self._end_transaction(commit=True)
            return result
        except BaseException as exc:
            if autocommit:
                self._end_transaction(commit=False)
            else:
                txn.rollback_to(mark)
                txn.failed = True
            if isinstance(exc, errors.VecgresError):
                raise self._canceled(exc)
            if isinstance(exc, KeyboardInterrupt | SystemExit):
                raise
            raise errors.InternalError(f"internal error: {type(exc).__name__}: {exc}") from exc

    # --- helpers ---------------------------------------------------------------
    def _parse_one(self, sql: str) -> exp.Expr:
        try:
            parsed = [e for e in DIALECT.parse(sql) if e is not None]
        except (ParseError, TokenError) as exc:
            raise _syntax_error(sql, exc) from None
        if not parsed:
            raise errors.SyntaxError_("empty query")
        if len(parsed) > 1:
            raise errors.SyntaxError_("cannot insert multiple commands into a prepared statement")
        from vecgres.sql.bind import normalize_statement

        return normalize_statement(parsed[0], sql)

    def _parse_view(self, sql: str) -> exp.Expr:
        return self._parse_one(sql)

    def _catalog(self) -> Catalog:
        if self.txn is not None and self.txn.catalog is not None:
            return self.txn.catalog
        return self.db.catalog

    def _bind_context(self) -> BindContext:
        index_scans = self.settings.get("enable_seqscan") == "off"
        return BindContext(self._catalog(), self.settings.search_path(), index_scans=index_scans)

    def _check_cancel(self) -> None:
        if self._timed_out or (self._deadline is not None and time.monotonic() > self._deadline):
            raise errors.QueryCanceled("canceling statement due to statement timeout")
        if self._cancel.is_set():
            raise errors.QueryCanceled("canceling statement due to user request")

    def _admin(self, sql: str, *, in_block: bool) -> Result:
        name = admin.needs_no_transaction(sql)
        if name is not None and in_block:
            raise errors.ActiveSqlTransaction(f"{name} cannot run inside a transaction block")
        done = grants.before_admin(self, sql)
        if done is not None:
            return done
        return admin.run(self.db.cluster, sql, database=self.database, user=self.user)

    def _describe_by_running(self, stmt: PreparedStatement) -> list[ColumnInfo]:
        """Result types that analysis could not tell, from DuckDB's own description."""
        assert stmt.bound is not None
        bound = stmt.bound
        params: list[object] = [None] * len(bound.param_types)
        self._register_tables(bound.tables, self.db.snapshot())
        try:
            sql = bound.render(params)
            types, stream = self.duck.query(f"SELECT * FROM ({sql}) AS q LIMIT 0", 1)
            for _ in stream:
                pass
        finally:
            self.duck.clear()
        return [
            _column_from_duck(bound, i, types[i] if i < len(types) else None)
            for i in range(len(bound.output_names))
        ]

    def _register_tables(
        self, tables: dict[str, Table], snap: Snapshot, sql: str | None = None
    ) -> None:
        pending = self.txn.pending if self.txn is not None else {}
        if sql is None or pgcatalog.needs_functions(sql, tables.values()):
            pgcatalog.install_functions(self)  # a session's first catalog query pays for it
        for name, table in tables.items():
            if pgcatalog.is_system(table):
                self.duck.register(name, pgcatalog.catalog_rows(self, table), False)
                continue
            own = pending.get(table.oid)
            # without own writes, a table's view depends only on its definition and
            # the snapshot's CSN: reuse the relation the last statement registered
            key = None if own is not None and own.mark() != (0, 0, False) else (table, snap.csn)
            if key is not None and self.duck.is_current(name, key):
                continue
            data, masked = table_view(table, snap.table(table.oid), own, stored=True)
            self.duck.register(name, data, masked, key, stored_conversions(table))

    def _dispatch(self, stmt: PreparedStatement, params: Sequence[object]) -> Result:
        kind = stmt.kind
        if kind == "grant":
            return grants.run(self, stmt.sql)
        grants.check(self, stmt)
        if kind == "query":
            return self._run_query(stmt, params)
        if kind == "copy":
            from vecgres.sql.copy import run_copy

            return run_copy(self, stmt.sql)
        assert stmt.ast is not None
        if kind in ("insert", "update", "delete"):
            return self._run_dml(stmt, params)
        if kind == "explain":
            from vecgres.sql.explain_topk import explain

            return explain(self, stmt.ast, params)
        return self._run_ddl(stmt.ast)

    def _run_query(self, stmt: PreparedStatement, params: Sequence[object]) -> Result:
        if stmt.ast is None or row_locks.META not in stmt.ast.meta:
            return self._query(stmt, params)
        # FOR UPDATE/SHARE: the table locks come before the statement's snapshot
        txn = self.txn
        assert txn is not None
        got = row_locks.acquire(
            stmt.ast,
            self._catalog(),
            self.settings.search_path(),
            self._parse_view,
            self.lock_table,
            lambda table: self.db.locks.try_acquire(table.oid, txn),
        )
        result = self._query(stmt, params)
        if not got and result._batches is not None:
            result._batches = _skipped(result._batches)  # SKIP LOCKED: every row is locked
        return result

    def _query(self, stmt: PreparedStatement, params: Sequence[object]) -> Result:
        if stmt.bound is None or stmt.catalog_version != self._catalog().version:
            assert stmt.ast is not None
            stmt.bound = bind_query(
                stmt.ast, self._bind_context(), self._parse_view, stmt.param_types
            )
            stmt.catalog_version = self._catalog().version
        bound = stmt.bound
        plan = fastpath.plan_of(stmt)
        quick = plan.run(self, stmt.columns or [], params)
        if quick is not None:
            self._disarm_timeout()
            quick.notices = self._take_notices()
            return quick
        from vecgres.sql.topk import try_topk

        snap = self.db.snapshot()
        fast = try_topk(self, bound, params, snap)
        if fast is not None:
            return fast
        from vecgres.sql.topk_nested import rewrite

        nested = rewrite(self, bound, params, snap)  # top-k subqueries and CTEs
        if nested is not None:
            sql = nested.sql
            self._register_tables(bound.tables, snap, sql)
            nested.register(self.duck)
        else:
            if stmt.template is None or stmt.template.bound is not bound:
                stmt.template = Template(bound)
            sql = stmt.template.render(params)
            self._register_tables(bound.tables, snap, sql)
        types, stream = self.duck.query(sql, self.db.settings.batch_rows)
        columns = stmt.columns or []
        if len(columns) != len(types):
            columns = [_column_from_duck(bound, i, types[i]) for i in range(len(types))]

        def batches() -> Iterator[pa.RecordBatch]:
            try:
                for batch in stream:
                    self._check_cancel()
                    yield batch
            except errors.VecgresError as exc:
                raise self._canceled(exc) from None
            finally:
                self._disarm_timeout()
                self.duck.clear()

        result = Result(columns, batches(), lambda n: f"SELECT {n}", notices=self._take_notices())
        return plan.capture(result) if isinstance(plan, fastpath.ConstantPlan) else result

    def runs_inline(self, stmt: PreparedStatement) -> bool:
        """Whether ``stmt`` is answered without DuckDB (the wire server then runs it on
        its event loop instead of handing it to a worker thread)."""
        return (
            stmt.kind == "query"
            and stmt.bound is not None
            and stmt.catalog_version == self._catalog().version
            and not self.cursors.streaming()
            and fastpath.plan_of(stmt).cheap
        )

    def execute_inline(self, stmt: PreparedStatement, params: Sequence[object]) -> Result | None:
        """``execute_prepared`` when no DuckDB is needed (the wire server then runs it on
        its event loop instead of a worker thread), else None: nothing was done."""
        return fastpath.execute_quick(self, stmt, params)

    def runs_inline_script(self, sql: str) -> bool:
        """``runs_inline`` for a simple-query string that is one statement already cached."""
        if self.txn is not None and self.txn.catalog is not None:
            return False
        hit = self._plans.get(sql.strip())
        if hit is None or hit[0][0] is not self.db.catalog:
            return False
        return hit[0][1] == self._plan_path() and self.runs_inline(hit[1])

    def _plan_path(self) -> tuple[str, ...]:
        """What a cached plan depends on besides the catalog: the search path, and
        enable_seqscan (it changes what a distance order returns: sql/index_scan.py)."""
        return (*self.settings.search_path(), self.settings.get("enable_seqscan"))

    def _take_notices(self) -> list[Notice]:
        out, self.notices = self.notices, []
        return out

    def notice(self, message: str, sqlstate: str = "00000") -> None:
        self.notices.append(Notice("NOTICE", sqlstate, message))

    def lock_table(self, table: Table) -> None:
        assert self.txn is not None
        self.db.locks.acquire(
            table.oid,
            self.txn,
            self.settings.get_int("lock_timeout") or self.db.settings.lock_timeout_ms,
            self._cancel,
        )

    def _dml_columns(self, ast: exp.Expr) -> list[ColumnInfo] | None:
        returning = ast.args.get("returning")
        if returning is None:
            return None
        from vecgres.sql.writes import returning_columns

        return returning_columns(self, ast)

    def _infer_dml_params(self, ast: exp.Expr, stmt: PreparedStatement) -> None:
        from vecgres.sql.writes import infer_params

        infer_params(self, ast, stmt.param_types)

    def _run_dml(self, stmt: PreparedStatement, params: Sequence[object]) -> Result:
        assert stmt.ast is not None
        from vecgres.sql.writes import run_delete, run_insert, run_update

        ast = stmt.ast
        if isinstance(ast, exp.Insert):
            return run_insert(self, ast, params, stmt.param_types)
        if isinstance(ast, exp.Update):
            return run_update(self, ast, params, stmt.param_types)
        assert isinstance(ast, exp.Delete)
        return run_delete(self, ast, params, stmt.param_types)

    # --- DDL -------------------------------------------------------------------
    def _begin_ddl(self) -> Transaction:
        assert self.txn is not None
        txn = self.txn
        if not txn.ddl:
            self.db.locks.acquire(
                0,
                txn,
                self.settings.get_int("lock_timeout") or self.db.settings.lock_timeout_ms,
                self._cancel,
            )
            txn.ddl = True
            # DDL starts from the newest committed catalog, under the DDL lock
            if txn.catalog is None:
                txn.catalog = self.db.catalog
        return txn

    def _apply_ddl(self, result: ddl.DdlResult) -> Result:
        txn = self._begin_ddl()
        grants.stamp_owner(self, txn.catalog, result.catalog)
        for message in result.notices:
            self.notice(message)
        txn.catalog = result.catalog
        for oid in result.dropped_tables:
            txn.pending.pop(oid, None)
            txn.dropped.append(oid)
        for oid in result.truncated_tables:
            txn.writes(oid).truncated = True
        return Result(None, None, result.tag, notices=self._take_notices())

    def _run_ddl(self, ast: exp.Expr) -> Result:
        from vecgres.sql import ddl_more

        self._begin_ddl()
        return ddl_more.run(self, ast)

    # --- transactions ----------------------------------------------------------
    def _end_transaction(self, *, commit: bool) -> dict[str, str]:
        """Commit or roll back; returns the reported settings the end changed back."""
        if commit and self.txn is not None and self.txn.constraints is not None:
            from vecgres.sql.foreign_keys import check_deferred

            if not self.txn.failed:
                try:
                    check_deferred(self)  # DEFERRABLE INITIALLY DEFERRED checks at COMMIT
                except BaseException:
                    self._end_transaction(commit=False)
                    raise
        self.cursors.end_transaction()
        txn = self.txn
        self.txn = None
        if txn is None:
            return self.settings.end_transaction(commit=commit)
        committed = False
        try:
            if commit and not txn.failed:
                self.db.commit(txn)
                committed = True
        finally:
            self.db.locks.release_all(txn)
            changes = self.settings.end_transaction(commit=committed)
        return changes

    def _transaction_control(self, sql: str) -> Result:
        m = _TXN_RE.match(sql)
        assert m is not None
        word = m.group(1).upper().split()[0]
        rest = m.group(2).strip().rstrip(";").strip()
        if word in ("BEGIN", "START"):
            if self.txn is not None and self.txn.explicit:
                self.notice("there is already a transaction in progress", "25001")
                return Result(None, None, "BEGIN", notices=self._take_notices())
            if self.txn is None:
                self.txn = Transaction(explicit=True)
            else:
                self.txn.explicit = True
            return Result(None, None, "BEGIN")
        if word in ("COMMIT", "END"):
            if self.txn is None or not self.txn.explicit:
                self.notice("there is no transaction in progress", "25P01")
                return Result(None, None, "COMMIT", notices=self._take_notices())
            failed = self.txn.failed
            changes = self._end_transaction(commit=not failed)
            return Result(None, None, "ROLLBACK" if failed else "COMMIT", parameter_changes=changes)
        if word in ("ROLLBACK", "ABORT"):
            target = re.match(r"(?:WORK\s+|TRANSACTION\s+)?TO\s+(?:SAVEPOINT\s+)?(\S+)", rest, re.I)
            if target:
                return self._rollback_to(target.group(1).strip('"'))
            if self.txn is None or not self.txn.explicit:
                self.notice("there is no transaction in progress", "25P01")
                return Result(None, None, "ROLLBACK", notices=self._take_notices())
            changes = self._end_transaction(commit=False)
            return Result(None, None, "ROLLBACK", parameter_changes=changes)
        if self.txn is None or not self.txn.explicit:
            raise errors.NoActiveSqlTransaction(f"{word} can only be used in transaction blocks")
        if self.txn.failed:
            raise errors.InFailedSqlTransaction(
                "current transaction is aborted, commands ignored until end of transaction block"
            )
        name = re.sub(r"^SAVEPOINT\s+", "", rest, flags=re.I).strip().strip('"').lower()
        if word == "SAVEPOINT":
            self.txn.savepoints.append((name, (self.txn.mark(), self.settings.mark())))
            return Result(None, None, "SAVEPOINT")
        # RELEASE
        for index in range(len(self.txn.savepoints) - 1, -1, -1):
            if self.txn.savepoints[index][0] == name:
                del self.txn.savepoints[index:]
                return Result(None, None, "RELEASE")
        raise errors.InvalidSavepointSpecification(f'savepoint "{name}" does not exist')

    def _rollback_to(self, name: str) -> Result:
        name = name.lower()
        if self.txn is None or not self.txn.explicit:
            raise errors.NoActiveSqlTransaction(
                "ROLLBACK TO SAVEPOINT can only be used in transaction blocks"
            )
        for index in range(len(self.txn.savepoints) - 1, -1, -1):
            if self.txn.savepoints[index][0] == name:
                txn_mark, settings_mark = self.txn.savepoints[index][1]
                self.txn.rollback_to(txn_mark)
                changes = self.settings.rollback_to(settings_mark)
                del self.txn.savepoints[index + 1 :]
                self.txn.failed = False
                return Result(None, None, "ROLLBACK", parameter_changes=changes)
        self.txn.failed = True
        raise errors.InvalidSavepointSpecification(f'savepoint "{name}" does not exist')

    # --- settings ----------------------------------------------------------------
    def _set_command(self, sql: str) -> Result:
        m = _SET_RE.match(sql)
        assert m is not None
        verb = m.group(1).upper()
        rest = m.group(2).strip().rstrip(";").strip()
        if verb == "SET" and re.match(r"CONSTRAINTS?\s", rest, re.I):
            from vecgres.sql.foreign_keys import set_constraints

            return set_constraints(self, rest)
        done = membership.role_setting(self, verb, rest)
        if done is not None:
            return done
        if verb == "SHOW":
            name, value = self.settings.show(rest)
            batch = pa.record_batch([pa.array([value], pa.string())], names=[name])
            return Result([ColumnInfo(name, SqlType("text"))], iter([batch]), "SHOW")
        if verb == "RESET":
            changes = self.settings.reset(rest, self.txn)
            return Result(None, None, "RESET", parameter_changes=changes)
        changes = self.settings.set_from_sql(rest, self.txn)
        return Result(None, None, "SET", parameter_changes=changes)

    def _install_functions(self) -> None:
        from vecgres.sql.functions import install

        install(self)


def _kind(ast: exp.Expr) -> str:
    if isinstance(ast, exp.Query):
        return "ddl" if ast.args.get("into") is not None else "query"  # SELECT INTO creates
    if isinstance(ast, exp.Insert):
        return "insert"
    if isinstance(ast, exp.Update):
        return "update"
    if isinstance(ast, exp.Delete):
        return "delete"
    if isinstance(ast, exp.Copy):
        return "copy"
    if isinstance(ast, exp.Describe) or (
        isinstance(ast, exp.Command) and ast.name.upper() == "EXPLAIN"
    ):
        return "explain"
    return "ddl"


def _syntax_error(sql: str, exc: Exception) -> errors.VecgresError:
    errs = getattr(exc, "errors", None) or []
    if errs:
        first = errs[0]
        token = first.get("highlight") or ""
        line = first.get("line") or 1
        col = first.get("col") or 1
        pos = _position(sql, line, col, token)
        if token:
            return errors.SyntaxError_(f'syntax error at or near "{token}"', position=pos)
        return errors.SyntaxError_("syntax error at end of input", position=len(sql) + 1)
    return errors.SyntaxError_(f"syntax error: {str(exc).splitlines()[0]}")


def _position(sql: str, line: int, col: int, token: str) -> int:
    lines = sql.split("\n")
    offset = sum(len(x) + 1 for x in lines[: line - 1])
    return offset + max(col - len(token), 0) + 1


__all__ = ["Database", "PreparedStatement", "Session", "dt"]
