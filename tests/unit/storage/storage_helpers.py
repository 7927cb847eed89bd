"""Shared builders for the storage unit tests."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from vecgres.config import Settings
from vecgres.storage.store import TableLayout

DIM = 4


def settings(**changes: object) -> Settings:
    base = Settings(
        seal_rows=1_000_000,
        background_compaction=False,
        fsync=False,
        compaction_small_rows=1000,
    )
    return base.replace(**changes)


def rows(start: int, n: int, *, dim: int = DIM, extra: bool = False) -> pa.RecordBatch:
    """Rows with rowids start..start+n-1: c1 = rowid * 10, c2 = vector(dim)."""
    rowids = np.arange(start, start + n, dtype=np.int64)
    vecs = np.repeat(rowids.astype(np.float32)[:, None], dim, axis=1)
    arrays: dict[str, pa.Array] = {
        "_rowid": pa.array(rowids),
        "c1": pa.array(rowids * 10),
        "c2": pa.FixedSizeListArray.from_arrays(pa.array(vecs.ravel()), dim),
    }
    if extra:
        arrays["c3"] = pa.array([f"s{r}" for r in rowids.tolist()])
    return pa.RecordBatch.from_pydict(arrays)


def layout(*, dim: int = DIM, extra: bool = False, missing: object = None) -> TableLayout:
    fields = [pa.field("c1", pa.int64()), pa.field("c2", pa.list_(pa.float32(), dim))]
    if extra:
        fields.append(pa.field("c3", pa.string()))
    return TableLayout(pa.schema(fields), {"c3": missing} if extra else {})


def visible_rowids(store_or_snap: object, table_id: int = 1) -> list[int]:
    from vecgres.storage.store import Snapshot, Store

    snap = store_or_snap.snapshot() if isinstance(store_or_snap, Store) else store_or_snap
    assert isinstance(snap, Snapshot)
    t = snap.table(table_id)
    if t is None:
        return []
    out: list[int] = []
    for seg in t.segments:
        ids = seg.data.column("_rowid").to_numpy()
        if seg.visible is not None:
            ids = ids[seg.visible]
        out.extend(ids.tolist())
    return sorted(out)


def crash(store: object) -> None:
    """Drop a Store as a kill -9 would: no checkpoint, files left as they are."""
    from vecgres.storage.store import Store

    assert isinstance(store, Store)
    store._closed = True
    if store._bg is not None:
        store._bg_stop.set()
        store._bg_wake.set()
        store._bg.join()
    if store._wal is not None:
        store._wal.close()
    if store._dir_lock is not None:
        store._dir_lock.release()


REPO_ROOT = __import__("pathlib").Path(__file__).resolve().parents[3]


def run_child(code: str, *, env: dict[str, str] | None = None) -> int:
    """Run Python code in a child process (repository importable); returns its exit code."""
    import os
    import subprocess
    import sys

    full_env = {**os.environ, **(env or {})}
    full_env["PYTHONPATH"] = os.pathsep.join(
        [str(REPO_ROOT), str(REPO_ROOT / "tests" / "unit" / "storage")]
    )
    proc = subprocess.run([sys.executable, "-c", code], env=full_env, timeout=60, check=False)
    return proc.returncode
