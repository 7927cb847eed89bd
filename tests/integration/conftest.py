"""T5 (RELIABILITY.md) on every integration test: no commit is acknowledged before the
fsync of its WAL record. Helper modules beside this file are imported by name."""

import sys
from pathlib import Path

import pytest

import vecgres

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "reliability"))

from t5_plugin import _t5_acks_follow_fsync  # noqa: F401  (an autouse fixture)


@pytest.fixture
def cur(tmp_path):
    """An autocommit cursor on a fresh database (a module's own ``cur`` overrides it)."""
    con = vecgres.connect(str(tmp_path / "db"), fsync=False)
    con.autocommit = True
    yield con.cursor()
    con.close()
