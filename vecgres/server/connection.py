"""One client connection: startup, authentication, then the simple/extended query loop.

Statements run in the server's worker threads (one at a time per
connection), so a slow query never stalls the event loop; each result batch is
encoded in the worker too, then written with ``drain()`` back-pressure. Output
is buffered and flushed where PostgreSQL flushes: ReadyForQuery, Flush, COPY
handshakes, large buffers and authentication steps.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import logging
import secrets
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final, TypeVar

import pyarrow as pa

from vecgres.codec.binary import decode_binary, encode_binary_column
from vecgres.codec.text import encode_text_column
from vecgres.codec.textarrow import text_cells
from vecgres.config import GUCS
from vecgres.errors import (
    FeatureNotSupported,
    IdleInTransactionSessionTimeout,
    IndeterminateDatatype,
    InternalError,
    InvalidAuthorizationSpecification,
    InvalidBinaryRepresentation,
    InvalidCursorName,
    InvalidPassword,
    ProtocolViolation,
    QueryCanceled,
    Severity,
    TooManyConnections,
    VecgresError,
)
from vecgres.server import datarows, fastrows
from vecgres.server import protocol as pq
from vecgres.server.auth.hba import choose_method
from vecgres.server.auth.scram import (
    MECHANISM,
    MECHANISM_PLUS,
    ScramExchange,
    Verifier,
    decode_message,
    mock_salt,
)
from vecgres.server.errors import (
    DuplicateCursor,
    DuplicatePreparedStatement,
    FeatureNotSupportedFatal,
    InvalidCatalogNameFatal,
    InvalidParameterValueFatal,
    InvalidSqlStatementName,
    UnrecognizedParameter,
    error_fields,
    notice_fields,
)
from vecgres.server.stream import ClientGone, WireStream
from vecgres.sql import pgcatalog, prepared_sql
from vecgres.sql.intinput import INTEGER_OIDS, parse_integer
from vecgres.types import SqlType, by_oid

if TYPE_CHECKING:
    from vecgres.result import ColumnInfo, CopyRequest, Result
    from vecgres.server.server import Server
    from vecgres.server.session import PreparedLike, SessionLike

log = logging.getLogger("vecgres.server")

T = TypeVar("T")

# flush the output buffer once it holds this much, even mid-result
FLUSH_BYTES: Final = 256 * 1024
READ_CHUNK: Final = 256 * 1024
# COPY FROM STDIN hands at most about this much received data to a worker at once
COPY_BATCH: Final = 1024 * 1024
# batches of at least this many rows are encoded by Arrow kernels (datarows), smaller ones
# value by value, which costs less for a handful of rows
ARROW_ROWS: Final = 64

# PostgreSQL's order of ParameterStatus messages after AuthenticationOk (WIRE.md 2.1)
STARTUP_REPORTED: Final = (
    "application_name",
    "client_encoding",
    "DateStyle",
    "default_transaction_read_only",
    "in_hot_standby",
    "integer_datetimes",
    "IntervalStyle",
    "is_superuser",
    "server_encoding",
    "server_version",
    "session_authorization",
    "standard_conforming_strings",
    "TimeZone",
)
_GUC_NAMES: Final = {name.lower(): name for name in GUCS}
# startup keys that are not settings
_STARTUP_KEYS: Final = frozenset({"user", "database", "options", "replication"})
_UTF8_NAMES: Final = frozenset({"utf8", "utf-8", "unicode"})
# message type bytes the main loop tells apart
_B, _C, _D, _E, _H, _Q, _S, _X = b"BCDEHQSX"
# constant backend messages, built once
_BIND_COMPLETE: Final = pq.bind_complete()
_CLOSE_COMPLETE: Final = pq.close_complete()
_EMPTY_QUERY: Final = pq.empty_query_response()
_PORTAL_SUSPENDED: Final = pq.portal_suspended()


class _Done(Exception):
    pass


@dataclass(slots=True)
class Statement:
    """A prepared statement as the wire sees it (the empty query has no engine statement)."""

    sql: str
    prepared: PreparedLike | None
    param_oids: list[int]
    # RowDescription messages by result formats (Describe of each Bind's portal)
    descriptions: dict[tuple[int, ...], tuple[object, bytes]] = field(default_factory=dict)

    @property
    def columns(self) -> Sequence[ColumnInfo] | None:
        return None if self.prepared is None else self.prepared.columns


@dataclass(slots=True)
class Portal:
    statement: Statement
    params: list[object]
    formats: list[int]  # one per result column
    result: Result | None = None
    batches: Iterator[pa.RecordBatch] | None = None
    pending: pa.RecordBatch | None = None
    done: bool = False
    rows_sent: int = 0

    def close(self) -> None:
        if self.result is not None:
            self.result.close()


def _result_formats(codes: Sequence[int], ncols: int) -> list[int]:
    for code in codes:
        if code not in (0, 1):
            raise pq.MessageFormatError(f"unsupported format code: {code}")
    if not codes:
        return [0] * ncols
    if len(codes) == 1:
        return [codes[0]] * ncols
    if len(codes) != ncols:
        raise pq.MessageFormatError(
            f"bind message has {len(codes)} result formats but query has {ncols} columns"
        )
    return list(codes)


def type_size(t: SqlType) -> int:
    return t.typlen


def field_descriptions(
    columns: Sequence[ColumnInfo], formats: Sequence[int]
) -> list[pq.FieldDescription]:
    return [
        pq.FieldDescription(
            c.name,
            c.table_oid,
            c.column_number,
            c.type.oid,
            type_size(c.type),
            -1 if c.type.name == "record" else c.type.typmod,  # a row type's typmod names it
            f,
        )
        for c, f in zip(columns, formats, strict=True)
    ]


# the DataRows of a few recent small batches by batch identity: a constant result (fastpath)
# hands back the same immutable batch at every run, so it is encoded once
_ENCODED: dict[int, tuple[pa.RecordBatch, tuple[object, ...], bytes]] = {}
_ENCODED_MAX: Final = 64
_ENCODED_ROWS: Final = 4
_ENCODED_LOCK = threading.Lock()


def encode_rows(
    batch: pa.RecordBatch, columns: Sequence[ColumnInfo], formats: Sequence[int]
) -> bytes:
    """DataRow messages for one batch (runs in a worker thread or, when cheap, the loop)."""
    if batch.num_rows > _ENCODED_ROWS:
        return _encode_rows(batch, columns, formats)
    key = (*formats, *(c.type for c in columns))
    hit = _ENCODED.get(id(batch))
    if hit is not None and hit[0] is batch and hit[1] == key:
        return hit[2]
    data = _encode_rows(batch, columns, formats)
    with _ENCODED_LOCK:
        while len(_ENCODED) >= _ENCODED_MAX:
            del _ENCODED[next(iter(_ENCODED))]
        _ENCODED[id(batch)] = (batch, key, data)
    return data


def _encode_rows(
    batch: pa.RecordBatch, columns: Sequence[ColumnInfo], formats: Sequence[int]
) -> bytes:
    quick = fastrows.data_rows(batch, columns, formats)
    if quick is not None:
        return quick
    if batch.num_rows >= ARROW_ROWS and columns:
        arrays = [
            text_cells(batch.column(i), col.type)
            if not fmt
            else pa.array(encode_binary_column(batch.column(i), col.type), pa.binary())
            for i, (col, fmt) in enumerate(zip(columns, formats, strict=True))
        ]
        return datarows.data_rows(arrays, batch.num_rows)
    cells = [
        (encode_binary_column if fmt else encode_text_column)(batch.column(i), col.type)
        for i, (col, fmt) in enumerate(zip(columns, formats, strict=True))
    ]
    if not cells:
        return (
            pq.data_rows([])
            if batch.num_rows == 0
            else b"".join(pq.data_row([]) for _ in range(batch.num_rows))
        )
    return pq.data_rows(cells)


class Connection:
    def __init__(self, server: Server, stream: WireStream) -> None:
        self.server = server
        self.settings = server.settings
        self.stream = stream
        self.inbuf = stream.inbuf
        self.out = bytearray()
        self.pid = 0
        self.secret = 0
        self.session: SessionLike | None = None
        self.user = ""
        self.database = ""
        self.ssl = False
        self.statements: dict[str, Statement] = {}
        self.portals: dict[str, Portal] = {}
        self.ignore_till_sync = False
        self.busy = False
        # for pg_stat_activity: the connection's start, its latest statement and when it began
        self.backend_start = time.time()
        self.query = ""
        self.query_start: float | None = None
        self.closing = False
        self.waiting = False  # ReadyForQuery sent, no message read since
        # the fast lane (_pump): the task is parked waiting for a message; a message it
        # took but left to the task; what it raised that ends the connection
        self._parked = False
        self._held: tuple[int, bytes] | None = None
        self._fatal: BaseException | None = None
        # the session's "answered without DuckDB" hooks (looked up once per session)
        self._inline: Callable[[PreparedLike, Sequence[object]], Result | None] | None = None
        self._inline_script: Callable[[str], bool] | None = None
        # messages handled without a worker thread or a wait, by type byte
        self._now: dict[int, Callable[[bytes], bool]] = {
            _B: self._bind_now,
            _D: self._describe_now,
            _E: self._execute_now,
            _S: self._sync_now,
            _C: self._close_now,
            _H: self._flush_now,
            _Q: self._query_now,
        }
        peer = stream.peername()
        self.address: str | None = peer[0] if isinstance(peer, tuple) else None

    # --- I/O --------------------------------------------------------------------------------

    async def _fill(self) -> None:
        await self.stream.wait_data()

    def send(self, data: bytes) -> None:
        self.out += data

    def _write_out(self) -> None:
        """Hand the output buffer to the transport (no waiting: see ``flush``)."""
        if self.out:
            data = bytes(self.out)
            self.out.clear()
            self.stream.write(data)

    async def flush(self) -> None:
        self._write_out()
        await self.stream.drain()

    async def _maybe_flush(self) -> None:
        if len(self.out) >= FLUSH_BYTES:
            await self.flush()

    def _frame(self) -> tuple[int, bytes] | None:
        """The next whole message (type byte, body) taken from the input, None if incomplete."""
        if self._fatal is not None:
            exc, self._fatal = self._fatal, None
            raise exc
        held = self._held
        if held is not None:
            self._held = None
            return held
        buf = self.inbuf
        size = pq.message_size(buf, self.settings)
        if size is None or len(buf) < size:
            return None
        kind, body = buf[0], bytes(buf[5:size])
        del buf[:size]
        return kind, body

    async def read_frame(self) -> tuple[int, bytes]:
        """The type byte and body of the next message (framing checked, body not parsed)."""
        while True:
            frame = self._frame()
            if frame is not None:
                return frame
            await self._fill()

    async def read_message(self) -> pq.FrontendMessage:
        kind, body = await self.read_frame()
        return pq.parse_body(kind, body)

    async def run_blocking(self, fn: Callable[..., T], *args: Any) -> T:
        return await self.server.run_blocking(fn, *args)

    # --- lifecycle --------------------------------------------------------------------------

    async def serve(self) -> None:
        try:
            try:
                started = await self._startup()
            except TimeoutError:
                # authentication_timeout: PostgreSQL ends the backend and tells only its
                # log (FATAL 57014 "canceling authentication due to timeout")
                log.info("canceling authentication due to timeout: %s", self.address)
                return
            if not started:
                return
            self._inline = getattr(self.session, "execute_inline", None)
            self._inline_script = getattr(self.session, "runs_inline_script", None)
            self.stream.on_data = self._pump
            await self._loop()
            if self.closing:
                # shutdown interrupted a running statement: the client hears why, as in PostgreSQL
                self.send(pq.error_response(error_fields(self.server.shutdown_error())))
                await self.flush()
        except ClientGone:
            pass
        except pq.FramingError as exc:
            log.info("closing connection from %s: %s", self.address, exc.message)
        except VecgresError as exc:
            if exc.severity in (Severity.FATAL, Severity.PANIC):
                self.send(pq.error_response(error_fields(exc)))
            else:
                self.send(pq.error_response(error_fields(exc, severity=Severity.FATAL)))
            with contextlib.suppress(ClientGone):
                await self.flush()
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            self.send(pq.error_response(error_fields(exc, severity=Severity.FATAL)))
            with contextlib.suppress(ClientGone):
                await self.flush()
        finally:
            self.stream.on_data = None
            await self._cleanup()

    async def _cleanup(self) -> None:
        for portal in self.portals.values():
            portal.close()
        self.portals.clear()
        if self.session is not None:
            session, self.session = self.session, None
            if session.transaction_status != "I":
                log.info("unexpected EOF on client connection with an open transaction")
            with contextlib.suppress(Exception):
                await self.run_blocking(session.close)
            self.server.cluster.release(self.database)
        self.server.forget(self)
        with contextlib.suppress(Exception):
            self.stream.close()
            await self.stream.wait_closed(1.0)

    async def terminate(self, exc: VecgresError) -> None:
        """Server shutdown: cancel the running statement, tell an idle client, and close."""
        self.closing = True
        if self.session is not None:
            self.session.cancel()
        if not self.busy:
            self.send(pq.error_response(error_fields(exc)))
            with contextlib.suppress(ClientGone):
                await self.flush()
            with contextlib.suppress(Exception):
                self.stream.close()

    # --- startup ----------------------------------------------------------------------------

    async def _read_startup(self) -> pq.StartupPacket:
        while True:
            parsed = pq.read_startup(self.inbuf, self.settings)
            if parsed is not None:
                packet, size = parsed
                del self.inbuf[:size]
                return packet
            if self.inbuf[:1] == b"\x16" and not self.ssl:
                raise pq.FramingError("direct TLS connections are not supported")
            await self._fill()

    async def _startup(self) -> bool:
        async with asyncio.timeout(self.settings.authentication_timeout_s):
            packet = await self._read_startup()
            while isinstance(packet, pq.SSLRequest | pq.GSSENCRequest):
                if isinstance(packet, pq.SSLRequest) and self.server.ssl_context and not self.ssl:
                    if self.inbuf:
                        # bytes sent before the handshake could be injected (CVE-2021-23214)
                        raise pq.FramingError("received unencrypted data after SSL request")
                    self.stream.write(b"S")
                    await self.stream.start_tls(self.server.ssl_context)
                    self.ssl = True
                else:
                    self.stream.write(b"N")
                    await self.stream.drain()
                packet = await self._read_startup()
            if isinstance(packet, pq.CancelRequest):
                self.server.cancel(packet.pid, packet.secret)
                return False
            assert isinstance(packet, pq.StartupMessage)
            await self._handle_startup(packet)
        return True

    async def _handle_startup(self, packet: pq.StartupMessage) -> None:
        if packet.major != 3:
            raise FeatureNotSupportedFatal(
                f"unsupported frontend protocol {packet.major}.{packet.minor}: "
                "server supports 3.0 to 3.0"
            )
        params = dict(packet.params)
        unknown_pq = sorted(k for k in params if k.startswith("_pq_."))
        if packet.minor > 0 or unknown_pq:
            self.send(pq.negotiate_protocol_version(0, unknown_pq))
        user = params.get("user", "")
        if not user:
            raise InvalidAuthorizationSpecification(
                "no PostgreSQL user name specified in startup packet"
            )
        self.user = user
        self.database = params.get("database") or user
        settings = self._startup_settings(params)
        if not self.server.admit(self):
            raise TooManyConnections("sorry, too many clients already")
        await self._authenticate()
        role = self.server.cluster.roles.get(self.user)
        if role is None and self.server.users.credentials(self.user) is None:
            raise InvalidAuthorizationSpecification(f'role "{self.user}" does not exist')
        if role is not None and not role.login:
            raise InvalidAuthorizationSpecification(
                f'role "{self.user}" is not permitted to log in'
            )
        if not self.server.cluster.has_database(self.database):
            raise InvalidCatalogNameFatal(f'database "{self.database}" does not exist')
        self.session = await self.run_blocking(
            self.server.cluster.session, self.database, self.user
        )
        prepared_sql.attach_protocol(self.session, self.statements)  # EXECUTE runs them too
        reported = {name: GUCS[name].default for name in STARTUP_REPORTED}
        reported["session_authorization"] = self.user
        for name, value in settings.items():
            if name == "client_encoding":
                continue
            result = await self.run_blocking(
                self.session.execute, f"SET {name} TO {_literal(value)}"
            )
            await self.run_blocking(_drain_result, result)
            if name in reported:
                reported[name] = result.parameter_changes.get(name, value)
        self.pid, self.secret = self.server.register(self)
        self.send(pq.authentication_ok())
        for name in STARTUP_REPORTED:
            self.send(pq.parameter_status(name, reported[name]))
        self.send(pq.backend_key_data(self.pid, self.secret))
        self._ready()
        await self.flush()
        log.info(
            "connection authorized: user=%s database=%s ssl=%s", self.user, self.database, self.ssl
        )

    def _startup_settings(self, params: dict[str, str]) -> dict[str, str]:
        settings: dict[str, str] = {}
        pairs = [(k, v) for k, v in params.items() if k not in _STARTUP_KEYS]
        pairs += _parse_options(params.get("options", ""))
        for key, raw in pairs:
            if key.startswith("_pq_."):
                continue
            name = _GUC_NAMES.get(key.lower())
            if name is None:
                raise UnrecognizedParameter(f'unrecognized configuration parameter "{key}"')
            value = raw.strip()
            if len(value) >= 2 and value[0] == value[-1] == "'":
                value = value[1:-1]  # asyncpg sends client_encoding='utf-8' with the quotes
            if name == "client_encoding" and value.lower() not in _UTF8_NAMES:
                raise InvalidParameterValueFatal(
                    f'invalid value for parameter "client_encoding": "{value}"'
                )
            settings[name] = value
        return settings

    # --- authentication ---------------------------------------------------------------------

    async def _read_auth(self) -> bytes:
        msg = await self.read_message()
        if not isinstance(msg, pq.AuthResponse):
            raise ProtocolViolation(
                f"expected password response, got message type {_type_byte(msg)}"
            )
        return msg.data

    async def _authenticate(self) -> None:
        method = choose_method(
            self.server.hba_rules,
            database=self.database,
            user=self.user,
            address=self.address,
            ssl=self.ssl,
            member=self.server.cluster.roles.is_member,
        )
        where = (
            f'host "{self.address}", user "{self.user}", database "{self.database}", '
            f"{'SSL encryption' if self.ssl else 'no encryption'}"
        )
        if method is None:
            raise InvalidAuthorizationSpecification(f"no pg_hba.conf entry for {where}")
        if method == "reject":
            raise InvalidAuthorizationSpecification(f"pg_hba.conf rejects connection for {where}")
        if method == "trust":
            return
        creds = self.server.users.credentials(self.user)
        failed = InvalidPassword(f'password authentication failed for user "{self.user}"')
        if method == "md5" and creds is not None and creds.md5 is not None:
            salt = secrets.token_bytes(4)
            self.send(pq.authentication(5, salt))
            await self.flush()
            answer = _cstring(await self._read_auth())
            inner = creds.md5[3:].encode()
            expected = "md5" + hashlib.md5(inner + salt).hexdigest()
            if not hmac.compare_digest(answer, expected):
                raise failed
            return
        if method == "password":
            self.send(pq.authentication(3))
            await self.flush()
            password = _cstring(await self._read_auth())
            verifier = None if creds is None or creds.scram is None else Verifier.parse(creds.scram)
            ok = verifier is not None and verifier.check_password(password)
            if not ok and creds is not None and creds.md5 is not None:
                candidate = "md5" + hashlib.md5((password + self.user).encode()).hexdigest()
                ok = hmac.compare_digest(candidate, creds.md5)
            if not ok:
                raise failed
            return
        # scram-sha-256 (also md5 rules whose user only has a SCRAM verifier, as PostgreSQL)
        verifier = None if creds is None or creds.scram is None else Verifier.parse(creds.scram)
        binding = self.server.channel_binding if self.ssl else None
        mechanisms = [MECHANISM_PLUS, MECHANISM] if binding is not None else [MECHANISM]
        self.send(pq.authentication_sasl(mechanisms))
        await self.flush()
        nonce: bytes = getattr(self.server.cluster, "mock_auth_nonce", b"")
        exchange = ScramExchange(verifier, binding, mock_salt(self.user, nonce) if nonce else b"")
        first = await self._read_auth()
        mechanism, first_msg = _sasl_initial(first)
        self.send(pq.authentication(11, exchange.client_first(mechanism, first_msg).encode()))
        await self.flush()
        final = await self._read_auth()
        server_final = exchange.client_final(decode_message(final))
        if server_final is None:
            raise failed
        self.send(pq.authentication(12, server_final.encode()))

    # --- main loop --------------------------------------------------------------------------

    async def _loop(self) -> None:
        while not self.closing:
            if not self.inbuf and self._held is None:
                await self.flush()
            kind, body = await self._read_idle()
            if kind == _X:
                return
            if self._handle_now(kind, body):
                if not self.stream.writable:
                    await self.stream.drain()
                continue
            try:
                await self._dispatch(kind, body)
            except Exception as exc:
                self._failed(kind, exc)

    def _pump(self) -> bool:
        """The fast lane, run by the stream when bytes arrive: while the task is parked
        waiting for a message, answer the messages that need neither a worker thread nor
        a wait right here in the callback. True: wake the task (it takes over)."""
        if not self._parked or self.closing or self.session is None:
            return True
        try:
            while self.stream.writable:
                frame = self._frame()
                if frame is None:
                    break
                self.waiting = False
                if not self._handle_now(*frame):
                    self._held = frame
                    return True
            else:
                return True  # the output must drain first: the task waits for that
            if not self.inbuf:
                self._write_out()
        except BaseException as exc:
            self._fatal = exc  # raised by the task's next read, in the stream's order
            return True
        # ReadyForQuery inside a transaction block: the task arms the idle timeout
        return self.waiting and self._status() != "I"

    def _handle_now(self, kind: int, body: bytes) -> bool:
        """Handle a message that needs no worker thread and no wait; False when it must
        go to ``_dispatch`` (nothing was done then)."""
        if self.ignore_till_sync and kind != _S:
            return kind != _X
        handler = self._now.get(kind)
        if handler is None:
            return False
        try:
            return handler(body)
        except Exception as exc:
            self._failed(kind, exc)
            return True

    def _failed(self, kind: int, exc: Exception) -> None:
        """Answer an error in a message as PostgreSQL does; raise what ends the connection."""
        if isinstance(exc, pq.FramingError | ClientGone):
            raise exc
        if not isinstance(exc, VecgresError):
            # a bug in one statement's handling ends that statement, not the connection
            log.error("internal error handling message %r", chr(kind), exc_info=exc)
            exc = InternalError(f"internal error: {type(exc).__name__}: {exc}")
        if exc.severity in (Severity.FATAL, Severity.PANIC):
            raise exc
        if self.closing:
            raise self.server.shutdown_error() from None
        self.send(pq.error_response(error_fields(exc)))
        if kind == _Q:
            self._ready()
        else:
            self.ignore_till_sync = True

    def _ready(self) -> None:
        self.send(pq.READY[self._status()])
        self.waiting = True

    async def _read_idle(self) -> tuple[int, bytes]:
        """The next message; idle inside a transaction block, no later than its timeout."""
        while True:
            timeout = 0
            if self.waiting and not self.inbuf and self._held is None and self._status() != "I":
                # PostgreSQL arms the timer only after ReadyForQuery (not mid extended protocol)
                timeout = _idle_timeout_ms(self.session)
            if timeout > 0:
                self.waiting = False
                try:
                    async with asyncio.timeout(timeout / 1000):
                        return await self.read_frame()
                except TimeoutError:
                    raise IdleInTransactionSessionTimeout(
                        "terminating connection due to idle-in-transaction timeout"
                    ) from None
            frame = self._frame()
            if frame is not None:
                self.waiting = False
                return frame
            # parked: the fast lane may answer what arrives without waking this task
            self._parked = True
            try:
                await self._fill()
            finally:
                self._parked = False

    def _status(self) -> str:
        return "I" if self.session is None else self.session.transaction_status

    async def _dispatch(self, kind: int, body: bytes) -> None:
        """The messages ``_handle_now`` left: those that wait for a worker or the client."""
        if kind == _Q:
            await self._simple_query(pq.query_text(body))
        elif kind == _E:
            await self._execute(*pq.execute_fields(body))
        else:
            msg = pq.parse_body(kind, body)
            if isinstance(msg, pq.Parse):
                await self._parse(msg)
            elif isinstance(msg, pq.CopyData | pq.CopyDone | pq.CopyFail):
                # copy messages outside COPY are ignored, as PostgreSQL does
                return
            elif isinstance(msg, pq.FunctionCall):
                raise FeatureNotSupported("fastpath function calls are not supported")
            else:
                raise ProtocolViolation(f"unexpected message type {_type_byte(msg)}")

    def _sync_now(self, body: bytes) -> bool:
        if body:
            pq.parse_body(_S, body)  # raises PostgreSQL's error for the malformed message
        self.ignore_till_sync = False
        status = self._status()
        if self.portals and status == "I":
            # portals live until the end of their transaction; outside a block that is now
            for portal in self.portals.values():
                portal.close()
            self.portals.clear()
        self.send(pq.READY[status])
        self.waiting = True
        self._write_out()
        return True

    def _flush_now(self, body: bytes) -> bool:
        if body:
            pq.parse_body(_H, body)
        self._write_out()
        return True

    # --- simple query -----------------------------------------------------------------------

    def _begin_simple(self, sql: str) -> None:
        # a simple query closes the unnamed portal and statement (PostgreSQL drops them)
        unnamed = self.portals.pop("", None)
        if unnamed is not None:
            unnamed.close()
        self.statements.pop("", None)
        self.query, self.query_start = sql, time.time()

    def _query_now(self, body: bytes) -> bool:
        """A simple query answered without DuckDB (one statement, cached, inline plan)."""
        sql = pq.query_text(body)
        check = self._inline_script
        if check is None or "\x00" in sql or not check(sql):
            return False
        assert self.session is not None
        self._begin_simple(sql)
        # the check found the whole string cached as one statement: no need to split it
        script = _one_statement(self.session, sql.strip())
        try:
            produced = False
            while True:
                self.busy = True
                try:
                    result, early = _next_statement(script)
                finally:
                    self.busy = False
                if result is None:
                    break
                produced = True
                self._emit_now(result, early)
        except VecgresError as exc:
            if exc.severity in (Severity.FATAL, Severity.PANIC):
                raise
            if self.closing:
                raise self.server.shutdown_error() from None
            self.send(pq.error_response(error_fields(exc)))
        except ClientGone:
            _close_iter(script)
            raise
        except Exception as exc:
            self.send(pq.error_response(error_fields(exc)))
            _close_iter(script)
        else:
            if not produced:
                self.send(pq.empty_query_response())
        self._ready()
        self._write_out()
        return True

    def _emit_now(self, result: Result, early: _Early | None) -> None:
        """``_emit_result`` for a statement whose rows are at hand (no worker, no wait)."""
        try:
            if result.copy is not None:
                raise InternalError("COPY cannot be answered inline")
            columns = result.columns
            if columns is not None:
                fmts = [int(result.binary)] * len(columns)
                self.send(_row_description(columns, fmts))
                portal, first = _portal_of(result, early, fmts)
                self._stream_now(portal, columns, 0, first)
            else:
                _drain_result(result)
            self._finish(result)
        except BaseException:
            result.close()
            raise

    async def _simple_query(self, sql: str) -> None:
        if "\x00" in sql:
            raise pq.MessageFormatError("invalid message format")
        assert self.session is not None
        self._begin_simple(sql)
        script = self.session.execute_script(sql)
        produced = False
        try:
            pgcatalog.deallocate(sql, self.statements, self.session.sql_prepared)
            while True:
                self.busy = True
                try:
                    # one trip to a worker runs the statement and encodes its first rows
                    result, early = await self.run_blocking(_next_statement, script)
                finally:
                    self.busy = False
                if result is None:
                    break
                produced = True
                await self._emit_result(result, describe=True, early=early)
        except VecgresError as exc:
            if exc.severity in (Severity.FATAL, Severity.PANIC):
                raise
            if self.closing:
                # shutdown canceled the statement: PostgreSQL reports only the FATAL
                raise self.server.shutdown_error() from None
            self.send(pq.error_response(error_fields(exc)))
        except ClientGone:
            await self.run_blocking(_close_iter, script)
            raise
        except Exception as exc:
            self.send(pq.error_response(error_fields(exc)))
            await self.run_blocking(_close_iter, script)
        else:
            if not produced:
                self.send(pq.empty_query_response())
        self._ready()
        await self.flush()

    async def _emit_result(
        self,
        result: Result,
        *,
        describe: bool,
        formats: list[int] | None = None,
        early: _Early | None = None,
    ) -> None:
        """Send one statement's result: description, rows, notices, tag (simple protocol).

        ``early``: the portal and first rows (or the error reading them) that
        ``_next_statement`` already produced in the worker."""
        try:
            if result.copy is not None:
                await self._copy(result)
                return
            columns = result.columns
            if columns is not None:
                # a BINARY cursor's FETCH comes in binary format (simple protocol only)
                fmts = formats if formats is not None else [int(result.binary)] * len(columns)
                if describe:
                    self.send(_row_description(columns, fmts))
                portal, first = _portal_of(result, early, fmts)
                await self._stream(portal, columns, 0, first)
            else:
                await self.run_blocking(_drain_result, result)
            self._finish(result)
        except BaseException:
            result.close()
            raise

    def _finish(self, result: Result) -> None:
        for notice in result.notices:
            self.send(pq.notice_response(notice_fields(notice)))
        for name, value in result.parameter_changes.items():
            self.send(pq.parameter_status(name, value))
        self.send(pq.command_complete_cached(result.command_tag))

    def _stream_now(
        self,
        portal: Portal,
        columns: Sequence[ColumnInfo],
        max_rows: int,
        first: tuple[bytes, int] | None,
    ) -> bool:
        """``_stream`` for rows at hand (a result answered inline): no worker, no wait."""
        sent = 0
        while first is not None or not portal.done:
            limit = max_rows - sent if max_rows else 0
            if first is not None:
                (chunk, count), first = first, None
            else:
                chunk, count = _next_rows(portal, columns, portal.formats, limit)
            if chunk:
                self.send(chunk)
            sent += count
            if max_rows and sent >= max_rows and not portal.done:
                return True
        return False

    async def _stream(
        self,
        portal: Portal,
        columns: Sequence[ColumnInfo],
        max_rows: int,
        first: tuple[bytes, int] | None = None,
    ) -> bool:
        """Send rows of ``portal``, starting with ``first`` when the rows were already
        encoded; True if stopped by ``max_rows`` (PortalSuspended)."""
        sent = 0
        while first is not None or not portal.done:
            limit = max_rows - sent if max_rows else 0
            if first is not None:
                (chunk, count), first = first, None
            else:
                self.busy = True
                try:
                    chunk, count = await self.run_blocking(
                        _next_rows, portal, columns, portal.formats, limit
                    )
                finally:
                    self.busy = False
            if chunk:
                self.send(chunk)
                await self._maybe_flush()
            sent += count
            if max_rows and sent >= max_rows and not portal.done:
                return True
        return False

    # --- extended query ---------------------------------------------------------------------

    async def _parse(self, msg: pq.Parse) -> None:
        assert self.session is not None
        if msg.name and prepared_sql.name_taken(self.session, msg.name):
            raise DuplicatePreparedStatement(f'prepared statement "{msg.name}" already exists')
        hints: list[SqlType | None] = [
            None if oid == 0 else _type_of(oid) for oid in msg.param_oids
        ]
        if _is_empty(msg.sql):
            stmt = Statement(msg.sql, None, [])
        else:
            self.busy = True
            try:
                prepared = await self.run_blocking(self.session.prepare, msg.sql, hints)
            finally:
                self.busy = False
            oids = [t.oid for t in prepared.param_types]
            # a type the client declared wins over what the engine inferred
            for i, oid in enumerate(msg.param_oids[: len(oids)]):
                if oid:
                    oids[i] = oid
            stmt = Statement(msg.sql, prepared, oids)
        self.statements[msg.name] = stmt
        prepared_sql.protocol_parsed(self.session, msg.name)
        self.send(pq.parse_complete())

    def _statement(self, name: str) -> Statement:
        stmt = self.statements.get(name)
        if stmt is None:
            raise InvalidSqlStatementName(f'prepared statement "{name}" does not exist')
        return stmt

    def _bind_now(self, body: bytes) -> bool:
        portal_name, stmt_name, pformats, params, rformats = pq.bind_fields(body)
        stmt = self._statement(stmt_name)
        if portal_name and portal_name in self.portals:
            raise DuplicateCursor(f'cursor "{portal_name}" already exists')
        oids = stmt.param_oids
        nparams = len(oids)
        if len(params) != nparams:
            raise pq.MessageFormatError(
                f"bind message supplies {len(params)} parameters, but prepared statement "
                f'"{stmt_name}" requires {nparams}'
            )
        if len(pformats) not in (0, 1, nparams):
            raise pq.MessageFormatError(
                f"bind message has {len(pformats)} parameter formats but {nparams} parameters"
            )
        values: list[object] = []
        for i, raw in enumerate(params):
            fmt = pformats[0] if len(pformats) == 1 else (pformats[i] if pformats else 0)
            if fmt == 0 and raw is not None:
                text = pq.decode_utf8(raw)
                integer = INTEGER_OIDS.get(oids[i])
                # integers are read here as PostgreSQL's Bind does (its errors, its range)
                values.append(text if integer is None else parse_integer(text, integer))
            else:
                values.append(_decode_param(raw, fmt, oids[i], i + 1))
        columns = stmt.columns
        formats = _result_formats(rformats, len(columns) if columns else 0)
        old = self.portals.pop(portal_name, None)
        if old is not None:
            old.close()
        self.portals[portal_name] = Portal(stmt, values, formats)
        prepared_sql.protocol_bound(self.session, stmt_name)
        self.send(_BIND_COMPLETE)
        return True

    def _describe_now(self, body: bytes) -> bool:
        kind, name = pq.target_fields(_D, body)
        if kind == "S":
            stmt = self._statement(name)
            self.send(pq.parameter_description(stmt.param_oids))
            columns = stmt.columns
            formats = [0] * len(columns) if columns else []
        elif name not in self.portals and self._cursor_columns(name) is not None:
            # a cursor made with DECLARE is a portal too (psycopg's server-side cursors)
            columns = self._cursor_columns(name)
            formats = [0] * len(columns) if columns else []
        else:
            portal = self._portal(name)
            columns = portal.statement.columns
            formats = portal.formats
            if columns:
                # the same columns (the engine replaces the list when it rebinds) and formats
                key = tuple(formats)
                cached = portal.statement.descriptions.get(key)
                if cached is None or cached[0] is not columns:
                    cached = (columns, pq.row_description(field_descriptions(columns, formats)))
                    portal.statement.descriptions[key] = cached
                self.send(cached[1])
                return True
        if columns:
            self.send(pq.row_description(field_descriptions(columns, formats)))
        else:
            self.send(pq.no_data())
        return True

    def _cursor_columns(self, name: str) -> Sequence[ColumnInfo] | None:
        lookup = getattr(self.session, "cursor_columns", None)
        return None if lookup is None or not name else lookup(name)

    def _portal(self, name: str) -> Portal:
        portal = self.portals.get(name)
        if portal is None:
            raise InvalidCursorName(f'portal "{name}" does not exist')
        return portal

    def _execute_now(self, body: bytes) -> bool:
        """Execute a portal answered without DuckDB, here on the event loop (a worker
        thread would cost more than the work); False leaves the rest to ``_execute``.

        The session's ``execute_inline`` is the one hook that decides which statements
        run here: it answers (a Result) or declines (None) without side effects."""
        name, max_rows = pq.execute_fields(body)
        portal = self._portal(name)
        stmt = portal.statement
        if stmt.prepared is None:
            self.send(_EMPTY_QUERY)
            return True
        inline = self._inline
        if portal.result is not None or inline is None:
            return False
        answer = inline(stmt.prepared, portal.params)
        if answer is None:
            return False
        self.query, self.query_start = stmt.sql, time.time()
        try:
            first = _open_portal(portal, answer, max_rows)
        except BaseException:
            _abandon(portal)  # the statement ran but reading its rows failed
            raise
        result = _result_of(portal)
        try:
            if result.copy is not None:
                raise InternalError("COPY cannot be answered inline")
            if result.columns is not None:
                if self._stream_now(portal, result.columns, max_rows, first):
                    self.send(_PORTAL_SUSPENDED)
                    return True
            else:
                _drain_result(result)
                portal.done = True
        except BaseException:
            portal.done = True
            result.close()
            raise
        self._finish(result)
        return True

    async def _execute(self, name: str, max_rows: int) -> None:
        portal = self._portal(name)
        assert self.session is not None
        first: tuple[bytes, int] | None = None
        if portal.result is None:
            self.query, self.query_start = portal.statement.sql, time.time()
            self.busy = True
            try:
                # one trip to a worker runs the statement and encodes its first rows
                first = await self.run_blocking(_execute_portal, self.session, portal, max_rows)
            except BaseException:
                _abandon(portal)  # the statement ran but reading its rows failed
                raise
            finally:
                self.busy = False
            assert portal.result is not None
        result = portal.result
        if result.copy is not None:
            try:
                await self._copy(result)
            finally:
                portal.done = True
            return
        if portal.done and result.columns is None:
            # a finished portal without rows reports its tag again, like PostgreSQL
            self.send(pq.command_complete(result.command_tag))
            return
        try:
            if result.columns is not None:
                if await self._stream(portal, result.columns, max_rows, first):
                    self.send(_PORTAL_SUSPENDED)
                    return
            else:
                await self.run_blocking(_drain_result, result)
                portal.done = True
        except BaseException:
            portal.done = True
            result.close()
            raise
        self._finish(result)

    def _close_now(self, body: bytes) -> bool:
        kind, name = pq.target_fields(_C, body)
        if kind == "S":
            self.statements.pop(name, None)
        else:
            portal = self.portals.pop(name, None)
            if portal is not None:
                portal.close()
        self.send(_CLOSE_COMPLETE)
        return True

    # --- COPY -------------------------------------------------------------------------------

    def _more_copy_data(self) -> list[bytes]:
        """Bodies of the whole CopyData messages next in the input buffer (up to
        COPY_BATCH bytes), taken out of it; the data split into messages means nothing."""
        out: list[bytes] = []
        size = 0
        buf = self.inbuf
        while size < COPY_BATCH and len(buf) >= 5 and buf[0] == ord("d"):
            total = pq.message_size(buf, self.settings)
            if total is None or len(buf) < total:
                break
            out.append(bytes(buf[5:total]))
            del buf[:total]
            size += total - 5
        return out

    async def _copy_write(self, copy: CopyRequest, data: bytes) -> None:
        """``copy.write(data)`` in a worker while the next data is received: decoding
        and receiving overlap instead of taking turns (the reader stops at COPY_BATCH)."""
        assert copy.write is not None
        work = asyncio.ensure_future(self.run_blocking(copy.write, data))
        fill: asyncio.Future[None] | None = None
        try:
            while not work.done() and len(self.inbuf) < COPY_BATCH:
                fill = asyncio.ensure_future(self._fill())
                await asyncio.wait({work, fill}, return_when=asyncio.FIRST_COMPLETED)
                if not fill.done():
                    break
                if fill.exception() is not None:
                    # the client is gone: the next read_message finds out again, after
                    # whatever complete messages it sent before are handled
                    break
                fill = None
        finally:
            if fill is not None and not fill.done():
                fill.cancel()  # a read cancelled while waiting has taken no data
                with contextlib.suppress(asyncio.CancelledError):
                    await fill
        await work

    async def _copy(self, result: Result) -> None:
        copy = result.copy
        assert copy is not None
        overall = 1 if copy.format == "binary" else 0
        formats = [overall] * copy.column_count
        if copy.direction == "out":
            assert copy.chunks is not None
            assert copy.tag is not None
            self.send(pq.copy_out_response(overall, formats))
            chunks = copy.chunks()
            try:
                while True:
                    self.busy = True
                    try:
                        chunk = await self.run_blocking(_next_or_none, chunks)
                    finally:
                        self.busy = False
                    if chunk is None:
                        break
                    self.send(pq.copy_data(chunk))
                    await self._maybe_flush()
            except BaseException:
                await self.run_blocking(_close_iter, chunks)
                raise
            self.send(pq.copy_done())
            self.send(pq.command_complete(copy.tag()))
            return
        assert copy.write is not None
        assert copy.finish is not None
        self.send(pq.copy_in_response(overall, formats))
        await self.flush()
        failure: VecgresError | None = None
        while True:
            try:
                msg = await self.read_message()
            except ClientGone:
                if copy.fail is not None:
                    await self.run_blocking(copy.fail, "connection lost")
                raise
            if isinstance(msg, pq.CopyData):
                # the CopyData already received go to the worker together: one trip
                # per read instead of one per (often 32 kB) message
                data = b"".join([msg.data, *self._more_copy_data()])
                if failure is None:
                    try:
                        await self._copy_write(copy, data)
                    except VecgresError as exc:
                        # keep reading until CopyDone/CopyFail, then report
                        failure = exc
            elif isinstance(msg, pq.CopyDone):
                if failure is not None:
                    raise failure
                tag = await self.run_blocking(copy.finish)
                self.send(pq.command_complete(tag))
                return
            elif isinstance(msg, pq.CopyFail):
                if copy.fail is not None:
                    with contextlib.suppress(VecgresError):
                        await self.run_blocking(copy.fail, msg.message)
                raise QueryCanceled(f"COPY from stdin failed: {msg.message}")
            elif isinstance(msg, pq.Flush | pq.Sync):
                continue
            else:
                if copy.fail is not None:
                    with contextlib.suppress(VecgresError):
                        await self.run_blocking(copy.fail, "protocol violation")
                self.send(
                    pq.error_response(
                        error_fields(
                            ProtocolViolation(
                                f"unexpected message type 0x{_type_byte(msg):02x} "
                                "during COPY from stdin"
                            ),
                            severity=Severity.ERROR,
                        )
                    )
                )
                raise ProtocolViolation(
                    "terminating connection because protocol synchronization was lost"
                )


# --- helpers run in worker threads ---------------------------------------------------------


def _idle_timeout_ms(session: SessionLike | None) -> int:
    settings = getattr(session, "settings", None)
    get_int = getattr(settings, "get_int", None)
    if get_int is None:
        return 0
    try:
        return int(get_int("idle_in_transaction_session_timeout"))
    except (VecgresError, ValueError):
        return 0


def _execute_portal(
    session: SessionLike, portal: Portal, max_rows: int
) -> tuple[bytes, int] | None:
    """Run the portal's statement and encode its first rows (None: no rows to stream)."""
    assert portal.statement.prepared is not None
    result = session.execute_prepared(portal.statement.prepared, portal.params)
    return _open_portal(portal, result, max_rows)


