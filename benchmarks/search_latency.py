"""Filtered top-10 search latency, recall, build time and memory of the embedded store, against numpy.

Builds an embedded (Qdrant Edge) collection of clustered 768-d vectors with ``gender`` and
``duration`` payloads and finalizes it (HNSW; the store builds each segment's graph as the segment
fills and the rest at finalize, and the build time reported covers both), then times ``gender=female AND 2<=duration<=8``
(about 25 % of the points) top-10 queries through ``EdgeStore.search`` and through numpy brute
force (score every row, mask by the filter columns, partial sort) in the same run. Recall@10 is
measured against the exact answer, computed in chunks over float32.

Vectors are made and ingested in chunks and kept in a scratch file. After the build the store is
opened in a fresh process, as a server starts, which runs every store query: a first set
(``first queries``: run while the store reads the originals and payloads it keeps memory-mapped
into the page cache, as it does whenever it opens a collection) precedes the measured set (steady
state, once that read-ahead is done), which then runs once more (``repeated queries``: the same
graph nodes and vectors, so they are in the CPU's caches too). The resident
memory reported for the store (``rss``) is that process's after the measured queries, printed beside
what it held before opening the store (Python, numpy and paraseek's imports). Collection settings
default to the store's; the flags override them to compare.

    python benchmarks/search_latency.py --points 100000 --queries 200
    python benchmarks/search_latency.py --points 1000000 --json    # last line: JSON rows
"""

from __future__ import annotations

import argparse
import gc
import json
import multiprocessing
import os
import resource
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from paraseek.filters import FieldType, parse_where
from paraseek.storage import Hit, Point, VectorStore, open_store
from paraseek.storage.base import DEFAULT_SEGMENT_POINTS
from paraseek.storage.testing import clustered_vector_chunks

SCHEMA = {"gender": FieldType.KEYWORD, "duration": FieldType.FLOAT}
WHERE = "gender=female duration>=2 duration<=8"
CHUNK = 50_000
UPSERT_BATCH = 1000
# Timed brute-force and exact queries at most: each scans every point.
SCAN_QUERIES = 20


def percentile_ms(samples: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(samples) * 1000.0, q))


def rss_mb() -> tuple[float, float]:
    """The process's resident memory now (anonymous and mapped file pages), and its anonymous part."""
    fields = dict(line.split(":", 1) for line in Path("/proc/self/status").read_text().splitlines() if ":" in line)
    return int(fields["VmRSS"].split()[0]) / 1024, int(fields["RssAnon"].split()[0]) / 1024


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def disk_mb(path: Path) -> float:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) / 2**20


def exact_top_k(vectors_file: Path, points: int, dim: int, queries: np.ndarray, mask: np.ndarray, k: int) -> np.ndarray:
    """Row numbers of the ``k`` best filtered matches per query, scanning the float32 file in chunks."""
    best_scores = np.full((len(queries), k), -np.inf, np.float32)
    best_rows = np.zeros((len(queries), k), np.int64)
    for start in range(0, points, CHUNK):
        size = min(CHUNK, points - start)
        chunk = np.fromfile(vectors_file, np.float32, size * dim, offset=start * dim * 4).reshape(size, dim)
        scores = queries @ chunk.T
        scores[:, ~mask[start:start + size]] = -np.inf
        scores = np.concatenate([best_scores, scores], axis=1)
        rows = np.concatenate([best_rows, np.broadcast_to(np.arange(start, start + size), scores[:, k:].shape)], axis=1)
        top = np.argpartition(-scores, k, axis=1)[:, :k]
        best_scores, best_rows = np.take_along_axis(scores, top, 1), np.take_along_axis(rows, top, 1)
    return best_rows


def brute_force_times(vectors: np.ndarray, mask: np.ndarray, queries: np.ndarray, k: int) -> list[float]:
    """Seconds per query of numpy's filtered top-``k``, the matrix first read into RAM (as the store's is)."""
    def brute_force(query: np.ndarray) -> np.ndarray:
        scores = vectors @ query  # scoring every row beats copying the selected rows out
        scores[~mask] = -np.inf
        return np.argpartition(-scores, k)[:k]

    brute_force(queries[0])
    return timed(brute_force, queries)[0]


