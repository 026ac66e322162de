"""Facet counts: how many points under a filter have each value of a payload field."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from paraseek.filters import FieldType, Filter
from paraseek.server.engine import Scope
from paraseek.storage import VectorStore
from paraseek.storage.types import values_at

#: Most points one facet request reads; past it the counts are marked incomplete.
FACET_SCAN_LIMIT = 50_000
_PAGE = 2048
#: Field types that facet: keywords, integers and booleans by value, floats by range.
FACET_TYPES = (FieldType.KEYWORD, FieldType.INTEGER, FieldType.BOOL, FieldType.FLOAT)


@dataclass(frozen=True)
class FacetScan:
    """Value counts per field, the points read, and whether they were all the matching points."""

    counts: dict[str, Counter[Any]]
    scanned: int
    complete: bool


def count_values(store: VectorStore, collection: str, query_filter: Filter | None, fields: Sequence[str],
                 scope: Scope, scan_limit: int = FACET_SCAN_LIMIT) -> FacetScan:
    """Count the values of ``fields`` over the points matching ``query_filter`` by a bounded scroll.

    The deadline is checked between pages. This is the one place to swap for a store-side facet call.
    """
    counts: dict[str, Counter[Any]] = {field: Counter() for field in fields}
    scanned, offset = 0, None
    while scanned < scan_limit:
        scope.check("the facet scan")
        points, offset = store.scroll(collection, filter=query_filter, limit=min(_PAGE, scan_limit - scanned),
                                      offset=offset)
        for point in points:
            for field, counter in counts.items():
                counter.update(set(values_at(point.payload, field)))
        scanned += len(points)
        if offset is None:
            return FacetScan(counts, scanned, True)
    return FacetScan(counts, scanned, False)
