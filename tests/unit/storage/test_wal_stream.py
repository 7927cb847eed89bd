"""Big records: their IPC streams are serialized straight into the WAL file
(wal.IpcStream) instead of into a record-sized buffer. The file holds the same
bytes as the in-memory encoding, replays after a crash, and a write that fails
part-way leaves the file as it was."""

from __future__ import annotations

import errno
import shutil
from pathlib import Path

import pyarrow as pa
import pytest
from storage_helpers import crash, rows, settings, visible_rowids

from vecgres.errors import DiskFull
from vecgres.storage import fileio, wal
from vecgres.storage.store import CommitBatch, Store, TableChange

# ~2.4 MB of IPC stream: over wal._WRITE_AS_IS, so streamed
BIG = 60_000


def _big() -> TableChange:
    return TableChange(1, [rows(0, BIG // 2, dim=16), rows(BIG // 2, BIG // 2, dim=16)])


def test_streamed_record_is_the_encoded_record(tmp_path: Path) -> None:
    batch = CommitBatch([_big()], catalog=b"cat")
    parts = wal.encode_payload_parts(batch)
    assert any(isinstance(p, wal.IpcStream) for p in parts)
    payload = wal.encode_payload(batch)
    assert sum(len(p) for p in parts) == len(payload)
    assert wal.frame_head(7, parts) == wal.frame(7, payload)[: wal.HEADER_SIZE]
    with Store.open(tmp_path, settings()) as store:
        store.commit(batch)
    data = (tmp_path / "wal" / "00000001.wal").read_bytes()
    assert data == wal.frame(1, payload)
    decoded = wal.decode_payload(pa.py_buffer(payload))
    assert sum(b.num_rows for b in decoded.tables[0].inserts) == BIG


def test_streamed_record_replays_after_a_crash(tmp_path: Path) -> None:
    store = Store.open(tmp_path, settings())
    store.commit(CommitBatch([TableChange(1, [rows(0, 5, dim=16)])]))
    store.commit(CommitBatch([TableChange(1, [rows(5 + r, 1, dim=16) for r in range(3)])]))
    big = _big()
    big.inserts[:] = [rows(8, BIG, dim=16)]
    store.commit(CommitBatch([big]))
    copy = tmp_path.parent / (tmp_path.name + "-copy")
    shutil.copytree(tmp_path, copy)
    crash(store)
    (copy / "LOCK").unlink()
    with Store.open(copy, settings()) as again:
        assert again.snapshot().csn == 3
        assert visible_rowids(again) == list(range(8 + BIG))


@pytest.mark.parametrize("nth", [1, 2, 4, 6])
def test_failed_write_inside_the_stream_is_undone(tmp_path: Path, nth: int) -> None:
    store = Store.open(tmp_path, settings())
    try:
        store.commit(CommitBatch([TableChange(1, [rows(0, 5, dim=16)])]))
        path = tmp_path / "wal" / "00000001.wal"
        before = path.read_bytes()
        hooks = fileio.reset_hooks()
        hooks.oplog = []
        # the nth write of the big commit fails with ENOSPC
        hooks.fail_at, hooks.fail_errno = nth, errno.ENOSPC
        hooks.fail_ops = frozenset({"write"})
        with pytest.raises(DiskFull):
            store.commit(CommitBatch([_big()]))
        writes = [op for op in hooks.oplog if op[0] == "write"]
        fileio.reset_hooks()
        assert writes, "the record was written in pieces"
        assert path.read_bytes() == before
        # the store goes on: the next commits land after the first record
        store.commit(CommitBatch([TableChange(1, [rows(5, 3, dim=16)])]))
        assert visible_rowids(store) == list(range(8))
    finally:
        fileio.reset_hooks()
        store.close()
    with Store.open(tmp_path, settings()) as again:
        assert visible_rowids(again) == list(range(8))
