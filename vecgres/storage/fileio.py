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
import random
import shutil
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


_CRASH_HITS: dict[str, int] = {}


def crashpoint(name: str) -> None:
    """SIGKILL this process when ``VECGRES_CRASHPOINT`` names this point (after
    ``VECGRES_CRASHPOINT_SKIP`` earlier hits of it, default 0)."""
    if name not in CRASHPOINTS:
        raise AssertionError(f"crash point {name!r} is not registered")
    if os.environ.get("VECGRES_CRASHPOINT") == name:
        hits = _CRASH_HITS.get(name, 0)
        _CRASH_HITS[name] = hits + 1
        if hits >= int(os.environ.get("VECGRES_CRASHPOINT_SKIP", "0")):
            os.kill(os.getpid(), signal.SIGKILL)


OpRecord = tuple[str, str, int, int]

SECTOR: Final = 512


class PowerCut(BaseException):
    """Raised by every file operation once the simulated power cut happened."""


@dataclass(slots=True)
class _SimFile:
    durable: bytearray
    # unsynced changes in order: ("w", offset, data) or ("t", size, b"")
    pending: list[tuple[str, int, bytes]] = field(default_factory=list)


class PowerCutSim:
    """A model of what a disk holds after a power cut (SQLite test6.c style).

    File data becomes durable on fsync of that file; creates, renames, unlinks
    and mkdirs become durable on fsync of their directory. At the cut (the
    ``cut_at``-th file operation, or ``cut()``), every unsynced change is
    applied, dropped or torn (the first k 512-byte sectors written, the rest
    garbage); per directory a random prefix of the unsynced namespace changes
    survives. ``ordered`` keeps each file's writes in order (a random prefix
    reaches the disk, the next one possibly torn), like ext4's ordered
    writeback of an appended file; otherwise each write is independent.
    The resulting disk is written to ``target`` and every later operation
    raises ``PowerCut``.
    """

    def __init__(
        self, root: str, target: str, *, seed: int, cut_at: int | None, ordered: bool = True
    ) -> None:
        self.root = os.path.abspath(root)
        self.target = target
        self.rng = random.Random(seed)
        self.cut_at = cut_at
        self.ordered = ordered
        self.ops = 0
        self.done = False
        self.lock = threading.RLock()
        self._files: dict[int, _SimFile] = {}
        self._fds: dict[int, int] = {}
        self._names: dict[str, int] = {}  # the namespace as the running process sees it
        self._durable_names: dict[str, int] = {}
        self._durable_dirs: set[str] = set()
        self._dir_pending: dict[str, list[tuple[str, str, str, int]]] = {}
        for dirpath, _dirs, names in os.walk(self.root):
            self._durable_dirs.add(dirpath)
            for name in names:
                path = os.path.join(dirpath, name)
                with open(path, "rb") as f:
                    fid = len(self._files)
                    self._files[fid] = _SimFile(bytearray(f.read()))
                self._names[path] = self._durable_names[path] = fid

    def _mine(self, path: str) -> bool:
        return path == self.root or path.startswith(self.root + os.sep)

    def tick(self) -> None:
        with self.lock:
            if self.done:
                raise PowerCut("power cut")
            self.ops += 1
            if self.cut_at is not None and self.ops >= self.cut_at:
                self.cut()
                raise PowerCut("power cut")

    # --- recording ------------------------------------------------------------

    def on_open(self, fd: int, path: str, flags: int) -> None:
        path = os.path.abspath(path)
        if not self._mine(path):
            return
        with self.lock:
            fid = self._names.get(path)
            if fid is None:
                fid = len(self._files)
                self._files[fid] = _SimFile(bytearray())
                self._names[path] = fid
                self._dir_op("create", path, path, fid)
            elif flags & os.O_TRUNC:
                self._files[fid].pending.append(("t", 0, b""))
            self._fds[fd] = fid

    def on_close(self, fd: int) -> None:
        with self.lock:
            self._fds.pop(fd, None)

    def on_dup(self, old: int, new: int) -> None:
        with self.lock:
            if old in self._fds:
                self._fds[new] = self._fds[old]

    def on_write(self, fd: int, offset: int, data: bytes) -> None:
        with self.lock:
            fid = self._fds.get(fd)
            if fid is not None:
                self._files[fid].pending.append(("w", offset, data))

    def on_truncate(self, fd: int, size: int) -> None:
        with self.lock:
            fid = self._fds.get(fd)
            if fid is not None:
                self._files[fid].pending.append(("t", size, b""))

    def on_fsync(self, fd: int) -> None:
        with self.lock:
            fid = self._fds.get(fd)
            if fid is None:
                return
            f = self._files[fid]
            for change in f.pending:
                _apply_change(f.durable, change)
            f.pending.clear()

    def _dir_op(self, kind: str, src: str, dst: str, fid: int) -> None:
        self._dir_pending.setdefault(os.path.dirname(dst), []).append((kind, src, dst, fid))

    def on_rename(self, src: str, dst: str) -> None:
        src, dst = os.path.abspath(src), os.path.abspath(dst)
        if not self._mine(dst):
            return
        with self.lock:
            fid = self._names.pop(src, None)
            if fid is None:
                return
            self._names[dst] = fid
            self._dir_op("rename", src, dst, fid)

    def on_unlink(self, path: str) -> None:
        path = os.path.abspath(path)
        if not self._mine(path):
            return
        with self.lock:
            if self._names.pop(path, None) is not None:
                self._dir_op("unlink", path, path, -1)

    def on_mkdir(self, path: str) -> None:
        path = os.path.abspath(path)
        with self.lock:
            missing: list[str] = []
            while self._mine(path) and path not in self._durable_dirs:
                missing.append(path)
                path = os.path.dirname(path)
            for d in reversed(missing):
                self._dir_op("mkdir", d, d, -1)

    def on_fsync_dir(self, path: str) -> None:
        path = os.path.abspath(path)
        with self.lock:
            for op in self._dir_pending.pop(path, []):
                _apply_dir_op(self._durable_names, self._durable_dirs, op)

    # --- the cut ---------------------------------------------------------------

    def cut(self) -> str:
        """Materialize the post-cut disk in ``target``; later operations raise PowerCut."""
        with self.lock:
            if self.done:
                return self.target
            self.done = True
            names = dict(self._durable_names)
            dirs = set(self._durable_dirs)
            for _dir, ops in sorted(self._dir_pending.items()):
                for op in ops[: self.rng.randint(0, len(ops))]:
                    _apply_dir_op(names, dirs, op)
            contents = {fid: self._after_cut(self._files[fid]) for fid in set(names.values())}
            if os.path.exists(self.target):
                shutil.rmtree(self.target)
            for d in sorted(dirs):
                if self._mine(d) and (d == self.root or os.path.dirname(d) in dirs):
                    os.makedirs(os.path.join(self.target, os.path.relpath(d, self.root)))
            for path, fid in names.items():
                if os.path.dirname(path) not in dirs:
                    continue  # its directory entry never reached the disk
                with open(os.path.join(self.target, os.path.relpath(path, self.root)), "wb") as f:
                    f.write(contents[fid])
            return self.target

    def _after_cut(self, f: _SimFile) -> bytes:
        data = bytearray(f.durable)
        pending = f.pending
        if self.ordered:
            keep = self.rng.randint(0, len(pending))
            for change in pending[:keep]:
                _apply_change(data, change)
            if keep < len(pending):
                self._maybe_torn(data, pending[keep])
            return bytes(data)
        for change in pending:
            fate = self.rng.randrange(3)
            if fate == 0:
                _apply_change(data, change)
            elif fate == 1:
                self._maybe_torn(data, change)
        return bytes(data)

    def _maybe_torn(self, data: bytearray, change: tuple[str, int, bytes]) -> None:
        """Write the first k sectors of a write, garbage for the rest of it."""
        kind, offset, payload = change
        if kind != "w" or not payload:
            return
        end = offset + len(payload)
        first_boundary = (offset // SECTOR + 1) * SECTOR
        cuts = list(range(first_boundary, end, SECTOR))
        split = self.rng.choice([offset, *cuts])
        garbage = bytes(self.rng.getrandbits(8) for _ in range(min(end - split, 4 * SECTOR)))
        torn = payload[: split - offset] + garbage
        _apply_change(data, ("w", offset, torn))


def _apply_change(data: bytearray, change: tuple[str, int, bytes]) -> None:
    kind, offset, payload = change
    if kind == "t":
        del data[offset:]
        return
    if len(data) < offset:
        data.extend(bytes(offset - len(data)))
    data[offset : offset + len(payload)] = payload


def _apply_dir_op(names: dict[str, int], dirs: set[str], op: tuple[str, str, str, int]) -> None:
    kind, src, dst, fid = op
    if kind == "create":
        names[dst] = fid
    elif kind == "rename":
        names.pop(src, None)
        names[dst] = fid
    elif kind == "unlink":
        names.pop(dst, None)
    else:
        dirs.add(dst)


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
    powercut: PowerCutSim | None = None


HOOKS = IoHooks()


def reset_hooks() -> IoHooks:
    """Switch every hook off; returns the fresh hooks object."""
    global HOOKS
    HOOKS = IoHooks()
    return HOOKS


def _op(op: str, path: str, offset: int = 0, length: int = 0) -> None:
    hooks = HOOKS
    if hooks.powercut is not None:
        hooks.powercut.tick()
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


def makedirs(path: str, *, durable: bool = True) -> None:
    """Create a directory (and parents); with ``durable``, fsync each new
    entry's parent, or a power cut may lose the directory and what it holds."""
    if os.path.isdir(path):
        return
    path = os.path.abspath(path)
    created: list[str] = []
    probe = path
    while not os.path.isdir(probe):
        created.append(probe)
        probe = os.path.dirname(probe)
    _op("mkdir", path)
    os.makedirs(path, exist_ok=True)
    if (sim := HOOKS.powercut) is not None:
        sim.on_mkdir(path)
    if durable:
        for new in reversed(created):
            fsync_dir(os.path.dirname(new))


def fsync_dir(path: str) -> None:
    """fsync a directory; failure is FsyncError (D4) like a file's fsync."""
    try:
        _op("fsync_dir", path)
        if (sim := HOOKS.powercut) is not None:
            sim.on_fsync_dir(path)
        fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
    except FsyncError:
        raise
    except OSError as exc:
        raise FsyncError(exc.errno, exc.strerror, path) from exc


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
        if (sim := HOOKS.powercut) is not None:
            sim.on_unlink(path)


def rmdir(path: str) -> None:
    _op("rmdir", path)
    # not empty or gone: harmless, the next open cleans up
    with contextlib.suppress(OSError):
        os.rmdir(path)


def rename(src: str, dst: str) -> None:
    _op("rename", dst)
    os.replace(src, dst)
    if (sim := HOOKS.powercut) is not None:
        sim.on_rename(src, dst)


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
        _close_fd(fd)
        with contextlib.suppress(OSError):
            os.unlink(tmp)
            if (sim := HOOKS.powercut) is not None:
                sim.on_unlink(tmp)
        raise
    _close_fd(fd)
    if before_rename:
        crashpoint(before_rename)
    try:
        rename(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
            if (sim := HOOKS.powercut) is not None:
                sim.on_unlink(tmp)
        raise
    fsync_dir(os.path.dirname(path) or ".")


def memory_map(path: str) -> pa.MemoryMappedFile:
    _op("mmap", path)
    return pa.memory_map(path, "r")


# --- append files (the WAL) -----------------------------------------------


def _open_fd(path: str, flags: int) -> int:
    _op("open", path)
    fd = os.open(path, flags | os.O_CLOEXEC, 0o644)
    if (sim := HOOKS.powercut) is not None:
        sim.on_open(fd, path, flags)
    return fd


def _close_fd(fd: int) -> None:
    os.close(fd)
    if (sim := HOOKS.powercut) is not None:
        sim.on_close(fd)


def _write_all(fd: int, path: str, offset: int, data: memoryview) -> None:
    total = len(data)
    done = 0
    sim = HOOKS.powercut
    if _should_short_write() and total > 1:
        half = total // 2
        os.pwrite(fd, data[:half], offset)
        if sim is not None:
            sim.on_write(fd, offset, bytes(data[:half]))
        done = half
    while done < total:
        _op("write", path, offset + done, total - done)
        n = os.pwrite(fd, data[done:], offset + done)
        if sim is not None:
            sim.on_write(fd, offset + done, bytes(data[done : done + n]))
        done += n


class FsyncError(OSError):
    """fsync failed: the page cache state is unknown, so callers must PANIC (D4)."""


def _fsync_fd(fd: int, path: str) -> None:
    try:
        _op("fsync", path)
        if (sim := HOOKS.powercut) is not None:
            sim.on_fsync(fd)
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
        _close_fd(self._fd)


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
        if (sim := HOOKS.powercut) is not None:
            sim.on_truncate(self._fd, size)
        self.size = size

    def fsync(self) -> None:
        _fsync_fd(self._fd, self.path)

    def sync_handle(self) -> SyncHandle:
        fd = os.dup(self._fd)
        if (sim := HOOKS.powercut) is not None:
            sim.on_dup(self._fd, fd)
        return SyncHandle(fd, self.path)

    def close(self) -> None:
        if self._fd >= 0:
            _close_fd(self._fd)
            self._fd = -1


def truncate_file(path: str, size: int) -> None:
    """Cut a file to size and make that durable (torn WAL tails)."""
    fd = _open_fd(path, os.O_WRONLY)
    try:
        _op("truncate", path, size)
        os.ftruncate(fd, size)
        if (sim := HOOKS.powercut) is not None:
            sim.on_truncate(fd, size)
        _fsync_fd(fd, path)
    finally:
        _close_fd(fd)


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
