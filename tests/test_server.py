"""The gRPC server over loopback: every RPC, filters, grouping, steering, caching, batching, alias swaps."""

from __future__ import annotations

import gc
import importlib.metadata
import logging
import socket
import threading
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import grpc
import numpy as np
import pytest
from grpc_reflection.v1alpha.proto_reflection_descriptor_database import ProtoReflectionDescriptorDatabase
from threadpoolctl import threadpool_info, threadpool_limits

from paraseek.audio import load_audio
from paraseek.client import Client
from paraseek.errors import CollectionNotFound
from paraseek.model import ZERO_SHOT_PROMPT
from paraseek.model.understanding import candidate_phrases
from paraseek.server import SERVICE_NAME
from paraseek.server.testing import build_collection, running_server
from paraseek.storage import Hit, open_store
from paraseek.storage.pagecache import mapped_files
from paraseek.storage.shards import opened


@pytest.fixture(scope="module")
def server(store, model):
    with running_server(store, model, max_wait_ms=30.0) as server:
        yield server


@pytest.fixture(scope="module")
def client(server):
    with Client(server.address, timeout=20) as client:
        yield client


@pytest.fixture(scope="module")
def clip_vectors(model, clips):
    """Reference embeddings of the demo clips, by point id."""
    waves = [load_audio(clip.path) for clip in clips]
    vectors = model.embed_audio([w for w, _ in waves], [sr for _, sr in waves])
    return {clip.id: vector for clip, vector in zip(clips, vectors, strict=True)}


def brute_force(clip_vectors, query, ids=None):
    """Point ids by cosine with ``query``, best first, and their scores."""
    ids = list(clip_vectors) if ids is None else ids
    scores = {i: float(clip_vectors[i] @ query) for i in ids}
    order = sorted(ids, key=lambda i: -scores[i])
    return order, scores


def unit(vector):
    return vector / np.linalg.norm(vector)


def test_search_ranks_like_brute_force_and_explains_hits(client, model, clip_vectors):
    result = client.search("a low-pitched slow voice", collection="voices", top_k=5, explain_top=2)
    assert result.collection == "voices_v1"
    assert result.model == model.name
    query = model.embed_text(["a low-pitched slow voice"])[0]
    order, scores = brute_force(clip_vectors, query)
    assert [hit.id for hit in result] == order[:5]
    for hit in result:
        assert hit.score == pytest.approx(scores[hit.id], abs=1e-4)
        assert set(hit.payload) == {"gender", "speaker", "duration", "year", "studio", "path"}
        assert set(hit.styles) == set(model.style_groups())
        for group, tags in hit.styles.items():
            prompts = model.embed_text([ZERO_SHOT_PROMPT.format(t) for t in model.style_groups()[group]])
            expected = sorted(zip(model.style_groups()[group], prompts @ clip_vectors[hit.id], strict=True), key=lambda p: -p[1])
            assert [t.tag for t in tags] == [t for t, _ in expected][:2]
            assert tags[0].score == pytest.approx(float(expected[0][1]), abs=1e-4)
    assert isinstance(result.hits[0].payload["year"], int) and isinstance(result.hits[0].payload["studio"], bool)


def test_explanations_of_all_hits_at_once_match_one_by_one(server, clip_vectors):
    served = server.engine.models.default
    hits = [Hit(id=key, score=0.0, payload={}, vector=vector) for key, vector in clip_vectors.items()]
    hits.insert(1, Hit(id="no-vector", score=0.0, payload={}))
    for top in (0, 1, 3, None):
        together = served.explain_hits(hits, top)
        assert together[1] == {}
        for hit, styles in zip(hits, together, strict=True):
            if hit.vector is not None:
                alone = served.explain(hit.vector, top)
                assert {g: [t for t, _ in tags] for g, tags in styles.items()} == {
                    g: [t for t, _ in tags] for g, tags in alone.items()}
                assert all(score == pytest.approx(alone[g][i][1], abs=1e-6)
                           for g, tags in styles.items() for i, (_, score) in enumerate(tags))


def test_structured_filter_and_where_string_select_the_same_clips(client, clips):
    where = client.search("a voice", collection="voices", where="gender=female duration<1.5", top_k=50)
    structured = client.search("a voice", collection="voices", top_k=50, filter={"must": [
        {"key": "gender", "match": "female"}, {"key": "duration", "range": {"lt": 1.5}}]})
    expected = {c.id for c in clips if c.payload["gender"] == "female" and c.payload["duration"] < 1.5}
    assert expected and {h.id for h in where} == expected
    assert [h.id for h in structured] == [h.id for h in where]
    both = client.search("a voice", collection="voices", where="year>=2005", top_k=50,
                         filter={"must": [{"key": "gender", "match": "female"}],
                                 "must_not": [{"key": "speaker", "match_any": ["spk1"]}]})
    assert {h.id for h in both} == {c.id for c in clips if c.payload["gender"] == "female"
                                    and c.payload["year"] >= 2005 and c.payload["speaker"] != "spk1"}
    flagged = client.search("a voice", collection="voices", where="studio=true", top_k=50)
    assert {h.id for h in flagged} == {c.id for c in clips if c.payload["studio"]}


