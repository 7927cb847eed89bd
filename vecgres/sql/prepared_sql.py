"""SQL-level prepared statements: PREPARE and EXECUTE (and EXPLAIN EXECUTE).

``PREPARE name [(type, ...)] AS statement`` keeps the statement prepared and bound
under ``name`` for the session (``Session.sql_prepared``); ``EXECUTE name [(value,
...)]`` runs it with those parameter values (constant expressions, evaluated
before the run, as PostgreSQL does). ``DEALLOCATE`` is answered where the
protocol-level statements are dropped too (``pgcatalog.deallocate``): a name it
does not know may be one of those, so it is no error. Errors and command tags
are PostgreSQL's.
"""

from __future__ import annotations

import re
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


def run(session: Session_, sql: str) -> Result:
    m = _PREPARE_RE.match(sql)
    if m is not None:
        return _prepare(session, ident(m.group(1)), m.group(2), m.group(3))
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


def _prepare(session: Session_, name: str, types: str | None, body: str) -> Result:
    registry = _registry(session)
    if name in registry:
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
    return Result(None, None, "PREPARE")


def execute_target(sql: str) -> bool:
    """Whether ``sql`` is an EXECUTE (EXPLAIN explains the statement it runs)."""
    return _EXECUTE_RE.match(sql) is not None


def resolve_execute(session: Session_, sql: str) -> tuple[Any, list[object]]:
    """The prepared statement an ``EXECUTE name (values)`` runs, and its parameters."""
    m = _EXECUTE_RE.match(sql)
    assert m is not None
    name = ident(m.group(1))
    stmt = _registry(session).get(name)
    if stmt is None:
        raise errors.InvalidSqlStatementName(f'prepared statement "{name}" does not exist')
    args = split_list(m.group(2) or "")
    if len(args) != len(stmt.param_types):
        raise errors.SyntaxError_(
            f'wrong number of parameters for prepared statement "{name}"',
            detail=f"Expected {len(stmt.param_types)} parameters but got {len(args)}.",
        )
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
