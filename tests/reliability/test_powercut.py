"""T2: simulated power cuts. Unsynced writes are applied, dropped or torn;
unsynced creates/renames/unlinks may be lost. Only acknowledged commits must
survive (D1); nothing may come back partial, duplicated or corrupted."""

from __future__ import annotations

import random
import shutil
from pathlib import Path

import pytest
from harness import Ledger, figures, read_rows, scaled, store_settings, workload

from vecgres.errors import DataCorrupted
from vecgres.storage import check, fileio
from vecgres.storage.store import Store

STEPS = 30


def _count_ops(root: Path, seed: int) -> int:
    """Operations the seeded workload performs when nothing stops it."""
    sim = fileio.PowerCutSim(str(root), str(root) + ".never", seed=seed, cut_at=None)
    fileio.HOOKS.powercut = sim
    try:
        store = Store.open(root, store_settings())
        workload(store, Ledger(), seed, STEPS, on_error=lambda _e: True)
        return sim.ops
    finally:
        fileio.reset_hooks()


def _one_cut(tmp: Path, seed: int, ordered: bool, n_ops: int, totals: dict[str, int]) -> None:
    live, image = tmp / f"live{seed}", tmp / f"image{seed}"
    for p in (live, image):
        shutil.rmtree(p, ignore_errors=True)
    live.mkdir()
    # past the workload's end the cut happens after its last operation
    cut_at = 1 + random.Random(seed).randrange(int(n_ops * 1.1))
    sim = fileio.PowerCutSim(str(live), str(image), seed=seed, cut_at=cut_at, ordered=ordered)
    fileio.HOOKS.powercut = sim
    ledger = Ledger()
    try:
        store = Store.open(live, store_settings())
        workload(store, ledger, seed, STEPS, on_error=lambda _e: True)
    except fileio.PowerCut:
        pass
    finally:
        fileio.reset_hooks()
    if not sim.done:
        sim.cut()
    totals["runs"] += 1
    totals["acked_stmts"] += sum(1 for e in ledger.entries if e.status == "ok")
    try:
        store = Store.open(image, store_settings())
    except DataCorrupted as exc:
        # a refusal never loses data silently, but after a cut it may only come from the tail
        totals["refused_start"] += 1
        totals["refused_ordered" if ordered else "refused_reordered"] += 1
        if ordered:
            raise AssertionError(f"seed {seed}: refused to start: {exc.message}") from exc
        return
    try:
        rowids, crc_ok = read_rows(store)
        catalog_ok = ledger.catalog_ok(store.catalog)
    finally:
        store.close()
    totals["catalog_mismatches"] += not catalog_ok
    totals["catalog_commits"] += len(ledger.catalogs)
    assert catalog_ok, f"seed {seed}: catalog {store.catalog!r} vs {ledger.catalogs}"
    outcome = ledger.verify(rowids, crc_ok)
    totals["acked_rows_lost"] += outcome.acked_rows_lost
    totals["atomicity_violations"] += outcome.atomicity_violations
    totals["phantom_rows"] += outcome.phantom_rows
    totals["duplicate_rows"] += outcome.duplicate_rows
    totals["payload_mismatches"] += outcome.payload_mismatches
    totals["deleted_rows_back"] += outcome.deleted_rows_back
    report = check.check_dir(str(image))
    totals["check_failures"] += 0 if report.ok else 1
    assert outcome.clean, f"seed {seed} cut_at {cut_at}: {outcome}"
    assert report.ok, f"seed {seed}: {report.summary()}"
    shutil.rmtree(live, ignore_errors=True)
    shutil.rmtree(image, ignore_errors=True)


@pytest.mark.crash
def test_power_cuts(scratch: Path) -> None:
    tmp_path = scratch
    totals = dict.fromkeys(
        [
            "runs",
            "acked_stmts",
            "acked_rows_lost",
            "atomicity_violations",
            "phantom_rows",
            "duplicate_rows",
            "payload_mismatches",
            "deleted_rows_back",
            "check_failures",
            "refused_start",
            "refused_ordered",
            "refused_reordered",
            "catalog_mismatches",
            "catalog_commits",
        ],
        0,
    )
    runs = scaled(200)  # RELIABILITY.md: CI 200, nightly 5,000 (scale 25)
    (tmp_path / "count").mkdir()
    n_ops = _count_ops(tmp_path / "count", 0)
    for seed in range(runs):
        # every fourth cut reorders writes within a file (stricter than ext4's ordered mode)
        _one_cut(tmp_path, seed, ordered=seed % 4 != 3, n_ops=n_ops, totals=totals)
    figures(
        "powercut",
        runs=totals["runs"],
        acked_statements=totals["acked_stmts"],
        acked_rows_lost=totals["acked_rows_lost"],
        atomicity_violations=totals["atomicity_violations"],
        undetected_corruption=totals["payload_mismatches"] + totals["phantom_rows"],
        duplicate_rows=totals["duplicate_rows"],
        deleted_rows_back=totals["deleted_rows_back"],
        check_failures=totals["check_failures"],
        refused_start_on_tail_only=totals["refused_ordered"],
        refused_start_reordered=totals["refused_reordered"],
        catalog_commits=totals["catalog_commits"],
        catalog_mismatches=totals["catalog_mismatches"],
    )
    assert totals["acked_rows_lost"] == 0
