"""The Qdrant Edge shards a process has open, the per-collection locks that guard them, and engine errors.

A collection directory holds a ``.lock`` file; the process that has the shard open (or is creating
the collection) holds an exclusive ``flock`` on it, so a second process gets ``StoreLocked`` (a ``FailedPrecondition``).
Within a process, stores over the same directory share one open shard, counted by user.
"""

from __future__ import annotations

import fcntl
import functools
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import qdrant_edge as qe

from paraseek.errors import CollectionNotFound, Internal, InvalidArgument, ParaseekError, StoreLocked
from paraseek.storage.jsonfile import write_json
from paraseek.storage.pagecache import PageCacheWarmer

LOCK_FILE = ".lock"
STATS_FILE = "stats.json"


@contextmanager
def edge_errors(what: str) -> Iterator[None]:
    """Turn qdrant-edge exceptions into typed errors (without the engine's file paths where they mean a lock)."""
    try:
        yield
    except ParaseekError:
        raise
    except ValueError as error:
        raise InvalidArgument(f"{what}: {error}") from None
    except Exception as error:  # qdrant-edge raises plain Exception for engine errors
        message = str(error)
        if "dimension" in message.lower():
            raise InvalidArgument(f"{what}: {message}") from None
        if "WouldBlock" in message or "init WAL" in message:
            raise StoreLocked(f"{what}: the shard is locked by another process") from None
        raise Internal(f"{what}: {message}") from None


def lock_collection(directory: Path, name: str) -> int:
    """Take the exclusive lock of the collection in ``directory``; the locked file descriptor.

    ``StoreLocked`` if another process (or another open file in this one) holds it.
    """
    try:
        fd = os.open(directory / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o644)
    except FileNotFoundError:
        raise CollectionNotFound(f"collection {name!r} was deleted") from None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        raise StoreLocked(
            f"collection {name!r} is open in another process (or being created there); the embedded store lets "
            "one process at a time use a collection: stop the other process, or serve the collection from a "
            "Qdrant server"
        ) from None
    return fd


@dataclass
class OpenShard:
    """One open shard, the lock that guards it and the stores using it."""

    shard: qe.EdgeShard
    lock_fd: int
    #: Reads the shard's memory-mapped files into the page cache after opening.
    warmer: PageCacheWarmer
    users: set[int] = field(default_factory=set)
    dirty: bool = False
    #: Points written since the last graph segment was sealed (``None``: not read from the shard yet).
    unsealed: int | None = None

    def save_stats(self, directory: Path) -> None:
        """Flush the shard and, if written to, record its point count for other processes."""
        self.shard.flush()
        if self.dirty:
            write_json(directory / STATS_FILE, {"count": self.shard.info().points_count})
            self.dirty = False


_OPEN: dict[str, OpenShard] = {}
_OPEN_LOCK = threading.Lock()


@functools.lru_cache(maxsize=4096)
def _key(directory: Path) -> str:
    """The one name of a collection directory, however it is reached (resolved once per path: every
    search asks, and resolving costs a system call per path component)."""
    return str(directory.resolve())


def acquire(directory: Path, user: int, name: str) -> OpenShard:
    """The open shard in ``directory`` (opened and locked if this process has not yet), used by ``user``."""
    key = _key(directory)
    with _OPEN_LOCK:
        entry = _OPEN.get(key)
        if entry is None:
            fd = lock_collection(directory, name)
            try:
                with edge_errors(f"opening collection {name!r}"):
                    shard = qe.EdgeShard.load(str(directory / "shard"))
            except BaseException:
                os.close(fd)
                raise
            entry = _OPEN[key] = OpenShard(shard, fd, PageCacheWarmer(directory / "shard"))
        entry.users.add(user)
        return entry


def opened(directory: Path) -> OpenShard | None:
    """The shard in ``directory`` if this process has it open."""
    return _OPEN.get(_key(directory))


def release(directory: Path, user: int) -> None:
    """``user`` is done with the shard; the last user closes it and drops its lock."""
    key = _key(directory)
    with _OPEN_LOCK:
        entry = _OPEN.get(key)
        if entry is None:
            return
        entry.users.discard(user)
        if entry.users:
            return
        del _OPEN[key]
    _close(directory, entry)


def close_for_deletion(directory: Path) -> None:
    """Close the shard in ``directory`` for every user of this process (the collection is being deleted)."""
    with _OPEN_LOCK:
        entry = _OPEN.pop(_key(directory), None)
    if entry is not None:
        _close(directory, entry)


def _close(directory: Path, entry: OpenShard) -> None:
    entry.warmer.stop()
    try:
        with edge_errors(f"closing collection {directory.name!r}"):
            entry.save_stats(directory)
            entry.shard.close()
    finally:
        os.close(entry.lock_fd)
