"""``vecgres check DATA_DIR`` (offline) and ``SELECT vecgres_check()`` (online)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import vecgres
from vecgres.errors import DataCorrupted
from vecgres.storage import check

REPO = Path(__file__).resolve().parents[2]


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "vecgres", "check", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=REPO,
    )


def _make(path: Path) -> None:
    con = vecgres.connect(str(path), seal_rows=10)
    con.autocommit = True
    cur = con.cursor()
    cur.execute("CREATE TABLE t (id int, v vector(3))")
    for i in range(3):
        cur.execute(
            f"INSERT INTO t SELECT g, '[1,2,3]' FROM generate_series({i * 20}, {i * 20 + 19}) g"
        )
    cur.execute("DELETE FROM t WHERE id < 5")
    cur.execute("SELECT vecgres_check()")
    (summary,) = cur.fetchone()
    assert summary.startswith("ok: 0 problems")
    con.close()


def test_clean_directory_then_damaged_segment(tmp_path: Path) -> None:
    db = tmp_path / "db"
    _make(db)
    out = _cli(str(db))
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("ok: 0 problems")
    assert "55 live" in out.stdout
    seg = sorted(db.glob("segments/*/*.arrow"))[0]
    data = bytearray(seg.read_bytes())
    data[len(data) // 2] ^= 0xFF
    seg.write_bytes(bytes(data))
    out = _cli(str(db))
    assert out.returncode == 1
    assert f'problem: checksum mismatch in segment file "{seg}" at offset 0' in out.stdout
    with pytest.raises(DataCorrupted):
        vecgres.connect(str(db))


def test_tmp_files_are_reported_and_cleaned(tmp_path: Path) -> None:
    db = tmp_path / "db"
    _make(db)
    (db / "MANIFEST.tmp").write_bytes(b"half a manifest")
    out = _cli(str(db), "--clean")
    assert out.returncode == 0
    assert f'note: leftover temporary file "{db / "MANIFEST.tmp"}"' in out.stdout
    assert not (db / "MANIFEST.tmp").exists()


def test_in_use_directory_is_refused_offline(tmp_path: Path) -> None:
    db = tmp_path / "db"
    _make(db)
    con = vecgres.connect(str(db))
    try:
        out = _cli(str(db))
        assert out.returncode == 2
        assert "use SELECT vecgres_check() online" in out.stderr
    finally:
        con.close()


def test_registered_extra_checker_runs(tmp_path: Path) -> None:
    db = tmp_path / "db"
    _make(db)
    seen: list[int] = []

    def index_files(root: str, m: check.Manifest, report: check.Report) -> set[str]:
        seen.append(len(m.tables))
        report.problems.append("index file x is bad")
        return set()

    check.register("test-index", index_files)
    try:
        report = check.check_dir(str(db))
    finally:
        check._EXTRA.pop("test-index")
    assert len(seen) == 1  # called once, with the manifest
    assert report.problems == ["index file x is bad"]
