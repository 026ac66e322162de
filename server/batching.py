"""Cross-request batching: concurrent text queries share one encoder call."""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future

import numpy as np

from paraseek.errors import DeadlineExceeded

_STOP = object()


class MicroBatcher:
    """A worker thread that embeds queued texts in batches.

    The worker takes the first waiting text, then gathers more until ``max_batch`` texts are
    queued or ``max_wait`` seconds have passed since the first one (everything already queued is
    taken even after the wait). Duplicate texts in a batch are embedded once. Texts queue up
    while a batch is being encoded, so under load batches grow by themselves; ``max_wait`` only
    bounds the extra latency a lone query pays. ``on_batch(size)`` is called after each encoder call.
    """

    def __init__(self, embed: Callable[[list[str]], np.ndarray], *, max_batch: int = 64, max_wait: float = 0.002,
                 on_batch: Callable[[int], None] | None = None) -> None:
        self._embed = embed
        self._max_batch = max_batch
        self._max_wait = max_wait
        self._on_batch = on_batch
        self._queue: queue.SimpleQueue[object] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name="paraseek-text-batcher", daemon=True)
        self._thread.start()

    def submit(self, text: str) -> Future[np.ndarray]:
        """Queue one text; the future resolves to its embedding row."""
        future: Future[np.ndarray] = Future()
        self._queue.put((text, future))
        return future

    def embed(self, texts: Sequence[str], timeout: float | None = None) -> np.ndarray:
        """Embeddings of ``texts`` (n, d), waiting at most ``timeout`` seconds in all."""
        futures = [self.submit(text) for text in texts]
        end = None if timeout is None else time.monotonic() + timeout
        rows = []
        try:
            for future in futures:
                remaining = None if end is None else max(0.0, end - time.monotonic())
                rows.append(future.result(timeout=remaining))
        except TimeoutError:
            for future in futures:
                future.cancel()
            raise DeadlineExceeded("the deadline passed while the text was waiting for the encoder") from None
        return np.stack(rows)

    def close(self) -> None:
        """Stop the worker once the queued texts are done."""
        self._queue.put(_STOP)
        self._thread.join()

    def _gather(self, first: tuple[str, Future[np.ndarray]]) -> tuple[list[tuple[str, Future[np.ndarray]]], bool]:
        batch = [first]
        end = time.monotonic() + self._max_wait
        while len(batch) < self._max_batch:
            remaining = end - time.monotonic()
            try:
                item = self._queue.get(timeout=remaining) if remaining > 0 else self._queue.get_nowait()
            except queue.Empty:
                break
            if item is _STOP:
                return batch, True
            batch.append(item)  # type: ignore[arg-type]
        return batch, False

    def _run(self) -> None:
        stopping = False
        while not stopping:
            item = self._queue.get()
            if item is _STOP:
                return
            batch, stopping = self._gather(item)  # type: ignore[arg-type]
            live = [(text, future) for text, future in batch if future.set_running_or_notify_cancel()]
            if not live:
                continue
            unique = list(dict.fromkeys(text for text, _ in live))
            try:
                vectors = self._embed(unique)
            except BaseException as error:  # every waiting request gets the encoder's error
                for _, future in live:
                    future.set_exception(error)
                continue
            row_of = {text: row for row, text in enumerate(unique)}
            for text, future in live:
                future.set_result(vectors[row_of[text]])
            if self._on_batch is not None:
                self._on_batch(len(live))
