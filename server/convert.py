"""Protobuf messages to and from the engine's plain Python values (filters: :mod:`paraseek.filter_proto`)."""

from __future__ import annotations

from typing import Any

from google.protobuf import struct_pb2

from paraseek.errors import AudioError, InvalidArgument, shorten
from paraseek.filter_proto import filter_from_proto
from paraseek.limits import MAX_COLLECTION_NAME_CHARS
from paraseek.model.understanding import QueryReading
from paraseek.server.engine import Clip, ExplainedHit, SearchOptions, SearchOutcome, StoredPoint
from paraseek.server.facets import FacetOutcome
from paraseek.storage import CollectionInfo
from paraseek.storage.catalog import BuildRecord
from paraseek.v1 import paraseek_pb2


def collection_name(name: str) -> str:
    """A request's collection name, refused before any lookup when it is longer than any name can be."""
    if len(name) > MAX_COLLECTION_NAME_CHARS:
        raise InvalidArgument(
            f"collection name {shorten(name)!r} is longer than {MAX_COLLECTION_NAME_CHARS} characters")
    return name


def clip(message: paraseek_pb2.AudioInput, what: str = "audio") -> Clip:
    """Audio bytes or a stored point from an AudioInput."""
    source = message.WhichOneof("source")
    if source == "data":
        return message.data
    if source == "point_id":
        return StoredPoint(message.point_id)
    raise AudioError(f"{what}: give audio bytes or a point id")


def search_options(request: paraseek_pb2.SearchRequest | paraseek_pb2.SearchByAudioRequest) -> SearchOptions:
    """The options every search request shares."""
    return SearchOptions(
        collection=collection_name(request.collection),
        filter=filter_from_proto(request.filter) if request.HasField("filter") else None,
        where=request.where,
        top_k=request.top_k if request.HasField("top_k") else SearchOptions.top_k,
        score_threshold=request.score_threshold if request.HasField("score_threshold") else None,
        group_by=request.group_by or None,
        payload_fields=tuple(request.payload_fields),
        explain_top=request.explain_top if request.HasField("explain_top") else SearchOptions.explain_top,
        exact=request.exact,
        offset=request.offset,
        include_example=request.include_example,
    )


def struct(data: dict[str, Any]) -> struct_pb2.Struct:
    message = struct_pb2.Struct()
    message.update(data)
    return message


def _hit(explained: ExplainedHit) -> paraseek_pb2.Hit:
    hit = paraseek_pb2.Hit(id=explained.hit.id, score=explained.hit.score, payload=struct(explained.hit.payload))
    for group, tags in explained.styles.items():
        hit.styles[group].tags.extend(paraseek_pb2.StyleTag(tag=tag, score=score) for tag, score in tags)
    return hit


def search_response(outcome: SearchOutcome, model: str, total_seconds: float) -> paraseek_pb2.SearchResponse:
    return paraseek_pb2.SearchResponse(
        hits=[_hit(h) for h in outcome.hits],
        collection=outcome.collection,
        model=model,
        timing=paraseek_pb2.Timing(encode_ms=outcome.encode_seconds * 1e3, search_ms=outcome.search_seconds * 1e3,
                                   total_ms=total_seconds * 1e3),
        text_cached=outcome.text_cached,
        query=query_understanding(outcome.query),
    )


def query_understanding(reading: QueryReading) -> paraseek_pb2.QueryUnderstanding:
    return paraseek_pb2.QueryUnderstanding(
        understood=[paraseek_pb2.UnderstoodStyle(style=style, score=score) for style, score in reading.understood],
        unknown=reading.unknown)


def facet_response(outcome: FacetOutcome) -> paraseek_pb2.FacetResponse:
    response = paraseek_pb2.FacetResponse(collection=outcome.collection, scanned=outcome.scanned,
                                          complete=outcome.complete)
    for facet in outcome.facets:
        message = response.facets.add(field=facet.field, type=facet.kind.value, other=facet.other)
        for value, count in facet.values:
            entry = message.values.add(count=count)
            if isinstance(value, bool):
                entry.value.bool_value = value
            elif isinstance(value, str):
                entry.value.string_value = value
            else:
                entry.value.number_value = value
        for bounds in facet.ranges:
            entry = message.ranges.add(gte=bounds.gte, count=bounds.count)
            if bounds.lt is not None:
                entry.lt = bounds.lt
    return response


def collection_info(info: CollectionInfo) -> paraseek_pb2.CollectionInfo:
    record = BuildRecord.of(info)
    return paraseek_pb2.CollectionInfo(
        name=info.name,
        aliases=sorted(info.aliases),
        count=info.count,
        dim=info.dim,
        model=record.model or "",
        model_fingerprint=record.model_fingerprint or "",
        payload_schema={key: getattr(kind, "value", str(kind)) for key, kind in info.payload_schema.items()},
        metadata=struct(info.metadata),
    )
