"""The model core: exact conformance with the release, strict loading, batching, hub resolution."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest
import torch

from paraseek.errors import (
    AudioError,
    CheckpointError,
    CheckpointKeyMismatch,
    EmptyText,
    ModelNotFound,
    WeightsUnavailable,
)
from paraseek.model import get_config, list_models, load_model
from paraseek.model.encoder import windows
from paraseek.testing import tiny_paraspeechclap, tiny_paraspeechclap_config, tone

RELEASED = ["paraspeechclap-combined", "paraspeechclap-intrinsic", "paraspeechclap-situational"]


@pytest.fixture(scope="module")
def golden(golden_dir: Path) -> dict[str, np.ndarray]:
    return dict(np.load(golden_dir / "golden.npz"))


@pytest.fixture(scope="module")
def golden_model(golden_dir: Path):  # type: ignore[no-untyped-def]
    return load_model(checkpoint=golden_dir / "checkpoint.pth.tar", config=golden_dir / "configs.json")


def test_golden_audio_single_and_batched(golden_model, golden: dict[str, np.ndarray]) -> None:  # type: ignore[no-untyped-def]
    waves = [golden[f"raw_audio_{i}"] for i in range(3)]
    for i, wave in enumerate(waves):
        np.testing.assert_allclose(golden_model.prepare(wave, 16000), golden[f"input_values_{i}"], atol=1e-5)
    single = np.stack([golden_model.embed_audio([wave])[0] for wave in waves])
    batched = golden_model.embed_audio(waves)
    assert np.abs(single - golden["audio_embedding_single"]).max() <= 1e-5
    assert np.abs(batched - golden["audio_embedding_batched"]).max() <= 1e-5


def test_golden_text_and_similarity(golden_model, golden: dict[str, np.ndarray]) -> None:  # type: ignore[no-untyped-def]
    ids, mask = golden["text_input_ids"], golden["text_attention_mask"]
    text = golden_model.embed_text_tokens(ids, mask)
    assert np.abs(text - golden["text_embedding"]).max() <= 1e-5
    single = np.concatenate([golden_model.embed_text_tokens(ids[i : i + 1], mask[i : i + 1]) for i in range(3)])
    assert np.abs(single - golden["text_embedding_single"]).max() <= 1e-5
    audio = golden_model.embed_audio([golden[f"raw_audio_{i}"] for i in range(3)])
    assert np.abs(audio @ text.T - golden["similarity"]).max() <= 1e-5
    assert golden_model.logit_scale == pytest.approx(float(golden["logit_scale"]), rel=1e-6)


def test_embeddings_are_float32_and_normalised(golden_model, golden: dict[str, np.ndarray]) -> None:  # type: ignore[no-untyped-def]
    out = golden_model.embed_audio([golden["raw_audio_0"]])
    assert out.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(out, axis=1), 1.0, atol=1e-6)


def test_batched_equals_single_for_very_different_lengths(golden_model) -> None:  # type: ignore[no-untyped-def]
    clips = [tone(s, 16000, frequency=f, seed=i) for i, (s, f) in enumerate([(0.3, 110), (12.0, 300), (2.5, 180), (7.0, 90)])]
    single = np.stack([golden_model.embed_audio([c])[0] for c in clips])
    batched = golden_model.embed_audio(clips, max_batch_seconds=60)
    np.testing.assert_allclose(batched, single, atol=1e-5)


def test_cpu_forward_passes_hold_at_most_cpu_max_batch_items_clips() -> None:
    config = tiny_paraspeechclap_config()
    capped = load_model(config=dataclasses.replace(config, preprocessing={**config.preprocessing, "cpu_max_batch_items": 1}),
                        random_init=True)
    batched = tiny_paraspeechclap()
    sizes: list[int] = []
    pool = capped._pool_audio  # type: ignore[attr-defined]
    capped._pool_audio = lambda waves, mask: (sizes.append(len(waves)), pool(waves, mask))[1]  # type: ignore[attr-defined]
    clips = [tone(s, 16000, frequency=f, seed=i) for i, (s, f) in enumerate([(0.5, 110), (3.0, 300), (1.5, 180)])]
    np.testing.assert_allclose(capped.embed_audio(clips, max_batch_seconds=60),
                               batched.embed_audio(clips, max_batch_seconds=60), atol=1e-5)
    assert sizes == [1, 1, 1] and batched.max_batch_items == 32  # type: ignore[attr-defined]
    assert get_config("paraspeechclap-combined").preprocessing["cpu_max_batch_items"] == 1


def test_other_rates_and_channels_are_resampled(golden_model) -> None:  # type: ignore[no-untyped-def]
    clip16 = tone(1.0, 16000, channels=2)
    out16 = golden_model.embed_audio([clip16], sample_rate=16000)
    out48 = golden_model.embed_audio([tone(1.0, 48000, channels=2)], sample_rate=48000)
    assert out16.shape == out48.shape == (1, 48)
    assert float(out16[0] @ out48[0]) > 0.99


def test_long_audio_policy_is_deterministic_and_windowed() -> None:
    model = tiny_paraspeechclap()  # 8 s windows
    long_clip = tone(20.0, 16000, frequency=150)
    first = model.embed_audio([long_clip])
    second = model.embed_audio([long_clip, tone(1.0)])[:1]
    np.testing.assert_allclose(first, second, atol=1e-5)
    # 20 s -> three equal windows of 6.67 s; the pooled features are their length-weighted mean
    prepared = model.prepare(long_clip, 16000)
    bounds = windows(len(prepared), 8 * 16000)
    assert [b - a for a, b in bounds] == [106667, 106666, 106667]
    pieces = [prepared[a:b] for a, b in bounds]
    with torch.inference_mode():
        pooled = [model._pool_audio(torch.from_numpy(p)[None], torch.ones(1, len(p), dtype=torch.long)) for p in pieces]
        mean = sum(p * len(x) for p, x in zip(pooled, pieces, strict=True)) / sum(len(x) for x in pieces)
        manual = torch.nn.functional.normalize(model._project_audio(mean), dim=-1).numpy()
    np.testing.assert_allclose(first, manual, atol=1e-5)


def test_bfloat16_stays_close_to_float32(golden_dir: Path) -> None:
    kwargs = {"checkpoint": golden_dir / "checkpoint.pth.tar", "config": golden_dir / "configs.json"}
    fp32, bf16 = load_model(**kwargs), load_model(**kwargs, dtype="bfloat16")
    clips = [tone(2.0, frequency=200), tone(3.0, frequency=120, seed=3)]
    cosine = (fp32.embed_audio(clips) * bf16.embed_audio(clips)).sum(axis=1)
    assert cosine.min() > 0.99


def test_bad_inputs_raise_typed_errors(golden_model) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(AudioError):
        golden_model.embed_audio([np.zeros(10, dtype=np.float32)])
    with pytest.raises(AudioError):
        golden_model.embed_audio([np.zeros((2, 2, 100), dtype=np.float32)])
    with pytest.raises(EmptyText):
        tiny_paraspeechclap().embed_text(["   "])


def test_text_batching_matches_single() -> None:
    model = tiny_paraspeechclap()
    texts = ["deep", "a very fast and high-pitched woman in a noisy room", "whispered"]
    batched = model.embed_text(texts)
    single = np.concatenate([model.embed_text([t]) for t in texts])
    np.testing.assert_allclose(batched, single, atol=1e-5)


def test_strict_loading_names_missing_and_unexpected_keys(golden_dir: Path, tmp_path: Path) -> None:
    state = torch.load(golden_dir / "checkpoint.pth.tar", weights_only=True)
    state.pop("audio_projection.linear2.weight")
    state["text_branch.base.extra.weight"] = torch.zeros(1)
    path = tmp_path / "broken.pth.tar"
    torch.save(state, path)
    with pytest.raises(CheckpointKeyMismatch) as caught:
        load_model(checkpoint=path, config=golden_dir / "configs.json")
    assert caught.value.missing == ["audio_projection.linear2.weight"]
    assert caught.value.unexpected == ["text_branch.base.extra.weight"]
    assert "audio_projection.linear2.weight" in str(caught.value)


def test_legacy_weight_norm_and_logit_scale_names_load(golden_dir: Path, golden: dict[str, np.ndarray], tmp_path: Path) -> None:
    state = torch.load(golden_dir / "checkpoint.pth.tar", weights_only=True)
    prefix = "audio_branch.base.encoder.pos_conv_embed.conv."
    state[prefix + "weight_g"] = state.pop(prefix + "parametrizations.weight.original0")
    state[prefix + "weight_v"] = state.pop(prefix + "parametrizations.weight.original1")
    state["logit_scale"] = state.pop("log_logit_scale")
    path = tmp_path / "legacy.pth.tar"
    torch.save(state, path)
    model = load_model(checkpoint=path, config=golden_dir / "configs.json")
    out = model.embed_audio([golden["raw_audio_1"]])
    assert np.abs(out - golden["audio_embedding_single"][1:2]).max() <= 1e-5


def test_corrupt_or_foreign_checkpoints_are_refused(golden_dir: Path, tmp_path: Path) -> None:
    corrupt = tmp_path / "corrupt.pth.tar"
    corrupt.write_bytes(b"not a checkpoint")
    with pytest.raises(CheckpointError, match="cannot read"):
        load_model(checkpoint=corrupt, config=golden_dir / "configs.json")
    wrapped = tmp_path / "wrapped.pth.tar"
    torch.save({"state_dict": {"a": torch.zeros(1)}, "epoch": 3}, wrapped)
    with pytest.raises(CheckpointError):
        load_model(checkpoint=wrapped, config=golden_dir / "configs.json")


def test_registry_lists_released_models_with_exact_architecture() -> None:
    names = list_models()
    for name in RELEASED:
        assert name in names
        config = get_config(name)
        assert config.embedding_dim == 768
        assert config.speech["hidden_size"] == 1024 and config.speech["num_hidden_layers"] == 24
        assert config.speech["num_buckets"] == 320 and config.speech["max_bucket_distance"] == 800
        assert config.text["vocab_size"] == 250002 and config.text["num_hidden_layers"] == 12
        assert config.weights["hub_repo"] == f"ajd12342/{name}"
    with pytest.raises(ModelNotFound):
        get_config("no-such-model")


@pytest.mark.parametrize("name", sorted(list_models()))
def test_every_registered_config_parses(name: str) -> None:
    config = get_config(name)
    assert config.name == name and config.embedding_dim > 0 and config.style_groups


def _fill_hub_cache(cache: Path, repo_id: str, files: dict[str, bytes]) -> None:
    """Lay files out exactly as huggingface_hub's cache stores a downloaded snapshot."""
    revision = "0123456789abcdef0123456789abcdef01234567"
    repo_dir = cache / ("models--" + repo_id.replace("/", "--"))
    (repo_dir / "refs").mkdir(parents=True)
    (repo_dir / "refs" / "main").write_text(revision)
    snapshot = repo_dir / "snapshots" / revision
    snapshot.mkdir(parents=True)
    for name, data in files.items():
        (snapshot / name).write_bytes(data)


