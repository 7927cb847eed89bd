"""PostgreSQL protocol v3 framing: bytes in, typed frontend messages out; backend builders.

Sans-IO: nothing here touches a socket. ``read_startup`` and ``read_message``
look at a buffer and either return ``None`` (need more bytes), a message
dataclass plus the number of bytes consumed, or raise ``ProtocolViolation``.
As in PostgreSQL's ``SocketBackend``, the type byte is validated before the
length word is trusted, and each type has its own length cap.

Two kinds of failure are distinguished because PostgreSQL answers them
differently (WIRE.md section 4):

* ``FramingError``: the stream cannot be resynchronised (bad length, bad
  startup packet); the connection is closed without an ErrorResponse.
* other ``ProtocolViolation``s: FATAL for an unknown type byte; ERROR
  (``MessageFormatError``) for a well-framed message whose body is malformed,
  after which the connection carries on.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from vecgres.config import Settings
from vecgres.errors import ProtocolViolation, Severity

SSL_REQUEST_CODE: Final = 80877103
GSSENC_REQUEST_CODE: Final = 80877104
CANCEL_REQUEST_CODE: Final = 80877102
PROTOCOL_3_0: Final = 3 << 16

_INT16 = struct.Struct(">h")
_INT32 = struct.Struct(">i")
_UINT32 = struct.Struct(">I")


class FramingError(ProtocolViolation):
    """The byte stream is out of step: close the connection without a reply."""


class MessageFormatError(ProtocolViolation):
    """A well-framed message with a malformed body: an ERROR, the connection survives."""

    severity = Severity.ERROR


# --- frontend messages ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class StartupMessage:
    major: int
    minor: int
    params: dict[str, str]


@dataclass(frozen=True, slots=True)
class SSLRequest:
    pass


@dataclass(frozen=True, slots=True)
class GSSENCRequest:
    pass


@dataclass(frozen=True, slots=True)
class CancelRequest:
    pid: int
    secret: int


@dataclass(frozen=True, slots=True)
class Query:
    sql: str


@dataclass(frozen=True, slots=True)
class Parse:
    name: str
    sql: str
    param_oids: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class Bind:
    portal: str
    statement: str
    param_formats: tuple[int, ...]
    params: tuple[bytes | None, ...]
    result_formats: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class Describe:
    kind: str  # "S" statement | "P" portal
    name: str


@dataclass(frozen=True, slots=True)
class Execute:
    portal: str
    max_rows: int


@dataclass(frozen=True, slots=True)
class Close:
    kind: str
    name: str


@dataclass(frozen=True, slots=True)
class Sync:
    pass


@dataclass(frozen=True, slots=True)
class Flush:
    pass


@dataclass(frozen=True, slots=True)
class Terminate:
    pass


@dataclass(frozen=True, slots=True)
class CopyData:
    data: bytes


@dataclass(frozen=True, slots=True)
class CopyDone:
    pass


@dataclass(frozen=True, slots=True)
class CopyFail:
    message: str


@dataclass(frozen=True, slots=True)
class AuthResponse:
    """A ``p`` message: password, SASLInitialResponse or SASLResponse, decoded by auth."""

    data: bytes


@dataclass(frozen=True, slots=True)
class FunctionCall:
    """The legacy fastpath ``F`` message; vecgres refuses it (0A000)."""

    data: bytes


StartupPacket = StartupMessage | SSLRequest | GSSENCRequest | CancelRequest
FrontendMessage = (
    Query
    | Parse
    | Bind
    | Describe
    | Execute
    | Close
    | Sync
    | Flush
    | Terminate
    | CopyData
    | CopyDone
    | CopyFail
    | AuthResponse
    | FunctionCall
)

# types whose bodies are small by nature: PostgreSQL's PQ_SMALL_MESSAGE_LIMIT applies
_SMALL_TYPES: Final = frozenset(b"SHCDEXc")
_LARGE_TYPES: Final = frozenset(b"QPBdfpF")
KNOWN_TYPES: Final = _SMALL_TYPES | _LARGE_TYPES


class _Body:
    """A bounds-checked cursor over one message body."""

    __slots__ = ("data", "pos")

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def _take(self, n: int) -> bytes:
        if n < 0 or self.pos + n > len(self.data):
            raise MessageFormatError("insufficient data left in message")
        chunk = self.data[self.pos : self.pos + n]
        self.pos += n
        return chunk

    def int16(self) -> int:
        value: int = _INT16.unpack(self._take(2))[0]
        return value

    def int32(self) -> int:
        value: int = _INT32.unpack(self._take(4))[0]
        return value

    def uint32(self) -> int:
        value: int = _UINT32.unpack(self._take(4))[0]
        return value

    def byte(self) -> int:
        return self._take(1)[0]

    def cstring(self) -> str:
        end = self.data.find(b"\x00", self.pos)
        if end < 0:
            raise MessageFormatError("invalid string in message")
        raw = self.data[self.pos : end]
        self.pos = end + 1
        return decode_utf8(raw)

    def count(self) -> int:
        n = self.int16()
        if n < 0:
            raise MessageFormatError(f"invalid message format: negative count {n}")
        return n

    def rest(self) -> bytes:
        chunk = self.data[self.pos :]
        self.pos = len(self.data)
        return chunk

    def end(self) -> None:
        if self.pos != len(self.data):
            raise MessageFormatError("invalid message format")


class EncodingError(MessageFormatError):
    """Invalid UTF-8 in a message: PostgreSQL's 22021 character_not_in_repertoire."""

    sqlstate = "22021"


