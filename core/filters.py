"""paraseek's own filter model, its JSON-able dict form and the ``--where`` mini-language.

The model is backend-neutral: the embedded store compiles it to ``qdrant_edge`` classes, the
server store to ``qdrant_client.models``, and :mod:`paraseek.filter_proto` to and from the wire.
This module imports none of them, so the thin client can build and check filters without the
engine dependencies. Every filter is validated when it is built: integers must fit in 64 bits,
range bounds must be finite numbers, and so on; bad input raises ``InvalidFilter``.

Dict form (what :func:`filter_to_dict` writes and :func:`filter_from_dict` reads)::

    {"must": [{"key": "gender", "match": "female"},
              {"key": "duration", "range": {"gte": 2, "lt": 8}},
              {"key": "speaker", "match_any": ["p225", "p226"]},
              {"key": "transcript", "text": "weather"},
              {"key": "notes", "is_empty": true},
              {"nested": "segments", "filter": {"must": [...]}},
              {"filter": {"should": [...]}}],
     "should": [], "must_not": []}

Where-language (:func:`parse_where`): space-separated clauses, all of which must hold::

    gender=female duration<8 tags.pitch=low-pitched speaker in [a,b] duration>=2 style!=whispered
    name='John Smith'  speaker not in [p1, p2]  transcript~weather

Operators: ``=  !=  <  <=  >  >=  in [..]  not in [..]  ~`` (``~`` is a full-text match). Comparison
operators take no spaces around them; values with spaces are quoted.
"""

from __future__ import annotations

import contextlib
import difflib
import enum
import math
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeAlias, Union

from paraseek.errors import InvalidFilter

MatchValueType: TypeAlias = str | int | bool

# Integers are stored and sent as signed 64-bit values.
INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1


class FieldType(enum.StrEnum):
    """Type of an indexed payload field."""

    KEYWORD = "keyword"
    INTEGER = "integer"
    FLOAT = "float"
    BOOL = "bool"
    TEXT = "text"


def _check_key(key: Any, what: str) -> None:
    if not isinstance(key, str) or not key.strip() or key != key.strip():
        raise InvalidFilter(f"{what}: field name must be a non-empty string without surrounding spaces, got {key!r}")


def _check_integer(value: Any, what: str) -> None:
    """Integers (not booleans) must fit in a signed 64-bit value."""
    if isinstance(value, int) and not isinstance(value, bool) and not INT64_MIN <= value <= INT64_MAX:
        raise InvalidFilter(f"{what}: integer {value} does not fit in 64 bits (from {INT64_MIN} to {INT64_MAX})")


def _is_number(value: Any) -> bool:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    return isinstance(value, int) or math.isfinite(value)


@dataclass(frozen=True)
class Match:
    """The field equals ``value`` (a keyword, integer or boolean; any element of an array field)."""

    field: str
    value: MatchValueType

    def __post_init__(self) -> None:
        _check_key(self.field, "Match")
        if not isinstance(self.value, (str, int, bool)):
            raise InvalidFilter(
                f"Match on {self.field!r}: value must be a string, integer or boolean, got {self.value!r}"
                " (use Range for floats)"
            )
        _check_integer(self.value, f"Match on {self.field!r}")


@dataclass(frozen=True)
class MatchAny:
    """The field equals one of ``values`` (all strings, or all integers, or all booleans)."""

    field: str
    values: tuple[MatchValueType, ...]

    def __post_init__(self) -> None:
        _check_key(self.field, "MatchAny")
        if isinstance(self.values, (str, bytes)) or not isinstance(self.values, Iterable):
            raise InvalidFilter(f"MatchAny on {self.field!r}: values must be a list, got {self.values!r}")
        values = tuple(self.values)
        object.__setattr__(self, "values", values)
        if not values:
            raise InvalidFilter(f"MatchAny on {self.field!r}: needs at least one value")
        kinds = {bool if isinstance(v, bool) else int if isinstance(v, int) else str if isinstance(v, str) else None
                 for v in values}
        if None in kinds:
            raise InvalidFilter(f"MatchAny on {self.field!r}: values must be strings, integers or booleans: {values!r}")
        if len(kinds) > 1:
            raise InvalidFilter(f"MatchAny on {self.field!r}: values mix types: {values!r}")
        for value in values:
            _check_integer(value, f"MatchAny on {self.field!r}")


