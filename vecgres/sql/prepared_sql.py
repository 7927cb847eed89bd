"""SQL-level prepared statements: PREPARE and EXECUTE (and EXPLAIN EXECUTE).

``PREPARE name [(type, ...)] AS statement`` keeps the statement prepared and bound
under ``name`` for the session (``Session.sql_prepared``); ``EXECUTE name [(value,
...)]`` runs it with those parameter values (constant expressions, evaluated
before the run, as PostgreSQL does). ``DEALLOCATE`` is answered where the
protocol-level statements are dropped too (``pgcatalog.deallocate``): a name it
does not know may be one of those, so it is no error. Errors and command tags
are PostgreSQL's.

Statements the client prepared with the extended protocol (Parse with a name) share
the namespace: ``EXECUTE`` runs them too, and ``pg_prepared_statements`` lists both
kinds (``from_sql`` false for the protocol's). The server hands this module its
statements (``attach_protocol``) and tells it of each Parse and Bind.
"""

from __future__ import annotations

import re
import weakref
from collections.abc import Mapping, MutableMapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import sqlglot
from sqlglot import exp

from vecgres import errors
from vecgres.planner.pgplan import split_list
from vecgres.result import Result
from vecgres.sql.dialect import DIALECT
from vecgres.sql.grants import ident
from vecgres.sql.typemap import sql_type

# the engine's Session and PreparedStatement: sql/ may not import the engine (layers)
Session_ = Any

_NAME = r'(?:[A-Za-z_][\w$]*|"(?:[^"]|"")+")'
_PREPARE_RE = re.compile(
    rf"^\s*PREPARE\s+({_NAME})\s*(?:\((.*?)\))?\s*AS\s+(.+?)\s*;?\s*$", re.S | re.I
)
_EXECUTE_RE = re.compile(rf"^\s*EXECUTE\s+({_NAME})\s*(?:\((.*)\))?\s*;?\s*$", re.S | re.I)
_FIRST_RE = re.compile(r"^\s*(PREPARE|EXECUTE)\b", re.I)
# the statements PostgreSQL can prepare
_PREPARABLE = re.compile(r"^\s*\(*\s*(SELECT|VALUES|WITH|INSERT|UPDATE|DELETE|TABLE)\b", re.I)


def is_statement(sql: str) -> bool:
    return _FIRST_RE.match(sql) is not None


def _registry(session: Session_) -> dict[str, Any]:
    registry: dict[str, Any] = session.sql_prepared
    return registry


@dataclass(slots=True)
class _Entry:
    """What pg_prepared_statements shows of a statement besides its name."""

    statement: str
    prepare_time: datetime = field(default_factory=lambda: datetime.now(UTC))
    generic_plans: int = 0
    custom_plans: int = 0

    def planned(self, nparams: int) -> None:
        """Count a run as PostgreSQL's plan cache chooses its plan: custom plans for
        the first five runs of a statement with parameters, then the generic plan
        (which wins the cost comparison for vecgres's statements); a statement
        without parameters always runs its generic plan."""
        if nparams and self.custom_plans < 5:
            self.custom_plans += 1
        else:
            self.generic_plans += 1


@dataclass(slots=True)
class _Known:
    sql: dict[str, _Entry] = field(default_factory=dict)
    protocol: dict[str, _Entry] = field(default_factory=dict)
    wire: Mapping[str, Any] | None = None  # the server's statements by name, if any


_SESSIONS: weakref.WeakKeyDictionary[Any, _Known] = weakref.WeakKeyDictionary()


def _known(session: Session_) -> _Known:
    try:
        known = _SESSIONS.get(session)
        if known is None:
            known = _SESSIONS[session] = _Known()
    except TypeError:  # a session that cannot be weakly referenced: nothing is kept
        return _Known()
    return known


def attach_protocol(session: Session_, statements: Mapping[str, Any]) -> None:
    """The server's protocol-level statements (name -> its Statement: ``sql``,
    ``prepared``, ``param_oids``), which EXECUTE and pg_prepared_statements see."""
    _known(session).wire = statements


def protocol_parsed(session: Session_, name: str) -> None:
    """A Parse prepared ``name`` (the unnamed statement is not listed)."""
    if session is None:
        return
    known = _known(session)
    if name and known.wire is not None and name in known.wire:
        known.protocol[name] = _Entry(known.wire[name].sql)


def protocol_bound(session: Session_, name: str) -> None:
    """A Bind of statement ``name`` planned it once."""
    if session is None:
        return
    known = _known(session)
    entry = known.protocol.get(name)
    if entry is not None and known.wire is not None and name in known.wire:
        entry.planned(len(known.wire[name].param_oids))


def name_taken(session: Session_, name: str) -> bool:
    """Whether ``name`` is a prepared statement of either kind (one namespace)."""
    wire = _known(session).wire
    return name in _registry(session) or (wire is not None and name in wire)