def decode_utf8(raw: bytes) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        bad = " ".join(f"0x{b:02x}" for b in raw[exc.start : exc.end])
        raise EncodingError(f'invalid byte sequence for encoding "UTF8": {bad}') from None


def read_startup(buf: bytes | bytearray, settings: Settings) -> tuple[StartupPacket, int] | None:
    """Parse the first packet of a connection (or the one after SSLRequest/GSSENCRequest)."""
    if len(buf) < 4:
        return None
    (length,) = _INT32.unpack_from(buf)
    if length < 8 or length > settings.max_startup_bytes:  # PG counts the length word
        raise FramingError("invalid length of startup packet")
    if len(buf) < length:
        return None
    body = _Body(bytes(buf[4:length]))
    code = body.int32()
    try:
        packet = _startup_body(code, body)
    except MessageFormatError as exc:
        raise FramingError(f"invalid startup packet layout: {exc.message}") from None
    return packet, length


def _startup_body(code: int, body: _Body) -> StartupPacket:
    if code == SSL_REQUEST_CODE:
        body.end()
        return SSLRequest()
    if code == GSSENC_REQUEST_CODE:
        body.end()
        return GSSENCRequest()
    if code == CANCEL_REQUEST_CODE:
        pid = body.int32()
        secret = body.int32()
        body.end()
        return CancelRequest(pid, secret)
    params: dict[str, str] = {}
    while True:
        name = body.cstring()
        if not name:
            break
        params[name] = body.cstring()
    body.end()
    return StartupMessage(code >> 16, code & 0xFFFF, params)


def read_message(buf: bytes | bytearray, settings: Settings) -> tuple[FrontendMessage, int] | None:
    """Parse one regular message from the front of ``buf``."""
    if not buf:
        return None
    kind = buf[0]
    if kind not in KNOWN_TYPES:
        raise ProtocolViolation(f"invalid frontend message type {kind}")
    if len(buf) < 5:
        return None
    (length,) = _INT32.unpack_from(buf, 1)
    limit = settings.max_small_message_bytes if kind in _SMALL_TYPES else settings.max_message_bytes
    if length < 4 or length - 4 > limit:
        raise FramingError("invalid message length")
    if len(buf) < 1 + length:
        return None
    return parse_body(kind, bytes(buf[5 : 1 + length])), 1 + length


def message_size(buf: bytes | bytearray, settings: Settings) -> int | None:
    """Total size of the message at the front of ``buf`` once its header is known."""
    if not buf:
        return None
    kind = buf[0]
    if kind not in KNOWN_TYPES:
        raise ProtocolViolation(f"invalid frontend message type {kind}")
    if len(buf) < 5:
        return None
    length: int = _INT32.unpack_from(buf, 1)[0]
    limit = settings.max_small_message_bytes if kind in _SMALL_TYPES else settings.max_message_bytes
    if length < 4 or length - 4 > limit:
        raise FramingError("invalid message length")
    return 1 + length


def _formats(body: _Body) -> tuple[int, ...]:
    return tuple(body.int16() for _ in range(body.count()))


