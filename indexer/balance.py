"""How an indexing run splits the cores between decode workers and the model, chosen by measurement.

A run with no fixed ``workers`` starts by decoding in its own process (no worker start-up cost,
every core for the model) and times each stage per second of audio: decoding (read, resample,
acoustics), the model's forward passes, and the rest of the main process's work (tagging, payloads,
upserts). After the first batches it predicts the throughput of each split from those costs and
moves decoding to worker processes only when a split is predicted clearly faster. On CPU the model
shares the cores with the workers (its cost scales with the threads it keeps); on CUDA it does not.
"""

from __future__ import annotations

from dataclasses import dataclass

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
    batch (tags, payloads, upserts), which does not scale with threads.
    """

    decode: float
    model: float
    other: float
    threads: int
    decode_cpu: float | None = None

    @property
    def worker_decode(self) -> float:
        """Seconds a decode worker spends per audio second when the cores are busy."""
        return self.decode if self.decode_cpu is None else max(self.decode, self.decode_cpu)


def predicted_rate(costs: StageCosts, split: Split, *, cuda: bool, cores: int | None = None) -> float:
    """Audio seconds per second that ``split`` is predicted to index, from costs measured inline.

    With ``cores`` given, a split that runs more busy threads than there are cores is also bounded
    by the CPU time all stages need together (the model's measured with its threads).
    """
    model = costs.model if cuda else costs.model * costs.threads / split.threads
    main = model + costs.other
    if split.workers == 0:
        return 1.0 / max(costs.decode + main, 1e-12)
    rate = min(split.workers / max(costs.worker_decode, 1e-12), 1.0 / max(main, 1e-12))
    if cores is not None:
        model_cpu = 0.0 if cuda else costs.model * costs.threads
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


class StageClock:
    """Accumulates what ``StageCosts`` needs while a run decodes inline."""

    def __init__(self) -> None:
        self.decode_seconds = 0.0
        self.decode_cpu_seconds = 0.0
        self.decode_audio = 0.0
        self.model_seconds = 0.0
        self.other_seconds = 0.0
        self.model_audio = 0.0
        self.batches = 0

    def decoded(self, seconds: float, cpu_seconds: float, audio_seconds: float) -> None:
        """One clip decoded inline: ``seconds`` of wall, ``cpu_seconds`` of CPU time, ``audio_seconds`` (0 if it failed)."""
        self.decode_seconds += seconds
        self.decode_cpu_seconds += cpu_seconds
        self.decode_audio += audio_seconds

    def embedded(self, model_seconds: float, other_seconds: float, audio_seconds: float) -> None:
        """One batch embedded and stored; the first batch only warms up and is not counted."""
        self.batches += 1
        if self.batches == 1:
            return
        self.model_seconds += model_seconds
        self.other_seconds += other_seconds
        self.model_audio += audio_seconds

    def ready(self) -> bool:
        """Whether enough was measured to choose a split."""
        return self.batches >= CALIBRATION_BATCHES and self.model_audio > 0 and self.decode_audio > 0

    def costs(self, threads: int) -> StageCosts:
        """Per-audio-second costs measured so far, the model running with ``threads`` threads."""
        return StageCosts(decode=self.decode_seconds / self.decode_audio, model=self.model_seconds / self.model_audio,
                          other=self.other_seconds / self.model_audio, threads=threads,
                          decode_cpu=self.decode_cpu_seconds / self.decode_audio)
