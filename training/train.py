"""Contrastive training of any registered dual encoder (ParaSpeechCLAP recipe), on CPU or GPUs.

Loss: symmetric InfoNCE over ``scale * audio @ text.T`` with the learnable logit scale clamped at
100, plus (optionally) the tag classification loss: every tag of the model's style groups is
embedded through several paraphrase prompts, clips are scored against them and a multi-label BCE
is averaged over prompts and labelled groups. Class-balanced sampling draws clips by the mean
inverse frequency of their tags and guarantees rare tags in every batch.

Distributed: launched by ``torchrun`` (``WORLD_SIZE`` > 1), each process trains on its own device
with DistributedDataParallel (NCCL on GPUs, gloo on CPU); the contrastive loss is computed per
process over its local batch, as in the reference recipe. Models whose text encoder is frozen
(paraseek-mini) have the text features of all captions and prompts computed once up front.

Outputs in ``out_dir``: ``checkpoint-last.pt`` (network, optimizer, scheduler, step; resumed
automatically), ``weights.pt`` (a plain state dict for ``load_model(checkpoint=...)``),
``log.jsonl`` (loss and validation metrics) and ``metrics.json`` (final validation).

Fine-tuning can keep the initial model's judgement of chosen style groups (``distill_groups``,
``distill_weight``, ``distill_temperature``): a frozen copy of the initial model scores every batch
against those groups' tag prompts, and the KL divergence from its tag distribution to the trained
model's is added to the loss (knowledge distillation, Hinton et al. 2015), so a group the initial
model already judges well keeps its decision boundary while the rest of the model learns new styles.
Clips carrying any of ``distill_skip_tags`` (styles the initial model never learned, where its
judgement is out of its domain) are left out of that loss.

A model that extends a frozen base (a config's ``base``) can leave the base's style groups to the
base (``base_invariance_weight``): a loss pulls the extension's text embeddings of each such group's
tag prompts to their mean, so the extension scores those tags alike and the base alone decides them.

Fine-tuning can end in a weight-space ensemble with the initial weights (``init_weight``; Wortsman
et al. 2022, "Robust fine-tuning of zero-shot models"): ``weights.pt`` and the final validation
are then ``(1 - init_weight) * trained + init_weight * initial``, which keeps more of the initial
model's behaviour away from the training distribution.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import shutil
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from paraseek.errors import InvalidArgument
from paraseek.model import load_model
from paraseek.model.config import get_config
from paraseek.model.encoder import TorchDualEncoder
from paraseek.model.hub import PACKAGE_DIR
from paraseek.model.mini import ExtendedMiniNetwork
from paraseek.model.zeroshot import ZERO_SHOT_PROMPT, prompt_texts
from paraseek.training.data import Augmentation, ClipDataset, Example, collate, load_examples
from paraseek.training.eval import evaluate_examples
from paraseek.training.losses import clamped_scale, distillation_loss, info_nce, tag_classification_loss
from paraseek.training.sampler import BalancedBatchSampler

#: Paraphrase prompts through which each tag is embedded for the classification loss.
TAG_PROMPTS: tuple[str, ...] = (
    "A {} voice.",
    "Someone is talking in a {} way.",
    "The speaker sounds {}.",
    "A recording of {} speech.",
    "A {} speaker says a sentence.",
    "Speech with a {} quality.",
)


@dataclasses.dataclass
class TrainSettings:
    """Everything that defines a training run (recorded in the checkpoint and the log)."""

    manifest: str
    out_dir: str
    model: str = "paraseek-mini"
    init_checkpoint: str | None = None  # fine-tune from these weights (path or hf-hub:owner/repo)
    init_weight: float = 0.0  # share of init_checkpoint's weights in the final weights (weight-space ensemble)
    distill_groups: tuple[str, ...] = ()  # groups whose tag scores follow init_checkpoint's (knowledge distillation)
    distill_weight: float = 0.0
    distill_temperature: float = 1.0
    distill_skip_tags: tuple[str, ...] = ()  # clips with any of these tags are not distilled
    base_invariance_weight: float = 0.0  # extended models: keep the base's groups the base's to judge
    audio_root: str | None = None
    val_manifest: str | None = None  # default: the manifest's "test" split
    val_max_clips: int = 400
    steps: int = 1000
    schedule_steps: int | None = None  # length of the lr schedule (default: steps); longer stops it early
    batch_size: int = 32
    lr: float = 1e-5
    weight_decay: float = 0.0
    warmup_steps: int = 0
    final_lr_fraction: float = 1.0  # cosine decay to lr * this (1.0: constant after warmup)
    grad_clip: float = 0.0
    crop_seconds: float = 10.0
    classification_weight: float = 0.0
    tag_prompts: tuple[str, ...] = TAG_PROMPTS
    balance: str = "uniform"  # uniform | inverse | sqrt | log
    min_rare: int = 0
    same_style_positives: bool = False  # clips with identical tags count as positives of each other
    gain_db: float = 0.0
    noise_probability: float = 0.0
    speed_probability: float = 0.0
    cache_audio: bool = False
    workers: int = 2
    threads: int | None = None
    device: str | None = None
    amp_bfloat16: bool = False
    log_every: int = 20
    eval_every: int = 500
    checkpoint_every: int = 500
    seed: int = 0

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self))


@dataclasses.dataclass(frozen=True)
class Recipe:
    """A reproducible run: the corpus it synthesises and the settings it trains with."""

    corpus_clips: int
    corpus_seed: int
    settings: dict[str, Any]
    description: str
    corpus_styles: int = 1  # the synthesiser's style set (paraseek.training.synth.STYLE_SETS)


RECIPES: dict[str, Recipe] = {
    "paraseek-mini": Recipe(
        corpus_clips=3000,
        corpus_seed=0,
        settings=dict(
            model="paraseek-mini", steps=1200, batch_size=48, lr=2e-3, weight_decay=1e-2, warmup_steps=100,
            final_lr_fraction=0.02, grad_clip=5.0, crop_seconds=4.0, classification_weight=1.0,
            balance="sqrt", min_rare=4, same_style_positives=True, gain_db=1.5, noise_probability=0.5,
            cache_audio=True, workers=0, threads=2, val_max_clips=300, log_every=50, eval_every=400,
            checkpoint_every=400, seed=0,
        ),
        description="paraseek-mini from scratch on a synthetic corpus, 2 CPU threads",
    ),
    "paraseek-mini-v2": Recipe(
        corpus_clips=4500,
        corpus_seed=0,
        corpus_styles=2,
        settings=dict(
            model="paraseek-mini-v2", init_checkpoint=str(PACKAGE_DIR / "weights" / "paraseek-mini.pt"),
            steps=3000, batch_size=48, lr=1e-3, weight_decay=1e-2, warmup_steps=50,
            final_lr_fraction=0.02, grad_clip=5.0, crop_seconds=6.0, classification_weight=1.0,
            balance="sqrt", min_rare=4, same_style_positives=True, gain_db=1.5, noise_probability=0.5,
            speed_probability=0.5, init_weight=0.15, cache_audio=True, workers=0, threads=2, val_max_clips=450,
            log_every=50, eval_every=1500, checkpoint_every=1500, seed=0,
        ),
        description=("paraseek-mini-v2: paraseek-mini's shipped weights fine-tuned on a style-set-2 corpus, "
                     "3000 steps of 6 s crops with speed perturbation, then 15 % of the initial weights "
                     "mixed back in, 2 CPU threads"),
    ),
    "paraseek-mini-v3": Recipe(
        corpus_clips=4500,
        corpus_seed=0,
        corpus_styles=3,
        settings=dict(
            model="paraseek-mini-v3", init_checkpoint=str(PACKAGE_DIR / "weights" / "paraseek-mini.pt"),
            steps=3000, batch_size=48, lr=1e-3, weight_decay=1e-2, warmup_steps=50,
            final_lr_fraction=0.02, grad_clip=5.0, crop_seconds=6.0, classification_weight=1.0,
            balance="sqrt", min_rare=4, same_style_positives=True, gain_db=1.5, noise_probability=0.5,
            speed_probability=0.5, base_invariance_weight=10.0, cache_audio=True, workers=0, threads=2,
            val_max_clips=450, log_every=50, eval_every=10000, checkpoint_every=1000, seed=0,
        ),
        description=("paraseek-mini-v3: an extension of paraseek-mini (frozen, a quarter of every score), started "
                     "from its weights and trained on a style-set-3 corpus, 3000 steps of 6 s crops with speed "
                     "perturbation, leaving v1's nine groups to v1, 2 CPU threads"),
    ),
}


@dataclasses.dataclass(frozen=True)
class Distributed:
    """This process's place in a torchrun job (world_size 1 when not distributed)."""

    rank: int
    world_size: int
    local_rank: int

    @property
    def main(self) -> bool:
        return self.rank == 0


