"""Reliability suites: make harness.py importable; every test starts with the file hooks off."""

from __future__ import annotations

import sys
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
