"""Training: losses on hand-made inputs, class-balanced sampling, CPU training runs (single and DDP)."""

from __future__ import annotations

import dataclasses
import json
import math
import os
import socket
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
import torch

from paraseek.errors import InvalidArgument
from paraseek.model import load_model
from paraseek.testing import extended_mini_config, tiny_paraspeechclap_config, tone, write_audio
from paraseek.training.data import Augmentation, Example
from paraseek.training.losses import distillation_loss, info_nce, tag_classification_loss
from paraseek.training.sampler import BalancedBatchSampler, rare_tags, sample_weights, tag_weights
from paraseek.training.train import (
    BaseInvariance,
    GroupTeacher,
    TextEmbedder,
    TrainSettings,
    lr_schedule,
    same_style_targets,
    train,
    weight_space_ensemble,
)

# --- augmentation --------------------------------------------------------------------------------


def test_speed_perturbation_moves_pitch_and_length_together() -> None:
    seconds, frequency = 2.0, 200.0
    wave = np.sin(2 * np.pi * frequency * np.arange(int(16000 * seconds)) / 16000).astype(np.float32)
    augmentation = Augmentation(speed_probability=1.0)
    rng = np.random.default_rng(0)
    seen = set()
    for _ in range(40):
        out = augmentation.apply(wave, rng)
        rate = round(16000 * out.shape[0] / wave.shape[0] / 500) * 500  # the rate it was resampled to
        assert rate in augmentation.speed_rates
        peak = np.argmax(np.abs(np.fft.rfft(out))) * 16000 / out.shape[0]
        assert peak == pytest.approx(frequency * 16000 / rate, abs=1.0)
        seen.add(rate)
    assert seen == set(augmentation.speed_rates)
    assert np.array_equal(Augmentation().apply(wave, rng), wave)


# --- losses --------------------------------------------------------------------------------------


def test_info_nce_perfect_diagonal_has_closed_form() -> None:
    embeddings = torch.eye(4, dtype=torch.float64)
    scale = 10.0
    expected = math.log(1 + 3 * math.exp(-scale))  # -log(e^s / (e^s + 3 e^0)), both directions equal
    assert float(info_nce(embeddings, embeddings, scale)) == pytest.approx(expected, rel=1e-5)


def test_info_nce_uniform_scores_give_log_batch_size() -> None:
    same = torch.nn.functional.normalize(torch.ones(6, 3), dim=-1)
    assert float(info_nce(same, same, 50.0)) == pytest.approx(math.log(6), rel=1e-6)


def test_info_nce_swapped_pairs_cost_more_than_matched() -> None:
    audio = torch.eye(3)
    assert float(info_nce(audio, audio[[1, 0, 2]], 5.0)) > float(info_nce(audio, audio, 5.0))


def test_distillation_loss_is_the_kl_divergence_from_the_teacher() -> None:
    teacher = torch.tensor([[2.0, 0.0], [0.0, 0.0]])
    assert float(distillation_loss(teacher, teacher)) == pytest.approx(0.0, abs=1e-7)
    p = 1 / (1 + math.exp(-2.0))  # the teacher's first row: (p, 1 - p); the student's: (1 - p, p)
    first = p * math.log(p / (1 - p)) + (1 - p) * math.log((1 - p) / p)
    second = 0.5 * math.log(0.5 / (1 - p)) + 0.5 * math.log(0.5 / p)  # uniform teacher, student as row one flipped
    student = torch.tensor([[0.0, 2.0], [0.0, 2.0]])
    assert float(distillation_loss(student, teacher)) == pytest.approx((first + second) / 2, rel=1e-6)
    # at temperature 2 the logits are halved and the divergence is scaled by 4
    q = 1 / (1 + math.exp(-1.0))
    soft_first = q * math.log(q / (1 - q)) + (1 - q) * math.log((1 - q) / q)
    soft_second = 0.5 * math.log(0.5 / (1 - q)) + 0.5 * math.log(0.5 / q)
    expected = 4 * (soft_first + soft_second) / 2
    assert float(distillation_loss(student, teacher, temperature=2.0)) == pytest.approx(expected, rel=1e-6)


