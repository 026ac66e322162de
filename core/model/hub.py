"""Where checkpoint files come from: a local path, the package itself, or the Hugging Face hub."""

from __future__ import annotations

import fnmatch
import functools
import hashlib
import os
from pathlib import Path

from paraseek.errors import InvalidArgument, WeightsUnavailable
from paraseek.model.config import ModelConfig

HUB_PREFIX = "hf-hub:"
PACKAGE_DIR = Path(__file__).parent


def resolve_checkpoint(config: ModelConfig, checkpoint: str | Path | None = None) -> Path:
    """The local path of the checkpoint for ``config``, downloading it from the hub if needed.

    ``checkpoint`` may be a local file, or ``hf-hub:owner/repo`` (the file is picked from the
    repo's listing with the config's ``filename_glob``). With neither, the config's ``weights``
    entry decides: ``package_file`` (shipped in the package) or ``hub_repo``.
    """
    pattern = config.weights.get("filename_glob", "*.pth.tar")
    if checkpoint is not None:
        text = str(checkpoint)
        if text.startswith(HUB_PREFIX):
            return hub_file(text[len(HUB_PREFIX) :], pattern)
        path = Path(checkpoint).expanduser()
        if not path.is_file():
            raise WeightsUnavailable(f"checkpoint file {path} does not exist")
        return path
    if "package_file" in config.weights:
        path = PACKAGE_DIR / config.weights["package_file"]
        if not path.is_file():
            raise WeightsUnavailable(
                f"the weights of {config.name} ({path}) are not installed; reinstall paraseek or train "
                f"them with `paraseek train` and pass checkpoint=PATH"
            )
        return path
    if "hub_repo" in config.weights:
        return hub_file(config.weights["hub_repo"], pattern)
    raise InvalidArgument(f"model {config.name} names no weights; pass checkpoint=PATH")


def hub_file(repo_id: str, pattern: str) -> Path:
    """Fetch (or find in the cache) the one file of ``repo_id`` matching ``pattern``.

    The repo's listing is read rather than a hard-coded file name, since release file names have
    changed before. Honours ``HF_HUB_OFFLINE`` and the normal cache (``HF_HOME``/``HF_HUB_CACHE``).
    """
    import huggingface_hub
    from huggingface_hub.errors import HfHubHTTPError, LocalEntryNotFoundError

    offline = hub_offline()
    cache_dir = hub_cache_dir()
    snapshot: str | None = None
    problem: Exception | None = None
    if not offline:
        try:
            snapshot = huggingface_hub.snapshot_download(repo_id, allow_patterns=[pattern], cache_dir=cache_dir)
        except (HfHubHTTPError, LocalEntryNotFoundError, OSError, ValueError) as error:
            problem = error
    if snapshot is None:
        try:
            snapshot = huggingface_hub.snapshot_download(
                repo_id, allow_patterns=[pattern], cache_dir=cache_dir, local_files_only=True
            )
        except (LocalEntryNotFoundError, OSError, ValueError) as error:
            problem = problem or error
    if snapshot is not None:
        matches = sorted(p for p in Path(snapshot).rglob("*") if p.is_file() and fnmatch.fnmatch(p.name, pattern))
        if len(matches) == 1:
            return matches[0]
        if len(matches) > 1:
            names = ", ".join(p.name for p in matches)
            raise WeightsUnavailable(f"{repo_id} holds several files matching {pattern!r} ({names}); pass checkpoint=PATH")
        problem = problem or FileNotFoundError(f"no file matching {pattern!r}")
    raise WeightsUnavailable(
        f"cannot get the checkpoint of hub repo {repo_id!r} ({problem}). "
        f"On a machine with network access run `hf download {repo_id} --include '{pattern}'` "
        f"and copy the Hugging Face cache (HF_HOME) here, or download the file and pass "
        f"checkpoint=/path/to/file (CLI: --checkpoint)."
    )


def hub_offline() -> bool:
    """Whether ``HF_HUB_OFFLINE`` is set (read at call time, not at import)."""
    return os.environ.get("HF_HUB_OFFLINE", "").lower() in {"1", "true", "yes", "on"}


def load_tokenizer(source: str) -> object:
    """A transformers tokenizer from a hub id or local folder, honouring offline mode and the cache."""
    from transformers import AutoTokenizer

    local = Path(source).expanduser().is_dir()
    try:
        return AutoTokenizer.from_pretrained(
            source, cache_dir=None if local else hub_cache_dir(), local_files_only=local or hub_offline()
        )
    except (OSError, ValueError) as error:
        raise tokenizer_unavailable(source, error) from error


def hub_cache_dir() -> str:
    """The Hugging Face cache folder, read from the environment at call time."""
    from huggingface_hub import constants

    if os.environ.get("HF_HUB_CACHE"):
        return os.environ["HF_HUB_CACHE"]
    if os.environ.get("HF_HOME"):
        return os.path.join(os.environ["HF_HOME"], "hub")
    return constants.HF_HUB_CACHE


@functools.lru_cache(maxsize=16)
def _digest(path: str, size: int, mtime_ns: int) -> str:
    with open(path, "rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def file_fingerprint(path: Path) -> str:
    """Hex SHA-256 of a file: the one checksum of weights and checkpoints (cached per path, size and mtime)."""
    stat = path.stat()
    return _digest(str(path.resolve()), stat.st_size, stat.st_mtime_ns)


def tokenizer_unavailable(source: str | None, error: Exception) -> WeightsUnavailable:
    """The error raised when a tokenizer can be neither found locally nor downloaded."""
    return WeightsUnavailable(
        f"cannot load the tokenizer {source!r} ({error}). With network access it is fetched from the "
        f"Hugging Face hub into the normal cache; offline, download it elsewhere with "
        f"`hf download {source}` and copy the cache, or pass tokenizer=<local folder>."
    )
