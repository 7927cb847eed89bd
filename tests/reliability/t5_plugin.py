"""T5 on any test: no commit is acknowledged before an fsync of the WAL that covers it.

``AckWatch`` turns on the file layer's operation log and wraps ``Store.commit``:
each commit's window in the log runs from its call to its return (the
acknowledgement). Within it there must be a write to a WAL file of that store
followed by an fsync of the same file; a commit of a store whose settings turn
fsync or synchronous_commit off promises nothing and is not counted.

As a pytest plugin it watches every test of the run and fails the ones that
acknowledged early:

    PYTHONPATH=tests/reliability .venv/bin/pytest -p t5_plugin tests/integration tests/server

Servers in child processes (the crash suite) are outside its reach.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from types import TracebackType
from typing import Any

import pytest

from vecgres.storage import fileio
from vecgres.storage.store import Store


class AckWatch:
    def __init__(self) -> None:
        self.log: list[fileio.OpRecord] = []
        self.acks: list[tuple[int, int, str]] = []  # (log index at call, at return, wal dir)
        self._lock = threading.Lock()
        self._original = Store.commit

    def __enter__(self) -> AckWatch:
        fileio.HOOKS.oplog = self.log
        watch, original = self, self._original

        def commit(store: Store, batch: Any) -> int:
            hooks = fileio.HOOKS
            start = len(watch.log)
            lsn = original(store, batch)
            settings = store._settings
            # a test that swaps the hooks out stops the log: its commits cannot be judged
            watched = hooks is fileio.HOOKS and hooks.oplog is watch.log
            if watched and settings.fsync and settings.synchronous_commit:
                with watch._lock:
                    watch.acks.append((start, len(watch.log), str(store._root)))
            return lsn

        Store.commit = commit  # type: ignore[method-assign]
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        Store.commit = self._original  # type: ignore[method-assign]
        if fileio.HOOKS.oplog is self.log:
            fileio.HOOKS.oplog = None

    def early(self) -> list[int]:
        """Indexes (in ``acks``) of the acknowledgements with no covering fsync."""
        out = []
        for k, (start, end, root) in enumerate(self.acks):
            written: set[str] = set()
            covered = False
            for op, path, _offset, _n in self.log[start:end]:
                if not path.endswith(".wal") or not path.startswith(root + os.sep):
                    continue
                if op == "write":
                    written.add(path)
                elif op == "fsync" and path in written:
                    covered = True
                    break
            if not covered:
                out.append(k)
        return out


@pytest.fixture(autouse=True)
def _t5_acks_follow_fsync() -> Iterator[None]:
    with AckWatch() as watch:
        yield
    early = watch.early()
    assert not early, (
        f"T5: {len(early)} of {len(watch.acks)} commits acknowledged before "
        "the fsync of their WAL record"
    )
