"""Whether the embedded store's searches in one process run at the same time, and what they leave the rest.

Builds an embedded (Qdrant Edge) collection of ``--points`` clustered 768-d points with speech-like
payloads (finalized: HNSW), then, in this process:

* runs the server's kind of search (top 10, ``gender=female``, payloads and vectors; default ef)
  back to back from 1, 2 and 4 Python threads, and the same with ``exact=True`` (a scan, where the
  engine's own work dominates): searches per second and the cores the process used meanwhile. If
  searches ran side by side, more threads would answer more per second while cores are idle;
* counts in a pure-Python thread, alone and then while another thread runs exact searches back to
  back: the share of its counting speed that is left. A search that releases the interpreter lock
  leaves that thread a core of its own (about 1 on a machine with a core to spare); one that holds it
  leaves the thread only the moments between searches and the interpreter's forced switches.

The first pass of each kind only warms up and is not reported. ``--json`` ends with one JSON line.

    python benchmarks/store_concurrency.py --points 20000
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np

from paraseek.filters import parse_where
from paraseek.storage import VectorStore, open_store
from paraseek.storage.testing import SAMPLE_SCHEMA, random_points

THREADS = (1, 2, 4)
WHERE = "gender=female"
COLLECTION = "concurrency"


def build(store: VectorStore, points: int, dim: int) -> None:
    store.create_collection(COLLECTION, dim=dim, payload_schema=SAMPLE_SCHEMA)
    for first in range(0, points, 5000):
        store.upsert(COLLECTION, random_points(min(5000, points - first), dim, seed=first))
    store.finalize(COLLECTION)


def searches_per_second(store: VectorStore, queries: np.ndarray, threads: int, options: dict[str, Any]) -> tuple[float, float]:
    """Searches/s of ``threads`` threads sharing ``queries``, and the cores this process used meanwhile."""
    share = len(queries) // threads

    def work(index: int) -> None:
        for query in queries[index * share:(index + 1) * share]:
            store.search(COLLECTION, query, top_k=10, **options)

    workers = [threading.Thread(target=work, args=(i,)) for i in range(threads)]
    cpu, started = time.process_time(), time.perf_counter()
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    elapsed = time.perf_counter() - started
    return share * threads / elapsed, (time.process_time() - cpu) / elapsed


def counting_share_left(store: VectorStore, queries: np.ndarray, seconds: float) -> float:
    """A counting thread's speed while this thread runs exact searches, as a share of its speed alone."""
    stop, count = threading.Event(), [0]

    def counter() -> None:
        while not stop.is_set():
            count[0] += 1

    thread = threading.Thread(target=counter)
    thread.start()
    try:
        time.sleep(0.2)
        before, started = count[0], time.perf_counter()
        time.sleep(seconds)
        alone = (count[0] - before) / (time.perf_counter() - started)
        before, started = count[0], time.perf_counter()
        index = 0
        while time.perf_counter() - started < seconds:
            store.search(COLLECTION, queries[index % len(queries)], top_k=10, exact=True, with_payload=False)
            index += 1
        beside = (count[0] - before) / (time.perf_counter() - started)
    finally:
        stop.set()
        thread.join()
    return beside / alone


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--points", type=int, default=20_000)
    parser.add_argument("--dim", type=int, default=768)
    parser.add_argument("--queries", type=int, default=400, help="searches per measurement")
    parser.add_argument("--seconds", type=float, default=2.0, help="counting time, alone and beside searches")
    parser.add_argument("--json", action="store_true", help="end with one JSON line")
    args = parser.parse_args()

    rng = np.random.default_rng(0)
    queries = rng.standard_normal((args.queries, args.dim)).astype(np.float32)
    queries /= np.linalg.norm(queries, axis=1, keepdims=True)
    kinds = {"hnsw": {"filter": parse_where(WHERE), "with_vectors": True}, "exact": {"exact": True, "with_payload": False}}
    result: dict[str, Any] = {"points": args.points, "dim": args.dim, "cores": os.cpu_count()}
    with tempfile.TemporaryDirectory() as scratch, open_store(Path(scratch)) as store:
        started = time.perf_counter()
        build(store, args.points, args.dim)
        print(f"{args.points} points of {args.dim}-d built in {time.perf_counter() - started:.1f} s; "
              f"{os.cpu_count()} cores")
        print(f"{'search':>6} {'threads':>7} {'searches/s':>10} {'cores used':>10}")
        for kind, options in kinds.items():
            searches_per_second(store, queries, 1, options)  # warm-up
            for threads in THREADS:
                rate, cores = searches_per_second(store, queries, threads, options)
                result[f"{kind}_qps_{threads}"], result[f"{kind}_cores_{threads}"] = round(rate, 1), round(cores, 2)
                print(f"{kind:>6} {threads:>7} {rate:10.1f} {cores:10.2f}")
            result[f"{kind}_gain_{THREADS[-1]}"] = round(result[f"{kind}_qps_{THREADS[-1]}"] / result[f"{kind}_qps_1"], 2)
        result["counting_share_left"] = round(counting_share_left(store, queries, args.seconds), 3)
    print(f"{THREADS[-1]} threads against 1: {result[f'hnsw_gain_{THREADS[-1]}']:.2f}x the HNSW searches/s, "
          f"{result[f'exact_gain_{THREADS[-1]}']:.2f}x the exact ones")
    print(f"a pure-Python thread beside back-to-back exact searches keeps {100 * result['counting_share_left']:.0f} % "
          f"of its speed alone")
    if args.json:
        print(json.dumps(result))


if __name__ == "__main__":
    main()
