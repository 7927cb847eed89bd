"""A fixture the ANN fast-path tests share (tests/integration and tests/server both
put this directory on ``sys.path``): ``fast_runs`` counts the statements the fast
path answered. A test module takes it with ``fast_runs = fastpath_spy.fast_runs``."""

from __future__ import annotations

import pytest

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
