"""T7 (live socket): random and mutated protocol byte streams against a
server on 127.0.0.1 that the test starts and stops. After the cases a fresh
psycopg connection still answers SELECT 1, every case's connection ends (the
server closes or answers), and the server's memory stays bounded. Named
cases from RELIABILITY.md check the exact answers."""

from __future__ import annotations

import random
import socket
import struct
import sys
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from harness import figures, scaled

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "server"))
from wireclient import Raw, RunningServer, fields, msg, serving

from vecgres.config import Settings


@pytest.fixture
def server(tmp_path: Path) -> Iterator[RunningServer]:
    with serving(
        tmp_path,
        # a login is ~50 ms idle, but seconds on a loaded 2-core machine (a DuckDB database
        # and its UDFs per session): the timeout ends stalled fuzz logins, not slow ones
        settings=Settings(port=0, fsync=False, max_connections=50, authentication_timeout_s=10.0),
    ) as srv:
        yield srv


def _startup(**params: str) -> bytes:
    params = {"user": "postgres", "database": "postgres", **params}
    body = (
        struct.pack(">i", 3 << 16)
        + b"".join(k.encode() + b"\0" + v.encode() + b"\0" for k, v in params.items())
        + b"\0"
    )
    return struct.pack(">i", len(body) + 4) + body


def _bind(portal: bytes, stmt: bytes, params: list[bytes | None], fmt: int = 0) -> bytes:
    body = (
        portal + b"\0" + stmt + b"\0" + struct.pack(">hh", 1, fmt) + struct.pack(">h", len(params))
    )
    for p in params:
        body += struct.pack(">i", -1) if p is None else struct.pack(">i", len(p)) + p
    return msg("B", body + struct.pack(">h", 0))


SEEDS: list[bytes] = [
    msg("Q", b"SELECT 1\0"),
    msg("Q", b"SELECT '[1,2,3]'::vector <-> '[3,2,1]'\0"),
    msg("P", b"s1\0SELECT $1::int + 1\0" + struct.pack(">hi", 1, 23))
    + _bind(b"", b"s1", [b"41"])
    + msg("E", b"\0" + struct.pack(">i", 0))
    + msg("S"),
    msg("P", b"\0SELECT 1\0\0\0") + msg("D", b"S\0") + msg("H") + msg("S"),
    msg("C", b"Ss1\0") + msg("S"),
    msg("d", b"junk") + msg("c") + msg("f", b"x\0"),
    msg("X"),
]


def _mutate(rng: random.Random, data: bytes) -> bytes:
    b = bytearray(data)
    for _ in range(rng.randint(1, 4)):
        op = rng.randrange(6)
        if op == 0 and b:
            b[rng.randrange(len(b))] = rng.randrange(256)
        elif op == 1 and b:
            del b[rng.randrange(len(b)) :]
        elif op == 2:
            pos = rng.randrange(len(b) + 1)
            b[pos:pos] = rng.randbytes(rng.randint(1, 16))
        elif op == 3 and len(b) >= 5:
            # a length field: 0, tiny, exact±1, huge, negative
            pos = rng.randrange(len(b) - 4)
            value = rng.choice([0, 1, 3, 4, 5, 2**31 - 1, -1, -(2**31), rng.randrange(2**20)])
            b[pos : pos + 4] = struct.pack(">i", value)
        elif op == 4:
            b += rng.choice(SEEDS)
        else:
            b = bytearray(rng.randbytes(rng.randint(0, 64)))
    return bytes(b)


def _rss_kb() -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def _drain(sock: socket.socket) -> bool:
    """Read until the server closes or goes quiet; False if it neither answered nor closed."""
    sock.settimeout(3)
    got = False
    try:
        while True:
            data = sock.recv(65536)
            if not data:
                return True
            got = True
    except TimeoutError:
        return got
    except ConnectionError:
        return True


def test_live_socket_fuzz(server: RunningServer) -> None:
    rng = random.Random(2024)
    cases = scaled(150)
    silent = unavailable = 0
    with psycopg.connect(server.dsn(), autocommit=True) as c:
        c.execute("SELECT 1")
    rss_before = _rss_kb()
    for k in range(cases):
        sock = socket.create_connection(("127.0.0.1", server.port), timeout=5)
        try:
            if k % 3 == 0:
                payload = _mutate(rng, _startup())  # the startup packet itself
            else:
                payload = _startup() + b"".join(
                    _mutate(rng, rng.choice(SEEDS)) for _ in range(rng.randint(1, 3))
                )
            try:
                sock.sendall(payload)
                sock.shutdown(socket.SHUT_WR)
            except OSError:
                pass
            silent += not _drain(sock)
        finally:
            sock.close()
        if k % 25 == 24:
            try:
                with psycopg.connect(server.dsn(), autocommit=True, connect_timeout=5) as c:
                    assert c.execute("SELECT 1").fetchone() == (1,)
            except psycopg.Error:
                unavailable += 1
    with psycopg.connect(server.dsn(), autocommit=True) as c:
        assert c.execute("SELECT 1").fetchone() == (1,)
    growth = _rss_kb() / max(1, rss_before)
    figures(
        "fuzz.socket",
        cases=cases,
        server_unavailable=unavailable,
        silent_connections=silent,
        rss_growth_ratio=round(growth, 2),
    )
    assert unavailable == 0
    assert growth < 1.5


