"""Facet counts: how many points under a filter hold each value of a payload field.

Keyword, integer and bool fields are counted by the store itself (exact). Float fields are counted
by range: equal-width ranges over the values a bounded scroll of the matching points finds.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from paraseek.client.types import FacetRange
from paraseek.errors import InvalidArgument
from paraseek.filters import FieldType, Filter, IsEmpty, MatchAny
from paraseek.storage import CollectionInfo, VectorStore
from paraseek.storage.base import Deadline, FacetValue
from paraseek.storage.types import values_at

#: Most points one facet request reads to find float ranges; past it the ranges are marked incomplete.
FACET_SCAN_LIMIT = 50_000
#: Values per field one facet request may ask for.
MAX_FACET_VALUES = 1000
DEFAULT_FACET_VALUES = 20
#: Ranges a float field is cut into.
FLOAT_FACET_RANGES = 5
#: Field types that facet: keywords, integers and booleans by value, floats by range.
VALUE_TYPES = (FieldType.KEYWORD, FieldType.INTEGER, FieldType.BOOL)
FACET_TYPES = (*VALUE_TYPES, FieldType.FLOAT)
_PAGE = 2048


@dataclass(frozen=True)
class FieldFacet:
    """The counts of one field: ``values`` (most frequent first) or, for a float field, ``ranges``.

    ``other`` counts the points that hold only values beyond the ones listed.
    """

    field: str
    kind: FieldType
    values: list[tuple[FacetValue, int]]
    ranges: list[FacetRange]
    other: int


@dataclass(frozen=True)
class FacetOutcome:
    """The counts per field, the points read to find float ranges, and whether that read saw every match."""

    collection: str
    facets: list[FieldFacet]
    scanned: int
    complete: bool


def facetable_fields(info: CollectionInfo, fields: Sequence[str]) -> list[str]:
    """``fields`` (default: every facetable field of the schema), each checked to be countable."""
    chosen = list(fields) or [field for field, kind in info.payload_schema.items() if kind in FACET_TYPES]
    for field in chosen:
        if info.payload_schema.get(field) not in FACET_TYPES:
            raise InvalidArgument(f"field {field!r} cannot be counted: facets need a keyword, integer, bool or "
                                  f"float field of the schema of {info.name!r}")
    return chosen


def count_facets(store: VectorStore, info: CollectionInfo, fields: Sequence[str], query_filter: Filter | None,
                 limit: int, deadline: Deadline, scan_limit: int = FACET_SCAN_LIMIT) -> FacetOutcome:
    """Counts of ``fields`` (see :func:`facetable_fields`) over the points of ``info`` matching ``query_filter``."""
    if not 1 <= limit <= MAX_FACET_VALUES:
        raise InvalidArgument(f"limit must be in 1..{MAX_FACET_VALUES}, got {limit}")
    chosen = facetable_fields(info, fields)
    floats = [field for field in chosen if info.payload_schema[field] is FieldType.FLOAT]
    seen, scanned, complete = _scan_values(store, info.name, query_filter, floats, deadline, scan_limit)
    facets = []
    for field in chosen:
        kind = info.payload_schema[field]
        if kind is FieldType.FLOAT:
            facets.append(FieldFacet(field, kind, [], _ranges(seen[field]), 0))
            continue
        values = store.facet(info.name, field, filter=query_filter, limit=limit, deadline=deadline)
        facets.append(FieldFacet(field, kind, values, [], _others(store, info.name, field, query_filter, values, limit)))
    return FacetOutcome(info.name, facets, scanned, complete)


def _others(store: VectorStore, collection: str, field: str, query_filter: Filter | None,
            values: list[tuple[FacetValue, int]], limit: int) -> int:
    """Points matching ``query_filter`` whose values of ``field`` are all beyond the ``values`` listed."""
    if len(values) < limit:
        return 0
    beyond = Filter(must=() if query_filter is None else (query_filter,),
                    must_not=(IsEmpty(field), MatchAny(field, tuple(value for value, _ in values))))
    return store.count(collection, beyond)


def _scan_values(store: VectorStore, collection: str, query_filter: Filter | None, fields: Sequence[str],
                 deadline: Deadline, scan_limit: int) -> tuple[dict[str, Counter[Any]], int, bool]:
    """The values of ``fields`` over the matching points, read by a scroll of at most ``scan_limit`` points."""
    counts: dict[str, Counter[Any]] = {field: Counter() for field in fields}
    if not fields:
        return counts, 0, True
    scanned, offset = 0, None
    while scanned < scan_limit:
        points, offset = store.scroll(collection, filter=query_filter, limit=min(_PAGE, scan_limit - scanned),
                                      offset=offset, deadline=deadline)
        for point in points:
            for field, counter in counts.items():
                counter.update(set(values_at(point.payload, field)))
        scanned += len(points)
        if offset is None:
            return counts, scanned, True
    return counts, scanned, False


def _ranges(counts: Counter[Any]) -> list[FacetRange]:
    """Equal-width ranges over the values seen, edges rounded down to two significant digits of the width."""
    values = sorted(float(v) for v in counts)
    if not values:
        return []
    low, high = values[0], values[-1]
    step = (high - low) / FLOAT_FACET_RANGES
    scale = 10 ** (1 - math.floor(math.log10(step))) if step > 0 else 1
    edges = sorted({math.floor((low + i * step) * scale) / scale for i in range(FLOAT_FACET_RANGES if step else 1)})
    ranges = []
    for index, start in enumerate(edges):
        end = edges[index + 1] if index + 1 < len(edges) else None
        count = sum(n for v, n in counts.items() if start <= float(v) and (end is None or float(v) < end))
        ranges.append(FacetRange(start, end, count))
    return ranges