def test_soft_targets_of_identical_styles() -> None:
    def example(pitch: str) -> Example:
        return Example(Path("x.wav"), ("c",), {"pitch": (pitch,)}, "train", "s", None)

    targets = same_style_targets([example("low"), example("high"), example("low")])
    np.testing.assert_allclose(targets.numpy(), [[0.5, 0, 0.5], [0, 1, 0], [0.5, 0, 0.5]])
    distinct = torch.eye(3)
    merged = torch.nn.functional.normalize(torch.tensor([[1.0, 0, 1], [0, 1, 0], [1, 0, 1]]), dim=-1)
    # hard targets prefer telling the two same-style clips apart; soft targets prefer merging them
    assert float(info_nce(distinct, distinct, 20.0)) < float(info_nce(merged, merged, 20.0))
    assert float(info_nce(merged, merged, 20.0, targets)) < float(info_nce(distinct, distinct, 20.0, targets))
    assert float(info_nce(merged, merged, 20.0, targets)) == pytest.approx(2 / 3 * math.log(2), rel=1e-4)


def test_tag_classification_loss_hand_computed() -> None:
    audio = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    tags = torch.tensor([[[1.0, 0.0], [0.0, 1.0]]])  # one prompt head, two tags
    labels = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    known = torch.tensor([[1.0, 1.0], [0.0, 0.0]])  # second clip's group is unlabelled
    loss = tag_classification_loss(audio, tags, labels, known, 2.0)
    expected = (math.log1p(math.exp(-2.0)) + math.log1p(math.exp(0.0))) / 2
    assert float(loss) == pytest.approx(expected, rel=1e-6)
    # averaging over two identical heads changes nothing
    assert float(tag_classification_loss(audio, tags.repeat(2, 1, 1), labels, known, 2.0)) == pytest.approx(expected, rel=1e-6)


def test_lr_schedule_warms_up_and_decays() -> None:
    settings = TrainSettings(manifest="m", out_dir="o", steps=100, warmup_steps=10, final_lr_fraction=0.1)
    factor = lr_schedule(settings)
    assert factor(0) == pytest.approx(0.1)
    assert factor(9) == pytest.approx(1.0)
    assert factor(10) == pytest.approx(1.0)
    assert factor(100) == pytest.approx(0.1)
    assert factor(55) == pytest.approx(0.55)
    # a run that stops early on a longer schedule follows that schedule's curve
    early = lr_schedule(dataclasses.replace(settings, steps=40, schedule_steps=100))
    assert [early(s) for s in (0, 10, 39)] == [factor(s) for s in (0, 10, 39)] and early(39) > 0.75


# --- sampling ------------------------------------------------------------------------------------

TAGS = [["pitch:low"]] * 80 + [["pitch:high"]] * 20 + [["pitch:high", "texture:creaky"]] * 5


def test_tag_weights_variants() -> None:
    weights = tag_weights(TAGS, "inverse")
    assert weights == {"pitch:low": 1 / 80, "pitch:high": 1 / 25, "texture:creaky": 1 / 5}
    assert tag_weights(TAGS, "sqrt")["pitch:low"] == pytest.approx(1 / math.sqrt(80))
    assert tag_weights(TAGS, "log")["texture:creaky"] == pytest.approx(1 / math.log(6))
    with pytest.raises(InvalidArgument):
        tag_weights(TAGS, "cubic")


def test_sample_weight_is_mean_of_tag_weights() -> None:
    weights = sample_weights(TAGS, "inverse")
    raw = np.array([1 / 80] * 80 + [1 / 25] * 20 + [(1 / 25 + 1 / 5) / 2] * 5)
    np.testing.assert_allclose(weights, raw / raw.sum())
    assert rare_tags(TAGS, 0.34) == {"texture:creaky"}


def test_balanced_sampler_guarantees_rare_tags_and_balances_classes() -> None:
    sampler = BalancedBatchSampler(TAGS, batch_size=10, batches_per_epoch=200, weighting="inverse",
                                   min_rare=2, rare_fraction=0.34, seed=3)
    counts: Counter[str] = Counter()
    for batch in sampler:
        assert len(batch) == len(set(batch)) == 10
        assert sum("texture:creaky" in TAGS[i] for i in batch) >= 2
        counts.update(t for i in batch for t in TAGS[i] if t.startswith("pitch"))
    # 80:25 in the data; inverse-frequency weighting brings the two pitch classes close to even
    assert 0.8 < counts["pitch:high"] / counts["pitch:low"] < 1.6
    uniform = BalancedBatchSampler(TAGS, batch_size=10, batches_per_epoch=200, weighting="uniform", seed=3)
    uniform_high = sum("pitch:high" in TAGS[i] for batch in uniform for i in batch)
    assert uniform_high < counts["pitch:high"] / 2


