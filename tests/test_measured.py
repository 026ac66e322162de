"""Measured voice quality and its bins on real speech (espeak-ng, sox reverb and noise), and ``--where`` on them."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile

from paraseek.audio.pitch import (
    ANALYSIS_HOP_SECONDS,
    HOP_SECONDS,
    analyse_pitch,
    pitch_frames,
    to_sound,
    track_pitch,
)
from paraseek.client.export import INDEXER_FIELDS
from paraseek.errors import MissingDependency
from paraseek.filters import parse_where
from paraseek.indexer import IndexOptions, index_corpus
from paraseek.indexer.acoustics import (
    CEPSTROGRAM_MAX_HZ,
    CEPSTROGRAM_STEP_SECONDS,
    PAYLOAD_FIELDS,
    PRAAT_MEASURES,
    band_limited,
    cepstral_peak_prominence,
    measure,
    measured_bins,
    middle,
    voiced_within,
)
from paraseek.indexer.pipeline import RESERVED_KEYS
from paraseek.storage import FieldType, open_store
from paraseek.testing import speak, tiny_paraspeechclap

SR = 16000
TEXT = "The quick brown fox jumps over the lazy dog near the river bank today, and then it runs away."


def read(path: Path) -> np.ndarray:
    wave, _ = soundfile.read(path, dtype="float32")
    return wave


def sox(source: Path, target: Path, *effects: str) -> Path:
    subprocess.run(["sox", str(source), str(target), *effects], check=True, capture_output=True)
    return target


@pytest.fixture(scope="module")
def voices(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Dry, reverberant, noisy, whispered, low/high-pitched, slow/fast speech."""
    root = tmp_path_factory.mktemp("voices")
    made = {
        "low": speak(root / "low.wav", TEXT, voice="en+m3", pitch=20),
        "high": speak(root / "high.wav", TEXT, voice="en+m3", pitch=90),
        "slow": speak(root / "slow.wav", TEXT, speed=110),
        "fast": speak(root / "fast.wav", TEXT, speed=300),
        "whisper": speak(root / "whisper.wav", TEXT, voice="en+whisper"),
    }
    dry = made["low"]
    made["reverb"] = sox(dry, root / "reverb.wav", "reverb", "80")
    noise = 0.05 * np.random.default_rng(0).standard_normal(read(dry).shape).astype(np.float32)
    soundfile.write(root / "noisy.wav", read(dry) + noise, SR)
    made["noisy"] = root / "noisy.wav"
    return made


@pytest.fixture(scope="module")
def measured(voices: dict[str, Path]) -> dict[str, dict]:
    return {name: measure(read(path), SR).to_payload() for name, path in voices.items()}


def bins(raw: dict) -> dict[str, str]:
    return measured_bins(raw, {})


def test_reverb_raises_the_reverberation_estimate_to_distant(measured: dict[str, dict]) -> None:
    dry, wet = measured["low"], measured["reverb"]
    assert wet["reverberation_seconds"] > dry["reverberation_seconds"] + 0.2
    assert (bins(dry)["reverberation"], bins(wet)["reverberation"]) == ("close", "distant")
    assert wet["hnr_db"] < dry["hnr_db"] and wet["cpp_db"] < dry["cpp_db"]


def test_added_noise_lowers_snr_and_reads_noisy(measured: dict[str, dict]) -> None:
    dry, noisy = measured["low"], measured["noisy"]
    assert noisy["snr_db"] < dry["snr_db"] - 20
    assert (bins(dry)["noise"], bins(noisy)["noise"]) == ("clean", "noisy")


def test_pitch_bins_follow_espeak_pitch_and_metadata_gender(measured: dict[str, dict]) -> None:
    low, high = measured["low"], measured["high"]
    assert high["f0_median_hz"] > low["f0_median_hz"] * 1.4
    assert (bins(low)["pitch"], bins(high)["pitch"]) == ("low", "high")
    assert bins(low)["gender"] == "male"
    # the same voice read against the female range is low
    as_female = measured_bins(high, {"Gender": "F"})
    assert (as_female["gender"], as_female["pitch"]) == ("female", "low")


def test_speaking_rate_bins(measured: dict[str, dict]) -> None:
    assert measured["fast"]["speaking_rate"] > measured["slow"]["speaking_rate"] * 1.5
    assert (bins(measured["slow"])["speaking_rate"], bins(measured["fast"])["speaking_rate"]) == ("slow", "fast")


def test_whisper_is_breathy_and_has_no_periodicity_measures(measured: dict[str, dict]) -> None:
    whisper, voiced = measured["whisper"], measured["slow"]
    assert whisper["hnr_db"] is None and whisper["jitter_percent"] is None and whisper["f0_median_hz"] is None
    assert whisper["cpp_db"] < voiced["cpp_db"] - 3
    assert (bins(whisper)["breathiness"], bins(voiced)["breathiness"]) == ("breathy", "clear")
    assert "pitch" not in bins(whisper)
    for name in ("hnr_db", "jitter_percent", "shimmer_percent"):
        assert voiced[name] is not None and voiced[name] > 0