def parse_body(kind: int, data: bytes) -> FrontendMessage:
    """Decode the body of a message of type ``kind`` (an ASCII code)."""
    body = _Body(data)
    msg: FrontendMessage
    if kind == ord("Q"):
        msg = Query(body.cstring())
    elif kind == ord("P"):
        name = body.cstring()
        sql = body.cstring()
        msg = Parse(name, sql, tuple(body.uint32() for _ in range(body.count())))
    elif kind == ord("B"):
        portal = body.cstring()
        statement = body.cstring()
        param_formats = _formats(body)
        params: list[bytes | None] = []
        for _ in range(body.count()):
            size = body.int32()
            if size < -1:
                raise MessageFormatError(f"invalid parameter length {size}")
            params.append(None if size == -1 else body._take(size))
        msg = Bind(portal, statement, param_formats, tuple(params), _formats(body))
    elif kind in (ord("D"), ord("C")):
        which = body.byte()
        if which not in (ord("S"), ord("P")):
            word = "Describe" if kind == ord("D") else "Close"
            raise MessageFormatError(f"invalid {word.upper()} message subtype {which}")
        name = body.cstring()
        msg = (Describe if kind == ord("D") else Close)(chr(which), name)
    elif kind == ord("E"):
        portal = body.cstring()
        max_rows = body.int32()
        msg = Execute(portal, max(max_rows, 0))
    elif kind == ord("S"):
        msg = Sync()
    elif kind == ord("H"):
        msg = Flush()
    elif kind == ord("X"):
        msg = Terminate()
    elif kind == ord("d"):
        msg = CopyData(body.rest())
    elif kind == ord("c"):
        msg = CopyDone()
    elif kind == ord("f"):
        msg = CopyFail(body.cstring())
    elif kind == ord("p"):
        msg = AuthResponse(body.rest())
    else:  # "F"
        msg = FunctionCall(body.rest())
    body.end()
    return msg


# --- backend messages ----------------------------------------------------------------------


def _msg(kind: bytes, payload: bytes = b"") -> bytes:
    return kind + _INT32.pack(len(payload) + 4) + payload


def _cstr(text: str) -> bytes:
    return text.encode() + b"\x00"


def authentication(code: int, payload: bytes = b"") -> bytes:
    """``R``: 0 ok, 3 cleartext, 5 md5 (+salt), 10 SASL, 11 SASL continue, 12 SASL final."""
    return _msg(b"R", _INT32.pack(code) + payload)


def authentication_ok() -> bytes:
    return authentication(0)


def authentication_sasl(mechanisms: Sequence[str]) -> bytes:
    return authentication(10, b"".join(_cstr(m) for m in mechanisms) + b"\x00")


def parameter_status(name: str, value: str) -> bytes:
    return _msg(b"S", _cstr(name) + _cstr(value))


def backend_key_data(pid: int, secret: int) -> bytes:
    return _msg(b"K", _INT32.pack(pid) + _INT32.pack(secret))


def ready_for_query(status: str) -> bytes:
    return _msg(b"Z", status.encode())


def negotiate_protocol_version(newest_minor: int, unrecognized: Sequence[str]) -> bytes:
    payload = _INT32.pack(PROTOCOL_3_0 | newest_minor) + _INT32.pack(len(unrecognized))
    return _msg(b"v", payload + b"".join(_cstr(o) for o in unrecognized))


@dataclass(frozen=True, slots=True)
class FieldDescription:
    name: str
    table_oid: int
    column_number: int
    type_oid: int
    type_size: int
    type_modifier: int
    format: int


def row_description(fields: Sequence[FieldDescription]) -> bytes:
    parts = [_INT16.pack(len(fields))]
    for f in fields:
        parts.append(_cstr(f.name))
        parts.append(
            struct.pack(
                ">IhIhih",
                f.table_oid,
                f.column_number,
                f.type_oid,
                f.type_size,
                f.type_modifier,
                f.format,
            )
        )
    return _msg(b"T", b"".join(parts))


def data_rows(columns: Sequence[Sequence[bytes | None]]) -> bytes:
    """DataRow messages for whole columns of encoded cells (one list per column)."""
    count = _INT16.pack(len(columns))
    pack = _INT32.pack
    out: list[bytes] = []
    append = out.append
    for row in zip(*columns, strict=True):
        parts = [count]
        for cell in row:
            if cell is None:
                parts.append(b"\xff\xff\xff\xff")
            else:
                parts.append(pack(len(cell)))
                parts.append(cell)
        body = b"".join(parts)
        append(b"D" + pack(len(body) + 4) + body)
    return b"".join(out)


def data_row(cells: Sequence[bytes | None]) -> bytes:
    return data_rows([[c] for c in cells]) if cells else _msg(b"D", _INT16.pack(0))


def command_complete(tag: str) -> bytes:
    return _msg(b"C", _cstr(tag))


def empty_query_response() -> bytes:
    return _msg(b"I")


def parse_complete() -> bytes:
    return _msg(b"1")


def bind_complete() -> bytes:
    return _msg(b"2")


def close_complete() -> bytes:
    return _msg(b"3")


def no_data() -> bytes:
    return _msg(b"n")


def portal_suspended() -> bytes:
    return _msg(b"s")


def parameter_description(oids: Sequence[int]) -> bytes:
    return _msg(b"t", _INT16.pack(len(oids)) + b"".join(_UINT32.pack(o) for o in oids))


