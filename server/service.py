"""The gRPC servicer: requests in, engine calls, responses out; typed errors become status codes."""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import grpc

import paraseek
from paraseek.errors import Internal, ParaseekError, Unavailable, status_name
from paraseek.filter_proto import filter_from_proto
from paraseek.limits import MAX_TOP_K
from paraseek.server.config import ServerConfig
from paraseek.server.convert import (
    clip,
    collection_info,
    collection_name,
    facet_response,
    search_options,
    search_response,
    struct,
)
from paraseek.server.engine import DEFAULT_EXAMPLE_WEIGHT, DEFAULT_NEGATIVE_WEIGHT, Embeddings, QueryEngine, Scope
from paraseek.server.facets import DEFAULT_FACET_VALUES
from paraseek.server.media import content_type
from paraseek.server.metrics import Metrics
from paraseek.server.status import abort
from paraseek.storage import VectorStore
from paraseek.v1 import filter_pb2, paraseek_pb2, paraseek_pb2_grpc

log = logging.getLogger("paraseek.server")
Response = TypeVar("Response")
#: Bytes of audio per GetAudio message.
AUDIO_CHUNK_BYTES = 256 * 1024


def request_scope(context: grpc.ServicerContext, max_seconds: float) -> Scope:
    """The call's deadline: the client's, capped at ``max_seconds`` from now (the default when it sets none)."""
    ceiling = time.monotonic() + max_seconds

    def remaining() -> float:
        own = ceiling - time.monotonic()
        requested = context.time_remaining()
        return own if requested is None else min(own, requested)

    return Scope(time_remaining=remaining, is_active=context.is_active)


def rpc(method: Callable[..., Response]) -> Callable[..., Response]:
    """Wrap a servicer method: metrics, a log line, and typed errors turned into status codes.

    The error's class name travels in the trailing metadata key ``ERROR_TYPE_METADATA_KEY`` so the
    client can raise the same class.
    """
    name = method.__name__

    @functools.wraps(method)
    def handler(self: ParaseekServicer, request: Any, context: grpc.ServicerContext) -> Response:
        started = time.perf_counter()
        code = "OK"
        try:
            return method(self, request, context)
        except ParaseekError as error:
            code = status_name(error)
            failure: ParaseekError = error
        except Exception as error:  # a bug, not the caller's fault: log it, answer INTERNAL
            log.exception("unexpected error in %s", name)
            code, failure = "INTERNAL", Internal(f"internal error ({type(error).__name__}); see the server log")
        finally:
            elapsed = time.perf_counter() - started
            self.metrics.requests.labels(rpc=name, code=code).inc()
            self.metrics.stage_seconds.labels(rpc=name, stage="total").observe(elapsed)
            log.info("rpc", extra={"rpc": name, "code": code, "ms": round(elapsed * 1e3, 3), "peer": context.peer()})
        abort(context, failure)

    return handler