def test_coarser_pitch_analysis_fills_the_measure_grid_from_its_nearest_frames(voices: dict[str, Path]) -> None:
    sound = to_sound(read(voices["low"]), SR)
    n_frames = int(np.ceil(sound.duration / HOP_SECONDS))
    fine = pitch_frames(analyse_pitch(sound), n_frames)
    coarse = pitch_frames(analyse_pitch(sound, hop_seconds=ANALYSIS_HOP_SECONDS), n_frames)
    assert ANALYSIS_HOP_SECONDS == 2 * HOP_SECONDS
    # every grid frame is filled: the voicing decisions agree on nearly all of them, and so does f0
    assert np.mean(np.isnan(fine) == np.isnan(coarse)) > 0.95
    both = ~np.isnan(fine) & ~np.isnan(coarse)
    assert both.sum() > 0.3 * n_frames
    assert np.median(np.abs(12 * np.log2(coarse[both] / fine[both]))) < 0.1  # semitones
    # two neighbouring grid frames share each analysis frame
    voiced = np.flatnonzero(both)
    assert np.mean(coarse[voiced[:-1]] == coarse[voiced[:-1] + 1]) > 0.4


def test_excerpt_pulses_come_from_the_excerpts_own_pitch_frames(voices: dict[str, Path]) -> None:
    from parselmouth.praat import call

    sound = to_sound(read(voices["slow"]), SR)
    pitch = analyse_pitch(sound, hop_seconds=ANALYSIS_HOP_SECONDS)
    excerpt = middle(sound, 2.0)
    within = voiced_within(pitch, excerpt.xmin, excerpt.xmax)
    times, full, kept = pitch.xs(), pitch.selected_array["frequency"], within.selected_array["frequency"]
    inside = (times >= excerpt.xmin) & (times <= excerpt.xmax)
    assert np.array_equal(kept[inside], full[inside]) and not kept[~inside].any()
    assert (full[~inside] > 0).sum() > 50  # the clip is voiced outside the excerpt too
    assert voiced_within(pitch, sound.xmin, sound.xmax) is pitch  # nothing outside: no copy

    def pulse_times(of_pitch: object) -> np.ndarray:
        pulses = call([excerpt, of_pitch], "To PointProcess (cc)")
        return np.array([call(pulses, "Get time from index", i) for i in range(1, call(pulses, "Get number of points") + 1)])

    # given the whole clip's pitch, Praat places pulses where the excerpt has no samples; given its own frames, it does not
    everywhere, own = pulse_times(pitch), pulse_times(within)
    assert ((everywhere < excerpt.xmin) | (everywhere > excerpt.xmax)).any()
    assert own.size > 100 and own.min() >= excerpt.xmin and own.max() <= excerpt.xmax
    # and within the excerpt they are the same pulses but for the first and last few
    inner = everywhere[(everywhere >= excerpt.xmin) & (everywhere <= excerpt.xmax)]
    assert abs(inner.size - own.size) <= 4
    assert np.median(np.abs(np.subtract.outer(own, inner)).min(axis=1)) < 1e-4


def test_band_limited_keeps_the_band_and_cuts_above_it() -> None:
    t = np.arange(int(1.3 * SR)) / SR
    kept, cut = np.sin(2 * np.pi * 1000 * t), np.sin(2 * np.pi * 6000 * t)
    resampled = band_limited(kept + cut, SR, 10_000)
    assert resampled.shape == (13_000,)
    # output samples sit at the centres of their periods: half an output period less half an input period later
    times = np.arange(13_000) / 10_000 + 0.5 / 10_000 - 0.5 / SR
    reference = np.sin(2 * np.pi * 1000 * times)
    inner = slice(500, -500)  # away from the clip's ends, where the cut spreads the onset
    assert np.max(np.abs(resampled[inner] - reference[inner])) < 1e-3
    with pytest.raises(ValueError):
        band_limited(kept, SR, 22_050)


def test_cepstral_peak_prominence_matches_praats_own_resampling(voices: dict[str, Path]) -> None:
    from parselmouth.praat import call

    for name in ("low", "high", "whisper", "reverb", "noisy"):
        sound = middle(to_sound(read(voices[name]), SR), 2.0)
        native = call(call(sound, "To PowerCepstrogram", 60.0, CEPSTROGRAM_STEP_SECONDS, CEPSTROGRAM_MAX_HZ, 50.0),
                      "Get CPPS", "no", 0.01, 0.001, 60.0, 330.0, 0.05, "Parabolic", 0.001, 0.0, "Straight", "Robust")
        # Praat resamples with sinc interpolation; broadband noise near the 5 kHz cut moves CPPS most
        assert abs(cepstral_peak_prominence(sound) - native) < 1.0, name


