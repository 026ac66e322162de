"""The real-speech probe: built from Debian's recordings, labelled, with ordered variant pairs."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest
import soundfile

from paraseek.errors import InvalidArgument, MissingDependency
from paraseek.training.probe import build_probe, check_probe_packages, load_probe
from paraseek.training.synth import STYLE_GROUPS
from paraseek.training.synth_acoustics import active_rms_dbfs, median_f0, voiced_fraction


def _packages_present() -> bool:
    try:
        check_probe_packages()
    except MissingDependency:
        return False
    return True


pytestmark = pytest.mark.skipif(not _packages_present(), reason="needs sox and the Debian probe packages")


@pytest.fixture(scope="module")
def probe_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("probe")
    build_probe(root, max_sources=6)
    return root


def _read(path: Path) -> np.ndarray:
    audio, rate = soundfile.read(path)
    assert rate == 16000 and audio.ndim == 1
    return audio


def test_clips_are_real_recordings_with_genders(probe_dir: Path) -> None:
    probe = load_probe(probe_dir)
    assert len(probe.clips) == 6
    assert len({clip.package for clip in probe.clips}) >= 2
    genders = dict(probe.gender_clips())
    assert set(genders.values()) == {"male", "female"}
    for clip in probe.clips:
        audio = _read(probe_dir / clip.path)
        assert 1.5 <= len(audio) / 16000 <= 5.0
        assert Path(clip.source_file).is_file()
        assert clip.licence and clip.gender_source in {"documented", "f0", None}
        if clip.gender_source == "f0":
            f0 = median_f0(audio, 16000)
            assert (f0 < 145) if clip.gender == "male" else (f0 > 165)
    allison = [c for c in probe.clips if c.package == "asterisk-core-sounds-en-wav"]
    assert allison and all(c.gender == "female" and c.gender_source == "documented" for c in allison)


def test_pairs_cover_each_source_and_use_known_descriptions(probe_dir: Path) -> None:
    probe = load_probe(probe_dir)
    assert len(probe.pairs) == 10 * len(probe.clips)
    tags = {tag for values in STYLE_GROUPS.values() for tag in values}
    for description, higher, lower in probe.ordered_pairs():
        assert description in tags
        assert higher.is_file() and lower.is_file() and higher != lower
    for pair in probe.pairs:
        assert pair.description in STYLE_GROUPS[pair.group]


def test_variants_differ_in_the_stated_direction(probe_dir: Path) -> None:
    probe = load_probe(probe_dir)
    by_description = {}
    for pair in probe.pairs:
        higher, lower = _read(probe_dir / pair.higher), _read(probe_dir / pair.lower)
        by_description.setdefault(pair.description, []).append((higher, lower))
    for up, down in by_description["high-pitched"]:
        assert median_f0(up, 16000) > 1.15 * median_f0(down, 16000)
    for fast, slow in by_description["fast"]:
        assert len(fast) < 0.65 * len(slow)
    for loud, quiet in by_description["loud"]:
        assert active_rms_dbfs(loud, 16000) > active_rms_dbfs(quiet, 16000) + 15
    for whispered, voiced in by_description["whispered"]:
        assert voiced_fraction(whispered, 16000) < 0.5 * voiced_fraction(voiced, 16000)


def test_probe_is_deterministic(probe_dir: Path, tmp_path: Path) -> None:
    build_probe(tmp_path, max_sources=6)
    for name in ("clips.jsonl", "pairs.jsonl"):
        assert (tmp_path / name).read_bytes() == (probe_dir / name).read_bytes()
    digest = lambda root: {p.name: hashlib.sha256(p.read_bytes()).hexdigest()  # noqa: E731
                           for p in sorted(root.rglob("*.wav"))}
    assert digest(tmp_path) == digest(probe_dir)


def test_bad_arguments_and_missing_probe(tmp_path: Path) -> None:
    with pytest.raises(InvalidArgument):
        build_probe(tmp_path, max_sources=0)
    with pytest.raises(InvalidArgument, match="no probe"):
        load_probe(tmp_path / "nothing")
