"""The embedded store: Qdrant Edge shards in a data directory, with collections and aliases on top.

Layout of ``data_dir``::

    collections/<name>/collection.json   dim, payload schema, metadata, options (written last on creation)
    collections/<name>/shard/            the Qdrant Edge shard (segments + WAL)
    collections/<name>/stats.json        point count as of the last flush (for other processes)
    collections/<name>/.lock             held (flock) by the process that has the shard open or creates it
    aliases.json                         {alias: collection}, replaced atomically

A shard can be open in one process at a time: a second process gets ``FailedPrecondition`` (see
:mod:`paraseek.storage.shards`). Aliases are re-read whenever ``aliases.json`` changes, so a
long-running reader follows swaps made by other processes. Booleans are stored as 0/1 integers
(qdrant-edge-py 0.9.0 cannot match stored booleans) and turned back into booleans on read; booleans
can be filtered only on fields declared ``BOOL``. A data directory that disappears or cannot be read
gives ``Unavailable``. Messages name collections, never the server's file paths.

Writes go to one growing segment; once it holds the collection's ``segment_points``, its graph is
built and later points start a new segment, so a search walks several smaller graphs in parallel
(Qdrant Edge's search threads, one per CPU) rather than one large graph.
"""

from __future__ import annotations

import fcntl
import functools
import json
import os
import shutil
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Concatenate, ParamSpec, TypeVar, cast

import numpy as np
import qdrant_edge as qe

from paraseek.errors import (
    AlreadyExists,
    CollectionNotFound,
    FailedPrecondition,
    InvalidArgument,
    InvalidFilter,
    ParaseekError,
    Unavailable,
)
from paraseek.filters import Filter
from paraseek.machine import available_cores
from paraseek.storage import base
from paraseek.storage.base import Deadline, FacetValue, VectorStore
from paraseek.storage.compiler import FilterModel, compile_filter
from paraseek.storage.grouping import GroupValue, distinct_hits, emulate_group_by
from paraseek.storage.jsonfile import FileKey, file_key, write_json
from paraseek.storage.shards import (
    STATS_FILE,
    OpenShard,
    acquire,
    close_for_deletion,
    edge_errors,
    lock_collection,
    opened,
    release,
)
from paraseek.storage.types import (
    CollectionInfo,
    FieldType,
    Hit,
    Point,
    canonical_id,
    check_name,
    check_vector,
    map_leaves,
    select_payload,
)

_INDEX_TYPES = {
    FieldType.KEYWORD: qe.PayloadSchemaType.Keyword,
    FieldType.INTEGER: qe.PayloadSchemaType.Integer,
    FieldType.FLOAT: qe.PayloadSchemaType.Float,
    FieldType.BOOL: qe.PayloadSchemaType.Integer,  # stored as 0/1, see the module docstring
    FieldType.TEXT: qe.PayloadSchemaType.Text,
}
_RESCORE = qe.QuantizationSearchParams(rescore=True, oversampling=base.RESCORE_OVERSAMPLING)
_META_FILE = "collection.json"
# Filters that leave fewer vectors than this (KiB of float32: about 3,300 768-d points) are answered
# by scoring every match via the payload index instead of walking the graph (Qdrant's default).
FULL_SCAN_THRESHOLD_KB = 10_000

P = ParamSpec("P")
R = TypeVar("R")


class _EdgeFilters(FilterModel):
    """qdrant-edge filter classes; booleans become 0/1 on fields declared BOOL."""

    def __init__(self, bools: frozenset[str]) -> None:
        self.bools = bools

    def _stored(self, value: Any, path: str) -> Any:
        if not isinstance(value, bool):
            return value
        if path not in self.bools:
            raise InvalidFilter(
                f"boolean match on {path!r}: the embedded store matches booleans only on fields declared "
                "BOOL in the collection's payload schema"
            )
        return int(value)

    def match(self, key: str, value: str | int | bool, path: str) -> Any:
        return qe.FieldCondition(key, match=qe.MatchValue(self._stored(value, path)))

    def match_any(self, key: str, values: Sequence[str | int | bool], path: str) -> Any:
        return qe.FieldCondition(key, match=qe.MatchAny([self._stored(v, path) for v in values]))

    def match_text(self, key: str, text: str) -> Any:
        return qe.FieldCondition(key, match=qe.MatchText(text))

    def range(self, key: str, bounds: dict[str, float]) -> Any:
        return qe.FieldCondition(key, range=qe.RangeFloat(**{k: float(v) for k, v in bounds.items()}))

    def is_empty(self, key: str) -> Any:
        return qe.IsEmptyCondition(key)

    def nested(self, key: str, filter: Any) -> Any:
        return qe.NestedCondition(key, filter)

    def filter(self, must: list[Any] | None, should: list[Any] | None, must_not: list[Any] | None) -> Any:
        return qe.Filter(must=must, should=should, must_not=must_not)


