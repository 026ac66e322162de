"""Every call of the paraseek API, written once for both clients.

Each method names its RPC, how to build the request and how to read the response, and hands them
to ``_invoke``: :class:`~paraseek.client.Client` calls and returns the result,
:class:`~paraseek.client.AsyncClient` returns an awaitable of it. Requests are built when the call
runs (for the async client, when it is awaited), so bad arguments fail where the result is taken.
"""

from __future__ import annotations

import functools
import os
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, Sequence
from types import ModuleType
from typing import Any, ClassVar, TypeAlias, TypeVar

import numpy as np
from google.protobuf.message import Message

from paraseek.client.protocol import (
    Attempts,
    Audio,
    FilterInput,
    Negatives,
    audio_bytes,
    auth_metadata,
    channel_options,
    classification,
    classify_request,
    collection_summaries,
    collection_summary,
    embed_audio_request,
    embed_text_request,
    embeddings,
    facet_request,
    facet_result,
    ranking,
    rerank_request,
    search_by_audio_request,
    search_request,
    search_result,
    server_address,
    server_info_result,
    stored_clip,
    tls_credentials,
)
from paraseek.client.types import (
    CollectionSummary,
    FacetResult,
    RankedClip,
    SearchResult,
    ServerInfo,
    StoredClip,
    StyleScore,
)
from paraseek.limits import DEFAULT_MAX_MESSAGE_BYTES
from paraseek.v1 import paraseek_pb2, paraseek_pb2_grpc

T = TypeVar("T")
#: What a call gives back: the value itself from ``Client``, an awaitable of it from ``AsyncClient``.
Reply: TypeAlias = T | Awaitable[T]
#: Marks "use the client's own setting" for ``timeout`` and ``retries``.
DEFAULT: Any = object()


