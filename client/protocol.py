"""Requests, responses, credentials, retries and errors: the wire side of both clients."""

from __future__ import annotations

import os
import random
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import grpc
import numpy as np
from google.protobuf import struct_pb2

from paraseek.client import types as results
from paraseek.errors import DeadlineExceeded, InvalidArgument, ParaseekError, Unavailable, error_for_status
from paraseek.filter_proto import filter_to_proto
from paraseek.filters import Filter, filter_from_dict
from paraseek.limits import DEFAULT_SERVER_ADDRESS, ERROR_TYPE_METADATA_KEY, SERVER_ENV
from paraseek.v1 import paraseek_pb2

#: Audio for a request: encoded bytes, or a path to an audio file (sent as is, not decoded here).
Audio = bytes | str | os.PathLike[str]
#: Negative descriptions: texts (server's default weight) or {text: weight}.
Negatives = Sequence[str] | Mapping[str, float]
#: A structured filter: a :class:`~paraseek.filters.Filter`, or its dict form (``{"must": [...]}``).
FilterInput = Filter | Mapping[str, Any]


def server_address(server: str | None) -> str:
    """``server``, else ``$PARASEEK_SERVER``, else ``127.0.0.1:50051``."""
    return server or os.environ.get(SERVER_ENV) or DEFAULT_SERVER_ADDRESS


def server_streaming(method: str) -> bool:
    """Whether the RPC ``method`` answers with a stream of messages."""
    return bool(paraseek_pb2.DESCRIPTOR.services_by_name["Paraseek"].methods_by_name[method].server_streaming)


def channel_options(max_message_bytes: int) -> list[tuple[str, int]]:
    """The client's channel settings: message size caps, and gRPC's own retries turned off.

    The client retries by itself (``Attempts``: UNAVAILABLE only, with backoff, within the call's
    deadline). With gRPC's built-in retries also on, a call in flight when its server stops
    sometimes never ends while the process's memory grows by about 100 MB a second (grpcio 1.85:
    6 of about 1,450 server stops in a stress loop); with them off the call fails, and the client's
    own policy decides whether to try again.
    """
    return [("grpc.max_receive_message_length", max_message_bytes),
            ("grpc.max_send_message_length", max_message_bytes),
            ("grpc.enable_retries", 0)]


def tls_credentials(tls_ca: bytes | str | os.PathLike[str] | None, tls: bool) -> grpc.ChannelCredentials | None:
    """Channel credentials: a root certificate (PEM bytes or file), the system roots (``tls``), or none."""
    if tls_ca is not None:
        pem = tls_ca if isinstance(tls_ca, bytes) else Path(tls_ca).read_bytes()
        return grpc.ssl_channel_credentials(root_certificates=pem)
    return grpc.ssl_channel_credentials() if tls else None


def auth_metadata(token: str | None) -> tuple[tuple[str, str], ...]:
    return (("authorization", f"Bearer {token}"),) if token else ()


def backoff_delay(attempt: int, base: float, cap: float = 2.0) -> float:
    """Exponential backoff with jitter: about ``base * 2**attempt`` seconds, at most ``cap``."""
    return min(cap, base * 2**attempt) * random.uniform(0.5, 1.0)


class Attempts:
    """The retry policy of one call: a deadline over all attempts, and retries with backoff while UNAVAILABLE.

    ``timeout`` is seconds for the whole call (``None``: no deadline); ``retries`` is how many times
    to try again (``None``: until the deadline).
    """

    def __init__(self, method: str, timeout: float | None, retries: int | None, backoff: float) -> None:
        self.method = method
        self.deadline = None if timeout is None else time.monotonic() + timeout
        self.retries = retries
        self.backoff = backoff
        self.attempt = 0

    def remaining(self) -> float | None:
        """Seconds left for the next attempt; ``DeadlineExceeded`` once none are."""
        if self.deadline is None:
            return None
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise DeadlineExceeded(f"{self.method}: the deadline passed while retrying")
        return left

    def delay_after(self, error: grpc.RpcError) -> float:
        """Seconds to wait before trying again after ``error``; raises its typed error when that is final."""
        typed = translate(error)
        delay = backoff_delay(self.attempt, self.backoff)
        out_of_retries = self.retries is not None and self.attempt >= self.retries
        out_of_time = self.deadline is not None and time.monotonic() + delay >= self.deadline
        if not isinstance(typed, Unavailable) or out_of_retries or out_of_time:
            raise typed from None
        self.attempt += 1
        return delay


def translate(error: grpc.RpcError) -> ParaseekError:
    """The typed paraseek error for a failed call (the server names the class in trailing metadata)."""
    code = error.code() if hasattr(error, "code") else None
    details = error.details() if hasattr(error, "details") else None
    error_type = None
    trailing = error.trailing_metadata() if hasattr(error, "trailing_metadata") else None
    for key, value in trailing or ():
        if key == ERROR_TYPE_METADATA_KEY:
            error_type = value.decode() if isinstance(value, bytes) else str(value)
    name = code.name if isinstance(code, grpc.StatusCode) else "UNKNOWN"
    return error_for_status(name, details or name.lower().replace("_", " "), error_type)


