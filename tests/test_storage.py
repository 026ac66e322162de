"""Storage behaviour on both backends, and what only the embedded store has (files, locks, persistence)."""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import socket
import subprocess
import sys
import textwrap
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from paraseek.errors import (
    AlreadyExists,
    CollectionNotFound,
    DeadlineExceeded,
    FailedPrecondition,
    InvalidArgument,
    InvalidFilter,
    Unavailable,
)
from paraseek.filters import FieldType, Filter, IsEmpty, Match, MatchAny, Nested, Range, parse_where
from paraseek.limits import MAX_COLLECTION_NAME_CHARS, MAX_TOP_K
from paraseek.machine import available_cores
from paraseek.storage import Point, VectorStore, default_data_dir, open_store
from paraseek.storage.testing import SAMPLE_SCHEMA, random_points

DIM = 16
SCHEMA = {**SAMPLE_SCHEMA, "segments[].speaker": FieldType.KEYWORD, "flags.clean": FieldType.BOOL}


def _points(n: int = 60, seed: int = 1) -> list[Point]:
    points = random_points(n, DIM, seed=seed)
    return [Point(p.id, p.vector, {**p.payload, "flags": {"clean": i % 2 == 0},
                                   "segments": [{"speaker": f"s{i % 3}", "start": 0.0}, {"speaker": "shared"}]})
            for i, p in enumerate(points)]


