"""The storage interface every backend implements."""

from __future__ import annotations

import datetime
import math
import time
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeAlias

import numpy as np

from paraseek.errors import DeadlineExceeded, InvalidArgument, InvalidFilter
from paraseek.filters import Filter
from paraseek.limits import MAX_TOP_K
from paraseek.storage.types import (
    CollectionInfo,
    FieldType,
    Hit,
    Point,
    canonical_id,
    check_field_path,
    check_name,
    check_schema,
    check_vector,
    plain_payload,
)

# Collection metadata keys the stores keep for themselves (hidden from CollectionInfo.metadata).
RESERVED_METADATA_KEY = "_paraseek_storage"
MAX_SCROLL_LIMIT = 100_000
# Hits a search may skip (``offset``), and distinct values one facet call may return.
MAX_SEARCH_OFFSET = 10_000
MAX_FACET_LIMIT = 10_000
# Options ``create_collection`` knows; a backend may refuse some values (the embedded store has one shard).
COLLECTION_OPTIONS = ("quantization", "on_disk", "hnsw_m", "hnsw_ef_construct", "segment_points", "shard_number",
                      "replication_factor", "shard_key")
QUANTIZATIONS = ("int8", "none")
# Index and search settings both backends use, picked with benchmarks/search_latency.py (docs/deploy.md):
# int8 vectors in RAM (a quarter of float32) rescored with float32 originals memory-mapped from
# disk; the graph's links per point and build-time candidates; the search-time candidates per
# segment (recall@10 0.99 at a million points; fewer for smaller collections, see ``default_ef``)
# and the quantized candidates per hit to rescore.
DEFAULT_QUANTIZATION = "int8"
DEFAULT_HNSW_M = 16
DEFAULT_HNSW_EF_CONSTRUCT = 100
SEARCH_HNSW_EF = 1024
#: How the default candidates shrink below a million points: ``(points / 1M) ** EF_SIZE_EXPONENT``.
EF_SIZE_EXPONENT = 0.75
MIN_SEARCH_HNSW_EF = 128
MAX_HNSW_EF = 65_536
RESCORE_OVERSAMPLING = 4.0
# The most points in one graph segment: a larger collection is split into segments the embedded
# store searches in parallel (half a million: two segments per million points, one per core on the
# 2-core benchmark machine; docs/deploy.md). Segments smaller than Qdrant's indexing threshold
# (10 MB of vectors) get no graph, hence the floor.
DEFAULT_SEGMENT_POINTS = 500_000
MIN_SEGMENT_POINTS = 10_000
MAX_SEGMENT_POINTS = 1_000_000_000
# Field types whose values can be grouped on and counted per value.
GROUPABLE_TYPES = (FieldType.KEYWORD, FieldType.INTEGER)
FACET_TYPES = (FieldType.KEYWORD, FieldType.INTEGER, FieldType.BOOL)