def test_group_by_returns_the_best_hit_per_speaker(client, model, clips, clip_vectors):
    result = client.search("a fast high-pitched voice", collection="voices", group_by="speaker", top_k=10)
    speakers = [hit.payload["speaker"] for hit in result]
    assert sorted(speakers) == sorted({c.payload["speaker"] for c in clips})
    order, _ = brute_force(clip_vectors, model.embed_text(["a fast high-pitched voice"])[0])
    speaker_of = {c.id: c.payload["speaker"] for c in clips}
    best = {}
    for point_id in order:
        best.setdefault(speaker_of[point_id], point_id)
    assert {hit.id for hit in result} == set(best.values())


def test_payload_fields_and_score_threshold(client):
    result = client.search("a voice", collection="voices", fields=["speaker", "year"], top_k=3)
    assert all(set(hit.payload) == {"speaker", "year"} for hit in result)
    scores = [h.score for h in client.search("a voice", collection="voices", top_k=12)]
    cut = (scores[3] + scores[4]) / 2
    assert len(client.search("a voice", collection="voices", top_k=12, score_threshold=cut)) == 4
    assert client.search("a voice", collection="voices", explain_top=0).hits[0].styles == {}


def test_negative_descriptions_steer_the_query(client, model, clip_vectors):
    result = client.search("a slow voice", collection="voices", negatives={"a low-pitched voice": 0.8}, top_k=12)
    text, negative = model.embed_text(["a slow voice", "a low-pitched voice"])
    order, scores = brute_force(clip_vectors, unit(text - 0.8 * negative))
    assert [hit.id for hit in result] == order
    assert [hit.score for hit in result] == pytest.approx([scores[i] for i in order], abs=1e-4)
    default_weight = client.search("a slow voice", collection="voices", negatives=["a low-pitched voice"], top_k=3)
    assert default_weight.hits[0].score == pytest.approx(float(clip_vectors[default_weight.hits[0].id]
                                                                @ unit(text - 0.5 * negative)), abs=1e-4)


def test_example_clip_combines_with_the_description(client, model, clips, clip_vectors):
    example = clips[3]
    result = client.search("a deeper voice", collection="voices", like=example.path, like_weight=0.3, top_k=12)
    text = model.embed_text(["a deeper voice"])[0]
    order, _ = brute_force(clip_vectors, unit(0.3 * clip_vectors[example.id] + 0.7 * text))
    assert [hit.id for hit in result] == order
    by_point = client.search("a deeper voice", collection="voices", like_point=example.id, like_weight=0.3, top_k=11)
    assert [hit.id for hit in by_point] == [point_id for point_id in order if point_id != example.id]
    kept = client.search("a deeper voice", collection="voices", like_point=example.id, like_weight=0.3, top_k=12,
                         include_example=True)
    assert [hit.id for hit in kept] == order
    only_clip = client.search(collection="voices", like=example.path.read_bytes(), top_k=1)
    assert only_clip.hits[0].id == example.id and only_clip.hits[0].score == pytest.approx(1.0, abs=1e-4)


def test_search_by_audio(client, clips, clip_vectors):
    by_bytes = client.search_by_audio(clips[5].path.read_bytes(), collection="voices", top_k=3)
    assert by_bytes.hits[0].id == clips[5].id
    by_point = client.search_by_audio(point_id=clips[5].id, collection="voices", top_k=3, where="gender=female")
    order, _ = brute_force(clip_vectors, clip_vectors[clips[5].id],
                           [c.id for c in clips if c.payload["gender"] == "female" and c.id != clips[5].id])
    assert [hit.id for hit in by_point] == order[:3]


def test_classify_default_groups_and_custom_styles(client, model, clips, clip_vectors):
    groups = client.classify(clips[0].path)
    expected = model.classify(clip_vectors[clips[0].id][None, :])
    assert set(groups) == set(model.style_groups())
    for group, scores in groups.items():
        tags = model.style_groups()[group]
        assert [s.tag for s in scores] == [tags[i] for i in np.argsort(-expected[group][0], kind="stable")]
        assert max(s.score for s in scores) == pytest.approx(float(expected[group][0].max()), abs=1e-4)
    custom = client.classify(point_id=clips[0].id, collection="voices", styles=["angry", "calm", "sleepy"])
    reference = model.classify(clip_vectors[clips[0].id][None, :], {"styles": ["angry", "calm", "sleepy"]})["styles"][0]
    assert list(custom) == ["styles"]
    assert [s.score for s in custom["styles"]] == pytest.approx(sorted(reference.tolist(), reverse=True), abs=1e-4)