def init_distributed(device: str | None) -> tuple[Distributed, torch.device]:
    """Join the torchrun process group if one is set up; pick this process's device."""
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    if device is None:
        device = f"cuda:{local_rank}" if torch.cuda.is_available() else "cpu"
    chosen = torch.device(device)
    if chosen.type == "cuda":
        torch.cuda.set_device(chosen)
    if world_size > 1 and not torch.distributed.is_initialized():
        torch.distributed.init_process_group(backend="nccl" if chosen.type == "cuda" else "gloo")
    return Distributed(rank, world_size, local_rank), chosen


class TextEmbedder:
    """Projected, normalised text embeddings with gradients through the trainable text parts.

    Models exposing ``text_features``/``project_text`` (a frozen backbone) get the features of
    every known text computed once; others run their whole text encoder on each call.
    """

    def __init__(self, model: TorchDualEncoder, texts: Sequence[str], chunk: int = 256) -> None:
        self.model = model
        self.frozen = hasattr(model, "text_features") and hasattr(model, "project_text")
        self.index: dict[str, int] = {}
        self.features: torch.Tensor | None = None
        if self.frozen:
            unique = sorted(set(texts))
            self.index = {text: i for i, text in enumerate(unique)}
            parts = []
            for start in range(0, len(unique), chunk):
                tokens = self._tokenize(unique[start : start + chunk])
                parts.append(model.text_features(tokens["input_ids"], tokens["attention_mask"]).float())  # type: ignore[attr-defined]
            self.features = torch.cat(parts)

    def _tokenize(self, texts: Sequence[str]) -> dict[str, torch.Tensor]:
        tokens = self.model.tokenizer(list(texts), padding="longest", truncation=True,
                                      max_length=self.model.max_text_tokens, return_tensors="pt")
        return {k: tokens[k].to(self.model.device) for k in ("input_ids", "attention_mask")}

    def __call__(self, texts: Sequence[str]) -> torch.Tensor:
        if self.frozen and self.features is not None:
            rows = torch.tensor([self.index[t] for t in texts], device=self.features.device)
            projected = self.model.project_text(self.features[rows])  # type: ignore[attr-defined]
        else:
            tokens = self._tokenize(texts)
            projected = self.model._text_forward(tokens["input_ids"], tokens["attention_mask"])
        return nn.functional.normalize(projected.float(), dim=-1)


