"""Typed results of the client calls."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class StyleScore:
    """A style tag and its cosine similarity with a clip."""

    tag: str
    score: float


@dataclass(frozen=True)
class SearchHit:
    """One matching clip: its point id, cosine score, payload, and best-matching style tags per group."""

    id: str
    score: float
    payload: dict[str, Any]
    styles: dict[str, list[StyleScore]] = field(default_factory=dict)


@dataclass(frozen=True)
class SearchResult:
    """Hits best first, with the physical collection searched and the server's stage timings."""

    hits: list[SearchHit]
    collection: str
    model: str
    encode_ms: float
    search_ms: float
    total_ms: float
    text_cached: bool

    def __iter__(self) -> Iterator[SearchHit]:
        return iter(self.hits)

    def __len__(self) -> int:
        return len(self.hits)


@dataclass(frozen=True)
class RankedClip:
    """A reranked candidate: its position in the request and its score against the description."""

    index: int
    score: float


@dataclass(frozen=True)
class CollectionSummary:
    """A collection on the server: size, dimension, the model it was built with, indexed fields."""

    name: str
    aliases: list[str]
    count: int
    dim: int
    model: str
    model_fingerprint: str
    payload_schema: dict[str, str]
    metadata: dict[str, Any]


@dataclass(frozen=True)
class ServerInfo:
    """The served model and the server's request limits."""

    model: str
    model_fingerprint: str
    embedding_dim: int
    sample_rate: int
    style_groups: dict[str, list[str]]
    default_collection: str
    max_text_chars: int
    max_top_k: int
    max_rerank_clips: int
    max_audio_seconds: float
    max_message_bytes: int
    version: str