def _open_portal(portal: Portal, result: Result, max_rows: int) -> tuple[bytes, int] | None:
    """Attach a statement's result to its portal and encode the first rows (None: no rows
    to stream)."""
    portal.result = result
    portal.batches = result.batches()
    columns = result.columns
    if result.copy is not None or columns is None:
        return None
    return _next_rows(portal, columns, portal.formats, max_rows)


# a simple-protocol statement's portal and first rows, or the error reading them
_Early = tuple[Portal, tuple[bytes, int] | Exception]


def _one_statement(session: SessionLike, sql: str) -> Iterator[Result]:
    """``execute_script`` for a string known to hold one statement (no tokenizing)."""
    yield session.execute(sql)


# RowDescription messages of simple-query results by (columns, formats); bounded
_DESCRIPTIONS: dict[tuple[tuple[ColumnInfo, ...], tuple[int, ...]], bytes] = {}
_DESCRIPTIONS_MAX: Final = 256


def _row_description(columns: Sequence[ColumnInfo], formats: Sequence[int]) -> bytes:
    key = (tuple(columns), tuple(formats))
    out = _DESCRIPTIONS.get(key)
    if out is None:
        out = pq.row_description(field_descriptions(columns, formats))
        if len(_DESCRIPTIONS) >= _DESCRIPTIONS_MAX:
            _DESCRIPTIONS.clear()
        _DESCRIPTIONS[key] = out
    return out


