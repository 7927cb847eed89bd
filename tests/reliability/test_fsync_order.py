"""T5: the fsync policy is checked, not assumed. From the operation log:
every acknowledged commit follows an fsync of the WAL file holding its record
(D1), every renamed file was fsynced before its rename and its directory after
it, before the next MANIFEST rename (D7), and no file is deleted before the
MANIFEST that dropped it is durable."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import numpy as np
import pytest
from harness import TABLE, figures, layout, payload_rows, store_settings

from vecgres.storage import fileio, wal
from vecgres.storage.batch import CommitBatch, TableChange
from vecgres.storage.store import Store

WRITERS = 4
COMMITS = 40


def _record_offsets(wal_dir: Path, oplog: list[fileio.OpRecord]) -> dict[int, tuple[str, int]]:
    """lsn -> (wal file, offset), from the files as written (before any recycling)."""
    out: dict[int, tuple[str, int]] = {}
    for path in sorted({p for op, p, _o, _n in oplog if op == "write" and p.endswith(".wal")}):
        if not os.path.exists(path):
            continue
        data = Path(path).read_bytes()
        offset = 0
        while offset + wal.HEADER_SIZE <= len(data):
            _m, length, lsn, _c = wal.HEADER.unpack_from(data, offset)
            out[lsn] = (path, offset)
            offset += wal.HEADER_SIZE + length
    return out


def _run(tmp_path: Path, delay_us: int) -> dict[str, int]:
    root = tmp_path / "db"
    log: list[fileio.OpRecord] = []
    fileio.HOOKS.oplog = log
    store = Store.open(
        root, store_settings(seal_rows=100, commit_delay_us=delay_us, wal_file_bytes=1 << 30)
    )
    store.set_layout(TABLE, layout())
    acks: list[tuple[int, int]] = []  # (lsn, index in the op log when acknowledged)
    lock = threading.Lock()

    def writer(w: int) -> None:
        rng = np.random.default_rng(w)
        for i in range(COMMITS):
            start = (w * COMMITS + i) * 10
            lsn = store.commit(CommitBatch([TableChange(TABLE, [payload_rows(start, 10, rng)])]))
            with fileio.HOOKS.lock:
                idx = len(log)
            with lock:
                acks.append((lsn, idx))

    threads = [threading.Thread(target=writer, args=(w,)) for w in range(WRITERS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    offsets = _record_offsets(root / "wal", log)
    store.compact()
    store.close()
    fileio.reset_hooks()

    writes = {(p, o): i for i, (op, p, o, _n) in enumerate(log) if op == "write"}
    fsyncs: dict[str, list[int]] = {}
    for i, (op, p, _o, _n) in enumerate(log):
        if op == "fsync":
            fsyncs.setdefault(p, []).append(i)
    before_fsync = 0
    for lsn, ack_idx in acks:
        path, offset = offsets[lsn]
        w_idx = writes[(path, offset)]
        if not any(w_idx < f < ack_idx for f in fsyncs.get(path, [])):
            before_fsync += 1
    wal_fsyncs = sum(len(v) for p, v in fsyncs.items() if p.endswith(".wal"))

    # D7 on every renamed file
    rename_violations = 0
    manifest = str(root / "MANIFEST")
    manifest_renames = [
        i for i, (op, p, _o, _n) in enumerate(log) if op == "rename" and p == manifest
    ]
    for i, (op, p, _o, _n) in enumerate(log):
        if op != "rename":
            continue
        tmp_fsynced = any(o == "fsync" and q == p + ".tmp" for o, q, _a, _b in log[:i])
        nxt = next((m for m in manifest_renames if m > i), len(log)) if p != manifest else len(log)
        dir_fsynced = any(
            o == "fsync_dir" and q == os.path.dirname(p) for o, q, _a, _b in log[i + 1 : nxt + 1]
        )
        rename_violations += (not tmp_fsynced) + (not dir_fsynced)
    early_unlinks = 0
    for k, (op, p, _o, _n) in enumerate(log):
        if op != "unlink" or p.endswith(".tmp") or "/segments/" not in p:
            continue
        last = max((m for m in manifest_renames if m < k), default=None)
        if last is None or not any(
            o == "fsync_dir" and q == str(root) for o, q, _a, _b in log[last:k]
        ):
            early_unlinks += 1
    return {
        "acks": len(acks),
        "acks_before_fsync": before_fsync,
        "wal_fsyncs": wal_fsyncs,
        "rename_violations": rename_violations,
        "unlinks_before_durable_manifest": early_unlinks,
        "manifest_renames": len(manifest_renames),
    }


@pytest.mark.parametrize("delay_us", [0, 300])
def test_acks_follow_fsync(tmp_path: Path, delay_us: int) -> None:
    got = _run(tmp_path, delay_us)
    figures(
        f"fsync[delay_us={delay_us}]",
        **got,
        fsync_per_commit=round(got["wal_fsyncs"] / got["acks"], 2),
    )
    assert got["acks"] == WRITERS * COMMITS
    assert got["acks_before_fsync"] == 0
    assert got["rename_violations"] == 0
    assert got["unlinks_before_durable_manifest"] == 0
    assert got["manifest_renames"] > 0


def test_check_catches_ack_without_fsync(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(wal.Wal, "sync_to", lambda self, lsn: None)
    got = _run(tmp_path, 0)
    assert got["acks_before_fsync"] > 0
