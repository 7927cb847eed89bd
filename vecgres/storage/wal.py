"""The write-ahead log: record framing, group commit and the recovery scan."""

from __future__ import annotations

import os
import struct
import threading
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

import numpy as np
import pyarrow as pa

from vecgres.config import Settings
from vecgres.errors import DataCorrupted, DiskFull, IoError, Panic
from vecgres.storage import fileio
from vecgres.storage.batch import CommitBatch, TableChange

MAGIC: Final = 0x52574756  # "VGWR" little-endian
MAGIC_BYTES: Final = struct.pack("<I", MAGIC)
HEADER: Final = struct.Struct("<IIQI")  # magic, payload length, lsn, crc32
HEADER_SIZE: Final = HEADER.size
PAYLOAD_VERSION: Final = 1
NO_CATALOG: Final = 0xFFFFFFFF
FLAG_TRUNCATE: Final = 1
FLAG_DROP: Final = 2
_U8 = struct.Struct("<B")
_U32 = struct.Struct("<I")
_U64 = struct.Struct("<Q")
_TABLE_HEAD = struct.Struct("<QBQ")


def wal_name(seq: int) -> str:
    return f"{seq:08d}.wal"


# --- payload ---------------------------------------------------------------


class IpcStream:
    """An Arrow IPC stream of record batches, serialized when written, never held.

    A bulk load's stream is as big as its data: building it in memory would
    cost a buffer of that size and a copy into it. Its size is measured
    without copying; the checksum and the write each serialize it into a sink
    that sees Arrow's own buffers (IPC serialization is deterministic).
    """

    __slots__ = ("batches", "size")

    def __init__(self, batches: list[pa.RecordBatch]) -> None:
        self.batches = batches
        mock = pa.MockOutputStream()
        _write_stream(mock, batches)
        self.size: int = mock.size()

    def __len__(self) -> int:
        return self.size

    def crc32(self, crc: int) -> int:
        sink = _Sink(None)
        sink.crc = crc
        self._write(sink)
        return sink.crc

    def write(self, out: Callable[[memoryview], object]) -> None:
        """Serialize into ``out`` in pieces (small ones joined, big ones as they are)."""
        sink = _Sink(out)
        self._write(sink)
        if sink.written != self.size:
            raise OSError(f"IPC stream wrote {sink.written} bytes, measured {self.size}")

    def to_buffer(self) -> pa.Buffer:
        buf = pa.allocate_buffer(self.size)
        _write_stream(pa.FixedSizeBufferWriter(buf), self.batches)
        return buf

    def _write(self, sink: _Sink) -> None:
        try:
            _write_stream(pa.PythonFile(sink, mode="w"), self.batches)
        except Exception:
            if sink.error is not None:  # the sink's own failure (an OSError of the write)
                raise sink.error from None
            raise
        sink.flush()


class _Sink:
    """A file-like target for ``pa.PythonFile``: the running crc32 (``out`` None) or
    the pieces out in order."""

    _JOIN = 64 * 1024  # writes smaller than this are joined (the IPC metadata, padding)

    def __init__(self, out: Callable[[memoryview], object] | None) -> None:
        self.out = out
        self.crc = 0
        self.written = 0
        self.small = bytearray()
        self.error: BaseException | None = None
        self.closed = False

    def write(self, data: bytes | pa.Buffer) -> int:
        try:
            view = memoryview(data)
            size = len(view)
            self.written += size
            if self.out is None:
                self.crc = zlib.crc32(view, self.crc)
            elif size < self._JOIN:
                self.small += view
                if len(self.small) >= self._JOIN:
                    self.flush()
            else:
                self.flush()
                self.out(view)
            return size
        except BaseException as exc:
            self.error = exc
            raise

    def flush(self) -> None:
        if self.small and self.out is not None:
            piece, self.small = self.small, bytearray()
            self.out(memoryview(piece))

    def close(self) -> None:
        self.closed = True


def _ipc_streams(batches: list[pa.RecordBatch]) -> list[IpcStream]:
    """One IPC stream per run of batches that share a schema."""
    streams: list[IpcStream] = []
    run: list[pa.RecordBatch] = []
    for batch in batches:
        if run and not batch.schema.equals(run[0].schema):
            streams.append(IpcStream(run))
            run = []
        run.append(batch)
    if run:
        streams.append(IpcStream(run))
    return streams


