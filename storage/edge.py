"""The embedded store: Qdrant Edge shards in a data directory, with collections and aliases on top.

Layout of ``data_dir``::

    collections/<name>/collection.json   dim, payload schema, metadata, options
    collections/<name>/shard/            the Qdrant Edge shard (segments + WAL)
    collections/<name>/stats.json        point count as of the last flush (for other processes)
    collections/<name>/.lock             held (flock) by the process that has the shard open
    aliases.json                         {alias: collection}, replaced atomically

A shard can be open in one process at a time: a second process gets ``FailedPrecondition``.
Within a process, stores over the same directory share the open shards. Aliases are re-read
whenever ``aliases.json`` changes, so a long-running reader follows swaps made by other processes.
Booleans are stored as 0/1 integers (qdrant-edge-py 0.9.0 cannot match stored booleans) and turned
back into booleans on read; booleans can be filtered only on fields declared ``BOOL``.
"""

from __future__ import annotations

import errno
import fcntl
import json
import os
import shutil
import threading
import uuid
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import qdrant_edge as qe

from paraseek.errors import (
    AlreadyExists,
    CollectionNotFound,
    FailedPrecondition,
    Internal,
    InvalidArgument,
    InvalidFilter,
    ParaseekError,
)
from paraseek.storage.base import (
    VectorStore,
    check_dim,
    check_filter,
    check_limit,
    check_top_k,
    creation_metadata,
    payload_selector,
    unique_ids,
)
from paraseek.filters import Filter, IsEmpty, Match, MatchAny, MatchText, Nested, Range
from paraseek.storage.types import (
    CollectionInfo,
    FieldType,
    Hit,
    Point,
    canonical_id,
    check_name,
    check_schema,
    check_vector,
    map_leaves,
    plain_payload,
    select_payload,
    values_at,
)

_INDEX_TYPES = {
    FieldType.KEYWORD: qe.PayloadSchemaType.Keyword,
    FieldType.INTEGER: qe.PayloadSchemaType.Integer,
    FieldType.FLOAT: qe.PayloadSchemaType.Float,
    FieldType.BOOL: qe.PayloadSchemaType.Integer,  # stored as 0/1, see the module docstring
    FieldType.TEXT: qe.PayloadSchemaType.Text,
}
_EDGE_OPTIONS = {"quantization", "on_disk", "shard_number", "replication_factor", "shard_key"}
_RESCORE = qe.QuantizationSearchParams(rescore=True, oversampling=2.0)


@contextmanager
def _edge_errors(what: str) -> Iterator[None]:
    """Turn qdrant-edge exceptions into typed errors."""
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
            raise FailedPrecondition(f"{what}: the shard is locked by another process ({message})") from None
        raise Internal(f"{what}: {message}") from None


# --- process-wide registry of open shards ---------------------------------------------------------


@dataclass
class _OpenShard:
    shard: qe.EdgeShard
    lock_fd: int
    users: set[int] = field(default_factory=set)
    dirty: bool = False


_OPEN: dict[str, _OpenShard] = {}
_OPEN_LOCK = threading.Lock()


def _acquire(directory: Path, user: int, name: str) -> _OpenShard:
    key = str(directory.resolve())
    with _OPEN_LOCK:
        entry = _OPEN.get(key)
        if entry is None:
            try:
                fd = os.open(directory / ".lock", os.O_RDWR | os.O_CREAT, 0o644)
            except FileNotFoundError:
                raise CollectionNotFound(f"collection {name!r} was deleted") from None
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                raise FailedPrecondition(
                    f"collection {name!r} is open in another process (lock held on {directory / '.lock'}); "
                    "the embedded store allows one process per collection: stop the other process, "
                    "or serve the collection from a Qdrant server"
                ) from None
            try:
                with _edge_errors(f"opening collection {name!r}"):
                    shard = qe.EdgeShard.load(str(directory / "shard"))
            except BaseException:
                os.close(fd)
                raise
            entry = _OPEN[key] = _OpenShard(shard, fd)
        entry.users.add(user)
        return entry


def _write_json(path: Path, data: Any) -> None:
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


def _close_entry(key: str, entry: _OpenShard) -> None:
    try:
        with _edge_errors("closing shard"):
            entry.shard.flush()
            if entry.dirty:
                _write_json(Path(key) / "stats.json", {"count": entry.shard.info().points_count})
            entry.shard.close()
    finally:
        os.close(entry.lock_fd)


