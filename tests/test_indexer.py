"""The indexer on real audio files: sources, payload, idempotence, bad files, shards, versions."""

from __future__ import annotations

import dataclasses
import json
import threading
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import soundfile

from paraseek.errors import FailedPrecondition, InvalidArgument, ModelMismatch
from paraseek.indexer import IndexOptions, index_corpus, measure, open_source, parse_shard, point_id, shard_of
from paraseek.indexer.balance import (
    CALIBRATION_BATCHES,
    Split,
    StageClock,
    StageCosts,
    choose_split,
    predicted_rate,
    scaling_decides,
)
from paraseek.indexer.collections import prepare_target
from paraseek.indexer.pipeline import payload_schema, style_payloads
from paraseek.model import ZeroShotScorer, load_model
from paraseek.model.zeroshot import ranked
from paraseek.storage import FieldType, open_store
from paraseek.storage.catalog import apply_changes, describe_all
from paraseek.testing import speak, tiny_paraspeechclap, tiny_paraspeechclap_config, tone, write_audio

SR = 16000


def options(collection: str = "voices", **overrides: object) -> IndexOptions:
    base = {"collection": collection, "workers": 0, "threads": 1, "progress": False}
    return IndexOptions(**{**base, **overrides})  # type: ignore[arg-type]


def sine(seconds: float, frequency: float, rms_dbfs: float, sample_rate: int = SR) -> np.ndarray:
    t = np.arange(int(seconds * sample_rate)) / sample_rate
    return (np.sqrt(2) * 10 ** (rms_dbfs / 20) * np.sin(2 * np.pi * frequency * t)).astype(np.float32)


def all_points(store, collection: str, with_vectors: bool = False) -> list:  # type: ignore[no-untyped-def]
    points, offset = store.scroll(collection, limit=256, with_vectors=with_vectors)
    while offset is not None:
        page, offset = store.scroll(collection, limit=256, offset=offset, with_vectors=with_vectors)
        points.extend(page)
    return points


def payloads_by_key(store, collection: str) -> dict[str, dict]:  # type: ignore[no-untyped-def]
    return {p.payload["relative_path"]: p.payload for p in all_points(store, collection)}


@pytest.fixture
def model():  # type: ignore[no-untyped-def]
    return tiny_paraspeechclap()


@pytest.fixture
def store(tmp_path: Path):  # type: ignore[no-untyped-def]
    with open_store(tmp_path / "data") as handle:
        yield handle


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """Six tones in nested folders, in every supported format, rates and channel counts."""
    root = tmp_path / "clips"
    write_audio(root / "a" / "low.wav", tone(1.0, 44100, 110, channels=2), 44100)
    write_audio(root / "a" / "mid.flac", tone(1.2, 22050, 220), 22050)
    write_audio(root / "b" / "high.ogg", tone(0.8, SR, 330), SR)
    (root / "b" / "c").mkdir(parents=True)
    soundfile.write(root / "b" / "c" / "x.opus", tone(1.0, 48000, 180, channels=2).T, 48000, format="OGG",
                    subtype="OPUS")
    soundfile.write(root / "y.mp3", tone(1.0, 44100, 250).reshape(-1), 44100, format="MP3")
    write_audio(root / "z.wav", tone(0.6, 8000, 150), 8000)
    (root / "notes.txt").write_text("not audio")
    return root


# --- acoustics --------------------------------------------------------------------------------


@pytest.mark.parametrize("frequency", [90.0, 220.0, 410.0])
def test_pitch_of_tones_within_five_percent(frequency: float) -> None:
    found = measure(tone(1.5, SR, frequency), SR)
    assert found.f0_median_hz == pytest.approx(frequency, rel=0.05)
    assert found.voiced_fraction > 0.9
    assert found.f0_std_semitones is not None and found.f0_std_semitones < 0.5


def test_loudness_of_a_minus_20_dbfs_signal() -> None:
    assert measure(sine(2.0, 300, -20.0), SR).loudness_dbfs == pytest.approx(-20.0, abs=0.1)
    assert measure(sine(2.0, 300, -35.0), SR).loudness_dbfs == pytest.approx(-35.0, abs=0.1)


