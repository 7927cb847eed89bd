"""statement_timeout for work inside DuckDB: a timer interrupts the running
query at the deadline (between batches the engine checks the deadline itself)."""

from __future__ import annotations

import threading
from collections.abc import Callable

TIMEOUT_MESSAGE = "canceling statement due to statement timeout"


class StatementTimer:
    """One per session. ``arm`` replaces the previous statement's timer;
    firing after the statement ended is harmless (an idle interrupt is a no-op)."""

    def __init__(self, interrupt: Callable[[str], None]) -> None:
        self._interrupt = interrupt
        self._timer: threading.Timer | None = None

    def arm(self, timeout_ms: int) -> None:
        self.disarm()
        if timeout_ms > 0:
            self._timer = threading.Timer(timeout_ms / 1000, self._interrupt, (TIMEOUT_MESSAGE,))
            self._timer.daemon = True
            self._timer.start()

    def disarm(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
