"""The server store: a Qdrant server or cluster through qdrant-client (gRPC preferred).

Collections, aliases (atomic swaps), payload indexes, quantization, sharding and grouping are
Qdrant's own. Collection metadata lives in Qdrant's collection ``metadata``; the payload schema and
creation options are kept there under a reserved key.

``url=":memory:"`` runs qdrant-client's in-process local mode, the stand-in used by tests. It speaks
the same API but searches by brute force and ignores payload indexes, quantization, on-disk storage
and HNSW settings; shard_number, replication_factor and shard_key are accepted and recorded but not
applied (local mode has no sharding).
"""

from __future__ import annotations

import math
import threading
import time
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager, nullcontext
from typing import Any, TypeVar, cast

import grpc
import numpy as np
from qdrant_client import QdrantClient
from qdrant_client import models as qm
from qdrant_client.common.client_exceptions import ResourceExhaustedResponse
from qdrant_client.http.exceptions import ResponseHandlingException, UnexpectedResponse

from paraseek.errors import (
    AlreadyExists,
    CollectionNotFound,
    DeadlineExceeded,
    FailedPrecondition,
    Internal,
    InvalidArgument,
    ParaseekError,
    PermissionDenied,
    ResourceExhausted,
    Unauthenticated,
    Unavailable,
)
from paraseek.filters import Filter
from paraseek.storage import base
from paraseek.storage.base import Deadline, FacetValue, VectorStore
from paraseek.storage.compiler import FilterModel, compile_filter
from paraseek.storage.grouping import distinct_hits
from paraseek.storage.types import CollectionInfo, FieldType, Hit, Point, canonical_id, check_name, check_vector

T = TypeVar("T")

_INDEX_TYPES = {
    FieldType.KEYWORD: qm.PayloadSchemaType.KEYWORD,
    FieldType.INTEGER: qm.PayloadSchemaType.INTEGER,
    FieldType.FLOAT: qm.PayloadSchemaType.FLOAT,
    FieldType.BOOL: qm.PayloadSchemaType.BOOL,
    FieldType.TEXT: qm.PayloadSchemaType.TEXT,
}
_FIELD_TYPES = {value: key for key, value in _INDEX_TYPES.items()}
_RESCORE = qm.QuantizationSearchParams(rescore=True, oversampling=base.RESCORE_OVERSAMPLING)
UPSERT_BATCH = 256  # points per request: 768-d float32 + payload stays far below Qdrant's 32 MB limit

_GRPC_ERRORS: dict[grpc.StatusCode, type[ParaseekError]] = {
    grpc.StatusCode.NOT_FOUND: CollectionNotFound,
    grpc.StatusCode.ALREADY_EXISTS: AlreadyExists,
    grpc.StatusCode.INVALID_ARGUMENT: InvalidArgument,
    grpc.StatusCode.FAILED_PRECONDITION: FailedPrecondition,
    grpc.StatusCode.UNAVAILABLE: Unavailable,
    grpc.StatusCode.DEADLINE_EXCEEDED: DeadlineExceeded,
    grpc.StatusCode.UNAUTHENTICATED: Unauthenticated,
    grpc.StatusCode.PERMISSION_DENIED: PermissionDenied,
    grpc.StatusCode.RESOURCE_EXHAUSTED: ResourceExhausted,
}
_HTTP_ERRORS: dict[int | None, type[ParaseekError]] = {
    400: InvalidArgument, 401: Unauthenticated, 403: PermissionDenied, 404: CollectionNotFound,
    409: AlreadyExists, 422: InvalidArgument, 429: ResourceExhausted, 503: Unavailable, 504: DeadlineExceeded,
}


def _translate(error: Exception, what: str) -> ParaseekError:
    """A typed error for any exception qdrant-client or its transports raise."""
    if isinstance(error, ParaseekError):
        return error
    if isinstance(error, grpc.RpcError):
        code = error.code() if callable(getattr(error, "code", None)) else None
        details = error.details() if callable(getattr(error, "details", None)) else str(error)
        return _GRPC_ERRORS.get(code, Internal)(f"{what}: {details}")
    if isinstance(error, ResourceExhaustedResponse):
        return ResourceExhausted(f"{what}: {error}")
    if isinstance(error, UnexpectedResponse):
        return _HTTP_ERRORS.get(error.status_code, Internal)(f"{what}: {error.reason_phrase} {error.content[:300]!r}")
    if isinstance(error, (ResponseHandlingException, ConnectionError, TimeoutError, OSError)):
        return Unavailable(f"{what}: Qdrant server unreachable: {error}")
    if isinstance(error, ValueError):  # local mode
        message = str(error)
        if "not found" in message.lower():
            return CollectionNotFound(f"{what}: {message}")
        if "already exists" in message.lower():
            return AlreadyExists(f"{what}: {message}")
        return InvalidArgument(f"{what}: {message}")
    if isinstance(error, NotImplementedError):
        return FailedPrecondition(f"{what}: {error}")
    return Internal(f"{what}: {type(error).__name__}: {error}")