class ParaseekServicer(paraseek_pb2_grpc.ParaseekServicer):
    """Implements ``paraseek.v1.Paraseek``; answers UNAVAILABLE until the model is ready."""

    def __init__(self, store: VectorStore, config: ServerConfig, metrics: Metrics) -> None:
        self.store = store
        self.config = config
        self.metrics = metrics
        self._engine: QueryEngine | None = None

    def attach(self, engine: QueryEngine) -> None:
        """Start answering model RPCs with ``engine``."""
        self._engine = engine

    @property
    def engine(self) -> QueryEngine:
        if self._engine is None:
            raise Unavailable("the model is still loading; retry shortly")
        return self._engine

    def _scope(self, context: grpc.ServicerContext) -> Scope:
        return request_scope(context, self.config.max_request_seconds)

    def _stages(self, rpc_name: str, outcome: Any) -> None:
        self.metrics.stage_seconds.labels(rpc=rpc_name, stage="encode").observe(outcome.encode_seconds)
        self.metrics.stage_seconds.labels(rpc=rpc_name, stage="search").observe(outcome.search_seconds)

    @rpc
    def Search(self, request: paraseek_pb2.SearchRequest, context: grpc.ServicerContext) -> paraseek_pb2.SearchResponse:
        return self.search(request, self._scope(context))

    def search(self, request: paraseek_pb2.SearchRequest, scope: Scope) -> paraseek_pb2.SearchResponse:
        """The answer to a SearchRequest (the Search RPC, and in-process searches without a server)."""
        started = time.perf_counter()
        engine = self.engine
        negatives = [(n.text, n.weight or DEFAULT_NEGATIVE_WEIGHT) for n in request.negatives]
        example = clip(request.example, "example") if request.HasField("example") else None
        weight = request.example_weight if request.HasField("example_weight") else DEFAULT_EXAMPLE_WEIGHT
        outcome = engine.search(request.text, search_options(request), scope,
                                negatives=negatives, example=example, example_weight=weight)
        self._stages("Search", outcome)
        return search_response(outcome, outcome.model, time.perf_counter() - started)

    @rpc
    def SearchByAudio(self, request: paraseek_pb2.SearchByAudioRequest,
                      context: grpc.ServicerContext) -> paraseek_pb2.SearchResponse:
        started = time.perf_counter()
        engine = self.engine
        outcome = engine.search_by_audio(clip(request.audio), search_options(request), self._scope(context))
        self._stages("SearchByAudio", outcome)
        return search_response(outcome, outcome.model, time.perf_counter() - started)

    @rpc
    def Classify(self, request: paraseek_pb2.ClassifyRequest, context: grpc.ServicerContext) -> paraseek_pb2.ClassifyResponse:
        classified = self.engine.classify(clip(request.audio), collection_name(request.collection),
                                          list(request.styles), self._scope(context))
        return paraseek_pb2.ClassifyResponse(
            groups=[paraseek_pb2.GroupScores(group=group, tags=[paraseek_pb2.StyleTag(tag=t, score=s) for t, s in tags])
                    for group, tags in classified.groups.items()],
            model=classified.model)

    @rpc
    def Rerank(self, request: paraseek_pb2.RerankRequest, context: grpc.ServicerContext) -> paraseek_pb2.RerankResponse:
        engine = self.engine
        ranked = engine.rerank(request.text, list(request.clips), self._scope(context))
        return paraseek_pb2.RerankResponse(ranked=[paraseek_pb2.RankedClip(index=i, score=s) for i, s in ranked],
                                           model=engine.model.name)

    @staticmethod
    def _embeddings(embedded: Embeddings) -> paraseek_pb2.EmbedResponse:
        return paraseek_pb2.EmbedResponse(
            embeddings=[paraseek_pb2.Embedding(values=row.tolist()) for row in embedded.vectors],
            model=embedded.model.name, model_fingerprint=embedded.model.fingerprint)

    @rpc
    def EmbedText(self, request: paraseek_pb2.EmbedTextRequest, context: grpc.ServicerContext) -> paraseek_pb2.EmbedResponse:
        return self._embeddings(self.engine.embed_text_request(list(request.texts), self._scope(context)))

    @rpc
    def EmbedAudio(self, request: paraseek_pb2.EmbedAudioRequest, context: grpc.ServicerContext) -> paraseek_pb2.EmbedResponse:
        clips = [clip(c, f"clip {i}") for i, c in enumerate(request.clips)]
        collection = collection_name(request.collection)
        return self._embeddings(self.engine.embed_audio_request(clips, collection, self._scope(context)))

    @rpc
    def ListCollections(self, request: paraseek_pb2.ListCollectionsRequest,
                        context: grpc.ServicerContext) -> paraseek_pb2.ListCollectionsResponse:
        return paraseek_pb2.ListCollectionsResponse(
            collections=[collection_info(info) for info in self.store.list_collections()])

    @rpc
    def DescribeCollection(self, request: paraseek_pb2.DescribeCollectionRequest,
                           context: grpc.ServicerContext) -> paraseek_pb2.CollectionInfo:
        return collection_info(self.store.describe(collection_name(request.name)))

    @rpc
    def GetServerInfo(self, request: paraseek_pb2.GetServerInfoRequest,
                      context: grpc.ServicerContext) -> paraseek_pb2.ServerInfo:
        engine = self.engine
        model = engine.model
        config = self.config
        return paraseek_pb2.ServerInfo(
            model=model.name, model_fingerprint=model.fingerprint, embedding_dim=model.embedding_dim,
            sample_rate=model.sample_rate,
            style_groups={g: filter_pb2.KeywordList(values=tags) for g, tags in model.style_groups().items()},
            default_collection=config.default_collection or "", max_text_chars=config.max_text_chars,
            max_top_k=MAX_TOP_K, max_rerank_clips=config.max_rerank_clips, max_audio_seconds=config.max_audio_seconds,
            max_message_bytes=config.max_message_bytes, version=paraseek.__version__,
            models=[paraseek_pb2.ModelInfo(**status.to_dict()) for status in engine.model_status()],
            model_memory_budget_bytes=config.model_memory_bytes,
            understanding_threshold=engine.models.default.vocabulary.threshold)

    @rpc
    def Facet(self, request: paraseek_pb2.FacetRequest, context: grpc.ServicerContext) -> paraseek_pb2.FacetResponse:
        structured = filter_from_proto(request.filter) if request.HasField("filter") else None
        limit = request.limit if request.HasField("limit") else DEFAULT_FACET_VALUES
        outcome = self.engine.facet(request.collection, list(request.fields), structured, request.where, limit,
                                    self._scope(context))
        return facet_response(outcome)

    @rpc
    def GetPoint(self, request: paraseek_pb2.GetPointRequest, context: grpc.ServicerContext) -> paraseek_pb2.Point:
        collection, point = self.engine.point(request.collection, request.id)
        return paraseek_pb2.Point(id=point.id, collection=collection, payload=struct(point.payload))

    @rpc
    def GetAudio(self, request: paraseek_pb2.GetAudioRequest,
                 context: grpc.ServicerContext) -> Iterator[paraseek_pb2.AudioChunk]:
        point_id, path = self.engine.audio_file(request.collection, request.id)
        return _audio_chunks(point_id, path)


def _audio_chunks(point_id: str, path: Path) -> Iterator[paraseek_pb2.AudioChunk]:
    """A file in chunks; the first carries its content type, size and the point's id."""
    with open(path, "rb") as audio:
        yield paraseek_pb2.AudioChunk(data=audio.read(AUDIO_CHUNK_BYTES), content_type=content_type(path),
                                      size=path.stat().st_size, id=point_id)
        while chunk := audio.read(AUDIO_CHUNK_BYTES):
            yield paraseek_pb2.AudioChunk(data=chunk)
