"""SQL cursors: DECLARE, FETCH, MOVE and CLOSE, as PostgreSQL's simple protocol sees them.

A cursor is a query's ``Result`` kept open in the session and read a few
rows at a time. Its rows stream from the engine lazily while nothing else
runs; before any other statement uses the session's DuckDB connection, the
rest of each open cursor is read into memory (``detach``), because DuckDB runs
one query per connection; those rows, and the rows a scrollable cursor keeps,
go to a ``Spool``, which moves them to a temporary file past its memory budget
as PostgreSQL's tuplestore does. A cursor declared SCROLL keeps the rows it has read,
so FETCH PRIOR/FIRST/LAST/ABSOLUTE/RELATIVE/BACKWARD move over them as
PostgreSQL's do. One declared with neither SCROLL nor NO SCROLL is scrollable
when PostgreSQL's plan for its query could scan backward (``backward_capable``);
it keeps up to IMPLICIT_KEEP_BYTES of rows for that and is forward-only past
them. A forward-only cursor answers every FETCH/MOVE as PostgreSQL's
DoPortalRunFetch does, with 55000 "cursor can only scan forward" where that
needs a backward step. A BINARY cursor's rows go
out in binary format over the simple protocol (``Result.binary``); the
extended protocol's Bind formats win, as in PostgreSQL. Cursors without WITH
HOLD end with their transaction, as in PostgreSQL. The wire
server also finds them by name for Describe (portal), since PostgreSQL's SQL
cursors and protocol portals are one namespace, and psycopg relies on it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Final

import pyarrow as pa
from sqlglot import exp

from vecgres import errors
from vecgres.result import ColumnInfo, Result
from vecgres.spool import Spool
from vecgres.sql.grants import ident

_CURSOR_RE: Final = re.compile(r"^\s*(DECLARE|FETCH|MOVE|CLOSE)\b(.*)$", re.I | re.S)
_DECLARE_RE: Final = re.compile(
    r"""^\s*("(?:[^"]|"")+"|[A-Za-z_][\w$]*)\s+
    ((?:(?:BINARY|INSENSITIVE|ASENSITIVE|NO\s+SCROLL|SCROLL)\s+)*)
    CURSOR\s+((?:WITH|WITHOUT)\s+HOLD\s+)?FOR\s+(.+)$""",
    re.I | re.S | re.X,
)
_FETCH_RE: Final = re.compile(
    r"""^\s*(?:(NEXT|PRIOR|FIRST|LAST|ALL|
        (?:ABSOLUTE|RELATIVE)\s+[-+]?\d+|
        (?:FORWARD|BACKWARD)(?:\s+(?:ALL|[-+]?\d+))?|
        [-+]?\d+)\s+)?
    (?:(?:FROM|IN)\s+)?("(?:[^"]|"")+"|[A-Za-z_][\w$]*)\s*$""",
    re.I | re.S | re.X,
)

# run a query and return its (lazy) result; the session's execute
Execute = Callable[[str], Result]


def is_cursor_statement(sql: str) -> bool:
    return _CURSOR_RE.match(sql) is not None


def declared_query(sql: str) -> str | None:
    """The query of a DECLARE statement (None for FETCH/MOVE/CLOSE or a malformed DECLARE)."""
    m = _CURSOR_RE.match(sql)
    if m is None or m.group(1).upper() != "DECLARE":
        return None
    d = _DECLARE_RE.match(m.group(2).strip().rstrip(";").strip())
    return None if d is None else d.group(4)


