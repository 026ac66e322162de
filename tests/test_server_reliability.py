"""Server reliability: bounded error details, busy addresses, metrics binding and auth, fair
text encoding, bounded shutdown and cancellation."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import grpc
import numpy as np
import pytest

from paraseek import errors
from paraseek.client import Client
from paraseek.errors import shorten
from paraseek.limits import MAX_ERROR_MESSAGE_CHARS
from paraseek.model import EmbeddingModel
from paraseek.server import ParaseekServer, ServerConfig
from paraseek.server.batching import MicroBatcher
from paraseek.server.testing import build_collection, demo_clips, running_server
from paraseek.storage import open_store
from paraseek.testing import WrappedModel, tiny_paraspeechclap_config
from paraseek.v1 import paraseek_pb2, paraseek_pb2_grpc


class SlowTextModel(WrappedModel):
    """The tiny model with a text encoder that takes ``seconds`` per call and counts its calls."""

    def __init__(self, inner: EmbeddingModel, seconds: float = 0.0) -> None:
        super().__init__(inner)
        self.seconds = seconds
        self.calls: list[int] = []

    def embed_text(self, texts):
        self.calls.append(len(texts))
        time.sleep(self.seconds)
        return super().embed_text(texts)


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory, model):
    folder = tmp_path_factory.mktemp("data")
    with open_store(folder) as store:
        build_collection(store, model, demo_clips(tmp_path_factory.mktemp("clips"), count=4), "voices")
    return folder


@pytest.fixture(scope="module")
def store(data_dir):
    with open_store(data_dir) as store:
        yield store


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


# --- error details never embed unbounded input -------------------------------------------------


def test_shorten_bounds_quoted_values():
    assert shorten("voices") == "voices"
    long = shorten("x" * 2_000_000)
    assert len(long) <= 64 and long.startswith("xxx") and "2000000" in long


def test_oversized_collection_name_is_invalid_argument_with_bounded_details(store, model):
    with running_server(store, model) as server, grpc.insecure_channel(server.address) as channel:
        stub = paraseek_pb2_grpc.ParaseekStub(channel)
        for call in (lambda name: stub.Search(paraseek_pb2.SearchRequest(collection=name, text="calm"), timeout=20),
                     lambda name: stub.DescribeCollection(paraseek_pb2.DescribeCollectionRequest(name=name),
                                                          timeout=20)):
            with pytest.raises(grpc.RpcError) as raised:
                call("v" * 2_000_000)
            assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT
            assert len(raised.value.details()) <= MAX_ERROR_MESSAGE_CHARS
            assert dict(raised.value.trailing_metadata())["paraseek-error-type"] == "InvalidArgument"
        with pytest.raises(grpc.RpcError) as raised:  # any message is bounded, whatever quotes it
            stub.Search(paraseek_pb2.SearchRequest(collection="voices", text="calm", where="k" * 300_000 + "=1"),
                        timeout=20)
        assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert len(raised.value.details()) <= MAX_ERROR_MESSAGE_CHARS


# --- a busy address is refused -------------------------------------------------------------------


def serve_command(tmp_path: Path, data_dir: Path, address: str, *extra: str) -> list[str]:
    config = tmp_path / "tiny.json"
    config.write_text(json.dumps(tiny_paraspeechclap_config().to_dict()))
    return [sys.executable, "-m", "paraseek.cli.main", "serve", "--address", address, "--data-dir", str(data_dir),
            "--model", str(config), "--random-init", "--threads", "1", *extra]


def serve_env() -> dict[str, str]:
    return {**os.environ, "OMP_NUM_THREADS": "1", "PARASEEK_COLLECTION": "voices"}


def test_a_second_server_on_a_busy_address_is_refused(tmp_path, store, model):
    with running_server(store, model) as server:
        result = subprocess.run(serve_command(tmp_path, tmp_path / "other-data", server.address), env=serve_env(),
                                capture_output=True, text=True, timeout=120)
    assert result.returncode != 0
    lines = [line for line in result.stderr.splitlines() if line.strip() and not line.startswith("{")]
    assert len(lines) == 1, result.stderr
    assert server.address in lines[0] and "port" in lines[0]
    assert "Traceback" not in result.stderr


def test_busy_address_is_refused_in_process(store, model):
    with running_server(store, model) as server:
        second = ParaseekServer(ServerConfig(address=server.address), store=store, model_loader=lambda: model)
        with pytest.raises(errors.FailedPrecondition, match="in use"):
            second.start()


def test_an_unknown_model_fails_before_binding(tmp_path):
    port = free_port()
    result = subprocess.run(
        [sys.executable, "-m", "paraseek.cli.main", "serve", "--address", f"127.0.0.1:{port}",
         "--data-dir", str(tmp_path / "data"), "--model", "no-such-model"],
        env=serve_env(), capture_output=True, text=True, timeout=120)
    assert result.returncode != 0
    assert "no-such-model" in result.stderr and '"listening"' not in result.stderr


# --- metrics: chosen address, optional bearer tokens ---------------------------------------------


def fetch_metrics(url: str, token: str | None = None) -> tuple[int, str]:
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"} if token else {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, ""


def test_metrics_listen_on_the_chosen_address_and_require_tokens(store, model):
    port = free_port()
    with running_server(store, model, metrics_address=f"127.0.0.1:{port}", read_token="r3ad") as server:
        with Client(server.address, token="r3ad") as client:
            client.search("a voice", collection="voices")
        url = f"http://127.0.0.1:{port}/metrics"
        assert fetch_metrics(url)[0] == 401
        assert fetch_metrics(url, "wrong")[0] == 401
        status, body = fetch_metrics(url, "r3ad")
        assert status == 200 and 'paraseek_requests_total{code="OK",rpc="Search"} 1.0' in body
        assert server.metrics_address == f"127.0.0.1:{port}"


def test_metrics_need_the_admin_token_when_one_is_set(store, model):
    port = free_port()
    with running_server(store, model, metrics_address=f"127.0.0.1:{port}", read_token="r3ad",
                        admin_token="adm1n") as server:
        url = f"http://127.0.0.1:{port}/metrics"
        assert fetch_metrics(url)[0] == errors.http_status(errors.Unauthenticated("")) == 401
        assert fetch_metrics(url, "r3ad")[0] == errors.http_status(errors.PermissionDenied("")) == 403
        status, body = fetch_metrics(url, "adm1n")
        assert status == 200 and "paraseek_model_ready 1.0" in body
        with Client(server.address, token="r3ad") as client:
            assert client.search("a voice", collection="voices").collection == "voices"


def test_metrics_default_to_the_grpc_host():
    config = ServerConfig(address="127.0.0.1:0", metrics_port=9999)
    assert config.metrics_endpoint == ("127.0.0.1", 9999)
    assert ServerConfig(address="[::1]:50051", metrics_address="0.0.0.0:9100").metrics_endpoint == ("0.0.0.0", 9100)
    assert ServerConfig().metrics_endpoint is None
    with pytest.raises(errors.InvalidArgument):
        ServerConfig(metrics_address="nohost")


# --- text encoding is fair across requests -------------------------------------------------------


def test_a_small_request_is_not_stuck_behind_a_large_one():
    order: list[str] = []
    first_call = threading.Event()
    release = threading.Event()

    def encode(texts: list[str]) -> np.ndarray:
        if not first_call.is_set():
            first_call.set()
            release.wait(10)
        return np.array([[float(len(text)), 1.0] for text in texts], dtype=np.float32)

    batcher = MicroBatcher(encode, max_batch=64, max_chars=4000, max_wait=0.0)
    try:
        large = batcher.submit([f"{i:03d} " + "a" * 896 for i in range(256)])
        large.add_done_callback(lambda _: order.append("large"))
        assert first_call.wait(10)  # the large request holds the encoder
        small = batcher.submit(["a calm voice"])
        small.add_done_callback(lambda _: order.append("small"))
        release.set()
        assert small.result(30).shape == (1, 2) and large.result(30).shape == (256, 2)
    finally:
        batcher.close()
    assert order == ["small", "large"]


def test_encoder_calls_are_capped_in_texts_and_characters():
    sizes: list[tuple[int, int]] = []

    def encode(texts: list[str]) -> np.ndarray:
        sizes.append((len(texts), sum(len(t) for t in texts)))
        return np.ones((len(texts), 2), dtype=np.float32)

    batcher = MicroBatcher(encode, max_batch=16, max_chars=5000)
    try:
        rows = batcher.embed([f"{i} " + "b" * 900 for i in range(100)])
    finally:
        batcher.close()
    assert rows.shape == (100, 2)
    assert all(count <= 16 and (chars <= 5000 or count == 1) for count, chars in sizes)


def test_embed_text_over_loopback_lets_small_requests_through(store, model):
    slow = SlowTextModel(model, seconds=0.05)
    with running_server(store, slow, max_batch=8) as server, Client(server.address, timeout=60) as client:
        finished: list[str] = []
        large = threading.Thread(target=lambda: (client.embed_text([f"{i} " + "c" * 890 for i in range(256)]),
                                                 finished.append("large")))
        calls_before = len(slow.calls)
        large.start()
        while len(slow.calls) == calls_before:
            time.sleep(0.01)
        client.embed_text(["a calm voice"])
        finished.append("small")
        large.join(60)
    assert finished == ["small", "large"]


# --- shutdown is bounded by the grace period, cancelled work stops -------------------------------


def test_stop_is_bounded_by_grace_and_cancelled_work_stops(store, model):
    slow = SlowTextModel(model, seconds=0.1)
    server = ParaseekServer(ServerConfig(address="127.0.0.1:0", max_batch=4), store=store,
                            model_loader=lambda: slow).start()
    server.wait_ready(60)
    outcomes: list[str] = []

    def large_embed() -> None:
        try:
            with Client(server.address, timeout=120, retries=0) as client:
                client.embed_text([f"{i} slow " + "d" * 100 for i in range(256)])
            outcomes.append("finished")
        except errors.ParaseekError as error:
            outcomes.append(type(error).__name__)

    threads = [threading.Thread(target=large_embed) for _ in range(3)]
    for thread in threads:
        thread.start()
    while len(slow.calls) < 3:
        time.sleep(0.01)
    started = time.monotonic()
    server.stop(grace=0.5)
    stopped_after = time.monotonic() - started
    calls_at_stop = len(slow.calls)
    for thread in threads:
        thread.join(30)
    time.sleep(0.5)
    # 3 x 256 texts need 192 encoder calls; cancelled work stops at the next call
    assert len(slow.calls) <= calls_at_stop + 1 < 192
    assert "finished" not in outcomes and len(outcomes) == 3
    assert stopped_after < 0.5 + 5.0


def test_serve_stops_within_grace_under_load(tmp_path, data_dir):
    port = free_port()
    process = subprocess.Popen(serve_command(tmp_path, data_dir, f"127.0.0.1:{port}", "--grace", "1",
                                             "--max-batch", "2"),
                               env=serve_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        with Client(f"127.0.0.1:{port}", retries=10, backoff=0.2, timeout=120) as client, \
                Client(f"127.0.0.1:{port}", retries=0, timeout=120) as loader:
            client.wait_ready(timeout=60)
            load = [threading.Thread(target=_ignore_errors, daemon=True, args=(
                lambda: loader.embed_text([f"{i} " + "e" * 900 for i in range(256)]),)) for _ in range(4)]
            for thread in load:
                thread.start()
            time.sleep(0.5)
            process.send_signal(signal.SIGTERM)
            signalled = time.monotonic()
            _, stderr = process.communicate(timeout=60)
            exited_after = time.monotonic() - signalled
            for thread in load:  # their calls end with the server, before their client closes
                thread.join(timeout=30)
            assert not any(thread.is_alive() for thread in load)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 0, stderr
    assert exited_after < 1 + 10.0, stderr
    assert "Traceback" not in stderr


def _ignore_errors(call) -> None:
    with contextlib.suppress(errors.ParaseekError):
        call()


# --- SIGTERM after the data directory went away ---------------------------------------------------


def test_sigterm_with_a_vanished_data_dir_exits_cleanly(tmp_path, model):
    data = tmp_path / "data"
    with open_store(data) as store:
        build_collection(store, model, demo_clips(tmp_path / "clips", count=2), "voices")
    port = free_port()
    process = subprocess.Popen(serve_command(tmp_path, data, f"127.0.0.1:{port}", "--grace", "1"),
                               env=serve_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        with Client(f"127.0.0.1:{port}", retries=10, backoff=0.2) as client:
            client.wait_ready(timeout=60)
            client.search("a calm voice", top_k=1)
        import shutil

        shutil.rmtree(data)
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert "Traceback" not in stderr
    assert process.returncode == 0, stderr
    records = [json.loads(line) for line in stderr.splitlines() if line.startswith("{")]
    assert records[-1]["message"] == "stopped"


# --- every call has a deadline ---------------------------------------------------------------------


def test_a_call_without_a_deadline_gets_the_servers_ceiling(store, model):
    with (running_server(store, model, max_request_seconds=1e-6) as server,
          Client(server.address, timeout=None, retries=0) as client):
        with pytest.raises(errors.DeadlineExceeded):
            client.search("a voice never cached before", collection="voices")
        with pytest.raises(errors.DeadlineExceeded):
            client.search("another voice", collection="voices", timeout=60)
    with running_server(store, model) as server, Client(server.address, timeout=None) as client:
        assert len(client.search("a voice never cached before", collection="voices", top_k=2)) == 2


def test_the_request_ceiling_must_be_positive():
    for seconds in (0.0, -1.0, float("nan")):
        with pytest.raises(errors.InvalidArgument, match="max_request_seconds"):
            ServerConfig(max_request_seconds=seconds)


# --- hostile requests are the caller's error, not the server's ---------------------------------------


def test_undecodable_requests_and_bad_payload_paths_are_invalid_argument(store, model):
    with running_server(store, model) as server, grpc.insecure_channel(server.address) as channel:
        raw = channel.unary_unary("/paraseek.v1.Paraseek/Search")
        with pytest.raises(grpc.RpcError) as undecodable:
            raw(b"\x9b\xff\x00", timeout=10)
        assert undecodable.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert ("paraseek-error-type", "InvalidArgument") in undecodable.value.trailing_metadata()
        stub = paraseek_pb2_grpc.ParaseekStub(channel)
        for path in ("a\x00b", "'; --", " ", "../x"):
            with pytest.raises(grpc.RpcError) as bad_path:
                stub.Search(paraseek_pb2.SearchRequest(collection="voices", text="calm", payload_fields=[path]),
                            timeout=10)
            assert bad_path.value.code() == grpc.StatusCode.INVALID_ARGUMENT, path
        reply = stub.Search(paraseek_pb2.SearchRequest(collection="voices", text="calm", payload_fields=["speaker"]),
                            timeout=10)
        assert reply.hits and set(reply.hits[0].payload.keys()) == {"speaker"}
