"""One server, many models: each collection is served with the model it was built with, within a memory budget."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time

import grpc
import httpx
import pytest
import torch
from click.testing import CliRunner

from paraseek import errors
from paraseek.cli.main import cli
from paraseek.client import Client
from paraseek.model import load_model
from paraseek.server.config import ServerConfig
from paraseek.server.metrics import Metrics
from paraseek.server.models import ModelPool, source_loader
from paraseek.server.testing import build_collection, demo_clips, running_server, serve_process
from paraseek.storage import open_store
from paraseek.storage.catalog import BuildRecord, ModelSignature, create_collection
from paraseek.v1 import paraseek_pb2, paraseek_pb2_grpc

#: The precision a server loads its collections' models in by default.
SERVED_DTYPE = ServerConfig().dtype


@pytest.fixture(scope="module")
def clips(tmp_path_factory):
    return demo_clips(tmp_path_factory.mktemp("clips"), count=6)


@pytest.fixture(scope="module")
def mini():
    return load_model()


@pytest.fixture(scope="module")
def tiny_checkpoints(tiny_model_files, tmp_path_factory):
    """The tiny model's config and two checkpoints with different weights: two models of one name."""
    config, first = tiny_model_files
    state = torch.load(first, weights_only=True)
    state["audio_projection.layer_norm.bias"] += 0.5
    second = tmp_path_factory.mktemp("tiny-b") / "tiny-b.pt"
    torch.save(state, second)
    return config, first, second


def server_info(address: str) -> paraseek_pb2.ServerInfo:
    with grpc.insecure_channel(address) as channel:
        return paraseek_pb2_grpc.ParaseekStub(channel).GetServerInfo(paraseek_pb2.GetServerInfoRequest(), timeout=20)


def embedding_model(address: str) -> str:
    """The model that answers EmbedText (which names no collection)."""
    with grpc.insecure_channel(address) as channel:
        stub = paraseek_pb2_grpc.ParaseekStub(channel)
        return stub.EmbedText(paraseek_pb2.EmbedTextRequest(texts=["a voice"]), timeout=20).model


def test_reindex_onto_another_model_moves_live_queries_without_a_failed_request(tmp_path, clips, mini,
                                                                                tiny_model_files):
    data = tmp_path / "data"
    folder = clips[0].path.parent
    runner = CliRunner()
    common = ["index", str(folder), "--collection", "voices", "--data-dir", str(data), "--workers", "0",
              "--threads", "1", "--json"]
    first = runner.invoke(cli, common)  # the default model, also the server's
    assert first.exit_code == 0, first.output
    text = "a calm low voice"
    with open_store(data) as store, running_server(store, mini, http_address="127.0.0.1:0") as server, \
            Client(server.address, timeout=20) as client:
        assert client.search(text, collection="voices").model == mini.name
        seen: list[tuple[str, str]] = []
        failures: list[BaseException] = []
        swapped, stop = threading.Event(), threading.Event()

        def keep_searching() -> None:
            while not stop.is_set():
                try:
                    result = client.search(text, collection="voices", top_k=3)
                except Exception as error:  # noqa: BLE001 - collected and asserted below
                    failures.append(error)
                    continue
                seen.append((result.collection, result.model))
                if result.collection == "voices_v2":
                    swapped.set()

        searcher = threading.Thread(target=keep_searching)
        searcher.start()
        try:
            config, checkpoint = tiny_model_files
            reindex = runner.invoke(cli, [*common, "--reindex", "--model", str(config), "--checkpoint", str(checkpoint)])
            assert reindex.exit_code == 0, reindex.output
            assert swapped.wait(120)
        finally:
            stop.set()
            searcher.join()
        summary = json.loads(reindex.stdout.strip().splitlines()[-1])
        assert (summary["collection"], summary["swapped"]) == ("voices_v2", True)
        assert failures == []
        assert set(seen) == {("voices_v1", mini.name), ("voices_v2", "paraspeechclap-tiny")}
        first_new = seen.index(("voices_v2", "paraspeechclap-tiny"))
        assert all(entry == ("voices_v2", "paraspeechclap-tiny") for entry in seen[first_new:])

        # the query was embedded by the new model: its score is the new model's text vector . the stored vector
        tiny = load_model(config=config, checkpoint=checkpoint, dtype=SERVED_DTYPE)  # as the server loaded it
        result = client.search(text, collection="voices", top_k=1)
        stored = store.retrieve("voices_v2", [result.hits[0].id], with_vectors=True)[0].vector
        assert result.hits[0].score == pytest.approx(float(tiny.embed_text([text])[0] @ stored), abs=1e-4)
        record = BuildRecord.of(store.describe("voices_v2"))
        assert (record.model_config, record.model_checkpoint) == (str(config.resolve()), str(checkpoint.resolve()))

        info = server_info(server.address)
        listed = {(m.name, m.fingerprint): m for m in info.models}
        assert [m.is_default for m in info.models] == [True, False]
        assert listed[mini.name, mini.fingerprint].collections == ["voices_v1"]
        new = listed["paraspeechclap-tiny", tiny.fingerprint]
        assert new.loaded and new.collections == ["voices_v2"] and new.memory_bytes == tiny.memory_bytes
        assert info.model == mini.name  # collection-less calls keep the default model
        assert embedding_model(server.address) == mini.name
        http_info = httpx.get(f"{server.http.url}/api/v1/info", timeout=20).json()
        assert [(m["name"], m["loaded"]) for m in http_info["models"]] == [(mini.name, True),
                                                                          ("paraspeechclap-tiny", True)]


