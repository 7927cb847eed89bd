"""fileio hooks: operation log, error injection, crash point registry; and
what the store does with those errors (DiskFull, Panic) and fsync ordering."""

from __future__ import annotations

import errno
import re
from pathlib import Path

import numpy as np
import pytest
from storage_helpers import rows, settings, visible_rowids

from vecgres.errors import DiskFull, Panic
from vecgres.storage import fileio
from vecgres.storage.store import CommitBatch, Store, TableChange

STORAGE_DIR = Path(fileio.__file__).resolve().parent


def commit(store: Store, *changes: TableChange) -> int:
    return store.commit(CommitBatch(list(changes)))


def test_crashpoint_registry_matches_code() -> None:
    used: set[str] = set()
    for path in STORAGE_DIR.glob("*.py"):
        text = path.read_text()
        used |= set(re.findall(r'crashpoint\(\s*"([a-z_.]+)"', text))
        used |= set(re.findall(r'(?:before_rename|crash_after)\s*[=:][^"\n]*"([a-z_.]+)"', text))
    assert used == set(fileio.CRASHPOINTS)


def test_unregistered_crashpoint_is_a_bug() -> None:
    with pytest.raises(AssertionError):
        fileio.crashpoint("no.such.point")


def test_oplog_records_operations(tmp_path: Path) -> None:
    fileio.HOOKS.oplog = []
    fileio.write_atomic(str(tmp_path / "f"), b"abc")
    ops = [(op, Path(path).name) for op, path, _off, _len in fileio.HOOKS.oplog]
    assert ops == [
        ("open", "f.tmp"),
        ("write", "f.tmp"),
        ("fsync", "f.tmp"),
        ("rename", "f"),
        ("fsync_dir", tmp_path.name),
    ]


def test_injected_error_on_nth_operation(tmp_path: Path) -> None:
    fileio.HOOKS.fail_at = 2
    fileio.HOOKS.fail_ops = frozenset({"fsync"})
    fileio.HOOKS.fail_errno = errno.EIO
    fileio.write_atomic(str(tmp_path / "a"), b"1")
    with pytest.raises(OSError, match="Input/output error") as info:
        fileio.write_atomic(str(tmp_path / "b"), b"2")
    assert info.value.errno == errno.EIO
    assert not (tmp_path / "b").exists()
    assert not (tmp_path / "b.tmp").exists()


@pytest.mark.parametrize("short", [False, True])
def test_enospc_on_wal_write_is_disk_full_and_rolled_back(tmp_path: Path, short: bool) -> None:
    store = Store.open(tmp_path, settings(fsync=True))
    commit(store, TableChange(1, [rows(0, 3)]))
    (wal_file,) = [p for p in (tmp_path / "wal").glob("*.wal") if p.stat().st_size]
    size = wal_file.stat().st_size
    fileio.HOOKS.fail_at = 1
    fileio.HOOKS.fail_ops = frozenset({"write"})
    fileio.HOOKS.short_write = short
    with pytest.raises(DiskFull) as info:
        commit(store, TableChange(1, [rows(3, 3)]))
    assert info.value.code == "53100"
    assert info.value.message == (f'could not extend file "{wal_file}": No space left on device')
    assert wal_file.stat().st_size == size  # truncated back to the record boundary
    fileio.reset_hooks()
    assert visible_rowids(store) == [0, 1, 2]
    assert commit(store, TableChange(1, [rows(6, 1)])) == 2  # writes resume
    store.close()
    with Store.open(tmp_path, settings()) as again:
        assert visible_rowids(again) == [0, 1, 2, 6]


def test_fsync_failure_panics_and_refuses_more_work(tmp_path: Path) -> None:
    logs: list[str] = []
    store = Store.open(tmp_path, settings(fsync=True), log=logs.append)
    commit(store, TableChange(1, [rows(0, 1)]))
    fileio.HOOKS.fail_at = 1
    fileio.HOOKS.fail_ops = frozenset({"fsync"})
    fileio.HOOKS.fail_errno = errno.EIO
    with pytest.raises(Panic):
        commit(store, TableChange(1, [rows(1, 1)]))
    fileio.reset_hooks()
    with pytest.raises(Panic):
        commit(store, TableChange(1, [rows(2, 1)]))
    store.close()  # no checkpoint after a panic, but the lock is released
    assert any("PANIC" in m for m in logs)
    with Store.open(tmp_path, settings()) as again:
        # the record whose fsync failed may or may not be there; nothing else is
        assert visible_rowids(again) in ([0], [0, 1])


def test_commit_returns_only_after_wal_fsync(tmp_path: Path) -> None:
    store = Store.open(tmp_path, settings(fsync=True))
    fileio.HOOKS.oplog = oplog = []
    commit(store, TableChange(1, [rows(0, 1)]))
    ops = [(op, Path(path).suffix) for op, path, _o, _l in oplog]
    assert ops[-2:] == [("write", ".wal"), ("fsync", ".wal")]
    store.close()


def test_manifest_rename_follows_segment_fsync(tmp_path: Path) -> None:
    with Store.open(tmp_path, settings(fsync=True, compaction_small_rows=100)) as store:
        commit(store, TableChange(1, [rows(0, 5)]))
        store.flush()
        commit(store, TableChange(1, [rows(5, 5)], deletes=np.array([1])))
        fileio.HOOKS.oplog = oplog = []
        store.flush()
        store.compact()
    names = [(op, Path(p).name) for op, p, _o, _l in oplog]
    renames = [i for i, (op, name) in enumerate(names) if op == "rename" and name == "MANIFEST"]
    assert renames
    for i, (op, name) in enumerate(names):
        if op == "rename" and name.endswith((".arrow", ".del")):
            # that file's data was fsynced before, the directory after, the manifest later
            assert ("fsync", name + ".tmp") in names[:i]
            assert names[i + 1][0] == "fsync_dir"
            assert any(r > i for r in renames)
        if op == "unlink" and name.endswith(".arrow"):
            assert any(r < i and names[r + 1][0] == "fsync_dir" for r in renames)


def test_enospc_while_sealing_keeps_data_and_cleans_up(tmp_path: Path) -> None:
    with Store.open(tmp_path, settings()) as store:
        commit(store, TableChange(1, [rows(0, 5)]))
        fileio.HOOKS.fail_at = 1
        fileio.HOOKS.fail_ops = frozenset({"write"})
        with pytest.raises(DiskFull):
            store.flush()
        fileio.reset_hooks()
        assert visible_rowids(store) == list(range(5))
        assert not list(tmp_path.rglob("*.tmp"))
        assert not list(tmp_path.rglob("*.arrow"))
        commit(store, TableChange(1, [rows(5, 1)]))
        store.flush()
    with Store.open(tmp_path, settings()) as store:
        assert visible_rowids(store) == list(range(6))