class BaseClient(ABC):
    """A connection to a paraseek server: the calls both clients share.

    ``server`` is ``host:port`` (default ``$PARASEEK_SERVER`` or ``127.0.0.1:50051``). ``token``
    is sent as ``authorization: Bearer``; ``tls_ca`` (PEM bytes or file) or ``tls=True`` (system
    roots) turns on TLS. Every call takes ``timeout`` seconds (default ``timeout``; ``None``
    waits forever) and is retried ``retries`` times with exponential backoff from ``backoff``
    seconds while the server is UNAVAILABLE (down, restarting, or still loading its model).
    Failures raise the typed errors of ``paraseek.errors``, never ``grpc.RpcError``.
    """

    #: ``grpc`` or ``grpc.aio``: where the channel comes from.
    _channels: ClassVar[ModuleType]

    def __init__(self, server: str | None = None, *, token: str | None = None,
                 tls_ca: bytes | str | os.PathLike[str] | None = None, tls: bool = False,
                 timeout: float | None = 30.0, retries: int = 3, backoff: float = 0.1,
                 max_message_bytes: int = DEFAULT_MAX_MESSAGE_BYTES) -> None:
        self.server = server_address(server)
        self.timeout = timeout
        self.retries = retries
        self.backoff = backoff
        self._metadata = auth_metadata(token)
        credentials = tls_credentials(tls_ca, tls)
        options = channel_options(max_message_bytes)
        self._channel = (self._channels.secure_channel(self.server, credentials, options) if credentials is not None
                         else self._channels.insecure_channel(self.server, options))
        self._stub = paraseek_pb2_grpc.ParaseekStub(self._channel)

    def _attempts(self, method: str, timeout: float | None, retries: int | None) -> Attempts:
        return Attempts(method, self.timeout if timeout is DEFAULT else timeout,
                        self.retries if retries is DEFAULT else retries, self.backoff)

    @abstractmethod
    def _invoke(self, method: str, build: Callable[[], Message], parse: Callable[[Any], T],
                timeout: float | None, retries: int | None = DEFAULT) -> Reply[T]:
        """Call ``method`` with the request ``build`` makes and give back ``parse`` of the response."""

    def wait_ready(self, timeout: float = 60.0) -> Reply[ServerInfo]:
        """Wait until the server answers with its model loaded; its ServerInfo."""
        return self._invoke("GetServerInfo", paraseek_pb2.GetServerInfoRequest, server_info_result, timeout,
                            retries=None)

    def search(self, text: str = "", *, collection: str | None = None, where: str | None = None,
               filter: FilterInput | None = None, negatives: Negatives | None = None,
               like: Audio | None = None, like_point: str | None = None, like_weight: float | None = None,
               top_k: int = 10, offset: int = 0, score_threshold: float | None = None, group_by: str | None = None,
               fields: Sequence[str] | None = None, explain_top: int = 1, exact: bool = False,
               include_example: bool = False, timeout: float | None = DEFAULT) -> Reply[SearchResult]:
        """Clips matching a style description.

        ``where`` (``"gender=female duration<8"``) and ``filter`` (a :class:`~paraseek.filters.Filter`
        or its dict form) are combined with AND. ``negatives`` are descriptions to steer away from
        (a list, or ``{text: weight}``). ``like`` (bytes or audio file) or ``like_point`` (stored
        point id, or a prefix of it that no other point shares) adds an example clip with weight
        ``like_weight`` (server default 0.5); a stored example is left out of the hits unless
        ``include_example``. ``offset`` skips the best hits (paging; ``offset + top_k`` at most 10,000).
        ``group_by`` keeps the best hit per value of a payload field; ``fields`` limits the payload
        returned; ``explain_top`` style tags per group explain each hit.
        """
        build = functools.partial(
            search_request, text, negatives=negatives, like=like, like_point=like_point,
            like_weight=like_weight, collection=collection, where=where, filter=filter, top_k=top_k, offset=offset,
            score_threshold=score_threshold, group_by=group_by, fields=fields, explain_top=explain_top, exact=exact,
            include_example=include_example)
        return self._invoke("Search", build, search_result, timeout)

    def search_by_audio(self, audio: Audio | None = None, *, point_id: str | None = None,
                        collection: str | None = None, where: str | None = None,
                        filter: FilterInput | None = None, top_k: int = 10, offset: int = 0,
                        score_threshold: float | None = None, group_by: str | None = None,
                        fields: Sequence[str] | None = None, explain_top: int = 1, exact: bool = False,
                        include_example: bool = False, timeout: float | None = DEFAULT) -> Reply[SearchResult]:
        """Clips that sound like ``audio`` (bytes or file) or the stored point ``point_id`` (or a unique
        prefix of it), which is left out of the hits unless ``include_example``."""
        build = functools.partial(
            search_by_audio_request, audio, point_id, collection=collection, where=where, filter=filter,
            top_k=top_k, offset=offset, score_threshold=score_threshold, group_by=group_by, fields=fields,
            explain_top=explain_top, exact=exact, include_example=include_example)
        return self._invoke("SearchByAudio", build, search_result, timeout)

    def classify(self, audio: Audio | None = None, *, point_id: str | None = None, collection: str | None = None,
                 styles: Sequence[str] | None = None,
                 timeout: float | None = DEFAULT) -> Reply[dict[str, list[StyleScore]]]:
        """Zero-shot style scores of a clip, best first: ``{"styles": [...]}`` for the candidate
        ``styles`` given, else one entry per attribute group of the model."""
        build = functools.partial(classify_request, audio, point_id, collection, styles)
        return self._invoke("Classify", build, classification, timeout)

    def rerank(self, text: str, clips: Sequence[Audio], *,
               timeout: float | None = DEFAULT) -> Reply[list[RankedClip]]:
        """Best-of-N: every clip (bytes or file) scored against the description, best first."""
        return self._invoke("Rerank", functools.partial(rerank_request, text, clips), ranking,
                            timeout)

    def embed_text(self, texts: Sequence[str], *, timeout: float | None = DEFAULT) -> Reply[np.ndarray]:
        """Unit embeddings (n, d) of texts."""
        return self._invoke("EmbedText", functools.partial(embed_text_request, texts), embeddings,
                            timeout)

    def embed_audio(self, clips: Sequence[Audio] = (), *, point_ids: Sequence[str] = (),
                    collection: str | None = None, timeout: float | None = DEFAULT) -> Reply[np.ndarray]:
        """Unit embeddings (n, d) of clips (bytes or files), then of stored points."""
        build = functools.partial(embed_audio_request, clips, point_ids, collection)
        return self._invoke("EmbedAudio", build, embeddings, timeout)

    def list_collections(self, *, timeout: float | None = DEFAULT) -> Reply[list[CollectionSummary]]:
        """Every collection on the server."""
        return self._invoke("ListCollections", paraseek_pb2.ListCollectionsRequest, collection_summaries,
                            timeout)

    def describe_collection(self, name: str, *, timeout: float | None = DEFAULT) -> Reply[CollectionSummary]:
        """The collection ``name`` (or the one the alias ``name`` points to)."""
        build = functools.partial(paraseek_pb2.DescribeCollectionRequest, name=name)
        return self._invoke("DescribeCollection", build, collection_summary, timeout)

    def facet(self, collection: str | None = None, fields: Sequence[str] | None = None, *, where: str | None = None,
              filter: FilterInput | None = None, limit: int = 20,
              timeout: float | None = DEFAULT) -> Reply[FacetResult]:
        """How many points matching ``where``/``filter`` hold each value of payload ``fields`` (default: every
        keyword, integer, bool and float field); ``limit`` values per field, most frequent first."""
        build = functools.partial(facet_request, collection, fields, where, filter, limit)
        return self._invoke("Facet", build, facet_result, timeout)

    def get_point(self, point_id: str, *, collection: str | None = None,
                  timeout: float | None = DEFAULT) -> Reply[StoredClip]:
        """A stored point's payload, by its id or a prefix of it that no other point shares."""
        build = functools.partial(paraseek_pb2.GetPointRequest, collection=collection or "", id=point_id)
        return self._invoke("GetPoint", build, stored_clip, timeout)

    def get_audio(self, point_id: str, *, collection: str | None = None,
                  timeout: float | None = DEFAULT) -> Reply[bytes]:
        """The encoded bytes of a stored point's audio file, as the server reads them."""
        build = functools.partial(paraseek_pb2.GetAudioRequest, collection=collection or "", id=point_id)
        return self._invoke("GetAudio", build, audio_bytes, timeout)

    def server_info(self, *, timeout: float | None = DEFAULT) -> Reply[ServerInfo]:
        """The served model and the server's limits."""
        return self._invoke("GetServerInfo", paraseek_pb2.GetServerInfoRequest, server_info_result, timeout)