def _write_stream(sink: pa.NativeFile, batches: list[pa.RecordBatch]) -> None:
    with pa.ipc.new_stream(sink, batches[0].schema) as writer:
        for batch in batches:
            writer.write_batch(batch)


# IPC streams at least this big are streamed into the file, not copied into the record
_WRITE_AS_IS: Final = 1 << 20

Part = bytes | IpcStream
Payload = bytes | list[Part]


def encode_payload(batch: CommitBatch) -> bytes:
    return b"".join(
        part if isinstance(part, bytes) else part.to_buffer().to_pybytes()
        for part in encode_payload_parts(batch)
    )


def encode_payload_parts(batch: CommitBatch) -> list[Part]:
    """``encode_payload`` in pieces: big IPC streams stay unserialized until written
    (a bulk load's record is as big as its data; each copy of it costs)."""
    parts: list[bytes | IpcStream] = [_U8.pack(PAYLOAD_VERSION)]
    if batch.catalog is None:
        parts.append(_U32.pack(NO_CATALOG))
    else:
        parts += [_U32.pack(len(batch.catalog)), batch.catalog]
    parts.append(_U32.pack(len(batch.tables)))
    for change in batch.tables:
        flags = (FLAG_TRUNCATE if change.truncate else 0) | (FLAG_DROP if change.drop else 0)
        deletes = (
            np.empty(0, dtype="<i8")
            if change.deletes is None
            else np.ascontiguousarray(change.deletes, dtype="<i8")
        )
        parts += [_TABLE_HEAD.pack(change.table_id, flags, len(deletes)), deletes.tobytes()]
        streams = _ipc_streams(change.inserts)
        parts.append(_U32.pack(len(streams)))
        for stream in streams:
            parts += [
                _U64.pack(stream.size),
                stream if stream.size >= _WRITE_AS_IS else stream.to_buffer().to_pybytes(),
            ]
    out: list[Part] = []
    small: list[bytes] = []
    for part in parts:
        if isinstance(part, IpcStream):
            out += [b"".join(small), part] if small else [part]
            small = []
        else:
            small.append(part)
    if small:
        out.append(b"".join(small))
    return out


def decode_payload(buf: pa.Buffer) -> CommitBatch:
    """Inverse of encode_payload; insert batches reference ``buf`` (no copy)."""
    view = memoryview(buf)
    pos = 0
    (version,) = _U8.unpack_from(view, pos)
    pos += 1
    if version != PAYLOAD_VERSION:
        raise ValueError(f"unknown WAL payload version {version}")
    (cat_len,) = _U32.unpack_from(view, pos)
    pos += 4
    catalog: bytes | None = None
    if cat_len != NO_CATALOG:
        catalog = bytes(view[pos : pos + cat_len])
        pos += cat_len
    (n_tables,) = _U32.unpack_from(view, pos)
    pos += 4
    tables: list[TableChange] = []
    for _ in range(n_tables):
        table_id, flags, n_del = _TABLE_HEAD.unpack_from(view, pos)
        pos += _TABLE_HEAD.size
        deletes = np.frombuffer(view, dtype="<i8", count=n_del, offset=pos).astype(np.int64)
        pos += 8 * n_del
        (n_streams,) = _U32.unpack_from(view, pos)
        pos += 4
        inserts: list[pa.RecordBatch] = []
        for _ in range(n_streams):
            (size,) = _U64.unpack_from(view, pos)
            pos += 8
            reader = pa.ipc.open_stream(buf.slice(pos, size))
            inserts.extend(reader)
            pos += size
        tables.append(
            TableChange(
                table_id=table_id,
                inserts=inserts,
                deletes=deletes if n_del else None,
                truncate=bool(flags & FLAG_TRUNCATE),
                drop=bool(flags & FLAG_DROP),
            )
        )
    if pos != len(view):
        raise ValueError("trailing bytes in WAL payload")
    return CommitBatch(tables=tables, catalog=catalog)


def frame(lsn: int, payload: bytes) -> bytes:
    return frame_head(lsn, [payload]) + payload


def frame_head(lsn: int, parts: list[Part]) -> bytes:
    """The record header of a payload given in pieces (their concatenation)."""
    head = struct.pack("<IIQ", MAGIC, sum(len(p) for p in parts), lsn)
    crc = zlib.crc32(head)
    for part in parts:
        crc = zlib.crc32(part, crc) if isinstance(part, bytes) else part.crc32(crc)
    return head + _U32.pack(crc)


