"""The one conversion between :class:`paraseek.filters.Filter` and the wire's ``paraseek.v1.Filter``.

The client encodes a validated Filter (:func:`filter_to_proto`); the server decodes and validates
what arrives (:func:`filter_from_proto`). Both directions go through the filter model, so a filter
is checked by the same code wherever it comes from. The wire has no list of booleans: a
``MatchAny`` of booleans travels as a sub-filter that ``should`` match each value.
"""

from __future__ import annotations

from typing import cast

from paraseek.errors import InvalidFilter
from paraseek.filters import Condition, Filter, IsEmpty, Match, MatchAny, MatchText, Nested, Range
from paraseek.v1 import filter_pb2

_CLAUSES = ("must", "should", "must_not")
_BOUNDS = ("gt", "gte", "lt", "lte")


def filter_to_proto(filter: Filter) -> filter_pb2.Filter:
    """The protobuf message of a (validated) filter."""
    return filter_pb2.Filter(**{clause: [_condition_to_proto(c) for c in getattr(filter, clause)]
                                for clause in _CLAUSES})


def _condition_to_proto(condition: Condition) -> filter_pb2.Condition:
    if isinstance(condition, Filter):
        return filter_pb2.Condition(filter=filter_to_proto(condition))
    if isinstance(condition, Nested):
        return filter_pb2.Condition(key=condition.field, nested=filter_to_proto(condition.filter))
    if isinstance(condition, Match):
        return _match_to_proto(condition.field, condition.value)
    if isinstance(condition, MatchAny):
        return _match_any_to_proto(condition)
    if isinstance(condition, Range):
        return filter_pb2.Condition(key=condition.field, range=filter_pb2.Range(**condition.bounds()))
    if isinstance(condition, MatchText):
        return filter_pb2.Condition(key=condition.field, text=condition.text)
    return filter_pb2.Condition(key=condition.field, is_empty=True)


def _match_to_proto(field: str, value: str | int | bool) -> filter_pb2.Condition:
    if isinstance(value, bool):
        return filter_pb2.Condition(key=field, match_bool=value)
    if isinstance(value, int):
        return filter_pb2.Condition(key=field, match_int=value)
    return filter_pb2.Condition(key=field, match_keyword=value)


def _match_any_to_proto(condition: MatchAny) -> filter_pb2.Condition:
    first = condition.values[0]
    if isinstance(first, bool):
        either = Filter(should=tuple(Match(condition.field, value) for value in dict.fromkeys(condition.values)))
        return filter_pb2.Condition(filter=filter_to_proto(either))
    # MatchAny holds values of one type, so the first value's type is every value's
    if isinstance(first, int):
        ints = cast("tuple[int, ...]", condition.values)
        return filter_pb2.Condition(key=condition.field, any_ints=filter_pb2.IntegerList(values=ints))
    keywords = cast("tuple[str, ...]", condition.values)
    return filter_pb2.Condition(key=condition.field, any_keywords=filter_pb2.KeywordList(values=keywords))


def filter_from_proto(message: filter_pb2.Filter) -> Filter:
    """The validated filter a protobuf message describes; ``InvalidFilter`` names the bad condition."""
    return _filter_from_proto(message, "filter")


def _filter_from_proto(message: filter_pb2.Filter, where: str) -> Filter:
    return Filter(**{clause: tuple(_condition_from_proto(c, f"{where}.{clause}[{i}]")
                                   for i, c in enumerate(getattr(message, clause))) for clause in _CLAUSES})


def _condition_from_proto(condition: filter_pb2.Condition, where: str) -> Condition:
    kind = condition.WhichOneof("test")
    key = condition.key
    if kind in ("match_keyword", "match_int", "match_bool"):
        return Match(key, getattr(condition, kind))
    if kind in ("any_keywords", "any_ints"):
        return MatchAny(key, tuple(getattr(condition, kind).values))
    if kind == "range":
        return Range(key, **{b: getattr(condition.range, b) for b in _BOUNDS if condition.range.HasField(b)})
    if kind == "text":
        return MatchText(key, condition.text)
    if kind == "nested":
        return Nested(key, _filter_from_proto(condition.nested, f"{where}.nested"))
    if kind == "filter":
        return _filter_from_proto(condition.filter, f"{where}.filter")
    if kind == "is_empty" and condition.is_empty:
        return IsEmpty(key)
    if kind == "is_empty":
        raise InvalidFilter(f"{where}: is_empty must be true (negate it with must_not)")
    raise InvalidFilter(f"{where}: the condition on {key!r} sets no test (match_keyword, range, ...)")
