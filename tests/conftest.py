"""Shared fixtures: isolated caches and data dirs, single-threaded torch, shared fixture paths."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

SHARED = Path(os.environ.get("PARASEEK_SHARED_DIR", Path(__file__).resolve().parents[1].parent / "shared"))
GOLDEN_DIR = SHARED / "fixtures" / "paraspeechclap-golden"
RESAMPLE_GOLDEN = SHARED / "fixtures" / "resample-golden" / "resample.npz"

os.environ.setdefault("OMP_NUM_THREADS", "1")


def pytest_configure(config: pytest.Config) -> None:
    try:
        import torch
    except ImportError:
        return
    torch.set_num_threads(1)


@pytest.fixture(autouse=True)
def _isolated_environment(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """No test reads or writes the user's caches or data, or reaches the network for models."""
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("HF_HOME", str(home / "hf"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("PARASEEK_DATA_DIR", str(home / "paraseek-data"))
    for name in ("PARASEEK_SERVER", "PARASEEK_QDRANT_URL", "PARASEEK_READ_TOKEN", "PARASEEK_ADMIN_TOKEN"):
        monkeypatch.delenv(name, raising=False)


def require_fixture(path: Path) -> Path:
    """``path`` if the shared fixture exists; otherwise fail under CI (``$CI`` set) and skip locally."""
    if path.exists():
        return path
    message = f"shared fixtures not found at {path} (set PARASEEK_SHARED_DIR)"
    if os.environ.get("CI", "").lower() not in ("", "0", "false", "no"):
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture(scope="session")
def golden_dir() -> Path:
    return require_fixture(GOLDEN_DIR)


@pytest.fixture(scope="session")
def resample_golden() -> Path:
    return require_fixture(RESAMPLE_GOLDEN)


@pytest.fixture(scope="session")
def tiny_model_files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The toy ParaSpeechCLAP as a config file and a checkpoint, loadable with --model/--checkpoint."""
    import json

    import torch

    from paraseek.testing import tiny_paraspeechclap, tiny_paraspeechclap_config

    folder = tmp_path_factory.mktemp("tiny-model")
    config = folder / "paraspeechclap-tiny.json"
    config.write_text(json.dumps(tiny_paraspeechclap_config().to_dict()))
    checkpoint = folder / "tiny.pt"
    torch.save(tiny_paraspeechclap().network.state_dict(), checkpoint)
    return config, checkpoint