def test_sampler_differs_by_rank_and_epoch_and_is_reproducible() -> None:
    def first(rank: int, epoch: int) -> list[int]:
        sampler = BalancedBatchSampler(TAGS, 8, 3, seed=1, rank=rank)
        sampler.set_epoch(epoch)
        return next(iter(sampler))

    assert first(0, 0) == first(0, 0)
    assert first(0, 0) != first(1, 0)
    assert first(0, 0) != first(0, 1)


def test_sampler_rejects_bad_arguments() -> None:
    with pytest.raises(InvalidArgument):
        BalancedBatchSampler(TAGS, 1, 3)
    with pytest.raises(InvalidArgument):
        BalancedBatchSampler(TAGS[:4], 8, 3)


# --- training runs -------------------------------------------------------------------------------


def write_corpus(root: Path, n: int = 8) -> Path:
    """A tiny labelled corpus of tones: low/high pitch, train and test rows."""
    rows = []
    for i in range(n):
        pitch = "high-pitched" if i % 2 else "low-pitched"
        frequency = 400.0 if i % 2 else 110.0
        path = write_audio(root / "clips" / f"{i}.wav", tone(1.0 + 0.1 * i, frequency=frequency, seed=i))
        rows.append({"path": str(path.relative_to(root)), "captions": [f"A {pitch} voice.", f"Someone {pitch} talks."],
                     "tags": {"pitch": pitch}, "split": "test" if i >= n - 2 else "train", "speaker": f"s{i % 3}"})
    manifest = root / "manifest.jsonl"
    manifest.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return manifest


def tiny_settings(tmp_path: Path, **changes: object) -> TrainSettings:
    config_path = tmp_path / "tiny.json"
    config_path.write_text(json.dumps(tiny_paraspeechclap_config().to_dict()))
    settings = TrainSettings(
        manifest=str(write_corpus(tmp_path / "corpus")), out_dir=str(tmp_path / "run"), model=str(config_path),
        steps=2, batch_size=2, lr=1e-3, crop_seconds=0.8, classification_weight=1.0, tag_prompts=("A {} voice.", "{} speech"),
        balance="inverse", min_rare=1, workers=0, threads=1, log_every=1, eval_every=1000, checkpoint_every=1, seed=0,
    )
    return dataclasses.replace(settings, **changes)


def _ddp_worker(rank: int, world_size: int, port: int, settings: TrainSettings) -> None:
    os.environ.update({"MASTER_ADDR": "127.0.0.1", "MASTER_PORT": str(port), "WORLD_SIZE": str(world_size),
                       "RANK": str(rank), "LOCAL_RANK": str(rank)})
    torch.set_num_threads(1)
    train(settings)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_weight_space_ensemble_hand_computed() -> None:
    initial = {"w": torch.tensor([0.0, 4.0]), "count": torch.tensor(3)}
    trained = {"w": torch.tensor([8.0, 0.0]), "count": torch.tensor(9)}
    mixed = weight_space_ensemble(initial, trained, 0.25)
    assert torch.equal(mixed["w"], torch.tensor([6.0, 1.0])) and int(mixed["count"]) == 9


def test_fine_tuning_ends_in_the_ensemble_with_its_initial_weights(tmp_path: Path) -> None:
    config = tiny_paraspeechclap_config()
    init = tmp_path / "init.pt"
    torch.save(load_model(config=config, random_init=True).network.state_dict(), init)  # type: ignore[attr-defined]
    settings = tiny_settings(tmp_path, init_checkpoint=str(init), init_weight=0.25)
    train(settings)
    run = Path(settings.out_dir)
    trained = torch.load(run / "checkpoint-last.pt", weights_only=True)["network"]
    expected = weight_space_ensemble(torch.load(init, weights_only=True), trained, 0.25)
    written = torch.load(run / "weights.pt", weights_only=True)
    assert all(torch.allclose(written[name], value) for name, value in expected.items())
    assert not torch.allclose(written["audio_projection.linear1.weight"], trained["audio_projection.linear1.weight"])
    with pytest.raises(InvalidArgument):
        train(dataclasses.replace(settings, init_checkpoint=None))


