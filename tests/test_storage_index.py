"""Vector-index settings: the defaults new collections get, their checks, and the search-time ef."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import qdrant_edge as qe

from paraseek.errors import InvalidArgument
from paraseek.storage import Point, VectorStore, open_store
from paraseek.storage.base import (
    DEFAULT_HNSW_EF_CONSTRUCT,
    DEFAULT_HNSW_M,
    DEFAULT_SEGMENT_POINTS,
    MIN_SEARCH_HNSW_EF,
    MIN_SEGMENT_POINTS,
    SEARCH_HNSW_EF,
    default_ef,
    index_options,
    search_ef,
)
from paraseek.storage.testing import SAMPLE_SCHEMA, clustered_vector_chunks, clustered_vectors, random_points

DIM = 16


@pytest.fixture(params=["edge", "server"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[VectorStore]:
    opened = open_store(tmp_path / "data") if request.param == "edge" else open_store(url=":memory:")
    with opened:
        yield opened


def test_defaults_quantize_and_keep_originals_on_disk_only_with_quantization() -> None:
    assert index_options({}) == {"quantization": "int8", "on_disk": True, "hnsw_m": DEFAULT_HNSW_M,
                                 "hnsw_ef_construct": DEFAULT_HNSW_EF_CONSTRUCT,
                                 "segment_points": DEFAULT_SEGMENT_POINTS}
    assert index_options({"quantization": "none"})["on_disk"] is False
    assert index_options({"quantization": "none", "on_disk": True, "hnsw_m": 32})["hnsw_m"] == 32


def test_search_ef_never_returns_fewer_candidates_than_hits() -> None:
    assert search_ef(10, 0) == SEARCH_HNSW_EF
    assert search_ef(10, 0, 64) == 64
    assert search_ef(100, 9_000, 64) == 9_100


def test_default_ef_grows_with_the_collection_up_to_the_million_point_setting() -> None:
    sizes = [0, 1_000, 50_000, 100_000, 400_000, 1_000_000, 20_000_000]
    efs = [default_ef(n) for n in sizes]
    assert efs == sorted(efs)
    assert efs[0] == MIN_SEARCH_HNSW_EF and efs[-1] == SEARCH_HNSW_EF == default_ef(1_000_000)
    assert default_ef(100_000) == 183  # measured recall@10 0.995 at 100k points
    assert default_ef(500_000) == 609  # per segment of a million-point collection: 576 gave 0.994, 640 0.996
    assert search_ef(10, 0, points=100_000) == default_ef(100_000)
    assert search_ef(10, 0, 64, points=100_000) == 64  # an explicit value wins
    assert search_ef(10, 2_000, points=100_000) == 2_010


def test_embedded_shard_gets_the_index_settings(tmp_path: Path) -> None:
    with open_store(tmp_path) as store:
        store.create_collection("plain", dim=DIM, payload_schema={}, quantization="none", hnsw_m=32,
                                hnsw_ef_construct=200)
        store.create_collection("default", dim=DIM, payload_schema={})
    shards = tmp_path / "collections"
    plain = json.loads((shards / "plain" / "shard" / "edge_config.json").read_text())
    default = json.loads((shards / "default" / "shard" / "edge_config.json").read_text())
    assert (plain["hnsw_config"]["m"], plain["hnsw_config"]["ef_construct"]) == (32, 200)
    assert plain["vectors"][""].get("quantization_config") is None
    assert (default["hnsw_config"]["m"], default["hnsw_config"]["memory"]) == (DEFAULT_HNSW_M, "pinned")
    assert default["vectors"][""]["quantization_config"]["scalar"]["type"] == "int8"
    assert default["vectors"][""]["memory"] == "cold"
    assert json.loads((shards / "default" / "collection.json").read_text())["options"] == index_options({})


def test_default_search_returns_the_exact_neighbours_and_scores(store: VectorStore) -> None:
    points = random_points(400, DIM, seed=3)
    store.create_collection("c", dim=DIM, payload_schema=SAMPLE_SCHEMA)
    store.upsert("c", points)
    store.finalize("c")
    matrix = np.stack([p.vector for p in points])
    for query in clustered_vectors(5, DIM, seed=9):
        hits = store.search("c", query, top_k=10)
        exact = matrix @ query
        assert [h.id for h in hits] == [points[i].id for i in np.argsort(-exact)[:10]]
        assert np.allclose([h.score for h in hits], np.sort(exact)[::-1][:10], atol=1e-5)


@pytest.mark.parametrize("options", [{"hnsw_m": 2}, {"hnsw_m": True}, {"hnsw_ef_construct": "100"},
                                     {"quantization": "int4"}, {"segment_points": MIN_SEGMENT_POINTS - 1}])
def test_bad_index_options_are_refused(store: VectorStore, options: dict[str, object]) -> None:
    with pytest.raises(InvalidArgument, match=next(iter(options)).split("_")[0]):
        store.create_collection("c", dim=DIM, payload_schema={}, **options)


def test_a_large_collection_is_written_as_graph_segments_of_the_set_size(tmp_path: Path) -> None:
    dim, segment = 384, MIN_SEGMENT_POINTS  # 15 MB of vectors per segment: above Qdrant's indexing threshold
    vectors = np.concatenate(list(clustered_vector_chunks(2 * segment + 4_000, dim, chunk=4_000, seed=2)))
    ids = [str(uuid.UUID(int=i + 1)) for i in range(len(vectors))]

    def write(store: VectorStore, rows: range) -> None:
        for first in range(rows.start, rows.stop, 1_000):
            store.upsert("c", [Point(ids[i], vectors[i], {}) for i in range(first, min(first + 1_000, rows.stop))])

    with open_store(tmp_path) as store:
        store.create_collection("c", dim=dim, payload_schema={}, segment_points=segment)
        write(store, range(0, segment + 3_000))
    with open_store(tmp_path) as store:  # reopened: the points already written count towards the next segment
        write(store, range(segment + 3_000, len(vectors)))
        store.finalize("c")
        queries = vectors[::997] + 0.05 * clustered_vectors(len(vectors[::997]), dim, seed=5)
        found = [{hit.id for hit in store.search("c", query, top_k=10)} for query in queries]
    shard = qe.EdgeShard.load(str(tmp_path / "collections" / "c" / "shard"))
    try:
        info = shard.info()
    finally:
        shard.close()
    # Two sealed segments with graphs, none merged past the set size, and the 4,000 points after
    # them in the segment being written (too small for a graph: searched exactly).
    assert (info.segments_count, info.points_count, info.indexed_vectors_count) == (3, len(vectors), 2 * segment)
    exact = [{ids[i] for i in np.argsort(-(vectors @ query))[:10]} for query in queries]
    recall = np.mean([len(a & b) / 10 for a, b in zip(found, exact, strict=True)])
    assert recall >= 0.95


def test_hnsw_ef_is_checked_and_never_cuts_the_hits(store: VectorStore) -> None:
    store.create_collection("c", dim=DIM, payload_schema={}, quantization="none")
    points = random_points(50, DIM)
    store.upsert("c", points)
    assert len(store.search("c", points[0].vector, top_k=20, hnsw_ef=1)) == 20
    for bad in (0, True, 2.5):
        with pytest.raises(InvalidArgument, match="hnsw_ef"):
            store.search("c", points[0].vector, hnsw_ef=bad)


def test_vector_chunks_are_unit_and_repeatable() -> None:
    chunks = list(clustered_vector_chunks(25, DIM, chunk=10, seed=4))
    assert [len(c) for c in chunks] == [10, 10, 5]
    vectors = np.concatenate(chunks)
    assert vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert np.array_equal(vectors, np.concatenate(list(clustered_vector_chunks(25, DIM, chunk=10, seed=4))))
    assert not np.array_equal(vectors, np.concatenate(list(clustered_vector_chunks(25, DIM, chunk=10, seed=5))))
