"""JSON shapes of the HTTP API; they mirror ``paraseek.v1`` (protos/paraseek/v1/paraseek.proto).

Bytes travel as base64 strings (the proto3 JSON mapping). Filters use the storage dict form
(``{"must": [{"key": "gender", "match": "female"}, ...]}``, see ``paraseek.storage.filters``).
Two fields exist only here: ``offset`` (paging) and each hit's ``audio_url``.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid")


class NegativeDescription(_Request):
    """A description the results should not match; weight in (0, 2], 0 means 0.5."""

    text: str
    weight: float = 0.0


class AudioInput(_Request):
    """A clip: base64 encoded audio (``data``) or the id of a stored point (``point_id``); exactly one."""

    data: str | None = None
    point_id: str | None = None


class SearchRequest(_Request):
    """Search by description, steered by negatives and an example clip; ``offset`` skips hits for paging."""

    collection: str = ""
    text: str = ""
    negatives: list[NegativeDescription] = Field(default_factory=list)
    example: AudioInput | None = None
    example_weight: float | None = None
    filter: dict[str, Any] | None = None
    where: str = ""
    top_k: int | None = None
    offset: int = 0
    score_threshold: float | None = None
    group_by: str = ""
    payload_fields: list[str] = Field(default_factory=list)
    explain_top: int | None = None
    exact: bool = False


class ClassifyRequest(_Request):
    """Zero-shot styles of one clip: the caller's candidate ``styles``, or every group of the model."""

    collection: str = ""
    audio: AudioInput
    styles: list[str] = Field(default_factory=list)


class FacetRequest(_Request):
    """Value counts of payload ``fields`` (default: every facetable schema field) under a filter."""

    filter: dict[str, Any] | None = None
    where: str = ""
    fields: list[str] = Field(default_factory=list)
    limit: int = Field(default=20, description="Values per field, most frequent first.")


class StyleTag(BaseModel):
    tag: str
    score: float


class StyleTags(BaseModel):
    tags: list[StyleTag]


class Hit(BaseModel):
    id: str
    score: float
    payload: dict[str, Any]
    styles: dict[str, StyleTags]
    audio_url: str = Field(description="Where the clip's audio streams from (range requests supported).")


class Timing(BaseModel):
    encode_ms: float
    search_ms: float
    total_ms: float


class UnderstoodStyle(BaseModel):
    style: str
    score: float = Field(description="Cosine similarity of the phrase and the style tag in the zero-shot prompt.")


class QueryUnderstanding(BaseModel):
    """How the description maps to the model's known styles (empty for a search without text)."""

    understood: list[UnderstoodStyle] = Field(default_factory=list,
                                              description="The best style of each phrase the model knows, best first.")
    unknown: list[str] = Field(default_factory=list,
                               description="Words scoring below the model's calibrated threshold against every style.")


class SearchResponse(BaseModel):
    hits: list[Hit]
    collection: str
    model: str
    timing: Timing
    text_cached: bool
    offset: int
    query: QueryUnderstanding


class GroupScores(BaseModel):
    group: str
    tags: list[StyleTag]


class ClassifyResponse(BaseModel):
    groups: list[GroupScores]
    model: str


class CollectionInfo(BaseModel):
    name: str
    aliases: list[str]
    count: int
    dim: int
    model: str
    model_fingerprint: str
    payload_schema: dict[str, str]
    metadata: dict[str, Any]


class ListCollectionsResponse(BaseModel):
    collections: list[CollectionInfo]


class PointResponse(BaseModel):
    id: str
    collection: str
    payload: dict[str, Any]
    audio_url: str


class FacetValue(BaseModel):
    value: str | int | bool
    count: int


class FacetRange(BaseModel):
    """Points with ``gte <= value < lt`` (``lt`` is null for the last, closed range up to the maximum)."""

    gte: float
    lt: float | None
    count: int


class Facet(BaseModel):
    field: str
    type: str
    values: list[FacetValue] = Field(default_factory=list, description="Keyword, integer and bool fields.")
    ranges: list[FacetRange] = Field(default_factory=list, description="Float fields.")
    other: int = Field(default=0, description="Points whose value is beyond the first `limit` values.")


class FacetResponse(BaseModel):
    collection: str
    facets: list[Facet]
    scanned: int
    complete: bool = Field(description="False when the scan stopped at its bound before covering every match.")


class KeywordList(BaseModel):
    values: list[str]


class ModelInfo(BaseModel):
    """A model the server serves or its collections need; see ``paraseek.v1.ModelInfo``."""

    name: str
    fingerprint: str
    embedding_dim: int
    loaded: bool
    is_default: bool
    memory_bytes: int = Field(description="Memory its weights take while loaded (0 when not loaded).")
    collections: list[str] = Field(description="Physical collections built with it.")


class ServerInfo(BaseModel):
    model: str
    model_fingerprint: str
    embedding_dim: int
    sample_rate: int
    style_groups: dict[str, KeywordList]
    default_collection: str
    max_text_chars: int
    max_top_k: int
    max_negatives: int
    version: str
    auth: bool = Field(description="True when the API needs a bearer token.")
    models: list[ModelInfo] = Field(description="The default model (first), the other loaded ones, and those the "
                                                "collections were built with (loaded on their first request).")
    model_memory_budget_bytes: int
    understanding_threshold: float = Field(
        description="The score a phrase needs against its best style tag to count as understood (calibrated per model).")


class ErrorDetail(BaseModel):
    code: str = Field(description="The gRPC status code name of the error type.")
    type: str = Field(description="The paraseek.errors class name.")
    message: str


class ErrorResponse(BaseModel):
    error: ErrorDetail
