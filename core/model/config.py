"""Model configs: one JSON file per registered model, plus the release's bare config format."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

from paraseek.errors import InvalidArgument, ModelNotFound

CONFIG_DIR = Path(__file__).parent / "configs"


@dataclasses.dataclass(frozen=True)
class ModelConfig:
    """Everything needed to build a model and reproduce its embeddings.

    ``speech`` and ``text`` hold backbone configs (for ParaSpeechCLAP, the transformers
    ``WavLMConfig`` / ``XLMRobertaConfig`` dicts). ``weights`` says where the checkpoint comes
    from (``hub_repo`` + ``filename_glob``, or ``package_file``); ``tokenizer`` names a hub id or
    a local folder. ``preprocessing`` holds the audio policy (normalisation, long-audio windows).
    """

    name: str
    architecture: str
    embedding_dim: int
    speech: dict[str, Any]
    text: dict[str, Any]
    sample_rate: int = 16000
    preprocessing: dict[str, Any] = dataclasses.field(default_factory=dict)
    weights: dict[str, Any] = dataclasses.field(default_factory=dict)
    tokenizer: str | None = None
    style_groups: dict[str, list[str]] = dataclasses.field(default_factory=dict)
    #: groups the model was trained on whose held-out recall stayed near chance: trained and
    #: evaluated again by the same recipe, never claimed (no payload tags, not in the vocabulary)
    unlearned_groups: dict[str, list[str]] = dataclasses.field(default_factory=dict)
    #: a registered model this one extends: ``{"model": name, "share": w}`` keeps that model, frozen,
    #: as the first part of every embedding, weighted so it contributes ``w`` of each score
    base: dict[str, Any] = dataclasses.field(default_factory=dict)
    description: str = ""

    @classmethod
    def from_dict(cls, data: dict[str, Any], name: str | None = None) -> ModelConfig:
        """Build from a project config dict, or from the release's ``{speech, text, embedding_dim}``."""
        if "architecture" not in data:
            if not {"speech", "text", "embedding_dim"} <= data.keys():
                raise InvalidArgument(
                    "model config needs 'architecture' (project format) or "
                    "'speech', 'text' and 'embedding_dim' (release format)"
                )
            data = {"architecture": "paraspeechclap", **data}
        fields = {f.name for f in dataclasses.fields(cls)}
        unknown = set(data) - fields
        if unknown:
            raise InvalidArgument(f"unknown model config fields: {sorted(unknown)}")
        data = dict(data)
        data.setdefault("name", name or "custom")
        return cls(**data)

    @classmethod
    def from_file(cls, path: str | Path) -> ModelConfig:
        """Read a config JSON file (either format)."""
        path = Path(path)
        try:
            data = json.loads(path.read_text())
        except (OSError, json.JSONDecodeError) as error:
            raise InvalidArgument(f"cannot read model config {path}: {error}") from error
        return cls.from_dict(data, name=path.stem)

    def to_dict(self) -> dict[str, Any]:
        """Plain dict, the inverse of ``from_dict``."""
        return dataclasses.asdict(self)


def list_models() -> list[str]:
    """Names of the registered model configs."""
    return sorted(path.stem for path in CONFIG_DIR.glob("*.json"))


def get_config(name_or_path: str | Path) -> ModelConfig:
    """A registered config by name, or a config file by path."""
    candidate = CONFIG_DIR / f"{name_or_path}.json"
    if candidate.is_file():
        return ModelConfig.from_file(candidate)
    path = Path(name_or_path)
    if path.suffix == ".json" and path.is_file():
        return ModelConfig.from_file(path)
    raise ModelNotFound(
        f"no model config named {str(name_or_path)!r}; registered: {', '.join(list_models())}"
    )