def test_where_filters_on_measured_bins(voices: dict[str, Path], tmp_path: Path) -> None:
    folder = tmp_path / "clips"
    folder.mkdir()
    for name in ("low", "high", "reverb", "noisy", "whisper"):
        (folder / f"{name}.wav").write_bytes(voices[name].read_bytes())
    model = tiny_paraspeechclap()
    with open_store(tmp_path / "data") as store:
        index_corpus(folder, store, model, IndexOptions(collection="voices", workers=0, threads=1, progress=False))
        schema = store.describe("voices").payload_schema
        for field, kind in PAYLOAD_FIELDS.items():
            assert schema[field] == kind
        assert schema["measured.pitch"] == FieldType.KEYWORD

        def names(where: str) -> set[str]:
            hits = store.search("voices", model.embed_text(["a voice"])[0], top_k=10, filter=parse_where(where, schema))
            return {Path(hit.payload["relative_path"]).stem for hit in hits}

        assert names("measured.reverberation=distant") == {"reverb"}
        assert names("measured.noise=noisy") == {"noisy"}
        assert names("measured.pitch=high") == {"high"}
        assert "whisper" in names("measured.breathiness=breathy")
        assert names("measured.pitch=low measured.noise=clean measured.reverberation=close") == {"low"}


def test_exports_know_every_field_the_indexer_writes() -> None:
    assert {key.split(".")[0] for key in RESERVED_KEYS} == INDEXER_FIELDS


@pytest.fixture
def without_praat(monkeypatch: pytest.MonkeyPatch) -> None:
    """This process as if the ``praat`` extra were not installed."""
    monkeypatch.setitem(sys.modules, "parselmouth", None)
    monkeypatch.setitem(sys.modules, "parselmouth.praat", None)


def _without(raw: dict, keys: tuple[str, ...]) -> dict:
    return {key: value for key, value in raw.items() if key not in keys}


@pytest.mark.usefixtures("without_praat")
def test_without_praat_its_measures_are_empty_and_the_others_unchanged(voices: dict[str, Path],
                                                                       measured: dict[str, dict]) -> None:
    for name in ("low", "noisy", "reverb"):
        raw = measure(read(voices[name]), SR).to_payload()
        assert {raw[key] for key in PRAAT_MEASURES} == {None}
        assert _without(raw, PRAAT_MEASURES) == _without(measured[name], PRAAT_MEASURES)
        assert measured[name]["f0_median_hz"] is not None  # the same clip with Praat
    low = measure(read(voices["low"]), SR).to_payload()
    assert bins(low) == {"noise": "clean", "reverberation": "close"}
    assert measured_bins(low, {"gender": "male"}) == {"gender": "male", "noise": "clean", "reverberation": "close"}
    with pytest.raises(MissingDependency, match=r"pip install 'paraseek\[praat\]'"):
        track_pitch(read(voices["low"]), SR)


@pytest.mark.usefixtures("without_praat")
def test_indexing_without_praat_stores_the_other_measures_and_says_what_it_left_out(voices: dict[str, Path],
                                                                                  tmp_path: Path) -> None:
    folder = tmp_path / "clips"
    folder.mkdir()
    for name in ("low", "noisy", "whisper"):
        (folder / f"{name}.wav").write_bytes(voices[name].read_bytes())
    model = tiny_paraspeechclap()
    with open_store(tmp_path / "data") as store:
        summary = index_corpus(folder, store, model, IndexOptions(collection="voices", workers=0, threads=1,
                                                                  progress=False))
        assert (summary.indexed, summary.failed) == (3, 0)
        assert summary.not_measured == list(PRAAT_MEASURES) == summary.to_dict()["not_measured"]
        schema = store.describe("voices").payload_schema
        hits = store.search("voices", model.embed_text(["a voice"])[0], top_k=10,
                            filter=parse_where("measured.noise=noisy", schema))
    assert [Path(hit.payload["relative_path"]).stem for hit in hits] == ["noisy"]
    payload = hits[0].payload
    assert payload["f0_median_hz"] is None and payload["snr_db"] < 15
    assert payload["measured"] == {"noise": "noisy"}


def test_indexing_with_praat_leaves_nothing_out(voices: dict[str, Path], tmp_path: Path) -> None:
    folder = tmp_path / "clips"
    folder.mkdir()
    (folder / "low.wav").write_bytes(voices["low"].read_bytes())
    with open_store(tmp_path / "data") as store:
        summary = index_corpus(folder, store, tiny_paraspeechclap(),
                               IndexOptions(collection="voices", workers=0, threads=1, progress=False))
    assert summary.indexed == 1 and summary.not_measured == []
