"""Small JSON files that other processes read while they change: atomic replacement and change detection."""

from __future__ import annotations

import json
import os
import uuid
from pathlib import Path
from typing import Any

# What identifies one version of a file: inode, modification time, size.
FileKey = tuple[int, int, int]


def write_json(path: Path, data: Any) -> None:
    """Write JSON to ``path`` atomically (temporary file, fsync, rename, fsync of the directory)."""
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    with open(tmp, "w", encoding="utf-8") as handle:
        json.dump(data, handle, indent=1, sort_keys=True)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def file_key(path: Path) -> FileKey | None:
    """The version of ``path``, or None if it does not exist."""
    try:
        stat = path.stat()
    except FileNotFoundError:
        return None
    return stat.st_ino, stat.st_mtime_ns, stat.st_size
