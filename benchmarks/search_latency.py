"""Filtered top-10 search latency and recall of the embedded store, against numpy brute force.

Builds an embedded (Qdrant Edge) collection of clustered 768-d vectors with ``gender`` and
``duration`` payloads, finalizes it (HNSW), then times ``gender=female AND 2<=duration<=8``
(about 25 % of the points) top-10 queries through ``EdgeStore.search`` and through numpy brute
force (score every row, mask by the filter columns, partial sort) in the same run. Recall@10 is
measured against the exact answer.

    python benchmarks/search_latency.py --points 100000 --queries 200
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
import uuid
from pathlib import Path

import numpy as np

from paraseek.filters import FieldType, parse_where
from paraseek.storage import Point, open_store
from paraseek.storage.testing import clustered_vectors

SCHEMA = {"gender": FieldType.KEYWORD, "duration": FieldType.FLOAT}
WHERE = "gender=female duration>=2 duration<=8"


def percentile_ms(samples: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(samples) * 1000.0, q))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--points", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--dim", type=int, default=768)
    parser.add_argument("--top-k", type=int, default=10)
    parser.add_argument("--data-dir", type=Path, default=None, help="where to build (default: a temporary directory)")
    args = parser.parse_args()

    rng = np.random.default_rng(0)
    vectors = clustered_vectors(args.points, args.dim, clusters=64, seed=0)
    female = rng.random(args.points) < 0.5
    duration = np.round(rng.uniform(0.0, 12.0, args.points), 3)
    ids = [str(uuid.UUID(int=i + 1, version=4)) for i in range(args.points)]
    picks = rng.integers(0, args.points, args.queries)
    queries = vectors[picks] + 0.5 * rng.standard_normal((args.queries, args.dim)).astype(np.float32) / np.sqrt(args.dim)
    queries /= np.linalg.norm(queries, axis=1, keepdims=True)

    with tempfile.TemporaryDirectory() as scratch:
        data_dir = args.data_dir or Path(scratch)
        with open_store(data_dir) as store:
            name = f"bench_{uuid.uuid4().hex[:8]}"
            store.create_collection(name, dim=args.dim, payload_schema=SCHEMA)
            started = time.perf_counter()
            batch = 1000
            for start in range(0, args.points, batch):
                store.upsert(name, [
                    Point(ids[i], vectors[i], {"gender": "female" if female[i] else "male", "duration": float(duration[i])})
                    for i in range(start, min(start + batch, args.points))
                ])
            store.flush()
            ingest_s = time.perf_counter() - started
            started = time.perf_counter()
            store.finalize(name)
            finalize_s = time.perf_counter() - started

            flt = parse_where(WHERE, SCHEMA)
            store.search(name, queries[0], top_k=args.top_k, filter=flt)  # warm-up
            edge_times, brute_times, recalls, selected = [], [], [], 0
            for query in queries:
                started = time.perf_counter()
                hits = store.search(name, query, top_k=args.top_k, filter=flt)
                edge_times.append(time.perf_counter() - started)

                started = time.perf_counter()
                mask = female & (duration >= 2.0) & (duration <= 8.0)
                scores = vectors @ query  # scoring every row beats copying the selected rows out
                scores[~mask] = -np.inf
                top = np.argpartition(-scores, args.top_k)[:args.top_k]
                brute_times.append(time.perf_counter() - started)

                selected = int(mask.sum())
                truth = {ids[i] for i in top}
                recalls.append(len(truth & {h.id for h in hits}) / args.top_k)

            exact_times = []
            for query in queries[: min(50, args.queries)]:
                started = time.perf_counter()
                store.search(name, query, top_k=args.top_k, filter=flt, exact=True)
                exact_times.append(time.perf_counter() - started)

    edge_p50, brute_p50 = percentile_ms(edge_times, 50), percentile_ms(brute_times, 50)
    print(f"points {args.points}  dim {args.dim}  queries {args.queries}  filter '{WHERE}' "
          f"selects {selected / args.points:.1%}  threads OMP={os.environ.get('OMP_NUM_THREADS', 'unset')}")
    print(f"ingest {ingest_s:.1f} s ({args.points / ingest_s:,.0f} points/s)   finalize (HNSW build) {finalize_s:.1f} s")
    print(f"{'engine':<34}{'p50 ms':>9}{'p99 ms':>9}{'recall@10':>11}")
    print(f"{'numpy brute force (scan+mask)':<34}{brute_p50:>9.2f}{percentile_ms(brute_times, 99):>9.2f}{1.0:>11.3f}")
    print(f"{'EdgeStore exact=True':<34}{percentile_ms(exact_times, 50):>9.2f}{percentile_ms(exact_times, 99):>9.2f}{1.0:>11.3f}")
    print(f"{'EdgeStore HNSW (after finalize)':<34}{edge_p50:>9.2f}{percentile_ms(edge_times, 99):>9.2f}"
          f"{float(np.mean(recalls)):>11.3f}")
    print(f"speed-up of EdgeStore HNSW over numpy brute force at p50: {brute_p50 / edge_p50:.1f}x")


if __name__ == "__main__":
    main()