def _simple_portal(result: Result, fmts: list[int]) -> Portal:
    """The unnamed portal a simple-query statement's rows are sent from."""
    return Portal(Statement("", None, []), [], fmts, result, result.batches())


def _portal_of(
    result: Result, early: _Early | None, fmts: list[int]
) -> tuple[Portal, tuple[bytes, int] | None]:
    """The portal of a simple-query result and its first rows when they were read
    ahead (raising the error met reading them, now that RowDescription is out)."""
    if early is None:
        return _simple_portal(result, fmts), None
    portal, got = early
    if isinstance(got, BaseException):
        raise got
    return portal, got


def _next_statement(script: Iterator[Result]) -> tuple[Result | None, _Early | None]:
    """The next statement's result and, for a query, its first rows encoded as text."""
    result = next(script, None)
    if result is None or result.copy is not None or result.columns is None:
        return result, None
    columns = result.columns
    portal = _simple_portal(result, [int(result.binary)] * len(columns))
    try:
        return result, (portal, _next_rows(portal, columns, portal.formats, 0))
    except Exception as exc:  # raised where the rows are sent, after RowDescription
        return result, (portal, exc)


def _result_of(portal: Portal) -> Result:
    """The result of a portal that has run."""
    assert portal.result is not None
    return portal.result


