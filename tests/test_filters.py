"""The filter model, its dict form, the where-language and the protobuf codec."""

from __future__ import annotations

import json

import pytest

from paraseek.errors import InvalidFilter
from paraseek.filter_proto import filter_from_proto, filter_to_proto
from paraseek.filters import (
    FieldType,
    Filter,
    IsEmpty,
    Match,
    MatchAny,
    MatchText,
    Nested,
    Range,
    check_filter_fields,
    filter_fields,
    filter_from_dict,
    filter_to_dict,
    parse_where,
)
from paraseek.v1 import filter_pb2

SCHEMA = {
    "gender": FieldType.KEYWORD,
    "duration": FieldType.FLOAT,
    "tags.pitch": FieldType.KEYWORD,
    "speaker": FieldType.KEYWORD,
    "style": FieldType.KEYWORD,
    "year": FieldType.INTEGER,
    "studio": FieldType.BOOL,
    "transcript": FieldType.TEXT,
    "name": FieldType.KEYWORD,
}


def test_where_example_from_the_docs() -> None:
    parsed = parse_where(
        "gender=female duration<8 tags.pitch=low-pitched speaker in [a,b] duration>=2 style!=whispered", SCHEMA
    )
    assert parsed == Filter(
        must=[
            Match("gender", "female"),
            Range("duration", lt=8.0),
            Match("tags.pitch", "low-pitched"),
            MatchAny("speaker", ("a", "b")),
            Range("duration", gte=2.0),
        ],
        must_not=[Match("style", "whispered")],
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("name='John Smith'", Filter(must=[Match("name", "John Smith")])),
        ('name="it\\"s"', Filter(must=[Match("name", 'it"s')])),
        ("speaker in ['a b', c ]", Filter(must=[MatchAny("speaker", ("a b", "c"))])),
        ("speaker not in [a,b]", Filter(must_not=[MatchAny("speaker", ("a", "b"))])),
        ("SPEAKER_ID IN [1,2]", Filter(must=[MatchAny("SPEAKER_ID", (1, 2))])),
        ("year<=2010", Filter(must=[Range("year", lte=2010)])),
        ("year>2010", Filter(must=[Range("year", gt=2010)])),
        ("studio=true", Filter(must=[Match("studio", True)])),
        ("studio!=no", Filter(must_not=[Match("studio", False)])),
        ("duration=5", Filter(must=[Range("duration", gte=5.0, lte=5.0)])),
        ("duration in [1, 2.5]", Filter(must=[Filter(should=[Range("duration", gte=1.0, lte=1.0),
                                                            Range("duration", gte=2.5, lte=2.5)])])),
        ("transcript~'heavy rain'", Filter(must=[MatchText("transcript", "heavy rain")])),
        ("year=2001", Filter(must=[Match("year", 2001)])),
        ("gender=5", Filter(must=[Match("gender", "5")])),
        ("", Filter()),
        ("   ", Filter()),
    ],
)
def test_where_with_schema(text: str, expected: Filter) -> None:
    assert parse_where(text, SCHEMA if "SPEAKER_ID" not in text else None) == expected


def test_where_without_schema_infers_types() -> None:
    parsed = parse_where("a=1 b=1.5 c=true d=x e='7' f in [1,x]")
    assert parsed == Filter(must=[
        Match("a", 1), Range("b", gte=1.5, lte=1.5), Match("c", True), Match("d", "x"), Match("e", "7"),
        MatchAny("f", ("1", "x")),
    ])


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("gendr=female", "unknown field 'gendr'; did you mean gender"),
        ("gender", "expected an operator"),
        ("gender=", "no spaces around '='"),
        ("gender =female", "no spaces around '='"),
        ("duration<<8", "'duration' is a float field; '<8' is not a number"),
        ("duration<fast", "'duration' is a float field; 'fast' is not a number"),
        ("year=1.5", "'year' is an integer field"),
        ("studio=maybe", "'studio' is a bool field"),
        ("gender<5", "'<' needs a numeric field; 'gender' is keyword"),
        ("speaker in a,b", "expected '[' after 'in'"),
        ("speaker in [a,b", "expected ',' or ']' in the list"),
        ("speaker in [a,,b]", "empty value in the list"),
        ("name='John", "unterminated ' quote"),
        ("name='John'x", "unexpected 'x' after the value"),
        ("=female", "expected a field name"),
        ("year~rain", "'~' (text match) needs a text field"),
    ],
)
def test_where_errors_point_at_the_clause(text: str, message: str) -> None:
    with pytest.raises(InvalidFilter) as caught:
        parse_where(f"gender=male {text} duration>1", SCHEMA)
    assert message in str(caught.value)
    assert "in clause" in str(caught.value)
    assert "gender=male" not in str(caught.value).split("in clause")[1]


