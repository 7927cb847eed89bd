"""What a statement hands back: column descriptions and a stream of Arrow batches.

Shared by the engine (which produces results), the embedded DB-API and the
wire server (which consume them). Values in the batches are Arrow arrays whose
layout follows ``arrow_type(SqlType)`` in ``vecgres.codec.arrow``; the
``SqlType`` of each column says how to print them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pyarrow as pa

    from vecgres.types import SqlType


@dataclass(frozen=True, slots=True)
class ColumnInfo:
    """One result column, as RowDescription describes it."""

    name: str
    type: SqlType
    # OID of the base table and attribute number when the column is a plain table column
    table_oid: int = 0
    column_number: int = 0


@dataclass(frozen=True, slots=True)
class Notice:
    """A NoticeResponse/WARNING raised while a statement ran."""

    severity: str
    sqlstate: str
    message: str
    detail: str | None = None
    hint: str | None = None


@dataclass(slots=True)
class Result:
    """The outcome of one statement.

    ``columns`` is None for statements that return no rows (INSERT without
    RETURNING, DDL, SET, ...). ``batches`` yields the rows lazily; consume it
    fully (or call ``close``) before reading ``command_tag``, which counts the
    rows streamed (``SELECT 3``, ``INSERT 0 1``, ``UPDATE 2``, ``CREATE TABLE``).
    """

    columns: list[ColumnInfo] | None
    _batches: Iterator[pa.RecordBatch] | None = None
    _tag: Callable[[int], str] | str = ""
    notices: list[Notice] = field(default_factory=list)
    # ParameterStatus changes caused by this statement (SET client_encoding, ...)
    parameter_changes: dict[str, str] = field(default_factory=dict)
    # COPY ... FROM STDIN / TO STDOUT: the engine asks the front end to move the data
    copy: CopyRequest | None = None
    rows_seen: int = 0
    _done: bool = False
    # rows of a BINARY cursor: the simple protocol sends them in binary format
    binary: bool = False

    def batches(self) -> Iterator[pa.RecordBatch]:
        if self._batches is None:
            self._done = True
            return
        try:
            for batch in self._batches:
                self.rows_seen += batch.num_rows
                yield batch
        finally:
            self._done = True

    @property
    def command_tag(self) -> str:
        if isinstance(self._tag, str):
            return self._tag
        return self._tag(self.rows_seen)

    def close(self) -> None:
        """Stop the stream early (client went away, portal closed)."""
        if self._batches is not None and hasattr(self._batches, "close"):
            self._batches.close()
        self._done = True


@dataclass(slots=True)
class CopyRequest:
    """A COPY that exchanges data with the client instead of a file.

    For ``FROM STDIN`` the front end calls ``write(chunk)`` for each CopyData and
    then ``finish()`` which returns the command tag (``COPY n``), or ``fail(msg)``.
    For ``TO STDOUT`` the front end iterates ``chunks()`` and then reads the tag.
    ``format`` is ``text``, ``csv`` or ``binary``; ``column_count`` and
    ``column_formats`` are what CopyInResponse/CopyOutResponse announce.
    """

    direction: str  # "in" | "out"
    format: str
    column_count: int
    write: Callable[[bytes], None] | None = None
    finish: Callable[[], str] | None = None
    fail: Callable[[str], None] | None = None
    chunks: Callable[[], Iterator[bytes]] | None = None
    tag: Callable[[], str] | None = None
