"""What the server does, free of gRPC: embed queries (cached, batched), search, explain, classify, rerank."""

from __future__ import annotations

import contextlib
import functools
import string
import threading
import time
import uuid
from collections.abc import Callable, Hashable, Iterator, Sequence
from contextvars import ContextVar
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Concatenate, ParamSpec, TypeVar

import numpy as np

from paraseek.audio import decode_bytes
from paraseek.errors import (
    Cancelled,
    DeadlineExceeded,
    EmptyText,
    InvalidArgument,
    PointNotFound,
    RequestTooLarge,
    TextTooLong,
    shorten,
)
from paraseek.filters import Filter, check_filter_fields, parse_where
from paraseek.limits import MAX_SEARCH_DEPTH, MAX_TOP_K
from paraseek.model import EmbeddingModel
from paraseek.model.understanding import QueryReading, candidate_phrases
from paraseek.model.zeroshot import prompt_texts, ranked
from paraseek.server.cache import EmbeddingCache
from paraseek.server.config import MAX_EXPLAIN_TOP, ServerConfig
from paraseek.server.facets import FacetOutcome, count_facets
from paraseek.server.media import clip_file
from paraseek.server.metrics import Metrics
from paraseek.server.models import ModelPool, ModelStatus, ServedModel, source_loader
from paraseek.storage import CollectionInfo, Hit, Point, VectorStore
from paraseek.storage.base import Deadline
from paraseek.storage.catalog import ModelSignature
from paraseek.storage.types import canonical_id

DEFAULT_NEGATIVE_WEIGHT = 0.5
DEFAULT_EXAMPLE_WEIGHT = 0.5
DEFAULT_TOP_K = 10
CUSTOM_GROUP = "styles"
MAX_CUSTOM_STYLES = 64
_Params = ParamSpec("_Params")
_Result = TypeVar("_Result")
#: The models the running request holds; they are released when its outermost engine call returns.
_HELD: ContextVar[list[ServedModel] | None] = ContextVar("paraseek_held_models", default=None)
#: Seconds a collection's checked description is reused by searches (its alias is resolved on every request).
COLLECTION_INFO_SECONDS = 1.0
#: How often a call waiting for an audio slot checks its deadline and whether its caller is still there.
AUDIO_SLOT_POLL_SECONDS = 0.05


class Scope:
    """The caller's deadline and liveness, checked between stages of a request."""

    def __init__(self, time_remaining: Callable[[], float | None] = lambda: None,
                 is_active: Callable[[], bool] = lambda: True) -> None:
        self._time_remaining = time_remaining
        self._is_active = is_active

    def remaining(self) -> float | None:
        """Seconds left before the caller's deadline (``None``: no deadline)."""
        return self._time_remaining()

    def active(self) -> bool:
        """Whether the caller is still waiting for the answer."""
        return self._is_active()

    def check(self, stage: str) -> None:
        """Raise ``DeadlineExceeded`` if the deadline passed, ``Cancelled`` if the caller went away."""
        remaining = self._time_remaining()
        if remaining is not None and remaining <= 0:
            raise DeadlineExceeded(f"the deadline passed before {stage}")
        if not self._is_active():
            raise Cancelled(f"the caller cancelled the request before {stage}")

    def deadline(self) -> Deadline:
        """The caller's deadline as a ``time.monotonic()`` value, for the store (``None``: no deadline)."""
        remaining = self._time_remaining()
        return None if remaining is None else time.monotonic() + remaining


@dataclass(frozen=True)
class StoredPoint:
    """A clip given by the id of a point stored in the request's collection."""

    id: str


#: A clip in a request: encoded audio bytes or a stored point.
Clip = bytes | StoredPoint


@dataclass(frozen=True)
class SearchOptions:
    """Options shared by every kind of search."""

    collection: str = ""
    filter: Filter | None = None
    where: str = ""
    top_k: int = DEFAULT_TOP_K
    score_threshold: float | None = None
    group_by: str | None = None
    payload_fields: tuple[str, ...] = ()
    explain_top: int = 1
    exact: bool = False
    #: Hits to skip: the search answers hits ``offset .. offset + top_k`` of the ranking.
    offset: int = 0
    #: Keep an example given by point id among the hits (it is left out by default).
    include_example: bool = False


@dataclass(frozen=True)
class ExplainedHit:
    hit: Hit
    #: group -> [(tag, cosine)], best first
    styles: dict[str, list[tuple[str, float]]]


