"""The asyncio client."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Mapping, Sequence
from typing import Any

import grpc
import numpy as np

from paraseek.client import protocol
from paraseek.client.protocol import Audio, Negatives
from paraseek.client.types import CollectionSummary, RankedClip, SearchResult, ServerInfo, StyleScore
from paraseek.errors import DeadlineExceeded, Unavailable
from paraseek.v1 import paraseek_pb2, paraseek_pb2_grpc

_DEFAULT: Any = object()


class AsyncClient:
    """An asyncio connection to a paraseek server; the same calls as :class:`~paraseek.client.Client`, awaited.

    ``server`` is ``host:port`` (default ``$PARASEEK_SERVER`` or ``127.0.0.1:50051``). ``token``
    is sent as ``authorization: Bearer``; ``tls_ca`` (PEM bytes or file) or ``tls=True`` (system
    roots) turns on TLS. Every call takes ``timeout`` seconds (default ``timeout``; ``None``
    waits forever) and is retried ``retries`` times with exponential backoff from ``backoff``
    seconds while the server is UNAVAILABLE (down, restarting, or still loading its model).
    Failures raise the typed errors of ``paraseek.errors``, never ``grpc.RpcError``.

    Example::

        async with AsyncClient("127.0.0.1:50051") as client:
            for hit in await client.search("breathy low-pitched angry woman", where="duration<8", top_k=5):
                print(hit.score, hit.payload["path"], hit.styles)
    """

    def __init__(self, server: str | None = None, *, token: str | None = None,
                 tls_ca: bytes | str | os.PathLike[str] | None = None, tls: bool = False,
                 timeout: float | None = 30.0, retries: int = 3, backoff: float = 0.1,
                 max_message_bytes: int = protocol.DEFAULT_MAX_MESSAGE_BYTES) -> None:
        self.server = protocol.server_address(server)
        self.timeout = timeout
        self.retries = retries
        self.backoff = backoff
        self._metadata = protocol.auth_metadata(token)
        credentials = protocol.tls_credentials(tls_ca, tls)
        options = protocol.channel_options(max_message_bytes)
        self._channel = (grpc.aio.secure_channel(self.server, credentials, options) if credentials is not None
                         else grpc.aio.insecure_channel(self.server, options))
        self._stub = paraseek_pb2_grpc.ParaseekStub(self._channel)

    async def close(self) -> None:
        """Close the channel."""
        await self._channel.close()

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    async def _call(self, method: str, request: Any, timeout: float | None) -> Any:
        timeout = self.timeout if timeout is _DEFAULT else timeout
        deadline = None if timeout is None else time.monotonic() + timeout
        call = getattr(self._stub, method)
        attempt = 0
        while True:
            remaining = None if deadline is None else deadline - time.monotonic()
            if remaining is not None and remaining <= 0:
                raise DeadlineExceeded(f"{method}: the deadline passed while retrying")
            try:
                return await call(request, timeout=remaining, metadata=self._metadata)
            except grpc.RpcError as error:
                typed = protocol.translate(error)
            delay = protocol.backoff_delay(attempt, self.backoff)
            if (not isinstance(typed, Unavailable) or attempt >= self.retries
                    or (deadline is not None and time.monotonic() + delay >= deadline)):
                raise typed
            await asyncio.sleep(delay)
            attempt += 1

    async def wait_ready(self, timeout: float = 60.0) -> ServerInfo:
        """Wait until the server answers with its model loaded; its ServerInfo."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                return await self.server_info(timeout=max(0.05, deadline - time.monotonic()))
            except Unavailable:
                if time.monotonic() >= deadline:
                    raise
                await asyncio.sleep(min(0.1, max(0.0, deadline - time.monotonic())))

    async def search(self, text: str = "", *, collection: str | None = None, where: str | None = None,
               filter: Mapping[str, Any] | None = None, negatives: Negatives | None = None,
               like: Audio | None = None, like_point: str | None = None, like_weight: float | None = None,
               top_k: int = 10, score_threshold: float | None = None, group_by: str | None = None,
               fields: Sequence[str] | None = None, explain_top: int = 1, exact: bool = False,
               timeout: float | None = _DEFAULT) -> SearchResult:
        """Clips matching a style description.

        ``where`` (``"gender=female duration<8"``) and ``filter`` (dict form) are combined with AND.
        ``negatives`` are descriptions to steer away from (a list, or ``{text: weight}``).
        ``like`` (bytes or audio file) or ``like_point`` (stored point id) adds an example clip
        with weight ``like_weight`` (server default 0.5). ``group_by`` keeps the best hit per
        value of a payload field; ``fields`` limits the payload returned; ``explain_top`` style
        tags per group explain each hit.
        """
        request = protocol.search_request(
            text, negatives=negatives, like=like, like_point=like_point, like_weight=like_weight,
            collection=collection, where=where, filter=filter, top_k=top_k, score_threshold=score_threshold,
            group_by=group_by, fields=fields, explain_top=explain_top, exact=exact)
        return protocol.search_result(await self._call("Search", request, timeout))

    async def search_by_audio(self, audio: Audio | None = None, *, point_id: str | None = None,
                        collection: str | None = None, where: str | None = None,
                        filter: Mapping[str, Any] | None = None, top_k: int = 10,
                        score_threshold: float | None = None, group_by: str | None = None,
                        fields: Sequence[str] | None = None, explain_top: int = 1, exact: bool = False,
                        timeout: float | None = _DEFAULT) -> SearchResult:
        """Clips that sound like ``audio`` (bytes or file) or the stored point ``point_id``."""
        request = protocol.search_by_audio_request(
            audio, point_id, collection=collection, where=where, filter=filter, top_k=top_k,
            score_threshold=score_threshold, group_by=group_by, fields=fields, explain_top=explain_top, exact=exact)
        return protocol.search_result(await self._call("SearchByAudio", request, timeout))

    async def classify(self, audio: Audio | None = None, *, point_id: str | None = None, collection: str | None = None,
                 styles: Sequence[str] | None = None, timeout: float | None = _DEFAULT) -> dict[str, list[StyleScore]]:
        """Zero-shot style scores of a clip, best first: ``{"styles": [...]}`` for the candidate
        ``styles`` given, else one entry per attribute group of the model."""
        request = protocol.classify_request(audio, point_id, collection, styles)
        return protocol.classification(await self._call("Classify", request, timeout))

    async def rerank(self, text: str, clips: Sequence[Audio], *, timeout: float | None = _DEFAULT) -> list[RankedClip]:
        """Best-of-N: every clip (bytes or file) scored against the description, best first."""
        return protocol.ranking(await self._call("Rerank", protocol.rerank_request(text, clips), timeout))

    async def embed_text(self, texts: Sequence[str], *, timeout: float | None = _DEFAULT) -> np.ndarray:
        """Unit embeddings (n, d) of texts."""
        return protocol.embeddings(await self._call("EmbedText", protocol.embed_text_request(texts), timeout))

    async def embed_audio(self, clips: Sequence[Audio] = (), *, point_ids: Sequence[str] = (), collection: str | None = None,
                    timeout: float | None = _DEFAULT) -> np.ndarray:
        """Unit embeddings (n, d) of clips (bytes or files), then of stored points."""
        request = protocol.embed_audio_request(clips, point_ids, collection)
        return protocol.embeddings(await self._call("EmbedAudio", request, timeout))

    async def list_collections(self, *, timeout: float | None = _DEFAULT) -> list[CollectionSummary]:
        """Every collection on the server."""
        response = await self._call("ListCollections", paraseek_pb2.ListCollectionsRequest(), timeout)
        return [protocol.collection_summary(c) for c in response.collections]

    async def describe_collection(self, name: str, *, timeout: float | None = _DEFAULT) -> CollectionSummary:
        """The collection ``name`` (or the one the alias ``name`` points to)."""
        request = paraseek_pb2.DescribeCollectionRequest(name=name)
        return protocol.collection_summary(await self._call("DescribeCollection", request, timeout))

    async def server_info(self, *, timeout: float | None = _DEFAULT) -> ServerInfo:
        """The served model and the server's limits."""
        return protocol.server_info(await self._call("GetServerInfo", paraseek_pb2.GetServerInfoRequest(), timeout))
