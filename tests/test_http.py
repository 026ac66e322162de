"""The HTTP/JSON API over loopback, served beside gRPC: every endpoint, errors, tokens, audio ranges."""

from __future__ import annotations

import base64
import importlib.metadata
import json
import os
import shutil
from http.client import HTTPConnection
from pathlib import Path

import httpx
import numpy as np
import pytest

from paraseek.errors import ERROR_STATUS, GRPC_STATUS, HTTP_STATUS, MediaUnavailable, http_status, status_name
from paraseek.server.testing import build_collection, demo_clips, running_server
from paraseek.storage import Point, open_store
from paraseek.storage.catalog import ModelSignature

TOKEN = "s3cret-read"


@pytest.fixture(scope="module")
def server(store, model):
    with running_server(store, model, http_address="127.0.0.1:0") as server:
        yield server


@pytest.fixture(scope="module")
def http(server):
    with httpx.Client(base_url=server.http.url, timeout=30) as client:
        yield client


def search(http, **body):
    return http.post("/api/v1/search", json={"collection": "voices", **body})


def assert_error(response, status, error_type, fragment=""):
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["type"] == error_type
    assert fragment in error["message"]
    return error


def test_one_error_table_gives_both_statuses():
    assert set(GRPC_STATUS) == set(HTTP_STATUS) == set(ERROR_STATUS)
    error = MediaUnavailable("gone")
    assert (status_name(error), http_status(error)) == ("NOT_FOUND", 404)
    assert http_status(RuntimeError("bug")) == 500


def test_search_matches_the_engine_and_explains_hits(http, model, clips):
    response = search(http, text="a low-pitched slow voice", top_k=5)
    assert response.status_code == 200, response.text
    result = response.json()
    assert result["collection"] == "voices_v1"
    assert result["model"] == model.name
    assert result["offset"] == 0
    query = model.embed_text(["a low-pitched slow voice"])[0]
    by_id = {clip.id: clip for clip in clips}
    ids = [hit["id"] for hit in result["hits"]]
    assert len(ids) == 5
    from paraseek.audio import load_audio
    vectors = {clip.id: model.embed_audio([load_audio(clip.path)[0]], 16000)[0] for clip in clips}
    expected = sorted(vectors, key=lambda i: -float(vectors[i] @ query))[:5]
    assert ids == expected
    for hit in result["hits"]:
        assert hit["payload"]["path"] == str(by_id[hit["id"]].path)
        assert set(hit["styles"]) == set(model.style_groups())
        assert hit["audio_url"] == f"/api/v1/collections/voices_v1/points/{hit['id']}/audio"
        assert np.isclose(hit["score"], float(vectors[hit["id"]] @ query), atol=1e-4)


def test_offset_pages_through_the_same_ranking(http):
    everything = [h["id"] for h in search(http, text="a calm voice", top_k=9).json()["hits"]]
    pages = [search(http, text="a calm voice", top_k=3, offset=offset).json() for offset in (0, 3, 6)]
    assert [h["id"] for page in pages for h in page["hits"]] == everything
    assert [page["offset"] for page in pages] == [0, 3, 6]


def test_filters_where_group_by_and_threshold(http, clips):
    females = {c.id for c in clips if c.payload["gender"] == "female"}
    structured = search(http, text="a voice", top_k=12, filter={"must": [{"key": "gender", "match": "female"}]})
    assert {h["id"] for h in structured.json()["hits"]} == females
    where = search(http, text="a voice", top_k=12, where="gender=female duration<1")
    assert {h["id"] for h in where.json()["hits"]} == {c.id for c in clips if c.id in females
                                                      and c.payload["duration"] < 1}
    grouped = search(http, text="a voice", top_k=12, group_by="speaker").json()["hits"]
    assert sorted(h["payload"]["speaker"] for h in grouped) == ["spk0", "spk1", "spk2", "spk3"]
    scores = [h["score"] for h in search(http, text="a voice", top_k=12).json()["hits"]]
    threshold = (scores[4] + scores[5]) / 2
    kept = search(http, text="a voice", top_k=12, score_threshold=threshold).json()["hits"]
    assert [h["score"] for h in kept] == scores[:5]


