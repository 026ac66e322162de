from google.protobuf import struct_pb2 as _struct_pb2
from paraseek.v1 import filter_pb2 as _filter_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class AudioInput(_message.Message):
    __slots__ = ("data", "point_id")
    DATA_FIELD_NUMBER: _ClassVar[int]
    POINT_ID_FIELD_NUMBER: _ClassVar[int]
    data: bytes
    point_id: str
    def __init__(self, data: _Optional[bytes] = ..., point_id: _Optional[str] = ...) -> None: ...

class NegativeDescription(_message.Message):
    __slots__ = ("text", "weight")
    TEXT_FIELD_NUMBER: _ClassVar[int]
    WEIGHT_FIELD_NUMBER: _ClassVar[int]
    text: str
    weight: float
    def __init__(self, text: _Optional[str] = ..., weight: _Optional[float] = ...) -> None: ...

class SearchRequest(_message.Message):
    __slots__ = ("collection", "text", "negatives", "example", "example_weight", "filter", "where", "top_k", "score_threshold", "group_by", "payload_fields", "explain_top", "exact", "offset", "include_example")
    COLLECTION_FIELD_NUMBER: _ClassVar[int]
    TEXT_FIELD_NUMBER: _ClassVar[int]
    NEGATIVES_FIELD_NUMBER: _ClassVar[int]
    EXAMPLE_FIELD_NUMBER: _ClassVar[int]
    EXAMPLE_WEIGHT_FIELD_NUMBER: _ClassVar[int]
    FILTER_FIELD_NUMBER: _ClassVar[int]
    WHERE_FIELD_NUMBER: _ClassVar[int]
    TOP_K_FIELD_NUMBER: _ClassVar[int]
    SCORE_THRESHOLD_FIELD_NUMBER: _ClassVar[int]
    GROUP_BY_FIELD_NUMBER: _ClassVar[int]
    PAYLOAD_FIELDS_FIELD_NUMBER: _ClassVar[int]
    EXPLAIN_TOP_FIELD_NUMBER: _ClassVar[int]
    EXACT_FIELD_NUMBER: _ClassVar[int]
    OFFSET_FIELD_NUMBER: _ClassVar[int]
    INCLUDE_EXAMPLE_FIELD_NUMBER: _ClassVar[int]
    collection: str
    text: str
    negatives: _containers.RepeatedCompositeFieldContainer[NegativeDescription]
    example: AudioInput
    example_weight: float
    filter: _filter_pb2.Filter
    where: str
    top_k: int
    score_threshold: float
    group_by: str
    payload_fields: _containers.RepeatedScalarFieldContainer[str]
    explain_top: int
    exact: bool
    offset: int
    include_example: bool
    def __init__(self, collection: _Optional[str] = ..., text: _Optional[str] = ..., negatives: _Optional[_Iterable[_Union[NegativeDescription, _Mapping]]] = ..., example: _Optional[_Union[AudioInput, _Mapping]] = ..., example_weight: _Optional[float] = ..., filter: _Optional[_Union[_filter_pb2.Filter, _Mapping]] = ..., where: _Optional[str] = ..., top_k: _Optional[int] = ..., score_threshold: _Optional[float] = ..., group_by: _Optional[str] = ..., payload_fields: _Optional[_Iterable[str]] = ..., explain_top: _Optional[int] = ..., exact: _Optional[bool] = ..., offset: _Optional[int] = ..., include_example: _Optional[bool] = ...) -> None: ...

