"""Crash suites share the reliability harness (ledger, workload)."""

from __future__ import annotations

import sys
from pathlib import Path

_HARNESS = Path(__file__).resolve().parents[1] / "reliability"
if str(_HARNESS) not in sys.path:
    sys.path.insert(0, str(_HARNESS))