def test_example_by_point_id_or_uploaded_clip_and_negatives(http, clips):
    example = clips[3]
    by_id = search(http, example={"point_id": example.id}, top_k=5).json()["hits"]
    assert example.id not in [h["id"] for h in by_id]
    uploaded = search(http, example={"data": base64.b64encode(example.path.read_bytes()).decode()}, top_k=5).json()
    assert uploaded["hits"][0]["id"] == example.id
    plain = search(http, text="a voice", top_k=12).json()["hits"]
    steered = search(http, text="a voice", top_k=12, negatives=[{"text": "high-pitched fast", "weight": 1.0}])
    assert steered.status_code == 200
    assert [h["id"] for h in steered.json()["hits"]] != [h["id"] for h in plain]


@pytest.mark.parametrize("body, status, error_type, fragment", [
    ({"text": "   "}, 400, "EmptyText", "empty"),
    ({"text": "x" * 1001}, 400, "TextTooLong", "limit"),
    ({"text": "a voice", "where": "duration<abc"}, 400, "InvalidFilter", "not a number"),
    ({"text": "a voice", "where": "nosuchfield=1"}, 400, "InvalidFilter", "nosuchfield"),
    ({"text": "a voice", "top_k": 0}, 400, "InvalidArgument", "top_k"),
    ({"text": "a voice", "offset": 99999}, 400, "InvalidArgument", "offset"),
    ({"text": "a voice", "collection": "nope"}, 404, "CollectionNotFound", "nope"),
    ({"example": {"point_id": "00000000-0000-0000-0000-000000000000"}}, 404, "PointNotFound", ""),
    ({"example": {"data": "not base64!"}}, 400, "AudioError", "base64"),
    ({"example": {"data": base64.b64encode(b"RIFF nonsense").decode()}}, 400, "AudioError", ""),
    ({"example": {}}, 400, "AudioError", "exactly one"),
    ({"text": "a voice", "top_k": "many"}, 400, "InvalidArgument", "top_k"),
    ({"text": "a voice", "unknown": 1}, 400, "InvalidArgument", "unknown"),
])
def test_errors_answer_with_the_status_of_their_type(http, body, status, error_type, fragment):
    error = assert_error(http.post("/api/v1/search", json={"collection": "voices", **body}), status, error_type,
                         fragment)
    assert error["code"] == {400: "INVALID_ARGUMENT", 404: "NOT_FOUND"}[status]


def test_malformed_json_and_oversized_bodies_are_refused(store, model):
    with (running_server(store, model, http_address="127.0.0.1:0", max_message_bytes=4096) as server,
          httpx.Client(base_url=server.http.url, timeout=30) as client):
        assert_error(client.post("/api/v1/search", content=b"{not json", headers={"content-type": "application/json"}),
                     400, "InvalidArgument", "malformed")
        big = {"collection": "voices", "example": {"data": base64.b64encode(os.urandom(8000)).decode()}}
        assert_error(client.post("/api/v1/search", json=big), 400, "RequestTooLarge", "4096")

        def chunks():
            yield json.dumps(big).encode()

        assert_error(client.post("/api/v1/search", content=chunks(), headers={"content-type": "application/json"}),
                     400, "RequestTooLarge", "4096")


def test_a_collection_whose_model_cannot_be_loaded_is_a_conflict(http, store, model, clips):
    build_collection(store, model, clips[:2], "other_model",
                     recorded_as=ModelSignature("someone-else", "0123456789abcdef", model.embedding_dim))
    try:
        assert_error(search(http, text="a voice", collection="other_model"), 409, "ModelUnavailable", "someone-else")
    finally:
        store.delete_collection("other_model")


def test_collections_and_schemas(http, model):
    listed = http.get("/api/v1/collections").json()["collections"]
    assert [c["name"] for c in listed] == ["voices_v1"]
    described = http.get("/api/v1/collections/voices").json()
    assert described == listed[0]
    assert described["aliases"] == ["voices"]
    assert described["count"] == 12
    assert described["model"] == model.name
    assert described["payload_schema"] == {"gender": "keyword", "speaker": "keyword", "duration": "float",
                                           "year": "integer", "studio": "bool", "path": "keyword"}
    assert_error(http.get("/api/v1/collections/missing"), 404, "CollectionNotFound")
    info = http.get("/api/v1/info").json()
    assert info["model"] == model.name and info["auth"] is False
    assert info["version"] == importlib.metadata.version("paraseek") != ""
    assert info["style_groups"] == {g: {"values": tags} for g, tags in model.style_groups().items()}


