"""The embedded store (Qdrant Edge) and the server store (qdrant-client local mode) give the same answers."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterator

import numpy as np
import pytest

from paraseek.errors import DeadlineExceeded, InvalidArgument
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
        for point, original in zip(got, (POINTS[5], POINTS[3]), strict=True):
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
    assert edge_names == [c.name for c in stores["server"].list_collections()]
    assert "scratch_v1" not in edge_names and "corpus_v1" in edge_names


def test_module_data_is_not_degenerate() -> None:
    # The congruence checks above only mean something if filters select varied subsets.
    counts = {where: _expected_count(where) for where in WHERE}
    assert len(set(counts.values())) > len(WHERE) // 2


def _ranked_groups(query: np.ndarray, where: str, groups_of: Callable[[dict], list]) -> list[tuple[str, float]]:
    """Best hit per group, groups ranked by it, each point once: computed from the points by hand."""
    best, seen = [], set()
    for point_id, score in _brute_force(query, where, len(POINTS)):
        payload = next(p.payload for p in POINTS if p.id == point_id)
        new = [g for g in groups_of(payload) if g not in seen]
        seen.update(new)
        if new:
            best.append((point_id, score))
    return best


def test_search_pages_with_offset_agree(stores: dict[str, VectorStore]) -> None:
    for query in QUERIES[:2]:
        expected = [i for i, _ in _brute_force(query, "gender=female", 30)]
        for name, store in stores.items():
            pages = [store.search("corpus", query, top_k=10, offset=offset, filter=_filter("gender=female"), exact=True)
                     for offset in (0, 10, 20)]
            assert [h.id for page in pages for h in page] == expected, name


@pytest.mark.parametrize(("field", "where"), [("year", ""), ("speaker", "duration<8"), ("tags.pitch", "")])
def test_group_by_integer_and_keyword_fields_with_offset_agree(stores: dict[str, VectorStore], field: str,
                                                               where: str) -> None:
    def groups_of(payload: dict) -> list:
        node = payload
        for part in field.split("."):
            node = node[part]
        return [node]

    expected = [i for i, _ in _ranked_groups(QUERIES[1], where, groups_of)]
    assert len(expected) >= 3
    for name, store in stores.items():
        first = store.search("corpus", QUERIES[1], top_k=2, filter=_filter(where), group_by=field, exact=True)
        rest = store.search("corpus", QUERIES[1], top_k=100, offset=2, filter=_filter(where), group_by=field,
                            exact=True)
        assert [h.id for h in first + rest] == expected, name


@pytest.fixture(scope="module")
def tagged(stores: dict[str, VectorStore]) -> list[Point]:
    """A collection whose keyword field holds arrays, and in some points values of another type."""
    points = []
    for i, point in enumerate(POINTS[:120]):
        tags = [f"t{i % 7}", f"t{i % 5}"] if i % 3 else [f"t{i % 4}"]
        if i % 11 == 0:
            tags = [i / 7] if i % 2 else [f"t{i % 3}", 1.5]  # floats: the point joins no group
        points.append(Point(point.id, point.vector, {"tags": tags, "score": i / 3, "flag": i % 4 == 0}))
    for store in stores.values():
        store.create_collection("tagged", dim=DIM, payload_schema={"tags": "keyword", "score": "float",
                                                                   "flag": "bool"})
        store.upsert("tagged", points)
    return points


def test_group_by_array_fields_agree(stores: dict[str, VectorStore], tagged: list[Point]) -> None:
    by_id = {p.id: p for p in tagged}
    query = QUERIES[3]
    scores = {p.id: float(p.vector @ query / np.linalg.norm(p.vector) / np.linalg.norm(query)) for p in tagged}
    best, seen = [], set()
    for point_id in sorted(scores, key=lambda i: -scores[i]):
        tags = by_id[point_id].payload["tags"]
        if all(isinstance(t, str) for t in tags) and any(t not in seen for t in tags):
            seen.update(tags)
            best.append(point_id)
    results = {name: [h.id for h in store.search("tagged", query, top_k=20, group_by="tags", exact=True)]
               for name, store in stores.items()}
    assert results["edge"] == results["server"] == best
    assert len(best) < 12  # every group found: 7 + 5 + 4 values overlap to 7 groups, hits shared between groups


def test_group_by_refuses_fields_it_cannot_group_on_both_backends(stores: dict[str, VectorStore],
                                                                  tagged: list[Point]) -> None:
    for store in stores.values():
        for field in ("score", "flag", "undeclared", "../x", "tags..x", "tags\n"):
            with pytest.raises(InvalidArgument, match="group_by"):
                store.search("tagged", QUERIES[0], group_by=field)


def _truth_counts(field: str, where: str) -> Counter:
    counts: Counter = Counter()
    for point in POINTS:
        if _matches(point.payload, _filter(where)):
            node = point.payload
            for part in field.split("."):
                node = node[part]
            counts[node] += 1
    return counts


@pytest.mark.parametrize(("field", "where", "limit"), [
    ("gender", "", 10), ("speaker", "duration<8", 5), ("year", "gender=female", 100), ("studio", "year>2010", 10),
    ("tags.pitch", "studio=true", 2),
])
def test_facets_agree_with_each_other_and_the_truth(stores: dict[str, VectorStore], field: str, where: str,
                                                    limit: int) -> None:
    truth = sorted(_truth_counts(field, where).items(), key=lambda item: (-item[1], item[0]))[:limit]
    assert truth and truth[0][1] > 1
    for name, store in stores.items():
        got = store.facet("corpus", field, filter=_filter(where), limit=limit)
        assert got == truth, name
        assert all(type(value) is type(truth[0][0]) for value, _ in got), name


def test_facets_count_array_values_once_per_point(stores: dict[str, VectorStore], tagged: list[Point]) -> None:
    truth: Counter = Counter()
    for point in tagged:
        truth.update({t for t in point.payload["tags"] if isinstance(t, str)})
    expected = sorted(truth.items(), key=lambda item: (-item[1], item[0]))
    for name, store in stores.items():
        assert store.facet("tagged", "tags", limit=100) == expected, name
        assert dict(store.facet("tagged", "flag")) == {True: 30, False: 90}, name
        for field in ("score", "undeclared", "a..b"):
            with pytest.raises(InvalidArgument, match="facet"):
                store.facet("tagged", field)


def test_deadlines_are_kept_on_both_backends(stores: dict[str, VectorStore]) -> None:
    passed = time.monotonic() - 1
    for store in stores.values():
        with pytest.raises(DeadlineExceeded):
            store.search("corpus", QUERIES[0], deadline=passed)
        with pytest.raises(DeadlineExceeded):
            store.search("corpus", QUERIES[0], group_by="speaker", deadline=passed)
        with pytest.raises(DeadlineExceeded):
            store.scroll("corpus", deadline=passed)
        with pytest.raises(DeadlineExceeded):
            store.facet("corpus", "speaker", deadline=passed)
        assert len(store.search("corpus", QUERIES[0], group_by="speaker", deadline=time.monotonic() + 60)) == 10
