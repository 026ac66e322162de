"""A thread-safe LRU cache of text embeddings."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Hashable

import numpy as np


class EmbeddingCache:
    """Least-recently-used map of keys (model fingerprint, text) to read-only embedding rows.

    ``capacity`` 0 disables caching: every lookup misses and nothing is stored.
    """

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self._entries: OrderedDict[Hashable, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, key: Hashable) -> np.ndarray | None:
        """The cached row for ``key`` (marking it recently used), or ``None``."""
        with self._lock:
            value = self._entries.get(key)
            if value is not None:
                self._entries.move_to_end(key)
            return value

    def put(self, key: Hashable, value: np.ndarray) -> None:
        """Store ``value`` (copied, read-only), evicting the least recently used entries beyond capacity."""
        if self.capacity == 0:
            return
        row = np.array(value, dtype=np.float32)
        row.setflags(write=False)
        with self._lock:
            self._entries[key] = row
            self._entries.move_to_end(key)
            while len(self._entries) > self.capacity:
                self._entries.popitem(last=False)
