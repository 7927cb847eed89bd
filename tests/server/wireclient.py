"""Helpers for server tests: an in-process server on its own event-loop thread, a raw client."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from vecgres.config import Settings
from vecgres.server.server import Cluster, Server

HERE = Path(__file__).parent


class RunningServer:
    def __init__(self, server: Server, loop: asyncio.AbstractEventLoop, thread: threading.Thread):
        self.server = server
        self.loop = loop
        self.thread = thread
        self.host = "127.0.0.1"
        self.port = server.port

    def dsn(self, **extra: Any) -> str:
        parts = {
            "host": self.host,
            "port": self.port,
            "user": "postgres",
            "dbname": "postgres",
            "sslmode": "disable",
        }
        parts.update(extra)
        return " ".join(f"{k}={v}" for k, v in parts.items())

    def stop(self) -> None:
        """Close this server's raw test clients, then stop the server and its loop."""
        for client in [c for c in OPEN_CLIENTS if c.port == self.port]:
            OPEN_CLIENTS.remove(client)
            client.close()
        fut = asyncio.run_coroutine_threadsafe(self.server.stop(), self.loop)
        fut.result(15)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)


def start_server(tmp_path: Path, opener: Any = None, **kwargs: Any) -> RunningServer:
    settings = kwargs.pop("settings", None) or Settings(port=0, fsync=False, max_connections=20)
    cluster = (
        Cluster(tmp_path / "data", settings, opener)
        if opener
        else Cluster(tmp_path / "data", settings)
    )
    loop = asyncio.new_event_loop()
    server = Server(cluster, settings, **kwargs)
    ready = threading.Event()

    def run() -> None:
        asyncio.set_event_loop(loop)
        loop.run_until_complete(server.start("127.0.0.1", 0))
        ready.set()
        loop.run_forever()
        loop.close()

    thread = threading.Thread(target=run, daemon=True, name="vecgres-test-server")
    thread.start()
    assert ready.wait(10)
    return RunningServer(server, loop, thread)


@contextlib.contextmanager
def serving(tmp_path: Path, opener: Any = None, **kwargs: Any) -> Iterator[RunningServer]:
    """``start_server`` for a ``with`` block (or a fixture): always stopped at the end."""
    srv = start_server(tmp_path, opener, **kwargs)
    try:
        yield srv
    finally:
        srv.stop()


OPEN_CLIENTS: list[Raw] = []


class Raw:
    """A raw protocol client for byte-level tests (closed by the fixture at teardown)."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=5)
        self.buf = b""
        OPEN_CLIENTS.append(self)

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def startup(self, **params: str) -> list[tuple[str, bytes]]:
        params = {"user": "postgres", "database": "postgres", **params}
        body = (
            struct.pack(">i", 3 << 16)
            + b"".join(k.encode() + b"\0" + v.encode() + b"\0" for k, v in params.items())
            + b"\0"
        )
        self.send(struct.pack(">i", len(body) + 4) + body)
        return self.until("Z")

    def _recv(self) -> bool:
        try:
            data = self.sock.recv(65536)
        except (ConnectionError, TimeoutError):
            return False
        if not data:
            return False
        self.buf += data
        return True

    def message(self) -> tuple[str, bytes] | None:
        while len(self.buf) < 5 or len(self.buf) < 1 + struct.unpack(">i", self.buf[1:5])[0]:
            if not self._recv():
                return None
        size = 1 + struct.unpack(">i", self.buf[1:5])[0]
        kind, body = chr(self.buf[0]), self.buf[5:size]
        self.buf = self.buf[size:]
        return kind, body

    def until(self, kind: str) -> list[tuple[str, bytes]]:
        out = []
        while True:
            msg = self.message()
            if msg is None:
                return out
            out.append(msg)
            if msg[0] == kind:
                return out

    def closed(self) -> bool:
        self.sock.settimeout(5)
        return not self.buf and not self._recv()

    def close(self) -> None:
        self.sock.close()


def msg(kind: str, body: bytes = b"") -> bytes:
    return kind.encode() + struct.pack(">i", len(body) + 4) + body


def fields(body: bytes) -> dict[str, str]:
    out = {}
    for part in body.rstrip(b"\0").split(b"\0"):
        if part:
            out[chr(part[0])] = part[1:].decode()
    return out


def kinds(messages: list[tuple[str, bytes]]) -> str:
    return " ".join(k for k, _ in messages)
