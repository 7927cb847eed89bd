"""Progress of index builds, for ``pg_stat_progress_create_index``.

PostgreSQL shows one row per backend building an index; vecgres shows one per
index being built (over all of its segments). Phases use pgvector's names:
HNSW ``initializing`` → ``loading tuples``; IVFFlat ``initializing`` →
``performing k-means`` → ``assigning tuples`` → ``loading tuples``.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, replace


@dataclass(frozen=True, slots=True)
class BuildProgress:
    index_oid: int
    table_oid: int
    command: str  # CREATE INDEX | REINDEX | BUILD (background, after a seal)
    phase: str
    tuples_total: int
    tuples_done: int
    started: float


_lock = threading.Lock()
_builds: dict[int, BuildProgress] = {}


def start(index_oid: int, table_oid: int, command: str, tuples_total: int) -> None:
    with _lock:
        _builds[index_oid] = BuildProgress(
            index_oid, table_oid, command, "initializing", tuples_total, 0, time.time()
        )


def update(index_oid: int, *, phase: str | None = None, add_done: int = 0) -> None:
    with _lock:
        cur = _builds.get(index_oid)
        if cur is None:
            return
        _builds[index_oid] = replace(
            cur, phase=phase or cur.phase, tuples_done=cur.tuples_done + add_done
        )


def finish(index_oid: int) -> None:
    with _lock:
        _builds.pop(index_oid, None)


def waited_on() -> bool:
    """Whether a statement (CREATE INDEX, REINDEX) is waiting for index builds now;
    nobody waits for a build after a seal or a compaction (command BUILD)."""
    with _lock:
        return any(b.command != "BUILD" for b in _builds.values())


def current() -> list[BuildProgress]:
    """The builds running now (what the pg_catalog view reads)."""
    with _lock:
        return list(_builds.values())
