"""The embedded store (Qdrant Edge) and the server store (qdrant-client local mode) give the same answers."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest

from paraseek.filters import Filter, parse_where
from paraseek.storage import Point, VectorStore, open_store
from paraseek.storage.testing import SAMPLE_SCHEMA, clustered_vectors, random_points

DIM = 32
POINTS = random_points(400, DIM, seed=7)
QUERIES = clustered_vectors(12, DIM, seed=7)  # same centres as the points: realistic neighbourhoods
WHERE = [
    "",
    "gender=female",
    "gender=female duration<8",
    "duration>=2 duration<=8 gender!=male",
    "studio=true",
    "studio=false year>2010",
    "speaker in [spk001,spk002,spk003,spk010]",
    "speaker not in [spk001,spk002] tags.pitch=low-pitched",
    "year in [2001,2005,2019]",
    "transcript~rain",
    "tags.pitch!=high-pitched studio!=true",
]


@pytest.fixture(scope="module")
def stores(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, VectorStore]]:
    edge = open_store(tmp_path_factory.mktemp("edge"))
    server = open_store(url=":memory:")
    for store in (edge, server):
        store.create_collection("corpus_v1", dim=DIM, payload_schema=SAMPLE_SCHEMA, metadata={"model": "test"})
        for start in range(0, len(POINTS), 100):
            store.upsert("corpus_v1", POINTS[start:start + 100])
        store.set_alias("corpus", "corpus_v1")
    yield {"edge": edge, "server": server}
    edge.close()
    server.close()


def _filter(where: str) -> Filter:
    return parse_where(where, SAMPLE_SCHEMA)


def _expected_count(where: str) -> int:
    """Counted by hand from the payloads, so both backends are checked against the truth."""
    flt = _filter(where)
    return sum(_matches(p.payload, flt) for p in POINTS)


def _matches(payload: dict, flt: Filter) -> bool:
    from paraseek.filters import Match, MatchAny, MatchText, Range

    def value(field: str):  # noqa: ANN202
        node = payload
        for part in field.split("."):
            node = node.get(part) if isinstance(node, dict) else None
        return node

    def holds(condition) -> bool:  # noqa: ANN001
        if isinstance(condition, Filter):
            return _matches(payload, condition)
        found = value(condition.field)
        if isinstance(condition, Match):
            return found == condition.value and type(found) is type(condition.value)
        if isinstance(condition, MatchAny):
            return found in condition.values
        if isinstance(condition, MatchText):
            return condition.text in str(found).split()
        if isinstance(condition, Range):
            bounds = condition.bounds()
            return found is not None and all(
                {"gt": found > b, "gte": found >= b, "lt": found < b, "lte": found <= b}[k] for k, b in bounds.items())
        raise AssertionError(condition)

    return (all(holds(c) for c in flt.must) and (not flt.should or any(holds(c) for c in flt.should))
            and not any(holds(c) for c in flt.must_not))


@pytest.mark.parametrize("where", WHERE)
def test_counts_agree_with_each_other_and_the_truth(stores: dict[str, VectorStore], where: str) -> None:
    expected = _expected_count(where)
    assert 0 < expected <= len(POINTS)
    for store in stores.values():
        assert store.count("corpus", _filter(where)) == expected, store


def test_describe_agrees(stores: dict[str, VectorStore]) -> None:
    edge, server = stores["edge"].describe("corpus"), stores["server"].describe("corpus")
    for info in (edge, server):
        assert info.name == "corpus_v1"
        assert info.aliases == ["corpus"]
        assert info.count == len(POINTS)
        assert info.dim == DIM
        assert info.payload_schema == SAMPLE_SCHEMA
        assert info.metadata["model"] == "test" and "created" in info.metadata
    assert [c.name for c in stores["edge"].list_collections()] == [c.name for c in stores["server"].list_collections()]


def _brute_force(query: np.ndarray, where: str, top_k: int) -> list[tuple[str, float]]:
    chosen = [p for p in POINTS if _matches(p.payload, _filter(where))]
    matrix = np.stack([p.vector for p in chosen])
    scores = matrix @ (query / np.linalg.norm(query)) / np.linalg.norm(matrix, axis=1)
    order = np.argsort(-scores)[:top_k]
    return [(chosen[i].id, float(scores[i])) for i in order]


@pytest.mark.parametrize("where", WHERE)
def test_exact_search_agrees(stores: dict[str, VectorStore], where: str) -> None:
    for query in QUERIES[:4]:
        expected = _brute_force(query, where, 10)
        for name, store in stores.items():
            hits = store.search("corpus", query, top_k=10, filter=_filter(where), exact=True)
            assert [h.id for h in hits] == [i for i, _ in expected], name
            np.testing.assert_allclose([h.score for h in hits], [s for _, s in expected], atol=1e-5)


def test_search_options_agree(stores: dict[str, VectorStore]) -> None:
    query = QUERIES[5]
    results = {}
    for name, store in stores.items():
        default = store.search("corpus", query, top_k=25)
        threshold = (default[9].score + default[10].score) / 2
        cut = store.search("corpus", query, top_k=25, score_threshold=threshold, with_payload=["gender", "tags.pitch"],
                           with_vectors=True)
        bare = store.search("corpus", query, top_k=3, with_payload=False)
        results[name] = (default, cut, bare)
        assert [h.id for h in cut] == [h.id for h in default[:10]]
        assert all(set(h.payload) == {"gender", "tags"} and set(h.payload["tags"]) == {"pitch"} for h in cut)
        assert all(h.vector is not None and h.vector.shape == (DIM,) for h in cut)
        assert all(h.payload == {} and h.vector is None for h in bare)
    (edge_default, edge_cut, _), (server_default, server_cut, _) = results["edge"], results["server"]
    assert [h.id for h in edge_default] == [h.id for h in server_default]
    assert [h.payload for h in edge_default] == [h.payload for h in server_default]
    assert [h.id for h in edge_cut] == [h.id for h in server_cut]
    np.testing.assert_allclose(np.stack([h.vector for h in edge_cut]), np.stack([h.vector for h in server_cut]), atol=1e-6)


@pytest.mark.parametrize("where", ["", "gender=female", "duration<4"])
def test_group_by_agrees(stores: dict[str, VectorStore], where: str) -> None:
    for query in QUERIES[:3]:
        ranked = _brute_force(query, where, len(POINTS))
        speaker_of = {p.id: p.payload["speaker"] for p in POINTS}
        expected, seen = [], set()
        for point_id, score in ranked:
            if speaker_of[point_id] not in seen:
                seen.add(speaker_of[point_id])
                expected.append((point_id, score))
        expected = expected[:12]
        for name, store in stores.items():
            hits = store.search("corpus", query, top_k=12, filter=_filter(where), group_by="speaker", exact=True,
                                with_payload=["gender"])
            assert [h.id for h in hits] == [i for i, _ in expected], name
            np.testing.assert_allclose([h.score for h in hits], [s for _, s in expected], atol=1e-5)
            assert all(set(h.payload) == {"gender"} for h in hits)


def test_group_by_with_more_groups_asked_than_exist(stores: dict[str, VectorStore]) -> None:
    speakers = {p.payload["speaker"] for p in POINTS if p.payload["gender"] == "female"}
    for store in stores.values():
        hits = store.search("corpus", QUERIES[0], top_k=100, group_by="speaker", exact=True, filter=_filter("gender=female"))
        assert sorted(h.payload["speaker"] for h in hits) == sorted(speakers)


def test_retrieve_and_existing_ids_agree(stores: dict[str, VectorStore]) -> None:
    missing = "00000000-0000-4000-8000-000000000000"
    wanted = [POINTS[5].id, missing, POINTS[3].id.upper(), POINTS[5].id]
    results = {}
    for name, store in stores.items():
        got = store.retrieve("corpus", wanted, with_vectors=True)
        assert [p.id for p in got] == [POINTS[5].id, POINTS[3].id]
        assert [p.payload for p in got] == [POINTS[5].payload, POINTS[3].payload]
        for point, original in zip(got, (POINTS[5], POINTS[3])):
            np.testing.assert_allclose(point.vector, original.vector / np.linalg.norm(original.vector), atol=1e-6)
        assert store.existing_ids("corpus", wanted) == {POINTS[5].id, POINTS[3].id}
        results[name] = got
    assert isinstance(results["edge"][0].payload["studio"], bool)


@pytest.mark.parametrize("where", ["", "gender=male studio=true"])
def test_scroll_agrees(stores: dict[str, VectorStore], where: str) -> None:
    pages: dict[str, list[list[str]]] = {}
    for name, store in stores.items():
        offset, pages[name] = None, []
        while True:
            page, offset = store.scroll("corpus", filter=_filter(where), limit=37, offset=offset)
            pages[name].append([p.id for p in page])
            if offset is None:
                break
    assert pages["edge"] == pages["server"]
    ids = [i for page in pages["edge"] for i in page]
    assert ids == sorted(p.id for p in POINTS if _matches(p.payload, _filter(where)))


def test_writes_alias_swap_and_delete_agree(stores: dict[str, VectorStore]) -> None:
    changed = [Point(POINTS[0].id, POINTS[1].vector, {**POINTS[0].payload, "gender": "other"})]
    for store in stores.values():
        store.create_collection("scratch_v1", dim=DIM, payload_schema=SAMPLE_SCHEMA)
        store.create_collection("scratch_v2", dim=DIM, payload_schema=SAMPLE_SCHEMA)
        store.upsert("scratch_v1", POINTS[:50])
        store.upsert("scratch_v1", POINTS[:50])  # idempotent
        store.upsert("scratch_v2", POINTS[50:80] + changed)
        store.upsert("scratch_v2", changed)
        store.set_alias("scratch", "scratch_v1")
        assert store.count("scratch") == 50
        store.set_alias("scratch", "scratch_v2")
        assert store.resolve("scratch") == "scratch_v2"
        assert store.count("scratch") == 31
        assert store.count("scratch", _filter("gender=other")) == 1
        hit = store.search("scratch", POINTS[1].vector, top_k=1, exact=True)[0]
        assert hit.id == POINTS[0].id and hit.payload["gender"] == "other"
        store.delete_collection("scratch_v1")
        store.delete_collection("scratch_v2")
        assert store.describe("corpus").aliases == ["corpus"]
        assert "scratch" not in [a for c in store.list_collections() for a in c.aliases]
    edge_names = [c.name for c in stores["edge"].list_collections()]
    assert edge_names == [c.name for c in stores["server"].list_collections()] == ["corpus_v1"]


def test_module_data_is_not_degenerate() -> None:
    # The congruence checks above only mean something if filters select varied subsets.
    counts = {where: _expected_count(where) for where in WHERE}
    assert len(set(counts.values())) > len(WHERE) // 2