def _release(directory: Path, user: int) -> None:
    key = str(directory.resolve())
    with _OPEN_LOCK:
        entry = _OPEN.get(key)
        if entry is None:
            return
        entry.users.discard(user)
        if entry.users:
            return
        del _OPEN[key]
    _close_entry(key, entry)


def _file_key(path: Path) -> tuple[int, int, int] | None:
    try:
        stat = path.stat()
    except FileNotFoundError:
        return None
    return stat.st_ino, stat.st_mtime_ns, stat.st_size


# --- filter compilation --------------------------------------------------------------------------


def _match_value(value: Any, path: str, bools: frozenset[str]) -> Any:
    if isinstance(value, bool):
        if path not in bools:
            raise InvalidFilter(
                f"boolean match on {path!r}: the embedded store matches booleans only on fields declared "
                "BOOL in the collection's payload schema"
            )
        return int(value)
    return value


def _compile_condition(condition: Any, bools: frozenset[str], prefix: str) -> Any:
    if isinstance(condition, Filter):
        return _compile_filter(condition, bools, prefix)
    path = prefix + condition.field
    if isinstance(condition, Match):
        return qe.FieldCondition(condition.field, match=qe.MatchValue(_match_value(condition.value, path, bools)))
    if isinstance(condition, MatchAny):
        values = [_match_value(v, path, bools) for v in condition.values]
        return qe.FieldCondition(condition.field, match=qe.MatchAny(values))
    if isinstance(condition, MatchText):
        return qe.FieldCondition(condition.field, match=qe.MatchText(condition.text))
    if isinstance(condition, Range):
        return qe.FieldCondition(condition.field, range=qe.RangeFloat(**{k: float(v) for k, v in condition.bounds().items()}))
    if isinstance(condition, IsEmpty):
        return qe.IsEmptyCondition(condition.field)
    if isinstance(condition, Nested):
        return qe.NestedCondition(condition.field, _compile_filter(condition.filter, bools, f"{path}[]."))
    raise InvalidFilter(f"unsupported filter condition {condition!r}")


def _compile_filter(filter: Filter, bools: frozenset[str], prefix: str = "") -> qe.Filter:
    def clause(items: Sequence[Any]) -> list[Any] | None:
        return [_compile_condition(c, bools, prefix) for c in items] or None

    return qe.Filter(must=clause(filter.must), should=clause(filter.should), must_not=clause(filter.must_not))


