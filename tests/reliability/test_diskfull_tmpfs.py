"""T4 (real ENOSPC): the data directory on a small tmpfs (needs root). Filling
it makes a write fail with 53100 disk_full; reads keep working, nothing
acknowledged is lost, and once space is freed writes resume without a
restart."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from harness import figures, scaled

import vecgres
from vecgres.errors import VecgresError

SIZE_MB = 8


@pytest.fixture
def mount(tmp_path: Path) -> Iterator[Path]:
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root; the injected ENOSPC suite covers the rest")
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    res = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={SIZE_MB}m", "tmpfs", str(mnt)],
        capture_output=True,
        check=False,
    )
    if res.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {res.stderr.decode().strip()}")
    try:
        yield mnt
    finally:
        subprocess.run(["umount", "-l", str(mnt)], check=False)


def _fill_once(mnt: Path, run: int) -> dict[str, int]:
    db = mnt / f"db{run}"
    ballast = mnt / "ballast"
    ballast.write_bytes(b"\0" * (2 << 20))  # freed later to let writes resume
    con = vecgres.connect(str(db), seal_rows=5000)
    con.autocommit = True
    cur = con.cursor()
    cur.execute("CREATE TABLE t (id int, v vector(128))")
    rng = np.random.default_rng(run)
    acked = 0
    failure: VecgresError | None = None
    for batch in range(10_000):
        vecs = rng.standard_normal((200, 128), dtype=np.float32)
        values = ",".join(
            f"({batch * 200 + i}, '[{','.join(f'{x:.3f}' for x in v)}]')"
            for i, v in enumerate(vecs)
        )
        try:
            cur.execute(f"INSERT INTO t VALUES {values}")
        except VecgresError as exc:
            failure = exc
            break
        acked += 200
    assert failure is not None, "the tmpfs never filled"
    assert (failure.code, failure.message.endswith("No space left on device")) == ("53100", True)
    cur.execute("SELECT count(*) FROM t")  # reads keep working
    assert cur.fetchone() == (acked,)
    ballast.unlink()
    cur.execute("INSERT INTO t VALUES (-1, %s)", ("[" + ",".join(["0"] * 128) + "]",))
    acked += 1
    cur.execute("SELECT count(*) FROM t")
    assert cur.fetchone() == (acked,)
    con.close()
    con = vecgres.connect(str(db))
    cur = con.cursor()
    cur.execute("SELECT count(*) FROM t")
    assert cur.fetchone() == (acked,)
    cur.execute("SELECT vecgres_check()")
    (report,) = cur.fetchone()
    con.close()
    assert report.startswith("ok"), report
    for p in db.rglob("*"):
        if p.is_file():
            p.unlink()
    return {"acked": acked}


def test_real_disk_full_on_tmpfs(mount: Path) -> None:
    runs = scaled(1)
    total = 0
    for run in range(runs):
        total += _fill_once(mount, run)["acked"]
    figures(
        "ioerr.tmpfs",
        fills=runs,
        rows_acked=total,
        wrong_sqlstate=0,
        acked_lost=0,
        server_died_on_enospc=0,
    )
