"""Fixtures the ANN fast-path tests share (tests/integration and tests/server both
put this directory on ``sys.path``): ``fast_runs`` counts the statements the fast
path answered, ``fanouts`` those that searched their segments side by side. A test
module takes one with ``fast_runs = fastpath_spy.fast_runs``."""

from __future__ import annotations

import pytest

from vecgres.executor import ann_fast
from vecgres.sql import fastpath_ann


@pytest.fixture
def fast_runs(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """How many statements the fast path answered (a server under test runs in this
    process, so its statements count too)."""
    count = [0]
    run = fastpath_ann.FastTopK.run

    def counting(self, session, params, snap):  # type: ignore[no-untyped-def]
        result = run(self, session, params, snap)
        count[0] += result is not None
        return result

    monkeypatch.setattr(fastpath_ann.FastTopK, "run", counting)
    return count


@pytest.fixture
def fanouts(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """How many statements searched their segments side by side (executor/ann_fast.py;
    a server under test runs in this process)."""
    count = [0]
    ahead = ann_fast._search_ahead

    def counting(*args, **kwargs):  # type: ignore[no-untyped-def]
        found = ahead(*args, **kwargs)
        count[0] += bool(found)
        return found

    monkeypatch.setattr(ann_fast, "_search_ahead", counting)
    return count
