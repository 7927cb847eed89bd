"""The only code that touches the filesystem.

Every operation goes through ``_op``, which feeds the test hooks: an
operation log ``(op, path, offset, length)`` and error injection on the N-th
counted operation. Crash points kill the process where tests ask for it.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import signal
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Final

import pyarrow as pa

from vecgres.errors import DatabaseLocked

# Every crashpoint() name used in storage; a test checks this list against the code.
CRASHPOINTS: Final[tuple[str, ...]] = (
    "wal.after_write_before_fsync",
    "wal.after_fsync_before_apply",
    "segment.seal.after_data_before_manifest",
    "manifest.after_tmp_before_rename",
    "manifest.after_rename_before_unlink",
    "compaction.after_data_before_manifest",
    "compaction.after_manifest_before_unlink",
)


def crashpoint(name: str) -> None:
    """SIGKILL this process when ``VECGRES_CRASHPOINT`` names this point."""
    if name not in CRASHPOINTS:
        raise AssertionError(f"crash point {name!r} is not registered")
    if os.environ.get("VECGRES_CRASHPOINT") == name:
        os.kill(os.getpid(), signal.SIGKILL)


OpRecord = tuple[str, str, int, int]


@dataclass(slots=True)
class IoHooks:
    """Test hooks. ``oplog`` records operations when not None. When ``fail_at``
    is N, the N-th counted operation (ops in ``fail_ops``, all if None) raises
    ``OSError(fail_errno)``; a write that fails with ``short_write`` first
    writes half of its bytes, as a real short write would."""

    oplog: list[OpRecord] | None = None
    fail_at: int | None = None
    fail_errno: int = errno.ENOSPC
    fail_ops: frozenset[str] | None = None
    short_write: bool = False
    count: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)


HOOKS = IoHooks()


def reset_hooks() -> IoHooks:
    """Switch every hook off; returns the fresh hooks object."""
    global HOOKS
    HOOKS = IoHooks()
    return HOOKS


def _op(op: str, path: str, offset: int = 0, length: int = 0) -> None:
    hooks = HOOKS
    if hooks.oplog is None and hooks.fail_at is None:
        return
    with hooks.lock:
        if hooks.oplog is not None:
            hooks.oplog.append((op, path, offset, length))
        if hooks.fail_at is None or (hooks.fail_ops is not None and op not in hooks.fail_ops):
            return
        hooks.count += 1
        if hooks.count != hooks.fail_at:
            return
        code = hooks.fail_errno
    raise OSError(code, os.strerror(code), path)


def _should_short_write() -> bool:
    hooks = HOOKS
    return hooks.short_write and hooks.fail_at is not None and hooks.count + 1 == hooks.fail_at


# --- directories -----------------------------------------------------------


def makedirs(path: str) -> None:
    if os.path.isdir(path):
        return
    _op("mkdir", path)
    os.makedirs(path, exist_ok=True)


def fsync_dir(path: str) -> None:
    _op("fsync_dir", path)
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def listdir(path: str) -> list[str]:
    try:
        return sorted(os.listdir(path))
    except FileNotFoundError:
        return []


def walk_files(root: str) -> Iterator[str]:
    """Every regular file under root (absolute paths)."""
    for dirpath, _dirnames, filenames in os.walk(root):
        for name in filenames:
            yield os.path.join(dirpath, name)


def exists(path: str) -> bool:
    return os.path.exists(path)


def file_size(path: str) -> int:
    return os.path.getsize(path)


def unlink(path: str) -> None:
    _op("unlink", path)
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)


def rmdir(path: str) -> None:
    _op("rmdir", path)
    # not empty or gone: harmless, the next open cleans up
    with contextlib.suppress(OSError):
        os.rmdir(path)


def rename(src: str, dst: str) -> None:
    _op("rename", dst)
    os.replace(src, dst)


# --- whole files -----------------------------------------------------------


def read_bytes(path: str) -> bytes:
    _op("read", path)
    with open(path, "rb") as f:
        return f.read()


def write_atomic(
    path: str, data: bytes | memoryview | pa.Buffer, *, before_rename: str = ""
) -> None:
    """Write a whole file durably: tmp, fsync, rename, fsync directory (D7)."""
    tmp = path + ".tmp"
    view = memoryview(data)
    fd = _open_fd(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
    try:
        _write_all(fd, tmp, 0, view)
        _fsync_fd(fd, tmp)
    except BaseException:
        os.close(fd)
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    os.close(fd)
    if before_rename:
        crashpoint(before_rename)
    try:
        rename(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    fsync_dir(os.path.dirname(path) or ".")


def memory_map(path: str) -> pa.MemoryMappedFile:
    _op("mmap", path)
    return pa.memory_map(path, "r")


# --- append files (the WAL) -----------------------------------------------


def _open_fd(path: str, flags: int) -> int:
    _op("open", path)
    return os.open(path, flags | os.O_CLOEXEC, 0o644)


def _write_all(fd: int, path: str, offset: int, data: memoryview) -> None:
    total = len(data)
    done = 0
    if _should_short_write() and total > 1:
        half = total // 2
        os.pwrite(fd, data[:half], offset)
        done = half
    while done < total:
        _op("write", path, offset + done, total - done)
        n = os.pwrite(fd, data[done:], offset + done)
        done += n


class FsyncError(OSError):
    """fsync failed: the page cache state is unknown, so callers must PANIC (D4)."""


def _fsync_fd(fd: int, path: str) -> None:
    try:
        _op("fsync", path)
        os.fsync(fd)
    except OSError as exc:
        raise FsyncError(exc.errno, exc.strerror, path) from exc


class SyncHandle:
    """A dup of an append file's descriptor, so a group-commit leader can
    fsync without holding the WAL lock while the file may be switched."""

    __slots__ = ("_fd", "path")

    def __init__(self, fd: int, path: str) -> None:
        self._fd = fd
        self.path = path

    def fsync(self) -> None:
        _fsync_fd(self._fd, self.path)

    def close(self) -> None:
        os.close(self._fd)


class AppendFile:
    """A file written only at its end, with explicit size tracking."""

    __slots__ = ("_fd", "path", "size")

    def __init__(self, path: str, *, create: bool) -> None:
        self.path = path
        flags = os.O_WRONLY | (os.O_CREAT | os.O_EXCL if create else 0)
        self._fd = _open_fd(path, flags)
        self.size = os.fstat(self._fd).st_size

    def append(self, data: bytes | memoryview) -> int:
        """Write data at the end; returns its offset. On error the caller truncates."""
        offset = self.size
        _write_all(self._fd, self.path, offset, memoryview(data))
        self.size = offset + len(data)
        return offset

    def truncate(self, size: int) -> None:
        _op("truncate", self.path, size)
        os.ftruncate(self._fd, size)
        self.size = size

    def fsync(self) -> None:
        _fsync_fd(self._fd, self.path)

    def sync_handle(self) -> SyncHandle:
        return SyncHandle(os.dup(self._fd), self.path)

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1


def truncate_file(path: str, size: int) -> None:
    """Cut a file to size and make that durable (torn WAL tails)."""
    fd = _open_fd(path, os.O_WRONLY)
    try:
        _op("truncate", path, size)
        os.ftruncate(fd, size)
        _fsync_fd(fd, path)
    finally:
        os.close(fd)


# --- the directory lock ----------------------------------------------------


class DirLock:
    """An exclusive flock on <dir>/LOCK, held for the life of a Store."""

    __slots__ = ("_fd",)

    def __init__(self, directory: str) -> None:
        path = os.path.join(directory, "LOCK")
        fd = _open_fd(path, os.O_RDWR | os.O_CREAT)
        try:
            _op("lock", path)
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            try:
                pid = os.pread(fd, 32, 0).decode("ascii", "replace").strip() or "unknown"
            finally:
                os.close(fd)
            raise DatabaseLocked(
                f'data directory "{directory}" is in use by another process (pid {pid})'
            ) from None
        except BaseException:
            os.close(fd)
            raise
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        self._fd = fd

    def release(self) -> None:
        if self._fd >= 0:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = -1