@dataclass(frozen=True)
class MatchText:
    """Full-text match: the text field contains all words of ``text``."""

    field: str
    text: str

    def __post_init__(self) -> None:
        _check_key(self.field, "MatchText")
        if not isinstance(self.text, str) or not self.text.strip():
            raise InvalidFilter(f"MatchText on {self.field!r}: text must be a non-empty string")


@dataclass(frozen=True)
class Range:
    """A numeric range on the field; at least one bound is required."""

    field: str
    gt: float | None = None
    gte: float | None = None
    lt: float | None = None
    lte: float | None = None

    def __post_init__(self) -> None:
        _check_key(self.field, "Range")
        bounds = {"gt": self.gt, "gte": self.gte, "lt": self.lt, "lte": self.lte}
        given = {name: value for name, value in bounds.items() if value is not None}
        if not given:
            raise InvalidFilter(f"Range on {self.field!r}: needs at least one of gt, gte, lt, lte")
        for name, value in given.items():
            if not _is_number(value):
                raise InvalidFilter(f"Range on {self.field!r}: {name} must be a finite number, got {value!r}")
            _check_integer(value, f"Range on {self.field!r}: {name}")

    def bounds(self) -> dict[str, float]:
        """The bounds that are set, by name."""
        return {name: value for name, value in
                (("gt", self.gt), ("gte", self.gte), ("lt", self.lt), ("lte", self.lte)) if value is not None}


@dataclass(frozen=True)
class IsEmpty:
    """The field is missing, null or an empty array."""

    field: str

    def __post_init__(self) -> None:
        _check_key(self.field, "IsEmpty")


@dataclass(frozen=True)
class Nested:
    """Some element of the array of objects at ``field`` satisfies ``filter`` on its own (keys are relative)."""

    field: str
    filter: Filter

    def __post_init__(self) -> None:
        _check_key(self.field, "Nested")
        if not isinstance(self.filter, Filter):
            raise InvalidFilter(f"Nested on {self.field!r}: filter must be a Filter")


Condition: TypeAlias = Union[Match, MatchAny, MatchText, Range, IsEmpty, Nested, "Filter"]
_CONDITION_TYPES = (Match, MatchAny, MatchText, Range, IsEmpty, Nested)


@dataclass(frozen=True)
class Filter:
    """All ``must`` hold, at least one ``should`` holds (if any are given) and no ``must_not`` holds."""

    must: tuple[Condition, ...] = ()
    should: tuple[Condition, ...] = ()
    must_not: tuple[Condition, ...] = ()

    def __post_init__(self) -> None:
        for clause in ("must", "should", "must_not"):
            items = getattr(self, clause)
            if items is None:
                items = ()
            if isinstance(items, (_CONDITION_TYPES, Filter)):
                items = (items,)
            if isinstance(items, (str, bytes, Mapping)) or not isinstance(items, Iterable):
                raise InvalidFilter(f"Filter.{clause} must be a list of conditions, got {items!r}")
            items = tuple(items)
            for item in items:
                if not isinstance(item, (*_CONDITION_TYPES, Filter)):
                    raise InvalidFilter(f"Filter.{clause}: {item!r} is not a filter condition")
            object.__setattr__(self, clause, items)

    @property
    def is_empty(self) -> bool:
        """True when the filter has no conditions (it matches everything)."""
        return not (self.must or self.should or self.must_not)


# --- dict form ----------------------------------------------------------------------------------


def filter_to_dict(filter: Filter) -> dict[str, list[dict[str, Any]]]:
    """The JSON-able dict form of ``filter`` (see the module docstring)."""
    return {clause: [_condition_to_dict(c) for c in getattr(filter, clause)] for clause in ("must", "should", "must_not")}


def _condition_to_dict(condition: Condition) -> dict[str, Any]:
    if isinstance(condition, Filter):
        return {"filter": filter_to_dict(condition)}
    if isinstance(condition, Match):
        return {"key": condition.field, "match": condition.value}
    if isinstance(condition, MatchAny):
        return {"key": condition.field, "match_any": list(condition.values)}
    if isinstance(condition, MatchText):
        return {"key": condition.field, "text": condition.text}
    if isinstance(condition, Range):
        return {"key": condition.field, "range": condition.bounds()}
    if isinstance(condition, IsEmpty):
        return {"key": condition.field, "is_empty": True}
    return {"nested": condition.field, "filter": filter_to_dict(condition.filter)}


def filter_from_dict(data: Mapping[str, Any] | None) -> Filter:
    """Build a :class:`Filter` from its dict form; ``None`` or ``{}`` is the empty filter."""
    return _filter_from_dict(data, "filter")