def statement_rows(session: Session_) -> list[dict[str, object]]:
    """The rows of pg_prepared_statements: the session's SQL PREPAREs and its named
    protocol statements (type OIDs of the parameters; the catalog names them)."""
    known = _known(session)
    rows: list[dict[str, object]] = []
    for name, stmt in _registry(session).items():
        entry = known.sql.get(name) or _Entry(stmt.sql)
        rows.append(_row(name, entry, [t.oid for t in stmt.param_types], from_sql=True))
    for name, wire_stmt in (known.wire or {}).items():
        if not name:
            continue
        wire_entry = known.protocol.get(name)
        if wire_entry is None or wire_entry.statement != wire_stmt.sql:
            wire_entry = known.protocol[name] = _Entry(wire_stmt.sql)
        rows.append(_row(name, wire_entry, list(wire_stmt.param_oids), from_sql=False))
    return rows


def _row(name: str, entry: _Entry, oids: list[int], *, from_sql: bool) -> dict[str, object]:
    return {
        "name": name,
        "statement": entry.statement,
        "prepare_time": entry.prepare_time,
        "parameter_types": oids,
        "from_sql": from_sql,
        "generic_plans": entry.generic_plans,
        "custom_plans": entry.custom_plans,
    }


def run(session: Session_, sql: str) -> Result:
    m = _PREPARE_RE.match(sql)
    if m is not None:
        text = sql.strip().rstrip(";").rstrip()
        return _prepare(session, ident(m.group(1)), m.group(2), m.group(3), text)
    if _EXECUTE_RE.match(sql) is not None:
        stmt, params = resolve_execute(session, sql)
        result: Result = session.execute_prepared(stmt, params)
        if result.columns is None:
            return result
        # the rows are read now: the statement's transaction ends before they are sent
        batches = list(result.batches())
        return Result(result.columns, iter(batches), result.command_tag, notices=result.notices)
    word = sql.split()[0] if sql.split() else ""
    raise errors.SyntaxError_(f'syntax error at or near "{word}"')


def _prepare(session: Session_, name: str, types: str | None, body: str, statement: str) -> Result:
    registry = _registry(session)
    if name_taken(session, name):
        raise errors.DuplicatePreparedStatement(f'prepared statement "{name}" already exists')
    if _PREPARABLE.match(body) is None:
        word = body.split()[0] if body.split() else ""
        raise errors.SyntaxError_(f'syntax error at or near "{word}"')
    hints = []
    for text in split_list(types or ""):
        try:
            hints.append(sql_type(exp.DataType.build(text, dialect=DIALECT)))
        except (sqlglot.errors.ParseError, ValueError):
            raise errors.UndefinedObject(f'type "{text}" does not exist') from None
    stmt = session.prepare(body, hints)
    if len(stmt.param_types) < len(hints):
        stmt.param_types = list(stmt.param_types) + hints[len(stmt.param_types) :]
    registry[name] = stmt
    _known(session).sql[name] = _Entry(statement)
    return Result(None, None, "PREPARE")


def execute_target(sql: str) -> bool:
    """Whether ``sql`` is an EXECUTE (EXPLAIN explains the statement it runs)."""
    return _EXECUTE_RE.match(sql) is not None


def resolve_execute(session: Session_, sql: str) -> tuple[Any, list[object]]:
    """The prepared statement an ``EXECUTE name (values)`` runs, and its parameters."""
    m = _EXECUTE_RE.match(sql)
    assert m is not None
    name = ident(m.group(1))
    known = _known(session)
    stmt = _registry(session).get(name)
    entry = known.sql.get(name)
    if stmt is None and known.wire is not None and name in known.wire:
        # prepared through the protocol (Parse): the empty query has nothing to run
        stmt = known.wire[name].prepared
        entry = known.protocol.get(name)
    if stmt is None:
        raise errors.InvalidSqlStatementName(f'prepared statement "{name}" does not exist')
    args = split_list(m.group(2) or "")
    if len(args) != len(stmt.param_types):
        raise errors.SyntaxError_(
            f'wrong number of parameters for prepared statement "{name}"',
            detail=f"Expected {len(stmt.param_types)} parameters but got {len(args)}.",
        )
    if entry is not None:
        entry.planned(len(stmt.param_types))
    if not args:
        return stmt, []
    # the values of the expressions (constants, as PostgreSQL requires), which the
    # statement's run takes as it takes any client's parameters
    result = session.execute_prepared(session.prepare("SELECT " + ", ".join(args)), [])
    row: list[object] = []
    for batch in result.batches():
        if batch.num_rows:
            row = [batch.column(i)[0].as_py() for i in range(batch.num_columns)]
            break
    return stmt, row


def drop_protocol_statements(session: Session_) -> None:
    """DISCARD ALL: the server's named protocol-level statements go too (the unnamed
    one is the statement running, as PostgreSQL keeps it)."""
    wire = _known(session).wire
    if isinstance(wire, MutableMapping):
        for name in [n for n in wire if n]:
            del wire[name]