class SearchByAudioRequest(_message.Message):
    __slots__ = ("collection", "audio", "filter", "where", "top_k", "score_threshold", "group_by", "payload_fields", "explain_top", "exact", "offset", "include_example")
    COLLECTION_FIELD_NUMBER: _ClassVar[int]
    AUDIO_FIELD_NUMBER: _ClassVar[int]
    FILTER_FIELD_NUMBER: _ClassVar[int]
    WHERE_FIELD_NUMBER: _ClassVar[int]
    TOP_K_FIELD_NUMBER: _ClassVar[int]
    SCORE_THRESHOLD_FIELD_NUMBER: _ClassVar[int]
    GROUP_BY_FIELD_NUMBER: _ClassVar[int]
    PAYLOAD_FIELDS_FIELD_NUMBER: _ClassVar[int]
    EXPLAIN_TOP_FIELD_NUMBER: _ClassVar[int]
    EXACT_FIELD_NUMBER: _ClassVar[int]
    OFFSET_FIELD_NUMBER: _ClassVar[int]
    INCLUDE_EXAMPLE_FIELD_NUMBER: _ClassVar[int]
    collection: str
    audio: AudioInput
    filter: _filter_pb2.Filter
    where: str
    top_k: int
    score_threshold: float
    group_by: str
    payload_fields: _containers.RepeatedScalarFieldContainer[str]
    explain_top: int
    exact: bool
    offset: int
    include_example: bool
    def __init__(self, collection: _Optional[str] = ..., audio: _Optional[_Union[AudioInput, _Mapping]] = ..., filter: _Optional[_Union[_filter_pb2.Filter, _Mapping]] = ..., where: _Optional[str] = ..., top_k: _Optional[int] = ..., score_threshold: _Optional[float] = ..., group_by: _Optional[str] = ..., payload_fields: _Optional[_Iterable[str]] = ..., explain_top: _Optional[int] = ..., exact: _Optional[bool] = ..., offset: _Optional[int] = ..., include_example: _Optional[bool] = ...) -> None: ...

class StyleTag(_message.Message):
    __slots__ = ("tag", "score")
    TAG_FIELD_NUMBER: _ClassVar[int]
    SCORE_FIELD_NUMBER: _ClassVar[int]
    tag: str
    score: float
    def __init__(self, tag: _Optional[str] = ..., score: _Optional[float] = ...) -> None: ...

class StyleTags(_message.Message):
    __slots__ = ("tags",)
    TAGS_FIELD_NUMBER: _ClassVar[int]
    tags: _containers.RepeatedCompositeFieldContainer[StyleTag]
    def __init__(self, tags: _Optional[_Iterable[_Union[StyleTag, _Mapping]]] = ...) -> None: ...

class Hit(_message.Message):
    __slots__ = ("id", "score", "payload", "styles")
    class StylesEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: StyleTags
        def __init__(self, key: _Optional[str] = ..., value: _Optional[_Union[StyleTags, _Mapping]] = ...) -> None: ...
    ID_FIELD_NUMBER: _ClassVar[int]
    SCORE_FIELD_NUMBER: _ClassVar[int]
    PAYLOAD_FIELD_NUMBER: _ClassVar[int]
    STYLES_FIELD_NUMBER: _ClassVar[int]
    id: str
    score: float
    payload: _struct_pb2.Struct
    styles: _containers.MessageMap[str, StyleTags]
    def __init__(self, id: _Optional[str] = ..., score: _Optional[float] = ..., payload: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., styles: _Optional[_Mapping[str, StyleTags]] = ...) -> None: ...

class Timing(_message.Message):
    __slots__ = ("encode_ms", "search_ms", "total_ms")
    ENCODE_MS_FIELD_NUMBER: _ClassVar[int]
    SEARCH_MS_FIELD_NUMBER: _ClassVar[int]
    TOTAL_MS_FIELD_NUMBER: _ClassVar[int]
    encode_ms: float
    search_ms: float
    total_ms: float
    def __init__(self, encode_ms: _Optional[float] = ..., search_ms: _Optional[float] = ..., total_ms: _Optional[float] = ...) -> None: ...

