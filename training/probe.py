"""A small real-speech probe built from recordings that Debian packages ship.

Sources (install with ``apt-get install -y asterisk-core-sounds-en-wav pocketsphinx-testdata
codec2-examples``):

- ``asterisk-core-sounds-en-wav``: telephone prompts recorded by Allison Smith (CC-BY-SA-3.0). Gender is
  documented (female; the package credits her and names the folder ``en_US_f_Allison``).
- ``pocketsphinx-testdata``: LibriVox excerpts and command recordings (BSD-2-Clause per the package).
- ``codec2-examples``: codec reference recordings (LGPL-2.1 per the package).

For the last two the speaker's gender is not documented; it is set from the median F0 when that is
unambiguous (below 145 Hz male, above 165 Hz female) and left ``None`` otherwise; ``gender_source``
says which ("documented" or "f0"). Licences differ, so the probe is never committed: ``build_probe``
makes it on the fly from the installed packages.

Layout written by ``build_probe(out_dir)``::

    out_dir/sources/<name>.wav      16 kHz mono, 1.5-5 s, active RMS -20 dBFS
    out_dir/variants/<name>.<variant>.wav
    out_dir/clips.jsonl             one ProbeClip per line
    out_dir/pairs.jsonl             one ProbePair per line

A ``ProbePair(group, description, higher, lower, source)`` says that a model should give ``higher``
a greater similarity to ``description`` than ``lower``; both come from the same real recording:
pitch +400 vs -400 cents (sox ``pitch``), tempo 1.4 vs 0.7 (sox ``tempo -s``), active RMS -12 vs
-34 dBFS, whispered (noise-excited) vs original, muffled (low-pass 600 Hz) vs original, echoey
(sox ``reverb``) vs original. Each contrast appears in both directions ("high-pitched": up over down,
"low-pitched": down over up).
"""

from __future__ import annotations

import dataclasses
import json
import shutil
import subprocess
from pathlib import Path

import numpy as np

from paraseek.errors import Internal, InvalidArgument, MissingDependency
from paraseek.training.synth import whisperise
from paraseek.training.synth_acoustics import median_f0, set_level

PROBE_PACKAGES = ["asterisk-core-sounds-en-wav", "pocketsphinx-testdata", "codec2-examples"]
SAMPLE_RATE = 16000
_MIN_S, _MAX_S = 1.5, 5.0
_SOURCE_LEVEL_DBFS = -20.0


@dataclasses.dataclass(frozen=True)
class ProbeClip:
    """One real recording of the probe (``path`` relative to the probe folder)."""

    name: str
    path: str
    duration: float
    speaker: str
    gender: str | None
    gender_source: str | None
    package: str
    licence: str
    source_file: str


@dataclasses.dataclass(frozen=True)
class ProbePair:
    """``higher`` should match ``description`` better than ``lower`` (paths relative to the probe folder)."""

    group: str
    description: str
    higher: str
    lower: str
    source: str


@dataclasses.dataclass(frozen=True)
class Probe:
    """A built probe: its folder, clips and ordered pairs."""

    root: Path
    clips: list[ProbeClip]
    pairs: list[ProbePair]

    def gender_clips(self) -> list[tuple[Path, str]]:
        """(absolute path, gender) of every clip whose gender is known."""
        return [(self.root / c.path, c.gender) for c in self.clips if c.gender is not None]

    def ordered_pairs(self) -> list[tuple[str, Path, Path]]:
        """(description, path that should score higher, path that should score lower)."""
        return [(p.description, self.root / p.higher, self.root / p.lower) for p in self.pairs]


@dataclasses.dataclass(frozen=True)
class _Source:
    package: str
    licence: str
    pattern: str
    raw_rate: int | None  # headerless 16-bit little-endian files need their rate
    speaker: str | None  # None: one speaker per file
    gender: str | None  # documented gender, or None to use F0
    limit: int


