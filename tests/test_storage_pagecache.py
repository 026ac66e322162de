"""The embedded store reads an opened shard's memory-mapped originals and payloads into the page cache."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from paraseek.storage import open_store, pagecache
from paraseek.storage.shards import opened
from paraseek.storage.testing import SAMPLE_SCHEMA, random_points

DIM = 256
POINTS = 12_000  # 12 MB of originals: finalize seals them as a quantized segment with a graph


def resident_bytes(files: list[Path]) -> int:
    """Bytes of ``files`` in the page cache, as util-linux's ``fincore`` reports them."""
    listed = subprocess.run(["fincore", "--bytes", "--noheadings", "--output", "RES", *map(str, files)],
                            capture_output=True, text=True, check=True).stdout
    return sum(int(value) for value in listed.split())


def evict(files: list[Path]) -> None:
    os.sync()
    for path in files:
        fd = os.open(path, os.O_RDONLY)
        try:
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        finally:
            os.close(fd)


@pytest.fixture
def built(tmp_path: Path) -> Path:
    with open_store(tmp_path) as store:
        store.create_collection("voices", dim=DIM, payload_schema=SAMPLE_SCHEMA)
        store.upsert("voices", random_points(POINTS, DIM, seed=1))
        store.finalize("voices")
    return tmp_path


def test_mapped_files_are_the_originals_and_payloads_not_the_pinned_quantized_vectors(built: Path) -> None:
    shard = built / "collections" / "voices" / "shard"
    files = pagecache.mapped_files(shard)
    assert {path.relative_to(shard).parts[2] for path in files} == set(pagecache.MAPPED_FOLDERS)
    originals = [path for path in files if path.name == "matrix.dat"]
    assert len(originals) == 1 and originals[0].stat().st_size >= POINTS * DIM * 4
    quantized = list(shard.glob(f"segments/*/vector_storage/{pagecache.PINNED_PREFIX}*"))
    assert quantized and not set(quantized) & set(files)


@pytest.mark.skipif(shutil.which("fincore") is None, reason="needs util-linux's fincore")
def test_opening_a_shard_reads_its_mapped_files_into_the_page_cache(built: Path) -> None:
    files = pagecache.mapped_files(built / "collections" / "voices" / "shard")
    total = sum(path.stat().st_size for path in files)
    evict(files)
    if resident_bytes(files) > total // 2:
        pytest.skip("this file system keeps its pages in memory (tmpfs?)")
    with open_store(built) as store:
        assert store.warm_up("voices", timeout=30) == total
        deadline = time.monotonic() + 10
        while resident_bytes(files) < total and time.monotonic() < deadline:  # the kernel reads asynchronously
            time.sleep(0.05)
        assert resident_bytes(files) >= total
        hits = store.search("voices", random_points(1, DIM, seed=2)[0].vector, top_k=3)
        assert len(hits) == 3


def test_no_warming_where_the_files_would_crowd_the_available_memory(built: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pagecache, "available_memory_bytes", lambda: 1 << 20)  # 1 MiB free
    with open_store(built) as store:
        assert store.warm_up("voices", timeout=30) == 0
        assert opened(built / "collections" / "voices") is not None  # opened all the same
        assert store.count("voices") == POINTS


def test_deleting_a_collection_stops_its_warmer(built: Path) -> None:
    with open_store(built) as store:
        store.warm_up("voices", timeout=0)
        warmer = opened(built / "collections" / "voices").warmer  # type: ignore[union-attr]
        store.delete_collection("voices")
        assert warmer.wait(timeout=5)
        assert "voices" not in [info.name for info in store.list_collections()]
