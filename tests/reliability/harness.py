"""Shared pieces of the reliability suites: scale, figures, the acknowledgement
ledger and a seeded storage-level workload.

``VECGRES_RELIABILITY_SCALE`` multiplies every run count (default 1; the
nightly figures in RELIABILITY.md are about 25). ``VECGRES_FIGURES=path``
appends each suite's figure line to that file as well as printing it.
"""

from __future__ import annotations

import os
import random
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pyarrow as pa

from vecgres.config import Settings
from vecgres.storage.batch import CommitBatch, TableChange, TableLayout
from vecgres.storage.store import Store

DIM = 4
TABLE = 1


def scaled(n: int) -> int:
    return max(1, int(n * float(os.environ.get("VECGRES_RELIABILITY_SCALE", "1"))))


def figures(name: str, **values: object) -> str:
    """Print the suite's one-line summary ``name: key=value ...``."""
    line = f"{name}: " + " ".join(f"{k}={v}" for k, v in values.items())
    print(line)
    target = os.environ.get("VECGRES_FIGURES")
    if target:
        with open(target, "a", encoding="utf-8") as f:
            f.write(line + "\n")
    return line


# --- the acknowledgement ledger ------------------------------------------------

Status = Literal["ok", "fail", "unknown"]


@dataclass(slots=True)
class Entry:
    stmt_id: int
    kind: Literal["insert", "delete"]
    row_ids: list[int]
    status: Status = "unknown"


@dataclass(slots=True)
class Outcome:
    acked_rows_lost: int = 0
    atomicity_violations: int = 0
    phantom_rows: int = 0
    duplicate_rows: int = 0
    payload_mismatches: int = 0
    deleted_rows_back: int = 0

    @property
    def clean(self) -> bool:
        return not any(
            (
                self.acked_rows_lost,
                self.atomicity_violations,
                self.phantom_rows,
                self.duplicate_rows,
                self.payload_mismatches,
                self.deleted_rows_back,
            )
        )


@dataclass(slots=True)
class Ledger:
    """Client-side record of every statement and what the database answered.
    A statement is ``unknown`` until it returns (``ok``) or fails (``fail``)."""

    entries: list[Entry] = field(default_factory=list)
    # catalog-only commits, in order: (blob, status)
    catalogs: list[list[object]] = field(default_factory=list)

    def catalog_ok(self, recovered: bytes) -> bool:
        """The recovered catalog is the last acknowledged one or a later unknown one."""
        last_ok = max((i for i, (_b, st) in enumerate(self.catalogs) if st == "ok"), default=-1)
        allowed = {self.catalogs[last_ok][0] if last_ok >= 0 else b""}
        allowed |= {b for b, st in self.catalogs[last_ok + 1 :] if st == "unknown"}
        return recovered in allowed

    def begin(self, kind: Literal["insert", "delete"], row_ids: list[int]) -> Entry:
        entry = Entry(len(self.entries), kind, list(row_ids))
        self.entries.append(entry)
        return entry

    def acked_live(self) -> list[int]:
        """Rows whose insert is acknowledged and that no statement tried to delete."""
        touched = {r for e in self.entries if e.kind == "delete" for r in e.row_ids}
        return [
            r
            for e in self.entries
            if e.kind == "insert" and e.status == "ok"
            for r in e.row_ids
            if r not in touched
        ]

    def verify(self, rowids: np.ndarray, crc_ok: np.ndarray) -> Outcome:
        """Compare recovered rows (ids and per-row payload check) with the ledger."""
        out = Outcome()
        ids = rowids.tolist()
        present = set(ids)
        out.duplicate_rows = len(ids) - len(present)
        out.payload_mismatches = int((~crc_ok).sum())
        issued: set[int] = set()
        for e in self.entries:
            if e.kind == "insert" and e.status != "fail":
                issued |= set(e.row_ids)
        out.phantom_rows = len(present - issued)
        deleted_ok = {
            r for e in self.entries if e.kind == "delete" and e.status == "ok" for r in e.row_ids
        }
        deleted_maybe = {
            r
            for e in self.entries
            if e.kind == "delete" and e.status == "unknown"
            for r in e.row_ids
        }
        out.deleted_rows_back = len(present & deleted_ok)
        for e in self.entries:
            if e.kind == "insert":
                have = sum(1 for r in e.row_ids if r in present or r in deleted_ok | deleted_maybe)
                if e.status == "ok":
                    out.acked_rows_lost += sum(
                        1
                        for r in e.row_ids
                        if r not in present and r not in deleted_ok and r not in deleted_maybe
                    )
                elif e.status == "unknown" and have not in (0, len(e.row_ids)):
                    out.atomicity_violations += 1
            elif e.status == "unknown":
                gone = sum(1 for r in e.row_ids if r not in present)
                if gone not in (0, len(e.row_ids)):
                    out.atomicity_violations += 1
        return out


