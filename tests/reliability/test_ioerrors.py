"""T4: ENOSPC and EIO injected on every file operation of a fixed workload
(SQLite ioerr.test style). A failing statement answers 53100 (disk full) or
58030 (I/O error); an fsync failure is a PANIC (D4: the store refuses all
work, restart recovers). Nothing acknowledged is lost, no temp file leaks,
and unless it panicked the store keeps serving reads and writes."""

from __future__ import annotations

import errno
import shutil
from pathlib import Path

import numpy as np
import pytest
from harness import (
    TABLE,
    Ledger,
    figures,
    payload_rows,
    read_rows,
    scaled,
    store_settings,
    workload,
)

from vecgres.errors import DiskFull, IoError, Panic, VecgresError
from vecgres.storage import check, fileio
from vecgres.storage.batch import CommitBatch, TableChange
from vecgres.storage.store import Store

SEED = 11
STEPS = 25


def _ops(root: Path) -> list[fileio.OpRecord]:
    fileio.HOOKS.oplog = []
    store = Store.open(root, store_settings())
    workload(store, Ledger(), SEED, STEPS, on_error=lambda _e: True)
    store.close()
    ops = list(fileio.HOOKS.oplog)
    fileio.reset_hooks()
    return ops


def _crash(store: Store) -> None:
    store._closed = True
    if store._wal is not None:
        store._wal.close()
    if store._dir_lock is not None:
        store._dir_lock.release()


@pytest.mark.crash
def test_injected_io_errors(scratch: Path) -> None:
    tmp_path = scratch
    ops = _ops(tmp_path / "count")
    n_ops = len(ops)
    # every operation of the workload (a stride only past 400 operations)
    stride = max(1, -(-n_ops // scaled(400)))
    t = dict.fromkeys(
        [
            "runs",
            "wrong_sqlstate",
            "acked_lost",
            "atomicity",
            "unusable_after_error",
            "fsync_failures",
            "fsync_panicked",
            "tmp_files_leaked",
            "check_failures",
        ],
        0,
    )
    wrong: list[str] = []
    for code in (errno.ENOSPC, errno.EIO):
        for n in range(1, n_ops + 1, stride):
            root = tmp_path / f"db-{code}-{n}"
            t["runs"] += 1
            hooks = fileio.reset_hooks()
            hooks.fail_at, hooks.fail_errno = n, code
            hooks.oplog = []
            ledger = Ledger()
            errors: list[BaseException] = []
            panicked = False
            store: Store | None = None
            try:
                store = Store.open(root, store_settings())
            except BaseException as exc:
                errors.append(exc)
            if store is not None:

                def on_error(exc: BaseException, errors: list[BaseException] = errors) -> bool:
                    errors.append(exc)
                    return not isinstance(exc, Panic)

                workload(store, ledger, SEED, STEPS, on_error=on_error)
            failed_op = hooks.oplog[n - 1][0] if len(hooks.oplog) >= n else None
            fileio.reset_hooks()
            for exc in errors:
                is_sync = failed_op in ("fsync", "fsync_dir")
                if isinstance(exc, Panic):
                    panicked = True
                    ok = is_sync or failed_op == "truncate"
                elif isinstance(exc, DiskFull):
                    ok = code == errno.ENOSPC
                elif isinstance(exc, IoError):
                    ok = code == errno.EIO
                else:
                    ok = False
                if not ok:
                    t["wrong_sqlstate"] += 1
                    wrong.append(f"{code}/{n}/{failed_op}: {exc!r}")
            if failed_op in ("fsync", "fsync_dir") and errors:
                t["fsync_failures"] += 1
                t["fsync_panicked"] += panicked
            if store is not None and not panicked:
                # still usable: a write and a read succeed without a restart
                rowid = 1_000_000
                try:
                    store.commit(
                        CommitBatch(
                            [TableChange(TABLE, [payload_rows(rowid, 1, np.random.default_rng(0))])]
                        )
                    )
                    e = ledger.begin("insert", [rowid])
                    e.status = "ok"
                    read_rows(store)
                except VecgresError as exc:
                    t["unusable_after_error"] += 1
                    wrong.append(f"{code}/{n}/{failed_op}: unusable: {exc!r}")
            if store is not None:
                _crash(store)
            t["tmp_files_leaked"] += len(list(root.rglob("*.tmp")))
            with Store.open(root, store_settings()) as again:
                rowids, ok_rows = read_rows(again)
                assert ledger.catalog_ok(again.catalog), (code, n, failed_op, again.catalog)
            outcome = ledger.verify(rowids, ok_rows)
            t["acked_lost"] += outcome.acked_rows_lost
            t["atomicity"] += outcome.atomicity_violations
            assert outcome.clean, f"{code}/{n}/{failed_op}: {outcome}"
            report = check.check_dir(str(root))
            t["check_failures"] += 0 if report.ok else 1
            assert report.ok, report.summary()
            shutil.rmtree(root)
    figures(
        "ioerr",
        runs=t["runs"],
        ops_per_workload=len(ops),
        stride=stride,
        wrong_sqlstate=t["wrong_sqlstate"],
        acked_lost=t["acked_lost"],
        atomicity_violations=t["atomicity"],
        unusable_after_error=t["unusable_after_error"],
        fsync_eio_panicked_pct=round(100 * t["fsync_panicked"] / max(1, t["fsync_failures"]), 1),
        tmp_files_leaked=t["tmp_files_leaked"],
        check_failures=t["check_failures"],
    )
    assert not wrong, "\n".join(wrong[:20])
    assert t["tmp_files_leaked"] == 0
