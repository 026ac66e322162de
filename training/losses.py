"""Training losses of the ParaSpeechCLAP recipe: symmetric InfoNCE and the tag classification loss."""

from __future__ import annotations

import torch
from torch import nn

#: The training config of ParaSpeechCLAP clamps the logit scale here.
MAX_LOGIT_SCALE = 100.0


def clamped_scale(log_logit_scale: torch.Tensor, maximum: float = MAX_LOGIT_SCALE) -> torch.Tensor:
    """``exp(log_logit_scale)`` clamped at ``maximum`` (gradient stops above the clamp)."""
    return log_logit_scale.exp().clamp(max=maximum)


def info_nce(audio: torch.Tensor, text: torch.Tensor, scale: torch.Tensor | float,
             targets: torch.Tensor | None = None) -> torch.Tensor:
    """Symmetric InfoNCE over ``scale * audio @ text.T`` (rows already L2-normalised).

    Row ``i`` of ``audio`` matches row ``i`` of ``text`` unless ``targets`` (b, b), a row-stochastic
    soft assignment, says otherwise; the audio->text and text->audio cross-entropies are averaged.
    """
    logits = scale * audio @ text.T
    if targets is None:
        labels = torch.arange(audio.shape[0], device=audio.device)
        return 0.5 * (nn.functional.cross_entropy(logits, labels) + nn.functional.cross_entropy(logits.T, labels))
    audio_to_text = -(targets * logits.log_softmax(dim=1)).sum(dim=1).mean()
    text_to_audio = -(targets.T * logits.T.log_softmax(dim=1)).sum(dim=1).mean()
    return 0.5 * (audio_to_text + text_to_audio)


def tag_classification_loss(audio: torch.Tensor, tag_embeddings: torch.Tensor, labels: torch.Tensor,
                            known: torch.Tensor, scale: torch.Tensor | float) -> torch.Tensor:
    """Multi-label BCE of clips against tag prompts, averaged over prompt heads, tags and labelled clips.

    ``audio`` (b, d) and ``tag_embeddings`` (heads, n_tags, d) are L2-normalised; the logits are
    ``scale * cosine``. ``labels`` (b, n_tags) holds 1 for a clip's tags and 0 otherwise;
    ``known`` (b, n_tags) is 1 where that tag's group is labelled for the clip, so unlabelled groups
    contribute nothing.
    """
    logits = scale * torch.einsum("bd,htd->hbt", audio, tag_embeddings)
    targets = labels.to(logits.dtype).expand_as(logits)
    weights = known.to(logits.dtype).expand_as(logits)
    losses = nn.functional.binary_cross_entropy_with_logits(logits, targets, weight=weights, reduction="none")
    return losses.sum() / weights.sum().clamp(min=1.0)


def distillation_loss(student_logits: torch.Tensor, teacher_logits: torch.Tensor, temperature: float = 1.0) -> torch.Tensor:
    """``temperature²·KL(teacher || student)`` of the logits divided by ``temperature``, over the last axis
    (one style group's tags), averaged over the other axes.

    A temperature above 1 softens near-certain distributions, so the student matches the teacher's
    margins, not only its decisions (Hinton et al. 2015); the ``temperature²`` factor keeps the
    gradients' size independent of it.
    """
    teacher = (teacher_logits / temperature).log_softmax(dim=-1)
    student = (student_logits / temperature).log_softmax(dim=-1)
    return temperature**2 * (teacher.exp() * (teacher - student)).sum(dim=-1).mean()
