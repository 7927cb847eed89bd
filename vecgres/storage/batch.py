"""What a commit carries: per-table changes and an optional catalog blob."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa

ROWID = "_rowid"


@dataclass(frozen=True, slots=True)
class TableLayout:
    """The current column set of a table, as the engine's catalog defines it.

    ``schema`` has fields named ``c<colid>`` (never ``_rowid``); ``missing``
    gives the value for rows stored before a field existed (None = NULL).
    """

    schema: pa.Schema
    missing: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class TableChange:
    """One table's part of a commit, applied as truncate, deletes, inserts."""

    table_id: int
    inserts: list[pa.RecordBatch] = field(default_factory=list)
    deletes: np.ndarray | None = None
    truncate: bool = False
    drop: bool = False


@dataclass(slots=True)
class CommitBatch:
    tables: list[TableChange]
    catalog: bytes | None = None