def _abandon(portal: Portal) -> None:
    if portal.result is not None:
        portal.done = True
        portal.result.close()


def _next_or_none(it: Iterator[T]) -> T | None:
    return next(it, None)


def _close_iter(it: Iterator[object]) -> None:
    close = getattr(it, "close", None)
    if close is not None:
        close()


def _drain_result(result: Result) -> None:
    for _ in result.batches():
        pass


def _next_rows(
    portal: Portal, columns: Sequence[ColumnInfo], formats: Sequence[int], limit: int
) -> tuple[bytes, int]:
    """DataRows for the next batches of ``portal``: up to ``limit`` rows (0: no limit) or
    about FLUSH_BYTES, so a small result, and its end, take one trip to a worker thread."""
    chunks: list[bytes] = []
    size = count = 0
    while not portal.done:
        chunk, n = _next_batch_rows(portal, columns, formats, limit - count if limit else 0)
        chunks.append(chunk)
        size += len(chunk)
        count += n
        if (limit and count >= limit) or size >= FLUSH_BYTES:
            break
    return b"".join(chunks), count


def _next_batch_rows(
    portal: Portal, columns: Sequence[ColumnInfo], formats: Sequence[int], limit: int
) -> tuple[bytes, int]:
    """Encode the next batch (or ``limit`` rows of it) of ``portal`` as DataRows."""
    batch = portal.pending
    portal.pending = None
    while batch is None or batch.num_rows == 0:
        assert portal.batches is not None
        batch = next(portal.batches, None)
        if batch is None:
            portal.done = True
            return b"", 0
    if limit and batch.num_rows > limit:
        portal.pending = batch.slice(limit)
        batch = batch.slice(0, limit)
    portal.rows_sent += batch.num_rows
    return encode_rows(batch, columns, formats), batch.num_rows