# A deadline is a ``time.monotonic()`` value; ``None`` means no deadline.
Deadline: TypeAlias = float | None
FacetValue: TypeAlias = str | int | bool


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
               with_vectors: bool = False, deadline: Deadline = None) -> tuple[list[Point], str | None]:
        """One page of points in id order, and the offset of the next page (``None`` at the end).

        Vectors are as in :meth:`retrieve`. ``DeadlineExceeded`` once ``deadline`` has passed.
        """

    @abstractmethod
    def search(self, collection: str, vector: np.ndarray, *, top_k: int = 10, offset: int = 0,
               filter: Filter | None = None, score_threshold: float | None = None,
               with_payload: bool | Sequence[str] = True, group_by: str | None = None, exact: bool = False,
               with_vectors: bool = False, deadline: Deadline = None, hnsw_ef: int | None = None) -> list[Hit]:
        """The ``top_k`` most cosine-similar points after skipping the best ``offset``, best first.

        ``group_by`` names a payload field declared ``KEYWORD`` or ``INTEGER`` (other fields get
        ``InvalidArgument``) and returns the best hit per distinct value, groups ranked by their best
        hit; a point in several groups (an array value) comes back once; points without the field,
        or with values of another type, are left out. ``exact`` bypasses the approximate (HNSW)
        index. ``with_payload`` may list the payload keys to return. ``DeadlineExceeded`` once
        ``deadline`` (a ``time.monotonic()`` value) has passed. ``hnsw_ef`` trades speed for recall:
        graph candidates per segment (default ``default_ef`` of the collection's size where the
        backend knows it cheaply, else ``SEARCH_HNSW_EF``; never fewer than ``offset + top_k``).
        """

    @abstractmethod
    def facet(self, collection: str, key: str, *, filter: Filter | None = None, limit: int = 100,
              deadline: Deadline = None) -> list[tuple[FacetValue, int]]:
        """How many points (matching ``filter``) hold each value of the payload field ``key``.

        ``key`` must be declared ``KEYWORD``, ``INTEGER`` or ``BOOL``. At most ``limit`` values,
        most frequent first, ties by value; a point counts once per distinct value it holds.
        """

    @abstractmethod
    def finalize(self, collection: str) -> None:
        """Make the collection fast to query (build its HNSW index, or wait until the server has)."""

    @abstractmethod
    def flush(self) -> None:
        """Persist pending writes."""

    @abstractmethod
    def warm_up(self, collection: str, timeout: float | None = None) -> int:
        """Open ``collection`` so its first search pays no start-up cost; the bytes read ahead.

        The embedded store loads the shard and has the kernel read the data it keeps memory-mapped
        (originals, payloads) into the page cache, as it does whenever it opens a shard, waiting at
        most ``timeout`` seconds for that; a Qdrant server manages its own memory (0 bytes).
        """

    @abstractmethod
    def release(self, collection: str) -> None:
        """Persist one collection and let go of it, so that another process can open it.

        The embedded store drops its lock on the collection (a running server can then serve it);
        a Qdrant server needs nothing. The store opens the collection again when next used.
        """

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
    result.setdefault("created", datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"))
    return result


@dataclass(frozen=True)
class NewCollection:
    """The checked arguments of ``create_collection``."""

    name: str
    dim: int
    schema: dict[str, FieldType]
    metadata: dict[str, Any]
    options: dict[str, Any]


def check_new_collection(name: str, dim: Any, payload_schema: Mapping[str, Any], metadata: dict[str, Any] | None,
                         options: Mapping[str, Any]) -> NewCollection:
    """Validate every argument of ``create_collection``; ``created`` is added to the metadata."""
    return NewCollection(name=check_name(name), dim=check_dim(dim), schema=check_schema(payload_schema),
                         metadata=creation_metadata(metadata), options=check_options(options))


def checked_points(points: Sequence[Point], dim: int | None) -> list[Point]:
    """``points`` with canonical ids, float32 vectors of ``dim`` elements and plain JSON payloads."""
    checked = []
    for point in points:
        if not isinstance(point, Point):
            raise InvalidArgument(f"upsert takes Point objects, got {type(point).__name__}")
        point_id = canonical_id(point.id)
        vector = check_vector(point.vector, dim, f"vector of point {point_id}")
        checked.append(Point(point_id, vector, plain_payload(point.payload or {})))
    return checked


def check_dim(dim: Any) -> int:
    """``dim`` if it is a positive integer of sane size."""
    if isinstance(dim, bool) or not isinstance(dim, (int, np.integer)) or not 0 < int(dim) <= 65_536:
        raise InvalidArgument(f"dim must be an integer in 1..65536, got {dim!r}")
    return int(dim)


def check_integer(value: Any, name: str, low: int, high: int) -> int:
    """``value`` as an int if it is an integer (not a bool) in ``low..high``."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or not low <= int(value) <= high:
        raise InvalidArgument(f"{name} must be an integer in {low}..{high}, got {value!r}")
    return int(value)


def check_top_k(top_k: Any) -> int:
    """``top_k`` if it is an integer in 1..MAX_TOP_K."""
    return check_integer(top_k, "top_k", 1, MAX_TOP_K)


def check_offset(offset: Any) -> int:
    """A search offset in 0..MAX_SEARCH_OFFSET."""
    return check_integer(offset, "offset", 0, MAX_SEARCH_OFFSET)


def check_limit(limit: Any) -> int:
    """A scroll page size in 1..MAX_SCROLL_LIMIT."""
    return check_integer(limit, "limit", 1, MAX_SCROLL_LIMIT)


def check_deadline(deadline: Deadline, what: str) -> None:
    """Raise ``DeadlineExceeded`` if ``deadline`` (a ``time.monotonic()`` value) has passed."""
    if deadline is not None and time.monotonic() >= deadline:
        raise DeadlineExceeded(f"{what}: the deadline passed before the storage finished")


def check_options(options: Mapping[str, Any]) -> dict[str, Any]:
    """Validate ``create_collection`` options; the ones given (not None), by name."""
    unknown = set(options) - set(COLLECTION_OPTIONS)
    if unknown:
        raise InvalidArgument(f"unknown collection options {sorted(unknown)} (allowed: {sorted(COLLECTION_OPTIONS)})")
    if options.get("quantization") not in (None, *QUANTIZATIONS):
        raise InvalidArgument(f"quantization must be 'int8', 'none' or None, got {options['quantization']!r}")
    if options.get("on_disk") not in (None, True, False):
        raise InvalidArgument("on_disk must be a bool")
    for key, low, high in (("hnsw_m", 4, 128), ("hnsw_ef_construct", 4, 4096),
                           ("segment_points", MIN_SEGMENT_POINTS, MAX_SEGMENT_POINTS)):
        if options.get(key) is not None:
            check_integer(options[key], key, low, high)
    for key in ("shard_number", "replication_factor"):
        value = options.get(key)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
            raise InvalidArgument(f"{key} must be a positive integer, got {value!r}")
    shard_key = options.get("shard_key")
    if shard_key is not None and (not isinstance(shard_key, str) or not shard_key):
        raise InvalidArgument("shard_key must be a non-empty string")
    return {k: v for k, v in options.items() if v is not None}


def index_options(options: Mapping[str, Any]) -> dict[str, Any]:
    """The vector-index options of a new collection, defaults filled in for those not given.

    Originals stay in RAM without quantization (HNSW reads them) and on disk with it (only rescoring does).
    """
    quantization = options.get("quantization", DEFAULT_QUANTIZATION)
    return {"quantization": quantization, "on_disk": options.get("on_disk", quantization != "none"),
            "hnsw_m": options.get("hnsw_m", DEFAULT_HNSW_M),
            "hnsw_ef_construct": options.get("hnsw_ef_construct", DEFAULT_HNSW_EF_CONSTRUCT),
            "segment_points": options.get("segment_points", DEFAULT_SEGMENT_POINTS)}


def segment_size_kb(segment_points: int, dim: int) -> int:
    """Qdrant's ``max_segment_size`` (KB of float32 vectors) for ``segment_points`` points of ``dim``."""
    return math.ceil(segment_points * dim * 4 / 1024)


def default_ef(points: int | None) -> int:
    """The default HNSW candidates for a graph segment of ``points`` (``None``: unknown).

    ``SEARCH_HNSW_EF`` at a million points and beyond; smaller graphs need fewer candidates for the
    same recall. Measured at recall@10 about 0.995 (``benchmarks/results.jsonl``): ef 183 at 100k
    points, between 576 (0.994) and 640 (0.996) per 500k segment, 1024 for one graph of a million;
    these grow as the 0.75 power of the size, so the default follows it, never below
    ``MIN_SEARCH_HNSW_EF``.
    """
    if points is None:
        return SEARCH_HNSW_EF
    scaled = math.ceil(SEARCH_HNSW_EF * (max(points, 0) / 1_000_000) ** EF_SIZE_EXPONENT)
    return min(SEARCH_HNSW_EF, max(MIN_SEARCH_HNSW_EF, scaled))


def search_ef(top_k: int, offset: int, hnsw_ef: Any = None, points: int | None = None) -> int:
    """HNSW candidates per segment (``hnsw_ef``, else ``default_ef(points)``) for ``top_k`` hits after ``offset``."""
    wanted = default_ef(points) if hnsw_ef is None else check_integer(hnsw_ef, "hnsw_ef", 1, MAX_HNSW_EF)
    return max(wanted, top_k + offset)


def typed_field(schema: Mapping[str, FieldType], key: Any, what: str, allowed: Sequence[FieldType]) -> FieldType:
    """The declared type of the payload field ``key`` if it is one of ``allowed``; ``InvalidArgument`` otherwise."""
    check_field_path(key, what)
    kind = schema.get(key)
    if kind is None or kind not in allowed:
        declared = f"declared {kind.value.upper()}" if kind is not None else "not in the payload schema"
        names = " or ".join(t.value.upper() for t in allowed)
        raise InvalidArgument(f"{what}: field {key!r} is {declared}; it needs a field declared {names}")
    return kind


def facet_counts(pairs: Sequence[tuple[FacetValue, int]], limit: int) -> list[tuple[FacetValue, int]]:
    """Facet ``(value, count)`` pairs most frequent first, ties by value, at most ``limit``."""
    return sorted(pairs, key=lambda pair: (-pair[1], isinstance(pair[0], str), pair[0]))[:limit]


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
    """Validate ``with_payload``: a bool or a list of payload field paths."""
    if isinstance(with_payload, bool):
        return with_payload
    if isinstance(with_payload, str):
        raise InvalidArgument("with_payload must be a bool or a list of payload keys")
    return [check_field_path(key, "with_payload") for key in with_payload]