@dataclass(frozen=True)
class _Meta:
    dim: int
    schema: dict[str, FieldType]
    metadata: dict[str, Any]
    options: dict[str, Any]
    bools: frozenset[str]


def _point_ids(ids: Iterable[str]) -> list[qe.PointId]:
    """Ids as qdrant-edge's stubs type them (an invariant ``list`` of every id type)."""
    return list(ids)


def _shard_config(dim: int, options: dict[str, Any]) -> qe.EdgeConfig:
    """The shard settings for ``base.index_options``.

    The quantized vectors and the graph are pinned in RAM: left to page in (Qdrant's default for the
    graph), a freshly opened store answers its first hundreds of queries several times slower. The
    originals are memory-mapped without preloading when ``on_disk`` (only rescoring reads them).
    The search pool has one thread per core of the creating machine (the shard keeps it): a search
    holds the interpreter lock, so a process runs one at a time and needs threads only for its
    segments; Edge's default pool (8 threads on 2 cores) spent about 0.6 of a core per search in
    threads that did not make it faster (``benchmarks/store_concurrency.py``: the cores used).
    """
    quantization = (qe.ScalarQuantizationConfig(type=qe.ScalarType.Int8, quantile=0.99, memory=qe.Memory.Pinned)
                    if options["quantization"] == "int8" else None)
    return qe.EdgeConfig(
        vectors=qe.EdgeVectorParams(size=dim, distance=qe.Distance.Cosine, quantization_config=quantization,
                                    memory=qe.Memory.Cold if options["on_disk"] else qe.Memory.Cached),
        hnsw_config=qe.HnswIndexConfig(m=options["hnsw_m"], ef_construct=options["hnsw_ef_construct"],
                                       full_scan_threshold=FULL_SCAN_THRESHOLD_KB, memory=qe.Memory.Pinned),
        optimizers=qe.EdgeOptimizersConfig(max_segment_size=base.segment_size_kb(options["segment_points"], dim)),
        max_search_threads=available_cores())