def test_speech_measures_are_plausible(tmp_path: Path) -> None:
    text = "The quick brown fox jumps over the lazy dog near the river bank today."
    slow, _ = soundfile.read(speak(tmp_path / "slow.wav", text, speed=120, pitch=30), dtype="float32")
    fast, _ = soundfile.read(speak(tmp_path / "fast.wav", text, speed=280, pitch=80), dtype="float32")
    slow_m, fast_m = measure(slow, SR), measure(fast, SR)
    for found in (slow_m, fast_m):
        assert 60 < found.f0_median_hz < 400
        assert 0.1 < found.voiced_fraction < 0.95
        assert 1.0 < found.speaking_rate < 12.0
        assert found.snr_db > 20  # synthetic speech has near-silent gaps between words
    assert fast_m.speaking_rate > slow_m.speaking_rate
    assert fast_m.f0_median_hz > slow_m.f0_median_hz
    noisy = slow + 0.05 * np.random.default_rng(0).standard_normal(slow.shape).astype(np.float32)
    assert measure(noisy, SR).snr_db < slow_m.snr_db - 10


def test_silence_has_no_pitch() -> None:
    found = measure(np.zeros(SR, dtype=np.float32), SR)
    assert found.f0_median_hz is None and found.voiced_fraction == 0.0


# --- sources and payload ----------------------------------------------------------------------


def test_folder_source_indexes_every_format_with_payload(folder: Path, store, model) -> None:  # type: ignore[no-untyped-def]
    summary = index_corpus(folder, store, model, options())
    assert (summary.indexed, summary.skipped, summary.failed) == (6, 0, 0)
    assert summary.collection == "voices_v1" and store.resolve("voices") == "voices_v1"
    payloads = payloads_by_key(store, "voices")
    assert set(payloads) == {"a/low.wav", "a/mid.flac", "b/high.ogg", "b/c/x.opus", "y.mp3", "z.wav"}
    low = payloads["a/low.wav"]
    assert low["path"] == str(folder / "a" / "low.wav")
    assert (low["sample_rate"], low["channels"], low["corpus"], low["model"]) == (44100, 2, "clips", model.name)
    assert low["duration"] == pytest.approx(1.0, abs=0.01)
    assert low["f0_median_hz"] == pytest.approx(110, rel=0.05)
    assert payloads["a/mid.flac"]["f0_median_hz"] == pytest.approx(220, rel=0.05)
    assert payloads["z.wav"]["sample_rate"] == 8000
    for payload in payloads.values():
        assert len(payload["content_hash"]) == 32
        for group, tags in model.style_groups().items():
            assert payload["style"][group] in tags
            assert -1.0 <= payload["style_score"][group] <= 1.0
    info = store.describe("voices")
    assert info.dim == model.embedding_dim and info.count == 6
    assert info.metadata["model"] == model.name and info.metadata["model_fingerprint"] == model.fingerprint
    assert info.metadata["corpus"] == "clips" and "created" in info.metadata
    assert info.payload_schema["style.pitch"] == FieldType.KEYWORD
    assert info.payload_schema["style_score.speed"] == FieldType.FLOAT
    assert info.payload_schema["f0_median_hz"] == FieldType.FLOAT


def test_vectors_match_direct_embedding_and_classify(folder: Path, store, model) -> None:  # type: ignore[no-untyped-def]
    index_corpus(folder, store, model, options())
    point = next(p for p in store.retrieve("voices_v1", [p.id for p in all_points(store, "voices_v1")],
                                           with_vectors=True) if p.payload["relative_path"] == "a/mid.flac")
    wave, rate = soundfile.read(folder / "a" / "mid.flac", dtype="float32")
    direct = model.embed_audio([wave], rate)[0]
    assert float(np.dot(np.asarray(point.vector), direct)) > 0.9999
    groups = model.style_groups()
    for group, matrix in model.classify(direct[None]).items():
        best = int(np.argmax(matrix[0]))
        assert point.payload["style"][group] == groups[group][best]
        assert point.payload["style_score"][group] == pytest.approx(float(matrix[0, best]), abs=1e-4)