def test_hub_checkpoint_resolves_from_the_cache_offline(golden_dir: Path, golden: dict[str, np.ndarray], tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    cache = tmp_path / "hub"
    monkeypatch.setenv("HF_HUB_CACHE", str(cache))
    checkpoint = (golden_dir / "checkpoint.pth.tar").read_bytes()
    _fill_hub_cache(cache, "someone/psclap-golden", {"psclap_renamed_2026.pth.tar": checkpoint, "README.md": b"x"})
    config = json.loads((golden_dir / "configs.json").read_text())
    config_path = tmp_path / "golden-hub.json"
    config_path.write_text(json.dumps({
        "name": "golden-hub", "architecture": "paraspeechclap", "embedding_dim": config["embedding_dim"],
        "speech": config["speech"], "text": config["text"],
        "weights": {"hub_repo": "someone/psclap-golden", "filename_glob": "*.pth.tar"},
        "style_groups": {"pitch": ["deep", "shrill"]},
    }))
    for model in (load_model(config=config_path),
                  load_model(config=golden_dir / "configs.json", checkpoint="hf-hub:someone/psclap-golden")):
        out = model.embed_audio([golden["raw_audio_2"]])
        assert np.abs(out - golden["audio_embedding_single"][2:3]).max() <= 1e-5


def test_offline_without_cache_says_how_to_get_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "empty-cache"))
    with pytest.raises(WeightsUnavailable) as caught:
        load_model("paraspeechclap-combined")
    message = str(caught.value)
    assert "ajd12342/paraspeechclap-combined" in message
    assert "hf download" in message and "checkpoint=" in message


def test_missing_local_checkpoint_is_a_clear_error(golden_dir: Path, tmp_path: Path) -> None:
    with pytest.raises(WeightsUnavailable, match="does not exist"):
        load_model(checkpoint=tmp_path / "nope.pth.tar", config=golden_dir / "configs.json")


def test_tokenizer_unavailable_offline_is_typed(golden_dir: Path) -> None:
    model = load_model(checkpoint=golden_dir / "checkpoint.pth.tar", config=golden_dir / "configs.json")
    with pytest.raises(WeightsUnavailable, match="tokenizer"):
        model.embed_text(["a deep voice"])