def test_where_error_at_the_end() -> None:
    with pytest.raises(InvalidFilter, match="missing ']'"):
        parse_where("speaker in [a,b ", SCHEMA)
    with pytest.raises(InvalidFilter, match="'<' needs a number, got '<8'"):
        parse_where("n<<8")
    with pytest.raises(InvalidFilter, match="expected a value after '>='"):
        parse_where("gender=x duration>=", SCHEMA)


def test_where_error_names_the_position() -> None:
    with pytest.raises(InvalidFilter, match=r"in clause 'duration<<8' \(at character 19 of the filter\)"):
        parse_where("gender=x duration<<8", SCHEMA)


def test_where_rejects_non_strings() -> None:
    with pytest.raises(InvalidFilter):
        parse_where(None)  # type: ignore[arg-type]


def test_dict_round_trip_covers_every_condition() -> None:
    original = Filter(
        must=[Match("gender", "female"), Range("duration", gte=2, lt=8.5), MatchAny("year", (2001, 2002)),
              MatchText("transcript", "rain"), Nested("segments", Filter(must=[Match("speaker", "a")]))],
        should=[Match("studio", True), Filter(must_not=[IsEmpty("tags.pitch")])],
        must_not=[MatchAny("speaker", ("x", "y"))],
    )
    data = filter_to_dict(original)
    assert json.loads(json.dumps(data)) == data
    assert data["must"][0] == {"key": "gender", "match": "female"}
    assert data["must"][1] == {"key": "duration", "range": {"gte": 2, "lt": 8.5}}
    assert filter_from_dict(json.loads(json.dumps(data))) == original


def test_dict_form_from_the_spec() -> None:
    parsed = filter_from_dict({"must": [{"key": "gender", "match": "female"}, {"key": "duration", "range": {"lt": 8}}],
                               "should": [], "must_not": []})
    assert parsed == Filter(must=[Match("gender", "female"), Range("duration", lt=8)])
    assert filter_from_dict(None).is_empty and filter_from_dict({}).is_empty


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ([], "expected an object"),
        ({"must": {}}, "filter.must: expected a list"),
        ({"maybe": []}, "unknown keys ['maybe']"),
        ({"must": [{"key": "a"}]}, "filter.must[0]: a condition is"),
        ({"must": [{"key": "a", "match": 1, "range": {"lt": 1}}]}, "exactly one KIND"),
        ({"must": [{"key": "a", "match": 1.5}]}, "use Range for floats"),
        ({"must": [{"key": "a", "match": None}]}, "value must be a string"),
        ({"must": [{"key": "a", "range": {}}]}, "needs at least one of gt"),
        ({"must": [{"key": "a", "range": {"lt": "x"}}]}, "lt must be a finite number"),
        ({"must": [{"key": "a", "range": {"below": 1}}]}, "range must be an object with gt/gte/lt/lte"),
        ({"must": [{"key": "a", "match_any": []}]}, "needs at least one value"),
        ({"must": [{"key": "a", "match_any": ["x", 1]}]}, "values mix types"),
        ({"must": [{"key": "a", "match_any": "x"}]}, "match_any must be a list"),
        ({"must": [{"key": "", "match": "x"}]}, "field name must be a non-empty string"),
        ({"must": [{"key": "a", "is_empty": False}]}, "is_empty must be true"),
        ({"should": [{"nested": "a", "filter": {"must": [{"key": 3, "match": 1}]}}]}, "field name"),
        ({"must_not": [{"filter": "x"}]}, "filter.must_not[0].filter: expected an object"),
    ],
)
def test_bad_dicts_raise_invalid_filter(data: object, message: str) -> None:
    with pytest.raises(InvalidFilter) as caught:
        filter_from_dict(data)  # type: ignore[arg-type]
    assert message in str(caught.value)


def test_model_validates_on_construction() -> None:
    with pytest.raises(InvalidFilter):
        Filter(must=["gender=female"])  # type: ignore[list-item]
    with pytest.raises(InvalidFilter):
        Range("duration", lt=float("nan"))
    with pytest.raises(InvalidFilter):
        Range("duration", lt=True)  # type: ignore[arg-type]
    assert Filter(must=Match("a", 1)).must == (Match("a", 1),)