# --- rows with their own payload checksum ---------------------------------------


def layout() -> TableLayout:
    return TableLayout(
        pa.schema(
            [
                pa.field("c1", pa.int64()),
                pa.field("c2", pa.list_(pa.float32(), DIM)),
            ]
        )
    )


def payload_rows(start: int, n: int, rng: np.random.Generator) -> pa.RecordBatch:
    """c2 a random vector, c1 the crc32 of its float32 bytes (torn data shows row by row)."""
    vecs = rng.standard_normal((n, DIM), dtype=np.float32)
    crcs = [zlib.crc32(v.tobytes()) for v in vecs]
    return pa.RecordBatch.from_pydict(
        {
            "_rowid": pa.array(np.arange(start, start + n, dtype=np.int64)),
            "c1": pa.array(crcs, pa.int64()),
            "c2": pa.FixedSizeListArray.from_arrays(pa.array(vecs.ravel()), DIM),
        }
    )


def read_rows(store: Store) -> tuple[np.ndarray, np.ndarray]:
    """Visible rowids and, per row, whether its payload matches its checksum."""
    t = store.snapshot().table(TABLE)
    ids: list[np.ndarray] = []
    ok: list[np.ndarray] = []
    if t is None:
        return np.empty(0, np.int64), np.empty(0, bool)
    for seg in t.segments:
        data = seg.data
        sel = np.arange(data.num_rows) if seg.visible is None else np.flatnonzero(seg.visible)
        rid = np.asarray(data.column("_rowid").to_numpy())[sel]
        crc = np.asarray(data.column("c1").to_numpy())[sel]
        flat = data.column("c2").combine_chunks().flatten().to_numpy(zero_copy_only=False)
        vecs = np.asarray(flat, dtype=np.float32).reshape(-1, DIM)[sel]
        ids.append(rid)
        ok.append(
            np.array(
                [zlib.crc32(v.tobytes()) == c for v, c in zip(vecs, crc, strict=True)], dtype=bool
            )
        )
    if not ids:
        return np.empty(0, np.int64), np.empty(0, bool)
    return np.concatenate(ids), np.concatenate(ok)


def store_settings(**changes: object) -> Settings:
    base = Settings(
        seal_rows=60,
        background_compaction=False,
        fsync=True,
        compaction_small_rows=100,
        commit_delay_us=0,
    )
    return base.replace(**changes)


def workload(
    store: Store,
    ledger: Ledger,
    seed: int,
    steps: int,
    *,
    on_error: Callable[[BaseException], bool],
    on_status: Callable[[Entry], None] | None = None,
) -> None:
    """Seeded inserts (1-40 rows), deletes of acknowledged rows, seals,
    compactions and checkpoints. ``on_error`` decides per exception whether to
    continue (True) or stop (False); the statement is marked ``fail`` unless
    the exception is a power cut (``unknown``)."""
    from vecgres.storage import fileio

    rng = random.Random(seed)
    nprng = np.random.default_rng(seed)
    next_id = 0
    store.set_layout(TABLE, layout())
    for _ in range(steps):
        r = rng.random()
        entry: Entry | None = None
        try:
            if r < 0.7:
                n = rng.randint(1, 40)
                entry = ledger.begin("insert", list(range(next_id, next_id + n)))
                if on_status is not None:
                    on_status(entry)
                batch = payload_rows(next_id, n, nprng)
                next_id += n
                store.commit(CommitBatch([TableChange(TABLE, [batch])]))
                entry.status = "ok"
                if on_status is not None:
                    on_status(entry)
            elif r < 0.82:
                live = ledger.acked_live()
                if not live:
                    continue
                victims = sorted(rng.sample(live, min(len(live), rng.randint(1, 5))))
                entry = ledger.begin("delete", victims)
                if on_status is not None:
                    on_status(entry)
                store.commit(
                    CommitBatch([TableChange(TABLE, deletes=np.array(victims, dtype=np.int64))])
                )
                entry.status = "ok"
                if on_status is not None:
                    on_status(entry)
            elif r < 0.9:
                store.flush(TABLE)
            elif r < 0.96:
                store.compact(TABLE)
            elif r < 0.98:
                store.checkpoint()
            else:
                cat: list[object] = [f"catalog {len(ledger.catalogs)}".encode(), "unknown"]
                ledger.catalogs.append(cat)
                store.commit(CommitBatch([], catalog=cat[0]))  # type: ignore[arg-type]
                cat[1] = "ok"
        except fileio.PowerCut:
            raise
        except Exception as exc:
            # after a PANIC the record may be in the WAL: the outcome is unknown
            if entry is not None and type(exc).__name__ != "Panic":
                entry.status = "fail"
            pending_catalog = ledger.catalogs and ledger.catalogs[-1][1] == "unknown"
            if pending_catalog and type(exc).__name__ != "Panic":
                ledger.catalogs[-1][1] = "fail"
            if not on_error(exc):
                return