def _filesystem_errors(method: Callable[Concatenate[EdgeStore, P], R]) -> Callable[Concatenate[EdgeStore, P], R]:
    """Report a data directory that vanished or cannot be read as ``Unavailable``."""

    @functools.wraps(method)
    def guarded(self: EdgeStore, *args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return method(self, *args, **kwargs)
        except ParaseekError:  # Unavailable and DeadlineExceeded are OSErrors too
            raise
        except OSError as error:
            raise self._unavailable(error) from None

    return guarded


class EdgeStore(VectorStore):
    """Collections of Qdrant Edge shards under ``data_dir`` (see the module docstring)."""

    def __init__(self, data_dir: str | Path) -> None:
        self.root = Path(data_dir).expanduser()
        self._collections = self.root / "collections"
        try:
            self._collections.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise FailedPrecondition(f"cannot create the data directory {self.root}: {error}") from None
        self._aliases_path = self.root / "aliases.json"
        self._aliases_cache: tuple[FileKey | None, dict[str, str]] = (None, {})
        self._meta_cache: dict[str, tuple[FileKey, _Meta]] = {}
        self._used: set[Path] = set()
        self._closed = False
        self._user = id(self)

    def __repr__(self) -> str:
        return f"EdgeStore({str(self.root)!r})"

    # --- helpers ---------------------------------------------------------------------------------

    def _check_open(self) -> None:
        if self._closed:
            raise FailedPrecondition("the store is closed")

    def _unavailable(self, error: OSError) -> Unavailable:
        problem = "was removed" if not self._collections.is_dir() else f"cannot be read ({error.strerror or error})"
        return Unavailable(f"the embedded store's data directory {problem}")

    def _not_found(self, message: str) -> CollectionNotFound | Unavailable:
        if not self._collections.is_dir():
            return Unavailable("the embedded store's data directory was removed")
        return CollectionNotFound(message)

    def _dir(self, name: str) -> Path:
        return self._collections / name

    def _exists(self, name: str) -> bool:
        return (self._dir(name) / _META_FILE).exists()

    def _meta(self, name: str) -> _Meta:
        path = self._dir(name) / _META_FILE
        key = file_key(path)
        if key is None:
            self._meta_cache.pop(name, None)
            raise self._not_found(f"collection {name!r} not found")
        cached = self._meta_cache.get(name)
        if cached and cached[0] == key:
            return cached[1]
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            schema = {k: FieldType(v) for k, v in data["payload_schema"].items()}
            meta = _Meta(dim=int(data["dim"]), schema=schema, metadata=data["metadata"],
                         options=data.get("options", {}),
                         bools=frozenset(k for k, v in schema.items() if v is FieldType.BOOL))
        except (ValueError, KeyError, TypeError, AttributeError):
            raise FailedPrecondition(f"the description of collection {name!r} is damaged") from None
        self._meta_cache[name] = (key, meta)
        return meta

    def _entry(self, name: str) -> OpenShard:
        self._check_open()
        directory = self._dir(name)
        entry = acquire(directory, self._user, name)
        self._used.add(directory)
        return entry

    def _aliases(self) -> dict[str, str]:
        key = file_key(self._aliases_path)
        if key != self._aliases_cache[0]:
            aliases = json.loads(self._aliases_path.read_text(encoding="utf-8")) if key else {}
            self._aliases_cache = (key, aliases)
        return self._aliases_cache[1]

    @contextmanager
    def _aliases_locked(self) -> Iterator[dict[str, str]]:
        """The current aliases, under an exclusive inter-process lock; changes are written back."""
        fd = os.open(self.root / ".aliases.lock", os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            self._aliases_cache = (None, {})
            aliases = dict(self._aliases())
            before = dict(aliases)
            yield aliases
            if aliases != before:
                write_json(self._aliases_path, aliases)
        finally:
            os.close(fd)

    def _to_stored(self, payload: dict[str, Any], meta: _Meta) -> dict[str, Any]:
        for path in meta.bools:
            map_leaves(payload, path, lambda v: int(v) if isinstance(v, bool) else v)
        return payload

    def _from_stored(self, payload: dict[str, Any] | None, meta: _Meta) -> dict[str, Any]:
        payload = dict(payload or {})
        for path in meta.bools:
            map_leaves(payload, path, lambda v: bool(v) if type(v) is int and v in (0, 1) else v)
        return payload

    def _filter(self, filter: Filter | None, meta: _Meta) -> qe.Filter | None:
        filter = base.check_filter(filter)
        return None if filter is None else compile_filter(filter, _EdgeFilters(meta.bools))

    def _point(self, record: Any, meta: _Meta, with_vectors: bool) -> Point:
        vector = np.asarray(record.vector, dtype=np.float32) if with_vectors else np.empty(0, np.float32)
        return Point(id=str(record.id), vector=vector, payload=self._from_stored(record.payload, meta))

    # --- collections -----------------------------------------------------------------------------

    @_filesystem_errors
    def create_collection(self, name: str, *, dim: int, payload_schema: dict[str, FieldType],
                          metadata: dict[str, Any] | None = None, **options: Any) -> CollectionInfo:
        """Create a collection (options: see ``base.index_options``; one shard only).

        The collection's lock is taken before anything is written: a process creating the same
        collection at the same time gets ``FailedPrecondition``, one coming later ``AlreadyExists``.
        """
        self._check_open()
        new = base.check_new_collection(name, dim, payload_schema, metadata, options)
        options = self._single_shard(new.options)
        if name in self._aliases():
            raise AlreadyExists(f"an alias named {name!r} exists")
        if self._exists(name):
            raise AlreadyExists(f"collection {name!r} already exists")
        directory = self._dir(name)
        directory.mkdir(exist_ok=True)
        fd = lock_collection(directory, name)
        try:
            if self._exists(name):  # created by another process between the check and the lock
                raise AlreadyExists(f"collection {name!r} already exists")
            shutil.rmtree(directory / "shard", ignore_errors=True)  # left by a creation that crashed
            with edge_errors(f"creating collection {name!r}"):
                shard = qe.EdgeShard.create(str(directory / "shard"), _shard_config(new.dim, options))
                try:
                    for key, kind in new.schema.items():
                        shard.update(qe.UpdateOperation.create_field_index(key, _INDEX_TYPES[kind]))
                    shard.flush()
                finally:
                    shard.close()
            write_json(directory / STATS_FILE, {"count": 0})
            write_json(directory / _META_FILE, {
                "format": 1, "dim": new.dim, "payload_schema": {k: v.value for k, v in new.schema.items()},
                "metadata": new.metadata, "options": options,
            })
        finally:
            os.close(fd)
        return self.describe(name)

    @staticmethod
    def _single_shard(options: dict[str, Any]) -> dict[str, Any]:
        """The options the embedded store keeps, defaults filled in; server-only values are refused."""
        for key in ("shard_number", "replication_factor"):
            if options.get(key, 1) != 1:
                raise InvalidArgument(f"the embedded store has one local shard: {key} must be 1 (use a Qdrant server)")
        if "shard_key" in options:
            raise InvalidArgument("custom shard keys need a Qdrant server")
        return base.index_options(options)

    @_filesystem_errors
    def delete_collection(self, name: str) -> None:
        self._check_open()
        check_name(name)
        directory = self._dir(name)
        if not self._exists(name):
            target = self._aliases().get(name)
            hint = f" ({name!r} is an alias of {target!r}; delete the alias or the collection)" if target else ""
            raise self._not_found(f"collection {name!r} not found{hint}")
        close_for_deletion(directory)
        self._used.discard(directory)
        fd = lock_collection(directory, name)
        try:
            trash = self._collections / f".deleting-{name}-{uuid.uuid4().hex}"
            os.rename(directory, trash)
        finally:
            os.close(fd)
        with self._aliases_locked() as aliases:
            for alias in [a for a, target in aliases.items() if target == name]:
                del aliases[alias]
        self._meta_cache.pop(name, None)
        shutil.rmtree(trash, ignore_errors=True)

    @_filesystem_errors
    def list_collections(self) -> list[CollectionInfo]:
        self._check_open()
        names = sorted(p.name for p in self._collections.iterdir() if not p.name.startswith(".") and self._exists(p.name))
        infos = []
        for name in names:
            try:
                infos.append(self._info(name))
            except CollectionNotFound:  # deleted meanwhile by another process
                continue
        return infos

    @_filesystem_errors
    def describe(self, name: str) -> CollectionInfo:
        self._check_open()
        return self._info(self.resolve(name))

    def _info(self, name: str) -> CollectionInfo:
        meta = self._meta(name)
        entry = opened(self._dir(name))
        if entry is not None:
            with edge_errors(f"counting {name!r}"):
                count = entry.shard.info().points_count
        else:
            stats = self._dir(name) / STATS_FILE
            count = json.loads(stats.read_text(encoding="utf-8"))["count"] if stats.exists() else 0
        aliases = sorted(a for a, target in self._aliases().items() if target == name)
        return CollectionInfo(name=name, aliases=aliases, count=count, dim=meta.dim,
                              metadata=dict(meta.metadata), payload_schema=dict(meta.schema))

    @_filesystem_errors
    def resolve(self, name: str) -> str:
        self._check_open()
        check_name(name)
        target = self._aliases().get(name)
        if target is not None:
            if not self._exists(target):
                raise self._not_found(f"alias {name!r} points to {target!r}, which does not exist")
            return target
        if self._exists(name):
            return name
        raise self._not_found(f"no collection or alias named {name!r}")

    @_filesystem_errors
    def set_alias(self, alias: str, collection: str) -> None:
        self._check_open()
        check_name(alias, "alias")
        target = self.resolve(collection)
        if self._exists(alias):
            raise AlreadyExists(f"a collection named {alias!r} exists; an alias cannot take its name")
        with self._aliases_locked() as aliases:
            aliases[alias] = target

    @_filesystem_errors
    def delete_alias(self, alias: str) -> None:
        self._check_open()
        check_name(alias, "alias")
        with self._aliases_locked() as aliases:
            if alias not in aliases:
                raise CollectionNotFound(f"no alias named {alias!r}")
            del aliases[alias]

    # --- points ----------------------------------------------------------------------------------

    @_filesystem_errors
    def upsert(self, collection: str, points: Sequence[Point]) -> None:
        name = self.resolve(collection)
        meta = self._meta(name)
        converted = [qe.Point(p.id, p.vector.tolist(), self._to_stored(p.payload, meta))
                     for p in base.checked_points(points, meta.dim)]
        if not converted:
            return
        entry = self._entry(name)
        with edge_errors(f"upserting into {name!r}"):
            entry.shard.update(qe.UpdateOperation.upsert_points(converted))
        entry.dirty = True
        segment_points = meta.options.get("segment_points")
        if segment_points is not None:
            self._seal_full_segment(name, entry, len(converted), segment_points)

    @staticmethod
    def _seal_full_segment(name: str, entry: OpenShard, written: int, segment_points: int) -> None:
        """Build the graph of the segment being written once it holds ``segment_points`` points.

        The segment becomes read-only and later points start a new one, so a large collection ends
        as several graphs of at most about ``segment_points`` points, which a search walks in parallel.
        """
        if entry.unsealed is None:  # first write since the shard was opened: this batch is counted
            info = entry.shard.info()
            entry.unsealed = max(0, info.points_count - info.indexed_vectors_count)
        else:
            entry.unsealed += written
        if entry.unsealed >= segment_points:
            with edge_errors(f"building a graph segment of {name!r}"):
                entry.shard.optimize()
            entry.unsealed = 0

    @_filesystem_errors
    def retrieve(self, collection: str, ids: Sequence[str], *, with_vectors: bool = False) -> list[Point]:
        name = self.resolve(collection)
        meta = self._meta(name)
        wanted = base.unique_ids(ids)
        if not wanted:
            return []
        with edge_errors(f"retrieving from {name!r}"):
            records = self._entry(name).shard.retrieve(_point_ids(wanted), with_payload=True, with_vector=with_vectors)
        by_id = {str(r.id): r for r in records}
        return [self._point(by_id[i], meta, with_vectors) for i in wanted if i in by_id]

    @_filesystem_errors
    def existing_ids(self, collection: str, ids: Sequence[str]) -> set[str]:
        name = self.resolve(collection)
        wanted = base.unique_ids(ids)
        if not wanted:
            return set()
        with edge_errors(f"retrieving from {name!r}"):
            records = self._entry(name).shard.retrieve(_point_ids(wanted), with_payload=False, with_vector=False)
        return {str(r.id) for r in records}

    @_filesystem_errors
    def count(self, collection: str, filter: Filter | None = None) -> int:
        name = self.resolve(collection)
        compiled = self._filter(filter, self._meta(name))
        with edge_errors(f"counting {name!r}"):
            return self._entry(name).shard.count(qe.CountRequest(exact=True, filter=compiled))

    @_filesystem_errors
    def scroll(self, collection: str, *, filter: Filter | None = None, limit: int = 256, offset: str | None = None,
               with_vectors: bool = False, deadline: Deadline = None) -> tuple[list[Point], str | None]:
        name = self.resolve(collection)
        meta = self._meta(name)
        request = qe.ScrollRequest(offset=None if offset is None else canonical_id(offset), limit=base.check_limit(limit),
                                   filter=self._filter(filter, meta), with_payload=True, with_vector=with_vectors)
        base.check_deadline(deadline, f"scrolling {name!r}")
        with edge_errors(f"scrolling {name!r}"):
            records, next_offset = self._entry(name).shard.scroll(request)
        points = [self._point(r, meta, with_vectors) for r in records]
        return points, None if next_offset is None else str(next_offset)

    @_filesystem_errors
    def search(self, collection: str, vector: np.ndarray, *, top_k: int = 10, offset: int = 0,
               filter: Filter | None = None, score_threshold: float | None = None,
               with_payload: bool | Sequence[str] = True, group_by: str | None = None, exact: bool = False,
               with_vectors: bool = False, deadline: Deadline = None, hnsw_ef: int | None = None) -> list[Hit]:
        name = self.resolve(collection)
        meta = self._meta(name)
        query = check_vector(vector, meta.dim, "query vector").tolist()
        top_k, offset = base.check_top_k(top_k), base.check_offset(offset)
        selector = base.payload_selector(with_payload)
        group_kind = None if group_by is None else base.typed_field(meta.schema, group_by, "group_by", base.GROUPABLE_TYPES)
        compiled = self._filter(filter, meta)
        quantized = meta.options.get("quantization", "none") != "none"
        shard = self._entry(name).shard
        points = None if hnsw_ef is not None or exact else shard.info().points_count
        if points is not None and "segment_points" in meta.options:  # the candidates are per segment
            points = min(points, meta.options["segment_points"])
        params = qe.SearchParams(hnsw_ef=base.search_ef(top_k, offset, hnsw_ef, points), exact=bool(exact),
                                 quantization=_RESCORE if quantized else None)

        def run(limit: int, skip: int, request_filter: qe.Filter | None, payload: bool | list[str]) -> list[Hit]:
            base.check_deadline(deadline, f"searching {name!r}")
            request = qe.QueryRequest(limit=limit, offset=skip or None, query=qe.Query.Nearest(query),
                                      filter=request_filter, score_threshold=score_threshold, with_payload=payload,
                                      with_vector=with_vectors, params=params)
            with edge_errors(f"searching {name!r}"):
                return [self._hit(p, meta, with_vectors) for p in shard.query(request)]

        if group_by is None or group_kind is None:
            return run(top_k, offset, compiled, selector)
        field = group_by

        def page(limit: int, seen: set[str], groups: list[GroupValue]) -> list[Hit]:
            must_not: list[Any] = [qe.IsEmptyCondition(field)]
            if seen:
                must_not.append(qe.HasIdCondition(set(_point_ids(seen))))
            must: list[Any] = [compiled] if compiled is not None else []
            if groups:  # points with a value outside the groups found (MatchExcept is "any element")
                # a field's group values share its one declared type
                must.append(qe.FieldCondition(field, match=qe.MatchExcept(cast("list[str] | list[int]", groups))))
            return run(limit, 0, qe.Filter(must=must or None, must_not=must_not), True)

        hits = distinct_hits(emulate_group_by(page, field, group_kind, offset + top_k, deadline), offset, top_k)
        return [Hit(id=h.id, score=h.score, vector=h.vector,
                    payload=h.payload if selector is True else select_payload(h.payload, selector) if selector else {})
                for h in hits]

    def _hit(self, scored: Any, meta: _Meta, with_vectors: bool) -> Hit:
        vector = np.asarray(scored.vector, dtype=np.float32) if with_vectors else None
        return Hit(id=str(scored.id), score=float(scored.score), payload=self._from_stored(scored.payload, meta),
                   vector=vector)

    @_filesystem_errors
    def facet(self, collection: str, key: str, *, filter: Filter | None = None, limit: int = 100,
              deadline: Deadline = None) -> list[tuple[FacetValue, int]]:
        name = self.resolve(collection)
        meta = self._meta(name)
        kind = base.typed_field(meta.schema, key, "facet", base.FACET_TYPES)
        limit = base.check_integer(limit, "limit", 1, base.MAX_FACET_LIMIT)
        request = qe.FacetRequest(key, limit=limit, exact=True, filter=self._filter(filter, meta))
        base.check_deadline(deadline, f"counting values of {key!r} in {name!r}")
        with edge_errors(f"counting values of {key!r} in {name!r}"):
            hits = self._entry(name).shard.facet(request).hits
        as_stored: Callable[[Any], FacetValue] = bool if kind is FieldType.BOOL else lambda value: value
        return base.facet_counts([(as_stored(hit.value), int(hit.count)) for hit in hits], limit)

    # --- lifecycle -------------------------------------------------------------------------------

    @_filesystem_errors
    def finalize(self, collection: str) -> None:
        """Build the HNSW index and payload-aware links (blocking; minutes for millions of points)."""
        name = self.resolve(collection)
        entry = self._entry(name)
        with edge_errors(f"optimizing {name!r}"):
            entry.shard.optimize()
            entry.dirty = True
            entry.unsealed = 0
            entry.save_stats(self._dir(name))

    @_filesystem_errors
    def warm_up(self, collection: str, timeout: float | None = None) -> int:
        """Load the shard if it is not open; wait at most ``timeout`` s while its memory-mapped files are
        advised into the page cache (:mod:`paraseek.storage.pagecache`); the bytes advised so far."""
        warmer = self._entry(self.resolve(collection)).warmer
        warmer.wait(timeout)
        return warmer.advised

    @_filesystem_errors
    def flush(self) -> None:
        self._check_open()
        for directory in list(self._used):
            entry = opened(directory)
            if entry is not None:
                with edge_errors(f"flushing {directory.name!r}"):
                    entry.save_stats(directory)

    @_filesystem_errors
    def release(self, collection: str) -> None:
        self._check_open()
        directory = self._dir(self.resolve(collection))
        entry = opened(directory)
        if directory not in self._used or entry is None:
            return
        with edge_errors(f"flushing {directory.name!r}"):
            entry.save_stats(directory)
        self._used.discard(directory)
        release(directory, self._user)

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        for directory in list(self._used):
            release(directory, self._user)
        self._used.clear()
