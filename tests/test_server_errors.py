"""Server failure modes: status codes and error types, deadlines, load shedding, health, auth, TLS."""

from __future__ import annotations

import datetime
import threading
import time

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from paraseek import errors
from paraseek.client import Client
from paraseek.model import EmbeddingModel
from paraseek.server import SERVICE_NAME, ParaseekServer, ServerConfig
from paraseek.server.engine import Scope
from paraseek.server.testing import build_collection, demo_clips, running_server
from paraseek.storage import open_store
from paraseek.storage.catalog import ModelSignature
from paraseek.testing import WrappedModel
from paraseek.v1 import filter_pb2, paraseek_pb2, paraseek_pb2_grpc


class GatedModel(WrappedModel):
    """The tiny model, with a text encoder that waits while ``gate`` is closed."""

    def __init__(self, inner: EmbeddingModel) -> None:
        super().__init__(inner)
        self.gate = threading.Event()
        self.gate.set()
        self.waiting = threading.Event()

    def embed_text(self, texts):
        self.waiting.set()
        self.gate.wait()
        return super().embed_text(texts)


@pytest.fixture(scope="module")
def clips(tmp_path_factory):
    return demo_clips(tmp_path_factory.mktemp("clips"), count=6)


@pytest.fixture(scope="module")
def store(tmp_path_factory, model, clips):
    with open_store(tmp_path_factory.mktemp("data")) as store:
        build_collection(store, model, clips, "voices")
        build_collection(store, model, clips, "foreign",
                         recorded_as=ModelSignature("paraseek-mini", "0123456789abcdef", model.embedding_dim))
        yield store


@pytest.fixture(scope="module")
def server(store, model):
    with running_server(store, model, max_text_chars=200, max_rerank_clips=3) as server:
        yield server


@pytest.fixture(scope="module")
def stub(server):
    with grpc.insecure_channel(server.address) as channel:
        yield paraseek_pb2_grpc.ParaseekStub(channel)


def search(**fields):
    return "Search", paraseek_pb2.SearchRequest(**{"collection": "voices", "text": "a calm voice", **fields})


CASES = {
    "empty text": (search(text="  "), "INVALID_ARGUMENT", errors.EmptyText),
    "oversized text": (search(text="x" * 201), "INVALID_ARGUMENT", errors.TextTooLong),
    "bad where": (search(where="duration<<3"), "INVALID_ARGUMENT", errors.InvalidFilter),
    "unknown filter field": (search(where="colour=red"), "INVALID_ARGUMENT", errors.InvalidFilter),
    "structured filter without a test": (
        search(filter=filter_pb2.Filter(must=[filter_pb2.Condition(key="gender")])),
        "INVALID_ARGUMENT", errors.InvalidFilter),
    "empty range": (search(filter=filter_pb2.Filter(must=[filter_pb2.Condition(key="duration", range={})])),
                    "INVALID_ARGUMENT", errors.InvalidFilter),
    "bad audio bytes": (search(example=paraseek_pb2.AudioInput(data=b"RIFF not really a wav")),
                        "INVALID_ARGUMENT", errors.AudioError),
    "top_k 0": (search(top_k=0), "INVALID_ARGUMENT", errors.InvalidArgument),
    "top_k too big": (search(top_k=1001), "INVALID_ARGUMENT", errors.InvalidArgument),
    "unknown collection": (search(collection="nowhere"), "NOT_FOUND", errors.CollectionNotFound),
    "unknown point": (search(example=paraseek_pb2.AudioInput(point_id="00000000-0000-4000-8000-000000000000")),
                      "NOT_FOUND", errors.PointNotFound),
    "model mismatch": (search(collection="foreign"), "FAILED_PRECONDITION", errors.ModelMismatch),
    "too many rerank clips": (("Rerank", paraseek_pb2.RerankRequest(text="calm", clips=[b"a"] * 4)),
                              "INVALID_ARGUMENT", errors.RequestTooLarge),
    "no audio": (("Classify", paraseek_pb2.ClassifyRequest()), "INVALID_ARGUMENT", errors.AudioError),
    "unknown collection to describe": (("DescribeCollection", paraseek_pb2.DescribeCollectionRequest(name="nope")),
                                       "NOT_FOUND", errors.CollectionNotFound),
}


@pytest.mark.parametrize("case", list(CASES))
def test_errors_map_to_status_codes_and_types(case, stub, server):
    (method, request), code, error_type = CASES[case]
    with pytest.raises(grpc.RpcError) as raised:
        getattr(stub, method)(request, timeout=20)
    assert raised.value.code().name == code
    assert dict(raised.value.trailing_metadata())["paraseek-error-type"] == error_type.__name__
    with Client(server.address, timeout=20) as client, pytest.raises(error_type) as typed:
        client._call(method, request, 20)
    assert type(typed.value) is error_type and str(typed.value) == raised.value.details()


def test_client_side_deadline_raises_deadline_exceeded(server):
    with Client(server.address) as client, pytest.raises(errors.DeadlineExceeded):
        client.search("a text nobody has asked for yet", collection="voices", timeout=1e-4)


def test_scope_reports_passed_deadlines_and_cancellation():
    with pytest.raises(errors.DeadlineExceeded):
        Scope(time_remaining=lambda: -0.1).check("the search")
    with pytest.raises(errors.Cancelled):
        Scope(is_active=lambda: False).check("the search")
    Scope(time_remaining=lambda: 1.0).check("the search")


