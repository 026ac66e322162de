"""One compiler from paraseek's filter model to a backend's filter classes.

Each backend supplies a :class:`FilterModel` (how to build each kind of condition with its
engine's classes); the walk over the filter, and the field-path checks, are written once here.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import Any

from paraseek.errors import InvalidFilter
from paraseek.filters import Filter, IsEmpty, Match, MatchAny, MatchText, Nested, Range
from paraseek.storage.types import check_field_path


class FilterModel(ABC):
    """A backend's filter classes. ``path`` is the field's full path (``segments[].speaker`` inside ``Nested``)."""

    @abstractmethod
    def match(self, key: str, value: str | int | bool, path: str) -> Any:
        """The field equals ``value``."""

    @abstractmethod
    def match_any(self, key: str, values: Sequence[str | int | bool], path: str) -> Any:
        """The field equals one of ``values`` (all of one type)."""

    @abstractmethod
    def match_text(self, key: str, text: str) -> Any:
        """Full-text match."""

    @abstractmethod
    def range(self, key: str, bounds: dict[str, float]) -> Any:
        """Numeric range; ``bounds`` holds some of gt, gte, lt, lte."""

    @abstractmethod
    def is_empty(self, key: str) -> Any:
        """The field is missing, null or an empty array."""

    @abstractmethod
    def nested(self, key: str, filter: Any) -> Any:
        """Some element of the array at ``key`` satisfies the compiled ``filter``."""

    @abstractmethod
    def filter(self, must: list[Any] | None, should: list[Any] | None, must_not: list[Any] | None) -> Any:
        """The compiled clauses as one filter."""


def compile_filter(filter: Filter, model: FilterModel, prefix: str = "") -> Any:
    """``filter`` in the classes of ``model``; ``InvalidFilter`` for a malformed field path."""

    def clause(items: Sequence[Any]) -> list[Any] | None:
        return [_compile_condition(c, model, prefix) for c in items] or None

    return model.filter(clause(filter.must), clause(filter.should), clause(filter.must_not))


def _compile_condition(condition: Any, model: FilterModel, prefix: str) -> Any:
    if isinstance(condition, Filter):
        return compile_filter(condition, model, prefix)
    key = check_field_path(condition.field, "filter", InvalidFilter)
    path = prefix + key
    if isinstance(condition, Match):
        return model.match(key, condition.value, path)
    if isinstance(condition, MatchAny):
        return model.match_any(key, condition.values, path)
    if isinstance(condition, MatchText):
        return model.match_text(key, condition.text)
    if isinstance(condition, Range):
        return model.range(key, condition.bounds())
    if isinstance(condition, IsEmpty):
        return model.is_empty(key)
    if isinstance(condition, Nested):
        return model.nested(key, compile_filter(condition.filter, model, f"{path}[]."))
    raise InvalidFilter(f"unsupported filter condition {condition!r}")
