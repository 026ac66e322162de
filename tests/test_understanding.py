"""Query understanding with the shipped default model: what a description means to it, on every search surface."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner

from paraseek.cli.main import cli
from paraseek.client import Client, QueryUnderstanding
from paraseek.model import ZeroShotScorer, load_model
from paraseek.model.understanding import (
    CALIBRATION_EVERYDAY,
    MAX_QUERY_WORDS,
    QueryVocabulary,
    candidate_phrases,
    made_up_words,
)
from paraseek.server.testing import build_collection, demo_clips, running_server
from paraseek.storage import open_store
from paraseek.testing import tiny_paraspeechclap

DESCRIPTION = "a low-pitched, whispered zorblaxian voice"


def test_phrases_drop_function_words_and_keep_hyphenated_adjectives() -> None:
    words, pairs = candidate_phrases("A woman's VERY low-pitched voice, speaking slowly and quietly (zorblaxian!)")
    assert words == ["woman", "low-pitched", "slowly", "quietly", "zorblaxian"]
    assert pairs == []  # stopwords ("very", "and") and punctuation end each run of adjacent words
    assert candidate_phrases("calm, deep raspy") == (["calm", "deep", "raspy"], ["deep raspy"])
    assert candidate_phrases("low pitched") == (["low", "pitched"], ["low pitched"])
    assert candidate_phrases("the voice of a 40 year old") == (["year", "old"], ["year old"])
    assert candidate_phrases("  , 123 !") == ([], [])
    many, _ = candidate_phrases(" ".join(made_up_words(2 * MAX_QUERY_WORDS, seed=3)))
    assert len(many) == MAX_QUERY_WORDS


def test_made_up_words_are_seeded() -> None:
    assert made_up_words(8, seed=1) == made_up_words(8, seed=1) != made_up_words(8, seed=2)
    assert all(word.isalpha() and word.islower() for word in made_up_words(50))


@pytest.fixture(scope="module")
def model():  # type: ignore[no-untyped-def]
    return load_model()


@pytest.fixture(scope="module")
def vocabulary(model) -> QueryVocabulary:  # type: ignore[no-untyped-def]
    return QueryVocabulary(ZeroShotScorer(model), model.embed_text)


def read(vocabulary: QueryVocabulary, model, text: str):  # type: ignore[no-untyped-def]
    words, pairs = candidate_phrases(text)
    return vocabulary.read(words, pairs, model.embed_text(vocabulary.texts(words + pairs)))


def test_threshold_is_calibrated_deterministically_between_nonsense_and_the_tags(model, vocabulary) -> None:  # type: ignore[no-untyped-def]
    assert sorted(vocabulary.tags) == sorted({tag for tags in model.style_groups().values() for tag in tags})
    assert QueryVocabulary(ZeroShotScorer(model), model.embed_text).threshold == vocabulary.threshold
    tags = [score for _, score in vocabulary.best(model.embed_text(vocabulary.texts(vocabulary.tags)))]
    everyday = [score for _, score in vocabulary.best(model.embed_text(vocabulary.texts(list(CALIBRATION_EVERYDAY))))]
    assert max(everyday) > vocabulary.threshold > 0  # a quantile of the nonsense scores, not their maximum
    assert min(tags) > vocabulary.threshold + 0.05  # every tag is understood, with room to spare


def test_trained_styles_are_understood_and_made_up_words_are_not(model, vocabulary) -> None:  # type: ignore[no-untyped-def]
    for style in ("low-pitched", "whispered"):
        reading = read(vocabulary, model, style)
        assert reading.unknown == [] and reading.understood[0][0] == style and reading.understood[0][1] > 0.99
    assert read(vocabulary, model, "zorblaxian").understood == []
    assert read(vocabulary, model, "zorblaxian").unknown == ["zorblaxian"]
    mixed = read(vocabulary, model, DESCRIPTION)
    assert [style for style, _ in mixed.understood] == ["whispered", "low-pitched"] or \
        [style for style, _ in mixed.understood] == ["low-pitched", "whispered"]
    assert mixed.unknown == ["zorblaxian"]
    assert [score for _, score in mixed.understood] == sorted((score for _, score in mixed.understood), reverse=True)


def test_users_words_map_to_the_trained_styles(model, vocabulary) -> None:  # type: ignore[no-untyped-def]
    """Synonyms and spaced spellings land on the model's own tags; a pair is read as one phrase."""
    for text, style in [("low pitched", "low-pitched"), ("deep", "low-pitched"), ("rapid", "fast"),
                        ("hushed", "quiet"), ("a woman", "female"), ("monotone", "monotonous")]:
        reading = read(vocabulary, model, text)
        assert [s for s, _ in reading.understood] == [style] and reading.unknown == [], (text, reading)