def test_facet_counts_under_a_filter(http, clips):
    response = http.post("/api/v1/collections/voices/facets", json={"where": "gender=female",
                                                                    "fields": ["speaker", "studio", "duration"]})
    assert response.status_code == 200, response.text
    result = response.json()
    females = [c for c in clips if c.payload["gender"] == "female"]
    assert result["scanned"] == len(females) and result["complete"] is True
    facets = {facet["field"]: facet for facet in result["facets"]}
    speakers = {v["value"]: v["count"] for v in facets["speaker"]["values"]}
    assert speakers == {s: sum(c.payload["speaker"] == s for c in females) for s in {c.payload["speaker"] for c in females}}
    studio = {v["value"]: v["count"] for v in facets["studio"]["values"]}
    assert studio == {flag: sum(c.payload["studio"] == flag for c in females) for flag in (True, False)
                      if any(c.payload["studio"] == flag for c in females)}
    ranges = facets["duration"]["ranges"]
    assert sum(r["count"] for r in ranges) == len(females)
    for r in ranges:
        inside = [c for c in females
                  if c.payload["duration"] >= r["gte"] and (r["lt"] is None or c.payload["duration"] < r["lt"])]
        assert r["count"] == len(inside)
    everything = http.post("/api/v1/collections/voices/facets", json={}).json()
    assert {f["field"] for f in everything["facets"]} == {"gender", "speaker", "duration", "year", "studio", "path"}
    limited = http.post("/api/v1/collections/voices/facets", json={"fields": ["year"], "limit": 3}).json()
    year = limited["facets"][0]
    assert len(year["values"]) == 3 and year["other"] == 9
    assert_error(http.post("/api/v1/collections/voices/facets", json={"fields": ["nope"]}), 400, "InvalidArgument",
                 "nope")
    assert_error(http.post("/api/v1/collections/voices/facets", json={"where": "gender"}), 400, "InvalidFilter", "operator")


def test_point_payload(http, clips):
    clip = clips[5]
    response = http.get(f"/api/v1/collections/voices/points/{clip.id}")
    assert response.status_code == 200
    assert response.json() == {"id": clip.id, "collection": "voices_v1", "payload": clip.payload,
                               "audio_url": f"/api/v1/collections/voices/points/{clip.id}/audio"}
    assert_error(http.get("/api/v1/collections/voices/points/00000000-0000-0000-0000-000000000001"), 404,
                 "PointNotFound")
    assert_error(http.get("/api/v1/collections/voices/points/not-a-uuid"), 400, "InvalidArgument", "UUID")


def test_classify(http, model, clips):
    response = http.post("/api/v1/classify", json={"collection": "voices", "audio": {"point_id": clips[0].id},
                                                   "styles": ["calm", "angry"]})
    assert response.status_code == 200, response.text
    groups = response.json()["groups"]
    assert [g["group"] for g in groups] == ["styles"]
    assert sorted(t["tag"] for t in groups[0]["tags"]) == ["angry", "calm"]


def test_audio_streams_the_source_file_with_ranges(http, clips):
    clip = clips[2]
    data = clip.path.read_bytes()
    url = f"/api/v1/collections/voices/points/{clip.id}/audio"
    whole = http.get(url)
    assert whole.status_code == 200
    assert whole.headers["content-type"] == "audio/wav"
    assert whole.headers["accept-ranges"] == "bytes"
    assert whole.content == data
    part = http.get(url, headers={"Range": "bytes=100-1099"})
    assert part.status_code == 206
    assert part.headers["content-range"] == f"bytes 100-1099/{len(data)}"
    assert part.content == data[100:1100]
    tail = http.get(url, headers={"Range": "bytes=-500"})
    assert tail.status_code == 206 and tail.content == data[-500:]
    beyond = http.get(url, headers={"Range": f"bytes={len(data) + 10}-"})
    assert beyond.status_code == 416
    assert beyond.headers["content-range"] == f"bytes */{len(data)}"


