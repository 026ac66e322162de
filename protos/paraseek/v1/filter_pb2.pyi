from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Range(_message.Message):
    __slots__ = ("gt", "gte", "lt", "lte")
    GT_FIELD_NUMBER: _ClassVar[int]
    GTE_FIELD_NUMBER: _ClassVar[int]
    LT_FIELD_NUMBER: _ClassVar[int]
    LTE_FIELD_NUMBER: _ClassVar[int]
    gt: float
    gte: float
    lt: float
    lte: float
    def __init__(self, gt: _Optional[float] = ..., gte: _Optional[float] = ..., lt: _Optional[float] = ..., lte: _Optional[float] = ...) -> None: ...

class KeywordList(_message.Message):
    __slots__ = ("values",)
    VALUES_FIELD_NUMBER: _ClassVar[int]
    values: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, values: _Optional[_Iterable[str]] = ...) -> None: ...

class IntegerList(_message.Message):
    __slots__ = ("values",)
    VALUES_FIELD_NUMBER: _ClassVar[int]
    values: _containers.RepeatedScalarFieldContainer[int]
    def __init__(self, values: _Optional[_Iterable[int]] = ...) -> None: ...

class Condition(_message.Message):
    __slots__ = ("key", "match_keyword", "match_int", "match_bool", "any_keywords", "any_ints", "range", "text", "is_empty", "nested", "filter")
    KEY_FIELD_NUMBER: _ClassVar[int]
    MATCH_KEYWORD_FIELD_NUMBER: _ClassVar[int]
    MATCH_INT_FIELD_NUMBER: _ClassVar[int]
    MATCH_BOOL_FIELD_NUMBER: _ClassVar[int]
    ANY_KEYWORDS_FIELD_NUMBER: _ClassVar[int]
    ANY_INTS_FIELD_NUMBER: _ClassVar[int]
    RANGE_FIELD_NUMBER: _ClassVar[int]
    TEXT_FIELD_NUMBER: _ClassVar[int]
    IS_EMPTY_FIELD_NUMBER: _ClassVar[int]
    NESTED_FIELD_NUMBER: _ClassVar[int]
    FILTER_FIELD_NUMBER: _ClassVar[int]
    key: str
    match_keyword: str
    match_int: int
    match_bool: bool
    any_keywords: KeywordList
    any_ints: IntegerList
    range: Range
    text: str
    is_empty: bool
    nested: Filter
    filter: Filter
    def __init__(self, key: _Optional[str] = ..., match_keyword: _Optional[str] = ..., match_int: _Optional[int] = ..., match_bool: _Optional[bool] = ..., any_keywords: _Optional[_Union[KeywordList, _Mapping]] = ..., any_ints: _Optional[_Union[IntegerList, _Mapping]] = ..., range: _Optional[_Union[Range, _Mapping]] = ..., text: _Optional[str] = ..., is_empty: _Optional[bool] = ..., nested: _Optional[_Union[Filter, _Mapping]] = ..., filter: _Optional[_Union[Filter, _Mapping]] = ...) -> None: ...

class Filter(_message.Message):
    __slots__ = ("must", "should", "must_not")
    MUST_FIELD_NUMBER: _ClassVar[int]
    SHOULD_FIELD_NUMBER: _ClassVar[int]
    MUST_NOT_FIELD_NUMBER: _ClassVar[int]
    must: _containers.RepeatedCompositeFieldContainer[Condition]
    should: _containers.RepeatedCompositeFieldContainer[Condition]
    must_not: _containers.RepeatedCompositeFieldContainer[Condition]
    def __init__(self, must: _Optional[_Iterable[_Union[Condition, _Mapping]]] = ..., should: _Optional[_Iterable[_Union[Condition, _Mapping]]] = ..., must_not: _Optional[_Iterable[_Union[Condition, _Mapping]]] = ...) -> None: ...