_SOURCES = [
    _Source("asterisk-core-sounds-en-wav", "CC-BY-SA-3.0", "/usr/share/asterisk/sounds/en_US_f_Allison/*.wav",
            None, "asterisk:allison-smith", "female", 16),
    _Source("pocketsphinx-testdata", "BSD-2-Clause", "/usr/share/pocketsphinx/test/data/*/*.wav",
            None, None, None, 20),
    _Source("pocketsphinx-testdata", "BSD-2-Clause", "/usr/share/pocketsphinx/test/data/*.raw",
            16000, None, None, 20),
    _Source("codec2-examples", "LGPL-2.1", "/usr/share/codec2/wav/*.wav", None, None, None, 20),
    _Source("codec2-examples", "LGPL-2.1", "/usr/share/codec2/raw/*.raw", 8000, None, None, 20),
]
# Files that are not a single talker: concatenations, music, modem or test signals.
_EXCLUDE = {"all.wav", "hts.raw", "david4.wav", "vk2tpm_004.wav", "wia_16kHz.wav", "hts1.raw", "hts2.raw", "hts1a.raw",
            "hts2a.raw", "forig.raw", "morig.raw", "f2400.raw", "m2400.raw", "big_dog.raw", "cross.raw",
            "mmt1.raw", "ve9qrp.raw", "ve9qrp_10s.raw", "vk5qi.raw", "700d_end_over.raw", "cq_ref.raw"}


def _sox(args: list[str]) -> None:
    done = subprocess.run(["sox", "-R", "-V1", *args], capture_output=True, check=False)
    if done.returncode != 0:
        raise Internal(f"sox failed: {done.stderr.decode(errors='replace')[-300:]}")


def _load_source(path: Path, raw_rate: int | None, work: Path) -> np.ndarray | None:
    import soundfile

    converted = work / "converted.wav"
    head = ["-t", "raw", "-e", "signed", "-b", "16", "-r", str(raw_rate), "-c", "1"] if raw_rate else []
    _sox([*head, str(path), "-r", str(SAMPLE_RATE), "-c", "1", "-b", "16", str(converted),
          "silence", "1", "0.05", "0.5%", "trim", "0", str(_MAX_S)])
    audio, _ = soundfile.read(converted, dtype="float64")
    if len(audio) < _MIN_S * SAMPLE_RATE or not np.any(audio):
        return None
    return audio


def _candidates(source: _Source) -> list[Path]:
    files = sorted(Path("/").glob(source.pattern.lstrip("/")))
    return [f for f in files if f.name not in _EXCLUDE and not f.name.startswith(("sine", "test"))]


def _gender_from_f0(audio: np.ndarray) -> str | None:
    f0 = median_f0(audio, SAMPLE_RATE)
    if np.isnan(f0):
        return None
    return "male" if f0 < 145 else "female" if f0 > 165 else None


def _write(path: Path, audio: np.ndarray) -> None:
    import soundfile

    path.parent.mkdir(parents=True, exist_ok=True)
    soundfile.write(path, audio.astype(np.float32), SAMPLE_RATE, subtype="PCM_16")


def _variants(root: Path, clip: ProbeClip, audio: np.ndarray) -> list[ProbePair]:
    import soundfile

    source = root / clip.path
    made: dict[str, str] = {}

    def sox_variant(label: str, effects: list[str]) -> str:
        rel = f"variants/{clip.name}.{label}.wav"
        _sox([str(source), str(root / rel), *effects])
        processed, _ = soundfile.read(root / rel, dtype="float64")
        _write(root / rel, set_level(processed, SAMPLE_RATE, _SOURCE_LEVEL_DBFS))
        return rel

    def array_variant(label: str, wave: np.ndarray) -> str:
        rel = f"variants/{clip.name}.{label}.wav"
        _write(root / rel, wave)
        return rel

    made["up"] = sox_variant("pitch_up", ["pitch", "400"])
    made["down"] = sox_variant("pitch_down", ["pitch", "-400"])
    made["fast"] = sox_variant("tempo_fast", ["tempo", "-s", "1.4"])
    made["slow"] = sox_variant("tempo_slow", ["tempo", "-s", "0.7"])
    made["muffled"] = sox_variant("muffled", ["lowpass", "600", "lowpass", "600"])
    made["echoey"] = sox_variant("echoey", ["pad", "0", "0.5", "reverb", "85", "40", "90", "0", "20", "2"])
    made["loud"] = array_variant("loud", set_level(audio, SAMPLE_RATE, -12.0))
    made["quiet"] = array_variant("quiet", set_level(audio, SAMPLE_RATE, -34.0))
    whisper = whisperise(audio, SAMPLE_RATE, np.random.default_rng(len(audio)))
    made["whispered"] = array_variant("whispered", set_level(whisper, SAMPLE_RATE, _SOURCE_LEVEL_DBFS))
    contrasts = [
        ("pitch", "high-pitched", made["up"], made["down"]),
        ("pitch", "low-pitched", made["down"], made["up"]),
        ("speed", "fast", made["fast"], made["slow"]),
        ("speed", "slow", made["slow"], made["fast"]),
        ("volume", "loud", made["loud"], made["quiet"]),
        ("volume", "quiet", made["quiet"], made["loud"]),
        ("whisper", "whispered", made["whispered"], clip.path),
        ("whisper", "voiced", clip.path, made["whispered"]),
        ("clarity", "muffled", made["muffled"], clip.path),
        ("environment", "echoey", made["echoey"], clip.path),
    ]
    return [ProbePair(group, description, higher, lower, clip.path) for group, description, higher, lower in contrasts]