class ContrastiveStep(nn.Module):
    """One forward pass of the dual encoder in training mode (the unit DDP wraps)."""

    def __init__(self, model: TorchDualEncoder, text: TextEmbedder) -> None:
        super().__init__()
        self.network = model.network
        self.encoder = model
        self.text = text

    def forward(self, waves: torch.Tensor, mask: torch.Tensor, captions: list[str],
                prompts: list[str]) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None, torch.Tensor]:
        pooled = self.encoder._pool_audio(waves, mask)
        audio = nn.functional.normalize(self.encoder._project_audio(pooled).float(), dim=-1)
        text = self.text(captions)
        tags = self.text(prompts) if prompts else None
        return audio, text, tags, clamped_scale(self.network.get_parameter("log_logit_scale").float())


def prompt_major(tags: Sequence[str], prompts: Sequence[str]) -> list[str]:
    """Every tag in ``prompts[0]``, then every tag in ``prompts[1]``, ... (one head per prompt)."""
    return [text for prompt in prompts for text in prompt_texts(tags, prompt)]


class GroupTeacher:
    """A frozen copy of the initial model that scores each batch against the distilled groups' tag
    prompts; ``loss`` compares the trained model's scores with its own."""

    @staticmethod
    def prompt_texts(groups: dict[str, list[str]], prompts: Sequence[str]) -> dict[str, list[str]]:
        """Each group's prompts, prompt-major (see ``prompt_major``)."""
        return {group: prompt_major(tags, prompts) for group, tags in groups.items()}

    def __init__(self, teacher: TorchDualEncoder, student_text: TextEmbedder, groups: dict[str, list[str]],
                 prompts: Sequence[str], temperature: float = 1.0) -> None:
        self.teacher = teacher
        self.temperature = temperature
        self.teacher.network.eval().requires_grad_(False)
        self.groups = groups
        self.prompts = self.prompt_texts(groups, prompts)
        self.heads = len(prompts)
        self.student_text = student_text
        teacher_text = TextEmbedder(teacher, [p for texts in self.prompts.values() for p in texts])
        with torch.no_grad():
            self.teacher_tags = {group: teacher_text(texts) for group, texts in self.prompts.items()}
            self.teacher_scale = clamped_scale(teacher.network.get_parameter("log_logit_scale").float())

    def _logits(self, audio: torch.Tensor, tags: torch.Tensor, scale: torch.Tensor, group: str) -> torch.Tensor:
        heads = tags.view(self.heads, len(self.groups[group]), -1)
        return scale * torch.einsum("bd,htd->hbt", audio, heads)

    def loss(self, waves: torch.Tensor, mask: torch.Tensor, audio: torch.Tensor, scale: torch.Tensor,
             keep: torch.Tensor | None = None) -> torch.Tensor:
        """Mean over the distilled groups of KL(frozen model's tag distribution || trained model's), over
        the clips ``keep`` marks (all when None; zero when it marks none)."""
        if keep is not None:
            if not bool(keep.any()):
                return audio.sum() * 0.0
            waves, mask, audio = waves[keep], mask[keep], audio[keep]
        with torch.no_grad():
            pooled = self.teacher._pool_audio(waves, mask)
            teacher_audio = nn.functional.normalize(self.teacher._project_audio(pooled).float(), dim=-1)
        losses = []
        for group, texts in self.prompts.items():
            teacher_logits = self._logits(teacher_audio, self.teacher_tags[group], self.teacher_scale, group)
            student_logits = self._logits(audio, self.student_text(texts), scale, group)
            losses.append(distillation_loss(student_logits, teacher_logits, self.temperature))
        return torch.stack(losses).mean()


