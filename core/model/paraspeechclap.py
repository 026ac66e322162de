"""ParaSpeechCLAP: WavLM speech encoder + XLM-RoBERTa text encoder with projection heads.

Module names mirror the released state dict (``audio_branch.base``, ``text_branch.base``,
``audio_projection``, ``text_projection``, ``log_logit_scale``) so checkpoints load strictly.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar, cast

import numpy as np
import torch
from torch import nn

from paraseek.audio import normalize
from paraseek.errors import CheckpointError, CheckpointKeyMismatch
from paraseek.model.config import ModelConfig
from paraseek.model.encoder import TorchDualEncoder
from paraseek.model.hub import file_fingerprint, load_tokenizer

if TYPE_CHECKING:
    from transformers import WavLMModel

GRANITE_TOKENIZER = "ibm-granite/granite-embedding-278m-multilingual"
RANDOM_SEED = 0

# Older checkpoints name these differently; everything else must match exactly.
_LEGACY_SUFFIXES = {
    ".weight_g": ".parametrizations.weight.original0",
    ".weight_v": ".parametrizations.weight.original1",
}
_LOGIT_SCALE_NAMES = ("log_logit_scale", "logit_scale", "logit_scale_a")

# WavLM in transformers mixes a bool padding mask with a float bias; the result is correct.
warnings.filterwarnings("ignore", message="Support for mismatched key_padding_mask and attn_mask")


class ProjectionHead(nn.Module):
    """``LayerNorm(l1(x) + Dropout(l2(gelu(l1(x)))))``."""

    def __init__(self, d_in: int, d_out: int, dropout: float = 0.5) -> None:
        super().__init__()
        self.linear1 = nn.Linear(d_in, d_out, bias=False)
        self.linear2 = nn.Linear(d_out, d_out, bias=False)
        self.layer_norm = nn.LayerNorm(d_out)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        first = self.linear1(x)
        return self.layer_norm(first + self.dropout(self.linear2(nn.functional.gelu(first))))


class Branch(nn.Module):
    """Holds a backbone under ``.base`` (the release's nesting)."""

    def __init__(self, base: nn.Module) -> None:
        super().__init__()
        self.base = base


class ParaSpeechCLAPNetwork(nn.Module):
    """The torch module; built from config dicts with no download."""

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        from transformers import WavLMConfig, WavLMModel, XLMRobertaConfig, XLMRobertaModel

        speech = WavLMConfig(**{**config.speech, "layerdrop": 0.0})
        text = XLMRobertaConfig(**config.text)
        self.audio_branch = Branch(WavLMModel(speech))
        self.text_branch = Branch(XLMRobertaModel(text, add_pooling_layer=True))
        self.audio_projection = ProjectionHead(speech.hidden_size, config.embedding_dim)
        self.text_projection = ProjectionHead(text.hidden_size, config.embedding_dim)
        self.log_logit_scale = nn.Parameter(torch.tensor(math.log(1 / 0.07)))

    def pool_audio(self, waves: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Mean of WavLM's last hidden state over valid frames (WavLM's own frame-mask rule)."""
        wavlm = cast("WavLMModel", self.audio_branch.base)
        hidden = wavlm(waves, attention_mask=mask).last_hidden_state
        long_mask = cast("torch.LongTensor", mask)  # transformers types the mask as the legacy LongTensor class
        frames = wavlm._get_feature_vector_attention_mask(hidden.shape[1], long_mask).unsqueeze(-1).to(hidden.dtype)
        return (hidden * frames).sum(dim=1) / frames.sum(dim=1).clamp(min=1.0)

    def text_features(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        """First-token (``<s>``) state of the last layer."""
        return self.text_branch.base(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state[:, 0]


def read_state_dict(path: Path) -> dict[str, torch.Tensor]:
    """Load a plain ``torch.save(state_dict)`` file safely (``weights_only``)."""
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # torch raises many types for corrupt or foreign files
        raise CheckpointError(f"cannot read checkpoint {path}: {error}") from error
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise CheckpointError(f"{path} is not a plain state dict of tensors")
    return state


def load_strict(network: nn.Module, state: dict[str, torch.Tensor]) -> None:
    """Load ``state`` into ``network`` after mapping legacy names; any other mismatch is an error."""
    renamed: dict[str, torch.Tensor] = {}
    for key, value in state.items():
        for old, new in _LEGACY_SUFFIXES.items():
            if key.endswith(old):
                key = key[: -len(old)] + new
        if key in _LOGIT_SCALE_NAMES:
            key = "log_logit_scale"
        renamed[key] = value
    expected = network.state_dict()
    missing = [k for k in expected if k not in renamed and k != "log_logit_scale"]
    unexpected = [k for k in renamed if k not in expected]
    if missing or unexpected:
        raise CheckpointKeyMismatch(missing, unexpected)
    wrong_shape = [k for k, v in renamed.items() if v.shape != expected[k].shape]
    if wrong_shape:
        details = ", ".join(f"{k} {tuple(renamed[k].shape)} vs {tuple(expected[k].shape)}" for k in wrong_shape[:10])
        raise CheckpointError(f"checkpoint tensor shapes differ from the architecture: {details}")
    network.load_state_dict({k: v.to(expected[k].dtype) for k, v in renamed.items()}, strict=False)


NetworkT = TypeVar("NetworkT", bound=nn.Module)


def seeded_network(make: Callable[[ModelConfig], NetworkT], config: ModelConfig) -> NetworkT:
    """``make(config)`` built in fp32 on the CPU from ``RANDOM_SEED`` (its weights when no checkpoint is given)."""
    with torch.device("cpu"):
        torch.manual_seed(RANDOM_SEED)
        return make(config).float()


def load_weights(network: nn.Module, checkpoint: Path | None) -> str:
    """Load ``checkpoint`` strictly into ``network`` and return its fingerprint (the seed's, without one)."""
    if checkpoint is None:
        return f"random-seed{RANDOM_SEED}"
    load_strict(network, read_state_dict(checkpoint))
    return file_fingerprint(checkpoint)


class ParaSpeechCLAP(TorchDualEncoder):
    """ParaSpeechCLAP inference: per-clip normalisation, masked mean pooling, CLS text pooling."""

    network: ParaSpeechCLAPNetwork

    def _preprocess(self, wave: np.ndarray) -> np.ndarray:
        return normalize(wave) if self.config.preprocessing.get("normalize", True) else wave

    def _pool_audio(self, waves: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        return self.network.pool_audio(waves, mask)

    def _project_audio(self, pooled: torch.Tensor) -> torch.Tensor:
        return self.network.audio_projection(pooled)

    def _text_forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        return self.network.text_projection(self.network.text_features(input_ids, attention_mask))

    def _load_tokenizer(self, source: str | None) -> Any:
        return load_tokenizer(source or self.config.tokenizer or GRANITE_TOKENIZER)


def build(
    config: ModelConfig,
    *,
    checkpoint: Path | None,
    tokenizer: str | None,
    device: str,
    dtype: str,
) -> ParaSpeechCLAP:
    """Build the network in fp32, load ``checkpoint`` strictly (random weights if None), then cast."""
    network = seeded_network(ParaSpeechCLAPNetwork, config)
    fingerprint = load_weights(network, checkpoint)
    return ParaSpeechCLAP(
        config, network, fingerprint=fingerprint, tokenizer_source=tokenizer, device=device, dtype=dtype
    )