def check_probe_packages() -> None:
    """Raise ``MissingDependency`` unless sox and at least one probe package are installed."""
    if shutil.which("sox") is None or not any(_candidates(s) for s in _SOURCES):
        raise MissingDependency("the real-speech probe needs sox and recordings from Debian; install with: "
                                f"apt-get install -y sox {' '.join(PROBE_PACKAGES)}")


def build_probe(out_dir: Path, *, max_sources: int = 48) -> Probe:
    """Build the probe into ``out_dir`` from the installed packages (deterministic) and return it."""
    if max_sources < 1:
        raise InvalidArgument("max_sources must be at least 1")
    check_probe_packages()
    root = Path(out_dir)
    work = root / "work"
    work.mkdir(parents=True, exist_ok=True)
    (root / "variants").mkdir(exist_ok=True)
    per_source: list[list[ProbeClip]] = []
    arrays: dict[str, np.ndarray] = {}
    for source in _SOURCES:
        picked: list[ProbeClip] = []
        for path in _candidates(source):
            if len(picked) == source.limit:
                break
            audio = _load_source(path, source.raw_rate, work)
            if audio is None:
                continue
            audio = set_level(audio, SAMPLE_RATE, _SOURCE_LEVEL_DBFS)
            gender, gender_source = (source.gender, "documented") if source.gender else (_gender_from_f0(audio), "f0")
            name = f"{source.package.split('-')[0]}-{path.parent.name}-{path.stem}"
            clip = ProbeClip(name=name, path=f"sources/{name}.wav", duration=round(len(audio) / SAMPLE_RATE, 4),
                             speaker=source.speaker or f"{source.package}:{path.stem}", gender=gender,
                             gender_source=gender_source if gender else None, package=source.package,
                             licence=source.licence, source_file=str(path))
            arrays[name] = audio
            picked.append(clip)
        per_source.append(picked)
    shutil.rmtree(work)
    clips = _round_robin(per_source, max_sources)
    pairs: list[ProbePair] = []
    for clip in clips:
        _write(root / clip.path, arrays[clip.name])
        pairs.extend(_variants(root, clip, arrays[clip.name]))
    _write_jsonl(root / "clips.jsonl", [dataclasses.asdict(c) for c in clips])
    _write_jsonl(root / "pairs.jsonl", [dataclasses.asdict(p) for p in pairs])
    return Probe(root, clips, pairs)


def _round_robin(groups: list[list[ProbeClip]], limit: int) -> list[ProbeClip]:
    """Take clips from each source in turn so that a small probe still mixes sources and genders."""
    chosen: list[ProbeClip] = []
    for rank in range(max((len(g) for g in groups), default=0)):
        for group in groups:
            if rank < len(group) and len(chosen) < limit:
                chosen.append(group[rank])
    return chosen


def _write_jsonl(path: Path, rows: list[dict]) -> None:
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))


def load_probe(out_dir: Path) -> Probe:
    """Read a probe written by ``build_probe``."""
    root = Path(out_dir)
    try:
        clips = [ProbeClip(**json.loads(line)) for line in (root / "clips.jsonl").read_text().splitlines() if line]
        pairs = [ProbePair(**json.loads(line)) for line in (root / "pairs.jsonl").read_text().splitlines() if line]
    except FileNotFoundError as error:
        raise InvalidArgument(f"{root} holds no probe (build it with build_probe): {error}") from error
    return Probe(root, clips, pairs)