def test_csv_and_jsonl_manifests_keep_metadata(tmp_path: Path, store, model) -> None:  # type: ignore[no-untyped-def]
    audio = tmp_path / "corpus" / "audio"
    for i in range(3):
        write_audio(audio / f"s{i}.wav", tone(0.7, SR, 120 + 60 * i, seed=i))
    csv = tmp_path / "corpus" / "meta.csv"
    csv.write_text("path,speaker,age,score,duration\n" + "".join(
        f"audio/s{i}.wav,spk{i},{30 + i},{0.5 + i / 10},99\n" for i in range(3)))
    summary = index_corpus(csv, store, model, options("from_csv"))
    assert summary.indexed == 3
    payload = payloads_by_key(store, "from_csv")["audio/s1.wav"]
    assert (payload["speaker"], payload["age"], payload["score"]) == ("spk1", 31, pytest.approx(0.6))
    assert payload["meta_duration"] == 99 and payload["duration"] == pytest.approx(0.7, abs=0.01)
    schema = store.describe("from_csv").payload_schema
    assert (schema["speaker"], schema["age"], schema["score"]) == (FieldType.KEYWORD, FieldType.INTEGER, FieldType.FLOAT)
    (tmp_path / "corpus" / "metadata.csv").write_text(csv.read_text().replace("path,", "file_name,"))
    audiofolder = open_source(tmp_path / "corpus")  # the Hugging Face "audiofolder" layout
    assert audiofolder.kind == "manifest" and [ref.key for ref in audiofolder] == [f"audio/s{i}.wav" for i in range(3)]

    jsonl = tmp_path / "corpus" / "meta.jsonl"
    rows = [{"audio_path": str(audio / f"s{i}.wav"), "tags": ["calm", f"t{i}"], "info": {"room": i},
             "description": "a long free text description of the speaking style " * 3} for i in range(3)]
    jsonl.write_text("".join(json.dumps(row) + "\n" for row in rows))
    assert index_corpus(jsonl, store, model, options("from_jsonl")).indexed == 3
    payload = payloads_by_key(store, "from_jsonl")["audio/s2.wav"]
    assert payload["tags"] == ["calm", "t2"] and payload["info"] == {"room": 2}
    schema = store.describe("from_jsonl").payload_schema
    assert schema["tags"] == FieldType.KEYWORD and schema["description"] == FieldType.TEXT
    assert "info" not in schema


@pytest.mark.parametrize("suffix", ["jsonl", "parquet"])
def test_paraspeechcaps_manifest(tmp_path: Path, store, model, suffix: str) -> None:  # type: ignore[no-untyped-def]
    audio_root = tmp_path / "psc_audio"
    rows = []
    for i, source in enumerate(["voxceleb", "expresso", "voxceleb"]):
        relative = f"spk{i}/utt{i}.wav"
        write_audio(audio_root / source / relative, tone(0.8, SR, 150 + 50 * i, seed=i))
        rows.append({"source": source, "relative_audio_path": relative, "speakerid": f"id{i}",
                     "text_description": [f"A calm voice {i}.", "Another caption."], "gender": "female"})
    manifest = tmp_path / "manifests" / f"train.{suffix}"
    manifest.parent.mkdir()
    if suffix == "jsonl":
        manifest.write_text("".join(json.dumps(r) + "\n" for r in rows))
    else:
        pq.write_table(pa.Table.from_pylist(rows), manifest)
    source = open_source(manifest, audio_root=audio_root)
    assert source.kind == "paraspeechcaps" and len(source) == 3
    summary = index_corpus(source, store, model, options("psc"))
    assert summary.indexed == 3 and summary.failed == 0
    payload = payloads_by_key(store, "psc")["expresso/spk1/utt1.wav"]
    assert payload["path"] == str(audio_root / "expresso" / "spk1" / "utt1.wav")
    assert payload["source"] == "expresso" and payload["speakerid"] == "id1"
    assert payload["text_description"] == ["A calm voice 1.", "Another caption."]
    assert payload["f0_median_hz"] == pytest.approx(200, rel=0.05)