def test_server_gives_up_at_the_deadline_and_sheds_load(store, model):
    gated = GatedModel(model)
    with running_server(store, gated, max_concurrent_rpcs=1, max_workers=4) as server:
        gated.gate.clear()
        gated.waiting.clear()
        with Client(server.address, retries=0) as client:
            outcome = {}

            def slow_query():
                try:
                    client.search("held at the gate", collection="voices", timeout=1.0)
                except errors.ParaseekError as error:
                    outcome["error"] = error

            thread = threading.Thread(target=slow_query)
            thread.start()
            assert gated.waiting.wait(10)
            with pytest.raises(errors.ResourceExhausted):
                client.list_collections(timeout=5)
            thread.join()
            assert isinstance(outcome["error"], errors.DeadlineExceeded)
            # the server stopped waiting for the encoder at the caller's deadline and said so
            deadline = time.monotonic() + 5
            while server.metrics.value("paraseek_requests_total", {"rpc": "Search", "code": "DEADLINE_EXCEEDED"}) < 1:
                assert time.monotonic() < deadline
                time.sleep(0.02)
            gated.gate.set()
            assert len(client.search("after the gate opened", collection="voices", timeout=20)) > 0


def test_audio_calls_wait_for_a_slot_within_their_deadline(store, model, clips):
    with running_server(store, model, max_audio_calls=1) as server, Client(server.address, retries=0) as client:
        audio = clips[0].path.read_bytes()
        with server.engine.audio_slot(Scope()):  # the one slot is taken
            with pytest.raises(errors.DeadlineExceeded):
                client.rerank("a calm voice", [audio], timeout=0.5)
            # the server stopped waiting for the slot at the caller's deadline and said so
            deadline = time.monotonic() + 5
            while server.metrics.value("paraseek_requests_total", {"rpc": "Rerank", "code": "DEADLINE_EXCEEDED"}) < 1:
                assert time.monotonic() < deadline
                time.sleep(0.02)
            assert client.search("text queries need no audio slot", collection="voices", timeout=20)
        ranked = client.rerank("a calm voice", [audio, audio], timeout=20)
        assert sorted(clip.index for clip in ranked) == [0, 1]


def health_status(address, service=""):
    with grpc.insecure_channel(address) as channel:
        response = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(service=service), timeout=10)
    return health_pb2.HealthCheckResponse.ServingStatus.Name(response.status)


def test_health_is_not_serving_until_the_model_is_loaded(store, model):
    release = threading.Event()

    def slow_loader():
        release.wait(30)
        return model

    server = ParaseekServer(ServerConfig(address="127.0.0.1:0"), store=store, model_loader=slow_loader).start()
    try:
        assert health_status(server.address) == "NOT_SERVING"
        assert health_status(server.address, SERVICE_NAME) == "NOT_SERVING"
        with Client(server.address, retries=0) as client:
            assert [c.name for c in client.list_collections()] == ["foreign", "voices"]
            with pytest.raises(errors.Unavailable, match="loading"):
                client.search("a calm voice", collection="voices")
            release.set()
            server.wait_ready(30)
            assert health_status(server.address) == "SERVING"
            assert health_status(server.address, SERVICE_NAME) == "SERVING"
            assert len(client.search("a calm voice", collection="voices")) > 0
    finally:
        server.stop(grace=0)
    assert health_status_after_stop(server.address)


def health_status_after_stop(address):
    with grpc.insecure_channel(address) as channel, pytest.raises(grpc.RpcError) as raised:
        health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=2)
    return raised.value.code() is grpc.StatusCode.UNAVAILABLE


def test_a_failed_model_load_is_reported(store):
    def broken_loader():
        raise errors.WeightsUnavailable("no weights here")

    server = ParaseekServer(ServerConfig(address="127.0.0.1:0"), store=store, model_loader=broken_loader).start()
    try:
        with pytest.raises(errors.WeightsUnavailable):
            server.wait_ready(30)
        assert health_status(server.address) == "NOT_SERVING"
    finally:
        server.stop(grace=0)


def test_tokens_gate_every_rpc_but_health(store, model):
    with running_server(store, model, read_token="reader-secret", admin_token="admin-secret") as server:
        for token in (None, "wrong", "reader-secret-but-longer"):
            with Client(server.address, token=token, retries=0) as client:
                with pytest.raises(errors.Unauthenticated):
                    client.search("a calm voice", collection="voices")
                with pytest.raises(errors.Unauthenticated):
                    client.list_collections()
        for token in ("reader-secret", "admin-secret"):
            with Client(server.address, token=token) as client:
                assert len(client.search("a calm voice", collection="voices")) > 0
        assert health_status(server.address) == "SERVING"
        assert server.metrics.value("paraseek_requests_total", {"rpc": "Search", "code": "OK"}) == 2


def self_signed_certificate(directory):
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
                   .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=1))
                   .not_valid_after(now + datetime.timedelta(days=1))
                   .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
                   .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
                   .sign(key, hashes.SHA256()))
    cert_path, key_path = directory / "server.pem", directory / "server.key"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


def test_tls_with_a_self_signed_certificate(tmp_path, store, model):
    cert, key = self_signed_certificate(tmp_path)
    with running_server(store, model, tls_cert=cert, tls_key=key, read_token="t0ken") as server:
        address = f"localhost:{server.port}"
        with Client(address, tls_ca=cert, token="t0ken") as client:
            assert len(client.search("a calm voice", collection="voices")) > 0
        with Client(address, tls_ca=cert.read_bytes(), retries=0) as client, pytest.raises(errors.Unauthenticated):
            client.list_collections()
        with Client(address, token="t0ken", retries=0, timeout=5) as plaintext, pytest.raises(errors.Unavailable):
            plaintext.list_collections()


def test_config_rejects_half_settings():
    with pytest.raises(errors.InvalidArgument):
        ServerConfig(tls_cert="cert.pem")
    with pytest.raises(errors.InvalidArgument):
        ServerConfig(admin_token="x")
    with pytest.raises(errors.InvalidArgument):
        ServerConfig(max_workers=0)
