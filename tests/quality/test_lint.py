"""The codebase's own rules, checked on every test run: ruff, the layering contract, mypy."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def _run(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, timeout=600)


def _tool(name: str) -> str:
    path = BIN / name
    if not path.exists():
        found = shutil.which(name)
        if found is None:
            pytest.fail(f"{name} is not installed (it is in the dev extra)")
        return found
    return str(path)


def test_ruff_check() -> None:
    proc = _run(_tool("ruff"), "check", "vecgres", "tests", "sqllogictest", "benchmarks")
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_ruff_format() -> None:
    proc = _run(
        _tool("ruff"), "format", "--check", "vecgres", "tests", "sqllogictest", "benchmarks"
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_layers_point_one_way() -> None:
    """DESIGN.md: server → engine → sql → planner → executor → storage | index → catalog."""
    proc = _run(_tool("lint-imports"))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Contracts: 1 kept, 0 broken" in proc.stdout


def test_mypy(tmp_path: Path) -> None:
    proc = _run(_tool("mypy"), "--cache-dir", str(tmp_path / "mypy"), "vecgres")
    assert proc.returncode == 0, proc.stdout + proc.stderr