@pytest.fixture(params=["edge", "server"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[VectorStore]:
    opened = open_store(tmp_path / "data") if request.param == "edge" else open_store(url=":memory:")
    with opened:
        yield opened


@pytest.fixture
def filled(store: VectorStore) -> VectorStore:
    store.create_collection("clips_v1", dim=DIM, payload_schema=SCHEMA, metadata={"model": "m", "fingerprint": "abc"})
    store.upsert("clips_v1", _points())
    store.set_alias("clips", "clips_v1")
    return store


# --- both backends -------------------------------------------------------------------------------


def test_boolean_fields_filter_and_read_back(filled: VectorStore) -> None:
    points = _points()
    studio = sum(p.payload["studio"] for p in points)
    assert 0 < studio < len(points)
    assert filled.count("clips", Filter(must=[Match("studio", True)])) == studio
    assert filled.count("clips", Filter(must=[Match("studio", False)])) == len(points) - studio
    assert filled.count("clips", Filter(must_not=[Match("studio", True)])) == len(points) - studio
    assert filled.count("clips", Filter(must=[MatchAny("studio", (True, False))])) == len(points)
    assert filled.count("clips", parse_where("flags.clean=true", SCHEMA)) == 30
    hits = filled.search("clips", points[0].vector, top_k=60, filter=parse_where("studio=true", SCHEMA))
    assert len(hits) == studio and all(h.payload["studio"] is True for h in hits)
    assert all(type(h.payload["flags"]["clean"]) is bool for h in hits)
    stored = filled.retrieve("clips", [points[1].id])[0]
    assert stored.payload == points[1].payload


def test_nested_and_is_empty_filters(filled: VectorStore) -> None:
    nested = Filter(must=[Nested("segments", Filter(must=[Match("speaker", "s1"), Range("start", lt=1)]))])
    assert filled.count("clips", nested) == 20
    mismatched = Filter(must=[Nested("segments", Filter(must=[Match("speaker", "shared"), Range("start", lt=1)]))])
    assert filled.count("clips", mismatched) == 0  # "shared" lives in the element without "start"
    assert filled.count("clips", Filter(must=[IsEmpty("missing_field")])) == 60
    assert filled.count("clips", Filter(must=[IsEmpty("gender")])) == 0


def test_describe_resolve_and_aliases(filled: VectorStore) -> None:
    info = filled.describe("clips")
    assert (info.name, info.aliases, info.count, info.dim) == ("clips_v1", ["clips"], 60, DIM)
    assert info.metadata["model"] == "m" and info.metadata["fingerprint"] == "abc" and "created" in info.metadata
    assert info.payload_schema == SCHEMA
    assert filled.resolve("clips") == filled.resolve("clips_v1") == "clips_v1"
    filled.create_collection("clips_v2", dim=DIM, payload_schema=SCHEMA)
    filled.set_alias("clips", "clips_v2")
    filled.set_alias("also", "clips")  # an alias as target means the collection behind it
    assert filled.resolve("also") == "clips_v2" and filled.count("clips") == 0
    assert filled.describe("clips_v2").aliases == ["also", "clips"]
    filled.delete_alias("also")
    with pytest.raises(CollectionNotFound):
        filled.delete_alias("also")
    with pytest.raises(CollectionNotFound):
        filled.resolve("also")
    with pytest.raises(AlreadyExists):
        filled.set_alias("clips_v1", "clips_v2")
    with pytest.raises(AlreadyExists):
        filled.create_collection("clips", dim=DIM, payload_schema={})
    with pytest.raises(AlreadyExists):
        filled.create_collection("clips_v1", dim=DIM, payload_schema={})
    with pytest.raises(CollectionNotFound, match="alias"):
        filled.delete_collection("clips")
    filled.delete_collection("clips_v2")
    with pytest.raises(CollectionNotFound):
        filled.describe("clips")
    with pytest.raises(CollectionNotFound):
        filled.delete_collection("clips_v2")
    assert [c.name for c in filled.list_collections()] == ["clips_v1"]


def test_bad_input_gets_typed_errors(filled: VectorStore) -> None:
    good = _points(1)[0]
    with pytest.raises(InvalidArgument, match="shape"):
        filled.upsert("clips", [Point(good.id, np.ones(DIM + 1, np.float32), {})])
    with pytest.raises(InvalidArgument, match="UUID"):
        filled.upsert("clips", [Point("clip-1", good.vector, {})])
    with pytest.raises(InvalidArgument, match="NaN"):
        filled.upsert("clips", [Point(good.id, np.full(DIM, np.nan, np.float32), {})])
    with pytest.raises(InvalidArgument, match="cannot be stored"):
        filled.upsert("clips", [Point(good.id, good.vector, {"when": object()})])
    with pytest.raises(InvalidArgument, match="UUID"):
        filled.retrieve("clips", ["nope"])
    with pytest.raises(InvalidArgument):
        filled.search("clips", np.zeros(DIM, np.float32))
    with pytest.raises(InvalidArgument):
        filled.search("clips", good.vector, top_k=0)
    with pytest.raises(InvalidFilter):
        filled.count("clips", "gender=female")  # type: ignore[arg-type]
    with pytest.raises(CollectionNotFound):
        filled.search("nothing", good.vector)
    with pytest.raises(InvalidArgument, match="invalid collection name"):
        filled.create_collection("../escape", dim=DIM, payload_schema={})
    with pytest.raises(InvalidArgument, match="unknown type"):
        filled.create_collection("x", dim=DIM, payload_schema={"a": "date"})
    with pytest.raises(InvalidArgument, match="unknown collection options"):
        filled.create_collection("x", dim=DIM, payload_schema={}, shards=2)
    assert filled.count("clips") == 60  # nothing half-written
    assert [c.name for c in filled.list_collections()] == ["clips_v1"]


def test_numpy_payload_values_are_stored_as_plain_json(filled: VectorStore) -> None:
    point_id = str(uuid.uuid4())
    filled.upsert("clips", [Point(point_id, np.ones(DIM), {"duration": np.float32(2.5), "year": np.int64(2001),
                                                          "scores": np.array([1, 2])})])
    stored = filled.retrieve("clips", [point_id])[0].payload
    assert stored == {"duration": 2.5, "year": 2001, "scores": [1, 2]}
    assert filled.count("clips", parse_where("duration=2.5 year=2001", SCHEMA)) == 1


def test_alias_swap_while_a_reader_queries(filled: VectorStore) -> None:
    points = _points()
    filled.create_collection("clips_v2", dim=DIM, payload_schema=SCHEMA)
    filled.upsert("clips_v2", [Point(p.id, p.vector, {**p.payload, "gender": "v2"}) for p in points])
    seen: list[set[str]] = []
    errors: list[BaseException] = []
    stop = threading.Event()

    def read() -> None:
        while not stop.is_set():
            try:
                hits = filled.search("clips", points[0].vector, top_k=20)
                seen.append({"v2" if h.payload["gender"] == "v2" else "v1" for h in hits})
            except BaseException as error:  # noqa: BLE001 - reported below
                errors.append(error)
                return

    reader = threading.Thread(target=read)
    reader.start()
    try:
        for i in range(40):
            filled.set_alias("clips", "clips_v2" if i % 2 == 0 else "clips_v1")
    finally:
        stop.set()
        reader.join(timeout=30)
    assert not errors
    assert seen and all(len(versions) == 1 for versions in seen)  # never a mix, never empty


def test_finalize_keeps_results(filled: VectorStore) -> None:
    query = _points()[3].vector
    before = filled.search("clips", query, top_k=10, exact=True)
    filled.finalize("clips")
    after = filled.search("clips", query, top_k=10)
    assert [h.id for h in after] == [h.id for h in before]


def test_closed_store_refuses_calls(store: VectorStore) -> None:
    store.close()
    store.close()
    with pytest.raises(FailedPrecondition):
        store.list_collections()


# --- server store ----------------------------------------------------------------------------------


def test_server_options_are_accepted() -> None:
    with open_store(url=":memory:") as server:
        server.create_collection("big", dim=DIM, payload_schema=SAMPLE_SCHEMA, quantization="int8", on_disk=True,
                                 shard_number=4, replication_factor=2, shard_key="eu")
        server.upsert("big", _points(10))
        assert len(server.search("big", _points(10)[0].vector, top_k=3)) == 3
        with pytest.raises(InvalidArgument, match="quantization"):
            server.create_collection("bad", dim=DIM, payload_schema={}, quantization="int4")
        with pytest.raises(InvalidArgument, match="shard_number"):
            server.create_collection("bad", dim=DIM, payload_schema={}, shard_number=0)


def test_unreachable_server_raises_unavailable() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with open_store(url=f"http://127.0.0.1:{port}", grpc_port=port, timeout=2) as server:
        with pytest.raises(Unavailable):
            server.list_collections()
        with pytest.raises(Unavailable):
            server.search("clips", np.ones(DIM, np.float32))


# --- embedded store --------------------------------------------------------------------------------


def test_default_data_dir_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PARASEEK_DATA_DIR", str(tmp_path / "here"))
    assert default_data_dir() == tmp_path / "here"
    with open_store() as store:
        store.create_collection("c", dim=4, payload_schema={})
    assert (tmp_path / "here" / "collections" / "c" / "collection.json").is_file()
    monkeypatch.delenv("PARASEEK_DATA_DIR")
    assert default_data_dir() == Path.home() / ".local" / "share" / "paraseek"
    with pytest.raises(InvalidArgument):
        open_store(tmp_path, api_key="secret")


def test_edge_persists_across_reopen(tmp_path: Path) -> None:
    points = _points()
    with open_store(tmp_path) as store:
        store.create_collection("clips_v1", dim=DIM, payload_schema=SCHEMA, metadata={"model": "m"})
        store.upsert("clips_v1", points)
        store.set_alias("clips", "clips_v1")
        expected = store.search("clips", points[4].vector, top_k=5, filter=parse_where("studio=false", SCHEMA))
    aliases = json.loads((tmp_path / "aliases.json").read_text())
    assert aliases == {"clips": "clips_v1"}
    with open_store(tmp_path) as reopened:
        assert reopened.describe("clips").count == len(points)  # from stats, before the shard is opened
        assert reopened.describe("clips").metadata["model"] == "m"
        again = reopened.search("clips", points[4].vector, top_k=5, filter=parse_where("studio=false", SCHEMA))
        assert [(h.id, h.payload) for h in again] == [(h.id, h.payload) for h in expected]
        assert reopened.retrieve("clips", [points[2].id])[0].payload == points[2].payload


def _edge_search_threads() -> set[str]:
    """Ids of this process's threads that run the embedded store's searches."""
    threads = set()
    for task in Path(f"/proc/{os.getpid()}/task").iterdir():
        try:
            if (task / "comm").read_text().startswith("edge-search"):
                threads.add(task.name)
        except OSError:  # the thread ended meanwhile
            continue
    return threads


@pytest.mark.skipif(not Path("/proc/self/task").is_dir(), reason="thread names are read from /proc")
def test_edge_searches_with_one_thread_per_core(tmp_path: Path) -> None:
    before = _edge_search_threads()
    with open_store(tmp_path) as store:
        store.create_collection("clips_v1", dim=DIM, payload_schema=SCHEMA)
        store.upsert("clips_v1", _points())
        assert store.search("clips_v1", _points()[0].vector, top_k=3)
        assert len(_edge_search_threads() - before) == available_cores()


def test_edge_cannot_match_booleans_on_undeclared_fields(tmp_path: Path) -> None:
    with open_store(tmp_path) as store:
        store.create_collection("c", dim=DIM, payload_schema={})
        store.upsert("c", _points(4))
        with pytest.raises(InvalidFilter, match="declared BOOL"):
            store.count("c", Filter(must=[Match("studio", True)]))


def test_edge_rejects_server_only_options(tmp_path: Path) -> None:
    with open_store(tmp_path) as store:
        with pytest.raises(InvalidArgument, match="one local shard"):
            store.create_collection("c", dim=DIM, payload_schema={}, shard_number=2)
        with pytest.raises(InvalidArgument, match="Qdrant server"):
            store.create_collection("c", dim=DIM, payload_schema={}, shard_key="eu")
        store.create_collection("q", dim=DIM, payload_schema={}, quantization="int8", on_disk=True, shard_number=1)
        store.upsert("q", _points(20))
        assert store.search("q", _points(20)[7].vector, top_k=1)[0].id == _points(20)[7].id


def test_two_stores_in_one_process_share_shards(tmp_path: Path) -> None:
    with open_store(tmp_path) as first, open_store(tmp_path) as second:
        first.create_collection("c", dim=DIM, payload_schema={})
        first.upsert("c", _points(5))
        assert second.count("c") == 5
        second.set_alias("live", "c")
        assert first.resolve("live") == "c"


_HOLDER = textwrap.dedent("""
    import sys
    from paraseek.storage import open_store
    store = open_store(sys.argv[1])
    print(store.count("clips"), flush=True)
    store.set_alias("from_child", "clips")
    print("ready", flush=True)
    sys.stdin.readline()
    store.close()
""")


@pytest.mark.slow
def test_a_second_process_gets_a_clear_lock_error(tmp_path: Path) -> None:
    with open_store(tmp_path) as store:
        store.create_collection("clips", dim=DIM, payload_schema={})
        store.create_collection("other", dim=DIM, payload_schema={})
        store.upsert("clips", _points(3))
    holder = subprocess.Popen([sys.executable, "-c", _HOLDER, str(tmp_path)], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdin is not None
        assert holder.stdout.readline().strip() == "3"
        assert holder.stdout.readline().strip() == "ready"
        with open_store(tmp_path) as store:
            assert store.resolve("from_child") == "clips"  # alias written by the other process
            assert store.describe("clips").count == 3
            with pytest.raises(FailedPrecondition, match="open in another process") as caught:
                store.count("clips")
            assert str(tmp_path) not in str(caught.value)
            with pytest.raises(FailedPrecondition, match="open in another process"):
                store.delete_collection("clips")
            store.upsert("other", _points(2))  # other collections stay usable
            holder.stdin.write("\n")
            holder.stdin.flush()
            assert holder.wait(timeout=30) == 0
            assert store.count("clips") == 3
    finally:
        if holder.poll() is None:
            holder.kill()


# --- reliability: bad field paths, names, limits, deadlines (both backends) -----------------------------


def test_grouping_on_a_field_whose_values_cannot_be_grouped_finishes(store: VectorStore) -> None:
    store.create_collection("scores", dim=DIM, payload_schema={"score": FieldType.KEYWORD, "value": FieldType.FLOAT})
    store.upsert("scores", [Point(p.id, p.vector, {"score": i / 7, "value": i / 7}) for i, p in enumerate(_points())])
    assert store.search("scores", _points()[0].vector, top_k=5, group_by="score") == []  # floats join no group
    with pytest.raises(InvalidArgument, match="FLOAT"):
        store.search("scores", _points()[0].vector, top_k=5, group_by="value")


def test_invalid_field_paths_are_typed_errors(filled: VectorStore) -> None:
    query = _points()[0].vector
    for path in ("../x", "a..b", ".gender", "gender.", "", "gender\n"):
        with pytest.raises(InvalidArgument, match="group_by"):
            filled.search("clips", query, group_by=path)
        with pytest.raises(InvalidArgument, match="facet"):
            filled.facet("clips", path)
    with pytest.raises(InvalidFilter, match="field path"):
        filled.count("clips", Filter(must=[Match("../x", "a")]))
    with pytest.raises(InvalidFilter, match="field path"):
        filled.search("clips", query, filter=Filter(must=[Nested("segments", Filter(must=[Match("a..b", 1)]))]))


def test_names_are_checked_whole_and_against_the_shared_length_limit(store: VectorStore) -> None:
    for name in ("clips\n", "clips\nx", "a" * (MAX_COLLECTION_NAME_CHARS + 1)):
        with pytest.raises(InvalidArgument, match="invalid collection name"):
            store.create_collection(name, dim=DIM, payload_schema={})
        with pytest.raises(InvalidArgument):
            store.set_alias(name, "x")
    longest = "a" * MAX_COLLECTION_NAME_CHARS
    store.create_collection(longest, dim=DIM, payload_schema={})
    assert store.describe(longest).name == longest


def test_top_k_and_offset_limits_come_from_the_shared_limits(filled: VectorStore) -> None:
    query = _points()[0].vector
    assert len(filled.search("clips", query, top_k=MAX_TOP_K)) == 60
    with pytest.raises(InvalidArgument, match="top_k"):
        filled.search("clips", query, top_k=MAX_TOP_K + 1)
    with pytest.raises(InvalidArgument, match="offset"):
        filled.search("clips", query, offset=-1)
    assert filled.search("clips", query, offset=59, top_k=5, exact=True)[0].id == \
        filled.search("clips", query, top_k=60, exact=True)[-1].id


def test_a_grouped_search_past_its_deadline_stops(filled: VectorStore) -> None:
    with pytest.raises(DeadlineExceeded):
        filled.search("clips", _points()[0].vector, group_by="speaker", deadline=time.monotonic() - 0.001)


# --- embedded store: data directory, messages, creation races ----------------------------------------------


def test_edge_messages_name_the_collection_not_the_path(tmp_path: Path) -> None:
    with open_store(tmp_path) as store:
        for call in (lambda: store.describe("missing"), lambda: store.count("missing"),
                     lambda: store.delete_collection("missing")):
            with pytest.raises(CollectionNotFound) as caught:
                call()
            assert "missing" in str(caught.value) and str(tmp_path) not in str(caught.value)


def test_edge_deleted_data_dir_is_unavailable(tmp_path: Path) -> None:
    store = open_store(tmp_path / "data")
    store.create_collection("c", dim=DIM, payload_schema={})
    shutil.rmtree(tmp_path / "data")
    for call in (store.list_collections, lambda: store.describe("c"), lambda: store.count("c"),
                 lambda: store.create_collection("d", dim=DIM, payload_schema={}), lambda: store.set_alias("a", "c"),
                 lambda: store.delete_alias("a")):
        with pytest.raises(Unavailable, match="data directory was removed") as caught:
            call()
        assert str(tmp_path) not in str(caught.value)
    store.close()


def test_edge_unreadable_data_dir_is_unavailable(tmp_path: Path) -> None:
    store = open_store(tmp_path / "data")
    store.create_collection("c", dim=DIM, payload_schema={})
    (tmp_path / "data" / "aliases.json").mkdir()  # a directory where a file belongs: cannot be read
    with pytest.raises(Unavailable, match="cannot be read"):
        store.describe("c")
    store.close()


def test_edge_creation_takes_the_lock_first(tmp_path: Path) -> None:
    with open_store(tmp_path) as store:
        # Another indexer is half-way through creating "clips": it holds the collection's lock.
        directory = tmp_path / "collections" / "clips"
        directory.mkdir(parents=True)
        fd = os.open(directory / ".lock", os.O_RDWR | os.O_CREAT)
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        try:
            with pytest.raises(FailedPrecondition, match="open in another process") as caught:
                store.create_collection("clips", dim=DIM, payload_schema={})
            assert str(tmp_path) not in str(caught.value)
            assert store.list_collections() == []
        finally:
            os.close(fd)
        # The other indexer died before finishing: its leftovers do not block a new creation.
        store.create_collection("clips", dim=DIM, payload_schema={})
        store.upsert("clips", _points(3))
        assert store.count("clips") == 3
        with pytest.raises(AlreadyExists):
            store.create_collection("clips", dim=DIM, payload_schema={})
