"""The thin client: no engine imports, typed results and errors, async calls, retries, filters."""

from __future__ import annotations

import asyncio
import socket
import subprocess
import sys
import textwrap
import threading
import time

import pytest

from paraseek import errors
from paraseek.client import AsyncClient, Client
from paraseek.client.protocol import channel_options
from paraseek.filter_proto import filter_from_proto, filter_to_proto
from paraseek.filters import Filter, Match, MatchAny, Range, filter_from_dict, parse_where
from paraseek.server import ParaseekServer, ServerConfig
from paraseek.server.testing import build_collection, demo_clips, running_server
from paraseek.storage import open_store


@pytest.fixture(scope="module")
def clips(tmp_path_factory):
    return demo_clips(tmp_path_factory.mktemp("clips"), count=8)


@pytest.fixture(scope="module")
def store(tmp_path_factory, model, clips):
    with open_store(tmp_path_factory.mktemp("data")) as store:
        build_collection(store, model, clips, "voices")
        yield store


@pytest.fixture(scope="module")
def server(store, model):
    with running_server(store, model, default_collection="voices") as server:
        yield server


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_client_and_query_cli_import_no_engine(server, clips):
    """Run the client and the filter codec where torch, transformers, qdrant and soundfile cannot be imported."""
    script = textwrap.dedent(f"""
        import sys
        for name in ("torch", "transformers", "qdrant_edge", "qdrant_client", "soundfile", "pyarrow"):
            sys.modules[name] = None
        from paraseek.client import Client
        from paraseek.filter_proto import filter_from_proto, filter_to_proto
        from paraseek.filters import parse_where
        import paraseek.cli.querying
        local = parse_where("gender=female year<2004")
        assert filter_from_proto(filter_to_proto(local)) == local
        with Client({server.address!r}) as client:
            result = client.search("a calm voice", where="gender=female", top_k=2)
            assert len(result) == 2 and all(hit.payload["gender"] == "female" for hit in result), result
            assert client.search("a calm voice", filter=local, top_k=2).hits
            assert client.classify({str(clips[0].path)!r})
        heavy = sorted(m for m in sys.modules if m.split(".")[:2] in (["paraseek", "model"], ["paraseek", "audio"],
                       ["paraseek", "storage"], ["paraseek", "server"], ["paraseek", "indexer"]))
        assert not heavy, heavy
        print("ok")
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok"


def test_default_collection_and_typed_results(server, clips):
    with Client(server.address) as client:
        result = client.search("a calm voice", top_k=3)
        assert result.collection == "voices" and len(result) == 3
        assert [h.score for h in result] == sorted((h.score for h in result), reverse=True)
        assert {h.id for h in result} <= {c.id for c in clips}


def test_async_client(server, clips):
    async def run():
        async with AsyncClient(server.address, timeout=20) as client:
            searches = await asyncio.gather(*(client.search(f"async query {i}", top_k=2) for i in range(6)))
            groups = await client.classify(clips[1].path, styles=["calm", "angry"])
            ranked = await client.rerank("calm", [c.path for c in clips[:3]])
            vectors = await client.embed_text(["a", "b", "c"])
            collections = await client.list_collections()
            with pytest.raises(errors.EmptyText):
                await client.search("")
            with pytest.raises(errors.CollectionNotFound):
                await client.describe_collection("missing")
            return searches, groups, ranked, vectors, collections

    searches, groups, ranked, vectors, collections = asyncio.run(run())
    assert all(len(s) == 2 for s in searches)
    assert [s.tag for s in groups["styles"]] in (["calm", "angry"], ["angry", "calm"])
    assert sorted(r.index for r in ranked) == [0, 1, 2]
    assert vectors.shape == (3, 32)
    assert [c.name for c in collections] == ["voices"]


def test_retries_until_the_server_comes_up(store, model):
    port = free_port()
    server = ParaseekServer(ServerConfig(address=f"127.0.0.1:{port}"), store=store, model_loader=lambda: model)
    starter = threading.Timer(0.5, server.start)
    starter.start()
    try:
        with Client(f"127.0.0.1:{port}", retries=8, backoff=0.1, timeout=30) as client:
            info = client.wait_ready(timeout=30)
            assert info.model == model.name
            assert len(client.search("a calm voice", collection="voices")) > 0
    finally:
        starter.join()
        server.stop(grace=0)


def test_unreachable_server_raises_unavailable():
    with Client(f"127.0.0.1:{free_port()}", retries=2, backoff=0.05, timeout=10) as client:
        started = time.monotonic()
        with pytest.raises(errors.Unavailable):
            client.list_collections()
        assert time.monotonic() - started < 10


def test_only_the_clients_own_policy_retries():
    """gRPC's built-in retries stay off: with them on, a call in flight when its server stops can
    hang while the process's memory grows without bound (see ``channel_options``)."""
    options = dict(channel_options(1 << 20))
    assert options["grpc.enable_retries"] == 0
    assert options["grpc.max_send_message_length"] == options["grpc.max_receive_message_length"] == 1 << 20


def test_filter_dicts_cross_the_wire_unchanged():
    data = {
        "must": [{"key": "gender", "match": "female"}, {"key": "year", "match": 2004},
                 {"key": "studio", "match": True}, {"key": "duration", "range": {"gte": 1.0, "lt": 8.0}},
                 {"key": "speaker", "match_any": ["spk1", "spk2"]}, {"key": "year", "match_any": [2001, 2002]},
                 {"key": "transcript", "text": "rain"}],
        "should": [{"filter": {"must": [{"key": "gender", "match": "male"}], "should": [], "must_not": []}}],
        "must_not": [{"key": "notes", "is_empty": True},
                     {"nested": "segments", "filter": {"must": [{"key": "label", "match": "noise"}],
                                                       "should": [], "must_not": []}}],
    }
    assert filter_from_proto(filter_to_proto(filter_from_dict(data))) == filter_from_dict(data)


@pytest.mark.parametrize("bad", [
    {"must": {"key": "gender", "match": "female"}},
    {"must": [{"key": "duration", "match": 1.5}]},
    {"must": [{"key": "speaker", "match_any": ["a", 1]}]},
    {"must": [{"key": "duration", "range": {"below": 3}}]},
    {"must": [{"key": "duration", "around": 3}]},
    {"must": [{"key": "year", "match": 2**63}]},
    {"must": [{"key": "year", "match_any": [1, -(2**63) - 1]}]},
    {"sometimes": []},
])
def test_malformed_filter_dicts_are_refused_before_sending(bad):
    """Nothing listens on the port: a refusal that is not Unavailable came from the client itself."""
    with Client(f"127.0.0.1:{free_port()}", retries=0, timeout=5) as client, pytest.raises(errors.InvalidFilter):
        client.search("a voice", filter=bad)


def test_async_client_raises_bad_arguments_when_awaited():
    async def run():
        async with AsyncClient(f"127.0.0.1:{free_port()}", retries=0, timeout=5) as client:
            pending = client.search("a voice", filter={"must": [{"key": "year", "match": 2**64}]})
            with pytest.raises(errors.InvalidFilter, match="64 bits"):
                await pending

    asyncio.run(run())


def test_integers_beyond_64_bits_are_invalid_filters(server):
    with Client(server.address) as client:
        for where in ("year=99999999999999999999999", "year in [1, 99999999999999999999999]", "year<-9223372036854775809"):
            with pytest.raises(errors.InvalidFilter, match="does not fit in 64 bits"):
                client.search("a voice", where=where)
        assert client.search("a voice", where="year<9223372036854775807", top_k=3).hits


def test_filter_objects_search_like_their_where_form(server):
    with Client(server.address) as client:
        by_where = client.search("a voice", where="gender=female year<2004", top_k=20)
        assert by_where.hits
        structured = Filter(must=[Match("gender", "female"), Range("year", lt=2004)])
        assert client.search("a voice", filter=structured, top_k=20).hits == by_where.hits
        either = client.search("a voice", filter=Filter(must=[MatchAny("gender", ("female", "male"))]), top_k=20)
        assert len(either) > len(by_where)
        assert parse_where("gender=female year<2004") == structured


def test_server_checks_filters_against_the_schema(server):
    with Client(server.address) as client:
        with pytest.raises(errors.InvalidFilter, match="unknown field"):
            client.search("a voice", filter={"must": [{"key": "colour", "match": "red"}]})
        both = client.search("a voice", where="gender=male", filter={"must": [{"key": "year", "range": {"lt": 2004}}]},
                             top_k=20)
        assert both.hits and all(h.payload["gender"] == "male" and h.payload["year"] < 2004 for h in both)
