"""The HTTP/JSON API and the workbench page, over the same engine and store as the gRPC service."""

from __future__ import annotations

import base64
import binascii
import logging
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from fastapi.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Send
from starlette.types import Scope as AsgiScope

import paraseek
from paraseek.errors import (
    AudioError,
    Internal,
    InvalidArgument,
    ParaseekError,
    RequestTooLarge,
    Unauthenticated,
    http_status,
    status_name,
)
from paraseek.filters import Filter, filter_from_dict
from paraseek.limits import MAX_TOP_K
from paraseek.server.auth import bearer_accepted
from paraseek.server.config import ServerConfig
from paraseek.server.engine import (
    DEFAULT_EXAMPLE_WEIGHT,
    DEFAULT_NEGATIVE_WEIGHT,
    DEFAULT_TOP_K,
    Clip,
    ExplainedHit,
    QueryEngine,
    Scope,
    SearchOptions,
    StoredPoint,
)
from paraseek.server.facets import FieldFacet
from paraseek.server.media import AudioUrls, content_type
from paraseek.server.metrics import Metrics
from paraseek.server.web import models
from paraseek.storage import CollectionInfo, FieldType, VectorStore

log = logging.getLogger("paraseek.server")
STATIC_DIR = Path(__file__).parent / "static"
#: The page may load only its own scripts, styles, images and audio.
PAGE_POLICY = ("default-src 'self'; img-src 'self' data:; media-src 'self' blob:; connect-src 'self'; "
               "object-src 'none'; base-uri 'none'; frame-ancestors 'none'")
_ERRORS = {"model": models.ErrorResponse}
_API_ERRORS: dict[int | str, dict[str, Any]] = {status: _ERRORS for status in (400, 401, 404, 409, 503, 504)}
_BEARER = HTTPBearer(auto_error=False, description="The server's read or admin token.")
_Credentials = Annotated[HTTPAuthorizationCredentials | None, Depends(_BEARER)]