def test_hf_parquet_table_with_embedded_audio(tmp_path: Path, store, model) -> None:  # type: ignore[no-untyped-def]
    def encoded(frequency: float) -> bytes:
        path = write_audio(tmp_path / "tmp.flac", tone(0.9, SR, frequency), SR)
        return path.read_bytes()

    on_disk = write_audio(tmp_path / "table" / "data" / "side.wav", tone(0.9, SR, 300), SR)
    struct = pa.struct([("bytes", pa.binary()), ("path", pa.string())])
    table = pa.table({
        "audio": pa.array([{"bytes": encoded(140), "path": "clip_a.flac"}, {"bytes": encoded(260), "path": None},
                           {"bytes": None, "path": "side.wav"}], type=struct),
        "label": ["angry", "calm", "sad"],
        "speaker_id": [1, 2, 3],
    })
    folder = tmp_path / "table" / "data"
    pq.write_table(table, folder / "train-00000-of-00001.parquet")
    source = open_source(tmp_path / "table")
    assert source.kind == "table" and len(source) == 3
    summary = index_corpus(source, store, model, options("hf"))
    assert (summary.indexed, summary.failed) == (3, 0)
    payloads = payloads_by_key(store, "hf")
    assert set(payloads) == {"clip_a.flac", "train-00000-of-00001#1", "side.wav"}
    first = payloads["clip_a.flac"]
    assert first["table_row"] == 0 and first["label"] == "angry" and first["speaker_id"] == 1
    assert first["f0_median_hz"] == pytest.approx(140, rel=0.05)
    assert payloads["side.wav"]["path"] == str(on_disk)
    assert store.describe("hf").payload_schema["speaker_id"] == FieldType.INTEGER


