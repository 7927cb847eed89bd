"""Sequence values: non-transactional, durable in blocks of 32 (as PostgreSQL logs them)."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa

from vecgres import errors
from vecgres.storage.store import CommitBatch, TableChange, TableLayout

if TYPE_CHECKING:
    from vecgres.catalog.model import Sequence
    from vecgres.storage.store import Store

# storage table that holds sequence state: (sequence oid, last value handed out or reserved)
SEQUENCE_TABLE = 1
LOG_AHEAD = 32
_SCHEMA = pa.schema(
    [pa.field("c1", pa.int64()), pa.field("c2", pa.int64()), pa.field("c3", pa.bool_())]
)


class SequenceState:
    def __init__(self, store: Store) -> None:
        self._store = store
        self._lock = threading.Lock()
        # oid -> [last value handed out, value reserved on disk, is_called]
        self._values: dict[int, list[int]] = {}
        self._rowids: dict[int, int] = {}
        store.set_layout(SEQUENCE_TABLE, TableLayout(schema=_SCHEMA, missing={}))
        snap = store.snapshot().table(SEQUENCE_TABLE)
        if snap is not None:
            for seg in snap.segments:
                data = seg.conformed(TableLayout(schema=_SCHEMA, missing={}))
                vis = seg.visible
                rows = zip(
                    data.column("_rowid").to_pylist(),
                    data.column("c1").to_pylist(),
                    data.column("c2").to_pylist(),
                    data.column("c3").to_pylist(),
                    strict=True,
                )
                for pos, (rowid, oid, reserved, called) in enumerate(rows):
                    if vis is not None and not vis[pos]:
                        continue
                    # after a restart, continue past what was reserved (values may be skipped)
                    self._values[oid] = [reserved, reserved, 1 if called else 0]
                    self._rowids[oid] = rowid

    def _persist(self, oid: int, value: int, called: bool) -> None:
        old = self._rowids.get(oid)
        rowid = self._store.next_rowid(SEQUENCE_TABLE)
        batch = pa.record_batch(
            [
                pa.array([rowid], pa.int64()),
                pa.array([oid], pa.int64()),
                pa.array([value], pa.int64()),
                pa.array([called]),
            ],
            names=["_rowid", "c1", "c2", "c3"],
        )
        change = TableChange(
            SEQUENCE_TABLE,
            inserts=[batch],
            deletes=None if old is None else np.array([old], dtype=np.int64),
        )
        self._store.commit(CommitBatch(tables=[change]))
        self._rowids[oid] = rowid

    def nextval(self, seq: Sequence, count: int = 1) -> list[int]:
        with self._lock:
            state = self._values.get(seq.oid)
            out = []
            for _ in range(count):
                if state is None or not state[2]:
                    value = seq.start if state is None else state[0]
                    state = [value, state[1] if state else value - seq.increment, 1]
                else:
                    value = state[0] + seq.increment
                    if value > seq.max_value or value < seq.min_value:
                        if not seq.cycle:
                            bound = "maximum" if seq.increment > 0 else "minimum"
                            limit = seq.max_value if seq.increment > 0 else seq.min_value
                            raise errors.VecgresError(
                                f"nextval: reached {bound} value of sequence "
                                f'"{seq.name}" ({limit})',
                                sqlstate="2200H",
                            )
                        value = seq.min_value if seq.increment > 0 else seq.max_value
                    state[0] = value
                out.append(value)
            assert state is not None
            self._values[seq.oid] = state
            reserved = state[1]
            ahead = (state[0] - reserved) * (1 if seq.increment > 0 else -1)
            if ahead >= 0:
                new_reserved = state[0] + seq.increment * LOG_AHEAD
                self._persist(seq.oid, new_reserved, True)
                state[1] = new_reserved
            return out

    def setval(self, seq: Sequence, value: int, is_called: bool = True) -> int:
        if value > seq.max_value or value < seq.min_value:
            raise errors.VecgresError(
                f'setval: value {value} is out of bounds for sequence "{seq.name}" '
                f"({seq.min_value}..{seq.max_value})",
                sqlstate="22003",
            )
        with self._lock:
            self._values[seq.oid] = [value, value, 1 if is_called else 0]
            self._persist(seq.oid, value, is_called)
        return value

    def flush(self) -> None:
        """On a clean shutdown, store the exact values so nothing is skipped at restart."""
        with self._lock:
            for oid, state in self._values.items():
                if state[1] != state[0]:
                    self._persist(oid, state[0], bool(state[2]))
                    state[1] = state[0]

    def forget(self, oid: int) -> None:
        with self._lock:
            self._values.pop(oid, None)