def create_app(store: VectorStore, config: ServerConfig, engine: Callable[[], QueryEngine],
               metrics: Metrics) -> FastAPI:
    """The ASGI app: ``/api/v1/...`` (JSON, bearer tokens when configured), ``/`` (the workbench page).

    ``engine()`` returns the loaded query engine or raises ``Unavailable`` while the model loads.
    The OpenAPI schema is at ``/api/openapi.json``.
    """
    app = FastAPI(title="paraseek", version=paraseek.__version__, docs_url=None, redoc_url=None,
                  openapi_url="/api/openapi.json",
                  description="Search speech by speaking style. Errors: `{\"error\": {code, type, message}}` with "
                              "the HTTP status of `paraseek.errors.HTTP_STATUS`.")
    tokens = [token.encode() for token in config.tokens]
    audio_urls = AudioUrls(signed=bool(tokens))

    def token_valid(credentials: HTTPAuthorizationCredentials | None) -> bool:
        return not tokens or (credentials is not None
                              and bearer_accepted(f"{credentials.scheme} {credentials.credentials}", tokens))

    def require_token(credentials: _Credentials) -> None:
        if not token_valid(credentials):
            raise Unauthenticated("missing or invalid bearer token (send 'Authorization: Bearer <token>')")

    api = APIRouter(prefix="/api/v1", dependencies=[Depends(require_token)], responses=_API_ERRORS)
    media = APIRouter(prefix="/api/v1", responses=_API_ERRORS)

    def hit(collection: str, explained: ExplainedHit) -> models.Hit:
        found = explained.hit
        return models.Hit(id=found.id, score=found.score, payload=found.payload,
                          styles={group: models.StyleTags(tags=[models.StyleTag(tag=t, score=s) for t, s in tags])
                                  for group, tags in explained.styles.items()},
                          audio_url=audio_urls.url(collection, found.id))

    @api.get("/info", response_model=models.ServerInfo, summary="The served models and the request limits")
    def info() -> models.ServerInfo:
        query_engine = engine()
        model = query_engine.model
        return models.ServerInfo(
            model=model.name, model_fingerprint=model.fingerprint, embedding_dim=model.embedding_dim,
            sample_rate=model.sample_rate,
            style_groups={group: models.KeywordList(values=tags) for group, tags in model.style_groups().items()},
            default_collection=config.default_collection or "", max_text_chars=config.max_text_chars,
            max_top_k=MAX_TOP_K, max_negatives=config.max_negatives, version=paraseek.__version__,
            auth=bool(tokens), model_memory_budget_bytes=config.model_memory_bytes,
            models=[models.ModelInfo(**status.to_dict()) for status in query_engine.model_status()],
            understanding_threshold=query_engine.models.default.vocabulary.threshold)

    @api.post("/search", response_model=models.SearchResponse,
              summary="Clips matching a description, steered by negatives and an example clip")
    def search(request: models.SearchRequest) -> models.SearchResponse:
        started = time.perf_counter()
        query_engine = engine()
        options = SearchOptions(
            collection=request.collection, filter=_filter(request.filter), where=request.where,
            top_k=DEFAULT_TOP_K if request.top_k is None else request.top_k,
            score_threshold=request.score_threshold, group_by=request.group_by or None,
            payload_fields=tuple(request.payload_fields),
            explain_top=SearchOptions.explain_top if request.explain_top is None else request.explain_top,
            exact=request.exact, offset=request.offset)
        example = _clip(request.example, "example") if request.example is not None else None
        scope = _scope(config.max_request_seconds)
        if example is not None and not request.text.strip() and not request.negatives:
            outcome = query_engine.search_by_audio(example, options, scope)
        else:
            negatives = [(n.text, n.weight or DEFAULT_NEGATIVE_WEIGHT) for n in request.negatives]
            weight = DEFAULT_EXAMPLE_WEIGHT if request.example_weight is None else request.example_weight
            outcome = query_engine.search(request.text, options, scope, negatives=negatives, example=example,
                                          example_weight=weight)
        return models.SearchResponse(
            hits=[hit(outcome.collection, explained) for explained in outcome.hits],
            collection=outcome.collection, model=outcome.model,
            timing=models.Timing(encode_ms=outcome.encode_seconds * 1e3, search_ms=outcome.search_seconds * 1e3,
                                 total_ms=(time.perf_counter() - started) * 1e3),
            text_cached=outcome.text_cached, offset=request.offset,
            query=models.QueryUnderstanding(
                understood=[models.UnderstoodStyle(style=style, score=score) for style, score in outcome.query.understood],
                unknown=outcome.query.unknown))

    @api.post("/classify", response_model=models.ClassifyResponse, summary="Zero-shot styles of one clip")
    def classify(request: models.ClassifyRequest) -> models.ClassifyResponse:
        classified = engine().classify(_clip(request.audio, "audio"), request.collection, request.styles,
                                       _scope(config.max_request_seconds))
        return models.ClassifyResponse(
            groups=[models.GroupScores(group=group, tags=[models.StyleTag(tag=t, score=s) for t, s in tags])
                    for group, tags in classified.groups.items()],
            model=classified.model)

    @api.get("/collections", response_model=models.ListCollectionsResponse, summary="Every collection")
    def list_collections() -> models.ListCollectionsResponse:
        return models.ListCollectionsResponse(collections=[_collection(info) for info in store.list_collections()])

    @api.get("/collections/{name}", response_model=models.CollectionInfo,
             summary="A collection (or alias): count, model, payload schema")
    def describe_collection(name: str) -> models.CollectionInfo:
        return _collection(store.describe(name))

    @api.post("/collections/{name}/facets", response_model=models.FacetResponse,
              summary="Value counts of payload fields over the points matching a filter")
    def facets(name: str, request: models.FacetRequest) -> models.FacetResponse:
        outcome = engine().facet(name, request.fields, _filter(request.filter), request.where, request.limit,
                                 _scope(config.max_request_seconds))
        return models.FacetResponse(collection=outcome.collection, scanned=outcome.scanned, complete=outcome.complete,
                                    facets=[_facet(facet) for facet in outcome.facets])

    @api.get("/collections/{name}/points/{point_id}", response_model=models.PointResponse,
             summary="A point's payload (the id may be a unique prefix)")
    def point(name: str, point_id: str) -> models.PointResponse:
        collection, found = engine().point(name, point_id)
        return models.PointResponse(id=found.id, collection=collection, payload=found.payload,
                                    audio_url=audio_urls.url(name, found.id))

    @media.get("/collections/{name}/points/{point_id}/audio", response_class=FileResponse,
               summary="A point's audio, streamed from its source file (HTTP range requests supported)",
               responses={200: {"content": {"audio/*": {}}}, 206: {"description": "Partial content"},
                          416: {"description": "Range not satisfiable"}})
    def audio(name: str, point_id: str,
              credentials: _Credentials,
              expires: Annotated[int, Query(description="Expiry (Unix time) of a signed URL")] = 0,
              signature: Annotated[str, Query(description="Signature of a URL the API handed out")] = "") -> Response:
        if not token_valid(credentials):
            if not signature:
                raise Unauthenticated("missing bearer token or signed audio URL")
            audio_urls.verify(name, point_id, expires, signature)
        _, path = engine().audio_file(name, point_id)
        return FileResponse(path, media_type=content_type(path))

    app.include_router(api)
    app.include_router(media)

    @app.get("/", include_in_schema=False)
    def page() -> Response:
        return FileResponse(STATIC_DIR / "index.html", headers={"Content-Security-Policy": PAGE_POLICY,
                                                                "Cache-Control": "no-cache"})

    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    _add_error_handlers(app)
    _add_request_log(app, metrics)
    app.add_middleware(BodyLimit, max_bytes=config.max_message_bytes)
    return app


