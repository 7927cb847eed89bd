"""The power-cut model itself: what survives a cut, and that it catches a store
that acknowledges before fsync."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from harness import Ledger, read_rows, store_settings, workload

from vecgres.storage import fileio, wal
from vecgres.storage.store import Store


def _sim(tmp: Path, **kw: object) -> fileio.PowerCutSim:
    (tmp / "live").mkdir(exist_ok=True)
    sim = fileio.PowerCutSim(str(tmp / "live"), str(tmp / "image"), seed=1, cut_at=None, **kw)
    fileio.HOOKS.powercut = sim
    return sim


def test_synced_file_survives_and_unsynced_rename_may_not(tmp_path: Path) -> None:
    sim = _sim(tmp_path)
    live = tmp_path / "live"
    fileio.write_atomic(str(live / "a"), b"durable")  # tmp, fsync, rename, fsync dir
    f = fileio.AppendFile(str(live / "b"), create=True)
    f.append(b"x" * 1000)  # never fsynced, directory never fsynced
    sim.cut()
    with pytest.raises(fileio.PowerCut):
        f.append(b"more")
    assert (tmp_path / "image" / "a").read_bytes() == b"durable"
    b = tmp_path / "image" / "b"
    assert not b.exists() or len(b.read_bytes()) <= 1000 + 4 * fileio.SECTOR


def test_fsynced_append_is_kept_whole(tmp_path: Path) -> None:
    sim = _sim(tmp_path)
    live = tmp_path / "live"
    f = fileio.AppendFile(str(live / "w"), create=True)
    fileio.fsync_dir(str(live))
    f.append(b"a" * 700)
    f.fsync()
    f.append(b"b" * 700)
    sim.cut()
    got = (tmp_path / "image" / "w").read_bytes()
    assert got[:700] == b"a" * 700
    # the unsynced second write is applied, dropped or torn: never longer
    assert 700 <= len(got) <= 1400
    assert os.path.getsize(live / "w") == 1400  # the live file saw both writes


def test_model_catches_acknowledgement_before_fsync(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With the WAL fsync skipped, some power cut loses an acknowledged row."""
    monkeypatch.setattr(wal.Wal, "sync_to", lambda self, lsn: None)
    lost = 0
    for seed in range(6):
        live, image = tmp_path / f"l{seed}", tmp_path / f"i{seed}"
        live.mkdir()
        sim = fileio.PowerCutSim(str(live), str(image), seed=seed, cut_at=None)
        fileio.HOOKS.powercut = sim
        ledger = Ledger()
        store = Store.open(live, store_settings(seal_rows=10_000))
        workload(store, ledger, seed, 10, on_error=lambda _e: True)
        sim.cut()
        fileio.reset_hooks()
        with Store.open(image, store_settings()) as recovered:
            rowids, ok = read_rows(recovered)
        lost += ledger.verify(rowids, ok).acked_rows_lost
    assert lost > 0
