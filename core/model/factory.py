"""Build models from registered configs: ``load_model()`` is the one entry point."""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

from paraseek.errors import InvalidArgument, ModelNotFound
from paraseek.limits import PRECISIONS
from paraseek.model.base import EmbeddingModel, ModelSource
from paraseek.model.config import ModelConfig, get_config
from paraseek.model.hub import HUB_PREFIX, resolve_checkpoint

DEFAULT_MODEL = "paraseek-mini-v3"

# architecture name -> module with build(config, *, checkpoint, tokenizer, device, dtype) -> EmbeddingModel
ARCHITECTURES: dict[str, str] = {
    "paraspeechclap": "paraseek.model.paraspeechclap",
    "paraseek-mini": "paraseek.model.mini",
}


def resolve_config(name: str | None = None, config: str | Path | dict[str, Any] | ModelConfig | None = None) -> ModelConfig:
    """A ModelConfig from a registered name, a config file, a dict, or the default model."""
    if config is not None:
        if isinstance(config, ModelConfig):
            return config
        if isinstance(config, dict):
            return ModelConfig.from_dict(config, name=name)
        return get_config(config)
    return get_config(name or DEFAULT_MODEL)


def bfloat16_native(device: str) -> bool:
    """Whether ``device`` runs bfloat16 matrix products in hardware (CUDA with bf16, CPUs with AVX512-BF16 or AMX)."""
    import torch

    if device.startswith("cuda"):
        return torch.cuda.is_available() and torch.cuda.is_bf16_supported()
    # torch exposes the CPU feature checks as private helpers; a torch without them counts as no bf16 units
    checks = (getattr(torch.cpu, name, None) for name in ("_is_avx512_bf16_supported", "_is_amx_tile_supported"))
    return any(check() for check in checks if check is not None)


def resolve_dtype(dtype: str, device: str) -> str:
    """``dtype`` with ``auto`` made concrete: bfloat16 where ``device`` runs it natively, else float32.

    bfloat16 embeddings stay within cosine 0.999 of float32 for every registered model
    (``benchmarks/index_throughput.py`` prints the figure for each run).
    """
    if dtype not in PRECISIONS:
        raise InvalidArgument(f"dtype must be one of {list(PRECISIONS)}, got {dtype!r}")
    if dtype != "auto":
        return dtype
    return "bfloat16" if bfloat16_native(device) else "float32"


def load_model(
    name: str | None = None,
    *,
    checkpoint: str | Path | None = None,
    config: str | Path | dict[str, Any] | ModelConfig | None = None,
    tokenizer: str | Path | None = None,
    device: str = "cpu",
    dtype: str = "float32",
    random_init: bool = False,
) -> EmbeddingModel:
    """Load a model ready for inference.

    ``load_model()`` gives the shipped default model, offline. ``name`` is a registered model
    (``paraseek.model.list_models()``); ``config`` a registered name, a config file (project format
    or the release's ``{speech, text, embedding_dim}``) or dict; ``checkpoint`` a local file or
    ``hf-hub:owner/repo``. Loading is strict. ``random_init`` builds the architecture with seeded
    random weights (benchmarks, tests).

    ``dtype`` (``"float32"``, ``"bfloat16"``, ``"float16"``) sets the precision with one policy for
    every caller: reduced-precision weights on CPU, float32 weights under autocast on CUDA;
    ``"auto"`` is bfloat16 where the device runs it natively, else float32 (``resolve_dtype``).

    The model's ``source`` records how to load it again (collections record it, so a server can).
    """
    model_config = resolve_config(name, config)
    module_name = ARCHITECTURES.get(model_config.architecture)
    if module_name is None:
        raise ModelNotFound(f"unknown architecture {model_config.architecture!r}; known: {sorted(ARCHITECTURES)}")
    if random_init and checkpoint is not None:
        raise InvalidArgument("pass either checkpoint or random_init, not both")
    path = None if random_init else resolve_checkpoint(model_config, checkpoint)
    module = importlib.import_module(module_name)
    model: EmbeddingModel = module.build(
        model_config,
        checkpoint=path,
        tokenizer=str(tokenizer) if tokenizer is not None else None,
        device=device,
        dtype=resolve_dtype(dtype, device),
    )
    if not random_init and tokenizer is None:
        model.source = model_source(config if config is not None else name or DEFAULT_MODEL, checkpoint)
    return model


def model_source(config: object, checkpoint: str | Path | None) -> ModelSource | None:
    """The ``ModelSource`` of a config given by name or file and a checkpoint (``None`` for a config built in code).

    Files are recorded by absolute path, so the record holds wherever it is read.
    """
    if not isinstance(config, str | Path):
        return None
    spec = Path(config).expanduser()
    recorded_config = str(spec.resolve()) if spec.suffix == ".json" and spec.is_file() else str(config)
    if checkpoint is None or str(checkpoint).startswith(HUB_PREFIX):
        return ModelSource(recorded_config, None if checkpoint is None else str(checkpoint))
    return ModelSource(recorded_config, str(Path(checkpoint).expanduser().resolve()))