class SearchResponse(_message.Message):
    __slots__ = ("hits", "collection", "model", "timing", "text_cached", "query")
    HITS_FIELD_NUMBER: _ClassVar[int]
    COLLECTION_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    TIMING_FIELD_NUMBER: _ClassVar[int]
    TEXT_CACHED_FIELD_NUMBER: _ClassVar[int]
    QUERY_FIELD_NUMBER: _ClassVar[int]
    hits: _containers.RepeatedCompositeFieldContainer[Hit]
    collection: str
    model: str
    timing: Timing
    text_cached: bool
    query: QueryUnderstanding
    def __init__(self, hits: _Optional[_Iterable[_Union[Hit, _Mapping]]] = ..., collection: _Optional[str] = ..., model: _Optional[str] = ..., timing: _Optional[_Union[Timing, _Mapping]] = ..., text_cached: _Optional[bool] = ..., query: _Optional[_Union[QueryUnderstanding, _Mapping]] = ...) -> None: ...

class UnderstoodStyle(_message.Message):
    __slots__ = ("style", "score")
    STYLE_FIELD_NUMBER: _ClassVar[int]
    SCORE_FIELD_NUMBER: _ClassVar[int]
    style: str
    score: float
    def __init__(self, style: _Optional[str] = ..., score: _Optional[float] = ...) -> None: ...

class QueryUnderstanding(_message.Message):
    __slots__ = ("understood", "unknown")
    UNDERSTOOD_FIELD_NUMBER: _ClassVar[int]
    UNKNOWN_FIELD_NUMBER: _ClassVar[int]
    understood: _containers.RepeatedCompositeFieldContainer[UnderstoodStyle]
    unknown: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, understood: _Optional[_Iterable[_Union[UnderstoodStyle, _Mapping]]] = ..., unknown: _Optional[_Iterable[str]] = ...) -> None: ...

class ClassifyRequest(_message.Message):
    __slots__ = ("collection", "audio", "styles")
    COLLECTION_FIELD_NUMBER: _ClassVar[int]
    AUDIO_FIELD_NUMBER: _ClassVar[int]
    STYLES_FIELD_NUMBER: _ClassVar[int]
    collection: str
    audio: AudioInput
    styles: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, collection: _Optional[str] = ..., audio: _Optional[_Union[AudioInput, _Mapping]] = ..., styles: _Optional[_Iterable[str]] = ...) -> None: ...

class GroupScores(_message.Message):
    __slots__ = ("group", "tags")
    GROUP_FIELD_NUMBER: _ClassVar[int]
    TAGS_FIELD_NUMBER: _ClassVar[int]
    group: str
    tags: _containers.RepeatedCompositeFieldContainer[StyleTag]
    def __init__(self, group: _Optional[str] = ..., tags: _Optional[_Iterable[_Union[StyleTag, _Mapping]]] = ...) -> None: ...

class ClassifyResponse(_message.Message):
    __slots__ = ("groups", "model")
    GROUPS_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    groups: _containers.RepeatedCompositeFieldContainer[GroupScores]
    model: str
    def __init__(self, groups: _Optional[_Iterable[_Union[GroupScores, _Mapping]]] = ..., model: _Optional[str] = ...) -> None: ...

class RerankRequest(_message.Message):
    __slots__ = ("text", "clips")
    TEXT_FIELD_NUMBER: _ClassVar[int]
    CLIPS_FIELD_NUMBER: _ClassVar[int]
    text: str
    clips: _containers.RepeatedScalarFieldContainer[bytes]
    def __init__(self, text: _Optional[str] = ..., clips: _Optional[_Iterable[bytes]] = ...) -> None: ...

class RankedClip(_message.Message):
    __slots__ = ("index", "score")
    INDEX_FIELD_NUMBER: _ClassVar[int]
    SCORE_FIELD_NUMBER: _ClassVar[int]
    index: int
    score: float
    def __init__(self, index: _Optional[int] = ..., score: _Optional[float] = ...) -> None: ...

class RerankResponse(_message.Message):
    __slots__ = ("ranked", "model")
    RANKED_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    ranked: _containers.RepeatedCompositeFieldContainer[RankedClip]
    model: str
    def __init__(self, ranked: _Optional[_Iterable[_Union[RankedClip, _Mapping]]] = ..., model: _Optional[str] = ...) -> None: ...

class EmbedTextRequest(_message.Message):
    __slots__ = ("texts",)
    TEXTS_FIELD_NUMBER: _ClassVar[int]
    texts: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, texts: _Optional[_Iterable[str]] = ...) -> None: ...

