"""Typed results of the client calls."""

from __future__ import annotations

import dataclasses
import html
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, overload


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
class UnderstoodStyle:
    """A known style of the model that a phrase of the description matches, and their similarity."""

    style: str
    score: float


@dataclass(frozen=True)
class QueryUnderstanding:
    """How the description maps to the model's known styles.

    ``understood``: the best style of each phrase the model knows, best first; ``unknown``: the
    words it does not know (their best style scores below the model's calibrated threshold).
    Both are empty for a search without a description.
    """

    understood: list[UnderstoodStyle] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """``{"understood": [{"style": S, "score": X}, ...], "unknown": [W, ...]}``."""
        return {"understood": [{"style": u.style, "score": round(u.score, 5)} for u in self.understood],
                "unknown": list(self.unknown)}


@dataclass(frozen=True)
class SearchResult:
    """Hits best first, with the physical collection searched, the server's stage timings, and how
    the description was understood (``query``)."""

    hits: list[SearchHit]
    collection: str
    model: str
    encode_ms: float
    search_ms: float
    total_ms: float
    text_cached: bool
    query: QueryUnderstanding = field(default_factory=QueryUnderstanding)

    def __iter__(self) -> Iterator[SearchHit]:
        return iter(self.hits)

    def __len__(self) -> int:
        return len(self.hits)

    @overload
    def __getitem__(self, index: int) -> SearchHit: ...

    @overload
    def __getitem__(self, index: slice) -> SearchResult: ...

    def __getitem__(self, index: int | slice) -> SearchHit | SearchResult:
        """A hit by rank (``result[0]`` is the best), or a slice of the hits as a result of its own."""
        if isinstance(index, slice):
            return dataclasses.replace(self, hits=self.hits[index])
        return self.hits[index]

    def to_records(self) -> list[dict[str, Any]]:
        """One flat dict per hit, best first, for ``pandas.DataFrame(result.to_records())`` or a CSV.

        Keys: ``id``, ``score``, the payload fields (nested objects as dotted names, a field that
        clashes with ``id`` or ``score`` as ``payload.<name>``), and ``style.<group>``: the group's
        explaining tags, best first, as ``"tag (0.412)"`` joined by ``", "``.
        """
        return [_record(hit) for hit in self.hits]

    def _repr_html_(self) -> str:
        """A table for notebooks: rank, score, id, a player when the payload has a local ``path``, payload, styles."""
        records = self.to_records()
        columns = list(dict.fromkeys(key for record in records for key in record if key not in ("id", "score")))
        header = "".join(f"<th>{html.escape(name)}</th>" for name in ["#", "score", "id", "audio", *columns])
        rows = []
        for rank, (hit, record) in enumerate(zip(self.hits, records, strict=True), start=1):
            cells = [str(rank), f"{hit.score:.4f}", html.escape(hit.id), _player(hit.payload.get("path"))]
            cells += [html.escape(_text(record.get(name, ""))) for name in columns]
            rows.append("<tr>" + "".join(f"<td>{cell}</td>" for cell in cells) + "</tr>")
        caption = html.escape(f"{len(self.hits)} hits from {self.collection} ({self.model}), {self.total_ms:.1f} ms")
        return f"<table><caption>{caption}</caption><thead><tr>{header}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


def _record(hit: SearchHit) -> dict[str, Any]:
    record: dict[str, Any] = {"id": hit.id, "score": hit.score}
    for name, value in _flatten(hit.payload, ""):
        record[f"payload.{name}" if name in ("id", "score") else name] = value
    for group, scores in hit.styles.items():
        record[f"style.{group}"] = ", ".join(f"{s.tag} ({s.score:.3f})" for s in scores)
    return record


def _flatten(payload: Mapping[str, Any], prefix: str) -> Iterator[tuple[str, Any]]:
    for key, value in payload.items():
        if isinstance(value, Mapping) and value:
            yield from _flatten(value, f"{prefix}{key}.")
        else:
            yield f"{prefix}{key}", value


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def _player(path: Any) -> str:
    """An ``<audio controls>`` element for a local file path, else nothing."""
    if not isinstance(path, str) or not path or "://" in path:
        return ""
    url = Path(path).expanduser().absolute().as_uri()
    return f'<audio controls preload="none" src="{html.escape(url)}"></audio>'


@dataclass(frozen=True)
class FacetCount:
    """A value of a payload field and how many matching points hold it."""

    value: str | int | bool
    count: int


@dataclass(frozen=True)
class FacetRange:
    """How many matching points have ``gte <= value < lt`` (``lt`` is ``None`` for the last range)."""

    gte: float
    lt: float | None
    count: int


@dataclass(frozen=True)
class Facet:
    """The counts of one payload field: by value (keyword, integer, bool) or by range (float).

    ``other`` counts the points holding only values beyond the ones listed.
    """

    field: str
    type: str
    values: list[FacetCount]
    ranges: list[FacetRange]
    other: int


@dataclass(frozen=True)
class FacetResult:
    """Counts per field (in the order asked), the collection counted, and whether the float ranges saw every match."""

    collection: str
    facets: dict[str, Facet]
    scanned: int
    complete: bool


@dataclass(frozen=True)
class StoredClip:
    """A stored point: its full id, the physical collection holding it, and its payload."""

    id: str
    collection: str
    payload: dict[str, Any]


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
    #: The score a phrase of a description needs against its best style to count as understood.
    understanding_threshold: float