def test_rerank_orders_candidates_by_cosine(client, model, clips, clip_vectors):
    candidates = clips[:6]
    ranked = client.rerank("an expressive fast voice", [c.path for c in candidates])
    text = model.embed_text(["an expressive fast voice"])[0]
    scores = [float(clip_vectors[c.id] @ text) for c in candidates]
    assert [r.index for r in ranked] == sorted(range(6), key=lambda i: -scores[i])
    assert [r.score for r in ranked] == pytest.approx(sorted(scores, reverse=True), abs=1e-4)


def test_embed_text_and_audio_match_the_model(client, model, clips, clip_vectors):
    texts = client.embed_text(["a calm voice", "an angry voice"])
    np.testing.assert_allclose(texts, model.embed_text(["a calm voice", "an angry voice"]), atol=1e-5)
    audio = client.embed_audio([clips[1].path], point_ids=[clips[2].id], collection="voices")
    np.testing.assert_allclose(audio[0], clip_vectors[clips[1].id], atol=1e-5)
    np.testing.assert_allclose(audio[1], clip_vectors[clips[2].id], atol=1e-5)


def test_list_and_describe_collections(client, model):
    [info] = client.list_collections()
    assert info.name == "voices_v1" and info.aliases == ["voices"] and info.count == 12 and info.dim == 32
    assert info.model == model.name and info.model_fingerprint == model.fingerprint
    assert info.payload_schema["duration"] == "float" and info.payload_schema["speaker"] == "keyword"
    assert client.describe_collection("voices") == info
    server_info = client.server_info()
    assert server_info.model == model.name and server_info.style_groups == model.style_groups()
    assert server_info.version == importlib.metadata.version("paraseek") != ""


def test_repeated_text_is_served_from_the_cache(client, server):
    hits_before = server.metrics.value("paraseek_text_cache_lookups_total", {"result": "hit"})
    misses_before = server.metrics.value("paraseek_text_cache_lookups_total", {"result": "miss"})
    text = "a text seen once before"
    first = client.search(text, collection="voices")
    misses_after_first = server.metrics.value("paraseek_text_cache_lookups_total", {"result": "miss"})
    second = client.search(text, collection="voices")
    assert not first.text_cached and second.text_cached
    assert [h.id for h in first] == [h.id for h in second]
    assert second.query == first.query
    # the description and each of its phrases (words and adjacent pairs) are looked up once per search
    words, pairs = candidate_phrases(text)
    lookups = 1 + len(words) + len(pairs)
    assert server.metrics.value("paraseek_text_cache_lookups_total", {"result": "hit"}) >= hits_before + lookups
    assert misses_before < misses_after_first <= misses_before + lookups
    assert server.metrics.value("paraseek_text_cache_lookups_total", {"result": "miss"}) == misses_after_first


def test_concurrent_queries_share_encoder_calls(server, client, model):
    calls_before = server.metrics.value("paraseek_text_batch_size_count")
    texts_before = server.metrics.value("paraseek_text_batch_size_sum")
    encoder_seconds = ("paraseek_text_encoder_seconds_total", {"model": model.name})
    encoding_before = server.metrics.value(*encoder_seconds)
    started = time.perf_counter()
    texts = [f"concurrent query number {i}" for i in range(24)]
    barrier = threading.Barrier(len(texts))

    def query(text):
        barrier.wait()
        return client.search(text, collection="voices", top_k=1)

    with ThreadPoolExecutor(len(texts)) as pool:
        results = list(pool.map(query, texts))
    calls = server.metrics.value("paraseek_text_batch_size_count") - calls_before
    embedded = server.metrics.value("paraseek_text_batch_size_sum") - texts_before
    # every description once, and the phrases they share at least once (two requests may both miss one)
    phrases = {phrase for text in texts for part in candidate_phrases(text) for phrase in part}
    assert len(texts) + len(phrases) <= embedded <= len(texts) * (1 + len(phrases))
    assert calls < len(texts)  # mean batch size > 1
    encoding = server.metrics.value(*encoder_seconds) - encoding_before
    assert 0 < encoding <= time.perf_counter() - started  # one encoder call at a time, each counted
    expected = model.embed_text(texts)
    for text, result, vector in zip(texts, results, expected, strict=True):
        assert result.hits[0].score == pytest.approx(float(server.store.retrieve(
            "voices", [result.hits[0].id], with_vectors=True)[0].vector @ vector), abs=1e-4), text