@dataclass(slots=True)
class Cursor:
    name: str
    columns: list[ColumnInfo]
    hold: bool
    result: Result
    stream: Iterator[pa.RecordBatch] | None
    buffered: list[pa.RecordBatch] = field(default_factory=list)
    done: bool = False
    binary: bool = False
    scroll: bool = False
    # a scrollable cursor's rows read so far, and its position: 0 before the first row,
    # k on row k, len(kept) + 1 after the last (PostgreSQL's portal position)
    kept: Spool | None = None
    pos: int = 0
    # bytes of kept rows past which a cursor scrollable without SCROLL turns forward-only
    keep_limit: int | None = None
    # a forward-only cursor's PostgreSQL portal state (atStart, atEnd, portalPos)
    at_start: bool = True
    at_end: bool = False
    fpos: int = 0
    # an error met while the rows were read out early: raised by the FETCH that gets there
    failed: errors.VecgresError | None = None

    def take(self, count: int | None) -> list[pa.RecordBatch]:
        """Up to ``count`` rows (all when None), in batches."""
        out: list[pa.RecordBatch] = []
        want = count
        while want is None or want > 0:
            if not self.buffered:
                batch = None if self.stream is None else next(self.stream, None)
                if batch is None:
                    if self.failed is not None:
                        failed, self.failed = self.failed, None
                        raise failed
                    self.done = True
                    self.stream = None
                    break
                self.buffered.append(batch)
                continue
            batch = self.buffered[0]
            if want is not None and batch.num_rows > want:
                out.append(batch.slice(0, want))
                self.buffered[0] = batch.slice(want)
                want = 0
            else:
                out.append(batch)
                self.buffered.pop(0)
                if want is not None:
                    want -= batch.num_rows
        return out

    def materialize(self) -> None:
        if self.stream is not None:
            rest = Spool()
            try:
                for batch in self.stream:
                    rest.append([batch])
            except errors.VecgresError as exc:
                self.failed = exc
            self.stream = None
            if rest.num_rows:
                self.buffered.extend(rest.table().to_batches())

    def close(self) -> None:
        self.stream = None
        self.buffered.clear()
        self.kept = None
        self.result.close()

    # --- forward-only cursors ---------------------------------------------------------

    def _run_select(self, forward: bool, count: int | None) -> list[pa.RecordBatch]:
        """PostgreSQL's PortalRunSelect for a forward-only cursor (count None: all)."""
        if not forward:
            raise _no_scroll()
        if self.at_end or (count is not None and count <= 0):
            return []
        got = self.take(count)
        n = sum(b.num_rows for b in got)
        if n > 0:
            self.at_start = False
        if count is None or n < count:
            self.at_end = True
        self.fpos += n
        return got

    def _rewind(self) -> None:
        if not (self.at_start and not self.at_end):
            raise _no_scroll()

    def fetch_forward_only(
        self, words: Sequence[str], move: bool
    ) -> tuple[list[pa.RecordBatch], int | None]:
        """PostgreSQL's DoPortalRunFetch for a NO SCROLL portal: the rows, and for MOVE
        a row count where PostgreSQL reports one without fetching."""
        direction, count = _direction(words)
        if direction == "ABSOLUTE":
            assert count is not None
            if count > 0:
                if count - 1 <= self.fpos // 2:
                    self._rewind()
                    if count > 1:
                        self._run_select(True, count - 1)
                else:
                    pos = self.fpos + (1 if self.at_end else 0)
                    if count <= pos:
                        self._run_select(False, pos - count + 1)
                    elif count > pos + 1:
                        self._run_select(True, count - pos - 1)
                return self._run_select(True, 1), None
            if count < 0:
                self._run_select(True, None)
                return self._run_select(False, 1), None
            self._rewind()
            return [], None
        if direction == "RELATIVE":
            assert count is not None
            if count > 0:
                if count > 1:
                    self._run_select(True, count - 1)
                return self._run_select(True, 1), None
            if count < 0:
                return self._run_select(False, 1), None
            direction = "FORWARD"
        elif count is not None and count < 0:
            direction = "BACKWARD" if direction == "FORWARD" else "FORWARD"
            count = -count
        forward = direction == "FORWARD"
        if count == 0:
            on_row = not self.at_start and not self.at_end
            if move:
                return [], 1 if on_row else 0
            if on_row:
                self._run_select(False, 1)  # re-fetching the current row steps back
        if not forward and count is None and move:
            # MOVE BACKWARD ALL is a rewind; its count is the rows moved over
            moved = self.fpos - (1 if self.fpos > 0 and not self.at_end else 0)
            self._rewind()
            return [], moved
        return self._run_select(forward, count), None

    def forget_kept(self) -> None:
        """Turn a scrollable cursor forward-only where it stands: its rows past the
        position are read next, the ones before it are let go."""
        kept = self.kept
        total = 0 if kept is None else kept.num_rows
        if kept is not None and self.pos < total:
            self.buffered[:0] = kept.table().slice(self.pos).to_batches()
        self.at_end = self.pos > total
        self.at_start = self.pos == 0
        self.fpos = min(self.pos, total)
        self.kept = None
        self.scroll = False

    # --- scrollable cursors -----------------------------------------------------------

    def _have(self, row: int | None) -> int:
        """Read on until row ``row`` (1-based; None: every row) is kept; rows kept."""
        more: list[pa.RecordBatch] = []
        have = self._kept_rows()
        while row is None or have < row:
            got = self.take(None if row is None else row - have)
            if not got:
                break
            more.extend(got)
            have += sum(b.num_rows for b in got)
        if more:
            if self.kept is None:
                # a cursor scrollable without SCROLL lets its rows go past keep_limit
                # instead of writing them to a file
                self.kept = Spool() if self.keep_limit is None else Spool(_ALL)
            self.kept.append(more)
        return have

    def _kept_rows(self) -> int:
        return 0 if self.kept is None else self.kept.num_rows

    def _rows(self, first: int, last: int) -> list[pa.RecordBatch]:
        """Kept rows ``first`` .. ``last`` (1-based, inclusive), in that order."""
        assert self.kept is not None
        kept = self.kept.table()
        if first <= last:
            picked = kept.slice(first - 1, last - first + 1)
        else:
            picked = kept.take(pa.array(range(first - 1, last - 2, -1), pa.int64()))
        out: list[pa.RecordBatch] = picked.to_batches()
        return out

    def scroll_to(self, words: Sequence[str]) -> list[pa.RecordBatch]:
        """PostgreSQL's DoPortalRunFetch over the kept rows: the rows a FETCH returns."""
        head = words[0]
        arg = words[1] if len(words) > 1 else None
        if head in ("FIRST", "LAST"):
            return self._absolute(1 if head == "FIRST" else -1)
        if head == "ABSOLUTE":
            return self._absolute(int(words[1]))
        if head == "RELATIVE":
            return self._relative(int(words[1]))
        if head in ("NEXT", "PRIOR"):
            return self._forward(1 if head == "NEXT" else -1)
        if head in ("FORWARD", "BACKWARD"):
            sign = 1 if head == "FORWARD" else -1
            if arg == "ALL":
                return self._forward(sign * _ALL)
            return self._forward(sign * (1 if arg is None else int(arg)))
        if head == "ALL":
            return self._forward(_ALL)
        return self._forward(int(head))

    def _absolute(self, n: int) -> list[pa.RecordBatch]:
        if n > 0:
            if self._have(n) >= n:
                self.pos = n
                return self._rows(n, n)
            self.pos = self._kept_rows() + 1
            return []
        if n == 0:
            self.pos = 0
            return []
        total = self._have(None)
        target = total + 1 + n
        if target < 1:
            self.pos = 0
            return []
        self.pos = target
        return self._rows(target, target)

    def _relative(self, n: int) -> list[pa.RecordBatch]:
        if n == 0:
            return self._current()
        target = self.pos + n
        if target < 1:
            self.pos = 0
            return []
        return self._absolute(target)

    def _current(self) -> list[pa.RecordBatch]:
        if self.pos >= 1 and self._have(self.pos) >= self.pos:
            return self._rows(self.pos, self.pos)
        return []

    def _forward(self, n: int) -> list[pa.RecordBatch]:
        if n == 0:
            return self._current()
        if n > 0:
            last = self.pos + n
            total = self._have(None if n >= _ALL else last)
            first = self.pos + 1
            if last > total:
                self.pos = total + 1
                return self._rows(first, total) if first <= total else []
            self.pos = last
            return self._rows(first, last)
        total = self._have(self.pos) if self.pos >= 1 else 0
        start = min(self.pos - 1, total)
        end = self.pos + n  # n < 0
        if end < 1:
            self.pos = 0
            return self._rows(start, 1) if start >= 1 else []
        self.pos = end
        return self._rows(start, end)


