"""Crash recovery: replay, torn tails, corruption, leftovers, the directory lock."""

from __future__ import annotations

import os
import shutil
import signal
from pathlib import Path

import numpy as np
import pytest
from storage_helpers import crash, rows, run_child, settings, visible_rowids

from vecgres.errors import DatabaseLocked, DataCorrupted
from vecgres.storage.store import CommitBatch, Store, TableChange


def commit(store: Store, *changes: TableChange) -> int:
    return store.commit(CommitBatch(list(changes)))


def wal_files(root: Path) -> list[Path]:
    return sorted((root / "wal").glob("*.wal"))


def test_replay_after_crash_without_close(tmp_path: Path) -> None:
    store = Store.open(tmp_path, settings())
    commit(store, TableChange(1, [rows(0, 10)]))
    store.flush()
    commit(store, TableChange(1, [rows(10, 10)], deletes=np.array([2, 12])))
    commit(store, TableChange(2, [rows(0, 3)]))
    copy = tmp_path.parent / (tmp_path.name + "-copy")
    shutil.copytree(tmp_path, copy)  # the directory as a kill -9 would leave it
    crash(store)
    (copy / "LOCK").unlink()
    with Store.open(copy, settings()) as again:
        assert visible_rowids(again, 1) == [r for r in range(20) if r != 2]  # 12 came later
        assert visible_rowids(again, 2) == [0, 1, 2]
        assert again.snapshot().csn == 3


def test_child_process_commits_then_exits_without_close(tmp_path: Path) -> None:
    code = f"""
import os
from storage_helpers import rows, settings
from vecgres.storage.store import Store, CommitBatch, TableChange
s = Store.open({str(tmp_path)!r}, settings(fsync=True))
for i in range(5):
    s.commit(CommitBatch([TableChange(3, [rows(i * 10, 10)])], catalog=b"cat%d" % i))
s.flush(3)
s.commit(CommitBatch([TableChange(3, deletes=__import__("numpy").array([0, 49]))]))
os._exit(0)
"""
    assert run_child(code) == 0
    with Store.open(tmp_path, settings()) as store:
        assert store.catalog == b"cat4"
        assert visible_rowids(store, 3) == list(range(1, 49))


def _build_wal(root: Path, last: TableChange) -> bytes:
    store = Store.open(root, settings())
    commit(store, TableChange(1, [rows(0, 2)]))
    commit(store, TableChange(1, [rows(2, 2)]))
    commit(store, last)
    crash(store)
    (files,) = [wal_files(root)]
    assert len(files) == 1
    return files[0].read_bytes()


@pytest.mark.parametrize(
    "last",
    [
        pytest.param(TableChange(1, deletes=np.array([0])), id="delete"),
        pytest.param(TableChange(1, [rows(4, 1)]), id="insert"),
    ],
)
def test_torn_tail_at_every_offset_recovers_previous_record(
    tmp_path: Path, last: TableChange
) -> None:
    src = tmp_path / "src"
    data = _build_wal(src, last)
    start = _last_record_start(data)
    assert start < len(data)
    db = tmp_path / "db"
    for cut in range(start, len(data)):
        if db.exists():
            shutil.rmtree(db)
        (db / "wal").mkdir(parents=True)
        (db / "wal" / "00000001.wal").write_bytes(data[:cut])
        store = Store.open(db, settings())
        try:
            assert store.snapshot().csn == 2, cut
            assert visible_rowids(store) == [0, 1, 2, 3], cut
        finally:
            crash(store)
        assert (db / "wal" / "00000001.wal").stat().st_size == start


def _last_record_start(data: bytes) -> int:
    import struct

    offset = 0
    prev = 0
    while offset < len(data):
        _magic, length, _lsn, _crc = struct.unpack_from("<IIQI", data, offset)
        prev = offset
        offset += 20 + length
    return prev


def test_flipped_byte_in_middle_record_is_data_corrupted(tmp_path: Path) -> None:
    data = bytearray(_build_wal(tmp_path / "src", TableChange(1, [rows(4, 1)])))
    data[30] ^= 0xFF  # inside the first record's payload
    db = tmp_path / "db"
    (db / "wal").mkdir(parents=True)
    (db / "wal" / "00000001.wal").write_bytes(bytes(data))
    with pytest.raises(DataCorrupted) as info:
        Store.open(db, settings())
    assert info.value.code == "XX001"
    assert "00000001.wal" in info.value.message
    assert "offset 0" in info.value.message
    # the refusal leaves the lock free and the file untouched
    assert (db / "wal" / "00000001.wal").read_bytes() == bytes(data)


def test_corrupted_bytes_in_last_record_are_a_torn_tail(tmp_path: Path) -> None:
    data = bytearray(_build_wal(tmp_path / "src", TableChange(1, [rows(4, 1)])))
    data[-3] ^= 0xFF
    db = tmp_path / "db"
    (db / "wal").mkdir(parents=True)
    (db / "wal" / "00000001.wal").write_bytes(bytes(data))
    with Store.open(db, settings()) as store:
        assert visible_rowids(store) == [0, 1, 2, 3]


