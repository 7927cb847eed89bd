"""Wire-level errors PostgreSQL raises that the shared table does not hold yet, and
the conversion of any exception into ErrorResponse/NoticeResponse fields.

The SQLSTATEs below are set as class attributes (``26000``, ``42P05``,
``34000``, ``42P03``) so that they do not depend on ``errcodes.py`` listing them.
"""

from __future__ import annotations

import logging

from vecgres.errors import Severity, VecgresError
from vecgres.result import Notice

log = logging.getLogger("vecgres.server")


class InvalidSqlStatementName(VecgresError):
    sqlstate = "26000"


class DuplicatePreparedStatement(VecgresError):
    sqlstate = "42P05"


class DuplicateCursor(VecgresError):
    sqlstate = "42P03"


class UnrecognizedParameter(VecgresError):
    """An unknown startup parameter: FATAL 42704 as PostgreSQL answers it."""

    sqlstate = "42704"
    severity = Severity.FATAL


class InvalidCatalogNameFatal(VecgresError):
    sqlstate = "3D000"
    severity = Severity.FATAL


class FeatureNotSupportedFatal(VecgresError):
    sqlstate = "0A000"
    severity = Severity.FATAL


class InvalidParameterValueFatal(VecgresError):
    sqlstate = "22023"
    severity = Severity.FATAL


def error_fields(exc: BaseException, *, severity: Severity | None = None) -> dict[str, str]:
    """S, V, C, M (+D, H, P) for ``exc``; anything not a VecgresError is XX000 internal error."""
    if not isinstance(exc, VecgresError):
        log.error("internal error", exc_info=exc)
        level = str(severity or Severity.ERROR)
        return {"S": level, "V": level, "C": "XX000", "M": "internal error"}
    level = str(severity or exc.severity)
    fields = {"S": level, "V": level, "C": exc.code, "M": exc.message}
    if exc.detail:
        fields["D"] = exc.detail
    if exc.hint:
        fields["H"] = exc.hint
    if exc.position is not None:
        fields["P"] = str(exc.position)
    return fields


def notice_fields(notice: Notice) -> dict[str, str]:
    fields = {"S": notice.severity, "V": notice.severity, "C": notice.sqlstate, "M": notice.message}
    if notice.detail:
        fields["D"] = notice.detail
    if notice.hint:
        fields["H"] = notice.hint
    return fields