class _ServerFilters(FilterModel):
    """qdrant-client filter models."""

    def match(self, key: str, value: str | int | bool, path: str) -> Any:
        return qm.FieldCondition(key=key, match=qm.MatchValue(value=value))

    def match_any(self, key: str, values: Sequence[str | int | bool], path: str) -> Any:
        if isinstance(values[0], bool):  # MatchAny takes strings or integers only
            return qm.Filter(should=[self.match(key, value, path) for value in values])
        # MatchAny holds values of one type
        return qm.FieldCondition(key=key, match=qm.MatchAny(any=cast("list[str] | list[int]", list(values))))

    def match_text(self, key: str, text: str) -> Any:
        return qm.FieldCondition(key=key, match=qm.MatchText(text=text))

    def range(self, key: str, bounds: dict[str, float]) -> Any:
        return qm.FieldCondition(key=key, range=qm.Range(**bounds))

    def is_empty(self, key: str) -> Any:
        return qm.IsEmptyCondition(is_empty=qm.PayloadField(key=key))

    def nested(self, key: str, filter: Any) -> Any:
        return qm.NestedCondition(nested=qm.Nested(key=key, filter=filter))

    def filter(self, must: list[Any] | None, should: list[Any] | None, must_not: list[Any] | None) -> Any:
        return qm.Filter(must=must, should=should, must_not=must_not)


_FILTERS = _ServerFilters()


def _compile(filter: Filter | None) -> qm.Filter | None:
    filter = base.check_filter(filter)
    return None if filter is None else compile_filter(filter, _FILTERS)


def _schema(info: qm.CollectionInfo) -> dict[str, FieldType]:
    """The payload schema of a collection: as created by paraseek, or read from the payload indexes."""
    reserved = (info.config.metadata or {}).get(base.RESERVED_METADATA_KEY) or {}
    if "payload_schema" in reserved:
        return {k: FieldType(v) for k, v in reserved["payload_schema"].items()}
    return {k: _FIELD_TYPES[v.data_type] for k, v in (info.payload_schema or {}).items() if v.data_type in _FIELD_TYPES}


