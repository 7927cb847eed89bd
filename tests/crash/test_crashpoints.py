"""Every registered crash point is hit by a real workload (the registry is
checked both ways: tests/unit/storage/test_fileio.py matches it against the
code, this test proves each point is reached), and recovery after a SIGKILL
there keeps every acknowledged statement and no partial one."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from harness import Ledger, figures, read_rows, store_settings

from vecgres.storage import check, fileio
from vecgres.storage.store import Store

REPO = Path(__file__).resolve().parents[2]
CHILD = """
import sys
from harness import Ledger, store_settings, workload
from vecgres.storage.store import Store

def show(e):
    print(e.status, e.stmt_id, e.kind, ",".join(map(str, e.row_ids)), flush=True)

store = Store.open(sys.argv[1], store_settings())
workload(store, Ledger(), int(sys.argv[2]), 80, on_error=lambda e: True, on_status=show)
"""
SKIPS = (0, 1)


def _ledger(out: str) -> Ledger:
    ledger = Ledger()
    for line in out.splitlines():
        status, sid, kind, ids = line.split(" ")
        if status == "unknown":
            entry = ledger.begin(kind, [int(x) for x in ids.split(",")])  # type: ignore[arg-type]
            assert entry.stmt_id == int(sid)
        else:
            ledger.entries[int(sid)].status = "ok"
    return ledger


@pytest.mark.crash
@pytest.mark.parametrize("skip", SKIPS)
@pytest.mark.parametrize("point", fileio.CRASHPOINTS)
def test_kill_at_crash_point(tmp_path: Path, point: str, skip: int) -> None:
    env = {
        **os.environ,
        "VECGRES_CRASHPOINT": point,
        "VECGRES_CRASHPOINT_SKIP": str(skip),
        "PYTHONPATH": os.pathsep.join([str(REPO), str(REPO / "tests" / "reliability")]),
    }
    root = tmp_path / "db"
    proc = subprocess.run(
        [sys.executable, "-c", CHILD, str(root), "5"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == -signal.SIGKILL, f"{point} not reached: {proc.stderr[-2000:]}"
    ledger = _ledger(proc.stdout)
    with Store.open(root, store_settings()) as store:
        rowids, ok = read_rows(store)
    outcome = ledger.verify(rowids, ok)
    report = check.check_dir(str(root))
    figures(
        f"crashpoint[{point},skip={skip}]",
        acked=sum(e.status == "ok" for e in ledger.entries),
        acked_rows_lost=outcome.acked_rows_lost,
        atomicity_violations=outcome.atomicity_violations,
        duplicate_rows=outcome.duplicate_rows,
        payload_mismatches=outcome.payload_mismatches,
        check_ok=report.ok,
    )
    assert outcome.clean, outcome
    assert report.ok, report.summary()