def test_queries_follow_an_alias_swap(tmp_path, model, clips):
    with open_store(tmp_path / "data") as store:
        build_collection(store, model, clips, "swap_v1", alias="swap", extra_payload={"version": 1})
        build_collection(store, model, clips, "swap_v2", extra_payload={"version": 2})
        with running_server(store, model) as server, Client(server.address, timeout=20) as client:
            assert client.search("a voice", collection="swap").hits[0].payload["version"] == 1
            seen, errors, done = set(), [], threading.Event()

            def keep_querying():
                while not done.is_set():
                    try:
                        result = client.search("a voice", collection="swap", top_k=3)
                        seen.update((result.collection, h.payload["version"]) for h in result)
                    except Exception as error:  # noqa: BLE001 - collected and asserted below
                        errors.append(error)

            threads = [threading.Thread(target=keep_querying) for _ in range(3)]
            for thread in threads:
                thread.start()
            for target in ["swap_v2", "swap_v1", "swap_v2"] * 3:
                store.set_alias("swap", target)
            done.set()
            for thread in threads:
                thread.join()
            assert errors == []
            assert seen <= {("swap_v1", 1), ("swap_v2", 2)}
            result = client.search("a voice", collection="swap")
            assert result.collection == "swap_v2" and result.hits[0].payload["version"] == 2


def test_the_default_collection_is_open_and_read_ahead_before_the_server_reports_ready(tmp_path, model, clips,
                                                                                      caplog):
    with open_store(tmp_path / "data") as store:
        build_collection(store, model, clips, "ready_v1", alias="ready")
    shard_dir = tmp_path / "data" / "collections" / "ready_v1"
    assert opened(shard_dir) is None
    caplog.set_level(logging.INFO, logger="paraseek.server")
    with open_store(tmp_path / "data") as store, running_server(store, model, default_collection="ready") as server:
        entry = opened(shard_dir)
        assert entry is not None
        assert entry.warmer.wait(0)  # read ahead before serving, so first queries do not share the disk with it
        [record] = [record for record in caplog.records if record.getMessage() == "default collection open"]
        mapped_bytes = sum(path.stat().st_size for path in mapped_files(shard_dir / "shard"))
        assert mapped_bytes > 0 and record.read_ahead_bytes == mapped_bytes
        with Client(server.address, timeout=20) as client:
            assert client.search("a voice", top_k=2).collection == "ready_v1"
    with (open_store(tmp_path / "data") as store, running_server(store, model, default_collection="absent") as server,
          Client(server.address, timeout=20) as client):  # serving; the missing default is reported per request
        with pytest.raises(CollectionNotFound):
            client.search("a voice")
        assert client.search("a voice", collection="ready", top_k=1).hits


def test_numpy_runs_one_blas_thread_per_request_while_the_server_runs(tmp_path, model):
    def blas_threads() -> set[int]:
        return {pool["num_threads"] for pool in threadpool_info() if pool["user_api"] == "blas"}

    with threadpool_limits(limits=2, user_api="blas"), open_store(tmp_path / "data") as store:
        assert blas_threads() == {2}
        with running_server(store, model):
            assert blas_threads() == {1}
        assert blas_threads() == {2}  # given back when the server stops


def test_start_up_objects_stay_out_of_full_collections_while_the_server_runs(tmp_path, model):
    with open_store(tmp_path / "data") as store:
        with running_server(store, model):
            frozen = gc.get_freeze_count()
            assert frozen > 10_000  # the modules and the model, not walked by the collector's full passes
        assert gc.get_freeze_count() == 0  # back under the collector once the server stops


def test_reflection_lists_the_services(server):
    with grpc.insecure_channel(server.address) as channel:
        services = ProtoReflectionDescriptorDatabase(channel).get_services()
    assert {SERVICE_NAME, "grpc.health.v1.Health"} <= set(services)


def test_metrics_are_served_over_http(store, model):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with running_server(store, model, metrics_address=f"127.0.0.1:{port}") as server:
        with Client(server.address) as client:
            client.search("a voice", collection="voices")
        body = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10).read().decode()
    assert 'paraseek_requests_total{code="OK",rpc="Search"} 1.0' in body
    assert 'paraseek_stage_seconds_count{rpc="Search",stage="encode"} 1.0' in body
    assert "paraseek_model_ready 1.0" in body


def test_phrases_stay_cached_when_the_query_cache_is_off(store, model):
    with running_server(store, model, cache_size=0) as uncached, Client(uncached.address) as client:
        text = "a breathy low-pitched voice, speaking slowly"
        first = client.search(text, collection="voices")
        embedded = uncached.metrics.value("paraseek_text_batch_size_sum")
        words, pairs = candidate_phrases(text)
        assert embedded >= 1 + len(words) + len(pairs)  # the description and each of its phrases, once
        again = client.search(text, collection="voices")
        # no query cache: the description is encoded again; its phrases come from the served model's own cache
        assert uncached.metrics.value("paraseek_text_batch_size_sum") - embedded == 1
        assert not again.text_cached and again.query == first.query
        assert [h.id for h in again] == [h.id for h in first]