def _valid_at(data: bytes, offset: int) -> tuple[int, int] | None:
    """(lsn, payload length) if a complete, checksummed record starts here."""
    if len(data) - offset < HEADER_SIZE:
        return None
    magic, length, lsn, crc = HEADER.unpack_from(data, offset)
    if magic != MAGIC or length > len(data) - offset - HEADER_SIZE:
        return None
    view = memoryview(data)
    start = offset + HEADER_SIZE
    if zlib.crc32(view[start : start + length], zlib.crc32(view[offset : offset + 16])) != crc:
        return None
    return lsn, length


def _any_valid_after(data: bytes, offset: int) -> int | None:
    """Offset of any valid record starting after ``offset`` (by magic search)."""
    pos = data.find(MAGIC_BYTES, offset + 1)
    while pos >= 0:
        if _valid_at(data, pos) is not None:
            return pos
        pos = data.find(MAGIC_BYTES, pos + 1)
    return None


@dataclass(slots=True)
class WalFileInfo:
    seq: int
    path: str
    first_lsn: int | None
    last_lsn: int | None
    size: int


def scan(wal_dir: str) -> tuple[list[tuple[int, pa.Buffer]], list[WalFileInfo]]:
    """Every valid record as (lsn, payload), in order, and the files holding them.

    A torn tail is truncated (and later files without a valid record are
    removed); a bad record followed by a valid one raises DataCorrupted.
    """
    names = [n for n in fileio.listdir(wal_dir) if n.endswith(".wal") and n[:-4].isdigit()]
    paths = [os.path.join(wal_dir, n) for n in names]
    records: list[tuple[int, pa.Buffer]] = []
    infos: list[WalFileInfo] = []
    prev_lsn: int | None = None
    for file_idx, path in enumerate(paths):
        data = fileio.read_bytes(path)
        info = WalFileInfo(int(names[file_idx][:-4]), path, None, None, len(data))
        infos.append(info)
        buf = pa.py_buffer(data)
        offset = 0
        while offset < len(data):
            found = _valid_at(data, offset)
            if found is None:
                _bad_record(data, offset, path, paths[file_idx + 1 :])
                info.size = offset
                return records, infos
            lsn, length = found
            if prev_lsn is not None and lsn != prev_lsn + 1:
                raise DataCorrupted(
                    f'invalid WAL record in file "{path}" at offset {offset}',
                    detail=f"expected LSN {prev_lsn + 1}, found {lsn}",
                )
            records.append((lsn, buf.slice(offset + HEADER_SIZE, length)))
            if info.first_lsn is None:
                info.first_lsn = lsn
            info.last_lsn = lsn
            prev_lsn = lsn
            offset += HEADER_SIZE + length
    return records, infos


def _bad_record(data: bytes, offset: int, path: str, later: list[str]) -> None:
    """Decide between a torn tail (truncate) and corruption (raise)."""
    hit = _any_valid_after(data, offset)
    if hit is not None:
        raise DataCorrupted(
            f'invalid WAL record in file "{path}" at offset {offset}',
            detail=f"a valid record follows at offset {hit}",
        )
    for other in later:
        other_data = fileio.read_bytes(other)
        if _valid_at(other_data, 0) is not None or _any_valid_after(other_data, -1) is not None:
            raise DataCorrupted(
                f'invalid WAL record in file "{path}" at offset {offset}',
                detail=f'valid records follow in "{other}"',
            )
    fileio.truncate_file(path, offset)
    for other in later:
        fileio.unlink(other)


# --- the writer ------------------------------------------------------------


