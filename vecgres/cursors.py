"""SQL cursors: DECLARE, FETCH, MOVE and CLOSE, as PostgreSQL's simple protocol sees them.

A cursor is a query's ``Result`` kept open in the session and read a few
rows at a time. Its rows stream from the engine lazily while nothing else
runs; before any other statement uses the session's DuckDB connection, the
rest of each open cursor is read into memory (``detach``), because DuckDB runs
one query per connection. Cursors are forward-only (SCROLL is refused); those
without WITH HOLD end with their transaction, as in PostgreSQL. The wire
server also finds them by name for Describe (portal), since PostgreSQL's SQL
cursors and protocol portals are one namespace, and psycopg relies on it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Final

import pyarrow as pa

from vecgres import errors
from vecgres.result import ColumnInfo, Result

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


def _ident(text: str) -> str:
    if text.startswith('"'):
        return text[1:-1].replace('""', '"')
    return text.lower()


@dataclass(slots=True)
class Cursor:
    name: str
    columns: list[ColumnInfo]
    hold: bool
    result: Result
    stream: Iterator[pa.RecordBatch] | None
    buffered: list[pa.RecordBatch] = field(default_factory=list)
    done: bool = False

    def take(self, count: int | None) -> list[pa.RecordBatch]:
        """Up to ``count`` rows (all when None), in batches."""
        out: list[pa.RecordBatch] = []
        want = count
        while want is None or want > 0:
            if not self.buffered:
                batch = None if self.stream is None else next(self.stream, None)
                if batch is None:
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
            self.buffered.extend(self.stream)
            self.stream = None

    def close(self) -> None:
        self.stream = None
        self.buffered.clear()
        self.result.close()


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
        return self.columns(_ident(f.group(2)))

    def detach(self) -> None:
        """Read the rest of every streaming cursor: another statement needs DuckDB."""
        for cursor in self._cursors.values():
            cursor.materialize()

    def streaming(self) -> bool:
        """Whether some cursor still reads from DuckDB (``detach`` would have work to do)."""
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
        name = _ident(m.group(1))
        options = " ".join(m.group(2).upper().split())
        hold = bool(m.group(3)) and m.group(3).upper().startswith("WITH ")
        if "SCROLL" in options.replace("NO SCROLL", ""):
            raise errors.FeatureNotSupported("scrollable cursors are not supported yet")
        if "BINARY" in options:
            raise errors.FeatureNotSupported("binary cursors are not supported yet")
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
        self._cursors[name] = cursor
        if hold and not in_block:
            cursor.materialize()
        return Result(None, None, "DECLARE CURSOR")

    def _close(self, rest: str) -> Result:
        if rest.upper() == "ALL":
            self.close_all()
            return Result(None, None, "CLOSE CURSOR")
        name = _ident(rest)
        cursor = self._cursors.pop(name, None)
        if cursor is None:
            raise errors.InvalidCursorName(f'cursor "{name}" does not exist')
        cursor.close()
        return Result(None, None, "CLOSE CURSOR")

    def _fetch(self, verb: str, rest: str) -> Result:
        m = _FETCH_RE.match(rest)
        if m is None:
            raise errors.SyntaxError_(f"syntax error in {verb}")
        name = _ident(m.group(2))
        cursor = self._cursors.get(name)
        if cursor is None:
            raise errors.InvalidCursorName(f'cursor "{name}" does not exist')
        count = _count((m.group(1) or "NEXT").upper().split())
        batches = cursor.take(count)
        rows = sum(b.num_rows for b in batches)
        if verb == "MOVE":
            return Result(None, None, f"MOVE {rows}")
        return Result(cursor.columns, iter(batches), lambda n: f"FETCH {n}")


def _count(words: Sequence[str]) -> int | None:
    """Rows a forward FETCH/MOVE direction asks for (None: all)."""
    backward = errors.ObjectNotInPrerequisiteState(
        "cursor can only scan forward",
        hint="Declare it with SCROLL option to enable backward scan.",
    )
    head = words[0]
    if head == "NEXT":
        return 1
    if head == "ALL":
        return None
    if head == "FORWARD":
        if len(words) == 1:
            return 1
        return None if words[1] == "ALL" else _non_negative(int(words[1]), backward)
    if head in ("PRIOR", "FIRST", "LAST", "ABSOLUTE", "RELATIVE", "BACKWARD"):
        raise backward
    return _non_negative(int(head), backward)


def _non_negative(n: int, backward: errors.VecgresError) -> int:
    if n < 0:
        raise backward
    return n
