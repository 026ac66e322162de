"""Protobuf messages to and from the engine's plain Python values."""

from __future__ import annotations

from typing import Any

from google.protobuf import struct_pb2

from paraseek.errors import AudioError, InvalidArgument, InvalidFilter, shorten
from paraseek.limits import MAX_COLLECTION_NAME_CHARS
from paraseek.server.engine import Clip, ExplainedHit, SearchOptions, SearchOutcome, StoredPoint
from paraseek.storage import CollectionInfo
from paraseek.v1 import filter_pb2, paraseek_pb2

_CLAUSES = ("must", "should", "must_not")
_BOUNDS = ("gt", "gte", "lt", "lte")


def filter_dict(message: filter_pb2.Filter, where: str = "filter") -> dict[str, list[dict[str, Any]]]:
    """The storage dict form of a protobuf Filter (validated later by ``filter_from_dict``)."""
    return {clause: [_condition_dict(c, f"{where}.{clause}[{i}]") for i, c in enumerate(getattr(message, clause))]
            for clause in _CLAUSES}


def _condition_dict(condition: filter_pb2.Condition, where: str) -> dict[str, Any]:
    kind = condition.WhichOneof("test")
    key = condition.key
    if kind is None:
        raise InvalidFilter(f"{where}: the condition on {key!r} sets no test (match_keyword, range, ...)")
    if kind in ("match_keyword", "match_int", "match_bool"):
        return {"key": key, "match": getattr(condition, kind)}
    if kind in ("any_keywords", "any_ints"):
        return {"key": key, "match_any": list(getattr(condition, kind).values)}
    if kind == "range":
        return {"key": key, "range": {b: getattr(condition.range, b) for b in _BOUNDS if condition.range.HasField(b)}}
    if kind == "text":
        return {"key": key, "text": condition.text}
    if kind == "is_empty":
        return {"key": key, "is_empty": condition.is_empty}
    if kind == "nested":
        return {"nested": key, "filter": filter_dict(condition.nested, f"{where}.nested")}
    return {"filter": filter_dict(condition.filter, f"{where}.filter")}


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
        filter=filter_dict(request.filter) if request.HasField("filter") else None,
        where=request.where,
        top_k=request.top_k if request.HasField("top_k") else SearchOptions.top_k,
        score_threshold=request.score_threshold if request.HasField("score_threshold") else None,
        group_by=request.group_by or None,
        payload_fields=tuple(request.payload_fields),
        explain_top=request.explain_top if request.HasField("explain_top") else SearchOptions.explain_top,
        exact=request.exact,
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
    )


def collection_info(info: CollectionInfo) -> paraseek_pb2.CollectionInfo:
    return paraseek_pb2.CollectionInfo(
        name=info.name,
        aliases=sorted(info.aliases),
        count=info.count,
        dim=info.dim,
        model=str(info.metadata.get("model") or ""),
        model_fingerprint=str(info.metadata.get("model_fingerprint") or ""),
        payload_schema={key: getattr(kind, "value", str(kind)) for key, kind in info.payload_schema.items()},
        metadata=struct(info.metadata),
    )
