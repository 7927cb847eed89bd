"""Reliability suites: make harness.py importable; every test starts with the file hooks off."""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

_HERE = Path(__file__).resolve().parent
if str(_HERE) not in sys.path:
    sys.path.insert(0, str(_HERE))

from vecgres.storage import fileio  # noqa: E402


@pytest.fixture(autouse=True)
def _clean_hooks() -> Iterator[None]:
    fileio.reset_hooks()
    yield
    fileio.reset_hooks()


@pytest.fixture
def scratch(tmp_path: Path) -> Iterator[Path]:
    """A RAM-backed directory (/dev/shm) when there is one, else tmp_path:
    suites that create and open thousands of data directories are otherwise
    dominated by file-system metadata syncs. Removed afterwards."""
    shm = Path("/dev/shm")
    if not (shm.is_dir() and os.access(shm, os.W_OK)):
        yield tmp_path
        return
    path = Path(tempfile.mkdtemp(prefix="vecgres-rel-", dir=shm))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)