def test_a_collection_whose_model_cannot_be_loaded_is_a_typed_failed_precondition(tmp_path, clips, mini,
                                                                                   tiny_model_files):
    config, _ = tiny_model_files
    with open_store(tmp_path / "data") as store:
        build_collection(store, mini, clips, "unknown",
                         recorded_as=ModelSignature("no-such-model", "ab" * 32, mini.embedding_dim))
        missing = BuildRecord(model="paraspeechclap-tiny", model_fingerprint="cd" * 32, embedding_dim=32,
                              model_config=str(config), model_checkpoint=str(tmp_path / "gone.pt"))
        create_collection(store, "offline", missing, payload_schema={})
        with running_server(store, mini) as server, Client(server.address, timeout=20) as client:
            for name, fragment in (("unknown", "no-such-model"), ("offline", "gone.pt")):
                for _ in range(2):  # the second answer comes from the remembered failure
                    with pytest.raises(errors.ModelUnavailable, match=fragment):
                        client.search("a voice", collection=name)
            assert client.facet("unknown", ["gender"]).facets  # calls that need no model still answer
            listed = {m.name: m for m in server_info(server.address).models}
            assert not listed["no-such-model"].loaded and listed["no-such-model"].collections == ["unknown"]


def test_the_budget_evicts_the_least_recently_used_model_no_request_holds(tmp_path, clips, mini, tiny_checkpoints):
    config_file, first, second = tiny_checkpoints
    tiny_a = load_model(config=config_file, checkpoint=first, dtype=SERVED_DTYPE)  # the size the pool loads
    tiny_b = load_model(config=config_file, checkpoint=second, dtype=SERVED_DTYPE)
    assert tiny_a.fingerprint != tiny_b.fingerprint
    with open_store(tmp_path / "data") as store:
        build_collection(store, tiny_a, clips, "built_a")
        build_collection(store, tiny_b, clips, "built_b")
        info_a, info_b = store.describe("built_a"), store.describe("built_b")
        # room for the default model and one tiny model, not two
        budget_mb = int((mini.memory_bytes + 1.5 * tiny_a.memory_bytes) // 2**20) + 1
        config = ServerConfig(model_memory_mb=budget_mb, batching=False)
        pool = ModelPool(mini, config, Metrics(), source_loader(config))
        try:
            held_a = pool.acquire(info_a)
            assert held_a.signature == ModelSignature.of(tiny_a)
            with pytest.raises(errors.ResourceExhausted, match="budget"):
                pool.acquire(info_b)  # the only model it could evict is in use
            pool.release(held_a)
            held_b = pool.acquire(info_b)
            assert held_b.signature == ModelSignature.of(tiny_b)
            loaded = {(s.signature.fingerprint, s.loaded) for s in pool.status([info_a, info_b])}
            assert loaded == {(mini.fingerprint, True), (tiny_a.fingerprint, False), (tiny_b.fingerprint, True)}
            pool.release(held_b)
            assert pool.acquire(info_a).signature == ModelSignature.of(tiny_a)  # loaded again, b evicted
        finally:
            pool.close()
        with pytest.raises(errors.FailedPrecondition, match="budget"):
            ModelPool(mini, ServerConfig(model_memory_mb=1), Metrics(), source_loader(config))


def test_a_recorded_source_that_now_loads_other_weights_is_a_model_mismatch(tmp_path, clips, mini, tiny_checkpoints):
    config_file, first, second = tiny_checkpoints
    checkpoint = tmp_path / "tiny.pt"
    checkpoint.write_bytes(first.read_bytes())
    with open_store(tmp_path / "data") as store:
        build_collection(store, load_model(config=config_file, checkpoint=checkpoint), clips, "built")
        checkpoint.write_bytes(second.read_bytes())  # the recorded file now holds other weights
        with running_server(store, mini) as server, Client(server.address, timeout=20) as client, \
                pytest.raises(errors.ModelMismatch, match="no longer holds"):
            client.search("a voice", collection="built")


def test_a_reindex_in_another_process_moves_live_queries_without_a_failed_request(tmp_path, clips, mini,
                                                                                  tiny_model_files):
    """The deployment itself: ``paraseek serve`` keeps answering while ``paraseek index --reindex`` runs beside it."""
    config, checkpoint = tiny_model_files
    data = tmp_path / "data"
    index = [sys.executable, "-m", "paraseek.cli.main", "index", str(clips[0].path.parent), "--collection", "voices",
             "--data-dir", str(data), "--workers", "0"]
    subprocess.run([*index, "--model", str(config), "--checkpoint", str(checkpoint)], check=True, capture_output=True)
    models: list[str] = []
    failures: list[errors.ParaseekError] = []
    stop = threading.Event()
    with serve_process(data, tmp_path / "serve") as server, Client(server.address) as client:

        def search_continuously() -> None:
            while not stop.is_set():
                try:
                    models.append(client.search("a fast voice", collection="voices", top_k=2).model)
                except errors.ParaseekError as error:
                    failures.append(error)

        searcher = threading.Thread(target=search_continuously)
        searcher.start()
        try:
            reindex = subprocess.run([*index, "--reindex"], capture_output=True, text=True, timeout=300)  # the default
            deadline = time.monotonic() + 60
            while (not models or models[-1] != mini.name) and time.monotonic() < deadline:
                time.sleep(0.05)
        finally:
            stop.set()
            searcher.join()
    assert reindex.returncode == 0, reindex.stderr
    assert failures == []
    assert models[0] == "paraspeechclap-tiny"
    assert models[-1] == mini.name
    first_new = models.index(mini.name)
    assert set(models[first_new:]) == {mini.name}  # once moved, queries never go back