class EmbedAudioRequest(_message.Message):
    __slots__ = ("collection", "clips")
    COLLECTION_FIELD_NUMBER: _ClassVar[int]
    CLIPS_FIELD_NUMBER: _ClassVar[int]
    collection: str
    clips: _containers.RepeatedCompositeFieldContainer[AudioInput]
    def __init__(self, collection: _Optional[str] = ..., clips: _Optional[_Iterable[_Union[AudioInput, _Mapping]]] = ...) -> None: ...

class Embedding(_message.Message):
    __slots__ = ("values",)
    VALUES_FIELD_NUMBER: _ClassVar[int]
    values: _containers.RepeatedScalarFieldContainer[float]
    def __init__(self, values: _Optional[_Iterable[float]] = ...) -> None: ...

class EmbedResponse(_message.Message):
    __slots__ = ("embeddings", "model", "model_fingerprint")
    EMBEDDINGS_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    MODEL_FINGERPRINT_FIELD_NUMBER: _ClassVar[int]
    embeddings: _containers.RepeatedCompositeFieldContainer[Embedding]
    model: str
    model_fingerprint: str
    def __init__(self, embeddings: _Optional[_Iterable[_Union[Embedding, _Mapping]]] = ..., model: _Optional[str] = ..., model_fingerprint: _Optional[str] = ...) -> None: ...

class ListCollectionsRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ListCollectionsResponse(_message.Message):
    __slots__ = ("collections",)
    COLLECTIONS_FIELD_NUMBER: _ClassVar[int]
    collections: _containers.RepeatedCompositeFieldContainer[CollectionInfo]
    def __init__(self, collections: _Optional[_Iterable[_Union[CollectionInfo, _Mapping]]] = ...) -> None: ...

class DescribeCollectionRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class CollectionInfo(_message.Message):
    __slots__ = ("name", "aliases", "count", "dim", "model", "model_fingerprint", "payload_schema", "metadata")
    class PayloadSchemaEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    NAME_FIELD_NUMBER: _ClassVar[int]
    ALIASES_FIELD_NUMBER: _ClassVar[int]
    COUNT_FIELD_NUMBER: _ClassVar[int]
    DIM_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    MODEL_FINGERPRINT_FIELD_NUMBER: _ClassVar[int]
    PAYLOAD_SCHEMA_FIELD_NUMBER: _ClassVar[int]
    METADATA_FIELD_NUMBER: _ClassVar[int]
    name: str
    aliases: _containers.RepeatedScalarFieldContainer[str]
    count: int
    dim: int
    model: str
    model_fingerprint: str
    payload_schema: _containers.ScalarMap[str, str]
    metadata: _struct_pb2.Struct
    def __init__(self, name: _Optional[str] = ..., aliases: _Optional[_Iterable[str]] = ..., count: _Optional[int] = ..., dim: _Optional[int] = ..., model: _Optional[str] = ..., model_fingerprint: _Optional[str] = ..., payload_schema: _Optional[_Mapping[str, str]] = ..., metadata: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ...) -> None: ...

class GetServerInfoRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ServerInfo(_message.Message):
    __slots__ = ("model", "model_fingerprint", "embedding_dim", "sample_rate", "style_groups", "default_collection", "max_text_chars", "max_top_k", "max_rerank_clips", "max_audio_seconds", "max_message_bytes", "version", "models", "model_memory_budget_bytes", "understanding_threshold")
    class StyleGroupsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: _filter_pb2.KeywordList
        def __init__(self, key: _Optional[str] = ..., value: _Optional[_Union[_filter_pb2.KeywordList, _Mapping]] = ...) -> None: ...
    MODEL_FIELD_NUMBER: _ClassVar[int]
    MODEL_FINGERPRINT_FIELD_NUMBER: _ClassVar[int]
    EMBEDDING_DIM_FIELD_NUMBER: _ClassVar[int]
    SAMPLE_RATE_FIELD_NUMBER: _ClassVar[int]
    STYLE_GROUPS_FIELD_NUMBER: _ClassVar[int]
    DEFAULT_COLLECTION_FIELD_NUMBER: _ClassVar[int]
    MAX_TEXT_CHARS_FIELD_NUMBER: _ClassVar[int]
    MAX_TOP_K_FIELD_NUMBER: _ClassVar[int]
    MAX_RERANK_CLIPS_FIELD_NUMBER: _ClassVar[int]
    MAX_AUDIO_SECONDS_FIELD_NUMBER: _ClassVar[int]
    MAX_MESSAGE_BYTES_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    MODELS_FIELD_NUMBER: _ClassVar[int]
    MODEL_MEMORY_BUDGET_BYTES_FIELD_NUMBER: _ClassVar[int]
    UNDERSTANDING_THRESHOLD_FIELD_NUMBER: _ClassVar[int]
    model: str
    model_fingerprint: str
    embedding_dim: int
    sample_rate: int
    style_groups: _containers.MessageMap[str, _filter_pb2.KeywordList]
    default_collection: str
    max_text_chars: int
    max_top_k: int
    max_rerank_clips: int
    max_audio_seconds: float
    max_message_bytes: int
    version: str
    models: _containers.RepeatedCompositeFieldContainer[ModelInfo]
    model_memory_budget_bytes: int
    understanding_threshold: float
    def __init__(self, model: _Optional[str] = ..., model_fingerprint: _Optional[str] = ..., embedding_dim: _Optional[int] = ..., sample_rate: _Optional[int] = ..., style_groups: _Optional[_Mapping[str, _filter_pb2.KeywordList]] = ..., default_collection: _Optional[str] = ..., max_text_chars: _Optional[int] = ..., max_top_k: _Optional[int] = ..., max_rerank_clips: _Optional[int] = ..., max_audio_seconds: _Optional[float] = ..., max_message_bytes: _Optional[int] = ..., version: _Optional[str] = ..., models: _Optional[_Iterable[_Union[ModelInfo, _Mapping]]] = ..., model_memory_budget_bytes: _Optional[int] = ..., understanding_threshold: _Optional[float] = ...) -> None: ...

class ModelInfo(_message.Message):
    __slots__ = ("name", "fingerprint", "embedding_dim", "loaded", "is_default", "memory_bytes", "collections")
    NAME_FIELD_NUMBER: _ClassVar[int]
    FINGERPRINT_FIELD_NUMBER: _ClassVar[int]
    EMBEDDING_DIM_FIELD_NUMBER: _ClassVar[int]
    LOADED_FIELD_NUMBER: _ClassVar[int]
    IS_DEFAULT_FIELD_NUMBER: _ClassVar[int]
    MEMORY_BYTES_FIELD_NUMBER: _ClassVar[int]
    COLLECTIONS_FIELD_NUMBER: _ClassVar[int]
    name: str
    fingerprint: str
    embedding_dim: int
    loaded: bool
    is_default: bool
    memory_bytes: int
    collections: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, name: _Optional[str] = ..., fingerprint: _Optional[str] = ..., embedding_dim: _Optional[int] = ..., loaded: _Optional[bool] = ..., is_default: _Optional[bool] = ..., memory_bytes: _Optional[int] = ..., collections: _Optional[_Iterable[str]] = ...) -> None: ...

class FacetRequest(_message.Message):
    __slots__ = ("collection", "fields", "filter", "where", "limit")
    COLLECTION_FIELD_NUMBER: _ClassVar[int]
    FIELDS_FIELD_NUMBER: _ClassVar[int]
    FILTER_FIELD_NUMBER: _ClassVar[int]
    WHERE_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    collection: str
    fields: _containers.RepeatedScalarFieldContainer[str]
    filter: _filter_pb2.Filter
    where: str
    limit: int
    def __init__(self, collection: _Optional[str] = ..., fields: _Optional[_Iterable[str]] = ..., filter: _Optional[_Union[_filter_pb2.Filter, _Mapping]] = ..., where: _Optional[str] = ..., limit: _Optional[int] = ...) -> None: ...