class BaseInvariance:
    """For a model that extends a frozen base (``ExtendedMiniNetwork``): how far the extension's text
    embeddings of each base group's tag prompts spread around their mean.

    At zero the extension scores every tag of such a group alike, so the base alone tells them apart
    and keeps its judgement of them exactly, while the extension learns what the base does not know.
    """

    def __init__(self, model: TorchDualEncoder, prompts: Sequence[str]) -> None:
        network = model.network
        if not isinstance(network, ExtendedMiniNetwork):
            raise InvalidArgument(f"{model.name} does not extend a base model")
        self.network = network
        self.groups = get_config(str(model.config.base["model"])).style_groups
        self.prompts = GroupTeacher.prompt_texts(self.groups, prompts)
        self.heads = len(prompts)

    def texts(self) -> list[str]:
        """Every prompt the loss embeds."""
        return [text for texts in self.prompts.values() for text in texts]

    def loss(self, text: TextEmbedder) -> torch.Tensor:
        """Mean squared distance of each tag prompt's extension embedding from its group's mean, per prompt."""
        losses = []
        for group, texts in self.prompts.items():
            part = self.network.extension_part(text(texts)).view(self.heads, len(self.groups[group]), -1)
            losses.append((part - part.mean(dim=1, keepdim=True)).square().sum(dim=-1).mean())
        return torch.stack(losses).mean()


class TagTargets:
    """Flattened (group, tag) list of the style groups and per-example label / known matrices."""

    def __init__(self, groups: dict[str, list[str]], prompts: Sequence[str]) -> None:
        self.pairs = [(group, tag) for group, tags in groups.items() for tag in tags]
        self.prompts = prompt_major([tag for _, tag in self.pairs], prompts)
        self.heads = len(prompts)

    def matrices(self, examples: Sequence[Example]) -> tuple[torch.Tensor, torch.Tensor]:
        labels = torch.zeros(len(examples), len(self.pairs))
        known = torch.zeros(len(examples), len(self.pairs))
        for row, example in enumerate(examples):
            for column, (group, tag) in enumerate(self.pairs):
                if group in example.tags:
                    known[row, column] = 1.0
                    labels[row, column] = float(tag in example.tags[group])
        return labels, known


def same_style_targets(examples: Sequence[Example]) -> torch.Tensor:
    """Row-normalised (b, b) targets: clips with identical labels are positives of each other."""
    keys = [tuple(sorted(e.tags.items())) for e in examples]
    same = torch.tensor([[float(a == b) for b in keys] for a in keys])
    return same / same.sum(dim=1, keepdim=True)


