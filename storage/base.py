"""The storage interface every backend implements."""

from __future__ import annotations

import datetime
from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import Any

import numpy as np

from paraseek.errors import InvalidArgument, InvalidFilter
from paraseek.filters import Filter
from paraseek.storage.types import CollectionInfo, FieldType, Hit, Point, canonical_id

# Collection metadata keys the stores keep for themselves (hidden from CollectionInfo.metadata).
RESERVED_METADATA_KEY = "_paraseek_storage"
MAX_TOP_K = 10_000
MAX_SCROLL_LIMIT = 100_000


class VectorStore(ABC):
    """Named collections of cosine-similarity vectors with indexed payloads, and aliases over them.

    Every method that reads a collection accepts an alias in its place. Errors are the typed ones
    of ``paraseek.errors``: ``CollectionNotFound``, ``AlreadyExists``, ``InvalidFilter``,
    ``InvalidArgument`` (dimension mismatch, bad id), ``Unavailable`` (backend unreachable),
    ``FailedPrecondition`` (embedded collection locked by another process).
    """

    @abstractmethod
    def create_collection(self, name: str, *, dim: int, payload_schema: dict[str, FieldType],
                          metadata: dict[str, Any] | None = None, **options: Any) -> CollectionInfo:
        """Create an empty collection with a payload index on every field of ``payload_schema``.

        ``metadata`` (JSON-able) is kept with the collection; ``created`` (ISO time) is added when
        absent. Raises ``AlreadyExists`` if a collection or alias of that name exists.
        """

    @abstractmethod
    def delete_collection(self, name: str) -> None:
        """Delete the physical collection ``name`` and the aliases that point to it."""

    @abstractmethod
    def list_collections(self) -> list[CollectionInfo]:
        """Every physical collection, sorted by name."""

    @abstractmethod
    def describe(self, name: str) -> CollectionInfo:
        """The collection ``name`` (or the one the alias ``name`` points to)."""

    @abstractmethod
    def resolve(self, name: str) -> str:
        """The physical collection behind ``name`` (an alias or a physical name)."""

    @abstractmethod
    def set_alias(self, alias: str, collection: str) -> None:
        """Create ``alias`` or atomically re-point it to ``collection``."""

    @abstractmethod
    def delete_alias(self, alias: str) -> None:
        """Remove ``alias`` (``CollectionNotFound`` if there is none)."""

    @abstractmethod
    def upsert(self, collection: str, points: Sequence[Point]) -> None:
        """Insert or replace points by id (idempotent); vectors must have the collection's dimension."""

    @abstractmethod
    def retrieve(self, collection: str, ids: Sequence[str], *, with_vectors: bool = False) -> list[Point]:
        """The stored points among ``ids``, in the order asked; missing ids are skipped.

        Vectors come back unit-normalised (cosine collections store them so); without
        ``with_vectors`` a point's ``vector`` is an empty array.
        """

    @abstractmethod
    def existing_ids(self, collection: str, ids: Sequence[str]) -> set[str]:
        """The subset of ``ids`` (canonical form) that is stored."""

    @abstractmethod
    def count(self, collection: str, filter: Filter | None = None) -> int:
        """Exact number of points, optionally only those matching ``filter``."""

    @abstractmethod
    def scroll(self, collection: str, *, filter: Filter | None = None, limit: int = 256, offset: str | None = None,
               with_vectors: bool = False) -> tuple[list[Point], str | None]:
        """One page of points in id order, and the offset of the next page (``None`` at the end).

        Vectors are as in :meth:`retrieve`.
        """

    @abstractmethod
    def search(self, collection: str, vector: np.ndarray, *, top_k: int = 10, filter: Filter | None = None,
               score_threshold: float | None = None, with_payload: bool | Sequence[str] = True,
               group_by: str | None = None, exact: bool = False, with_vectors: bool = False) -> list[Hit]:
        """The ``top_k`` most cosine-similar points, best first.

        ``group_by`` returns at most one (the best) hit per distinct value of that keyword or
        integer payload field; points without the field are left out. ``exact`` bypasses the
        approximate (HNSW) index. ``with_payload`` may list the payload keys to return.
        """

    @abstractmethod
    def finalize(self, collection: str) -> None:
        """Make the collection fast to query (build its HNSW index, or wait until the server has)."""

    @abstractmethod
    def flush(self) -> None:
        """Persist pending writes."""

    @abstractmethod
    def close(self) -> None:
        """Flush and release every resource; the store is unusable afterwards."""

    def __enter__(self) -> VectorStore:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def creation_metadata(metadata: dict[str, Any] | None) -> dict[str, Any]:
    """The user's metadata plus ``created`` (UTC ISO-8601) when absent."""
    if metadata is not None and not isinstance(metadata, dict):
        raise InvalidArgument("metadata must be a dict")
    result = dict(metadata or {})
    if RESERVED_METADATA_KEY in result:
        raise InvalidArgument(f"metadata key {RESERVED_METADATA_KEY!r} is reserved")
    result.setdefault("created", datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"))
    return result


def check_dim(dim: Any) -> int:
    """``dim`` if it is a positive integer of sane size."""
    if isinstance(dim, bool) or not isinstance(dim, (int, np.integer)) or not 0 < int(dim) <= 65_536:
        raise InvalidArgument(f"dim must be an integer in 1..65536, got {dim!r}")
    return int(dim)


def check_top_k(top_k: Any) -> int:
    """``top_k`` if it is an integer in 1..MAX_TOP_K."""
    if isinstance(top_k, bool) or not isinstance(top_k, (int, np.integer)) or not 0 < int(top_k) <= MAX_TOP_K:
        raise InvalidArgument(f"top_k must be an integer in 1..{MAX_TOP_K}, got {top_k!r}")
    return int(top_k)


def check_limit(limit: Any) -> int:
    """A scroll page size in 1..MAX_SCROLL_LIMIT."""
    if isinstance(limit, bool) or not isinstance(limit, (int, np.integer)) or not 0 < int(limit) <= MAX_SCROLL_LIMIT:
        raise InvalidArgument(f"limit must be an integer in 1..{MAX_SCROLL_LIMIT}, got {limit!r}")
    return int(limit)


def check_filter(filter: Any) -> Filter | None:
    """``filter`` if it is a Filter (or None); empty filters become None."""
    if filter is None:
        return None
    if not isinstance(filter, Filter):
        raise InvalidFilter(f"filter must be a paraseek.storage.Filter, got {type(filter).__name__}")
    return None if filter.is_empty else filter


def unique_ids(ids: Sequence[str]) -> list[str]:
    """Canonical ids in first-seen order, without duplicates."""
    if isinstance(ids, str):
        raise InvalidArgument("ids must be a sequence of UUID strings, not one string")
    return list(dict.fromkeys(canonical_id(i) for i in ids))


def payload_selector(with_payload: bool | Sequence[str]) -> bool | list[str]:
    """Validate ``with_payload``: a bool or a list of payload keys."""
    if isinstance(with_payload, bool):
        return with_payload
    if isinstance(with_payload, str) or not all(isinstance(k, str) and k for k in with_payload):
        raise InvalidArgument("with_payload must be a bool or a list of payload keys")
    return list(with_payload)
