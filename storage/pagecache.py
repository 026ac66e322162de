"""Reading an opened shard's memory-mapped files into the page cache, in the background.

Qdrant Edge pins the quantized vectors and the graphs in RAM, and leaves the float32 originals (read
to rescore the best candidates) and the payloads memory-mapped. In a shard that has just been
opened none of their pages are cached, so each query reads them from disk the first time: at a
million points that is up to a millisecond of a query's p50 until each page has been read once.
When the machine has the memory to spare, a background thread asks the kernel to read those files
ahead (``posix_fadvise(WILLNEED)`` in chunks: the kernel reads, nothing is copied through Python),
so a freshly started server answers at cached speed within seconds. The pages stay ordinary page
cache: under memory pressure the kernel evicts them, and queries read from disk again.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

#: Folders of a Qdrant Edge segment whose files are memory-mapped rather than loaded: the vectors
#: (float32 originals) and the payloads ...
MAPPED_FOLDERS = ("vector_storage", "payload_storage")
#: ... except the quantized vectors, which the store pins in RAM when the shard opens.
PINNED_PREFIX = "quantized"
#: The kernel reads ahead at most a few MB per hint, so larger files are advised in chunks.
CHUNK_BYTES = 8 << 20
#: Warm only when the files take at most this share of the memory the kernel reports available.
MAX_SHARE_OF_AVAILABLE = 0.5


def mapped_files(shard_dir: Path) -> list[Path]:
    """The memory-mapped files of every segment of the shard in ``shard_dir``."""
    return sorted(path for folder in MAPPED_FOLDERS for path in shard_dir.glob(f"segments/*/{folder}/**/*")
                  if path.is_file() and not path.name.startswith(PINNED_PREFIX))


def available_memory_bytes() -> int | None:
    """``MemAvailable`` from ``/proc/meminfo`` (``None`` where the kernel does not report it)."""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


class PageCacheWarmer:
    """A daemon thread that advises the kernel to read a shard's memory-mapped files into the page cache.

    ``advised`` counts the bytes advised so far; it stays 0 where the thread does not warm (the
    platform has no ``posix_fadvise``, or the files would take more than ``MAX_SHARE_OF_AVAILABLE``
    of the available memory). ``stop`` ends it after the chunk in progress; ``wait`` blocks until
    every chunk was advised.
    """

    def __init__(self, shard_dir: Path) -> None:
        self.advised = 0
        self._shard_dir = shard_dir
        self._stopping = threading.Event()
        self._finished = threading.Event()
        self._thread = threading.Thread(target=self._run, name="paraseek-page-cache", daemon=True)
        self._thread.start()

    def _plan(self) -> list[tuple[Path, int]]:
        """The files to advise with their sizes; none where they would not fit or cannot be advised."""
        if not hasattr(os, "posix_fadvise"):
            return []
        files = [(path, path.stat().st_size) for path in mapped_files(self._shard_dir)]
        available = available_memory_bytes()
        if available is None or sum(size for _, size in files) > MAX_SHARE_OF_AVAILABLE * available:
            return []
        return files

    def _advise(self, path: Path, size: int) -> None:
        fd = os.open(path, os.O_RDONLY)
        try:
            for offset in range(0, size, CHUNK_BYTES):
                if self._stopping.is_set():
                    return
                os.posix_fadvise(fd, offset, CHUNK_BYTES, os.POSIX_FADV_WILLNEED)
                self.advised += min(CHUNK_BYTES, size - offset)
        finally:
            os.close(fd)

    def _run(self) -> None:
        try:
            for path, size in self._plan():
                if self._stopping.is_set():
                    break
                try:
                    self._advise(path, size)
                except OSError:  # merged away or deleted meanwhile: the other files are still worth reading
                    continue
        except OSError:  # a file vanished while the files were listed (merged away, collection deleted)
            pass
        finally:
            self._finished.set()

    def wait(self, timeout: float | None = None) -> bool:
        """Block until every chunk has been advised (or ``timeout`` seconds); True if finished."""
        return self._finished.wait(timeout)

    def stop(self) -> None:
        """Stop after the chunk in progress and wait for the thread."""
        self._stopping.set()
        self._thread.join()