def lr_schedule(settings: TrainSettings) -> Callable[[int], float]:
    """Linear warmup, then cosine decay to ``final_lr_fraction`` of the peak at ``schedule_steps`` (or ``steps``)."""

    def factor(step: int) -> float:
        if step < settings.warmup_steps:
            return (step + 1) / settings.warmup_steps
        span = max(1, (settings.schedule_steps or settings.steps) - settings.warmup_steps)
        progress = min(1.0, (step - settings.warmup_steps) / span)
        floor = settings.final_lr_fraction
        return floor + (1 - floor) * 0.5 * (1 + math.cos(math.pi * progress))

    return factor


def save_atomic(obj: Any, path: Path) -> None:
    """``torch.save`` to a temporary name, then rename over ``path``."""
    partial = path.with_name(path.name + ".part")
    torch.save(obj, partial)
    os.replace(partial, path)


class Logger:
    """JSON lines to ``log.jsonl`` and a short line on stdout (main process only)."""

    def __init__(self, path: Path, enabled: bool) -> None:
        self.path = path
        self.enabled = enabled

    def __call__(self, record: dict[str, Any]) -> None:
        if not self.enabled:
            return
        with self.path.open("a") as handle:
            handle.write(json.dumps(record) + "\n")
        flat: dict[str, Any] = {}
        for key, value in record.items():
            if key == "settings":
                continue
            flat.update(value if key == "validation" else {key: value})
        print(json.dumps({k: (round(v, 4) if isinstance(v, float) else v) for k, v in flat.items()}), flush=True)


def validation_summary(results: dict[str, Any]) -> dict[str, Any]:
    """The headline numbers of an evaluation: R@k both ways and UAR per group."""
    summary: dict[str, Any] = {}
    for direction, metrics in results["retrieval"].items():
        for key in ("R@1", "R@10"):
            summary[f"{direction}_{key}"] = round(metrics[key], 2)
    for group, metrics in results["classification"].items():
        summary[f"uar_{group}"] = round(metrics["uar"], 3)
    return summary


def weight_space_ensemble(initial: dict[str, torch.Tensor], trained: dict[str, torch.Tensor],
                          init_weight: float) -> dict[str, torch.Tensor]:
    """``(1 - init_weight) * trained + init_weight * initial`` for every floating-point tensor (counters: trained)."""
    return {name: torch.lerp(value, initial[name].to(value), init_weight) if value.is_floating_point() else value
            for name, value in trained.items()}