class Wal:
    """Appends records to wal/<seq>.wal and makes them durable (group commit)."""

    def __init__(
        self, wal_dir: str, settings: Settings, files: list[WalFileInfo], last_lsn: int
    ) -> None:
        self._dir = wal_dir
        self._settings = settings
        self._lock = threading.Lock()  # write position, lsn, current file
        self._cv = threading.Condition(threading.Lock())  # fsync coordination
        self._syncing = False
        self._panic: str | None = None
        self.files = list(files)
        self.last_lsn = last_lsn
        self.synced_lsn = last_lsn
        next_seq = (max(f.seq for f in files) + 1) if files else 1
        self._cur = self._new_file(next_seq)

    def _new_file(self, seq: int) -> fileio.AppendFile:
        path = os.path.join(self._dir, wal_name(seq))
        f = fileio.AppendFile(path, create=True)
        if self._settings.fsync:
            fileio.fsync_dir(self._dir)
        self.files.append(WalFileInfo(seq, path, None, None, 0))
        return f

    @property
    def total_bytes(self) -> int:
        return sum(f.size for f in self.files)

    def check(self) -> None:
        if self._panic is not None:
            raise Panic(self._panic)

    def append(self, payload: Payload, on_written: Callable[[int], None] | None = None) -> int:
        """Write one record; returns its LSN. ``on_written`` runs under the WAL
        lock, so callers can order follow-up work by LSN."""
        with self._lock:
            self.check()
            lsn = self.last_lsn + 1
            parts: list[Part] = [payload] if isinstance(payload, bytes) else payload
            head = frame_head(lsn, parts)
            # a small record stays one write, as before
            pieces = (
                [head + parts[0]]
                if len(parts) == 1 and isinstance(parts[0], bytes)
                else [head, *parts]
            )
            cur = self._cur
            start = cur.size
            try:
                for piece in pieces:
                    if isinstance(piece, bytes):
                        cur.append(memoryview(piece))
                    else:
                        piece.write(cur.append)
            except OSError as exc:
                self._undo(cur, start)
                if exc.errno == 28:  # ENOSPC
                    raise DiskFull(
                        f'could not extend file "{cur.path}": No space left on device'
                    ) from exc
                raise IoError(f'could not write to file "{cur.path}": {exc.strerror}') from exc
            info = self.files[-1]
            if info.first_lsn is None:
                info.first_lsn = lsn
            info.last_lsn = lsn
            info.size = cur.size
            self.last_lsn = lsn
            if on_written is not None:
                on_written(lsn)
            fileio.crashpoint("wal.after_write_before_fsync")
            if cur.size >= self._settings.wal_file_bytes:
                try:
                    self._switch()
                except Panic:
                    raise
                except OSError as exc:
                    # the record is written but the next file cannot be started
                    self._panic = f'could not create WAL file in "{self._dir}": {exc.strerror}'
                    raise Panic(self._panic) from exc
            return lsn

    def _undo(self, cur: fileio.AppendFile, start: int) -> None:
        try:
            cur.truncate(start)
        except OSError as exc:
            self._panic = f'could not truncate file "{cur.path}" after a failed write: {exc}'
            raise Panic(self._panic) from exc

    def _switch(self) -> None:
        """Close the full file (durable first) and start the next one."""
        old = self._cur
        if self._settings.fsync:
            self._fsync(old)
        with self._cv:
            self.synced_lsn = max(self.synced_lsn, self.last_lsn)
            self._cv.notify_all()
        self._cur = self._new_file(self.files[-1].seq + 1)
        old.close()

    def _fsync(self, f: fileio.AppendFile | fileio.SyncHandle) -> None:
        try:
            f.fsync()
        except OSError as exc:
            self._panic = f'could not fsync file "{f.path}": {exc.strerror}'
            with self._cv:
                self._cv.notify_all()
            raise Panic(self._panic) from exc

    def sync_to(self, lsn: int) -> None:
        """Return once the record at ``lsn`` is durable; concurrent callers share fsyncs."""
        if not self._settings.fsync:
            return
        while True:
            with self._cv:
                while True:
                    if self._panic is not None:
                        raise Panic(self._panic)
                    if self.synced_lsn >= lsn:
                        return
                    if not self._syncing:
                        self._syncing = True
                        break
                    self._cv.wait()
            try:
                self._lead_sync()
            finally:
                with self._cv:
                    self._syncing = False
                    self._cv.notify_all()

    def _lead_sync(self) -> None:
        delay = self._settings.commit_delay_us
        if delay > 0:
            time.sleep(delay / 1e6)  # let other committers join this fsync
        with self._lock:
            target = self.last_lsn
            handle = self._cur.sync_handle()
        try:
            self._fsync(handle)
        finally:
            handle.close()
        with self._cv:
            self.synced_lsn = max(self.synced_lsn, target)

    def sync_all(self) -> None:
        self.sync_to(self.last_lsn)

    def recycle(self, bound: int) -> None:
        """Delete closed WAL files whose records are all <= bound."""
        with self._lock:
            keep: list[WalFileInfo] = []
            drop: list[WalFileInfo] = []
            for info in self.files[:-1]:
                (drop if info.last_lsn is None or info.last_lsn <= bound else keep).append(info)
            if not drop:
                return
            self.files = [*keep, self.files[-1]]
        for info in drop:
            fileio.unlink(info.path)

    def close(self) -> None:
        with self._lock:
            self._cur.close()
