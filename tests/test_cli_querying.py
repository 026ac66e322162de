"""``paraseek search | classify | rerank`` against a live server."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from paraseek.cli.main import cli
from paraseek.server.testing import build_collection, demo_clips, running_server
from paraseek.storage import open_store


@pytest.fixture(scope="module")
def clips(tmp_path_factory):
    return demo_clips(tmp_path_factory.mktemp("clips"), count=8)


@pytest.fixture(scope="module")
def server(tmp_path_factory, model, clips):
    with open_store(tmp_path_factory.mktemp("data")) as store:
        build_collection(store, model, clips, "voices_v1", alias="voices")
        with running_server(store, model, read_token="cli-token") as server:
            yield server


def run(server, *args):
    result = CliRunner().invoke(cli, [*args, "--server", server.address, "--token", "cli-token"])
    return result


def test_search_table_and_json(server, clips):
    table = run(server, "search", "a calm low voice", "--where", "gender=female", "--top-k", "3", "--collection", "voices")
    assert table.exit_code == 0, table.output
    assert "3 hits from voices_v1" in table.output
    assert sum(c.path.name in table.output for c in clips if c.payload["gender"] == "female") == 3
    tags = {tag for tags in (("low-pitched", "high-pitched"), ("slow", "fast")) for tag in tags if tag in table.output}
    assert tags & {"low-pitched", "high-pitched"} and tags & {"slow", "fast"}
    data = json.loads(run(server, "search", "a calm low voice", "--where", "gender=female", "--top-k", "3",
                          "--collection", "voices", "--json").output)
    assert data["collection"] == "voices_v1" and len(data["hits"]) == 3
    assert all(hit["payload"]["gender"] == "female" for hit in data["hits"])
    assert set(data["hits"][0]["styles"]) == {"pitch", "speed"}


def test_search_options_reach_the_server(server, clips):
    grouped = json.loads(run(server, "search", "a voice", "--group-by", "speaker", "--not", "a fast voice",
                             "--like", str(clips[0].path), "--fields", "speaker", "--collection", "voices",
                             "--filter-json", '{"must": [{"key": "year", "range": {"gte": 2001}}]}', "--json").output)
    speakers = [hit["payload"]["speaker"] for hit in grouped["hits"]]
    assert sorted(speakers) == sorted({c.payload["speaker"] for c in clips if c.payload["year"] >= 2001})
    assert all(set(hit["payload"]) == {"speaker"} for hit in grouped["hits"])


def test_classify_and_rerank(server, clips):
    classified = run(server, "classify", str(clips[0].path), str(clips[1].path), "--styles", "calm,angry", "--json")
    assert classified.exit_code == 0, classified.output
    data = json.loads(classified.output)
    assert set(data) == {str(clips[0].path), str(clips[1].path)}
    assert {s["tag"] for s in data[str(clips[0].path)]["styles"]} == {"calm", "angry"}
    table = run(server, "classify", str(clips[2].path))
    assert "pitch" in table.output and "low-pitched" in table.output
    ranked = json.loads(run(server, "rerank", "a slow deep voice", *(str(c.path) for c in clips[:4]), "--json").output)
    assert sorted(r["index"] for r in ranked) == [0, 1, 2, 3]
    assert [r["score"] for r in ranked] == sorted((r["score"] for r in ranked), reverse=True)
    assert ranked[0]["file"] == str(clips[ranked[0]["index"]].path)


def test_errors_are_one_line_messages(server):
    bad = run(server, "search", "a voice", "--where", "colour=red", "--collection", "voices")
    assert bad.exit_code == 1
    assert "InvalidFilter" in bad.output and "Traceback" not in bad.output
    unauthenticated = CliRunner().invoke(cli, ["search", "a voice", "--server", server.address])
    assert unauthenticated.exit_code == 1 and "Unauthenticated" in unauthenticated.output


@pytest.mark.parametrize("command", ["search", "classify", "rerank", "serve"])
def test_help_shows_examples(command):
    result = CliRunner().invoke(cli, [command, "--help"])
    assert result.exit_code == 0
    assert "Examples:" in result.output and f"paraseek {command}" in result.output