# --- requests ----------------------------------------------------------------------------------


def audio_input(audio: Audio | None = None, point_id: str | None = None, what: str = "audio") -> paraseek_pb2.AudioInput:
    """An AudioInput from encoded bytes, an audio file path, or a stored point id (exactly one)."""
    if (audio is None) == (point_id is None):
        raise InvalidArgument(f"{what}: give exactly one of audio (bytes or a file path) or point_id")
    if audio is None:
        return paraseek_pb2.AudioInput(point_id=point_id)
    return paraseek_pb2.AudioInput(data=audio if isinstance(audio, bytes) else Path(audio).read_bytes())


def search_fields(*, collection: str | None, where: str | None, filter: FilterInput | None, top_k: int,
                  offset: int, score_threshold: float | None, group_by: str | None, fields: Sequence[str] | None,
                  explain_top: int, exact: bool, include_example: bool) -> dict[str, Any]:
    """Fields common to SearchRequest and SearchByAudioRequest."""
    if isinstance(fields, str):
        raise InvalidArgument("fields must be a list of payload field names, not one string")
    request: dict[str, Any] = {
        "collection": collection or "", "where": where or "", "top_k": top_k, "offset": offset,
        "group_by": group_by or "", "payload_fields": list(fields or ()), "explain_top": explain_top, "exact": exact,
        "include_example": include_example, **filter_field(filter),
    }
    if score_threshold is not None:
        request["score_threshold"] = score_threshold
    return request


def filter_field(filter: FilterInput | None) -> dict[str, Any]:
    """``{"filter": message}`` for a non-empty structured filter, else ``{}``."""
    structured = filter if isinstance(filter, Filter) else filter_from_dict(filter)
    return {} if structured.is_empty else {"filter": filter_to_proto(structured)}


def negative_descriptions(negatives: Negatives | None) -> list[paraseek_pb2.NegativeDescription]:
    if not negatives:
        return []
    if isinstance(negatives, str):
        raise InvalidArgument("negatives must be a list of texts or a {text: weight} mapping, not one string")
    if isinstance(negatives, Mapping):
        return [paraseek_pb2.NegativeDescription(text=t, weight=float(w)) for t, w in negatives.items()]
    return [paraseek_pb2.NegativeDescription(text=t) for t in negatives]


# --- responses ---------------------------------------------------------------------------------


def _plain(value: struct_pb2.Value) -> Any:
    """A ``google.protobuf.Value`` as plain Python; JSON numbers come as floats, integral ones are given back as ints."""
    kind = value.WhichOneof("kind")
    if kind == "number_value":
        number = value.number_value
        return int(number) if number.is_integer() and abs(number) < 2**53 else number
    if kind == "string_value":
        return value.string_value
    if kind == "bool_value":
        return value.bool_value
    if kind == "struct_value":
        return struct_dict(value.struct_value)
    if kind == "list_value":
        return [_plain(item) for item in value.list_value.values]
    return None


def struct_dict(message: struct_pb2.Struct) -> dict[str, Any]:
    """A ``google.protobuf.Struct`` as a plain dict."""
    return {key: _plain(value) for key, value in message.fields.items()}


def search_result(response: paraseek_pb2.SearchResponse) -> results.SearchResult:
    hits = [results.SearchHit(id=hit.id, score=hit.score, payload=struct_dict(hit.payload),
                              styles={group: [results.StyleScore(t.tag, t.score) for t in tags.tags]
                                      for group, tags in hit.styles.items()})
            for hit in response.hits]
    timing = response.timing
    query = results.QueryUnderstanding(
        understood=[results.UnderstoodStyle(u.style, u.score) for u in response.query.understood],
        unknown=list(response.query.unknown))
    return results.SearchResult(hits=hits, collection=response.collection, model=response.model,
                                encode_ms=timing.encode_ms, search_ms=timing.search_ms, total_ms=timing.total_ms,
                                text_cached=response.text_cached, query=query)


def classification(response: paraseek_pb2.ClassifyResponse) -> dict[str, list[results.StyleScore]]:
    return {group.group: [results.StyleScore(t.tag, t.score) for t in group.tags] for group in response.groups}


def ranking(response: paraseek_pb2.RerankResponse) -> list[results.RankedClip]:
    return [results.RankedClip(index=r.index, score=r.score) for r in response.ranked]


def embeddings(response: paraseek_pb2.EmbedResponse) -> np.ndarray:
    return np.array([list(e.values) for e in response.embeddings], dtype=np.float32)