def timed(run: Callable[[np.ndarray], Any], queries: np.ndarray) -> tuple[list[float], list[Any]]:
    times, results = [], []
    for query in queries:
        started = time.perf_counter()
        results.append(run(query))
        times.append(time.perf_counter() - started)
    return times, results


def recall_at_k(truth: list[set[str]], found: list[list[Hit]], k: int) -> float:
    return float(np.mean([len(expected & {hit.id for hit in hits}) / k
                          for expected, hits in zip(truth, found, strict=True)]))


@dataclass(frozen=True)
class QueryPhase:
    """What the query process measures: warm-up queries, measured queries, exact scans and extra ef values."""

    data_dir: Path
    collection: str
    top_k: int
    warm: np.ndarray
    queries: np.ndarray
    scanned: np.ndarray
    sweep_ef: list[int]


def run_queries(phase: QueryPhase) -> dict[str, Any]:
    """Open the store in this (fresh) process and time the searches; resident memory before and after.

    The first queries run while the store reads the originals and payloads into the page cache, as
    it does whenever it opens a collection; the measured ones once that has been done.
    """
    flt = parse_where(WHERE, SCHEMA)
    before = rss_mb()
    with open_store(phase.data_dir) as store:
        def search(ef: int | None = None, exact: bool = False) -> Callable[[np.ndarray], list[Hit]]:
            return lambda q: store.search(phase.collection, q, top_k=phase.top_k, filter=flt, hnsw_ef=ef, exact=exact)

        started = time.perf_counter()
        store.warm_up(phase.collection, timeout=0)
        open_s = time.perf_counter() - started
        cold = timed(search(), phase.warm)
        warmed_bytes = store.warm_up(phase.collection)
        warm_s = time.perf_counter() - started
        steady = timed(search(), phase.queries)
        after = rss_mb()
        repeated = timed(search(), phase.queries)  # what these queries read is now in the CPU's caches too
        sweep = {ef: timed(search(ef), phase.queries) for ef in phase.sweep_ef}
        exact = timed(search(exact=True), phase.scanned)
    return {"cold": cold, "steady": steady, "repeated": repeated, "sweep": sweep, "exact": exact, "rss": after,
            "rss_before_open": before, "open_s": open_s, "warmed_mb": warmed_bytes / 2**20, "warm_s": warm_s}