class ServerStore(VectorStore):
    """Collections on a Qdrant server (see the module docstring).

    ``url`` is the server address (``http://host:6333``; gRPC goes to ``grpc_port``, 6334 by default)
    or ``":memory:"``. Other keyword arguments (``timeout``, ``grpc_port``, ``https``, ``prefix``,
    ``check_compatibility``, ...) go to ``QdrantClient``.
    """

    def __init__(self, url: str, *, api_key: str | None = None, **client_options: Any) -> None:
        self.url = url
        self.local = url == ":memory:"
        try:
            if self.local:
                self._client = QdrantClient(location=":memory:")
            else:
                client_options.setdefault("prefer_grpc", True)
                client_options.setdefault("check_compatibility", False)
                self._client = QdrantClient(url=url, api_key=api_key, **client_options)
        except Exception as error:
            raise _translate(error, f"connecting to {url}") from None
        # Local mode is not thread-safe, and warns on every call about settings it ignores.
        self._lock: threading.RLock | nullcontext[None] = threading.RLock() if self.local else nullcontext()
        self._closed = False

    def __repr__(self) -> str:
        return f"ServerStore({self.url!r})"

    @contextmanager
    def _calling(self, what: str) -> Iterator[None]:
        if self._closed:
            raise FailedPrecondition("the store is closed")
        with self._lock, warnings.catch_warnings() if self.local else nullcontext():
            if self.local:
                warnings.filterwarnings("ignore", message=r".*(no effect|Local mode|local Qdrant).*")
            try:
                yield
            except Exception as error:
                raise _translate(error, what) from None

    def _call(self, what: str, function: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        with self._calling(what):
            return function(*args, **kwargs)

    # --- collections -----------------------------------------------------------------------------

    def create_collection(self, name: str, *, dim: int, payload_schema: dict[str, FieldType],
                          metadata: dict[str, Any] | None = None, **options: Any) -> CollectionInfo:
        """Create a collection with a payload index per schema field.

        Options: ``quantization`` (``"int8"``, the default: scalar int8, rescored with the original
        vectors at query time; or ``"none"``), ``on_disk`` (original vectors memory-mapped; the default
        with quantization), ``hnsw_m``, ``hnsw_ef_construct`` (see ``base.index_options``),
        ``segment_points`` (sets the server's ``max_segment_size``; by default the server sizes its
        segments itself), ``shard_number``, ``replication_factor``, ``shard_key`` (custom sharding:
        the collection gets this shard key and every upsert writes to it).
        """
        new = base.check_new_collection(name, dim, payload_schema, metadata, options)
        schema, stored_metadata = new.schema, new.metadata
        options = {**new.options, **base.index_options(new.options)}
        if "segment_points" not in new.options:
            del options["segment_points"]
        if self._call("listing aliases", self._aliases).get(name) is not None:
            raise AlreadyExists(f"an alias named {name!r} exists")
        if name in self._call("listing collections", self._collection_names):
            raise AlreadyExists(f"collection {name!r} already exists")
        stored_metadata[base.RESERVED_METADATA_KEY] = {
            "payload_schema": {k: v.value for k, v in schema.items()}, "options": options,
        }
        quantization = (qm.ScalarQuantization(scalar=qm.ScalarQuantizationConfig(
            type=qm.ScalarType.INT8, quantile=0.99, always_ram=True)) if options["quantization"] == "int8" else None)
        sharded = not self.local
        shard_key = options.get("shard_key")
        self._call(f"creating collection {name!r}", self._client.create_collection, name,
                   vectors_config=qm.VectorParams(size=new.dim, distance=qm.Distance.COSINE, on_disk=options["on_disk"]),
                   hnsw_config=qm.HnswConfigDiff(m=options["hnsw_m"], ef_construct=options["hnsw_ef_construct"]),
                   quantization_config=quantization,
                   optimizers_config=(qm.OptimizersConfigDiff(max_segment_size=base.segment_size_kb(
                       new.options["segment_points"], new.dim)) if "segment_points" in new.options else None),
                   shard_number=options.get("shard_number") if sharded else None,
                   replication_factor=options.get("replication_factor") if sharded else None,
                   sharding_method=qm.ShardingMethod.CUSTOM if sharded and shard_key else None,
                   metadata=stored_metadata)
        try:
            if sharded and shard_key:
                self._call(f"creating shard key {shard_key!r}", self._client.create_shard_key, name, shard_key)
            for key, kind in schema.items():
                self._call(f"indexing field {key!r}", self._client.create_payload_index, name, key,
                           field_schema=_INDEX_TYPES[kind], wait=True)
        except ParaseekError:
            self._call(f"removing half-created collection {name!r}", self._client.delete_collection, name)
            raise
        return self.describe(name)

    def delete_collection(self, name: str) -> None:
        check_name(name)
        if name not in self._call("listing collections", self._collection_names):
            target = self._call("listing aliases", self._aliases).get(name)
            hint = f" ({name!r} is an alias of {target!r}; delete the alias or the collection)" if target else ""
            raise CollectionNotFound(f"collection {name!r} not found{hint}")
        self._call(f"deleting collection {name!r}", self._client.delete_collection, name)

    def list_collections(self) -> list[CollectionInfo]:
        names = sorted(self._call("listing collections", self._collection_names))
        aliases = self._call("listing aliases", self._aliases)
        infos = []
        for name in names:
            try:
                infos.append(self._info(name, aliases))
            except CollectionNotFound:  # deleted meanwhile
                continue
        return infos

    def describe(self, name: str) -> CollectionInfo:
        aliases = self._call("listing aliases", self._aliases)
        return self._info(self._resolve(name, aliases), aliases)

    def _info(self, name: str, aliases: Mapping[str, str]) -> CollectionInfo:
        info = self._call(f"describing {name!r}", self._client.get_collection, name)
        count = self._call(f"counting {name!r}", self._client.count, name, exact=True).count
        metadata = dict(info.config.metadata or {})
        metadata.pop(base.RESERVED_METADATA_KEY, None)
        schema = _schema(info)
        vectors = info.config.params.vectors
        dim = vectors.size if isinstance(vectors, qm.VectorParams) else 0
        return CollectionInfo(name=name, aliases=sorted(a for a, t in aliases.items() if t == name), count=count,
                              dim=dim, metadata=metadata, payload_schema=schema)

    def _collection_names(self) -> set[str]:
        # Not collection_exists(): local mode answers True for alias names too.
        return {c.name for c in self._client.get_collections().collections}

    def _aliases(self) -> dict[str, str]:
        return {a.alias_name: a.collection_name for a in self._client.get_aliases().aliases}

    def _resolve(self, name: str, aliases: Mapping[str, str]) -> str:
        check_name(name)
        if name in aliases:
            return aliases[name]
        if name in self._call("listing collections", self._collection_names):
            return name
        raise CollectionNotFound(f"no collection or alias named {name!r}")

    def resolve(self, name: str) -> str:
        return self._resolve(name, self._call("listing aliases", self._aliases))

    def set_alias(self, alias: str, collection: str) -> None:
        check_name(alias, "alias")
        aliases = self._call("listing aliases", self._aliases)
        target = self._resolve(collection, aliases)
        if alias in self._call("listing collections", self._collection_names):
            raise AlreadyExists(f"a collection named {alias!r} exists; an alias cannot take its name")
        operations: list[Any] = []
        if alias in aliases:
            operations.append(qm.DeleteAliasOperation(delete_alias=qm.DeleteAlias(alias_name=alias)))
        operations.append(qm.CreateAliasOperation(create_alias=qm.CreateAlias(collection_name=target, alias_name=alias)))
        self._call(f"pointing alias {alias!r} to {target!r}", self._client.update_collection_aliases,
                   change_aliases_operations=operations)

    def delete_alias(self, alias: str) -> None:
        check_name(alias, "alias")
        if alias not in self._call("listing aliases", self._aliases):
            raise CollectionNotFound(f"no alias named {alias!r}")
        self._call(f"deleting alias {alias!r}", self._client.update_collection_aliases,
                   change_aliases_operations=[qm.DeleteAliasOperation(delete_alias=qm.DeleteAlias(alias_name=alias))])

    # --- points ----------------------------------------------------------------------------------

    def upsert(self, collection: str, points: Sequence[Point]) -> None:
        check_name(collection)
        info = self._call(f"describing {collection!r}", self._client.get_collection, collection)
        vectors = info.config.params.vectors
        dim = vectors.size if isinstance(vectors, qm.VectorParams) else None
        reserved = (info.config.metadata or {}).get(base.RESERVED_METADATA_KEY) or {}
        shard_key = None if self.local else reserved.get("options", {}).get("shard_key")
        structs = [qm.PointStruct(id=p.id, vector=p.vector.tolist(), payload=p.payload)
                   for p in base.checked_points(points, dim)]
        for start in range(0, len(structs), UPSERT_BATCH):
            self._call(f"upserting into {collection!r}", self._client.upsert, collection,
                       points=structs[start:start + UPSERT_BATCH], wait=True, shard_key_selector=shard_key)

    def retrieve(self, collection: str, ids: Sequence[str], *, with_vectors: bool = False) -> list[Point]:
        check_name(collection)
        wanted = base.unique_ids(ids)
        if not wanted:
            return []
        records = self._call(f"retrieving from {collection!r}", self._client.retrieve, collection, wanted,
                             with_payload=True, with_vectors=with_vectors)
        by_id = {str(r.id): r for r in records}
        return [self._point(by_id[i], with_vectors) for i in wanted if i in by_id]

    @staticmethod
    def _point(record: Any, with_vectors: bool) -> Point:
        vector = np.asarray(record.vector, dtype=np.float32) if with_vectors else np.empty(0, np.float32)
        return Point(id=str(record.id), vector=vector, payload=dict(record.payload or {}))

    def existing_ids(self, collection: str, ids: Sequence[str]) -> set[str]:
        check_name(collection)
        wanted = base.unique_ids(ids)
        if not wanted:
            return set()
        records = self._call(f"retrieving from {collection!r}", self._client.retrieve, collection, wanted,
                             with_payload=False, with_vectors=False)
        return {str(r.id) for r in records}

    def count(self, collection: str, filter: Filter | None = None) -> int:
        check_name(collection)
        return self._call(f"counting {collection!r}", self._client.count, collection,
                          count_filter=_compile(filter), exact=True).count

    def scroll(self, collection: str, *, filter: Filter | None = None, limit: int = 256, offset: str | None = None,
               with_vectors: bool = False, deadline: Deadline = None) -> tuple[list[Point], str | None]:
        check_name(collection)
        arguments: dict[str, Any] = dict(
            scroll_filter=_compile(filter), limit=base.check_limit(limit),
            offset=None if offset is None else canonical_id(offset), with_payload=True, with_vectors=with_vectors)
        what = f"scrolling {collection!r}"
        records, next_offset = self._call(what, self._client.scroll, collection, **arguments,
                                          **self._timeout(deadline, what))
        return [self._point(r, with_vectors) for r in records], None if next_offset is None else str(next_offset)

    def search(self, collection: str, vector: np.ndarray, *, top_k: int = 10, offset: int = 0,
               filter: Filter | None = None, score_threshold: float | None = None,
               with_payload: bool | Sequence[str] = True, group_by: str | None = None, exact: bool = False,
               with_vectors: bool = False, deadline: Deadline = None, hnsw_ef: int | None = None) -> list[Hit]:
        check_name(collection)
        query = check_vector(vector, None, "query vector").tolist()
        top_k, offset = base.check_top_k(top_k), base.check_offset(offset)
        arguments: dict[str, Any] = dict(
            query=query, query_filter=_compile(filter), score_threshold=score_threshold,
            with_payload=base.payload_selector(with_payload), with_vectors=with_vectors,
            search_params=qm.SearchParams(hnsw_ef=base.search_ef(top_k, offset, hnsw_ef), exact=bool(exact),
                                          quantization=_RESCORE))
        what = f"searching {collection!r}"
        if group_by is None:
            points = self._call(what, self._client.query_points, collection, limit=top_k, offset=offset,
                                **arguments, **self._timeout(deadline, what)).points
            return [self._hit(p, with_vectors) for p in points]
        info = self._call(f"describing {collection!r}", self._client.get_collection, collection)
        base.typed_field(_schema(info), group_by, "group_by", base.GROUPABLE_TYPES)
        groups = self._call(what, self._client.query_points_groups, collection, group_by=group_by, group_size=1,
                            limit=offset + top_k, **arguments, **self._timeout(deadline, what)).groups
        return distinct_hits([self._hit(g.hits[0], with_vectors) for g in groups if g.hits], offset, top_k)

    def facet(self, collection: str, key: str, *, filter: Filter | None = None, limit: int = 100,
              deadline: Deadline = None) -> list[tuple[FacetValue, int]]:
        check_name(collection)
        info = self._call(f"describing {collection!r}", self._client.get_collection, collection)
        base.typed_field(_schema(info), key, "facet", base.FACET_TYPES)
        limit = base.check_integer(limit, "limit", 1, base.MAX_FACET_LIMIT)
        what = f"counting values of {key!r} in {collection!r}"
        hits = self._call(what, self._client.facet, collection, key, facet_filter=_compile(filter), limit=limit,
                          exact=True, **self._timeout(deadline, what)).hits
        return base.facet_counts([(hit.value, int(hit.count)) for hit in hits], limit)

    def _timeout(self, deadline: Deadline, what: str) -> dict[str, int]:
        """``DeadlineExceeded`` if ``deadline`` has passed, else the server-side timeout it leaves (whole seconds)."""
        base.check_deadline(deadline, what)
        if deadline is None or self.local:  # local mode has no timeouts
            return {}
        return {"timeout": max(1, math.ceil(deadline - time.monotonic()))}

    @staticmethod
    def _hit(scored: Any, with_vectors: bool) -> Hit:
        vector = np.asarray(scored.vector, dtype=np.float32) if with_vectors else None
        return Hit(id=str(scored.id), score=float(scored.score), payload=dict(scored.payload or {}), vector=vector)

    # --- lifecycle -------------------------------------------------------------------------------

    def finalize(self, collection: str, *, timeout: float = 3600.0) -> None:
        """Wait until the server's optimizers are done with the collection (status green)."""
        check_name(collection)
        deadline = time.monotonic() + timeout
        while True:
            info = self._call(f"describing {collection!r}", self._client.get_collection, collection)
            if info.status == qm.CollectionStatus.GREEN:
                return
            if info.status == qm.CollectionStatus.RED:
                raise Unavailable(f"collection {collection!r} is red on {self.url}: {info.optimizer_status}")
            if time.monotonic() > deadline:
                raise DeadlineExceeded(f"collection {collection!r} still {info.status.value} after {timeout:.0f} s")
            time.sleep(1.0)

    def flush(self) -> None:
        """Nothing to do: every write waits for the server's acknowledgement."""
        if self._closed:
            raise FailedPrecondition("the store is closed")

    def warm_up(self, collection: str, timeout: float | None = None) -> int:
        """Nothing to read ahead: the server places collections in memory by their own settings."""
        self.describe(collection)
        return 0

    def release(self, collection: str) -> None:
        """Nothing to let go of: the Qdrant server serves a collection to any number of processes."""

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        try:
            self._client.close()
        except Exception as error:
            raise _translate(error, "closing the client") from None