def test_the_group_teacher_scores_a_copy_of_itself_as_agreeing(tmp_path: Path) -> None:
    config = tiny_paraspeechclap_config()
    groups = {"pitch": ["low-pitched", "high-pitched"]}
    prompts = ("A {} voice.", "{} speech")
    frozen = load_model(config=config, random_init=True)
    student = load_model(config=config, random_init=True)
    student.network.eval()  # type: ignore[attr-defined]
    texts = [p.format(tag) for p in prompts for tag in groups["pitch"]]
    teacher = GroupTeacher(frozen, TextEmbedder(student, texts), groups, prompts)  # type: ignore[arg-type]
    waves = torch.from_numpy(np.stack([tone(1.0, frequency=f, seed=i) for i, f in enumerate((110.0, 400.0))]))
    mask = torch.ones_like(waves, dtype=torch.long)

    with torch.no_grad():
        pooled = student._pool_audio(waves, mask)  # type: ignore[attr-defined]
        same = torch.nn.functional.normalize(student._project_audio(pooled).float(), dim=-1)  # type: ignore[attr-defined]
        assert float(teacher.loss(waves, mask, same, teacher.teacher_scale)) == pytest.approx(0.0, abs=1e-6)
        low, high = teacher.student_text(["A low-pitched voice.", "A high-pitched voice."])
        certain_low = torch.nn.functional.normalize(low - high, dim=-1).expand_as(same)  # scores low over high
        assert float(teacher.loss(waves, mask, certain_low, torch.tensor(100.0))) > 1e-3
        mixed = torch.cat([same[:1], certain_low[1:]])  # the first clip agrees with the teacher, the second does not
        scale = teacher.teacher_scale
        only_second = float(teacher.loss(waves, mask, mixed, scale, torch.tensor([False, True])))
        assert only_second == pytest.approx(float(teacher.loss(waves[1:], mask[1:], certain_low[1:], scale)), rel=1e-5)
        assert float(teacher.loss(waves, mask, mixed, scale, torch.tensor([True, False]))) == pytest.approx(0.0, abs=1e-6)
        assert float(teacher.loss(waves, mask, mixed, scale, torch.tensor([False, False]))) == 0.0


def test_fine_tuning_can_keep_the_initial_models_judgement_of_a_group(tmp_path: Path) -> None:
    config = tiny_paraspeechclap_config()
    init = tmp_path / "init.pt"
    torch.save(load_model(config=config, random_init=True).network.state_dict(), init)  # type: ignore[attr-defined]
    settings = tiny_settings(tmp_path, init_checkpoint=str(init), distill_groups=("pitch",), distill_weight=2.0)
    train(settings)
    log = [json.loads(line) for line in (Path(settings.out_dir) / "log.jsonl").read_text().splitlines()]
    distilled = [record["distillation"] for record in log if "distillation" in record]
    assert len(distilled) == 2 and all(math.isfinite(value) and value >= 0 for value in distilled)
    with pytest.raises(InvalidArgument, match="init_checkpoint"):
        train(dataclasses.replace(settings, init_checkpoint=None, out_dir=str(tmp_path / "other")))
    with pytest.raises(InvalidArgument, match="cannot distill"):
        train(dataclasses.replace(settings, distill_groups=("emotion",), out_dir=str(tmp_path / "third")))
    skipped = dataclasses.replace(settings, distill_skip_tags=("low-pitched", "high-pitched"), out_dir=str(tmp_path / "skip"))
    train(skipped)  # every clip of the corpus carries a pitch tag, so none is distilled
    log = [json.loads(line) for line in (Path(skipped.out_dir) / "log.jsonl").read_text().splitlines()]
    assert [record["distillation"] for record in log if "distillation" in record] == [0.0, 0.0]