def row(backend: str, times: list[float], recall: float, build_s: float | None, rss: float | None,
        disk: float | None) -> dict[str, Any]:
    def rounded(value: float | None) -> float | None:
        return None if value is None else round(value, 3)

    return {"backend": backend, "p50_ms": rounded(percentile_ms(times, 50)), "p99_ms": rounded(percentile_ms(times, 99)),
            "recall_at_10": rounded(recall), "build_s": rounded(build_s), "rss_mb": rounded(rss), "disk_mb": rounded(disk)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--points", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--dim", type=int, default=768)
    parser.add_argument("--top-k", type=int, default=10)
    parser.add_argument("--data-dir", type=Path, default=None, help="where to build (default: a temporary directory)")
    parser.add_argument("--quantization", choices=["int8", "none"], default=None, help="default: the store's")
    parser.add_argument("--on-disk", action=argparse.BooleanOptionalAction, default=None,
                        help="float32 originals memory-mapped from disk (default: the store's)")
    parser.add_argument("--hnsw-m", type=int, default=None, help="graph links per point (default: the store's)")
    parser.add_argument("--hnsw-ef-construct", type=int, default=None, help="build candidates (default: the store's)")
    parser.add_argument("--segment-points", type=int, default=None,
                        help="most points per graph segment (default: the store's)")
    parser.add_argument("--sweep-ef", default="", help="extra HNSW rows at these search ef values, e.g. 128,512")
    parser.add_argument("--json", action="store_true", help="print the rows as one JSON object on the last line")
    args = parser.parse_args()
    options = {"quantization": args.quantization, "on_disk": args.on_disk, "hnsw_m": args.hnsw_m,
               "hnsw_ef_construct": args.hnsw_ef_construct, "segment_points": args.segment_points}

    rng = np.random.default_rng(0)
    female = rng.random(args.points) < 0.5
    duration = np.round(rng.uniform(0.0, 12.0, args.points), 3)
    mask = female & (duration >= 2.0) & (duration <= 8.0)
    # Twice the queries: the first half warms a freshly opened store up, the second half is measured.
    picks = np.sort(rng.integers(0, args.points, 2 * args.queries))
    noise = 0.5 * rng.standard_normal((2 * args.queries, args.dim)).astype(np.float32) / np.sqrt(args.dim)

    def point_id(row_number: int) -> str:
        return str(uuid.UUID(int=row_number + 1, version=4))

    with tempfile.TemporaryDirectory() as scratch:
        vectors_file = Path(scratch) / "vectors.f32"
        data_dir = args.data_dir or Path(scratch) / "store"
        name = f"bench_{uuid.uuid4().hex[:8]}"
        store: VectorStore
        with open_store(data_dir) as store:
            store.create_collection(name, dim=args.dim, payload_schema=SCHEMA, **options)
            picked: list[np.ndarray] = []
            ingest_s = sealing_s = 0.0
            segment_points = args.segment_points or DEFAULT_SEGMENT_POINTS
            unsealed = 0  # points since the last full segment, counted as the store counts them
            with vectors_file.open("wb") as sink:
                start = 0
                for chunk in clustered_vector_chunks(args.points, args.dim, chunk=CHUNK, clusters=64, seed=0):
                    chunk.tofile(sink)
                    picked.extend(chunk[picks[(picks >= start) & (picks < start + len(chunk))] - start])
                    for first in range(0, len(chunk), UPSERT_BATCH):
                        rows = range(start + first, start + min(first + UPSERT_BATCH, len(chunk)))
                        started = time.perf_counter()
                        store.upsert(name, [
                            Point(point_id(i), chunk[i - start],
                                  {"gender": "female" if female[i] else "male", "duration": float(duration[i])})
                            for i in rows
                        ])
                        elapsed = time.perf_counter() - started
                        unsealed += len(rows)
                        if unsealed >= segment_points:  # this write filled a segment: the call built its graph
                            sealing_s += elapsed
                            unsealed = 0
                        else:
                            ingest_s += elapsed
                    start += len(chunk)
                    del chunk
            store.flush()
            all_queries = np.asarray(picked) + noise
            all_queries /= np.linalg.norm(all_queries, axis=1, keepdims=True)
            all_truth = [{point_id(int(r)) for r in rows}
                         for rows in exact_top_k(vectors_file, args.points, args.dim, all_queries, mask, args.top_k)]
            gc.collect()
            started = time.perf_counter()
            store.finalize(name)
            build_s = sealing_s + time.perf_counter() - started
            build_peak_mb = peak_rss_mb()
        # Interleaved halves: the same distribution, different neighbourhoods.
        warm_queries, queries = all_queries[0::2], all_queries[1::2]
        warm_truth, truth = all_truth[0::2], all_truth[1::2]

        phase = QueryPhase(data_dir, name, args.top_k, warm_queries, queries, queries[:SCAN_QUERIES],
                           [int(value) for value in args.sweep_ef.split(",") if value])
        with multiprocessing.get_context("spawn").Pool(1) as pool:  # a fresh process, as a server starts
            measured = pool.apply(run_queries, (phase,))
        cold_times, cold_hits = measured["cold"]
        edge_times, edge_hits = measured["steady"]
        repeated_times, repeated_hits = measured["repeated"]
        exact_times, exact_hits = measured["exact"]
        sweep = [(f"EdgeStore HNSW ef={ef}", times, recall_at_k(truth, hits, args.top_k))
                 for ef, (times, hits) in measured["sweep"].items()]
        store_rss, store_rss_anon = measured["rss"]
        open_s, warmed_mb, warm_s = measured["open_s"], measured["warmed_mb"], measured["warm_s"]
        python_rss, python_rss_anon = measured["rss_before_open"]
        scanned = phase.scanned
        store_disk = disk_mb(Path(data_dir) / "collections" / name)

        brute_times = brute_force_times(np.memmap(vectors_file, np.float32, "r", shape=(args.points, args.dim)),
                                        mask, scanned, args.top_k)
        matrix_mb = args.points * args.dim * 4 / 2**20

    rows = [
        row("numpy brute force (scan+mask)", brute_times, 1.0, None, matrix_mb, matrix_mb),
        row("EdgeStore exact=True", exact_times, recall_at_k(truth[:len(scanned)], exact_hits, args.top_k), None, None,
            store_disk),
        row("EdgeStore HNSW first queries", cold_times, recall_at_k(warm_truth, cold_hits, args.top_k), build_s, None,
            store_disk),
        row("EdgeStore HNSW (after finalize)", edge_times, recall_at_k(truth, edge_hits, args.top_k), build_s,
            store_rss, store_disk),
        row("EdgeStore HNSW repeated queries", repeated_times, recall_at_k(truth, repeated_hits, args.top_k),
            build_s, None, store_disk),
        *(row(label, times, swept, build_s, None, store_disk) for label, times, swept in sweep),
    ]
    settings = {k: v for k, v in options.items() if v is not None} or "store defaults"
    print(f"points {args.points}  dim {args.dim}  queries {args.queries} ({len(scanned)} for the scans)  "
          f"filter '{WHERE}' selects {mask.mean():.1%}  settings {settings}  "
          f"threads OMP={os.environ.get('OMP_NUM_THREADS', 'unset')}")
    print(f"ingest {ingest_s:.1f} s ({args.points / ingest_s:,.0f} points/s)   finalize (HNSW build) {build_s:.1f} s "
          f"({sealing_s:.1f} s of it while ingesting, as segments filled)")
    print(f"store: {store_rss:,.0f} MB resident in the query process after the queries ({store_rss_anon:,.0f} MB of "
          f"it anonymous, the rest mapped files), of which {python_rss:,.0f} MB ({python_rss_anon:,.0f} MB anonymous) "
          f"before opening the store (Python, numpy, paraseek); {store_disk:,.0f} MB on disk; peak resident "
          f"{build_peak_mb:,.0f} MB in the building process (mostly mapped segment files)")
    print(f"query process: store opened in {open_s:.1f} s (graphs and quantized vectors loaded); {warmed_mb:,.0f} MB "
          f"of originals and payloads read ahead into the page cache, done {warm_s:.1f} s after opening")
    print(f"{'engine':<34}{'p50 ms':>9}{'p99 ms':>9}{'recall@10':>11}")
    for entry in rows:
        print(f"{entry['backend']:<34}{entry['p50_ms']:>9.2f}{entry['p99_ms']:>9.2f}{entry['recall_at_10']:>11.3f}")
    brute_p50, edge_p50 = rows[0]["p50_ms"], rows[3]["p50_ms"]
    print(f"speed-up of EdgeStore HNSW over numpy brute force at p50: {brute_p50 / edge_p50:.1f}x")
    if args.json:
        print(json.dumps({"points": args.points, "dim": args.dim, "queries": args.queries, "settings": settings,
                          "selectivity": round(float(mask.mean()), 4), "ingest_s": round(ingest_s, 1),
                          "build_during_ingest_s": round(sealing_s, 1),
                          "peak_rss_mb": round(build_peak_mb, 1),
                          "query_process_rss_mb": round(store_rss, 1), "query_process_anon_mb": round(store_rss_anon, 1),
                          "rss_before_open_mb": round(python_rss, 1), "anon_before_open_mb": round(python_rss_anon, 1),
                          "open_s": round(open_s, 2), "page_cache_warmed_mb": round(warmed_mb, 1),
                          "page_cache_warm_s": round(warm_s, 2),
                          "rows": rows}))


if __name__ == "__main__":
    main()