def _filter_from_dict(data: Any, where: str) -> Filter:
    if data is None:
        return Filter()
    if not isinstance(data, Mapping):
        raise InvalidFilter(f"{where}: expected an object with must/should/must_not, got {data!r}")
    unknown = set(data) - {"must", "should", "must_not"}
    if unknown:
        raise InvalidFilter(f"{where}: unknown keys {sorted(unknown)} (allowed: must, should, must_not)")
    clauses: dict[str, tuple[Condition, ...]] = {}
    for clause in ("must", "should", "must_not"):
        items = data.get(clause)
        items = [] if items is None else items
        if not isinstance(items, list):
            raise InvalidFilter(f"{where}.{clause}: expected a list, got {items!r}")
        clauses[clause] = tuple(_condition_from_dict(item, f"{where}.{clause}[{i}]") for i, item in enumerate(items))
    return Filter(**clauses)


_CONDITION_KINDS = ("match", "match_any", "text", "range", "is_empty")


def _condition_from_dict(data: Any, where: str) -> Condition:
    if not isinstance(data, Mapping):
        raise InvalidFilter(f"{where}: expected a condition object, got {data!r}")
    keys = set(data)
    if keys == {"filter"}:
        return _filter_from_dict(data["filter"], f"{where}.filter")
    if keys == {"nested", "filter"}:
        return Nested(data["nested"], _filter_from_dict(data["filter"], f"{where}.filter"))
    kinds = [k for k in _CONDITION_KINDS if k in data]
    if "key" not in data or len(kinds) != 1 or len(keys) != 2:
        raise InvalidFilter(
            f"{where}: a condition is {{'key': FIELD, KIND: VALUE}} with exactly one KIND of "
            f"{', '.join(_CONDITION_KINDS)}, or {{'nested': FIELD, 'filter': {{...}}}} or {{'filter': {{...}}}}; "
            f"got {dict(data)!r}"
        )
    key, kind, value = data["key"], kinds[0], data[kinds[0]]
    if kind == "match":
        return Match(key, value)
    if kind == "match_any":
        if not isinstance(value, list):
            raise InvalidFilter(f"{where}: match_any must be a list, got {value!r}")
        return MatchAny(key, tuple(value))
    if kind == "text":
        return MatchText(key, value)
    if kind == "is_empty":
        if value is not True:
            raise InvalidFilter(f"{where}: is_empty must be true (negate it with must_not), got {value!r}")
        return IsEmpty(key)
    if not isinstance(value, Mapping) or not set(value) <= {"gt", "gte", "lt", "lte"}:
        raise InvalidFilter(f"{where}: range must be an object with gt/gte/lt/lte, got {value!r}")
    return Range(key, **value)


def filter_fields(filter: Filter) -> set[str]:
    """Every top-level field name a filter refers to (fields inside ``Nested`` come back as ``a[].b``)."""
    fields: set[str] = set()
    for condition in (*filter.must, *filter.should, *filter.must_not):
        if isinstance(condition, Filter):
            fields |= filter_fields(condition)
        elif isinstance(condition, Nested):
            fields |= {f"{condition.field}[].{inner}" for inner in filter_fields(condition.filter)}
        else:
            fields.add(condition.field)
    return fields


# --- where-language -----------------------------------------------------------------------------

_FIELD = re.compile(r"[A-Za-z_][\w\-]*(?:\[\])?(?:\.[A-Za-z_][\w\-]*(?:\[\])?)*")
_OPERATOR = re.compile(r"not\s+in(?=[\s\[])|in(?=[\s\[])|!=|<=|>=|=|<|>|~", re.IGNORECASE)
_INTEGER = re.compile(r"[+-]?\d+")
_FLOAT = re.compile(r"[+-]?(?:\d+\.\d*|\.\d+|\d+)(?:[eE][+-]?\d+)?")
_TRUE = {"true", "yes", "1"}
_FALSE = {"false", "no", "0"}
_RANGE_BOUND = {"<": "lt", "<=": "lte", ">": "gt", ">=": "gte"}


@dataclass(frozen=True)
class _Token:
    text: str
    quoted: bool
    start: int