@pytest.mark.slow
def test_ddp_two_processes_gloo_then_resume(tmp_path: Path) -> None:
    settings = tiny_settings(tmp_path)
    torch.multiprocessing.spawn(_ddp_worker, args=(2, free_port(), settings), nprocs=2, join=True)
    run = Path(settings.out_dir)
    state = torch.load(run / "checkpoint-last.pt", weights_only=True)
    assert state["step"] == 2
    config = tiny_paraspeechclap_config()
    trained = load_model(config=config, checkpoint=run / "weights.pt")
    initial = load_model(config=config, random_init=True)
    before = initial.network.audio_projection.linear1.weight  # type: ignore[attr-defined]
    after = trained.network.audio_projection.linear1.weight  # type: ignore[attr-defined]
    assert not torch.allclose(before, after)
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["clips"] == 2 and set(metrics["classification"]) == {"pitch"}
    # a later run with more steps resumes from step 2 (single process this time)
    train(dataclasses.replace(settings, steps=3))
    log = [json.loads(line) for line in (run / "log.jsonl").read_text().splitlines()]
    assert {"event": "resumed", "step": 2} in log
    assert torch.load(run / "checkpoint-last.pt", weights_only=True)["step"] == 3


def test_mini_trains_with_cached_text_features(tmp_path: Path) -> None:
    settings = tiny_settings(tmp_path, model="paraseek-mini", steps=3, batch_size=4, cache_audio=True,
                             same_style_positives=True, gain_db=1.0, noise_probability=0.5, checkpoint_every=1000)
    results = train(settings)
    assert results["retrieval"]["text_to_audio"]["queries"] == 4  # unique test captions
    model = load_model("paraseek-mini", checkpoint=Path(settings.out_dir) / "weights.pt")
    assert model.embed_text(["A low-pitched voice."]).shape == (1, 256)


def test_paraspeechcaps_rows_are_read_with_groups(tmp_path: Path) -> None:
    from paraseek.training.data import load_examples

    row = {"source": "voxceleb", "relative_audio_path": "id1/a.wav", "text_description": ["A deep, husky voice."],
           "intrinsic_tags": ["deep", "husky"], "situational_tags": None, "speakerid": "id1", "gender": "male"}
    manifest = tmp_path / "psc.jsonl"
    manifest.write_text(json.dumps(row) + "\n")
    groups = {"pitch": ["shrill", "nasal", "deep"], "texture": ["silky", "husky"], "volume": ["loud"]}
    [example] = load_examples(manifest, audio_root=tmp_path / "audio", style_groups=groups)
    assert example.audio_path == tmp_path / "audio" / "voxceleb" / "id1" / "a.wav"
    assert example.tags == {"pitch": ("deep",), "texture": ("husky",)}
    assert example.captions == ("A deep, husky voice.",) and example.split == "train"
    with pytest.raises(InvalidArgument, match="audio_root"):
        load_examples(manifest, style_groups=groups)


def test_train_and_synth_commands(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from paraseek.cli.main import cli

    manifest = write_corpus(tmp_path / "corpus")
    result = CliRunner().invoke(cli, ["train", "--manifest", str(manifest), "--out-dir", str(tmp_path / "run"),
                                      "--steps", "2", "--batch-size", "3", "--lr", "1e-3", "--crop-seconds", "1",
                                      "--workers", "0", "--threads", "1"])
    assert result.exit_code == 0, result.output
    assert "text_to_audio" in result.output and (tmp_path / "run" / "weights.pt").is_file()
    result = CliRunner().invoke(cli, ["train", "--manifest", str(manifest), "--out-dir", str(tmp_path / "distilled"),
                                      "--init-checkpoint", str(tmp_path / "run" / "weights.pt"), "--distill-group",
                                      "pitch", "--distill-weight", "1", "--distill-skip-tag", "high-pitched",
                                      "--steps", "2", "--batch-size", "3", "--workers", "0", "--threads", "1"])
    assert result.exit_code == 0, result.output
    log = [json.loads(line) for line in (tmp_path / "distilled" / "log.jsonl").read_text().splitlines()]
    started = next(record for record in log if record.get("event") == "start")["settings"]
    assert started["distill_groups"] == ["pitch"] and started["distill_skip_tags"] == ["high-pitched"]
    assert any("distillation" in record for record in log)
    result = CliRunner().invoke(cli, ["train", "--manifest", str(manifest), "--out-dir", str(tmp_path / "invariant"),
                                      "--base-invariance-weight", "1", "--steps", "2", "--batch-size", "3", "--workers", "0"])
    assert result.exit_code != 0 and "does not extend a base model" in str(result.exception or result.output)
    result = CliRunner().invoke(cli, ["synth", str(tmp_path / "synth"), "--clips", "2", "--workers", "1"])
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in (tmp_path / "synth" / "manifest.jsonl").read_text().splitlines()]
    assert len(rows) == 2 and all((tmp_path / "synth" / r["path"]).is_file() for r in rows)
    assert CliRunner().invoke(cli, ["train", "--steps", "2"]).exit_code == 2  # needs a manifest or a recipe


