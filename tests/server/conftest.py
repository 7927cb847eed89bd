"""Fixtures: a vecgres server in-process on a free 127.0.0.1 port, always stopped."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

HERE = Path(__file__).parent
# the helper modules beside this file are imported by name (pytest runs in importlib mode)
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "reliability"))

# T5 (RELIABILITY.md): no commit acknowledged before the fsync of its WAL record
from t5_plugin import _t5_acks_follow_fsync  # noqa: E402, F401  (an autouse fixture)
from wireclient import RunningServer, serving  # noqa: E402


@pytest.fixture
def fake_server(tmp_path: Path) -> Iterator[RunningServer]:
    from fake_session import FakeDatabase

    with serving(tmp_path, opener=lambda path, settings: FakeDatabase()) as srv:
        yield srv


@pytest.fixture
def engine_server(tmp_path: Path) -> Iterator[RunningServer]:
    """The server over the real engine (vecgres.engine.Database)."""
    with serving(tmp_path) as srv:
        yield srv
