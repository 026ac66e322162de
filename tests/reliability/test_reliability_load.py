"""Load: 32 concurrent clients of mixed calls against a real server, alone and beside one large-request client."""

from __future__ import annotations

import itertools
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from conftest import COLLECTION, FULL, Figures

from paraseek.client import Client
from paraseek.errors import ParaseekError
from paraseek.server.testing import ServeProcess
from paraseek.testing import tone, write_audio

CLIENTS = 32
SECONDS = 20.0 if FULL else 2.0
LARGE_TEXTS, LARGE_CHARS = 256, 900

Call = Callable[[Client], object]


def mixed_calls(clip: bytes) -> list[tuple[str, Call]]:
    """The small calls the clients pick from at random."""
    return [
        ("search", lambda c: c.search("a calm low voice", collection=COLLECTION, top_k=5)),
        ("search_where", lambda c: c.search("a bright voice", collection=COLLECTION, where="gender=female duration<8")),
        ("search_group_by", lambda c: c.search("a fast voice", collection=COLLECTION, group_by="speaker")),
        ("classify", lambda c: c.classify(clip)),
        ("embed_text", lambda c: c.embed_text([f"a voice number {random.randrange(10**6)}"])),
        ("describe", lambda c: c.describe_collection(COLLECTION)),
        ("server_info", lambda c: c.server_info()),
    ]


@dataclass
class Tally:
    """Latencies of the calls that succeeded and the names of the errors of those that did not."""

    latencies: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def run(self, call: Call, client: Client) -> None:
        started = time.perf_counter()
        try:
            call(client)
        except ParaseekError as error:
            with self.lock:
                self.errors.append(f"{type(error).__name__}: {str(error)[:200]}")
            return
        with self.lock:
            self.latencies.append(time.perf_counter() - started)

    def figures(self, prefix: str = "") -> dict[str, object]:
        ms = np.asarray(self.latencies) * 1e3
        return {f"{prefix}ok": len(self.latencies), f"{prefix}errors": len(self.errors),
                f"{prefix}p50_ms": round(float(np.percentile(ms, 50)), 2) if len(ms) else None,
                f"{prefix}p99_ms": round(float(np.percentile(ms, 99)), 2) if len(ms) else None}


def small_clients(address: str, calls: list[tuple[str, Call]], until: float, tally: Tally) -> list[threading.Thread]:
    def loop(seed: int) -> None:
        chooser = random.Random(seed)
        with Client(address, timeout=30, retries=0) as client:
            while time.monotonic() < until:
                tally.run(chooser.choice(calls)[1], client)

    return [threading.Thread(target=loop, args=(seed,), daemon=True) for seed in range(CLIENTS)]


def large_client(address: str, until: float, tally: Tally) -> threading.Thread:
    def loop() -> None:
        with Client(address, timeout=60, retries=0) as client:
            for round_number in itertools.count():
                if time.monotonic() >= until:
                    return
                texts = [f"{round_number} {i} " + "a breathy voice " * (LARGE_CHARS // 16) for i in range(LARGE_TEXTS)]
                tally.run(lambda c, texts=texts: c.embed_text([t[:LARGE_CHARS] for t in texts]), client)

    return threading.Thread(target=loop, daemon=True)


def run_phase(threads: list[threading.Thread], until: float) -> None:
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=max(0.0, until - time.monotonic()) + 120)
    assert not any(thread.is_alive() for thread in threads), "a client hung"


def test_mixed_load_has_no_errors(served: ServeProcess, tmp_path, figures: Figures) -> None:
    clip = write_audio(tmp_path / "probe.wav", tone(1.0, 16000, frequency=180.0, seed=1)).read_bytes()
    calls = mixed_calls(clip)

    alone = Tally()
    until = time.monotonic() + SECONDS
    run_phase(small_clients(served.address, calls, until, alone), until)

    small, large = Tally(), Tally()
    until = time.monotonic() + SECONDS
    run_phase([large_client(served.address, until, large), *small_clients(served.address, calls, until, small)], until)

    figures(clients=CLIENTS, seconds=SECONDS, **alone.figures(),
            **small.figures("with_large_"), **large.figures("large_"))
    assert alone.errors == [] and small.errors == [] and large.errors == []
    assert alone.latencies and small.latencies and large.latencies
