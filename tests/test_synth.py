"""The styled-speech corpus generator: determinism, resumption, manifest, labels that match the audio."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import soundfile

from paraseek.errors import InvalidArgument, MissingDependency
from paraseek.training import synth
from paraseek.training.synth import STYLE_GROUPS, generate_corpus, plan_clip, plan_corpus, read_manifest, render_clip
from paraseek.training.synth_acoustics import active_rms_dbfs, band_energy_share, f0_spread_semitones, median_f0, voiced_fraction
from paraseek.training.synth_text import sentence_split

pytestmark = pytest.mark.skipif(shutil.which("espeak-ng") is None or shutil.which("flite") is None
                                or shutil.which("sox") is None, reason="needs espeak-ng, flite and sox")

N_CLIPS = 16
ROW_KEYS = {"path", "duration", "speaker", "voice", "engine", "gender", "tags", "captions", "transcript", "split",
            "sample_rate"}
# Words a caption may use for each non-default tag (written independently of the caption templates).
CAPTION_WORDS = {
    "male": ["man", "male", "guy", "gentleman"], "female": ["woman", "female", "lady"],
    "low-pitched": ["deep", "low"], "high-pitched": ["high", "shrill"],
    "slow": ["slow", "unhurried"], "fast": ["fast", "quick", "rapid"],
    "quiet": ["quiet", "soft", "hushed"], "loud": ["loud", "booming"],
    "whispered": ["whisper"], "rough": ["rough", "raspy", "gravelly"], "creaky": ["creaky", "croaky"],
    "muffled": ["muffled", "dull"], "telephone-like": ["phone", "telephone"],
    "echoey": ["echo", "reverberant", "hall"], "noisy": ["noise", "noisy"],
    "monotonous": ["monoton", "flat"], "expressive": ["expressive", "lively", "animated"],
}


def _hashes(root: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted((root / "clips").glob("*.flac"))}


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("corpus")
    generate_corpus(root, N_CLIPS, seed=5, workers=2)
    return root


def test_manifest_schema_and_files(corpus: Path) -> None:
    rows = read_manifest(corpus / "manifest.jsonl")
    assert len(rows) == N_CLIPS
    assert {row["split"] for row in rows} == {"train", "test"}
    for row in rows:
        assert set(row) == ROW_KEYS
        audio, rate = soundfile.read(corpus / row["path"])
        assert rate == row["sample_rate"] == 16000 and audio.ndim == 1
        assert 2.0 <= row["duration"] <= 6.0
        assert abs(len(audio) / rate - row["duration"]) < 1e-3
        assert np.abs(audio).max() < 1.0
        assert row["engine"] in {"espeak-ng", "flite"} and row["speaker"].endswith(row["voice"])
        assert row["tags"]["gender"] == row["gender"]
        assert {"gender", "whisper", "texture", "clarity", "environment"} <= set(row["tags"])
        for group, tag in row["tags"].items():
            assert tag in STYLE_GROUPS[group]
        assert 1 <= len(row["captions"]) <= 3 and len(set(row["captions"])) == len(row["captions"])
        assert row["transcript"] in plan_clip(int(Path(row["path"]).stem), 5, row["split"]).sentences


def test_captions_mention_every_non_default_tag(corpus: Path) -> None:
    for row in read_manifest(corpus / "manifest.jsonl"):
        text = " ".join(row["captions"]).lower()
        for tag in row["tags"].values():
            if tag in CAPTION_WORDS:
                assert any(word in text for word in CAPTION_WORDS[tag]), (tag, row["captions"])


def test_same_seed_same_bytes_other_seed_differs(corpus: Path, tmp_path: Path) -> None:
    again = tmp_path / "again"
    generate_corpus(again, N_CLIPS, seed=5, workers=1)
    assert (again / "manifest.jsonl").read_bytes() == (corpus / "manifest.jsonl").read_bytes()
    assert _hashes(again) == _hashes(corpus)
    other = tmp_path / "other"
    generate_corpus(other, 4, seed=6, workers=1)
    assert read_manifest(other / "manifest.jsonl") != read_manifest(corpus / "manifest.jsonl")[:4]
    assert list(_hashes(other).values()) != list(_hashes(corpus).values())[:4]


def test_resume_restores_deleted_and_broken_clips(corpus: Path, tmp_path: Path) -> None:
    copy = tmp_path / "copy"
    shutil.copytree(corpus, copy)
    (copy / "clips" / "000001.flac").unlink()
    (copy / "clips" / "000004.json").unlink()
    (copy / "clips" / "000007.flac").write_bytes(b"not audio")
    (copy / "manifest.jsonl").unlink()
    untouched = (copy / "clips" / "000002.flac").stat().st_mtime_ns
    generate_corpus(copy, N_CLIPS, seed=5, workers=2)
    assert _hashes(copy) == _hashes(corpus)
    assert (copy / "manifest.jsonl").read_bytes() == (corpus / "manifest.jsonl").read_bytes()
    assert (copy / "clips" / "000002.flac").stat().st_mtime_ns == untouched


def test_resume_with_another_seed_rerenders(corpus: Path, tmp_path: Path) -> None:
    copy = tmp_path / "copy"
    shutil.copytree(corpus, copy)
    generate_corpus(copy, 3, seed=99, workers=1)
    fresh = tmp_path / "fresh"
    generate_corpus(fresh, 3, seed=99, workers=1)
    assert (copy / "manifest.jsonl").read_bytes() == (fresh / "manifest.jsonl").read_bytes()
    assert {k: v for k, v in _hashes(copy).items() if k in _hashes(fresh)} == _hashes(fresh)


def test_train_and_test_share_no_voice_and_no_sentence() -> None:
    plans = plan_corpus(3000, seed=1)
    train = [p for p in plans if p.split == "train"]
    test = [p for p in plans if p.split == "test"]
    assert len(test) == 300
    base_voice = lambda p: p.voice.split("+")[-1]  # noqa: E731 - espeak accents share one variant
    assert not {base_voice(p) for p in train} & {base_voice(p) for p in test}
    assert not {s for p in train for s in p.sentences} & {s for p in test for s in p.sentences}
    assert {p.gender for p in test} == {"male", "female"}
    assert {p.engine for p in test} == {"espeak-ng", "flite"}
    assert all(sentence_split(s) == p.split for p in plans for s in p.sentences)
    assert len({p.speaker for p in train}) > 100


def test_plan_arguments_are_checked() -> None:
    with pytest.raises(InvalidArgument):
        plan_corpus(0, seed=1)
    with pytest.raises(InvalidArgument):
        plan_corpus(5, seed=1, test_fraction=1.0)


def test_missing_tools_raise_with_apt_command(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(MissingDependency, match="apt-get install"):
        generate_corpus(tmp_path / "out", 2, seed=0)


def _render_matching(tmp_path: Path, want: dict[str, str | None], *, engine: str, gender: str,
                     count: int = 3, plain: bool = True) -> list[np.ndarray]:
    """Render the first ``count`` planned clips with the wanted tags (``None``: group absent)."""
    waves = []
    for index in range(5000):
        plan = plan_clip(index, 11, "train")
        tags = plan.tags
        if plan.engine != engine or plan.gender != gender or plan.voice.endswith("croak"):
            continue
        defaults = {"texture": "smooth", "clarity": "clear", "environment": "clean"}
        if plain and any(tags[group] != tag for group, tag in defaults.items() if group not in want):
            continue
        if all(tags.get(group) == tag for group, tag in want.items()):
            row = render_clip(plan, tmp_path)
            waves.append(soundfile.read(tmp_path / row["path"])[0])
            if len(waves) == count:
                return waves
    raise AssertionError(f"no planned clips with {want}")


@pytest.mark.parametrize(("engine", "gender"), [("espeak-ng", "male"), ("flite", "female")])
def test_high_pitched_clips_have_higher_f0(tmp_path: Path, engine: str, gender: str) -> None:
    base = {"whisper": "voiced", "intonation": None}
    high = _render_matching(tmp_path, {**base, "pitch": "high-pitched"}, engine=engine, gender=gender)
    low = _render_matching(tmp_path, {**base, "pitch": "low-pitched"}, engine=engine, gender=gender)
    assert min(median_f0(x, 16000) for x in high) > 1.3 * max(median_f0(x, 16000) for x in low)


def test_loud_clips_are_louder_than_quiet_ones(tmp_path: Path) -> None:
    loud = _render_matching(tmp_path, {"volume": "loud"}, engine="espeak-ng", gender="female", plain=False)
    quiet = _render_matching(tmp_path, {"volume": "quiet"}, engine="espeak-ng", gender="female", plain=False)
    assert min(active_rms_dbfs(x, 16000) for x in loud) > max(active_rms_dbfs(x, 16000) for x in quiet) + 10


def test_slow_clips_take_longer_per_word(tmp_path: Path) -> None:
    def seconds_per_word(speed: str) -> list[float]:
        rates = []
        for index in range(400):
            plan = plan_clip(index, 12, "train")
            if plan.engine == "espeak-ng" and plan.tags.get("speed") == speed and "reverb" not in plan.params:
                row = render_clip(plan, tmp_path)
                rates.append((row["duration"] - plan.params["lead_s"]) / len(row["transcript"].split()))
            if len(rates) == 3:
                return rates
        raise AssertionError(speed)

    assert min(seconds_per_word("slow")) > max(seconds_per_word("fast"))


def test_whisper_and_clarity_show_in_the_spectrum(tmp_path: Path) -> None:
    whispered = _render_matching(tmp_path, {"whisper": "whispered"}, engine="flite", gender="male")
    voiced = _render_matching(tmp_path, {"whisper": "voiced", "intonation": None}, engine="flite", gender="male")
    assert max(voiced_fraction(x, 16000) for x in whispered) < 0.15 < min(voiced_fraction(x, 16000) for x in voiced)
    muffled = _render_matching(tmp_path, {"clarity": "muffled", "whisper": "voiced"}, engine="espeak-ng",
                               gender="male")
    clear = _render_matching(tmp_path, {"clarity": "clear", "whisper": "voiced"}, engine="espeak-ng", gender="male")
    treble = lambda x: band_energy_share(x, 16000, 1500, 8000)  # noqa: E731
    assert max(map(treble, muffled)) < 0.1 * min(map(treble, clear))
    phone = _render_matching(tmp_path, {"clarity": "telephone-like", "whisper": "voiced"}, engine="espeak-ng",
                             gender="male")
    bass = lambda x: band_energy_share(x, 16000, 0, 200)  # noqa: E731
    assert max(map(bass, phone)) < 0.2 * min(map(bass, clear))


def test_plan_fingerprint_tracks_changes() -> None:
    plan = plan_clip(3, 1, "train")
    assert plan.fingerprint() == plan_clip(3, 1, "train").fingerprint()
    changed = dataclasses.replace(plan, params={**plan.params, "level_dbfs": -30.0})
    assert changed.fingerprint() != plan.fingerprint()
    assert json.loads(json.dumps(dataclasses.asdict(plan))) == dataclasses.asdict(plan)
    assert synth.MANIFEST_NAME == "manifest.jsonl"


# Words a caption may use for each tag of style set 2 (written independently of the caption templates).
EXTENDED_CAPTION_WORDS = {
    "breathy": ["breathy", "airy", "wispy", "husky"], "punctuated": ["punctuated", "choppy", "clipped", "phrases"],
    "hesitant": ["hesitant", "halting", "faltering", "hesitation"], "stammering": ["stammer", "stutter", "starts of words"],
    "singsong": ["singsong", "sing-song", "lilting"], "enunciated": ["enunciat", "articulat", "precise"],
    "angry": ["angry", "furious", "irritated", "annoyed"], "happy": ["happy", "cheerful", "joyful"],
    "sad": ["sad", "sorrowful", "unhappy"], "scared": ["scared", "frightened", "fearful", "afraid"],
    "sleepy": ["sleepy", "drowsy", "tired"], "enthusiastic": ["enthusiastic", "excited", "eager"],
    "calm": ["calm", "relaxed", "composed", "peaceful"],
}


def test_style_set_two_covers_and_captions_every_new_tag() -> None:
    plans = plan_corpus(800, seed=3, styles=2)
    assert [p.fingerprint() for p in plans[:50]] == [p.fingerprint() for p in plan_corpus(50, seed=3, styles=2)]
    seen = {(group, plan.tags[group]) for plan in plans for group in ("breathiness", "rhythm", "emotion")
            if group in plan.tags}
    for group in ("breathiness", "rhythm", "emotion"):
        assert {tag for g, tag in seen if g == group} == set(STYLE_GROUPS[group])
    for plan in plans:
        assert set(plan.tags) <= set(synth.STYLE_SETS[2])
        for group, tag in plan.tags.items():
            assert tag in STYLE_GROUPS[group]
            if tag in EXTENDED_CAPTION_WORDS:
                for caption in plan.captions:
                    assert any(word in caption.lower() for word in EXTENDED_CAPTION_WORDS[tag]), (tag, caption)
        emotion = plan.tags.get("emotion")
        if emotion in ("sad", "sleepy"):  # the emotion's profile keeps the basic tags true
            assert plan.tags.get("pitch") != "high-pitched" and plan.tags.get("volume") != "loud"
        if emotion in ("angry", "enthusiastic"):
            assert plan.tags.get("volume") != "quiet" and plan.tags.get("speed") != "slow"
        if "whispered" in plan.tags.values():
            assert "emotion" not in plan.tags and "breathiness" not in plan.tags


def test_style_set_one_is_unchanged_by_set_two() -> None:
    for index in range(60):
        plan = plan_clip(index, 4, "train")
        assert set(plan.tags) <= set(synth.STYLE_SETS[1])
        assert "rhythm" not in plan.params and "breathy" not in plan.params
    with pytest.raises(InvalidArgument):
        plan_clip(0, 4, "train", styles=5)


def test_style_set_three_renders_every_emotion_with_its_key_cues() -> None:
    plans = plan_corpus(800, seed=5, styles=3)
    assert [p.voice for p in plans] == [p.voice for p in plan_corpus(800, seed=5, styles=2)]
    assert {p.tags.get("emotion") for p in plans} - {None} == set(STYLE_GROUPS["emotion"])
    for plan in plans:
        tags, params = plan.tags, plan.params
        boost = 6.0 if tags.get("rhythm") == "enunciated" else 0.0  # enunciation adds up to 6 dB of treble
        emotion = tags.get("emotion")
        if emotion == "neutral":
            assert "tremolo" not in params and (tags.get("rhythm") == "enunciated" or "treble_db" not in params)
        elif emotion == "angry":
            assert tags["volume"] == "loud" and tags["texture"] != "smooth" and params["treble_db"] >= 5
        elif emotion == "happy":
            assert "speed" not in tags and "volume" not in tags and params["treble_db"] >= 2
            assert tags.get("intonation", "expressive") == "expressive"
        elif emotion == "enthusiastic":
            assert tags["speed"] == "fast" and tags["volume"] == "loud" and params["treble_db"] >= 2
        elif emotion == "sad":
            assert tags["breathiness"] == "breathy" and params["treble_db"] <= -5 + boost
        elif emotion == "scared":
            assert "tremolo" in params
        elif emotion == "sleepy":
            assert tags["speed"] == "slow" and tags["texture"] != "smooth" and params["treble_db"] <= -5 + boost
        elif emotion == "calm":
            assert tags["speed"] == "slow" and "volume" not in tags and tags.get("intonation", "monotonous") == "monotonous"


def test_style_set_four_speaks_neutral_clips_in_the_middle_and_keeps_every_other_clip() -> None:
    three, four = plan_corpus(800, seed=5, styles=3), plan_corpus(800, seed=5, styles=4)
    neutral = [index for index, plan in enumerate(four) if plan.tags.get("emotion") == "neutral"]
    assert len(neutral) > 200
    for index in neutral:
        assert not {"pitch", "speed", "intonation"} & set(four[index].tags)
        assert {k: v for k, v in four[index].tags.items() if k not in ("pitch", "speed", "intonation")} == \
            {k: v for k, v in three[index].tags.items() if k not in ("pitch", "speed", "intonation")}
    assert any({"pitch", "speed"} & set(three[index].tags) for index in neutral)
    others = [index for index in range(800) if index not in set(neutral)]
    assert all(four[index].fingerprint() == three[index].fingerprint() for index in others)


def _first_plan(tags: dict[str, str], engine: str = "espeak-ng") -> synth.ClipPlan:
    for index in range(3000):
        plan = plan_clip(index, 21, "train", styles=2)
        if plan.engine == engine and all(plan.tags.get(g) == t for g, t in tags.items()) \
                and not {"reverb", "noise", "lowpass", "band", "tremolo", "overdrive", "fry"} & set(plan.params):
            return plan
    raise AssertionError(f"no planned clip with {tags}")


def _render(plan: synth.ClipPlan, tmp_path: Path) -> tuple[np.ndarray, str]:
    row = render_clip(plan, tmp_path)
    return soundfile.read(tmp_path / row["path"])[0], row["transcript"]


def test_rhythms_are_rendered(tmp_path: Path) -> None:
    hesitant = _first_plan({"rhythm": "hesitant", "whisper": "voiced"})
    fluent = dataclasses.replace(hesitant, index=hesitant.index + 100000,
                                 params={**hesitant.params, "rhythm": {"tag": "flowing"}},
                                 sentences=[" ".join(w for w in s.split() if w != "|") for s in hesitant.sentences])
    (slow_wave, transcript), (fluent_wave, _) = _render(hesitant, tmp_path), _render(fluent, tmp_path)
    assert "|" not in transcript and len(slow_wave) > len(fluent_wave) + 0.25 * 16000
    stammering = _first_plan({"rhythm": "stammering"}, engine="flite")
    _, said = _render(stammering, tmp_path)
    words = said.split()
    assert any(a == b and a.endswith("-") for a, b in zip(words, words[1:], strict=False))
    singsong = _first_plan({"rhythm": "singsong", "whisper": "voiced"})
    flat = dataclasses.replace(singsong, index=singsong.index + 100000, params={**singsong.params, "rhythm": {"tag": "flowing"}})
    assert f0_spread_semitones(_render(singsong, tmp_path)[0], 16000) > f0_spread_semitones(_render(flat, tmp_path)[0], 16000)


def test_breathiness_adds_noise_to_the_voice(tmp_path: Path) -> None:
    for method in ("mix", "aspiration"):
        breathy = _first_plan({"breathiness": "breathy", "emotion": "neutral"})
        breathy = dataclasses.replace(breathy, params={**breathy.params,
                                                       "breathy": {**breathy.params["breathy"], "method": method}})
        modal_params = {k: v for k, v in breathy.params.items() if k != "breathy"}
        modal = dataclasses.replace(breathy, index=breathy.index + 100000, params=modal_params)
        airy, plain = _render(breathy, tmp_path)[0], _render(modal, tmp_path)[0]
        assert band_energy_share(airy, 16000, 4000, 8000) > 1.5 * band_energy_share(plain, 16000, 4000, 8000)