@pytest.mark.parametrize("point_id", [
    "../../etc/passwd", "..%2F..%2Fetc%2Fpasswd", "%2e%2e%2f%2e%2e%2fetc%2fpasswd", "..%252F..%252Fetc%252Fpasswd",
    "....//....//etc/passwd", "%2Fetc%2Fpasswd", "..\\..\\etc\\passwd", "x/../../../../etc/passwd",
])
def test_traversal_attempts_never_reach_a_file(server, point_id):
    host, port = server.http.url.removeprefix("http://").rsplit(":", 1)
    for path in (f"/api/v1/collections/voices/points/{point_id}/audio",
                 f"/api/v1/collections/{point_id}/points/00000000-0000-0000-0000-000000000000/audio",
                 f"/static/{point_id}"):
        connection = HTTPConnection(host, int(port), timeout=10)  # sends the path as written
        connection.request("GET", path)
        response = connection.getresponse()
        body = response.read()
        connection.close()
        assert response.status in (400, 404), (path, response.status)
        assert b"root:" not in body


def test_payload_paths_that_leave_the_media_root_or_are_missing_are_explained(tmp_path, model):
    media = tmp_path / "media"
    (media / "sub").mkdir(parents=True)
    shutil.copy(demo_clips(tmp_path / "src", count=1)[0].path, media / "sub" / "ok.wav")
    (tmp_path / "secret.wav").write_bytes(b"RIFF secret")
    ids = ["00000000-0000-0000-0000-00000000000" + str(i) for i in range(5)]
    payloads = [{"path": "sub/ok.wav"}, {"path": "../secret.wav"}, {"path": "sub/missing.wav"}, {"speaker": "x"},
                {"path": "/elsewhere/moved.wav", "relative_path": "sub/ok.wav"}]
    with open_store(tmp_path / "data") as store:
        store.create_collection("loose", dim=model.embedding_dim, payload_schema={"path": "keyword"},
                                metadata={"model": model.name, "model_fingerprint": model.fingerprint})
        rng = np.random.default_rng(0)
        store.upsert("loose", [Point(i, rng.standard_normal(model.embedding_dim).astype(np.float32), p)
                               for i, p in zip(ids, payloads, strict=True)])
        with (running_server(store, model, http_address="127.0.0.1:0", media_root=media) as server,
              httpx.Client(base_url=server.http.url, timeout=30) as client):
            audio = [client.get(f"/api/v1/collections/loose/points/{i}/audio") for i in ids]
        with (running_server(store, model, http_address="127.0.0.1:0") as server,
              httpx.Client(base_url=server.http.url, timeout=30) as client):
            no_root = client.get(f"/api/v1/collections/loose/points/{ids[0]}/audio")
    assert audio[0].status_code == 200 and audio[0].content == (media / "sub" / "ok.wav").read_bytes()
    assert_error(audio[1], 404, "MediaUnavailable", "leaves the media root")
    assert b"secret" not in audio[1].content.replace(b"MediaUnavailable", b"")
    assert_error(audio[2], 404, "MediaUnavailable", f"the media root is {media.resolve()}")
    assert_error(audio[3], 404, "MediaUnavailable", "no 'path'")
    assert audio[4].status_code == 200 and audio[4].content == audio[0].content
    assert_error(no_root, 404, "MediaUnavailable", "--media-root")


