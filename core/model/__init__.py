"""Embedding models: a registry of JSON configs and one factory, ``load_model``."""

from paraseek.errors import require

require("torch")
require("transformers")

from paraseek.model.base import ZERO_SHOT_PROMPT, EmbeddingModel  # noqa: E402
from paraseek.model.config import ModelConfig, get_config, list_models  # noqa: E402
from paraseek.model.factory import DEFAULT_MODEL, load_model, resolve_config  # noqa: E402
from paraseek.model.zeroshot import ZeroShotScorer  # noqa: E402

__all__ = [
    "DEFAULT_MODEL",
    "ZERO_SHOT_PROMPT",
    "ZeroShotScorer",
    "EmbeddingModel",
    "ModelConfig",
    "get_config",
    "list_models",
    "load_model",
    "resolve_config",
]
