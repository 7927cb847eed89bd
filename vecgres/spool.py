"""Rows held for a cursor, spilled to a temporary file past a memory budget.

PostgreSQL keeps a scrollable or held cursor's rows in a tuplestore that moves
to temporary files once it outgrows ``work_mem``. A ``Spool`` does the same for
Arrow batches: it keeps them in memory up to ``memory_bytes``, then writes what
it holds to an Arrow IPC file and reads it back memory-mapped, so the pages
are the file's and the kernel can drop them under pressure. Each file is
unlinked as soon as it is mapped: nothing is left behind, not even after a
crash.
"""

from __future__ import annotations

import os
import tempfile
from typing import Final

import pyarrow as pa

# bytes of rows a spool keeps in memory before it writes them to a file
SPOOL_MEMORY_BYTES: Final = 64 * 1024 * 1024


class Spool:
    """An append-only run of rows, readable as one table at any time."""

    __slots__ = ("_mapped", "_memory", "_memory_bytes", "_rows", "_table", "files", "limit")

    def __init__(self, limit: int | None = None) -> None:
        self.limit = SPOOL_MEMORY_BYTES if limit is None else limit
        self._mapped: list[pa.Table] = []  # spilled runs, memory-mapped
        self._memory: list[pa.RecordBatch] = []
        self._memory_bytes = 0
        self._rows = 0
        self._table: pa.Table | None = None  # cache of ``table``
        self.files = 0  # files written

    @property
    def num_rows(self) -> int:
        return self._rows

    @property
    def nbytes(self) -> int:
        """Bytes of rows held, in memory and in files."""
        mapped: int = sum(t.nbytes for t in self._mapped)
        return self._memory_bytes + mapped

    def append(self, batches: list[pa.RecordBatch]) -> None:
        for batch in batches:
            if batch.num_rows == 0:
                continue
            self._memory.append(batch)
            self._memory_bytes += batch.nbytes
            self._rows += batch.num_rows
            self._table = None
        if self._memory_bytes > self.limit:
            self._spill()

    def table(self) -> pa.Table:
        """Every row appended so far, in order; a spool with no rows has no table."""
        if self._table is None:
            parts = list(self._mapped)
            if self._memory:
                parts.append(pa.Table.from_batches(self._memory))
            if not parts:
                raise ValueError("empty spool")
            self._table = parts[0] if len(parts) == 1 else pa.concat_tables(parts)
        return self._table

    def _spill(self) -> None:
        fd, path = tempfile.mkstemp(prefix="vecgres-spool-", suffix=".arrow")
        try:
            with os.fdopen(fd, "wb") as f, pa.ipc.new_file(f, self._memory[0].schema) as out:
                for batch in self._memory:
                    out.write_batch(batch)
            source = pa.memory_map(path)
            self._mapped.append(pa.ipc.open_file(source).read_all())
        finally:
            os.unlink(path)  # the mapping stays valid; the name goes
        self.files += 1
        self._memory = []
        self._memory_bytes = 0
        self._table = None