def _closed(raw: Raw) -> bool:
    """The server closed the socket (a silent open socket is not closed)."""
    if raw.buf:
        return False
    raw.sock.settimeout(3)
    try:
        return raw.sock.recv(1) == b""
    except TimeoutError:
        return False
    except ConnectionError:
        return True


def _error(raw: Raw) -> dict[str, str]:
    for kind, body in raw.until("Z") or []:
        if kind == "E":
            return fields(body)
    return {}


def test_named_cases(server: RunningServer) -> None:
    port = server.port
    # startup packet over the limit: closed at once (PostgreSQL only logs it,
    # COMMERROR; an answer, if any, is 08P01)
    raw = Raw(port)
    raw.sock.settimeout(1.0)  # quicker than any authentication timeout
    raw.send(struct.pack(">ii", 10_001, 3 << 16) + b"\0" * 10)
    first = raw.message()
    if first is not None:
        assert fields(first[1])["C"] == "08P01"
    assert _closed(raw)
    # exactly at the limit it is a startup packet like any other
    raw = Raw(port)
    body = (
        struct.pack(">i", 3 << 16)
        + b"user\0postgres\0application_name\0"
        + b"y" * (10_000 - 41)
        + b"\0\0"
    )
    raw.send(struct.pack(">i", len(body) + 4) + body)
    assert len(body) + 4 == 10_000
    reply = raw.until("Z")
    assert [k for k, _b in reply][-1] == "Z", reply[:2]
    # repeated SSLRequest: 'N' then a second one is a protocol violation or another 'N'
    raw = Raw(port)
    ssl = struct.pack(">ii", 8, 80877103)
    raw.send(ssl)
    raw.sock.settimeout(5)
    assert raw.sock.recv(1) == b"N"
    raw.send(ssl)
    reply = raw.sock.recv(1)
    assert reply in (b"N", b"E", b"")
    # CancelRequest with a wrong key cancels nothing; the server stays up
    raw = Raw(port)
    raw.send(struct.pack(">iiii", 16, 80877102, 12345, 67890))
    assert _closed(raw)
    # Bind before Parse, then Execute of an unknown portal: errors, then the session works
    raw = Raw(port)
    raw.startup()
    raw.send(_bind(b"", b"nope", []) + msg("S"))
    err = _error(raw)
    assert err["C"] == "26000"
    raw.send(msg("E", b"ghost\0" + struct.pack(">i", 0)) + msg("S"))
    assert _error(raw)["C"] == "34000"
    # an error inside a pipeline skips the rest until Sync
    raw.send(
        msg("Q", b"SELECT 1/0\0")  # simple query: its own error
    )
    assert _error(raw)["C"] == "22012"
    raw.send(
        msg("P", b"\0SELECT 1/0\0\0\0")
        + _bind(b"", b"", [])
        + msg("E", b"\0" + struct.pack(">i", 0))
        + msg("P", b"\0SELECT 2\0\0\0")
        + msg("S")
    )
    out = raw.until("Z")
    kinds = [k for k, _b in out]
    assert kinds.count("E") == 1
    assert "D" not in kinds  # SELECT 2 was skipped
    raw.send(msg("Q", b"SELECT 7\0"))
    rows = [b for k, b in raw.until("Z") if k == "D"]
    assert rows
    assert rows[0].endswith(b"7")
    # a message over the 16 MiB limit: closed at once, nothing allocated
    # (PostgreSQL logs "invalid message length" and exits; an answer is 08P01)
    raw.sock.settimeout(1.0)
    raw.send(b"Q" + struct.pack(">i", 16 * 1024 * 1024 + 100))
    first = raw.message()
    if first is not None:
        assert fields(first[1])["C"] == "08P01"
    assert _closed(raw)
    with psycopg.connect(server.dsn(), autocommit=True) as c:
        assert c.execute("SELECT 1").fetchone() == (1,)