# --- the store -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Meta:
    dim: int
    schema: dict[str, FieldType]
    metadata: dict[str, Any]
    options: dict[str, Any]
    bools: frozenset[str]


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
        self._aliases_cache: tuple[tuple[int, int, int] | None, dict[str, str]] = (None, {})
        self._meta_cache: dict[str, tuple[tuple[int, int, int], _Meta]] = {}
        self._used: set[Path] = set()
        self._closed = False
        self._user = id(self)

    def __repr__(self) -> str:
        return f"EdgeStore({str(self.root)!r})"

    # --- helpers ---------------------------------------------------------------------------------

    def _check_open(self) -> None:
        if self._closed:
            raise FailedPrecondition("the store is closed")

    def _dir(self, name: str) -> Path:
        return self._collections / name

    def _meta(self, name: str) -> _Meta:
        path = self._dir(name) / "collection.json"
        key = _file_key(path)
        if key is None:
            self._meta_cache.pop(name, None)
            raise CollectionNotFound(f"collection {name!r} not found in {self.root}")
        cached = self._meta_cache.get(name)
        if cached and cached[0] == key:
            return cached[1]
        data = json.loads(path.read_text(encoding="utf-8"))
        schema = {k: FieldType(v) for k, v in data["payload_schema"].items()}
        meta = _Meta(dim=int(data["dim"]), schema=schema, metadata=data["metadata"], options=data.get("options", {}),
                     bools=frozenset(k for k, v in schema.items() if v is FieldType.BOOL))
        self._meta_cache[name] = (key, meta)
        return meta

    def _entry(self, name: str) -> _OpenShard:
        self._check_open()
        directory = self._dir(name)
        entry = _acquire(directory, self._user, name)
        self._used.add(directory)
        return entry

    def _open_entry(self, name: str) -> _OpenShard | None:
        """The shard of ``name`` if this process has it open already."""
        return _OPEN.get(str(self._dir(name).resolve()))

    def _aliases(self) -> dict[str, str]:
        key = _file_key(self._aliases_path)
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
                _write_json(self._aliases_path, aliases)
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
        filter = check_filter(filter)
        return None if filter is None else _compile_filter(filter, meta.bools)

    def _point(self, record: Any, meta: _Meta, with_vectors: bool) -> Point:
        vector = np.asarray(record.vector, dtype=np.float32) if with_vectors else np.empty(0, np.float32)
        return Point(id=str(record.id), vector=vector, payload=self._from_stored(record.payload, meta))

    # --- collections -----------------------------------------------------------------------------

    def create_collection(self, name: str, *, dim: int, payload_schema: dict[str, FieldType],
                          metadata: dict[str, Any] | None = None, **options: Any) -> CollectionInfo:
        """Create a collection (options: ``quantization="int8"``, ``on_disk=True``; one shard only)."""
        self._check_open()
        check_name(name)
        dim = check_dim(dim)
        schema = check_schema(payload_schema)
        metadata = creation_metadata(metadata)
        options = self._check_options(options)
        if name in self._aliases():
            raise AlreadyExists(f"an alias named {name!r} exists")
        if self._dir(name).exists():
            raise AlreadyExists(f"collection {name!r} already exists")
        staging = self._collections / f".creating-{name}-{uuid.uuid4().hex}"
        try:
            staging.mkdir()
            quantization = (qe.ScalarQuantizationConfig(type=qe.ScalarType.Int8, quantile=0.99, always_ram=True)
                            if options.get("quantization") == "int8" else None)
            config = qe.EdgeConfig(vectors=qe.EdgeVectorParams(
                size=dim, distance=qe.Distance.Cosine, on_disk=options.get("on_disk"),
                quantization_config=quantization))
            with _edge_errors(f"creating collection {name!r}"):
                shard = qe.EdgeShard.create(str(staging / "shard"), config)
                try:
                    for key, kind in schema.items():
                        shard.update(qe.UpdateOperation.create_field_index(key, _INDEX_TYPES[kind]))
                    shard.flush()
                finally:
                    shard.close()
            _write_json(staging / "collection.json", {
                "format": 1, "dim": dim, "payload_schema": {k: v.value for k, v in schema.items()},
                "metadata": metadata, "options": options,
            })
            _write_json(staging / "stats.json", {"count": 0})
            try:
                os.rename(staging, self._dir(name))
            except OSError as error:
                if error.errno in (errno.EEXIST, errno.ENOTEMPTY):
                    raise AlreadyExists(f"collection {name!r} already exists") from None
                raise
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        return self.describe(name)

    @staticmethod
    def _check_options(options: Mapping[str, Any]) -> dict[str, Any]:
        unknown = set(options) - _EDGE_OPTIONS
        if unknown:
            raise InvalidArgument(f"unknown collection options {sorted(unknown)} (allowed: {sorted(_EDGE_OPTIONS)})")
        if options.get("quantization") not in (None, "int8"):
            raise InvalidArgument(f"quantization must be 'int8' or None, got {options['quantization']!r}")
        if options.get("on_disk") not in (None, True, False):
            raise InvalidArgument("on_disk must be a bool")
        for key in ("shard_number", "replication_factor"):
            if options.get(key) not in (None, 1):
                raise InvalidArgument(f"the embedded store has one local shard: {key} must be 1 (use a Qdrant server)")
        if options.get("shard_key") is not None:
            raise InvalidArgument("custom shard keys need a Qdrant server")
        return {k: v for k, v in options.items() if k in ("quantization", "on_disk") and v is not None}

    def delete_collection(self, name: str) -> None:
        self._check_open()
        check_name(name)
        directory = self._dir(name)
        if not (directory / "collection.json").exists():
            target = self._aliases().get(name)
            hint = f" ({name!r} is an alias of {target!r}; delete the alias or the collection)" if target else ""
            raise CollectionNotFound(f"collection {name!r} not found{hint}")
        key = str(directory.resolve())
        with _OPEN_LOCK:
            entry = _OPEN.pop(key, None)
        if entry is not None:
            _close_entry(key, entry)
        self._used.discard(directory)
        fd = os.open(directory / ".lock", os.O_RDWR | os.O_CREAT, 0o644)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise FailedPrecondition(
                    f"collection {name!r} is open in another process; close it there before deleting"
                ) from None
            trash = self._collections / f".deleting-{name}-{uuid.uuid4().hex}"
            os.rename(directory, trash)
        finally:
            os.close(fd)
        with self._aliases_locked() as aliases:
            for alias in [a for a, target in aliases.items() if target == name]:
                del aliases[alias]
        self._meta_cache.pop(name, None)
        shutil.rmtree(trash, ignore_errors=True)

    def list_collections(self) -> list[CollectionInfo]:
        self._check_open()
        names = sorted(p.name for p in self._collections.iterdir()
                       if not p.name.startswith(".") and (p / "collection.json").exists())
        infos = []
        for name in names:
            try:
                infos.append(self._info(name))
            except CollectionNotFound:  # deleted meanwhile by another process
                continue
        return infos

    def describe(self, name: str) -> CollectionInfo:
        self._check_open()
        return self._info(self.resolve(name))

    def _info(self, name: str) -> CollectionInfo:
        meta = self._meta(name)
        entry = self._open_entry(name)
        if entry is not None:
            with _edge_errors(f"counting {name!r}"):
                count = entry.shard.info().points_count
        else:
            stats = self._dir(name) / "stats.json"
            count = json.loads(stats.read_text(encoding="utf-8"))["count"] if stats.exists() else 0
        aliases = sorted(a for a, target in self._aliases().items() if target == name)
        return CollectionInfo(name=name, aliases=aliases, count=count, dim=meta.dim,
                              metadata=dict(meta.metadata), payload_schema=dict(meta.schema))

    def resolve(self, name: str) -> str:
        self._check_open()
        check_name(name)
        target = self._aliases().get(name)
        if target is not None:
            if not (self._dir(target) / "collection.json").exists():
                raise CollectionNotFound(f"alias {name!r} points to {target!r}, which does not exist")
            return target
        if (self._dir(name) / "collection.json").exists():
            return name
        raise CollectionNotFound(f"no collection or alias named {name!r} in {self.root}")

    def set_alias(self, alias: str, collection: str) -> None:
        self._check_open()
        check_name(alias, "alias")
        target = self.resolve(collection)
        if (self._dir(alias) / "collection.json").exists():
            raise AlreadyExists(f"a collection named {alias!r} exists; an alias cannot take its name")
        with self._aliases_locked() as aliases:
            aliases[alias] = target

    def delete_alias(self, alias: str) -> None:
        self._check_open()
        check_name(alias, "alias")
        with self._aliases_locked() as aliases:
            if alias not in aliases:
                raise CollectionNotFound(f"no alias named {alias!r}")
            del aliases[alias]

    # --- points ----------------------------------------------------------------------------------

    def upsert(self, collection: str, points: Sequence[Point]) -> None:
        name = self.resolve(collection)
        meta = self._meta(name)
        converted = []
        for point in points:
            if not isinstance(point, Point):
                raise InvalidArgument(f"upsert takes Point objects, got {type(point).__name__}")
            point_id = canonical_id(point.id)
            vector = check_vector(point.vector, meta.dim, f"vector of point {point_id}")
            payload = self._to_stored(plain_payload(point.payload or {}), meta)
            converted.append(qe.Point(point_id, vector.tolist(), payload))
        if not converted:
            return
        entry = self._entry(name)
        with _edge_errors(f"upserting into {name!r}"):
            entry.shard.update(qe.UpdateOperation.upsert_points(converted))
        entry.dirty = True

    def retrieve(self, collection: str, ids: Sequence[str], *, with_vectors: bool = False) -> list[Point]:
        name = self.resolve(collection)
        meta = self._meta(name)
        wanted = unique_ids(ids)
        if not wanted:
            return []
        with _edge_errors(f"retrieving from {name!r}"):
            records = self._entry(name).shard.retrieve(wanted, with_payload=True, with_vector=with_vectors)
        by_id = {str(r.id): r for r in records}
        return [self._point(by_id[i], meta, with_vectors) for i in wanted if i in by_id]

    def existing_ids(self, collection: str, ids: Sequence[str]) -> set[str]:
        name = self.resolve(collection)
        wanted = unique_ids(ids)
        if not wanted:
            return set()
        with _edge_errors(f"retrieving from {name!r}"):
            records = self._entry(name).shard.retrieve(wanted, with_payload=False, with_vector=False)
        return {str(r.id) for r in records}

    def count(self, collection: str, filter: Filter | None = None) -> int:
        name = self.resolve(collection)
        compiled = self._filter(filter, self._meta(name))
        with _edge_errors(f"counting {name!r}"):
            return self._entry(name).shard.count(qe.CountRequest(exact=True, filter=compiled))

    def scroll(self, collection: str, *, filter: Filter | None = None, limit: int = 256, offset: str | None = None,
               with_vectors: bool = False) -> tuple[list[Point], str | None]:
        name = self.resolve(collection)
        meta = self._meta(name)
        request = qe.ScrollRequest(offset=None if offset is None else canonical_id(offset), limit=check_limit(limit),
                                   filter=self._filter(filter, meta), with_payload=True, with_vector=with_vectors)
        with _edge_errors(f"scrolling {name!r}"):
            records, next_offset = self._entry(name).shard.scroll(request)
        points = [self._point(r, meta, with_vectors) for r in records]
        return points, None if next_offset is None else str(next_offset)

    def search(self, collection: str, vector: np.ndarray, *, top_k: int = 10, filter: Filter | None = None,
               score_threshold: float | None = None, with_payload: bool | Sequence[str] = True,
               group_by: str | None = None, exact: bool = False, with_vectors: bool = False) -> list[Hit]:
        name = self.resolve(collection)
        meta = self._meta(name)
        query = check_vector(vector, meta.dim, "query vector").tolist()
        top_k = check_top_k(top_k)
        selector = payload_selector(with_payload)
        compiled = self._filter(filter, meta)
        params = qe.SearchParams(exact=bool(exact),
                                 quantization=_RESCORE if meta.options.get("quantization") else None)
        shard = self._entry(name).shard

        def run(limit: int, request_filter: qe.Filter | None, payload: bool | list[str]) -> list[Any]:
            request = qe.QueryRequest(limit=limit, query=qe.Query.Nearest(query), filter=request_filter,
                                      score_threshold=score_threshold, with_payload=payload,
                                      with_vector=with_vectors, params=params)
            with _edge_errors(f"searching {name!r}"):
                return shard.query(request)

        if group_by is None:
            return [self._hit(p, meta, with_vectors) for p in run(top_k, compiled, selector)]
        if not isinstance(group_by, str) or not group_by:
            raise InvalidArgument("group_by must be a payload field name")
        return self._grouped(run, compiled, group_by, top_k, selector, meta, with_vectors)

    def _grouped(self, run: Any, compiled: qe.Filter | None, field: str, top_k: int, selector: bool | list[str],
                 meta: _Meta, with_vectors: bool) -> list[Hit]:
        """Best hit per distinct value of ``field``: repeated searches that exclude the groups found so far.

        Every group seen in a result page gets its true best hit (the page is the top of all points
        outside the excluded groups), and groups found earlier outrank those found later.
        """
        best: dict[Any, Hit] = {}
        while len(best) < top_k:
            excluded_str = [v for v in best if isinstance(v, str)]
            excluded_int = [v for v in best if isinstance(v, int)]
            must_not: list[Any] = [qe.IsEmptyCondition(field)]
            for values in (excluded_str, excluded_int):
                if values:
                    must_not.append(qe.FieldCondition(field, match=qe.MatchAny(values)))
            request_filter = qe.Filter(must=[compiled] if compiled is not None else None, must_not=must_not)
            limit = max(4 * (top_k - len(best)), 32)
            page = run(limit, request_filter, True)
            for scored in page:
                hit = self._hit(scored, meta, with_vectors)
                for value in values_at(hit.payload, field):
                    if isinstance(value, (str, int)) and not isinstance(value, bool) and value not in best:
                        best[value] = hit
            if len(page) < limit:
                break
        hits: list[Hit] = []
        seen: set[str] = set()
        for hit in sorted(best.values(), key=lambda h: -h.score):
            if hit.id not in seen:
                seen.add(hit.id)
                payload = hit.payload if selector is True else select_payload(hit.payload, selector) if selector else {}
                hits.append(Hit(id=hit.id, score=hit.score, payload=payload, vector=hit.vector))
        return hits[:top_k]

    def _hit(self, scored: Any, meta: _Meta, with_vectors: bool) -> Hit:
        vector = np.asarray(scored.vector, dtype=np.float32) if with_vectors else None
        return Hit(id=str(scored.id), score=float(scored.score), payload=self._from_stored(scored.payload, meta),
                   vector=vector)

    # --- lifecycle -------------------------------------------------------------------------------

    def finalize(self, collection: str) -> None:
        """Build the HNSW index and payload-aware links (blocking; minutes for millions of points)."""
        name = self.resolve(collection)
        entry = self._entry(name)
        with _edge_errors(f"optimizing {name!r}"):
            entry.shard.optimize()
            entry.shard.flush()
            _write_json(self._dir(name) / "stats.json", {"count": entry.shard.info().points_count})
        entry.dirty = False

    def flush(self) -> None:
        self._check_open()
        for directory in list(self._used):
            entry = _OPEN.get(str(directory.resolve()))
            if entry is None:
                continue
            with _edge_errors(f"flushing {directory.name!r}"):
                entry.shard.flush()
                if entry.dirty:
                    _write_json(directory / "stats.json", {"count": entry.shard.info().points_count})
                    entry.dirty = False

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        for directory in list(self._used):
            _release(directory, self._user)
        self._used.clear()