@pytest.mark.parametrize("name", ["paraseek-mini", "paraseek-mini-v2", "paraseek-mini-v3"])
def test_recipes_train_their_model_on_its_style_set(tmp_path: Path, name: str) -> None:
    from paraseek.model import get_config
    from paraseek.training.synth import STYLE_GROUPS, STYLE_SETS
    from paraseek.training.train import recipe_settings

    recipe, settings = recipe_settings(name, tmp_path)
    assert settings.model == name and settings.manifest == str(tmp_path / "corpus" / "manifest.jsonl")
    # the model's trained tag groups are exactly the groups its corpus labels, so every tag has training data
    config = get_config(name)
    trained = {**config.style_groups, **config.unlearned_groups}
    assert trained == {group: STYLE_GROUPS[group] for group in STYLE_SETS[recipe.corpus_styles]}
    assert not set(config.style_groups) & set(config.unlearned_groups)


def test_base_invariance_is_zero_only_when_the_extension_scores_each_base_group_alike() -> None:
    from paraseek.model.hub import PACKAGE_DIR

    model = load_model(config=extended_mini_config(), checkpoint=PACKAGE_DIR / "weights" / "paraseek-mini.pt")
    invariance = BaseInvariance(model, ("A {} voice.", "{} speech"))  # type: ignore[arg-type]
    assert {"A female voice.", "male speech", "A creaky voice."} <= set(invariance.texts())
    text = TextEmbedder(model, invariance.texts())  # type: ignore[arg-type]
    with torch.no_grad():
        assert float(invariance.loss(text)) > 0.05  # started from the base, the extension tells the tags apart
        head = model.network.text_projection  # type: ignore[attr-defined]
        for layer in (head.skip, head.fc2):
            layer.weight.zero_()
        head.fc2.bias.zero_()  # every text now gives the same extension embedding
        assert float(invariance.loss(text)) == pytest.approx(0.0, abs=1e-10)
    with pytest.raises(InvalidArgument, match="does not extend"):
        BaseInvariance(load_model("paraseek-mini"), ("A {} voice.",))  # type: ignore[arg-type]


def test_an_extension_trains_beside_its_frozen_base(tmp_path: Path) -> None:
    from paraseek.model.hub import PACKAGE_DIR

    config_path = tmp_path / "extended.json"
    config_path.write_text(json.dumps(extended_mini_config().to_dict()))
    v1 = PACKAGE_DIR / "weights" / "paraseek-mini.pt"
    settings = tiny_settings(tmp_path, model=str(config_path), init_checkpoint=str(v1), steps=4, batch_size=4,
                             cache_audio=True, checkpoint_every=1000, base_invariance_weight=10.0)
    train(settings)
    log = [json.loads(line) for line in (Path(settings.out_dir) / "log.jsonl").read_text().splitlines()]
    spreads = [record["base_invariance"] for record in log if "base_invariance" in record]
    assert len(spreads) == 4 and spreads[-1] < spreads[0]
    trained = load_model(config=config_path, checkpoint=Path(settings.out_dir) / "weights.pt")
    base = load_model("paraseek-mini")
    wave = [tone(1.5, frequency=180.0, seed=3)]
    np.testing.assert_allclose(trained.embed_audio(wave)[:, :256], np.sqrt(0.5) * base.embed_audio(wave), atol=1e-5)
    assert not np.allclose(trained.embed_audio(wave)[:, 256:], np.sqrt(0.5) * base.embed_audio(wave), atol=1e-3)