def test_unknown_or_empty_sources_are_refused(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    with pytest.raises(InvalidArgument, match="no audio files"):
        open_source(tmp_path / "empty")
    (tmp_path / "x.xml").write_text("<a/>")
    with pytest.raises(InvalidArgument, match="unknown source type"):
        open_source(tmp_path / "x.xml")
    (tmp_path / "m.csv").write_text("speaker,age\na,1\n")
    with pytest.raises(InvalidArgument, match="no audio column"):
        open_source(tmp_path / "m.csv")


# --- idempotence, bad files, shards -----------------------------------------------------------


def test_rerun_is_idempotent_and_changed_files_are_reindexed(folder: Path, store, model) -> None:  # type: ignore[no-untyped-def]
    first = index_corpus(folder, store, model, options())
    second = index_corpus(folder, store, model, options())
    assert (second.indexed, second.skipped, second.failed) == (0, first.indexed, 0)
    assert store.count("voices") == first.indexed
    write_audio(folder / "z.wav", tone(0.6, 8000, 190), 8000)
    third = index_corpus(folder, store, model, options())
    assert (third.indexed, third.skipped) == (1, first.indexed - 1)


def test_point_ids_are_deterministic() -> None:
    assert point_id("c", "a/b.wav", "ff") == point_id("c", "a/b.wav", "ff")
    assert len({point_id("c", "a/b.wav", "ff"), point_id("d", "a/b.wav", "ff"), point_id("c", "a/b.wav", "fe")}) == 3


def test_bad_files_are_reported_and_skipped(tmp_path: Path, store, model) -> None:  # type: ignore[no-untyped-def]
    clips = tmp_path / "clips"
    write_audio(clips / "good.wav", tone(1.0, SR, 200), SR)
    (clips / "corrupt.wav").write_bytes(b"RIFF\x00\x00\x00\x00WAVEfmt garbage" * 20)
    (clips / "empty.flac").write_bytes(b"")
    write_audio(clips / "silent.wav", np.zeros(SR, dtype=np.float32), SR)
    write_audio(clips / "near_silent.wav", (1e-5 * np.random.default_rng(0).standard_normal(SR)).astype(np.float32), SR)
    write_audio(clips / "short.wav", tone(0.05, SR, 200), SR)
    write_audio(clips / "long.wav", tone(4.0, SR, 200), SR)
    manifest = tmp_path / "manifest.csv"
    names = ["good.wav", "corrupt.wav", "empty.flac", "silent.wav", "near_silent.wav", "short.wav", "long.wav",
             "missing.wav"]
    manifest.write_text("path\n" + "".join(f"clips/{name}\n" for name in names))
    errors = tmp_path / "report" / "errors.jsonl"
    summary = index_corpus(manifest, store, model, options(max_seconds=3.0, errors_file=errors))
    assert (summary.indexed, summary.failed) == (1, 7)
    assert summary.errors_file == str(errors)
    records = {Path(r["path"]).name: r for r in map(json.loads, errors.read_text().splitlines())}
    assert set(records) == set(names) - {"good.wav"}
    assert "cannot decode" in records["corrupt.wav"]["reason"]
    assert "empty" in records["empty.flac"]["reason"]
    assert "silent" in records["silent.wav"]["reason"] and "silent" in records["near_silent.wav"]["reason"]
    assert "shorter" in records["short.wav"]["reason"] and "longer" in records["long.wav"]["reason"]
    assert records["missing.wav"]["error_type"] == "FileNotFoundError"
    assert all(r["error_type"] for r in records.values())
    assert store.count("voices") == 1


def test_workers_decode_in_processes_with_same_result(folder: Path, tmp_path: Path, model) -> None:  # type: ignore[no-untyped-def]
    (folder / "broken.mp3").write_bytes(b"\xff\xfb" + b"\x00" * 50)
    import torch

    threads = torch.get_num_threads()
    with open_store(tmp_path / "d1") as inline_store, open_store(tmp_path / "d2") as pool_store:
        inline = index_corpus(folder, inline_store, model, options())
        pooled = index_corpus(folder, pool_store, model, options(workers=2, batch_seconds=1.0, upsert_batch=2))
        assert torch.get_num_threads() == threads  # the run gives back the threads it took for the model
        assert (pooled.indexed, pooled.failed) == (inline.indexed, inline.failed) == (6, 1)
        a = {p.id: p for p in inline_store.retrieve("voices", [p.id for p in all_points(inline_store, "voices")],
                                                    with_vectors=True)}
        b = {p.id: p for p in pool_store.retrieve("voices", list(a), with_vectors=True)}
        assert set(a) == set(b)
        for key in a:
            assert float(np.dot(np.asarray(a[key].vector), np.asarray(b[key].vector))) > 0.9999
            assert a[key].payload["f0_median_hz"] == b[key].payload["f0_median_hz"]


_WORKER_SCRIPT = """
import os, sys
from paraseek.indexer.decode import DecodeLimits, DecodeTask, decode_or_fail, init_worker
init_worker(os.getppid())
result = decode_or_fail(DecodeTask(file=sys.argv[1], data=None, name="clip"), DecodeLimits())
print(type(result).__name__, result.acoustics["f0_median_hz"] is not None, "torch" in sys.modules)
"""


def test_decode_workers_measure_clips_without_importing_torch(folder: Path) -> None:
    import subprocess
    import sys

    clip = sorted(folder.glob("*.wav"))[0]
    result = subprocess.run([sys.executable, "-c", _WORKER_SCRIPT, str(clip)], capture_output=True, text=True,
                            timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["Decoded", "True", "False"]


def test_package_names_load_on_first_use() -> None:
    import paraseek.indexer as package

    assert set(package.__all__) == set(package._MODULES)
    for name in package.__all__:
        assert getattr(package, name).__name__ == name
    with pytest.raises(AttributeError):
        package.not_a_name  # noqa: B018


def test_shards_partition_the_corpus_exactly(tmp_path: Path, store, model) -> None:  # type: ignore[no-untyped-def]
    root = tmp_path / "many"
    for i in range(24):
        write_audio(root / f"c{i:02d}.wav", tone(0.3, SR, 100 + 10 * i, seed=i), SR)
    keys: list[set[str]] = []
    for index in range(3):
        summary = index_corpus(root, store, model, options(f"part{index}", shard=(index, 3)))
        keys.append(set(payloads_by_key(store, f"part{index}")))
        assert summary.indexed == len(keys[-1]) and summary.shard == f"{index}/3"
        assert all(shard_of(key, 3) == index for key in keys[-1])
    assert set().union(*keys) == {f"c{i:02d}.wav" for i in range(24)}
    assert sum(map(len, keys)) == 24 and all(keys)
    assert parse_shard("2/3") == (2, 3)
    for bad in ("3/3", "x", "1/0"):
        with pytest.raises(InvalidArgument):
            parse_shard(bad)


def test_limit_caps_the_run(folder: Path, store, model) -> None:  # type: ignore[no-untyped-def]
    assert index_corpus(folder, store, model, options(limit=2)).indexed == 2
    assert index_corpus(folder, store, model, options(limit=4)).indexed == 2


# --- versions, aliases, models ----------------------------------------------------------------


def other_model():  # type: ignore[no-untyped-def]
    config = dataclasses.replace(tiny_paraspeechclap_config(), name="paraspeechclap-tiny-b")
    return load_model(config=config, random_init=True)


def test_other_model_is_refused_then_reindex_swaps_while_reading(folder: Path, store, model) -> None:  # type: ignore[no-untyped-def]
    index_corpus(folder, store, model, options())
    replacement = other_model()
    with pytest.raises(ModelMismatch, match="--reindex"):
        index_corpus(folder, store, replacement, options())
    assert store.count("voices_v1") == 6

    query = model.embed_text(["a calm low voice"])[0]
    seen: list[str] = []
    failures: list[BaseException] = []
    stop = threading.Event()

    def reader() -> None:
        while not stop.is_set():
            try:
                hits = store.search("voices", query, top_k=3)
                seen.append(hits[0].payload["model"] if hits else "none")
            except BaseException as error:  # noqa: BLE001 - the test reports any reader failure
                failures.append(error)
                return

    thread = threading.Thread(target=reader)
    thread.start()
    try:
        summary = index_corpus(folder, store, replacement, options(reindex=True, batch_seconds=1.0))
    finally:
        stop.set()
        thread.join()
    assert not failures
    assert summary.collection == "voices_v2" and summary.swapped and summary.count == 6
    assert seen and seen[0] == model.name and "none" not in seen
    assert store.resolve("voices") == "voices_v2"
    assert store.count("voices_v1") == 6
    assert store.search("voices", replacement.embed_text(["x"])[0], top_k=1)[0].payload["model"] == replacement.name

    listing = describe_all(store)
    assert listing["aliases"] == {"voices": "voices_v2"}
    assert [c["name"] for c in listing["collections"]] == ["voices_v1", "voices_v2"]
    with pytest.raises(FailedPrecondition, match="points to"):
        apply_changes(store, delete=("voices_v2",))
    apply_changes(store, set_alias=("voices=voices_v1",))
    assert store.resolve("voices") == "voices_v1"
    apply_changes(store, set_alias=("voices=voices_v2",), delete=("voices_v1",))
    assert [c["name"] for c in describe_all(store)["collections"]] == ["voices_v2"]


def test_interrupted_reindex_resumes_into_the_same_version(folder: Path, store, model) -> None:  # type: ignore[no-untyped-def]
    index_corpus(folder, store, model, options())
    replacement = other_model()
    # a re-index that died after writing part of v2: v2 exists, holds 2 clips, and no alias points to it
    target = prepare_target(store, "voices", replacement, payload_schema(replacement, []), corpus="clips", reindex=True)
    assert (target.collection, target.swap_alias) == ("voices_v2", True)
    index_corpus(folder, store, replacement, options("voices_v2", limit=2))
    assert store.resolve("voices") == "voices_v1"
    resumed = index_corpus(folder, store, replacement, options(reindex=True))
    assert (resumed.collection, resumed.indexed, resumed.skipped, resumed.count) == ("voices_v2", 4, 2, 6)
    assert resumed.swapped and store.resolve("voices") == "voices_v2"
    again = index_corpus(folder, store, replacement, options(reindex=True))
    assert (again.collection, again.indexed) == ("voices_v3", 6)


def test_payload_schema_infers_types(model) -> None:  # type: ignore[no-untyped-def]
    schema = payload_schema(model, [{"n": 1, "x": 1.5, "ok": True, "s": "a", "l": ["a"], "d": {"k": 1}, "m": None},
                                    {"n": 2, "x": 2, "ok": False, "s": "b", "l": [], "d": None, "m": None}])
    assert (schema["n"], schema["x"], schema["ok"], schema["s"], schema["l"]) == (
        FieldType.INTEGER, FieldType.FLOAT, FieldType.BOOL, FieldType.KEYWORD, FieldType.KEYWORD)
    assert "d" not in schema and "m" not in schema
    assert schema["path"] == FieldType.KEYWORD and schema["style.pitch"] == FieldType.KEYWORD


def test_split_follows_the_measured_costs() -> None:
    model_bound = StageCosts(decode=0.05, model=0.25, other=0.01, threads=2)
    assert choose_split(model_bound, 2, cuda=False) == Split(0, 2)  # a worker would halve the model's threads
    decode_bound = StageCosts(decode=0.004, model=0.002, other=0.0005, threads=2)
    assert choose_split(decode_bound, 2, cuda=False) == Split(1, 1)
    assert choose_split(decode_bound, 16, cuda=False).workers > 1
    # a model that is cheap beside decoding (paraseek-mini beside Praat's measures): every core decodes
    cheap_model = StageCosts(decode=0.005, model=0.0005, other=0.0005, threads=2)
    assert choose_split(cheap_model, 2, cuda=False) == Split(2, 1)
    assert predicted_rate(cheap_model, Split(2, 1), cuda=False, cores=2) > predicted_rate(
        cheap_model, Split(1, 1), cuda=False, cores=2)
    # more busy threads than cores cannot beat the CPU time every stage needs together
    assert predicted_rate(cheap_model, Split(2, 1), cuda=False, cores=2) <= 2 / (0.005 + 0.001 + 0.0005) + 1e-9
    # measures on several threads (Praat's pitch analysis): a worker on busy cores takes the decode's CPU time
    threaded = StageCosts(decode=0.0028, model=0.0011, other=0.0002, threads=2, decode_cpu=0.004)
    assert threaded.worker_decode == 0.004
    assert predicted_rate(threaded, Split(1, 1), cuda=False, cores=2) == pytest.approx(1 / 0.004)
    assert predicted_rate(threaded, Split(0, 2), cuda=False) == pytest.approx(1 / (0.0028 + 0.0011 + 0.0002))
    assert choose_split(threaded, 2, cuda=False) == Split(2, 1)
    on_gpu = StageCosts(decode=0.01, model=0.001, other=0.0005, threads=8)
    assert choose_split(on_gpu, 8, cuda=True) == Split(7, 1)
    assert choose_split(on_gpu, 8, cuda=True, threads=3) == Split(7, 3)
    for split in (Split(0, 2), Split(1, 1)):
        assert predicted_rate(decode_bound, split, cuda=False) > 0


def test_split_uses_the_measured_thread_scaling() -> None:
    # a model that gains little from its second thread (4.8 ms per audio second on one, 4.2 on two)
    measured = StageCosts(decode=0.0056, model=0.0042, other=0.0001, threads=2, decode_cpu=0.0071,
                          model_one_thread=0.0048)
    assert measured.model_at(2) == pytest.approx(0.0042)
    assert measured.model_at(1) == pytest.approx(0.0048)
    assert 0.0042 > measured.model_at(4) > 0.0036  # the serial part stays
    linear = StageCosts(decode=0.0056, model=0.0042, other=0.0001, threads=2, decode_cpu=0.0071)
    assert linear.model_at(1) == pytest.approx(0.0084)
    # taken as scaling linearly, leaving one thread looks like doubling the model's cost: decoding stays inline;
    # measured, the model loses little, so both cores decode
    assert choose_split(linear, 2, cuda=False) == Split(0, 2)
    assert choose_split(measured, 2, cuda=False) == Split(2, 1)
    # a model that scales perfectly is predicted as before
    perfect = StageCosts(decode=0.004, model=0.002, other=0.0005, threads=2, model_one_thread=0.004)
    assert perfect.model_at(1) == pytest.approx(0.004) and perfect.model_at(4) == pytest.approx(0.001)
    assert choose_split(perfect, 2, cuda=False) == Split(1, 1)


def test_stage_clock_probes_one_thread_only_where_it_can_change_the_split() -> None:
    def calibrate(clock: StageClock, model_seconds: list[float]) -> list[int]:
        seen = []
        for seconds in model_seconds:
            if clock.ready():
                break
            threads = clock.batch_threads()
            seen.append(threads)
            clock.decoded(0.56, 0.71, 100.0)
            clock.embedded(seconds, 0.01, 100.0, threads)
        return seen

    # v3 beside Praat's measures: whether a worker pays depends on the model's second thread, so it is probed
    small = StageClock(2, probe_one_thread=True, cores=2)
    assert calibrate(small, [9.0, 0.42, 0.48, 0.42]) == [2, 2, 1] and small.ready()  # warm-up, measured, probe
    costs = small.costs()
    assert (costs.threads, costs.model, costs.model_one_thread) == (2, pytest.approx(0.0042), pytest.approx(0.0048))
    assert costs.decode == pytest.approx(0.0056) and costs.worker_decode == pytest.approx(0.0071)
    assert costs.other == pytest.approx(0.0001)
    assert scaling_decides(dataclasses.replace(costs, model_one_thread=None), 2)
    # a real-size model (0.48 s per audio second) beside cheap decoding stays inline however it scales: no probe
    large = StageClock(2, probe_one_thread=True, cores=2)
    assert calibrate(large, [60.0, 48.0, 48.0]) == [2, 2] and large.ready()
    assert large.costs().model_one_thread is None and not scaling_decides(large.costs(), 2)
    # a run with its threads fixed, or one thread only, does not probe
    for fixed in (StageClock(2, probe_one_thread=False, cores=2), StageClock(1, probe_one_thread=True, cores=2)):
        assert calibrate(fixed, [9.0] * (CALIBRATION_BATCHES + 1)) == [fixed.threads] * CALIBRATION_BATCHES
        assert fixed.ready() and fixed.costs().model_one_thread is None


def test_automatic_split_gives_the_fixed_splits_result(folder: Path, tmp_path: Path, model) -> None:  # type: ignore[no-untyped-def]
    with open_store(tmp_path / "d1") as fixed_store, open_store(tmp_path / "d2") as auto_store:
        fixed = index_corpus(folder, fixed_store, model, options())
        auto = index_corpus(folder, auto_store, model, options(workers=None, threads=None, batch_seconds=0.5))
        assert (fixed.workers, fixed.threads) == (0, 1)
        assert auto.workers >= 0 and auto.threads >= 1
        assert auto.indexed == fixed.indexed == 6
        a = {p.id: p for p in all_points(fixed_store, "voices", with_vectors=True)}
        b = {p.id: p for p in all_points(auto_store, "voices", with_vectors=True)}
        assert set(a) == set(b)
        for key in a:
            assert float(np.dot(np.asarray(a[key].vector), np.asarray(b[key].vector))) > 0.9999
            assert a[key].payload["style"] == b[key].payload["style"]


def test_style_payloads_pick_each_groups_best_tag(model) -> None:  # type: ignore[no-untyped-def]
    scorer = ZeroShotScorer(model)
    embeddings = model.embed_audio([tone(1.0, SR, 120 + 40 * i, seed=i) for i in range(4)], SR)
    scores = scorer.scores(embeddings)
    tied = {group: np.zeros_like(matrix) for group, matrix in scores.items()}
    for row, payload in enumerate(style_payloads(scorer, scores)):
        best = scorer.best(scores, row)
        assert payload["style"] == {group: tag for group, (tag, _) in best.items()}
        assert payload["style_score"] == pytest.approx({group: score for group, (_, score) in best.items()}, abs=1e-5)
    assert all(payload["style"] == {g: tags[0] for g, tags in scorer.groups.items()}
               for payload in style_payloads(scorer, tied))


def test_ranking_many_clips_matches_ranking_each_group_alone(model) -> None:  # type: ignore[no-untyped-def]
    scorer = ZeroShotScorer(model, groups={"pitch": ["low", "middle", "high"], "speed": ["slow", "fast"],
                                           "voice": ["whispered"]})
    embeddings = model.embed_audio([tone(1.0, SR, 100 + 60 * i, seed=i) for i in range(3)], SR)
    scores = scorer.scores(embeddings)
    for top in (None, 1, 2):
        rows = scorer.rank_rows(embeddings, top)
        for row, ranks in enumerate(rows):
            assert list(ranks) == list(scorer.groups)
            for group, matrix in scores.items():
                expected = ranked(scorer.groups[group], matrix[row], top)
                assert [tag for tag, _ in ranks[group]] == [tag for tag, _ in expected]
                assert [score for _, score in ranks[group]] == pytest.approx([s for _, s in expected], abs=1e-6)
    assert scorer.rank_rows(embeddings, 0) == [{}, {}, {}]