def collection_summaries(response: paraseek_pb2.ListCollectionsResponse) -> list[results.CollectionSummary]:
    return [collection_summary(info) for info in response.collections]


def collection_summary(info: paraseek_pb2.CollectionInfo) -> results.CollectionSummary:
    return results.CollectionSummary(name=info.name, aliases=list(info.aliases), count=info.count, dim=info.dim,
                             model=info.model, model_fingerprint=info.model_fingerprint,
                             payload_schema=dict(info.payload_schema), metadata=struct_dict(info.metadata))


def server_info_result(info: paraseek_pb2.ServerInfo) -> results.ServerInfo:
    return results.ServerInfo(model=info.model, model_fingerprint=info.model_fingerprint, embedding_dim=info.embedding_dim,
                      sample_rate=info.sample_rate,
                      style_groups={g: list(tags.values) for g, tags in info.style_groups.items()},
                      default_collection=info.default_collection, max_text_chars=info.max_text_chars,
                      max_top_k=info.max_top_k, max_rerank_clips=info.max_rerank_clips,
                      max_audio_seconds=info.max_audio_seconds, max_message_bytes=info.max_message_bytes,
                      version=info.version, understanding_threshold=info.understanding_threshold)


def search_request(text: str, *, negatives: Negatives | None, like: Audio | None, like_point: str | None,
                   like_weight: float | None, **fields: Any) -> paraseek_pb2.SearchRequest:
    request = paraseek_pb2.SearchRequest(text=text, negatives=negative_descriptions(negatives),
                                         **search_fields(**fields))
    if like is not None or like_point is not None:
        request.example.CopyFrom(audio_input(like, like_point, "like"))
    if like_weight is not None:
        request.example_weight = like_weight
    return request


def search_by_audio_request(audio: Audio | None, point_id: str | None, **fields: Any) -> paraseek_pb2.SearchByAudioRequest:
    return paraseek_pb2.SearchByAudioRequest(audio=audio_input(audio, point_id), **search_fields(**fields))


def classify_request(audio: Audio | None, point_id: str | None, collection: str | None,
                     styles: Sequence[str] | None) -> paraseek_pb2.ClassifyRequest:
    if isinstance(styles, str):
        raise InvalidArgument("styles must be a list of style names, not one string")
    return paraseek_pb2.ClassifyRequest(audio=audio_input(audio, point_id), collection=collection or "",
                                        styles=list(styles or ()))


def rerank_request(text: str, clips: Sequence[Audio]) -> paraseek_pb2.RerankRequest:
    if isinstance(clips, (bytes, str)):
        raise InvalidArgument("clips must be a list of clips (bytes or file paths)")
    return paraseek_pb2.RerankRequest(text=text, clips=[c if isinstance(c, bytes) else Path(c).read_bytes() for c in clips])


def facet_request(collection: str | None, fields: Sequence[str] | None, where: str | None,
                  filter: FilterInput | None, limit: int) -> paraseek_pb2.FacetRequest:
    if isinstance(fields, str):
        raise InvalidArgument("fields must be a list of payload field names, not one string")
    return paraseek_pb2.FacetRequest(collection=collection or "", fields=list(fields or ()), where=where or "",
                                     limit=limit, **filter_field(filter))


def facet_result(response: paraseek_pb2.FacetResponse) -> results.FacetResult:
    facets = {facet.field: results.Facet(
        field=facet.field, type=facet.type, other=facet.other,
        values=[results.FacetCount(_plain(v.value), v.count) for v in facet.values],
        ranges=[results.FacetRange(r.gte, r.lt if r.HasField("lt") else None, r.count) for r in facet.ranges])
        for facet in response.facets}
    return results.FacetResult(collection=response.collection, facets=facets, scanned=response.scanned,
                       complete=response.complete)


def stored_clip(point: paraseek_pb2.Point) -> results.StoredClip:
    return results.StoredClip(id=point.id, collection=point.collection, payload=struct_dict(point.payload))


def audio_bytes(chunks: Sequence[paraseek_pb2.AudioChunk]) -> bytes:
    return b"".join(chunk.data for chunk in chunks)


def embed_text_request(texts: Sequence[str]) -> paraseek_pb2.EmbedTextRequest:
    if isinstance(texts, str):
        raise InvalidArgument("texts must be a list of strings, not one string")
    return paraseek_pb2.EmbedTextRequest(texts=list(texts))


def embed_audio_request(clips: Sequence[Audio], point_ids: Sequence[str],
                        collection: str | None) -> paraseek_pb2.EmbedAudioRequest:
    if isinstance(clips, (bytes, str)) or isinstance(point_ids, str):
        raise InvalidArgument("clips and point_ids must be lists")
    inputs = [audio_input(c, None, f"clip {i}") for i, c in enumerate(clips)]
    inputs += [audio_input(None, p) for p in point_ids]
    return paraseek_pb2.EmbedAudioRequest(clips=inputs, collection=collection or "")
