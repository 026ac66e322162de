"""Paging, facets, points and audio over gRPC (a real server on loopback, the thin client, real audio)."""

from __future__ import annotations

import asyncio
import collections
import uuid

import pytest

from paraseek.client import AsyncClient, Client
from paraseek.errors import InvalidArgument, MediaUnavailable, PointNotFound
from paraseek.server.service import AUDIO_CHUNK_BYTES
from paraseek.server.testing import DemoClip, build_collection, demo_clips, running_server
from paraseek.storage import open_store
from paraseek.testing import tone, write_audio
from paraseek.v1 import paraseek_pb2


@pytest.fixture(scope="module")
def clips(tmp_path_factory):
    return demo_clips(tmp_path_factory.mktemp("clips"), count=24)


@pytest.fixture(scope="module")
def long_clip(tmp_path_factory):
    path = write_audio(tmp_path_factory.mktemp("long") / "long.wav", tone(20.0, 16000, 150.0))
    return DemoClip(path, str(uuid.uuid4()), {"speaker": "long", "path": str(path)})


@pytest.fixture(scope="module")
def server(tmp_path_factory, model, clips, long_clip):
    with open_store(tmp_path_factory.mktemp("data")) as store:
        build_collection(store, model, clips, "voices_v1", alias="voices")
        build_collection(store, model, clips[:2], "elsewhere", extra_payload={"path": "/nonexistent/clip.wav"})
        build_collection(store, model, [long_clip], "long")
        with running_server(store, model) as server:
            yield server


@pytest.fixture()
def client(server):
    with Client(server.address) as client:
        yield client


def ids(result) -> list[str]:
    return [hit.id for hit in result.hits]


@pytest.mark.parametrize("where", ["", "gender=female"])
def test_pages_add_up_to_the_top_of_the_ranking(client, where):
    best = client.search("a calm low voice", collection="voices", where=where, top_k=10, explain_top=0)
    first = client.search("a calm low voice", collection="voices", where=where, top_k=5, explain_top=0)
    second = client.search("a calm low voice", collection="voices", where=where, top_k=5, offset=5, explain_top=0)
    assert ids(first) + ids(second) == ids(best)
    assert len(set(ids(best))) == len(ids(best)) == 10


def test_offset_is_bounded(client):
    with pytest.raises(InvalidArgument, match="offset"):
        client.search("a voice", collection="voices", top_k=10, offset=9_991)
    assert client.search("a voice", collection="voices", top_k=10, offset=9_990).hits == []


def test_example_by_point_id_is_left_out_and_pages_stay_consistent(client, clips):
    example = clips[5].id
    ranked = client.search_by_audio(point_id=example, collection="voices", top_k=12, explain_top=0)
    assert example not in ids(ranked) and len(ranked) == 12
    pages = [client.search_by_audio(point_id=example, collection="voices", top_k=4, offset=offset, explain_top=0)
             for offset in (0, 4, 8)]
    assert [i for page in pages for i in ids(page)] == ids(ranked)
    kept = client.search_by_audio(point_id=example, collection="voices", top_k=3, include_example=True)
    assert kept[0].id == example
    mixed = client.search("a deep voice", like_point=example, collection="voices", top_k=23, explain_top=0)
    assert example not in ids(mixed) and len(mixed) == 23
    second = client.search("a deep voice", like_point=example, collection="voices", top_k=5, offset=5, explain_top=0)
    assert ids(second) == ids(mixed)[5:10]


def test_point_id_prefixes(client, clips):
    target = clips[7]
    prefix = target.id[:8]
    assert client.get_point(prefix, collection="voices").id == target.id
    by_prefix = client.search_by_audio(point_id=prefix, collection="voices", top_k=5, explain_top=0)
    assert ids(by_prefix) == ids(client.search_by_audio(point_id=target.id, collection="voices", top_k=5,
                                                        explain_top=0))
    with pytest.raises(InvalidArgument, match="ambiguous"):
        client.get_point(_shared_prefix(clips), collection="voices")
    unknown = next(p for p in ("0000", "ffff", "7777") if not any(c.id.startswith(p) for c in clips))
    with pytest.raises(PointNotFound, match=unknown):
        client.search_by_audio(point_id=unknown, collection="voices")
    with pytest.raises(InvalidArgument, match="UUID"):
        client.get_point("not-hex!", collection="voices")


def _shared_prefix(clips) -> str:
    """A prefix that at least two of the clips' ids share."""
    for length in range(4, 0, -1):
        counts = collections.Counter(c.id[:length] for c in clips)
        prefix, count = counts.most_common(1)[0]
        if count > 1:
            return prefix
    raise AssertionError("24 random ids share no first hex digit")


def test_facet_counts_match_manual_counts(client, clips):
    result = client.facet("voices", ["speaker", "studio", "year", "duration"], where="gender=female", limit=3)
    females = [c for c in clips if c.payload["gender"] == "female"]
    assert result.collection == "voices_v1" and result.complete and result.scanned == len(females)
    speakers = collections.Counter(c.payload["speaker"] for c in females)
    assert {v.value: v.count for v in result.facets["speaker"].values} == dict(speakers)
    studio = collections.Counter(c.payload["studio"] for c in females)
    assert {v.value: v.count for v in result.facets["studio"].values} == dict(studio)
    assert all(isinstance(v.value, bool) for v in result.facets["studio"].values)
    year = result.facets["year"]
    assert len(year.values) == 3 and all(isinstance(v.value, int) and v.count == 1 for v in year.values)
    assert year.other == len(females) - 3
    ranges = result.facets["duration"].ranges
    assert sum(r.count for r in ranges) == len(females) and ranges[-1].lt is None
    for r in ranges:
        assert r.count == sum(r.gte <= c.payload["duration"] and (r.lt is None or c.payload["duration"] < r.lt)
                              for c in females)
    everything = client.facet("voices")
    assert set(everything.facets) == {"gender", "speaker", "duration", "year", "studio", "path"}
    with pytest.raises(InvalidArgument, match="nope"):
        client.facet("voices", ["nope"])


def test_get_point_and_audio_bytes_equal_the_file(client, clips):
    clip = clips[3]
    point = client.get_point(clip.id, collection="voices")
    assert point.collection == "voices_v1" and point.payload == clip.payload
    assert client.get_audio(clip.id[:8], collection="voices") == clip.path.read_bytes()
    with pytest.raises(MediaUnavailable):
        client.get_audio(clips[0].id, collection="elsewhere")


def test_long_audio_streams_in_chunks(client, long_clip):
    assert long_clip.path.stat().st_size > 2 * AUDIO_CHUNK_BYTES
    assert client.get_audio(long_clip.id, collection="long") == long_clip.path.read_bytes()
    chunks = list(client._stub.GetAudio(paraseek_pb2.GetAudioRequest(collection="long", id=long_clip.id[:6])))
    assert len(chunks) > 2
    assert (chunks[0].content_type, chunks[0].size, chunks[0].id) == ("audio/wav", long_clip.path.stat().st_size,
                                                                      long_clip.id)


def test_async_client_joins_the_audio_stream(server, clips):
    async def fetch() -> tuple[bytes, int]:
        async with AsyncClient(server.address) as client:
            audio = await client.get_audio(clips[1].id, collection="voices")
            facets = await client.facet("voices", ["gender"])
            return audio, sum(v.count for v in facets.facets["gender"].values)

    audio, counted = asyncio.run(fetch())
    assert audio == clips[1].path.read_bytes() and counted >= len(clips)
