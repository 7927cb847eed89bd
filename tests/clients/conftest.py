"""Fixtures: a vecgres server (the real engine) on a free 127.0.0.1 port, always stopped."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent.parent / "server"))
sys.path.insert(0, str(Path(__file__).parent))

from wireclient import OPEN_CLIENTS, RunningServer, start_server


@pytest.fixture
def server(tmp_path: Path) -> Iterator[RunningServer]:
    srv = start_server(tmp_path)
    try:
        yield srv
    finally:
        while OPEN_CLIENTS:
            OPEN_CLIENTS.pop().close()
        srv.stop()