def test_a_scene_phrase_is_read_as_its_adjective(model, vocabulary) -> None:  # type: ignore[no-untyped-def]
    """The place a description names ("room", "line") is no unknown word: its style is its adjective's."""
    assert candidate_phrases("in an echoey room, on a telephone line, with background noise") == (
        ["echoey", "telephone", "noise"], [])
    for text, styles in [("a loud voice in an echoey room", {"loud", "echoey"}),
                         ("speaking slowly over a muffled telephone line", {"slow", "muffled", "telephone-like"}),
                         ("a voice in a large hall", {"echoey"})]:
        reading = read(vocabulary, model, text)
        assert {s for s, _ in reading.understood} == styles and reading.unknown == [], (text, reading)
    assert read(vocabulary, model, "an angry voice in an echoey room").unknown == ["angry"]


@pytest.fixture(scope="module")
def server(tmp_path_factory, model):  # type: ignore[no-untyped-def]
    clips = demo_clips(tmp_path_factory.mktemp("clips"), count=6)
    with open_store(tmp_path_factory.mktemp("data")) as store:
        build_collection(store, model, clips, "voices_v1", alias="voices")
        with running_server(store, model, http_address="127.0.0.1:0") as server:
            yield server


def test_grpc_and_http_searches_report_the_reading(server, model, vocabulary) -> None:  # type: ignore[no-untyped-def]
    expected = read(vocabulary, model, DESCRIPTION)
    with Client(server.address, timeout=60) as client:
        result = client.search(DESCRIPTION, collection="voices", top_k=2)
        assert [(u.style, pytest.approx(u.score, abs=1e-5)) for u in result.query.understood] == expected.understood
        assert result.query.unknown == ["zorblaxian"]
        assert result.query.to_dict()["unknown"] == ["zorblaxian"]
        example = result.hits[0].id
        assert client.search(like_point=example, collection="voices").query == QueryUnderstanding()
        assert client.search_by_audio(point_id=example, collection="voices").query == QueryUnderstanding()
        info = client.server_info()
        assert info.understanding_threshold == pytest.approx(vocabulary.threshold)
        assert info.style_groups == model.style_groups()
    with httpx.Client(base_url=server.http.url, timeout=60) as http:
        body = http.post("/api/v1/search", json={"collection": "voices", "text": DESCRIPTION, "top_k": 2}).json()
        assert body["query"]["unknown"] == ["zorblaxian"]
        assert [u["style"] for u in body["query"]["understood"]] == [style for style, _ in expected.understood]
        assert http.get("/api/v1/info").json()["understanding_threshold"] == pytest.approx(vocabulary.threshold)


def test_cli_prints_the_reading_under_the_hits_and_in_json(tmp_path: Path, model) -> None:  # type: ignore[no-untyped-def]
    clips = demo_clips(tmp_path / "clips", count=4)
    data = tmp_path / "data"
    with open_store(data) as store:
        build_collection(store, model, clips, "voices_v1", alias="voices")

    def search(*args: str) -> str:
        result = CliRunner().invoke(cli, ["search", *args, "--data-dir", str(data), "--collection", "voices",
                                          "--top-k", "2"])
        assert result.exit_code == 0, result.output
        return result.stdout

    table = search(DESCRIPTION).splitlines()
    assert table[-1].startswith("understood as: ") and table[-1].endswith("; not understood: 'zorblaxian'")
    assert "low-pitched 1.00" in table[-1] and "whispered 1.00" in table[-1]
    for flag in (["--json"], ["--format", "json"]):
        query = json.loads(search(DESCRIPTION, *flag))["query"]
        assert set(query) == {"understood", "unknown"} and query["unknown"] == ["zorblaxian"]
        assert {u["style"] for u in query["understood"]} == {"low-pitched", "whispered"}
        assert all(set(u) == {"style", "score"} and isinstance(u["score"], float) for u in query["understood"])
    first = json.loads(search(DESCRIPTION, "--json"))["hits"][0]["id"]
    assert json.loads(search("--like-id", first[:8], "--json"))["query"] == {"understood": [], "unknown": []}


def test_models_lists_each_vocabulary() -> None:
    result = CliRunner().invoke(cli, ["models"])
    assert result.exit_code == 0, result.output
    assert "    pitch:        low-pitched, high-pitched" in result.output.splitlines()
    listed = json.loads(CliRunner().invoke(cli, ["models", "--json"]).stdout)
    assert all(entry["style_groups"] for entry in listed)


def test_a_model_without_styles_understands_no_word() -> None:
    model = tiny_paraspeechclap()
    vocabulary = QueryVocabulary(ZeroShotScorer(model, groups={}), model.embed_text)
    assert vocabulary.tags == [] and vocabulary.threshold == 1.0
    words, pairs = candidate_phrases("low pitched")
    assert vocabulary.read(words, pairs, model.embed_text(vocabulary.texts(words + pairs))).unknown == ["low", "pitched"]