def _scope(seconds: float) -> Scope:
    """HTTP has no caller deadline: a request may take ``seconds`` (the server's max_request_seconds)."""
    deadline = time.monotonic() + seconds
    return Scope(time_remaining=lambda: deadline - time.monotonic())


def _clip(audio: models.AudioInput, what: str) -> Clip:
    """Audio bytes (base64 in JSON) or a stored point."""
    if (audio.data is None) == (audio.point_id is None):
        raise AudioError(f"{what}: give exactly one of 'data' (base64 audio) or 'point_id'")
    if audio.point_id is not None:
        return StoredPoint(audio.point_id)
    try:
        return base64.b64decode(audio.data or "", validate=True)
    except binascii.Error:
        raise AudioError(f"{what}: 'data' is not valid base64") from None


def _collection(info: CollectionInfo) -> models.CollectionInfo:
    return models.CollectionInfo(
        name=info.name, aliases=sorted(info.aliases), count=info.count, dim=info.dim,
        model=str(info.metadata.get("model") or ""), model_fingerprint=str(info.metadata.get("model_fingerprint") or ""),
        payload_schema={key: FieldType(kind).value for key, kind in info.payload_schema.items()},
        metadata=info.metadata)


def _facet(facet: FieldFacet) -> models.Facet:
    return models.Facet(field=facet.field, type=facet.kind.value,
                        values=[models.FacetValue(value=value, count=count) for value, count in facet.values],
                        ranges=[models.FacetRange(gte=r.gte, lt=r.lt, count=r.count) for r in facet.ranges],
                        other=facet.other)


def error_response(error: ParaseekError) -> JSONResponse:
    """The JSON body and HTTP status of a typed error (the status from ``paraseek.errors.HTTP_STATUS``)."""
    body = models.ErrorResponse(error=models.ErrorDetail(code=status_name(error), type=type(error).__name__,
                                                         message=str(error)))
    headers = {"WWW-Authenticate": "Bearer"} if isinstance(error, Unauthenticated) else None
    return JSONResponse(body.model_dump(), status_code=http_status(error), headers=headers)


def _add_error_handlers(app: FastAPI) -> None:
    async def typed(request: Request, error: Exception) -> JSONResponse:
        assert isinstance(error, ParaseekError)
        return error_response(error)

    async def malformed(request: Request, error: Exception) -> JSONResponse:
        assert isinstance(error, RequestValidationError)
        problems = "; ".join(f"{'.'.join(str(part) for part in e['loc'])}: {e['msg']}" for e in error.errors())
        return error_response(InvalidArgument(f"malformed request: {problems}"))

    async def unexpected(request: Request, error: Exception) -> JSONResponse:
        log.error("unexpected error in %s %s", request.method, request.url.path, exc_info=error)
        return error_response(Internal(f"internal error ({type(error).__name__}); see the server log"))

    app.add_exception_handler(ParaseekError, typed)
    app.add_exception_handler(RequestValidationError, malformed)
    app.add_exception_handler(Exception, unexpected)


def _add_request_log(app: FastAPI, metrics: Metrics) -> None:
    @app.middleware("http")
    async def record(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        started = time.perf_counter()
        response = await call_next(request)
        route = request.scope.get("route")
        name = f"http {getattr(route, 'name', 'unrouted')}"
        elapsed = time.perf_counter() - started
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        metrics.requests.labels(rpc=name, code=str(response.status_code)).inc()
        metrics.stage_seconds.labels(rpc=name, stage="total").observe(elapsed)
        log.info("http", extra={"method": request.method, "path": request.url.path, "status": response.status_code,
                                "ms": round(elapsed * 1e3, 3)})
        return response


class BodyLimit:
    """Reads each request body up front and refuses one over ``max_bytes`` (the server's message size
    limit) with ``RequestTooLarge``, whether it declares its length or arrives in chunks."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: AsgiScope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length", b"")
        size = int(declared) if declared.isdigit() else 0
        chunks: list[bytes] = []
        while size <= self.max_bytes:
            message = await receive()
            if message["type"] != "http.request":
                return  # the client went away
            chunks.append(message.get("body", b""))
            size = sum(len(chunk) for chunk in chunks)
            if not message.get("more_body", False):
                break
        if size > self.max_bytes:
            error = RequestTooLarge(f"the request body is larger than the server's limit of {self.max_bytes} bytes")
            await error_response(error)(scope, receive, send)
            return
        pending: list[Message] = [{"type": "http.request", "body": b"".join(chunks), "more_body": False}]

        async def replay() -> Message:
            return pending.pop() if pending else await receive()

        await self.app(scope, replay, send)


def _filter(data: dict[str, Any] | None) -> Filter | None:
    """The request's structured filter in the dict form, validated into a ``Filter``."""
    return None if data is None else filter_from_dict(data)