@dataclass(frozen=True)
class SearchOutcome:
    hits: list[ExplainedHit]
    collection: str
    encode_seconds: float
    search_seconds: float
    #: True when every text of the search (description, negatives, the description's phrases) came from the cache
    text_cached: bool
    #: the model that served the collection
    model: str
    #: How the description maps to the model's styles (empty without a description)
    query: QueryReading = field(default_factory=QueryReading.empty)


@dataclass(frozen=True)
class Classification:
    #: group -> [(tag, cosine)], best first
    groups: dict[str, list[tuple[str, float]]]
    #: the model that embedded the clip
    model: str


@dataclass(frozen=True)
class Embeddings:
    vectors: np.ndarray
    #: the model whose space they live in
    model: ModelSignature


def _holds_models(method: Callable[Concatenate[QueryEngine, _Params], _Result]
                  ) -> Callable[Concatenate[QueryEngine, _Params], _Result]:
    """A request method: the models it takes with ``QueryEngine.served`` stay held until it returns."""

    @functools.wraps(method)
    def request(engine: QueryEngine, *args: _Params.args, **kwargs: _Params.kwargs) -> _Result:
        if _HELD.get() is not None:  # called by another request method, which holds the models
            return method(engine, *args, **kwargs)
        held: list[ServedModel] = []
        token = _HELD.set(held)
        try:
            return method(engine, *args, **kwargs)
        finally:
            _HELD.reset(token)
            for served in held:
                engine.models.release(served)

    return request