def test_tokens_gate_the_api_and_sign_audio_urls(store, model, clips):
    with (running_server(store, model, http_address="127.0.0.1:0", read_token=TOKEN, admin_token="adm1n") as server,
          httpx.Client(base_url=server.http.url, timeout=30) as client):
        denied = client.post("/api/v1/search", json={"collection": "voices", "text": "a voice"})
        assert_error(denied, 401, "Unauthenticated", "Bearer")
        assert denied.headers["www-authenticate"] == "Bearer"
        assert_error(client.get("/api/v1/collections", headers={"Authorization": "Bearer wrong"}), 401,
                     "Unauthenticated")
        assert_error(client.get("/api/v1/collections", headers={"Authorization": f"Basic {TOKEN}"}), 401,
                     "Unauthenticated")
        for token in (TOKEN, "adm1n"):
            assert client.get("/api/v1/collections", headers={"Authorization": f"Bearer {token}"}).status_code == 200
        hits = client.post("/api/v1/search", json={"collection": "voices", "text": "a voice", "top_k": 2},
                           headers={"Authorization": f"Bearer {TOKEN}"}).json()["hits"]
        signed = hits[0]["audio_url"]
        assert "signature=" in signed and TOKEN not in signed
        assert client.get(signed).status_code == 200
        bare = signed.split("?")[0]
        assert_error(client.get(bare), 401, "Unauthenticated")
        assert client.get(bare, headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 200
        other = f"/api/v1/collections/voices_v1/points/{hits[1]['id']}/audio?{signed.split('?')[1]}"
        assert_error(client.get(other), 401, "Unauthenticated", "signature")
        query = dict(part.split("=") for part in signed.split("?")[1].split("&"))
        assert_error(client.get(f"{bare}?expires=1000&signature={query['signature']}"), 401, "Unauthenticated",
                     "expired")
        page = client.get("/")
        assert page.status_code == 200 and "paraseek" in page.text
        assert client.get("/static/app.js").status_code == 200


def test_the_page_and_openapi_schema_need_no_network(http):
    page = http.get("/")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert "default-src 'self'" in page.headers["content-security-policy"]
    assert "http://" not in page.text and "https://" not in page.text
    for asset in ("/static/app.js", "/static/style.css"):
        response = http.get(asset)
        assert response.status_code == 200
        assert "http://" not in response.text and "https://" not in response.text
    schema = http.get("/api/openapi.json").json()
    paths = schema["paths"]
    for path in ("/api/v1/search", "/api/v1/collections", "/api/v1/collections/{name}",
                 "/api/v1/collections/{name}/facets", "/api/v1/collections/{name}/points/{point_id}",
                 "/api/v1/collections/{name}/points/{point_id}/audio", "/api/v1/info", "/api/v1/classify"):
        assert path in paths
    assert set(schema["components"]["schemas"]["SearchRequest"]["properties"]) >= {
        "collection", "text", "negatives", "example", "example_weight", "filter", "where", "top_k", "offset",
        "score_threshold", "group_by", "payload_fields", "explain_top", "exact"}
    assert http.get("/docs").status_code == 404


def test_the_model_loading_answers_unavailable(store, model):
    import threading

    release = threading.Event()

    def slow_loader():
        release.wait(30)
        return model

    from paraseek.server import ParaseekServer, ServerConfig

    server = ParaseekServer(ServerConfig(address="127.0.0.1:0", http_address="127.0.0.1:0"), store=store,
                            model_loader=slow_loader).start()
    try:
        with httpx.Client(base_url=server.http.url, timeout=30) as client:
            assert_error(client.post("/api/v1/search", json={"collection": "voices", "text": "a voice"}), 503,
                         "Unavailable", "loading")
            assert client.get("/api/v1/collections").status_code == 200
        release.set()
        server.wait_ready(30)
    finally:
        release.set()
        server.stop(grace=0)


def test_http_port_in_use_is_a_clear_error(server, store, model):
    from paraseek.errors import FailedPrecondition

    taken = server.http.url.rsplit(":", 1)[1]
    with (pytest.raises(FailedPrecondition, match="cannot listen for HTTP"),
          running_server(store, model, http_address=f"127.0.0.1:{taken}")):
        pass


def test_cli_serve_has_http_and_media_root_options():
    from click.testing import CliRunner

    from paraseek.cli.main import cli

    help_text = CliRunner().invoke(cli, ["serve", "--help"]).output
    assert "--http HOST:PORT" in help_text and "--media-root" in help_text


def test_assets_ship_as_package_data():
    import tomllib

    project = tomllib.loads((Path(__file__).resolve().parents[1] / "pyproject.toml").read_text())
    assert project["tool"]["setuptools"]["package-data"]["paraseek.server.web"] == ["static/*"]
    assert "paraseek.server.web" in project["tool"]["setuptools"]["packages"]
