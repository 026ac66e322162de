"""Cross-request batching of text encoding: shared encoder calls, taken in turns.

Concurrent requests share encoder calls, and a large request never holds the encoder for long:
each call takes at most ``max_batch`` texts and ``max_chars`` characters, chosen round-robin
across the waiting requests (one text from each in turn), so a one-text query waits for at most
one capped call however much other work is queued.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout

import numpy as np

from paraseek.errors import Cancelled, DeadlineExceeded, Unavailable


class _Request:
    """One caller's texts, how many were handed to the encoder, and the rows that came back."""

    def __init__(self, texts: Sequence[str], is_active: Callable[[], bool]) -> None:
        self.texts = list(texts)
        self.is_active = is_active
        self.taken = 0
        self.rows: list[np.ndarray | None] = [None] * len(self.texts)
        self.filled = 0
        self.arrived = time.monotonic()
        self.future: Future[np.ndarray] = Future()

    def finish(self, error: BaseException | None = None) -> None:
        """Resolve the caller's future with the rows or ``error`` (no-op if it was cancelled)."""
        if not self.future.set_running_or_notify_cancel():
            return
        if error is not None:
            self.future.set_exception(error)
        else:
            self.future.set_result(np.stack(self.rows))  # type: ignore[arg-type]


class MicroBatcher:
    """A worker thread that embeds the texts of concurrent requests in shared, capped encoder calls.

    When work arrives and fewer than ``max_batch`` texts wait, the worker waits at most
    ``max_wait`` seconds (from the oldest request's arrival) for company. Duplicate texts within a
    call are embedded once. Before each call, requests whose caller went away (``is_active``
    false, or their future cancelled) are dropped. ``on_batch(size, seconds)`` is called after each
    encoder call with the number of texts it embedded and the seconds the call took.
    """

    def __init__(self, embed: Callable[[list[str]], np.ndarray], *, max_batch: int = 64, max_chars: int = 16_000,
                 max_wait: float = 0.002, on_batch: Callable[[int, float], None] | None = None) -> None:
        self._embed = embed
        self._max_batch = max_batch
        self._max_chars = max_chars
        self._max_wait = max_wait
        self._on_batch = on_batch
        self._pending: deque[_Request] = deque()
        self._condition = threading.Condition()
        self._closing = False
        self._thread = threading.Thread(target=self._run, name="paraseek-text-batcher", daemon=True)
        self._thread.start()

    def submit(self, texts: Sequence[str], is_active: Callable[[], bool] = lambda: True) -> Future[np.ndarray]:
        """Queue ``texts``; the future resolves to their embeddings (n, d)."""
        request = _Request(texts, is_active)
        with self._condition:
            if self._closing:
                request.finish(Unavailable("the server is shutting down"))
                return request.future
            if request.texts:
                self._pending.append(request)
                self._condition.notify()
        if not request.texts:
            request.finish(ValueError("no texts to embed"))
        return request.future

    def embed(self, texts: Sequence[str], timeout: float | None = None,
              is_active: Callable[[], bool] = lambda: True) -> np.ndarray:
        """Embeddings of ``texts`` (n, d), waiting at most ``timeout`` seconds in all."""
        future = self.submit(texts, is_active)
        try:
            return future.result(timeout=timeout)
        except FutureTimeout:
            future.cancel()
            raise DeadlineExceeded("the deadline passed while the text was waiting for the encoder") from None

    def close(self) -> None:
        """Stop after the encoder call in progress; requests still waiting fail with ``Unavailable``."""
        with self._condition:
            self._closing = True
            self._condition.notify()
        self._thread.join()

    def _wait_for_work(self) -> bool:
        """Block until there is work worth an encoder call; False once closing."""
        with self._condition:
            while not self._pending and not self._closing:
                self._condition.wait()
            while not self._closing:
                waiting = sum(len(r.texts) - r.taken for r in self._pending)
                remaining = self._pending[0].arrived + self._max_wait - time.monotonic() if self._pending else 0.0
                if waiting >= self._max_batch or remaining <= 0:
                    break
                self._condition.wait(remaining)
            if self._closing:
                for request in self._pending:
                    request.finish(Unavailable("the server is shutting down"))
                self._pending.clear()
                return False
            return True

    def _take(self) -> list[tuple[_Request, int]]:
        """The next call's texts as ``(request, index)``: one text per request in turn, within the caps."""
        with self._condition:
            for request in list(self._pending):
                if request.future.cancelled() or not request.is_active():
                    self._pending.remove(request)
                    request.finish(Cancelled("the caller went away before its texts were encoded"))
            chosen: list[tuple[_Request, int]] = []
            chars = 0
            last_served = -1
            while len(chosen) < self._max_batch:
                progressed = False
                for position, request in enumerate(self._pending):
                    if request.taken == len(request.texts):
                        continue
                    size = len(request.texts[request.taken])
                    if len(chosen) == self._max_batch or (chosen and chars + size > self._max_chars):
                        break
                    chosen.append((request, request.taken))
                    request.taken += 1
                    chars += size
                    last_served = position
                    progressed = True
                else:
                    if progressed:
                        continue
                break
            # the next call starts with the request after the last one served
            self._pending.rotate(-(last_served + 1))
            return chosen

    def _run(self) -> None:
        while self._wait_for_work():
            chosen = self._take()
            if not chosen:
                continue
            unique = list(dict.fromkeys(request.texts[index] for request, index in chosen))
            started = time.perf_counter()
            try:
                vectors = self._embed(unique)
            except BaseException as error:  # every request in the call gets the encoder's error
                with self._condition:
                    for request in dict.fromkeys(request for request, _ in chosen):
                        if request in self._pending:
                            self._pending.remove(request)
                        request.finish(error)
                continue
            row_of = {text: row for row, text in enumerate(unique)}
            with self._condition:
                for request, index in chosen:
                    request.rows[index] = vectors[row_of[request.texts[index]]]
                    request.filled += 1
                    if request.filled == len(request.texts):
                        self._pending.remove(request)
                        request.finish()
            if self._on_batch is not None:
                self._on_batch(len(chosen), time.perf_counter() - started)