class QueryEngine:
    """Serves queries against ``store``; thread-safe.

    ``model`` is the default model (calls that name no collection); a collection is served with
    the model it was built with, loaded from the collection's record (``load_model`` on the config's
    device) on first use, within the config's model memory budget.

    Query vectors: a description ``t`` with negatives ``n_i`` (weights ``w_i``) gives
    ``normalise(t - sum w_i n_i)``; an example clip ``c`` with weight ``a`` then gives
    ``normalise(a c + (1 - a) q)``. All embeddings are unit length.
    """

    def __init__(self, model: EmbeddingModel, store: VectorStore, config: ServerConfig, metrics: Metrics) -> None:
        self.store = store
        self.config = config
        self.metrics = metrics
        self.models = ModelPool(model, config, metrics, source_loader(config))
        self.cache = EmbeddingCache(config.cache_size)  # keyed by (model fingerprint, text)
        self._audio_slots = threading.BoundedSemaphore(config.max_audio_calls)
        #: physical collection name -> (time.monotonic() of the description, the description)
        self._described: dict[str, tuple[float, CollectionInfo]] = {}

    @property
    def model(self) -> EmbeddingModel:
        """The default model."""
        return self.models.default.model

    def warm(self) -> None:
        """Run the default model's encoders once, so the first request pays no start-up cost."""
        self.models.default.warm()

    def close(self) -> None:
        """Stop every model's batcher thread."""
        self.models.close()

    def served(self, info: CollectionInfo, scope: Scope) -> ServedModel:
        """The model ``info`` was built with (loaded on first use), held until the request method returns."""
        served = self.models.acquire(info, scope.remaining())
        held = _HELD.get()
        if held is None:  # not within a request method: nothing to hold it for
            self.models.release(served)
        else:
            held.append(served)
        return served

    def model_status(self) -> list[ModelStatus]:
        """The default model, the loaded ones and those the store's collections were built with."""
        return self.models.status(self.store.list_collections())

    # --- building blocks -----------------------------------------------------------------------

    def check_text(self, text: str, what: str = "text") -> str:
        """``text`` without surrounding spaces; ``EmptyText`` / ``TextTooLong`` when unusable."""
        stripped = text.strip()
        if not stripped:
            raise EmptyText(f"{what} is empty")
        if len(stripped) > self.config.max_text_chars:
            raise TextTooLong(f"{what} has {len(stripped)} characters; the limit is {self.config.max_text_chars}")
        return stripped

    def embed_texts(self, texts: Sequence[str], scope: Scope, served: ServedModel | None = None, *,
                    phrases: Sequence[str] = ()) -> tuple[np.ndarray, bool]:
        """Unit embeddings of checked ``texts``, then of ``phrases``, by ``served`` (default: the default
        model); True if all were cached.

        Texts are looked up in the query cache, phrases (query-understanding prompts) in the served
        model's phrase cache, which is kept whatever the query cache's size; what neither holds goes
        to the model's batcher (or the model itself) in one call.
        """
        served = served or self.models.default
        key_prefix = served.model.fingerprint
        lookups: list[tuple[EmbeddingCache, Hashable, str]] = [
            *((self.cache, (key_prefix, text), text) for text in texts),
            *((served.phrases, phrase, phrase) for phrase in phrases),
        ]
        rows: list[np.ndarray | None] = []
        for cache, key, _ in lookups:
            row = cache.get(key)
            self.metrics.cache_lookups.labels(result="miss" if row is None else "hit").inc()
            rows.append(row)
        missing = list(dict.fromkeys(text for (_, _, text), row in zip(lookups, rows, strict=True) if row is None))
        fresh: dict[str, np.ndarray] = {}
        if missing:
            scope.check("text encoding")
            if served.batcher is not None:
                computed = served.batcher.embed(missing, timeout=scope.remaining(), is_active=scope.active)
            else:
                computed = served.model.embed_text(missing)
            fresh = dict(zip(missing, computed, strict=True))
            for (cache, key, text), row in zip(lookups, rows, strict=True):
                if row is None:
                    cache.put(key, fresh[text])
        vectors = [fresh[text] if row is None else row for (_, _, text), row in zip(lookups, rows, strict=True)]
        return np.stack(vectors).astype(np.float32, copy=False), not missing

    def decode(self, data: bytes, what: str = "audio") -> tuple[np.ndarray, int]:
        """Decode encoded audio within the configured length limit."""
        return decode_bytes(data, max_seconds=self.config.max_audio_seconds, name=what)

    def embed_clips(self, clips: Sequence[Clip], collection: str | None, scope: Scope,
                    served: ServedModel | None = None) -> np.ndarray:
        """Unit embeddings of clips given as bytes (decoded, encoded by ``served``, default: the default
        model) or stored points (looked up)."""
        model = (served or self.models.default).model
        rows: list[np.ndarray | None] = [None] * len(clips)
        encoded: list[tuple[int, bytes]] = []
        for index, clip in enumerate(clips):
            if isinstance(clip, StoredPoint):
                if collection is None:
                    raise InvalidArgument("a clip given by point id needs a collection")
                rows[index] = self.point_vector(collection, clip.id)
            else:
                encoded.append((index, clip))
        if encoded:
            with self.audio_slot(scope):
                decoded = [self.decode(clip, f"clip {index}" if len(clips) > 1 else "audio") for index, clip in encoded]
                scope.check("audio encoding")
                embedded = model.embed_audio([wave for wave, _ in decoded], [rate for _, rate in decoded])
            for (position, _), row in zip(encoded, embedded, strict=True):
                rows[position] = row
        return np.stack(rows).astype(np.float32, copy=False)  # type: ignore[arg-type]

    @contextlib.contextmanager
    def audio_slot(self, scope: Scope) -> Iterator[None]:
        """One of the ``max_audio_calls`` slots for decoding and encoding audio, waited for within the
        caller's deadline: they bound the decoded audio a server holds, whatever the calls in flight."""
        while not self._audio_slots.acquire(timeout=AUDIO_SLOT_POLL_SECONDS):
            scope.check("decoding audio (every audio slot was busy)")
        try:
            yield
        finally:
            self._audio_slots.release()

    def point_vector(self, collection: str, point_id: str) -> np.ndarray:
        """The stored (unit) vector of ``point_id`` (or a unique prefix of it) in ``collection``."""
        return self._stored_point(collection, point_id, with_vectors=True).vector

    def resolve_point_id(self, collection: str, point_id: str) -> str:
        """The full id of the point of ``collection`` whose id is ``point_id`` or starts with it.

        ``PointNotFound`` when no point id starts so, ``InvalidArgument`` when several do or
        ``point_id`` is neither a UUID nor a prefix of one.
        """
        text = point_id.strip().lower()
        digits = text.replace("-", "")
        if len(digits) == 32:
            return canonical_id(text)
        if not digits or len(digits) > 32 or not set(digits) <= set(string.hexdigits.lower()):
            raise InvalidArgument(f"point id {point_id!r} is neither a UUID nor the start of one (hex digits)")
        lowest = str(uuid.UUID(digits.ljust(32, "0")))
        points, _ = self.store.scroll(collection, limit=2, offset=lowest)
        matches = [point.id for point in points if point.id.replace("-", "").startswith(digits)]
        if not matches:
            raise PointNotFound(f"no point id in collection {collection!r} starts with {point_id!r}")
        if len(matches) > 1:
            raise InvalidArgument(f"point id prefix {point_id!r} is ambiguous in collection {collection!r}: "
                                  f"{matches[0]} and {matches[1]} both start with it; give more characters")
        return matches[0]

    def _stored_point(self, collection: str, point_id: str, *, with_vectors: bool = False) -> Point:
        full_id = self.resolve_point_id(collection, point_id)
        points = self.store.retrieve(collection, [full_id], with_vectors=with_vectors)
        if not points:
            raise PointNotFound(f"no point {shorten(point_id)!r} in collection {collection!r}")
        return points[0]

    def collection(self, name: str, *, recent: bool = False) -> CollectionInfo:
        """The collection (or alias target) a request names (the default collection when it names none).

        ``recent``: a description read less than ``COLLECTION_INFO_SECONDS`` ago will do (its count
        and schema may lag by that long; the alias itself is resolved now).
        """
        if recent and name:
            physical = self.store.resolve(name)
            described = self._described.get(physical)
            if described is not None and time.monotonic() - described[0] < COLLECTION_INFO_SECONDS:
                return described[1]
        if not name:
            name = self.config.default_collection or ""
        if not name:
            names = [info.name for info in self.store.list_collections()]
            if len(names) != 1:
                raise InvalidArgument("name a collection (the server has no default collection); "
                                      f"available: {', '.join(names) or 'none'}")
            name = names[0]
        described_at = time.monotonic()
        info = self.store.describe(name)
        self._described[info.name] = (described_at, info)
        return info

    def build_filter(self, info: CollectionInfo, structured: Filter | None, where: str) -> Filter | None:
        """The structured filter AND the where-expression, checked against the collection's schema."""
        parts: list[Filter] = []
        if structured is not None and not structured.is_empty:
            check_filter_fields(structured, info.payload_schema)
            parts.append(structured)
        if where.strip():
            parts.append(parse_where(where, info.payload_schema))
        if not parts:
            return None
        return parts[0] if len(parts) == 1 else Filter(must=tuple(parts))

    # --- requests ------------------------------------------------------------------------------

    def check_options(self, options: SearchOptions) -> None:
        if not 1 <= options.top_k <= MAX_TOP_K:
            raise InvalidArgument(f"top_k must be in 1..{MAX_TOP_K}, got {options.top_k}")
        if not 0 <= options.explain_top <= MAX_EXPLAIN_TOP:
            raise InvalidArgument(f"explain_top must be in 0..{MAX_EXPLAIN_TOP}, got {options.explain_top}")
        if options.score_threshold is not None and not np.isfinite(options.score_threshold):
            raise InvalidArgument("score_threshold must be a finite number")
        if not 0 <= options.offset <= MAX_SEARCH_DEPTH - options.top_k:
            raise InvalidArgument(f"offset must be in 0..{MAX_SEARCH_DEPTH - options.top_k} (offset + top_k at most "
                                  f"{MAX_SEARCH_DEPTH}), got {options.offset}")

    @_holds_models
    def search(self, text: str, options: SearchOptions, scope: Scope, *,
               negatives: Sequence[tuple[str, float]] = (), example: Clip | None = None,
               example_weight: float = DEFAULT_EXAMPLE_WEIGHT) -> SearchOutcome:
        """Search by description (with optional negatives and example clip).

        An example given as a stored point is left out of the hits unless ``options.include_example``.
        """
        started = time.perf_counter()
        self.check_options(options)
        if len(negatives) > self.config.max_negatives:
            raise RequestTooLarge(f"{len(negatives)} negative descriptions; the limit is {self.config.max_negatives}")
        if not 0.0 <= example_weight <= 1.0:
            raise InvalidArgument(f"example_weight must be in [0, 1], got {example_weight}")
        described = bool(text.strip()) or example is None
        texts = [self.check_text(text, "the description")] if described else []
        if negatives and not described:
            raise EmptyText("negative descriptions steer a description; give one")
        weights = []
        for index, (negative, weight) in enumerate(negatives):
            if not 0.0 < weight <= 2.0:
                raise InvalidArgument(f"negative description {index}: weight must be in (0, 2], got {weight}")
            texts.append(self.check_text(negative, f"negative description {index}"))
            weights.append(weight)
        info = self.collection(options.collection, recent=True)
        served = self.served(info, scope)
        query_filter = self.build_filter(info, options.filter, options.where)
        text_query, cached, reading = None, False, QueryReading.empty()
        if texts:
            words, pairs = candidate_phrases(texts[0]) if described else ([], [])
            vectors, cached = self.embed_texts(texts, scope, served, phrases=served.vocabulary.texts(words + pairs))
            steered = vectors[0] - np.asarray(weights, dtype=np.float32) @ vectors[1:len(texts)]
            text_query = _unit(steered, "the description minus its negatives")
            reading = served.vocabulary.read(words, pairs, vectors[len(texts):])
        clip, exclude = None, None
        if example is not None:
            example, exclude = self._example(info.name, example, options)
            clip = self.embed_clips([example], info.name, scope, served)[0]
        query = _combine(text_query, clip, example_weight)
        encoded = time.perf_counter()
        outcome = self._run_search(info, query, query_filter, options, scope, started, encoded, cached, exclude)
        return replace(outcome, query=reading)

    @_holds_models
    def search_by_audio(self, clip: Clip, options: SearchOptions, scope: Scope) -> SearchOutcome:
        """Search by example clip; a stored point is left out of its own results unless ``options.include_example``."""
        started = time.perf_counter()
        self.check_options(options)
        info = self.collection(options.collection)
        served = self.served(info, scope)
        query_filter = self.build_filter(info, options.filter, options.where)
        example, exclude = self._example(info.name, clip, options)
        query = self.embed_clips([example], info.name, scope, served)[0]
        encoded = time.perf_counter()
        return self._run_search(info, query, query_filter, options, scope, started, encoded, False, exclude)

    def _example(self, collection: str, clip: Clip, options: SearchOptions) -> tuple[Clip, str | None]:
        """The example with a point id prefix resolved, and the id to leave out of the hits (if any)."""
        if not isinstance(clip, StoredPoint):
            return clip, None
        stored = StoredPoint(self.resolve_point_id(collection, clip.id))
        return stored, None if options.include_example else stored.id

    def _run_search(self, info: CollectionInfo, query: np.ndarray, query_filter: Filter | None,
                    options: SearchOptions, scope: Scope, started: float, encoded: float, cached: bool,
                    exclude: str | None = None) -> SearchOutcome:
        """Hits ``offset .. offset + top_k`` of the ranking, without the point ``exclude``."""
        scope.check("the search")
        served = self.served(info, scope)
        deadline = scope.deadline()
        with_payload: bool | list[str] = list(options.payload_fields) if options.payload_fields else True

        def ranked(top_k: int, offset: int, payload: bool | list[str], vectors: bool) -> list[Hit]:
            return self.store.search(info.name, query, top_k=top_k, offset=offset, filter=query_filter,
                                     score_threshold=options.score_threshold, with_payload=payload,
                                     group_by=options.group_by or None, exact=options.exact, with_vectors=vectors,
                                     deadline=deadline)

        offset = options.offset
        if exclude is not None and offset:  # the example ranked above this page moves it down by one
            ahead = (ranked(min(MAX_TOP_K, offset - start), start, False, False) for start in range(0, offset, MAX_TOP_K))
            offset += any(hit.id == exclude for hits in ahead for hit in hits)
        hits = ranked(options.top_k, offset, with_payload, options.explain_top > 0)
        if exclude is not None and any(hit.id == exclude for hit in hits):
            following = offset + options.top_k
            hits = [hit for hit in hits if hit.id != exclude]
            if following <= MAX_SEARCH_DEPTH:
                hits += ranked(1, following, with_payload, options.explain_top > 0)
        searched = time.perf_counter()
        explained = [ExplainedHit(hit, styles)
                     for hit, styles in zip(hits, served.explain_hits(hits, options.explain_top), strict=True)]
        return SearchOutcome(explained, info.name, encoded - started, searched - encoded, cached, served.model.name)

    def _clip_model(self, collection: str, clips: Sequence[Clip], scope: Scope) -> tuple[str | None, ServedModel]:
        """Where ``clips`` given by point id are looked up, and the model that embeds them: the collection's
        when the request names one or gives a stored point, else the default model."""
        if not collection and not any(isinstance(clip, StoredPoint) for clip in clips):
            return None, self.models.default
        info = self.collection(collection)
        return info.name, self.served(info, scope)

    @_holds_models
    def classify(self, clip: Clip, collection: str, styles: Sequence[str], scope: Scope) -> Classification:
        """Zero-shot scores of one clip: caller's candidate styles, or every group of the model."""
        if len(styles) > MAX_CUSTOM_STYLES:
            raise RequestTooLarge(f"{len(styles)} candidate styles; the limit is {MAX_CUSTOM_STYLES}")
        candidates = list(dict.fromkeys(self.check_text(s, f"style {i}") for i, s in enumerate(styles)))
        name, served = self._clip_model(collection, [clip], scope)
        vector = self.embed_clips([clip], name, scope, served)[0]
        if not candidates:
            return Classification(served.explain(vector, None), served.model.name)
        prompts, _ = self.embed_texts(prompt_texts(candidates), scope, served)
        return Classification({CUSTOM_GROUP: ranked(candidates, prompts @ vector)}, served.model.name)

    def rerank(self, text: str, clips: Sequence[bytes], scope: Scope) -> list[tuple[int, float]]:
        """Best-of-N: ``(index, cosine)`` of every clip against the description, best first."""
        description = self.check_text(text, "the description")
        if not clips:
            raise InvalidArgument("rerank needs at least one clip")
        if len(clips) > self.config.max_rerank_clips:
            raise RequestTooLarge(f"{len(clips)} clips; the limit is {self.config.max_rerank_clips}")
        target, _ = self.embed_texts([description], scope)
        embeddings = self.embed_clips(list(clips), None, scope)
        scores = embeddings @ target[0]
        return [(int(i), float(scores[i])) for i in np.argsort(-scores, kind="stable")]

    def facet(self, collection: str, fields: Sequence[str], structured: Filter | None, where: str, limit: int,
              scope: Scope) -> FacetOutcome:
        """Value counts of payload ``fields`` (default: every facetable field) over the points matching the filter."""
        info = self.collection(collection)
        query_filter = self.build_filter(info, structured, where)
        scope.check("counting")
        return count_facets(self.store, info, fields, query_filter, limit, scope.deadline())

    def point(self, collection: str, point_id: str) -> tuple[str, Point]:
        """The physical collection and the stored point (payload, no vector) named by ``point_id`` or its unique prefix."""
        name = self.collection(collection).name
        return name, self._stored_point(name, point_id)

    def audio_file(self, collection: str, point_id: str) -> tuple[str, Path]:
        """The full id and the audio file of a stored point (``MediaUnavailable`` when the server cannot read it)."""
        name, point = self.point(collection, point_id)
        return point.id, clip_file(name, point.id, point.payload, self.config.media_root)

    def embed_text_request(self, texts: Sequence[str], scope: Scope) -> Embeddings:
        """Embeddings of ``texts`` by the default model."""
        if not texts:
            raise InvalidArgument("no texts given")
        if len(texts) > self.config.max_embed_texts:
            raise RequestTooLarge(f"{len(texts)} texts; the limit is {self.config.max_embed_texts}")
        vectors, _ = self.embed_texts([self.check_text(t, f"text {i}") for i, t in enumerate(texts)], scope)
        return Embeddings(vectors, self.models.default.signature)

    @_holds_models
    def embed_audio_request(self, clips: Sequence[Clip], collection: str, scope: Scope) -> Embeddings:
        """Embeddings of ``clips`` by the model of the collection named (or of stored points), else the default one."""
        if not clips:
            raise InvalidArgument("no clips given")
        if len(clips) > self.config.max_rerank_clips:
            raise RequestTooLarge(f"{len(clips)} clips; the limit is {self.config.max_rerank_clips}")
        name, served = self._clip_model(collection, clips, scope)
        return Embeddings(self.embed_clips(clips, name, scope, served), served.signature)


def _combine(text_query: np.ndarray | None, clip: np.ndarray | None, clip_weight: float) -> np.ndarray:
    """The search vector from a text query and/or an example clip embedding."""
    if text_query is not None and clip is not None:
        return _unit(clip_weight * clip + (1 - clip_weight) * text_query, "the example clip combined with the description")
    if text_query is not None:
        return text_query
    if clip is not None:
        return clip
    raise EmptyText("give a description or an example clip")


def _unit(vector: np.ndarray, what: str) -> np.ndarray:
    norm = float(np.linalg.norm(vector))
    if not np.isfinite(norm) or norm < 1e-6:
        raise InvalidArgument(f"{what} leaves no direction to search (the vector is zero); lower the weights")
    return (vector / norm).astype(np.float32)

