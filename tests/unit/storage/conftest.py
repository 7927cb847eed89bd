"""Storage unit tests: make the shared helpers (and, before the package is
installed, the repository) importable under --import-mode=importlib."""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

_HERE = Path(__file__).resolve().parent
if str(_HERE) not in sys.path:
    sys.path.insert(0, str(_HERE))
if importlib.util.find_spec("vecgres") is None:
    sys.path.insert(0, str(_HERE.parents[2]))

from vecgres.storage import fileio  # noqa: E402


@pytest.fixture(autouse=True)
def _clean_hooks() -> Iterator[None]:
    """Every test starts and ends with the file-operation hooks off."""
    fileio.reset_hooks()
    yield
    fileio.reset_hooks()
