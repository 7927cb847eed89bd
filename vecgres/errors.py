"""Errors a client can see. Each class carries a PostgreSQL SQLSTATE.

Messages follow PostgreSQL's style guide: lower case, no trailing period;
detail and hint are full sentences. pgvector's errors keep pgvector's words.
Anything that is not a ``VecgresError`` is a bug and reaches a client only
as ``XX000 internal error``.
"""

from __future__ import annotations

import enum
from typing import ClassVar

from vecgres.errcodes import BY_CODE


class Severity(enum.StrEnum):
    ERROR = "ERROR"
    FATAL = "FATAL"
    PANIC = "PANIC"
    WARNING = "WARNING"
    NOTICE = "NOTICE"


class VecgresError(Exception):
    """Base of every user-visible error."""

    # the class's code; an instance made with ``sqlstate=`` carries its own
    sqlstate: str = "XX000"
    severity: ClassVar[Severity] = Severity.ERROR

    def __init__(
        self,
        message: str,
        *,
        detail: str | None = None,
        hint: str | None = None,
        position: int | None = None,
        sqlstate: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.detail = detail
        self.hint = hint
        self.position = position
        if sqlstate is not None:
            if sqlstate not in BY_CODE:
                raise ValueError(f"unknown SQLSTATE {sqlstate}")
            self.sqlstate = sqlstate

    @property
    def code(self) -> str:
        """The SQLSTATE of this error (instance override or the class's)."""
        return self.sqlstate

    @property
    def condition(self) -> str:
        return BY_CODE.get(self.code, "internal_error")

    def __str__(self) -> str:
        return self.message


class Warning_(VecgresError):
    sqlstate = "01000"
    severity = Severity.WARNING


class ProtocolViolation(VecgresError):
    sqlstate = "08P01"
    severity = Severity.FATAL


class FeatureNotSupported(VecgresError):
    sqlstate = "0A000"


class CardinalityViolation(VecgresError):
    sqlstate = "21000"


class DataException(VecgresError):
    sqlstate = "22000"


class StringDataRightTruncation(VecgresError):
    sqlstate = "22001"


class StringDataLengthMismatch(VecgresError):
    sqlstate = "22026"


class NumericValueOutOfRange(VecgresError):
    sqlstate = "22003"


class InvalidDatetimeFormat(VecgresError):
    sqlstate = "22007"


class DivisionByZero(VecgresError):
    sqlstate = "22012"


class InvalidParameterValue(VecgresError):
    sqlstate = "22023"


class InvalidTextRepresentation(VecgresError):
    sqlstate = "22P02"


class InvalidBinaryRepresentation(VecgresError):
    sqlstate = "22P03"


class BadCopyFileFormat(VecgresError):
    sqlstate = "22P04"


class NotNullViolation(VecgresError):
    sqlstate = "23502"


class UniqueViolation(VecgresError):
    sqlstate = "23505"


class CheckViolation(VecgresError):
    sqlstate = "23514"


class ForeignKeyViolation(VecgresError):
    sqlstate = "23503"


class ActiveSqlTransaction(VecgresError):
    sqlstate = "25001"


class NoActiveSqlTransaction(VecgresError):
    sqlstate = "25P01"


class InFailedSqlTransaction(VecgresError):
    sqlstate = "25P02"


class IdleInTransactionSessionTimeout(VecgresError):
    sqlstate = "25P03"
    severity = Severity.FATAL


class InvalidAuthorizationSpecification(VecgresError):
    sqlstate = "28000"
    severity = Severity.FATAL


class InvalidPassword(VecgresError):
    sqlstate = "28P01"
    severity = Severity.FATAL


class DependentObjectsStillExist(VecgresError):
    sqlstate = "2BP01"


class InvalidCursorName(VecgresError):
    sqlstate = "34000"


class InvalidCursorDefinition(VecgresError):
    sqlstate = "42P11"


class InvalidSqlStatementName(VecgresError):
    sqlstate = "26000"


class InvalidSavepointSpecification(VecgresError):
    sqlstate = "3B001"


class InvalidCatalogName(VecgresError):
    sqlstate = "3D000"


class InvalidSchemaName(VecgresError):
    sqlstate = "3F000"


class DeadlockDetected(VecgresError):
    sqlstate = "40P01"


class InsufficientPrivilege(VecgresError):
    sqlstate = "42501"


class SyntaxError_(VecgresError):
    sqlstate = "42601"


class DuplicateColumn(VecgresError):
    sqlstate = "42701"


class AmbiguousColumn(VecgresError):
    sqlstate = "42702"


class UndefinedColumn(VecgresError):
    sqlstate = "42703"


class UndefinedObject(VecgresError):
    sqlstate = "42704"


class DuplicateObject(VecgresError):
    sqlstate = "42710"


class DuplicatePreparedStatement(VecgresError):
    sqlstate = "42P05"


class GroupingError(VecgresError):
    sqlstate = "42803"


class DatatypeMismatch(VecgresError):
    sqlstate = "42804"


class InvalidForeignKey(VecgresError):
    sqlstate = "42830"


class WrongObjectType(VecgresError):
    sqlstate = "42809"


class CannotCoerce(VecgresError):
    sqlstate = "42846"


class UndefinedFunction(VecgresError):
    sqlstate = "42883"


class AmbiguousFunction(VecgresError):
    sqlstate = "42725"


class UndefinedTable(VecgresError):
    sqlstate = "42P01"


class UndefinedParameter(VecgresError):
    sqlstate = "42P02"


class DuplicateDatabase(VecgresError):
    sqlstate = "42P04"


class DuplicateSchema(VecgresError):
    sqlstate = "42P06"


class DuplicateTable(VecgresError):
    sqlstate = "42P07"


class InvalidColumnReference(VecgresError):
    sqlstate = "42P10"


class InvalidTableDefinition(VecgresError):
    sqlstate = "42P16"


class IndeterminateDatatype(VecgresError):
    sqlstate = "42P18"


class DiskFull(VecgresError):
    sqlstate = "53100"


class OutOfMemory(VecgresError):
    sqlstate = "53200"


class TooManyConnections(VecgresError):
    sqlstate = "53300"
    severity = Severity.FATAL


class ProgramLimitExceeded(VecgresError):
    sqlstate = "54000"


class ObjectNotInPrerequisiteState(VecgresError):
    sqlstate = "55000"


class ObjectInUse(VecgresError):
    sqlstate = "55006"


class LockNotAvailable(VecgresError):
    sqlstate = "55P03"


class QueryCanceled(VecgresError):
    sqlstate = "57014"


class AdminShutdown(VecgresError):
    sqlstate = "57P01"
    severity = Severity.FATAL


class IoError(VecgresError):
    sqlstate = "58030"


class UndefinedFile(VecgresError):
    sqlstate = "58P01"


class InternalError(VecgresError):
    sqlstate = "XX000"


class DataCorrupted(VecgresError):
    sqlstate = "XX001"


class IndexCorrupted(VecgresError):
    sqlstate = "XX002"


class Panic(VecgresError):
    """An fsync failed or the WAL could not be repaired: the process must stop (D4)."""

    sqlstate = "XX000"
    severity = Severity.PANIC


class DatabaseLocked(VecgresError):
    """Another process owns the data directory."""

    sqlstate = "55006"
    severity = Severity.FATAL