class FacetValue(_message.Message):
    __slots__ = ("value", "count")
    VALUE_FIELD_NUMBER: _ClassVar[int]
    COUNT_FIELD_NUMBER: _ClassVar[int]
    value: _struct_pb2.Value
    count: int
    def __init__(self, value: _Optional[_Union[_struct_pb2.Value, _Mapping]] = ..., count: _Optional[int] = ...) -> None: ...

class FacetRange(_message.Message):
    __slots__ = ("gte", "lt", "count")
    GTE_FIELD_NUMBER: _ClassVar[int]
    LT_FIELD_NUMBER: _ClassVar[int]
    COUNT_FIELD_NUMBER: _ClassVar[int]
    gte: float
    lt: float
    count: int
    def __init__(self, gte: _Optional[float] = ..., lt: _Optional[float] = ..., count: _Optional[int] = ...) -> None: ...

class Facet(_message.Message):
    __slots__ = ("field", "type", "values", "ranges", "other")
    FIELD_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    VALUES_FIELD_NUMBER: _ClassVar[int]
    RANGES_FIELD_NUMBER: _ClassVar[int]
    OTHER_FIELD_NUMBER: _ClassVar[int]
    field: str
    type: str
    values: _containers.RepeatedCompositeFieldContainer[FacetValue]
    ranges: _containers.RepeatedCompositeFieldContainer[FacetRange]
    other: int
    def __init__(self, field: _Optional[str] = ..., type: _Optional[str] = ..., values: _Optional[_Iterable[_Union[FacetValue, _Mapping]]] = ..., ranges: _Optional[_Iterable[_Union[FacetRange, _Mapping]]] = ..., other: _Optional[int] = ...) -> None: ...

class FacetResponse(_message.Message):
    __slots__ = ("collection", "facets", "scanned", "complete")
    COLLECTION_FIELD_NUMBER: _ClassVar[int]
    FACETS_FIELD_NUMBER: _ClassVar[int]
    SCANNED_FIELD_NUMBER: _ClassVar[int]
    COMPLETE_FIELD_NUMBER: _ClassVar[int]
    collection: str
    facets: _containers.RepeatedCompositeFieldContainer[Facet]
    scanned: int
    complete: bool
    def __init__(self, collection: _Optional[str] = ..., facets: _Optional[_Iterable[_Union[Facet, _Mapping]]] = ..., scanned: _Optional[int] = ..., complete: _Optional[bool] = ...) -> None: ...

class GetPointRequest(_message.Message):
    __slots__ = ("collection", "id")
    COLLECTION_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    collection: str
    id: str
    def __init__(self, collection: _Optional[str] = ..., id: _Optional[str] = ...) -> None: ...

class Point(_message.Message):
    __slots__ = ("id", "collection", "payload")
    ID_FIELD_NUMBER: _ClassVar[int]
    COLLECTION_FIELD_NUMBER: _ClassVar[int]
    PAYLOAD_FIELD_NUMBER: _ClassVar[int]
    id: str
    collection: str
    payload: _struct_pb2.Struct
    def __init__(self, id: _Optional[str] = ..., collection: _Optional[str] = ..., payload: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ...) -> None: ...

class GetAudioRequest(_message.Message):
    __slots__ = ("collection", "id")
    COLLECTION_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    collection: str
    id: str
    def __init__(self, collection: _Optional[str] = ..., id: _Optional[str] = ...) -> None: ...

class AudioChunk(_message.Message):
    __slots__ = ("data", "content_type", "size", "id")
    DATA_FIELD_NUMBER: _ClassVar[int]
    CONTENT_TYPE_FIELD_NUMBER: _ClassVar[int]
    SIZE_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    data: bytes
    content_type: str
    size: int
    id: str
    def __init__(self, data: _Optional[bytes] = ..., content_type: _Optional[str] = ..., size: _Optional[int] = ..., id: _Optional[str] = ...) -> None: ...