# --- small parsers ---------------------------------------------------------------------------


def _type_byte(msg: pq.FrontendMessage) -> int:
    names = {
        pq.Query: "Q",
        pq.Parse: "P",
        pq.Bind: "B",
        pq.Describe: "D",
        pq.Execute: "E",
        pq.Close: "C",
        pq.Sync: "S",
        pq.Flush: "H",
        pq.Terminate: "X",
        pq.CopyData: "d",
        pq.CopyDone: "c",
        pq.CopyFail: "f",
        pq.AuthResponse: "p",
        pq.FunctionCall: "F",
    }
    return ord(names[type(msg)])


def _cstring(data: bytes) -> str:
    if not data.endswith(b"\x00") or data.count(b"\x00") != 1:
        raise ProtocolViolation("invalid password packet")
    return pq.decode_utf8(data[:-1])


def _sasl_initial(data: bytes) -> tuple[str, str]:
    end = data.find(b"\x00")
    if end < 0 or len(data) < end + 5:
        raise ProtocolViolation("malformed SASL message")
    mechanism = data[:end].decode("ascii", "replace")
    length = int.from_bytes(data[end + 1 : end + 5], "big", signed=True)
    payload = data[end + 5 :]
    if length == -1:
        payload = b""
    elif length != len(payload):
        raise ProtocolViolation("malformed SASL message")
    return mechanism, decode_message(payload)


