"""How an indexing run splits the cores between decode workers and the model, chosen by measurement.

A run with no fixed ``workers`` starts by decoding in its own process (no worker start-up cost,
every core for the model) and times each stage per second of audio: decoding (read, resample,
acoustics), the model's forward passes, and the rest of the main process's work (tagging, payloads,
upserts). On CPU, where how the model's cost scales with threads could change the choice, one more
calibration batch runs the model on a single thread to measure it (a small model gains little from
a second thread, a large one nearly twice). After the first batches it predicts the throughput of
each split from those costs and moves decoding to worker processes only when a split is predicted
clearly faster. On CPU the model shares the cores with the workers (its cost depends on the
threads it keeps); on CUDA it does not.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

#: Model batches measured before the split is chosen (the first one also pays warm-up costs).
CALIBRATION_BATCHES = 2
#: A split with workers must be predicted this much faster than decoding inline to be taken.
SWITCH_GAIN = 1.2


@dataclass(frozen=True)
class Split:
    """Decode worker processes (0: decode in the indexing process) and the model's torch threads."""

    workers: int
    threads: int


@dataclass(frozen=True)
class StageCosts:
    """Seconds per second of audio, measured with decoding inline and ``threads`` model threads.

    ``decode``: wall time to read, resample and measure a clip; ``decode_cpu``: the CPU time that
    took, which is more where the measures run on several threads (Praat's pitch analysis uses
    every core) and is what a decode worker takes when the cores are busy (``None``: as ``decode``);
    ``model``: the forward passes' wall time; ``other``: the rest of the indexing process's work per
    batch (tags, payloads, upserts), which does not scale with threads; ``model_one_thread``: the
    forward passes' wall time on one thread (``None``: not measured, the cost taken to scale linearly).
    """

    decode: float
    model: float
    other: float
    threads: int
    decode_cpu: float | None = None
    model_one_thread: float | None = None

    @property
    def worker_decode(self) -> float:
        """Seconds a decode worker spends per audio second when the cores are busy."""
        return self.decode if self.decode_cpu is None else max(self.decode, self.decode_cpu)

    def model_at(self, threads: int) -> float:
        """The model's wall seconds per audio second on ``threads`` threads.

        Amdahl's law through the two measured points (a serial part and a part divided among the
        threads), or linear scaling from ``model`` where only one was measured.
        """
        if self.model_one_thread is None or self.threads == 1:
            return self.model * self.threads / threads
        parallel = max(0.0, (self.model_one_thread - self.model) * self.threads / (self.threads - 1))
        return max(0.0, self.model_one_thread - parallel) + parallel / threads


def predicted_rate(costs: StageCosts, split: Split, *, cuda: bool, cores: int | None = None) -> float:
    """Audio seconds per second that ``split`` is predicted to index, from costs measured inline.

    With ``cores`` given, a split that runs more busy threads than there are cores is also bounded
    by the CPU time all stages need together (the model's measured with its threads).
    """
    model = costs.model if cuda else costs.model_at(split.threads)
    main = model + costs.other
    if split.workers == 0:
        return 1.0 / max(costs.decode + main, 1e-12)
    rate = min(split.workers / max(costs.worker_decode, 1e-12), 1.0 / max(main, 1e-12))
    if cores is not None:
        model_cpu = 0.0 if cuda else model * split.threads
        rate = min(rate, cores / max(costs.worker_decode + model_cpu + costs.other, 1e-12))
    return rate


def choose_split(costs: StageCosts, cores: int, *, cuda: bool, threads: int | None = None) -> Split:
    """The split predicted fastest; decoding stays inline unless a split with workers gains ``SWITCH_GAIN``.

    ``threads`` fixes the model's threads (otherwise it keeps the cores the workers leave free, at
    least one). Up to one worker per core is tried: where the model is cheap beside decoding, every
    core decoding while the model's thread takes what it needs beats leaving a core to the model.
    """
    inline = Split(0, threads or cores)
    best, best_rate = inline, predicted_rate(costs, inline, cuda=cuda, cores=cores) * SWITCH_GAIN
    for workers in range(1, max(cores, 1) + 1):
        candidate = Split(workers, threads or max(1, cores - workers))
        rate = predicted_rate(costs, candidate, cuda=cuda, cores=cores)
        if rate > best_rate:
            best, best_rate = candidate, rate
    return best


