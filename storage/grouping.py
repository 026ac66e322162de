"""Group-by semantics shared by both stores, and its emulation for engines without a group-by query.

A point belongs to one group per distinct value of the field (an array value puts it in several);
a point whose field holds a value of another type than the field's declared one joins no group.
Groups rank by their best hit; each group contributes that hit, and a hit shared by several groups
is returned once.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeAlias

from paraseek.storage.base import Deadline, check_deadline
from paraseek.storage.types import FieldType, Hit, values_at

GroupValue: TypeAlias = str | int
# One page of the emulation: (limit, ids to leave out, group values to leave out) -> hits, best first,
# with their full payloads.
PageSearch: TypeAlias = Callable[[int, set[str], list[GroupValue]], list[Hit]]

# Points one emulated grouped search looks at, at most; past it, the groups found so far come back.
MAX_GROUP_SCAN = 20_000
_GROUP_VALUE_TYPES = {FieldType.KEYWORD: str, FieldType.INTEGER: int}


def group_values(payload: dict[str, Any], field: str, kind: FieldType) -> list[GroupValue]:
    """The groups a payload belongs to: the distinct values at ``field``, none if any has another type."""
    values = values_at(payload, field)
    expected = _GROUP_VALUE_TYPES[kind]
    if any(type(value) is not expected for value in values):
        return []
    return list(dict.fromkeys(values))


def emulate_group_by(search_page: PageSearch, field: str, kind: FieldType, groups_wanted: int,
                     deadline: Deadline) -> list[Hit]:
    """The best hit of each of the ``groups_wanted`` best groups, in rank order.

    Repeated searches, each leaving out the points seen so far and the groups found so far: every
    page holds the best points not yet seen, so groups are found in rank order with their true best
    hit. Stops after ``MAX_GROUP_SCAN`` points (returning the groups found) or at ``deadline``.
    """
    best: dict[GroupValue, Hit] = {}
    seen: set[str] = set()
    scanned = 0
    while len(best) < groups_wanted and scanned < MAX_GROUP_SCAN:
        check_deadline(deadline, f"grouping by {field!r}")
        limit = min(max(4 * (groups_wanted - len(best)), 32), MAX_GROUP_SCAN - scanned)
        page = search_page(limit, set(seen), list(best))
        scanned += len(page)
        for hit in page:
            seen.add(hit.id)
            for value in group_values(hit.payload, field, kind):
                best.setdefault(value, hit)
        if len(page) < limit:
            break
    return list(best.values())[:groups_wanted]


def distinct_hits(group_hits: Sequence[Hit], offset: int, top_k: int) -> list[Hit]:
    """The best hits of groups (best group first), each point once, from ``offset`` on, at most ``top_k``."""
    hits: list[Hit] = []
    seen: set[str] = set()
    for hit in sorted(group_hits, key=lambda h: -h.score):
        if hit.id not in seen:
            seen.add(hit.id)
            hits.append(hit)
    return hits[offset:offset + top_k]