def _sealed_db(root: Path) -> Path:
    with Store.open(root, settings()) as store:
        commit(store, TableChange(1, [rows(0, 50)]))
        store.flush()
        commit(store, TableChange(1, deletes=np.array([1, 2])))
        store.checkpoint()
    (seg,) = (root / "segments" / "1").glob("*.arrow")
    return seg


@pytest.mark.parametrize("damage", ["flip", "truncate", "empty", "missing"])
def test_damaged_segment_is_data_corrupted(tmp_path: Path, damage: str) -> None:
    seg = _sealed_db(tmp_path)
    data = bytearray(seg.read_bytes())
    if damage == "flip":
        data[len(data) // 2] ^= 0x01
        seg.write_bytes(bytes(data))
    elif damage == "truncate":
        seg.write_bytes(bytes(data[:-7]))
    elif damage == "empty":
        seg.write_bytes(b"")
    else:
        seg.unlink()
    with pytest.raises(DataCorrupted) as info:
        Store.open(tmp_path, settings())
    assert info.value.code == "XX001"
    assert seg.name in info.value.message


@pytest.mark.parametrize("target", ["manifest", "delete"])
def test_damaged_manifest_or_delete_file_is_data_corrupted(tmp_path: Path, target: str) -> None:
    _sealed_db(tmp_path)
    if target == "manifest":
        path = tmp_path / "MANIFEST"
    else:
        (path,) = (tmp_path / "segments" / "1").glob("*.del")
    data = bytearray(path.read_bytes())
    data[-2] ^= 0x01
    path.write_bytes(bytes(data))
    with pytest.raises(DataCorrupted) as info:
        Store.open(tmp_path, settings())
    assert info.value.code == "XX001"
    assert path.name in info.value.message


def test_deletes_survive_checkpoint_and_wal_recycling(tmp_path: Path) -> None:
    _sealed_db(tmp_path)
    with Store.open(tmp_path, settings()) as store:
        assert visible_rowids(store) == [0, *range(3, 50)]
    # everything is in segments + delete files: only the fresh WAL file remains
    assert all(p.stat().st_size == 0 for p in wal_files(tmp_path))


def test_leftover_tmp_and_unreferenced_files_are_removed(tmp_path: Path) -> None:
    _sealed_db(tmp_path)
    leftovers = [
        tmp_path / "MANIFEST.tmp",
        tmp_path / "segments" / "1" / "99.arrow.tmp",
        tmp_path / "segments" / "1" / "77.arrow",
        tmp_path / "segments" / "5" / "3.arrow",
    ]
    for path in leftovers:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"junk")
    logs: list[str] = []
    with Store.open(tmp_path, settings(), log=logs.append) as store:
        assert visible_rowids(store) == [0, *range(3, 50)]
    for path in leftovers:
        assert not path.exists()
    assert not (tmp_path / "segments" / "5").exists()
    assert any("MANIFEST.tmp" in m for m in logs)


def test_second_open_in_same_process_is_locked(tmp_path: Path) -> None:
    with Store.open(tmp_path, settings()):
        with pytest.raises(DatabaseLocked) as info:
            Store.open(tmp_path, settings())
        assert info.value.code == "55006"
        assert f"(pid {os.getpid()})" in info.value.message
    Store.open(tmp_path, settings()).close()  # released on close


def test_open_from_another_process_is_locked(tmp_path: Path) -> None:
    with Store.open(tmp_path, settings()):
        code = f"""
import sys
from storage_helpers import settings
from vecgres.errors import DatabaseLocked
from vecgres.storage.store import Store
try:
    Store.open({str(tmp_path)!r}, settings())
except DatabaseLocked as exc:
    sys.exit(0 if "in use by another process (pid {os.getpid()})" in exc.message else 2)
sys.exit(1)
"""
        assert run_child(code) == 0


@pytest.mark.parametrize(
    ("point", "expect"),
    [
        ("wal.after_write_before_fsync", [0, 1, 2]),
        ("segment.seal.after_data_before_manifest", [0, 1, 2]),
        ("manifest.after_tmp_before_rename", [0, 1, 2]),
        ("compaction.after_manifest_before_unlink", [0, 1, 3, 4, 5]),
    ],
)
def test_crash_points_recover(tmp_path: Path, point: str, expect: list[int]) -> None:
    code = f"""
import numpy as np
from storage_helpers import rows, settings
from vecgres.storage.store import Store, CommitBatch, TableChange
s = Store.open({str(tmp_path)!r}, settings(fsync=True, compaction_small_rows=100))
s.commit(CommitBatch([TableChange(1, [rows(0, 3)])]))
s.flush()
s.commit(CommitBatch([TableChange(1, [rows(3, 3)], deletes=np.array([2]))]))
s.flush()
s.compact()
"""
    assert run_child(code, env={"VECGRES_CRASHPOINT": point}) == -signal.SIGKILL
    with Store.open(tmp_path, settings()) as store:
        got = visible_rowids(store)
        assert got == expect or (point == "wal.after_write_before_fsync" and got == [])
    leftovers = [p for p in tmp_path.rglob("*") if p.name.endswith(".tmp")]
    assert not leftovers
