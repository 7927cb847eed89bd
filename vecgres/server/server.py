"""The asyncio listener: accepts connections, owns the worker threads, TLS, auth config,
the backend-key registry for CancelRequest, and the ``Cluster`` of databases.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import functools
import hashlib
import hmac
import logging
import secrets
import shutil
import ssl
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from vecgres.config import Settings
from vecgres.errors import AdminShutdown, DuplicateDatabase, InvalidCatalogName, ObjectInUse
from vecgres.server.auth.hba import HbaRule, load_rules
from vecgres.server.auth.users import MemoryUserStore, UserStore
from vecgres.server.connection import Connection

if TYPE_CHECKING:
    from vecgres.server.session import SessionLike

log = logging.getLogger("vecgres.server")

T = TypeVar("T")

# worker threads beyond max_connections, for cancel/close work while every connection is busy
SPARE_WORKERS = 4


class DatabaseLike(Protocol):
    def session(self, user: str = ..., database: str = ...) -> Any: ...

    def close(self) -> None: ...


DatabaseOpener = Callable[[Path, Settings], DatabaseLike]


def _open_engine_database(path: Path, settings: Settings) -> DatabaseLike:
    from vecgres.engine import Database  # the engine is heavy; import when first needed

    return Database.open(path, settings)


class Cluster:
    """All databases of one data directory: ``<data>/<dbname>``, opened lazily.

    ``postgres`` is created on first start. CREATE/DROP DATABASE go through
    ``create_database``/``drop_database`` once the engine calls back (see the
    ``on_create_database`` hook the server hands each session's Database).
    """

    def __init__(
        self,
        data_dir: str | Path,
        settings: Settings,
        opener: DatabaseOpener = _open_engine_database,
    ) -> None:
        self.root = Path(data_dir)
        self.settings = settings
        self._opener = opener
        self._open: dict[str, DatabaseLike] = {}
        self._lock = threading.Lock()
        self.root.mkdir(parents=True, exist_ok=True)
        (self.root / "postgres").mkdir(exist_ok=True)

    @staticmethod
    def _valid_name(name: str) -> bool:
        return bool(name) and "/" not in name and "\x00" not in name and name not in (".", "..")

    def names(self) -> list[str]:
        return sorted(p.name for p in self.root.iterdir() if p.is_dir())

    def has_database(self, name: str) -> bool:
        return self._valid_name(name) and (self.root / name).is_dir()

    def database(self, name: str) -> DatabaseLike:
        with self._lock:
            db = self._open.get(name)
            if db is None:
                if not self.has_database(name):
                    raise InvalidCatalogName(f'database "{name}" does not exist')
                db = self._opener(self.root / name, self.settings)
                self._open[name] = db
            return db

    def session(self, database: str, user: str) -> SessionLike:
        session: SessionLike = self.database(database).session(user=user, database=database)
        return session

    def create_database(self, name: str) -> None:
        with self._lock:
            if not self._valid_name(name):
                raise InvalidCatalogName(f'invalid database name "{name}"')
            path = self.root / name
            if path.exists():
                raise DuplicateDatabase(f'database "{name}" already exists')
            path.mkdir()

    def drop_database(self, name: str, *, missing_ok: bool = False) -> None:
        with self._lock:
            if not self.has_database(name):
                if missing_ok:
                    return
                raise InvalidCatalogName(f'database "{name}" does not exist')
            if name in self._open:
                raise ObjectInUse(f'database "{name}" is being accessed by other users')
            shutil.rmtree(self.root / name)

    def close(self) -> None:
        with self._lock:
            for name, db in self._open.items():
                try:
                    db.close()
                except Exception:
                    log.exception("closing database %s failed", name)
            self._open.clear()


@dataclass(frozen=True, slots=True)
class TlsConfig:
    cert_file: str
    key_file: str


def make_ssl_context(tls: TlsConfig) -> tuple[ssl.SSLContext, bytes]:
    """Server context plus tls-server-end-point channel-binding data (SHA-256 of the cert)."""
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_cert_chain(tls.cert_file, tls.key_file)
    pem = Path(tls.cert_file).read_text()
    begin = pem.index("-----BEGIN CERTIFICATE-----")
    first = pem[begin : pem.index("-----END CERTIFICATE-----") + len("-----END CERTIFICATE-----")]
    der = ssl.PEM_cert_to_DER_cert(first)
    return ctx, hashlib.sha256(der).digest()


class Server:
    def __init__(
        self,
        cluster: Cluster,
        settings: Settings,
        *,
        tls: TlsConfig | None = None,
        hba_file: str | None = None,
        users: UserStore | None = None,
    ) -> None:
        self.cluster = cluster
        self.settings = settings
        self.hba_rules: list[HbaRule] = load_rules(hba_file)
        self.users: UserStore = users if users is not None else MemoryUserStore()
        self.ssl_context: ssl.SSLContext | None = None
        self.channel_binding: bytes | None = None
        if tls is not None:
            self.ssl_context, self.channel_binding = make_ssl_context(tls)
        self.executor = concurrent.futures.ThreadPoolExecutor(
            max_workers=settings.max_connections + SPARE_WORKERS, thread_name_prefix="vecgres-stmt"
        )
        self.connections: set[Connection] = set()
        self.backends: dict[int, Connection] = {}
        self.admitted: set[Connection] = set()
        self._next_pid = 1
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self.port = 0

    async def start(self, host: str | None = None, port: int | None = None) -> None:
        self._server = await asyncio.start_server(
            self._accept,
            host or self.settings.host,
            self.settings.port if port is None else port,
            reuse_address=True,
        )
        self.port = self._server.sockets[0].getsockname()[1]

    async def run_blocking(self, fn: Callable[..., T], *args: Any) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self.executor, functools.partial(fn, *args))

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        conn = Connection(self, reader, writer)
        self.connections.add(conn)
        task = asyncio.current_task()
        if task is not None:
            self._tasks.add(task)
        try:
            await conn.serve()
        finally:
            self.connections.discard(conn)
            if task is not None:
                self._tasks.discard(task)

    # --- registry ---------------------------------------------------------------------------

    def admit(self, conn: Connection) -> bool:
        """Count ``conn`` against max_connections (after its startup packet, as PostgreSQL)."""
        if len(self.admitted) >= self.settings.max_connections:
            return False
        self.admitted.add(conn)
        return True

    def register(self, conn: Connection) -> tuple[int, int]:
        pid = self._next_pid
        self._next_pid += 1
        secret = secrets.randbits(31)
        self.backends[pid] = conn
        return pid, secret

    def forget(self, conn: Connection) -> None:
        self.admitted.discard(conn)
        if self.backends.get(conn.pid) is conn:
            del self.backends[conn.pid]

    def cancel(self, pid: int, secret: int) -> None:
        conn = self.backends.get(pid)
        if conn is None or not hmac.compare_digest(
            secret.to_bytes(4, "big", signed=True), conn.secret.to_bytes(4, "big", signed=True)
        ):
            log.info("PID %d in cancel request did not match any process", pid)
            return
        if conn.session is not None:
            log.info("cancel request for backend %d", pid)
            conn.session.cancel()

    # --- shutdown ---------------------------------------------------------------------------

    async def stop(self) -> None:
        """Stop accepting, cancel running statements, tell clients, close the databases."""
        if self._server is not None:
            self._server.close()
        shutdown = AdminShutdown("terminating connection due to administrator command")
        for conn in list(self.connections):
            await conn.terminate(shutdown)
        if self._tasks:
            _, pending = await asyncio.wait(list(self._tasks), timeout=5.0)
            for task in pending:
                task.cancel()
            with contextlib.suppress(Exception):
                await asyncio.gather(*pending, return_exceptions=True)
        if self._server is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 2.0)
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(None, self.cluster.close)
        self.executor.shutdown(wait=False, cancel_futures=True)