def _copy_response(kind: bytes, overall: int, column_formats: Sequence[int]) -> bytes:
    payload = bytes([overall]) + _INT16.pack(len(column_formats))
    return _msg(kind, payload + b"".join(_INT16.pack(f) for f in column_formats))


def copy_in_response(overall: int, column_formats: Sequence[int]) -> bytes:
    return _copy_response(b"G", overall, column_formats)


def copy_out_response(overall: int, column_formats: Sequence[int]) -> bytes:
    return _copy_response(b"H", overall, column_formats)


def copy_data(data: bytes) -> bytes:
    return _msg(b"d", data)


def copy_done() -> bytes:
    return _msg(b"c")


def _fields(fields: dict[str, str]) -> bytes:
    return b"".join(code.encode() + _cstr(value) for code, value in fields.items()) + b"\x00"


def error_response(fields: dict[str, str]) -> bytes:
    """``E`` with the given one-letter fields (S, V, C, M, D, H, P, ...)."""
    return _msg(b"E", _fields(fields))


def notice_response(fields: dict[str, str]) -> bytes:
    return _msg(b"N", _fields(fields))


# --- fast field parsers for the messages of every round trip --------------------------------
# Each reads a well-formed body with a few C-level calls; anything unusual goes through
# ``parse_body``, whose checks raise the precise error (or accept what it accepts).


def bind_fields(
    data: bytes,
) -> tuple[str, str, tuple[int, ...], tuple[bytes | None, ...], tuple[int, ...]]:
    """(portal, statement, parameter formats, parameters, result formats) of a Bind body."""
    try:
        end = data.index(0)
        portal = data[:end].decode()
        pos = end + 1
        end = data.index(0, pos)
        statement = data[pos:end].decode()
        pos = end + 1
        n = _INT16.unpack_from(data, pos)[0]
        if n < 0:
            raise ValueError(n)
        pformats: tuple[int, ...] = struct.unpack_from(f">{n}h", data, pos + 2)
        pos += 2 + 2 * n
        n = _INT16.unpack_from(data, pos)[0]
        if n < 0:
            raise ValueError(n)
        pos += 2
        params: list[bytes | None] = []
        for _ in range(n):
            size = _INT32.unpack_from(data, pos)[0]
            pos += 4
            if size == -1:
                params.append(None)
                continue
            if size < 0 or pos + size > len(data):
                raise ValueError(size)
            params.append(data[pos : pos + size])
            pos += size
        n = _INT16.unpack_from(data, pos)[0]
        if n < 0:
            raise ValueError(n)
        rformats: tuple[int, ...] = struct.unpack_from(f">{n}h", data, pos + 2)
        if pos + 2 + 2 * n != len(data):
            raise ValueError(pos)
    except (ValueError, struct.error):
        msg = parse_body(ord("B"), data)
        assert isinstance(msg, Bind)
        return msg.portal, msg.statement, msg.param_formats, msg.params, msg.result_formats
    return portal, statement, pformats, tuple(params), rformats


def execute_fields(data: bytes) -> tuple[str, int]:
    """(portal, max_rows) of an Execute body."""
    end = data.find(b"\x00")
    if end >= 0 and len(data) == end + 5:
        try:
            return data[:end].decode(), max(_INT32.unpack_from(data, end + 1)[0], 0)
        except ValueError:
            pass
    msg = parse_body(ord("E"), data)
    assert isinstance(msg, Execute)
    return msg.portal, msg.max_rows


def target_fields(kind: int, data: bytes) -> tuple[str, str]:
    """(kind "S"/"P", name) of a Describe or Close body."""
    if len(data) >= 2 and data[0] in (0x53, 0x50) and data.find(b"\x00", 1) == len(data) - 1:
        try:
            return chr(data[0]), data[1:-1].decode()
        except ValueError:
            pass
    msg = parse_body(kind, data)
    assert isinstance(msg, Describe | Close)
    return msg.kind, msg.name


def query_text(data: bytes) -> str:
    """The SQL of a Query body."""
    if data and data.find(b"\x00") == len(data) - 1:
        try:
            return data[:-1].decode()
        except ValueError:
            pass
    msg = parse_body(ord("Q"), data)
    assert isinstance(msg, Query)
    return msg.sql


# ReadyForQuery by transaction status, built once
READY: Final = {status: ready_for_query(status) for status in "ITE"}
_TAGS: dict[str, bytes] = {}


def command_complete_cached(tag: str) -> bytes:
    """``command_complete`` for tags that come back often (``SELECT 1``), kept."""
    out = _TAGS.get(tag)
    if out is None:
        out = command_complete(tag)
        if len(_TAGS) < 1024:
            _TAGS[tag] = out
    return out