def test_field_listing_and_schema_check() -> None:
    parsed = Filter(must=[Match("gender", "x"), Nested("segments", Filter(must=[Match("speaker", "a")]))],
                    should=[Filter(must=[Range("duration", lt=1)])])
    assert filter_fields(parsed) == {"gender", "segments[].speaker", "duration"}
    with pytest.raises(InvalidFilter, match="segments"):
        check_filter_fields(parsed, SCHEMA)
    check_filter_fields(parse_where("gender=x duration<1"), SCHEMA)


@pytest.mark.parametrize(
    ("text", "schema"),
    [
        ("sample_rate=99999999999999999999999", None),
        ("year=9223372036854775808", SCHEMA),
        ("year!=-9223372036854775809", SCHEMA),
        ("year in [1, 99999999999999999999999]", SCHEMA),
        ("n<99999999999999999999999", None),
    ],
)
def test_where_refuses_integers_beyond_64_bits(text: str, schema: dict[str, FieldType] | None) -> None:
    with pytest.raises(InvalidFilter, match=r"does not fit in 64 bits .* in clause"):
        parse_where(f"gender=x {text}", schema)


def test_64_bit_integers_at_the_edges_are_kept() -> None:
    edges = parse_where("year in [9223372036854775807, -9223372036854775808]", SCHEMA)
    assert edges == Filter(must=[MatchAny("year", (2**63 - 1, -(2**63)))])
    assert filter_from_proto(filter_to_proto(edges)) == edges
    assert parse_where("duration<99999999999999999999999", SCHEMA) == Filter(must=[Range("duration", lt=1e23)])


@pytest.mark.parametrize(
    "data",
    [
        {"must": [{"key": "a", "match": 2**63}]},
        {"must": [{"key": "a", "match_any": [0, 2**64]}]},
        {"must": [{"key": "a", "range": {"lt": 10**400}}]},
    ],
)
def test_dicts_refuse_integers_beyond_64_bits(data: dict) -> None:
    with pytest.raises(InvalidFilter, match="does not fit in 64 bits"):
        filter_from_dict(data)


def test_proto_round_trip_covers_every_condition() -> None:
    original = Filter(
        must=[Match("gender", "female"), Match("year", 2001), Match("studio", False), Range("duration", gte=2, lt=8.5),
              MatchAny("year", (2001, 2002)), MatchAny("speaker", ("a", "b")), MatchText("transcript", "rain"),
              Nested("segments", Filter(must=[Match("speaker", "a")]))],
        should=[Filter(must_not=[IsEmpty("tags.pitch")])],
        must_not=[MatchAny("speaker", ("x", "y"))],
    )
    message = filter_to_proto(original)
    assert message.must[0] == filter_pb2.Condition(key="gender", match_keyword="female")
    assert message.must[2].WhichOneof("test") == "match_bool"
    assert filter_from_proto(filter_pb2.Filter.FromString(message.SerializeToString())) == original


def test_boolean_match_any_travels_as_either_value() -> None:
    decoded = filter_from_proto(filter_to_proto(Filter(must=[MatchAny("studio", (True, False, True))])))
    assert decoded == Filter(must=[Filter(should=[Match("studio", True), Match("studio", False)])])


@pytest.mark.parametrize(
    ("message", "text"),
    [
        (filter_pb2.Filter(must=[filter_pb2.Condition(key="gender")]), "filter.must[0]: the condition on 'gender' sets no test"),
        (filter_pb2.Filter(should=[filter_pb2.Condition(key="notes", is_empty=False)]), "is_empty must be true"),
        (filter_pb2.Filter(must=[filter_pb2.Condition(key="duration", range=filter_pb2.Range())]), "needs at least one"),
        (filter_pb2.Filter(must=[filter_pb2.Condition(key="duration", range=filter_pb2.Range(lt=float("nan")))]),
         "finite number"),
        (filter_pb2.Filter(must=[filter_pb2.Condition(key="", match_keyword="x")]), "field name"),
        (filter_pb2.Filter(must=[filter_pb2.Condition(key="a", any_keywords=filter_pb2.KeywordList())]),
         "at least one value"),
        (filter_pb2.Filter(must_not=[filter_pb2.Condition(filter=filter_pb2.Filter(must=[filter_pb2.Condition(key="a")]))]),
         "filter.must_not[0].filter.must[0]"),
    ],
)
def test_bad_protos_raise_invalid_filter(message: filter_pb2.Filter, text: str) -> None:
    with pytest.raises(InvalidFilter) as caught:
        filter_from_proto(message)
    assert text in str(caught.value)
