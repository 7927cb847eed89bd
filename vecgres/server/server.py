"""The asyncio listener: accepts connections, owns the worker threads, TLS, auth config,
the backend-key registry for CancelRequest, and the ``Cluster`` of databases.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import fcntl
import functools
import hashlib
import hmac
import logging
import os
import secrets
import shutil
import ssl
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from vecgres.admin import RoleOptions
from vecgres.config import Settings
from vecgres.errors import (
    AdminShutdown,
    DatabaseLocked,
    DuplicateDatabase,
    InvalidCatalogName,
    ObjectInUse,
)
from vecgres.server.auth import dbacl
from vecgres.server.auth.hba import HbaRule, load_rules
from vecgres.server.auth.roles import ChainedUserStore, RoleStore
from vecgres.server.auth.users import UserStore
from vecgres.server.connection import Connection
from vecgres.server.stream import WireStream

if TYPE_CHECKING:
    from vecgres.server.session import SessionLike

log = logging.getLogger("vecgres.server")

T = TypeVar("T")

# worker threads beyond max_connections, for cancel/close work while every connection is busy
SPARE_WORKERS = 4
# DROP DATABASE waits this long for the database's other sessions to end
DROP_WAIT_S = 5.0


class DatabaseLike(Protocol):
    def session(self, user: str = ..., database: str = ...) -> Any: ...

    def close(self) -> None: ...


DatabaseOpener = Callable[[Path, Settings], DatabaseLike]


def _open_engine_database(path: Path, settings: Settings) -> DatabaseLike:
    from vecgres.engine import Database  # the engine is heavy; import when first needed

    return Database.open(path, settings)


class Cluster:
    """All databases of one data directory: ``<data>/<dbname>``, opened lazily.

    ``postgres`` is created on first start. The cluster holds ``<data>/postmaster.pid``
    locked while it lives, so a second server on the same directory fails at
    once. It is the engine's ``ClusterHooks``: CREATE/DROP DATABASE and the
    role statements land here, and roles are kept in ``<data>/roles.json``.
    """

    drop_wait_s: float = DROP_WAIT_S

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
        self._sessions: dict[str, int] = {}  # live sessions per database
        self._lock = threading.Lock()
        self._released = threading.Condition(self._lock)
        self.root.mkdir(parents=True, exist_ok=True)
        self._pidfile: int | None = _lock_data_dir(self.root)
        (self.root / "postgres").mkdir(exist_ok=True)
        self.roles = RoleStore(self.root)
        self.mock_auth_nonce = _mock_auth_nonce(self.root)
        self.databases = dbacl.DatabaseAcls(self.root)
        # a --users file (set by Server): its users have no catalog role and act as the operator
        self.external_users: UserStore | None = None
        # the server's connections, for pg_stat_activity (set by Server)
        self.activity: Callable[[], list[dict[str, Any]]] | None = None

    @staticmethod
    def _valid_name(name: str) -> bool:
        return bool(name) and "/" not in name and "\x00" not in name and name not in (".", "..")

    def names(self) -> list[str]:
        return sorted(p.name for p in self.root.iterdir() if p.is_dir() and p.name[0] != ".")

    def has_database(self, name: str) -> bool:
        return self._valid_name(name) and (self.root / name).is_dir()

    def _database(self, name: str) -> DatabaseLike:
        db = self._open.get(name)
        if db is None:
            if not self.has_database(name):
                raise InvalidCatalogName(f'database "{name}" does not exist')
            db = self._opener(self.root / name, self.settings)
            if hasattr(db, "cluster"):
                db.cluster = self
            self._open[name] = db
        return db

    def database(self, name: str) -> DatabaseLike:
        with self._lock:
            return self._database(name)

    def session(self, database: str, user: str) -> SessionLike:
        """A new session; pair with ``release(database)`` when it closes."""
        self.check_connect(database, user)
        with self._lock:
            session: SessionLike = self._database(database).session(user=user, database=database)
            self._sessions[database] = self._sessions.get(database, 0) + 1
            return session

    def release(self, database: str) -> None:
        with self._lock:
            count = self._sessions.get(database, 0) - 1
            if count > 0:
                self._sessions[database] = count
            else:
                self._sessions.pop(database, None)
                self._released.notify_all()

    # --- ClusterHooks (vecgres.admin) -------------------------------------------------------

    def create_database(self, name: str, owner: str = dbacl.BOOTSTRAP_OWNER) -> None:
        with self._lock:
            if not self._valid_name(name):
                raise InvalidCatalogName(f'invalid database name "{name}"')
            path = self.root / name
            if path.exists():
                raise DuplicateDatabase(f'database "{name}" already exists')
            path.mkdir()
            _fsync_dir(self.root)
            self.databases.created(name, owner)

    def drop_database(self, name: str, *, missing_ok: bool = False, current: str = "") -> bool:
        with self._lock:
            if not self.has_database(name):
                if missing_ok:
                    return False
                raise InvalidCatalogName(f'database "{name}" does not exist')
            if name == current:
                raise ObjectInUse("cannot drop the currently open database")
            # PostgreSQL waits up to 5 s for the other sessions to go (CountOtherDBBackends)
            self._released.wait_for(lambda: not self._sessions.get(name), self.drop_wait_s)
            others = self._sessions.get(name, 0)
            if others:
                raise ObjectInUse(
                    f'database "{name}" is being accessed by other users',
                    detail=f"There {'is' if others == 1 else 'are'} {others} other "
                    f"session{'' if others == 1 else 's'} using the database.",
                )
            db = self._open.pop(name, None)
            if db is not None:
                db.close()
            # rename first so a crash mid-removal never leaves a half database behind
            doomed = self.root / f".dropped-{name}-{secrets.token_hex(4)}"
            (self.root / name).rename(doomed)
            _fsync_dir(self.root)
            shutil.rmtree(doomed, ignore_errors=True)
            self.databases.dropped(name)
            return True

    def create_role(self, name: str, options: RoleOptions) -> None:
        self.roles.create(name, options)

    def alter_role(self, name: str, options: RoleOptions) -> None:
        self.roles.alter(name, options)

    def drop_role(self, name: str, *, missing_ok: bool, current: str) -> bool:
        dropped = self.roles.drop(name, missing_ok=missing_ok, current=current)
        if dropped:
            self.databases.role_dropped(name)
        return dropped

    def role_attributes(self, name: str) -> dict[str, bool] | None:
        attrs = self.roles.attributes(name)
        external = self.external_users
        if attrs is None and external is not None and external.credentials(name) is not None:
            return {"superuser": True, "createdb": True, "createrole": True, "login": True}
        return attrs

    # --- membership and database privileges (vecgres.sql.grants) ------------------------------

    def role_names(self) -> list[str]:
        return self.roles.names()

    def role_catalog(self) -> list[dict[str, Any]]:
        return self.roles.catalog_rows()

    def privileges_of(self, name: str) -> set[str]:
        return self.roles.privileges_of(name)

    def is_member(self, name: str, group: str) -> bool:
        return self.roles.is_member(name, group)

    def grant_membership(self, group: str, member: str) -> bool:
        return self.roles.grant_membership(group, member)

    def revoke_membership(self, group: str, member: str) -> bool:
        return self.roles.revoke_membership(group, member)

    def database_owner(self, name: str) -> str:
        return self.databases.owner(name)

    def database_acl(self, name: str) -> dict[str, list[str]] | None:
        return self.databases.acl(name)

    def set_database_acl(self, name: str, acl: dict[str, list[str]]) -> None:
        self.databases.set_acl(name, acl)

    def set_database_owner(self, name: str, owner: str) -> None:
        self.databases.set_owner(name, owner)

    def database_mentions(self, role: str) -> list[tuple[str, str]]:
        return self.databases.mentions(role)

    def remote_dependencies(self, role: str, current: str) -> list[tuple[str, int]]:
        out: list[tuple[str, int]] = []
        for name in self.names():
            if name == current or not self.has_database(name):
                continue
            count = getattr(self.database(name), "role_dependencies", None)
            found = count(role) if count is not None else 0
            if found:
                out.append((name, found))
        return out

    def check_connect(self, database: str, user: str) -> None:
        """FATAL 42501 unless ``user`` may CONNECT to ``database`` (as CheckMyDatabase)."""
        attrs = self.role_attributes(user)
        if attrs is None or attrs.get("superuser") or not self.has_database(database):
            return  # a --users file's user is the operator's; a missing database fails later
        mine = self.roles.privileges_of(user)
        if self.databases.owner(database) in mine:
            return
        acl = self.databases.effective_acl(database)
        if any("CONNECT" in acl.get(r, ()) for r in (*mine, dbacl.PUBLIC)):
            return
        raise dbacl.InsufficientPrivilegeFatal(
            f'permission denied for database "{database}"',
            detail="User does not have CONNECT privilege.",
        )

    def close(self) -> None:
        with self._lock:
            for name, db in self._open.items():
                try:
                    db.close()
                except Exception:
                    log.exception("closing database %s failed", name)
            self._open.clear()
            if self._pidfile is not None:
                fcntl.flock(self._pidfile, fcntl.LOCK_UN)
                os.close(self._pidfile)
                self._pidfile = None


def _mock_auth_nonce(root: Path) -> bytes:
    """The cluster's secret for unknown users' fake SCRAM salts (PostgreSQL keeps
    its mock_authentication_nonce in pg_control): made once, kept across restarts."""
    path = root / "mock_auth_nonce"
    try:
        return path.read_bytes()
    except FileNotFoundError:
        pass
    nonce = secrets.token_bytes(32)
    tmp = path.with_suffix(".tmp")
    tmp.write_bytes(nonce)
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)
    return nonce


def _lock_data_dir(root: Path) -> int:
    """An exclusive flock on ``<data>/postmaster.pid`` holding our pid, or DatabaseLocked."""
    path = root / "postmaster.pid"
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        pid = os.pread(fd, 32, 0).decode("ascii", "replace").strip() or "unknown"
        os.close(fd)
        raise DatabaseLocked(
            f'data directory "{root}" is in use by another vecgres server (pid {pid})',
            hint="Stop that server first, or start this one with another --data directory.",
        ) from None
    os.ftruncate(fd, 0)
    os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
    return fd


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


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
        cluster.activity = self.activity
        cluster.external_users = users
        self.hba_rules: list[HbaRule] = load_rules(hba_file)
        # a --users file answers first, then the roles made with CREATE ROLE
        self.users: UserStore = (
            cluster.roles if users is None else ChainedUserStore(users, cluster.roles)
        )
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
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(
            lambda: WireStream(self._accept),
            host or self.settings.host,
            self.settings.port if port is None else port,
            reuse_address=True,
        )
        self.port = self._server.sockets[0].getsockname()[1]

    async def run_blocking(self, fn: Callable[..., T], *args: Any) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self.executor, functools.partial(fn, *args))

    def _accept(self, stream: WireStream) -> None:
        conn = Connection(self, stream)
        self.connections.add(conn)
        task = asyncio.get_running_loop().create_task(self._serve(conn))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _serve(self, conn: Connection) -> None:
        try:
            await conn.serve()
        finally:
            self.connections.discard(conn)

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
        if conn.session is not None:
            # pg_backend_pid() is the pid of BackendKeyData, as in PostgreSQL
            setattr(conn.session, "backend_pid", pid)  # noqa: B010
        return pid, secret

    def activity(self) -> list[dict[str, Any]]:
        """One row per connection past authentication, for pg_stat_activity."""
        rows: list[dict[str, Any]] = []
        for pid, conn in list(self.backends.items()):
            session = conn.session
            if session is None:
                continue
            status = session.transaction_status
            state = (
                "active"
                if conn.busy
                else {"T": "idle in transaction", "E": "idle in transaction (aborted)"}.get(
                    status, "idle"
                )
            )
            settings = getattr(session, "settings", None)
            app = ""
            if settings is not None:
                with contextlib.suppress(Exception):
                    app = settings.get("application_name")
            rows.append(
                {
                    "pid": pid,
                    "datname": conn.database,
                    "usename": conn.user,
                    "application_name": app,
                    "client_addr": conn.address,
                    "state": state,
                    "backend_start": conn.backend_start,
                    "query": conn.query,
                    "query_start": conn.query_start,
                }
            )
        return rows

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

    @staticmethod
    def shutdown_error() -> AdminShutdown:
        return AdminShutdown("terminating connection due to administrator command")

    async def stop(self) -> None:
        """Stop accepting, cancel running statements, tell clients, close the databases."""
        if self._server is not None:
            self._server.close()
        shutdown = self.shutdown_error()
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
