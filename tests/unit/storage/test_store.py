"""Store: commits, snapshots, deletes, truncate, drop, layouts, lookups."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest
from storage_helpers import layout, rows, settings, visible_rowids

from vecgres.errors import InternalError
from vecgres.storage.store import CommitBatch, Store, TableChange, TableLayout


def commit(store: Store, *changes: TableChange, catalog: bytes | None = None) -> int:
    return store.commit(CommitBatch(list(changes), catalog=catalog))


def test_new_store_is_empty(tmp_path: Path) -> None:
    with Store.open(tmp_path / "db", settings()) as store:
        assert store.catalog == b""
        assert store.table_ids() == []
        assert store.next_rowid(1) == 0
        snap = store.snapshot()
        assert snap.csn == 0
        assert snap.table(1) is None


def test_commit_and_reopen_keeps_data_and_catalog(tmp_path: Path) -> None:
    with Store.open(tmp_path, settings(fsync=True)) as store:
        store.set_layout(1, layout())
        assert commit(store, TableChange(1, [rows(0, 10)]), catalog=b'{"v":1}') == 1
        assert commit(store, TableChange(1, [rows(10, 5)])) == 2
        store.flush()
        assert commit(store, TableChange(1, deletes=np.array([3, 11]))) == 3
        assert commit(store, TableChange(1, [rows(15, 3)]), catalog=b'{"v":2}') == 4
    with Store.open(tmp_path, settings()) as store:
        assert store.catalog == b'{"v":2}'
        assert store.table_ids() == [1]
        assert store.next_rowid(1) == 18
        expected = [r for r in range(18) if r not in (3, 11)]
        assert visible_rowids(store) == expected
        assert commit(store, TableChange(1, [rows(18, 1)])) == 5
        assert store.snapshot().csn == 5


def test_snapshot_isolation_across_commit_seal_and_compaction(tmp_path: Path) -> None:
    with Store.open(tmp_path, settings(compaction_small_rows=100)) as store:
        store.set_layout(1, layout())
        commit(store, TableChange(1, [rows(0, 10)]))
        s1 = store.snapshot()
        commit(store, TableChange(1, [rows(10, 10)], deletes=np.array([0, 1])))
        s2 = store.snapshot()
        store.flush()
        commit(store, TableChange(1, [rows(20, 10)], deletes=np.array([10, 25])))
        s3 = store.snapshot()
        store.flush()
        store.compact()
        commit(store, TableChange(1, deletes=np.arange(0, 30, 2)))
        s4 = store.snapshot()
        store.compact()
        assert visible_rowids(s1) == list(range(10))
        assert visible_rowids(s2) == list(range(2, 20))
        # deletes apply before inserts: 25 did not exist yet, so it stays
        assert visible_rowids(s3) == [r for r in range(2, 30) if r != 10]
        expected4 = [r for r in range(30) if r % 2 and r != 1]
        assert visible_rowids(s4) == expected4
        assert visible_rowids(store) == expected4
        t1 = s1.table(1)
        assert t1 is not None
        assert t1.num_rows() == 10
        # a table snapshot is built lazily from captured state: still the old rows
        assert s2.csn == 2


def test_deletes_are_idempotent_and_ignore_unknown_rowids(tmp_path: Path) -> None:
    with Store.open(tmp_path, settings()) as store:
        commit(store, TableChange(1, [rows(0, 5)]))
        commit(store, TableChange(1, deletes=np.array([1, 1, 99, -5])))
        old = store.snapshot()
        # deleting again must not move the delete to a newer CSN (old snapshots)
        commit(store, TableChange(1, deletes=np.array([1, 2])))
        assert visible_rowids(old) == [0, 2, 3, 4]
        assert visible_rowids(store) == [0, 3, 4]


def test_change_order_is_truncate_deletes_inserts(tmp_path: Path) -> None:
    with Store.open(tmp_path, settings()) as store:
        commit(store, TableChange(1, [rows(0, 5)]))
        store.flush()
        commit(store, TableChange(1, [rows(5, 5)]))
        before = store.snapshot()
        commit(store, TableChange(1, [rows(10, 3)], deletes=np.array([10, 1]), truncate=True))
        assert visible_rowids(store) == [10, 11, 12]
        assert visible_rowids(before) == list(range(10))
        assert store.next_rowid(1) == 13
    with Store.open(tmp_path, settings()) as store:
        assert visible_rowids(store) == [10, 11, 12]


def test_truncate_survives_replay_without_checkpoint(tmp_path: Path) -> None:
    store = Store.open(tmp_path, settings())
    commit(store, TableChange(1, [rows(0, 5)]))
    store.flush()
    commit(store, TableChange(1, truncate=True))
    commit(store, TableChange(1, [rows(5, 2)]))
    store._wal.close()  # type: ignore[union-attr]  # simulate a crash: no checkpoint
    store._dir_lock.release()  # type: ignore[union-attr]
    with Store.open(tmp_path, settings()) as again:
        assert visible_rowids(again) == [5, 6]


def test_drop_table(tmp_path: Path) -> None:
    with Store.open(tmp_path, settings()) as store:
        commit(store, TableChange(1, [rows(0, 5)]), TableChange(2, [rows(0, 3)]))
        store.flush()
        before = store.snapshot()
        commit(store, TableChange(1, drop=True))
        assert store.table_ids() == [2]
        assert store.snapshot().table(1) is None
        assert visible_rowids(before, 1) == list(range(5))
        store.checkpoint()
        assert not (tmp_path / "segments" / "1").exists()
    with Store.open(tmp_path, settings()) as store:
        assert store.table_ids() == [2]
        assert store.snapshot().table(1) is None
        assert visible_rowids(store, 2) == [0, 1, 2]


def test_drop_is_replayed_and_not_undone(tmp_path: Path) -> None:
    store = Store.open(tmp_path, settings())
    commit(store, TableChange(7, [rows(0, 5)]))
    commit(store, TableChange(7, drop=True))
    store.checkpoint()  # manifest records the drop; WAL may still hold the insert
    commit(store, TableChange(8, [rows(0, 1)]))
    store.close()
    with Store.open(tmp_path, settings()) as store:
        assert store.table_ids() == [8]


def test_conformed_fills_missing_columns_and_drops_extra(tmp_path: Path) -> None:
    with Store.open(tmp_path, settings()) as store:
        store.set_layout(1, layout())
        commit(store, TableChange(1, [rows(0, 3)]))
        store.flush()
        commit(store, TableChange(1, [rows(3, 2)]))
        new_layout = layout(extra=True, missing="dflt")
        store.set_layout(1, new_layout)
        commit(store, TableChange(1, [rows(5, 2, extra=True)]))
        table = store.snapshot().table(1)
        assert table is not None
        got = pa.concat_tables([s.conformed(new_layout) for s in table.segments])
        assert got.column_names == ["_rowid", "c1", "c2", "c3"]
        assert got.column("c3").to_pylist() == ["dflt"] * 5 + ["s5", "s6"]
        narrow = TableLayout(pa.schema([pa.field("c1", pa.int64())]), {})
        assert table.segments[0].conformed(narrow).column_names == ["_rowid", "c1"]
        null_layout = layout(extra=True, missing=None)
        assert table.segments[0].conformed(null_layout).column("c3").null_count == 3


def test_sealed_vectors_are_zero_copy_and_stats(tmp_path: Path) -> None:
    with Store.open(tmp_path, settings()) as store:
        commit(store, TableChange(1, [rows(0, 100)]))
        store.flush()
    with Store.open(tmp_path, settings()) as store:
        table = store.snapshot().table(1)
        assert table is not None
        seg = table.segments[0]
        assert seg.segment_id is not None
        vec = seg.data.column("c2").chunk(0)
        flat = vec.values.to_numpy(zero_copy_only=True)
        assert flat.reshape(-1, 4)[7].tolist() == [7.0] * 4
        assert seg.column_stats("c1") == (0, 990)
        assert seg.column_stats("c2") is None


def test_growing_part_has_no_stats(tmp_path: Path) -> None:
    with Store.open(tmp_path, settings()) as store:
        commit(store, TableChange(1, [rows(0, 3)]))
        table = store.snapshot().table(1)
        assert table is not None
        assert table.segments[0].segment_id is None
        assert table.segments[0].column_stats("c1") is None


def test_find_rowids(tmp_path: Path) -> None:
    with Store.open(tmp_path, settings()) as store:
        commit(store, TableChange(1, [rows(0, 10)]))
        store.flush()
        # growing rows arrive out of rowid order
        commit(store, TableChange(1, [rows(15, 5)]))
        commit(store, TableChange(1, [rows(10, 5)], deletes=np.array([4, 16])))
        table = store.snapshot().table(1)
        assert table is not None
        wanted = np.array([12, 4, 3, 99, 16, 19, 0])
        found = table.find_rowids(wanted)
        seen: dict[int, int] = {}
        for seg_idx, offsets, positions in found:
            ids = table.segments[seg_idx].data.column("_rowid").to_numpy()[offsets]
            assert ids.tolist() == wanted[positions].tolist()
            for pos in positions.tolist():
                seen[pos] = seg_idx
        assert sorted(seen) == [0, 2, 5, 6]  # 4 and 16 deleted, 99 unknown
        assert table.num_rows() == 18


def test_invalid_batch_is_rejected_before_the_wal(tmp_path: Path) -> None:
    with Store.open(tmp_path, settings()) as store:
        bad = pa.RecordBatch.from_pydict({"c1": [1]})
        with pytest.raises(InternalError):
            commit(store, TableChange(1, [bad]))
        assert store.snapshot().csn == 0
        assert commit(store, TableChange(1, [rows(0, 1)])) == 1


def test_seal_on_threshold_and_many_small_commits(tmp_path: Path) -> None:
    with Store.open(tmp_path, settings(seal_rows=50)) as store:
        for r in range(120):
            commit(store, TableChange(1, [rows(r, 1)]))
        table = store.snapshot().table(1)
        assert table is not None
        sealed = [s for s in table.segments if s.segment_id is not None]
        growing = [s for s in table.segments if s.segment_id is None]
        assert len(sealed) == 2
        assert len(growing) == 1
        # growing chunks are merged: few record batches despite 20 commits
        assert growing[0].data.column("c1").num_chunks <= 5
        assert visible_rowids(store) == list(range(120))


def test_background_seal_and_compaction(tmp_path: Path) -> None:
    logs: list[str] = []
    s = settings(seal_rows=20, background_compaction=True, compaction_small_rows=100)
    sealed: list[tuple[int, int]] = []
    with Store.open(tmp_path, s, log=logs.append) as store:
        store.on_sealed = lambda t, seg: sealed.append((t, seg))
        for r in range(0, 200, 10):
            commit(store, TableChange(1, [rows(r, 10)]))
        deadline = threading.Event()
        for _ in range(100):
            table = store.snapshot().table(1)
            assert table is not None
            if len(table.segments) <= 2 and sealed:
                break
            deadline.wait(0.05)
        assert visible_rowids(store) == list(range(200))
    assert sealed
    assert not [m for m in logs if "ERROR" in m]


def test_concurrent_commits_are_durable_and_in_lsn_order(tmp_path: Path) -> None:
    s = settings(fsync=True, commit_delay_us=200)
    per_thread = 25
    with Store.open(tmp_path, s) as store:
        results: dict[int, list[int]] = {}
        csns: list[int] = []
        errors: list[BaseException] = []

        def worker(tid: int) -> None:
            try:
                got: list[int] = []
                for i in range(per_thread):
                    rowid = tid * 1000 + i
                    lsn = commit(store, TableChange(1, [rows(rowid, 1)]))
                    # visible to a snapshot started after the ack (strong reads)
                    snap = store.snapshot()
                    assert snap.csn >= lsn
                    csns.append(snap.csn)
                    got.append(lsn)
                results[tid] = got
            except BaseException as exc:
                errors.append(exc)

        threads = [threading.Thread(target=worker, args=(t,)) for t in range(4)]
        for th in threads:
            th.start()
        for th in threads:
            th.join()
        assert not errors
        lsns = sorted(lsn for got in results.values() for lsn in got)
        assert lsns == list(range(1, 4 * per_thread + 1))
        for got in results.values():
            assert got == sorted(got)
    with Store.open(tmp_path, settings()) as store:
        expected = sorted(t * 1000 + i for t in range(4) for i in range(per_thread))
        assert visible_rowids(store) == expected
        assert store.snapshot().csn == 4 * per_thread


def test_compaction_purges_deleted_rows_and_keeps_counts(tmp_path: Path) -> None:
    s = settings(compaction_small_rows=10, compaction_deleted_ratio=0.2)
    with Store.open(tmp_path, s) as store:
        for r in range(0, 60, 20):
            commit(store, TableChange(1, [rows(r, 20)]))
            store.flush()
        commit(store, TableChange(1, [rows(60, 5)]))
        store.flush()
        commit(store, TableChange(1, [rows(65, 5)]))
        store.flush()
        commit(store, TableChange(1, deletes=np.arange(0, 10)))
        before = store.snapshot()
        store.compact()
        after = store.snapshot()
        table = after.table(1)
        assert table is not None
        ids = [s.segment_id for s in table.segments]
        # 0..19 (half deleted) and the two small ones merged; 20..39, 40..59 untouched
        assert len(ids) == 3
        assert table.segments[0].data.num_rows == 20  # 10..19 + 60..69: deleted rows purged
        assert visible_rowids(before) == visible_rowids(after) == list(range(10, 70))
        files = sorted(p.name for p in (tmp_path / "segments" / "1").iterdir())
        assert len([f for f in files if f.endswith(".arrow")]) == 3
    with Store.open(tmp_path, s) as store:
        assert visible_rowids(store) == list(range(10, 70))
        assert store.snapshot().table(1).num_rows() == 60  # type: ignore[union-attr]


def test_compaction_keeps_deletes_that_race_with_it(tmp_path: Path) -> None:
    s = settings(compaction_small_rows=100)
    with Store.open(tmp_path, s) as store:
        commit(store, TableChange(1, [rows(0, 10)]))
        store.flush()
        commit(store, TableChange(1, [rows(10, 10)]))
        store.flush()
        from vecgres.storage import compaction

        state = store._tables[1]
        group = list(state.segments)
        merged = compaction.merge(group, store.csn, state.layout)
        commit(store, TableChange(1, deletes=np.array([5, 15])))
        deleted = compaction.carry_deletes(merged)
        assert np.count_nonzero(deleted != np.iinfo(np.int64).max) == 2
        store.compact()
        assert visible_rowids(store) == [r for r in range(20) if r not in (5, 15)]


def test_wal_files_switch_and_are_recycled(tmp_path: Path) -> None:
    s = settings(wal_file_bytes=4096)
    with Store.open(tmp_path, s) as store:
        for r in range(0, 400, 4):
            commit(store, TableChange(1, [rows(r, 4)]), TableChange(2, deletes=np.array([r])))
        # the 4 x wal_file_bytes checkpoint keeps the WAL bounded
        total = sum(p.stat().st_size for p in (tmp_path / "wal").glob("*.wal"))
        assert total <= 6 * 4096
        assert visible_rowids(store) == list(range(400))
    with Store.open(tmp_path, s) as store:
        assert visible_rowids(store) == list(range(400))
        assert store.snapshot().csn == 100


def test_async_commit_is_visible_at_once_and_durable_after_close(tmp_path: Path) -> None:
    s = settings(fsync=True, synchronous_commit=False)
    with Store.open(tmp_path, s) as store:
        for r in range(20):
            commit(store, TableChange(1, [rows(r, 1)]))
        assert visible_rowids(store) == list(range(20))
    with Store.open(tmp_path, settings()) as store:
        assert visible_rowids(store) == list(range(20))


def test_close_is_idempotent_and_rejects_later_commits(tmp_path: Path) -> None:
    store = Store.open(tmp_path, settings())
    store.close()
    store.close()
    with pytest.raises(InternalError):
        commit(store, TableChange(1, [rows(0, 1)]))