# FORWARD/BACKWARD ALL as a count (PostgreSQL's FETCH_ALL is LONG_MAX)
_ALL: Final = 2**62


class CursorSet:
    """The open cursors of one session."""

    def __init__(self) -> None:
        self._cursors: dict[str, Cursor] = {}

    def columns(self, name: str) -> list[ColumnInfo] | None:
        cursor = self._cursors.get(name)
        return None if cursor is None else cursor.columns

    def describe(self, sql: str) -> list[ColumnInfo] | None:
        """The row description a FETCH would give (for Parse/Describe)."""
        m = _CURSOR_RE.match(sql)
        if m is None or m.group(1).upper() != "FETCH":
            return None
        f = _FETCH_RE.match(m.group(2).strip().rstrip(";"))
        if f is None:
            return None
        return self.columns(ident(f.group(2)))

    def detach(self) -> None:
        """Read the rest of every streaming cursor: another statement needs DuckDB."""
        for cursor in self._cursors.values():
            cursor.materialize()

    def streaming(self) -> bool:
        """Whether some cursor still reads from DuckDB (``detach`` would have work to do)."""
        if not self._cursors:
            return False  # the usual case, asked before every statement
        return any(cursor.stream is not None for cursor in self._cursors.values())

    def end_transaction(self) -> None:
        for name in list(self._cursors):
            cursor = self._cursors[name]
            if cursor.hold:
                cursor.materialize()
            else:
                cursor.close()
                del self._cursors[name]

    def close_all(self) -> None:
        for cursor in self._cursors.values():
            cursor.close()
        self._cursors.clear()

    def run(self, sql: str, *, in_block: bool, execute: Execute) -> Result:
        m = _CURSOR_RE.match(sql)
        assert m is not None
        verb, rest = m.group(1).upper(), m.group(2).strip().rstrip(";").strip()
        if verb == "DECLARE":
            return self._declare(rest, in_block, execute)
        if verb == "CLOSE":
            return self._close(rest)
        return self._fetch(verb, rest)

    def _declare(self, rest: str, in_block: bool, execute: Execute) -> Result:
        m = _DECLARE_RE.match(rest)
        if m is None:
            raise errors.SyntaxError_("syntax error in DECLARE CURSOR")
        name = ident(m.group(1))
        options = " ".join(m.group(2).upper().split())
        hold = bool(m.group(3)) and m.group(3).upper().startswith("WITH ")
        scroll = "SCROLL" in options.replace("NO SCROLL", "")
        if scroll and "NO SCROLL" in options:
            raise errors.InvalidCursorDefinition("cannot specify both SCROLL and NO SCROLL")
        # neither option: PostgreSQL makes the cursor scrollable when its plan allows it
        implicit = "SCROLL" not in options and backward_capable(m.group(4))
        if not in_block and not hold:
            raise errors.NoActiveSqlTransaction(
                "DECLARE CURSOR can only be used in transaction blocks"
            )
        if name in self._cursors:
            raise errors.VecgresError(f'cursor "{name}" already exists', sqlstate="42P03")
        result = execute(m.group(4))
        if result.columns is None:
            result.close()
            word = m.group(4).split()[0]
            raise errors.SyntaxError_(f'syntax error at or near "{word}"')
        cursor = Cursor(name, list(result.columns), hold, result, result.batches())
        cursor.binary = "BINARY" in options.split()
        cursor.scroll = scroll or implicit
        if implicit:
            cursor.keep_limit = IMPLICIT_KEEP_BYTES
        self._cursors[name] = cursor
        if hold and not in_block:
            cursor.materialize()
        return Result(None, None, "DECLARE CURSOR")

    def _close(self, rest: str) -> Result:
        if rest.upper() == "ALL":
            self.close_all()
            return Result(None, None, "CLOSE CURSOR")
        name = ident(rest)
        cursor = self._cursors.pop(name, None)
        if cursor is None:
            raise errors.InvalidCursorName(f'cursor "{name}" does not exist')
        cursor.close()
        return Result(None, None, "CLOSE CURSOR")

    def _fetch(self, verb: str, rest: str) -> Result:
        m = _FETCH_RE.match(rest)
        if m is None:
            raise errors.SyntaxError_(f"syntax error in {verb}")
        name = ident(m.group(2))
        cursor = self._cursors.get(name)
        if cursor is None:
            raise errors.InvalidCursorName(f'cursor "{name}" does not exist')
        words = (m.group(1) or "NEXT").upper().split()
        moved: int | None = None
        if cursor.scroll:
            batches = cursor.scroll_to(words)
            limit = cursor.keep_limit
            if limit is not None and cursor.kept is not None and cursor.kept.nbytes > limit:
                cursor.forget_kept()
        else:
            batches, moved = cursor.fetch_forward_only(words, verb == "MOVE")
        rows = sum(b.num_rows for b in batches)
        if verb == "MOVE":
            return Result(None, None, f"MOVE {rows if moved is None else moved}")
        result = Result(cursor.columns, iter(batches), lambda n: f"FETCH {n}")
        result.binary = cursor.binary
        return result


