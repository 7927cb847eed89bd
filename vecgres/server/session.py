"""What the wire server needs from the engine, as Protocols (``vecgres.engine`` fulfils them).

Stating them here keeps the server testable against a small fake session and
keeps the dependency on the engine to the handful of names listed in the
engine's contract.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any, Protocol

from vecgres.result import ColumnInfo, Result
from vecgres.types import SqlType


class PreparedLike(Protocol):
    @property
    def param_types(self) -> Sequence[SqlType]: ...

    @property
    def columns(self) -> Sequence[ColumnInfo] | None: ...


class SessionLike(Protocol):
    sql_prepared: dict[str, Any]  # SQL PREPARE's statements (DEALLOCATE drops them too)

    @property
    def transaction_status(self) -> str: ...

    def prepare(self, sql: str, param_types: Sequence[SqlType | None] = ()) -> PreparedLike: ...

    def execute_prepared(self, stmt: PreparedLike, params: Sequence[object]) -> Result: ...

    def execute(self, sql: str, params: Sequence[object] | None = None) -> Result: ...

    def execute_script(self, sql: str) -> Iterator[Result]: ...

    def cancel(self) -> None: ...

    def close(self) -> None: ...