def scaling_decides(costs: StageCosts, cores: int) -> bool:
    """Whether how the model's CPU cost scales with threads can change the split chosen from ``costs``.

    It cannot where the same split wins whether the model loses nothing with fewer threads or
    slows in proportion (a large model beside cheap decoding stays inline either way).
    """
    unscaled = replace(costs, model_one_thread=costs.model)
    linear = replace(costs, model_one_thread=None)
    return choose_split(unscaled, cores, cuda=False) != choose_split(linear, cores, cuda=False)


class StageClock:
    """Accumulates what ``StageCosts`` needs while a run decodes inline with ``threads`` model threads.

    With ``probe_one_thread`` (CPU, the threads not fixed), once the first batches are measured and
    only if the model's scaling with threads can change the choice (``scaling_decides`` on
    ``cores``), the next batch runs the model on one thread (``batch_threads``) to measure it.
    """

    def __init__(self, threads: int, *, probe_one_thread: bool, cores: int) -> None:
        self.threads = threads
        self.cores = cores
        self.probe_one_thread = probe_one_thread and threads > 1
        #: whether a one-thread batch is wanted (``None``: not yet known)
        self._probe: bool | None = None
        self.decode_seconds = 0.0
        self.decode_cpu_seconds = 0.0
        self.decode_audio = 0.0
        self.other_seconds = 0.0
        self.other_audio = 0.0
        #: model wall seconds and audio seconds per thread count
        self.model_seconds: dict[int, float] = {}
        self.model_audio: dict[int, float] = {}
        self.batches = 0

    def decoded(self, seconds: float, cpu_seconds: float, audio_seconds: float) -> None:
        """One clip decoded inline: its wall and CPU seconds and its length (0 if it failed)."""
        self.decode_seconds += seconds
        self.decode_cpu_seconds += cpu_seconds
        self.decode_audio += audio_seconds

    def embedded(self, model_seconds: float, other_seconds: float, audio_seconds: float, threads: int) -> None:
        """One batch embedded on ``threads`` threads and stored; the first batch only warms up and is not counted."""
        self.batches += 1
        if self.batches == 1:
            return
        self.model_seconds[threads] = self.model_seconds.get(threads, 0.0) + model_seconds
        self.model_audio[threads] = self.model_audio.get(threads, 0.0) + audio_seconds
        self.other_seconds += other_seconds
        self.other_audio += audio_seconds

    def batch_threads(self) -> int:
        """The model threads for the next batch: one while the probe is wanted and not yet measured."""
        return 1 if self._wants_probe() and not self._measured(1) else self.threads

    def ready(self) -> bool:
        """Whether enough was measured to choose a split."""
        return self._base_measured() and (not self._wants_probe() or self._measured(1))

    def costs(self) -> StageCosts:
        """Per-audio-second costs measured so far."""
        def model(threads: int) -> float:
            return self.model_seconds[threads] / self.model_audio[threads]

        return StageCosts(decode=self.decode_seconds / self.decode_audio, model=model(self.threads),
                          other=self.other_seconds / self.other_audio, threads=self.threads,
                          decode_cpu=self.decode_cpu_seconds / self.decode_audio,
                          model_one_thread=model(1) if self._measured(1) and self.threads > 1 else None)

    def _measured(self, threads: int) -> bool:
        return self.model_audio.get(threads, 0.0) > 0

    def _base_measured(self) -> bool:
        return self.batches >= CALIBRATION_BATCHES and self.decode_audio > 0 and self._measured(self.threads)

    def _wants_probe(self) -> bool:
        if self._probe is None and self._base_measured():
            self._probe = self.probe_one_thread and scaling_decides(self.costs(), self.cores)
        return bool(self._probe)