def _parse_options(options: str) -> list[tuple[str, str]]:
    """``-c name=value`` and ``--name=value`` pairs of the startup ``options`` string."""
    words: list[str] = []
    current = ""
    escaped = False
    for ch in options:
        if escaped:
            current += ch
            escaped = False
        elif ch == "\\":
            escaped = True
        elif ch.isspace():
            if current:
                words.append(current)
            current = ""
        else:
            current += ch
    if current:
        words.append(current)
    pairs: list[tuple[str, str]] = []
    i = 0
    while i < len(words):
        word = words[i]
        if word == "-c" and i + 1 < len(words):
            setting = words[i + 1]
            i += 2
        elif word.startswith("-c") or word.startswith("--"):
            setting = word[2:]
            i += 1
        else:
            raise InvalidAuthorizationSpecification(f"invalid command-line argument: {word}")
        name, sep, value = setting.partition("=")
        if not sep:
            raise InvalidAuthorizationSpecification(f"invalid command-line argument: {setting}")
        pairs.append((name.replace("-", "_"), value))
    return pairs


def _literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _is_empty(sql: str) -> bool:
    return not sql.replace(";", "").strip()


def _type_of(oid: int) -> SqlType | None:
    return by_oid(oid)


def _decode_param(raw: bytes | None, fmt: int, oid: int, number: int) -> object:
    if raw is None:
        return None
    if fmt == 0:
        return pq.decode_utf8(raw)
    if fmt != 1:
        raise pq.MessageFormatError(f"unsupported format code: {fmt}")
    if oid == 0:
        raise IndeterminateDatatype("could not determine data type of binary parameter")
    try:
        return decode_binary(raw, oid)
    except (ProtocolViolation, InvalidBinaryRepresentation) as exc:
        # bytes left after the value: exec_bind_message's check, which names the
        # parameter (an array's own layout errors keep their text)
        if (
            exc.message.startswith("incorrect binary data format")
            and exc.message != "incorrect binary data format in array"
        ):
            raise InvalidBinaryRepresentation(
                f"incorrect binary data format in bind parameter {number}"
            ) from None
        if isinstance(exc, InvalidBinaryRepresentation):
            raise
        raise pq.MessageFormatError(exc.message) from None