class _Parser:
    def __init__(self, text: str, schema: Mapping[str, FieldType] | None) -> None:
        self.text = text
        self.schema = None if schema is None else {k: FieldType(v) for k, v in schema.items()}
        self.pos = 0
        self.clause_start = 0

    # errors point at the clause and the character position
    def fail(self, problem: str, at: int | None = None) -> InvalidFilter:
        position = self.pos if at is None else at
        end = self.pos
        while end < len(self.text) and not self.text[end].isspace():
            end += 1
        clause = self.text[self.clause_start:end].strip() or self.text[self.clause_start:].strip()
        return InvalidFilter(f"{problem} in clause {clause!r} (at character {position + 1} of the filter)")

    def skip_spaces(self) -> None:
        while self.pos < len(self.text) and self.text[self.pos].isspace():
            self.pos += 1

    def parse(self) -> Filter:
        must: list[Condition] = []
        must_not: list[Condition] = []
        self.skip_spaces()
        while self.pos < len(self.text):
            self.clause_start = self.pos
            negated, condition = self.clause()
            (must_not if negated else must).append(condition)
            if self.pos < len(self.text) and not self.text[self.pos].isspace():
                raise self.fail(f"unexpected {self.text[self.pos]!r} after the value; separate clauses with spaces")
            self.skip_spaces()
        return Filter(must=tuple(must), must_not=tuple(must_not))

    def clause(self) -> tuple[bool, Condition]:
        match = _FIELD.match(self.text, self.pos)
        if not match:
            raise self.fail("expected a field name")
        field = match.group(0)
        self.pos = match.end()
        kind = self.field_type(field)
        spaced = self.pos < len(self.text) and self.text[self.pos].isspace()
        self.skip_spaces()
        match = _OPERATOR.match(self.text, self.pos)
        if not match:
            raise self.fail(f"expected an operator (= != < <= > >= in, not in, ~) after {field!r}")
        operator = re.sub(r"\s+", " ", match.group(0).lower())
        self.pos = match.end()
        comparison = operator not in ("in", "not in")
        if comparison and (spaced or (self.pos < len(self.text) and self.text[self.pos].isspace())):
            raise self.fail(f"no spaces around {operator!r}: write clauses like gender=female (quote values with spaces)")
        self.skip_spaces()
        if not comparison:
            list_start = self.pos
            values = [self.coerce(field, kind, token, operator) for token in self.value_list(operator)]
            with self.located(list_start):
                return operator == "not in", self.any_of(field, values)
        token = self.value(operator)
        if operator == "~":
            if kind not in (None, FieldType.TEXT, FieldType.KEYWORD):
                raise self.fail(f"'~' (text match) needs a text field; {field!r} is {kind.value}")
            with self.located(token.start):
                return False, MatchText(field, token.text)
        value = self.coerce(field, kind, token, operator)
        if operator in _RANGE_BOUND and not _is_number(value):
            raise self.fail(f"{operator!r} needs a number, got {token.text!r}", token.start)
        with self.located(token.start):
            if operator in _RANGE_BOUND:
                return False, Range(field, **{_RANGE_BOUND[operator]: value})
            return operator == "!=", self.equals(field, value)

    @contextlib.contextmanager
    def located(self, at: int) -> Iterator[None]:
        """Point the model's own validation errors (an integer beyond 64 bits, ...) at the clause."""
        try:
            yield
        except InvalidFilter as error:
            raise self.fail(str(error), at) from None

    def field_type(self, field: str) -> FieldType | None:
        if self.schema is None:
            return None
        if field not in self.schema:
            close = difflib.get_close_matches(field, list(self.schema), n=3)
            hint = f"; did you mean {', '.join(close)}?" if close else f"; known fields: {', '.join(sorted(self.schema))}"
            raise self.fail(f"unknown field {field!r}{hint}")
        return self.schema[field]

    def value(self, operator: str) -> _Token:
        if self.pos >= len(self.text) or self.text[self.pos].isspace():
            raise self.fail(f"expected a value after {operator!r}")
        if self.text[self.pos] in "'\"":
            return self.quoted()
        start = self.pos
        while self.pos < len(self.text) and not self.text[self.pos].isspace():
            self.pos += 1
        return _Token(self.text[start:self.pos], quoted=False, start=start)

    def quoted(self) -> _Token:
        quote, start = self.text[self.pos], self.pos
        self.pos += 1
        chars: list[str] = []
        while self.pos < len(self.text):
            char = self.text[self.pos]
            if char == "\\" and self.pos + 1 < len(self.text):
                chars.append(self.text[self.pos + 1])
                self.pos += 2
                continue
            self.pos += 1
            if char == quote:
                return _Token("".join(chars), quoted=True, start=start)
            chars.append(char)
        raise self.fail(f"unterminated {quote} quote")

    def value_list(self, operator: str) -> list[_Token]:
        if self.pos >= len(self.text) or self.text[self.pos] != "[":
            raise self.fail(f"expected '[' after {operator!r}, as in: speaker in [a,b]")
        self.pos += 1
        tokens: list[_Token] = []
        while True:
            self.skip_spaces()
            if self.pos >= len(self.text):
                raise self.fail("missing ']' at the end of the list")
            if self.text[self.pos] in "'\"":
                tokens.append(self.quoted())
            else:
                start = self.pos
                while self.pos < len(self.text) and self.text[self.pos] not in ",]" and not self.text[self.pos].isspace():
                    self.pos += 1
                if start == self.pos:
                    raise self.fail("empty value in the list")
                tokens.append(_Token(self.text[start:self.pos], quoted=False, start=start))
            self.skip_spaces()
            if self.pos >= len(self.text):
                raise self.fail("missing ']' at the end of the list")
            if self.text[self.pos] == ",":
                self.pos += 1
                continue
            if self.text[self.pos] == "]":
                self.pos += 1
                return tokens
            raise self.fail("expected ',' or ']' in the list")

    def coerce(self, field: str, kind: FieldType | None, token: _Token, operator: str) -> Any:
        raw = token.text
        if kind is None:
            if token.quoted:
                return raw
            if raw.lower() in ("true", "false"):
                return raw.lower() == "true"
            if _INTEGER.fullmatch(raw):
                return int(raw)
            if _FLOAT.fullmatch(raw):
                return float(raw)
            return raw
        if kind in (FieldType.KEYWORD, FieldType.TEXT):
            if operator in _RANGE_BOUND:
                raise self.fail(at=token.start, problem=f"{operator!r} needs a numeric field; {field!r} is {kind.value}")
            return raw
        if kind is FieldType.INTEGER:
            if not _INTEGER.fullmatch(raw.strip()):
                raise self.fail(at=token.start, problem=f"{field!r} is an integer field; {raw!r} is not an integer")
            return int(raw)
        if kind is FieldType.FLOAT:
            if not _FLOAT.fullmatch(raw.strip()):
                raise self.fail(at=token.start, problem=f"{field!r} is a float field; {raw!r} is not a number")
            return float(raw)
        if operator in _RANGE_BOUND:
            raise self.fail(at=token.start, problem=f"{operator!r} needs a numeric field; {field!r} is bool")
        if raw.lower() in _TRUE:
            return True
        if raw.lower() in _FALSE:
            return False
        raise self.fail(at=token.start, problem=f"{field!r} is a bool field; {raw!r} is not true or false")

    def equals(self, field: str, value: Any) -> Condition:
        if isinstance(value, float):
            return Range(field, gte=value, lte=value)
        return Match(field, value)

    def any_of(self, field: str, values: list[Any]) -> Condition:
        if all(isinstance(v, str) for v in values) or all(isinstance(v, int) and not isinstance(v, bool) for v in values):
            return MatchAny(field, tuple(values))
        if all(isinstance(v, (str, int)) and not isinstance(v, bool) for v in values):
            return MatchAny(field, tuple(str(v) for v in values))
        return Filter(should=tuple(self.equals(field, v) for v in dict.fromkeys(values)))


def parse_where(text: str, schema: Mapping[str, FieldType] | None = None) -> Filter:
    """Parse the ``--where`` mini-language into a :class:`Filter` (see the module docstring).

    With ``schema``, field names are checked against it and values are coerced to the field's type
    (``duration=5`` on a float field becomes ``5.0 <= duration <= 5.0``). Raises ``InvalidFilter``
    with a message naming the bad clause.
    """
    if not isinstance(text, str):
        raise InvalidFilter(f"a where-expression must be a string, got {type(text).__name__}")
    return _Parser(text, schema).parse()


def check_filter_fields(filter: Filter, schema: Mapping[str, FieldType]) -> None:
    """Raise ``InvalidFilter`` if ``filter`` names a field that ``schema`` does not index."""
    unknown = sorted(f for f in filter_fields(filter) if f not in schema)
    if unknown:
        raise InvalidFilter(f"unknown field(s) {', '.join(unknown)}; indexed fields: {', '.join(sorted(schema))}")


__all__: Sequence[str] = (
    "Condition", "FieldType", "Filter", "IsEmpty", "Match", "MatchAny", "MatchText", "Nested", "Range",
    "check_filter_fields", "filter_fields", "filter_from_dict", "filter_to_dict", "parse_where",
)