def _no_scroll() -> errors.VecgresError:
    return errors.ObjectNotInPrerequisiteState(
        "cursor can only scan forward",
        hint="Declare it with SCROLL option to enable backward scan.",
    )


def _direction(words: Sequence[str]) -> tuple[str, int | None]:
    """A FETCH direction as PostgreSQL's parser leaves it: FORWARD, BACKWARD, ABSOLUTE or
    RELATIVE and a count (None: ALL)."""
    head = words[0]
    arg = words[1] if len(words) > 1 else None
    if head == "NEXT":
        return "FORWARD", 1
    if head == "PRIOR":
        return "BACKWARD", 1
    if head == "FIRST":
        return "ABSOLUTE", 1
    if head == "LAST":
        return "ABSOLUTE", -1
    if head in ("ABSOLUTE", "RELATIVE"):
        return head, int(words[1])
    if head == "ALL":
        return "FORWARD", None
    if head in ("FORWARD", "BACKWARD"):
        if arg is None:
            return head, 1
        return head, None if arg == "ALL" else int(arg)
    return "FORWARD", int(head)


# rows a cursor declared without SCROLL keeps for backward fetches, at most
IMPLICIT_KEEP_BYTES: Final = 64 * 1024 * 1024


def backward_capable(query: str) -> bool:
    """Whether PostgreSQL's plan for ``query`` would support backward scan (its
    ExecSupportsBackwardScan), judged from the query's shape: scans, filters, sorts,
    limits, subqueries in FROM, CTEs, VALUES and UNION ALL can; joins (also IN/EXISTS
    subqueries), aggregates, GROUP BY, DISTINCT, window functions,
    set-returning functions in the select list, UNION/INTERSECT/EXCEPT, FOR UPDATE and
    a select list without FROM cannot."""
    from vecgres.sql.dialect import DIALECT  # sqlglot is heavy; DECLARE is rare

    try:
        parsed = [e for e in DIALECT.parse(query) if e is not None]
    except Exception:
        return False
    return len(parsed) == 1 and _backward(parsed[0])


def _backward(node: exp.Expr) -> bool:
    if isinstance(node, exp.Subquery):
        return _backward(node.this)
    if isinstance(node, exp.Union):
        return bool(node.args.get("distinct")) is False and all(
            _backward(side) for side in (node.left, node.right)
        )
    if isinstance(node, exp.Values):
        return True
    if not isinstance(node, exp.Select):
        return False
    source = node.args.get("from_") or node.args.get("from")
    if source is None or node.args.get("joins") or node.args.get("locks"):
        return False
    if node.args.get("group") or node.args.get("having") or node.args.get("windows"):
        return False
    if node.args.get("distinct"):
        return False  # Unique and HashAggregate cannot (a Sort above one could: plan-dependent)
    for select in node.expressions:
        if select.find(exp.AggFunc, exp.Window, exp.Explode, exp.Unnest, exp.GenerateSeries):
            return False
    where = node.args.get("where")
    if where is not None and any(
        isinstance(n, exp.Exists) or (isinstance(n, exp.In) and n.args.get("query"))
        for n in where.walk()
    ):
        return False  # a semi-join
    inner = source.this
    if isinstance(inner, exp.Subquery):
        return _backward(inner.this)
    return isinstance(inner, exp.Table | exp.Values)