def train(settings: TrainSettings) -> dict[str, Any]:
    """Run (or resume) training; returns the final validation metrics (main process)."""
    if settings.threads:
        torch.set_num_threads(settings.threads)
    dist, device = init_distributed(settings.device)
    out_dir = Path(settings.out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    log = Logger(out_dir / "log.jsonl", dist.main)
    torch.manual_seed(settings.seed)

    model = load_model(settings.model, checkpoint=settings.init_checkpoint,
                       random_init=settings.init_checkpoint is None, device=str(device))
    if not isinstance(model, TorchDualEncoder):
        raise InvalidArgument(f"{settings.model} is not a trainable torch model")
    if not 0.0 <= settings.init_weight < 1.0 or (settings.init_weight and settings.init_checkpoint is None):
        raise InvalidArgument("init_weight must be in [0, 1) and needs init_checkpoint")
    initial = {k: v.detach().clone() for k, v in model.network.state_dict().items()} if settings.init_weight else None
    groups = model.trained_groups()
    audio_root = Path(settings.audio_root) if settings.audio_root else None
    examples = load_examples(Path(settings.manifest), audio_root=audio_root, style_groups=groups)
    train_examples = [e for e in examples if e.split == "train"]
    if settings.val_manifest:
        val_examples = load_examples(Path(settings.val_manifest), audio_root=audio_root, style_groups=groups)
    else:
        val_examples = [e for e in examples if e.split == "test"]
    if len(val_examples) > settings.val_max_clips:
        picks = np.linspace(0, len(val_examples) - 1, settings.val_max_clips).round().astype(int)
        val_examples = [val_examples[i] for i in picks]

    dataset = ClipDataset(
        train_examples, model.prepare, sample_rate=model.sample_rate, crop_seconds=settings.crop_seconds,
        augmentation=Augmentation(settings.gain_db, settings.noise_probability,
                                  speed_probability=settings.speed_probability, sample_rate=model.sample_rate),
        cache=settings.cache_audio,
        seed=settings.seed + dist.rank,
    )
    train_examples = dataset.examples
    sampler = BalancedBatchSampler(
        [e.tag_keys() for e in train_examples], settings.batch_size, max(1, len(train_examples) // settings.batch_size),
        weighting=settings.balance, min_rare=settings.min_rare, seed=settings.seed, rank=dist.rank,
    )
    loader = torch.utils.data.DataLoader(dataset, batch_sampler=sampler, collate_fn=collate,
                                         num_workers=settings.workers, persistent_workers=settings.workers > 0)
    targets = TagTargets(groups, settings.tag_prompts) if settings.classification_weight > 0 else None
    if unknown := sorted(set(settings.distill_groups) - set(groups)):
        raise InvalidArgument(f"cannot distill {unknown}: {settings.model} is trained on {sorted(groups)}")
    distilled = {group: groups[group] for group in settings.distill_groups} if settings.distill_weight > 0 else {}
    teacher_prompts = (*settings.tag_prompts, ZERO_SHOT_PROMPT)
    distill_prompts = GroupTeacher.prompt_texts(distilled, teacher_prompts)
    invariance = BaseInvariance(model, teacher_prompts) if settings.base_invariance_weight else None
    text = TextEmbedder(model, [c for e in train_examples for c in e.captions] + (targets.prompts if targets else [])
                        + [prompt for texts in distill_prompts.values() for prompt in texts]
                        + (invariance.texts() if invariance else []))
    teacher = None
    if distilled:
        if settings.init_checkpoint is None:
            raise InvalidArgument("distillation needs init_checkpoint (the model whose judgement is kept)")
        frozen = load_model(settings.model, checkpoint=settings.init_checkpoint, device=str(device))
        if not isinstance(frozen, TorchDualEncoder):
            raise InvalidArgument(f"{settings.model} is not a trainable torch model")
        teacher = GroupTeacher(frozen, text, distilled, teacher_prompts, settings.distill_temperature)

    network = model.network
    network.train()
    step_module: nn.Module = ContrastiveStep(model, text)
    if dist.world_size > 1:
        step_module = nn.parallel.DistributedDataParallel(
            step_module, device_ids=[device.index] if device.type == "cuda" else None, find_unused_parameters=True
        )
    parameters = [p for p in network.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(parameters, lr=settings.lr, weight_decay=settings.weight_decay)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lr_schedule(settings))

    step = 0
    checkpoint_path = out_dir / "checkpoint-last.pt"
    if checkpoint_path.is_file():
        state = torch.load(checkpoint_path, map_location=device, weights_only=True)
        network.load_state_dict(state["network"])
        optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
        step = int(state["step"])
        log({"event": "resumed", "step": step})

    def save_checkpoint() -> None:
        if dist.main:
            save_atomic({"network": network.state_dict(), "optimizer": optimizer.state_dict(),
                         "scheduler": scheduler.state_dict(), "step": step, "settings": settings.to_json()},
                        checkpoint_path)

    def validate() -> dict[str, Any]:
        network.eval()
        try:
            return evaluate_examples(model, val_examples)
        finally:
            network.train()

    log({"event": "start", "settings": dataclasses.asdict(settings), "train_clips": len(train_examples),
         "val_clips": len(val_examples), "world_size": dist.world_size, "device": str(device),
         "trainable_parameters": sum(p.numel() for p in parameters)})
    rng = np.random.default_rng([settings.seed, dist.rank, step])
    epoch = step // len(sampler)
    started = time.monotonic()
    running: list[float] = []
    while step < settings.steps:
        sampler.set_epoch(epoch)
        for cpu_waves, cpu_mask, indices in loader:
            waves, mask = cpu_waves.to(device), cpu_mask.to(device)
            batch = [train_examples[i] for i in indices.tolist()]
            captions = [e.captions[int(rng.integers(len(e.captions)))] for e in batch]
            with torch.autocast(device.type, dtype=torch.bfloat16, enabled=settings.amp_bfloat16):
                audio, text_embeddings, tag_embeddings, scale = step_module(
                    waves, mask, captions, targets.prompts if targets else []
                )
            soft = same_style_targets(batch).to(device) if settings.same_style_positives else None
            loss = info_nce(audio, text_embeddings, scale, soft)
            record = {"contrastive": float(loss.detach())}
            if targets is not None and tag_embeddings is not None:
                labels, known = targets.matrices(batch)
                heads = tag_embeddings.view(targets.heads, len(targets.pairs), -1)
                classification = tag_classification_loss(audio, heads, labels.to(device), known.to(device), scale)
                loss = loss + settings.classification_weight * classification
                record["classification"] = float(classification.detach())
            if teacher is not None:
                keep = (torch.tensor([not e.has_any(settings.distill_skip_tags) for e in batch], device=device)
                        if settings.distill_skip_tags else None)
                distillation = teacher.loss(waves, mask, audio, scale, keep)
                loss = loss + settings.distill_weight * distillation
                record["distillation"] = float(distillation.detach())
            if invariance is not None:
                spread = invariance.loss(text)
                loss = loss + settings.base_invariance_weight * spread
                record["base_invariance"] = float(spread.detach())
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            if settings.grad_clip:
                nn.utils.clip_grad_norm_(parameters, settings.grad_clip)
            optimizer.step()
            scheduler.step()
            step += 1
            running.append(float(loss.detach()))
            if step % settings.log_every == 0 or step == settings.steps:
                log({"step": step, "loss": float(np.mean(running)), **record, "scale": float(scale.detach()),
                     "lr": scheduler.get_last_lr()[0], "elapsed_s": round(time.monotonic() - started, 1)})
                running = []
            if step % settings.checkpoint_every == 0:
                save_checkpoint()
            if dist.main and step % settings.eval_every == 0 and step < settings.steps and val_examples:
                log({"step": step, "validation": validation_summary(validate())})
            if step >= settings.steps:
                break
        epoch += 1

    save_checkpoint()
    if initial is not None:
        network.load_state_dict(weight_space_ensemble(initial, network.state_dict(), settings.init_weight))
    results: dict[str, Any] = {}
    if dist.main:
        save_atomic(network.state_dict(), out_dir / "weights.pt")
        if val_examples:
            results = validate()
            (out_dir / "metrics.json").write_text(json.dumps(results, indent=2) + "\n")
            log({"step": step, "validation": validation_summary(results), "elapsed_s": round(time.monotonic() - started, 1)})
    if dist.world_size > 1:
        torch.distributed.barrier()
        torch.distributed.destroy_process_group()
    return results


def recipe_settings(name: str, work_dir: Path, **overrides: Any) -> tuple[Recipe, TrainSettings]:
    """The settings of recipe ``name`` with its corpus and outputs under ``work_dir``."""
    if name not in RECIPES:
        raise InvalidArgument(f"unknown recipe {name!r}; known: {sorted(RECIPES)}")
    recipe = RECIPES[name]
    values = {**recipe.settings, **{k: v for k, v in overrides.items() if v is not None}}
    settings = TrainSettings(manifest=str(work_dir / "corpus" / "manifest.jsonl"), out_dir=str(work_dir / "run"), **values)
    return recipe, settings


def run_recipe(name: str, work_dir: Path, *, synth_workers: int | None = None, **overrides: Any) -> dict[str, Any]:
    """Synthesise the recipe's corpus (kept if already complete) and train on it."""
    from paraseek.training.synth import generate_corpus

    recipe, settings = recipe_settings(name, Path(work_dir), **overrides)
    generate_corpus(Path(work_dir) / "corpus", recipe.corpus_clips, seed=recipe.corpus_seed, styles=recipe.corpus_styles,
                    workers=synth_workers)
    return train(settings)


def install_weights(weights: Path, model_name: str = "paraseek-mini") -> Path:
    """Copy trained weights into the package as ``model_name``'s shipped file and pin their SHA-256."""
    from paraseek.model.config import CONFIG_DIR, get_config
    from paraseek.model.hub import PACKAGE_DIR, file_fingerprint

    config = get_config(model_name)
    package_file = config.weights.get("package_file")
    if not package_file:
        raise InvalidArgument(f"{model_name} does not ship weights in the package")
    target = PACKAGE_DIR / package_file
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(weights, target)
    config_path = CONFIG_DIR / f"{model_name}.json"
    data = json.loads(config_path.read_text())
    data["weights"]["sha256"] = file_fingerprint(target)
    config_path.write_text(json.dumps(data, indent=2) + "\n")
    return target
