"""The socket side of one connection: an ``asyncio.Protocol`` instead of StreamReader/Writer.

Received bytes go straight into ``inbuf`` (the connection parses in place);
before the connection's task is woken, ``on_data`` may answer what arrived
right there in the event loop's callback (the connection's fast lane for
statements that need no worker thread), which saves a task wake-up, a
future and a loop iteration per round trip. Writes go to the transport at
once; ``drain`` waits only while the transport says its buffer is full.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from collections.abc import Callable
from typing import Any, Final

# stop reading from the socket while this much received data waits to be parsed
READ_LIMIT: Final = 4 * 1024 * 1024


class ClientGone(Exception):
    """The peer closed the socket or a write failed: stop quietly."""


class WireStream(asyncio.Protocol):
    def __init__(self, on_connect: Callable[[WireStream], None]) -> None:
        self._on_connect = on_connect
        self.inbuf = bytearray()
        self.transport: asyncio.Transport | None = None
        # the fast lane: called after new data arrived; True means wake the task
        self.on_data: Callable[[], bool] | None = None
        self.eof = False
        self.lost = False
        self._reading_paused = False
        self._writing_paused = False
        self._waiter: asyncio.Future[None] | None = None
        self._drain_waiter: asyncio.Future[None] | None = None
        self._closed: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    # --- asyncio.Protocol ---------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        self._on_connect(self)

    def data_received(self, data: bytes) -> None:
        self.inbuf += data
        if len(self.inbuf) > READ_LIMIT and not self._reading_paused and self.transport:
            self._reading_paused = True
            self.transport.pause_reading()
        hook = self.on_data
        if hook is None or hook():
            self.wake()

    def eof_received(self) -> bool:
        self.eof = True
        self.wake()
        return False  # the transport closes itself

    def connection_lost(self, exc: Exception | None) -> None:
        self.eof = self.lost = True
        self.wake()
        waiter = self._drain_waiter
        if waiter is not None and not waiter.done():
            waiter.set_exception(ClientGone())
        if not self._closed.done():
            self._closed.set_result(None)

    def pause_writing(self) -> None:
        self._writing_paused = True

    def resume_writing(self) -> None:
        self._writing_paused = False
        waiter = self._drain_waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    # --- for the connection -------------------------------------------------------------------

    @property
    def writable(self) -> bool:
        """Whether a write now would not need ``drain`` (the fast lane writes only then)."""
        return not self._writing_paused and not self.lost

    def wake(self) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    async def wait_data(self) -> None:
        """Wait until more bytes arrived (or the fast lane asks the task to go on)."""
        if self.eof:
            raise ClientGone()
        if self._reading_paused and self.transport is not None:
            self._reading_paused = False
            self.transport.resume_reading()
        waiter = self._waiter = asyncio.get_running_loop().create_future()
        try:
            await waiter
        finally:
            self._waiter = None

    def write(self, data: bytes) -> None:
        if self.lost or self.transport is None:
            raise ClientGone()
        try:
            self.transport.write(data)
        # AttributeError: CPython 3.11's SSL transport, once closed, has no protocol
        # left to write through (sslproto ``_ssl_protocol`` is None)
        except (ConnectionError, RuntimeError, ssl.SSLError, AttributeError) as exc:
            raise ClientGone() from exc

    async def drain(self) -> None:
        if self.lost:
            raise ClientGone()
        if not self._writing_paused:
            return
        waiter = self._drain_waiter = asyncio.get_running_loop().create_future()
        try:
            await waiter
        finally:
            self._drain_waiter = None

    async def start_tls(self, context: ssl.SSLContext) -> None:
        assert self.transport is not None
        loop = asyncio.get_running_loop()
        try:
            transport = await loop.start_tls(self.transport, self, context, server_side=True)
        except (ConnectionError, ssl.SSLError, OSError) as exc:
            raise ClientGone() from exc
        if transport is None:
            raise ClientGone()
        self.transport = transport

    def peername(self) -> Any:
        return None if self.transport is None else self.transport.get_extra_info("peername")

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()

    async def wait_closed(self, timeout: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.shield(self._closed), timeout)
