"""Shared fixtures: isolated caches and data dirs, single-threaded torch, shared fixture paths, and a
memory watchdog that stops a runaway test with every thread's stack rather than leaving it to the
kernel's out-of-memory killer."""

from __future__ import annotations

import faulthandler
import os
import sys
import threading
import time
from collections.abc import Generator
from pathlib import Path

import pytest

SHARED = Path(os.environ.get("PARASEEK_SHARED_DIR", Path(__file__).resolve().parents[1].parent / "shared"))
GOLDEN_DIR = SHARED / "fixtures" / "paraspeechclap-golden"
RESAMPLE_GOLDEN = SHARED / "fixtures" / "resample-golden" / "resample.npz"

os.environ.setdefault("OMP_NUM_THREADS", "1")


#: The test process's resident memory that counts as runaway (the suite peaks near 1.5 GB).
RUNAWAY_RSS_BYTES = int(os.environ.get("PARASEEK_TEST_MAX_RSS_GB", "8")) * 2**30
_running_test = ["(collection)"]


def _watch_memory(config: pytest.Config) -> None:
    """Every half second: past ``RUNAWAY_RSS_BYTES``, name the test, dump every thread's stack and exit.

    pytest's output capture is suspended first, so the report reaches the terminal rather than a
    capture file that the exit would discard.
    """
    page = os.sysconf("SC_PAGE_SIZE")
    while True:
        with open("/proc/self/statm", encoding="ascii") as statm:
            resident = int(statm.read().split()[1]) * page
        if resident > RUNAWAY_RSS_BYTES:
            capture = config.pluginmanager.getplugin("capturemanager")
            if capture is not None:
                capture.suspend_global_capture(in_=False)
            sys.stdout.flush()  # the progress line, so that it ends where the run stopped
            sys.stderr.write(f"\nmemory watchdog: {resident / 2**30:.1f} GiB resident during {_running_test[0]}; "
                             "stacks of every thread follow\n")
            sys.stderr.flush()
            faulthandler.dump_traceback(all_threads=True)
            os._exit(70)
        time.sleep(0.5)


def pytest_configure(config: pytest.Config) -> None:
    if Path("/proc/self/statm").exists():
        threading.Thread(target=_watch_memory, args=(config,), name="memory-watchdog", daemon=True).start()
    try:
        import torch
    except ImportError:
        return
    torch.set_num_threads(1)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item: pytest.Item) -> Generator[None, object, object]:
    _running_test[0] = item.nodeid
    return (yield)


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


@pytest.fixture(scope="module")
def model():  # type: ignore[no-untyped-def]
    """The toy ParaSpeechCLAP (random weights, offline), one per test module; a module that needs
    another model defines its own ``model``."""
    from paraseek.testing import tiny_paraspeechclap

    return tiny_paraspeechclap()


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    """The demo clips (``paraseek.server.testing.demo_clips``), one set per test module; a module that wants
    another count defines its own ``clips``."""
    from paraseek.server.testing import demo_clips

    return demo_clips(tmp_path_factory.mktemp("clips"))


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory, model, clips):  # type: ignore[no-untyped-def]
    """An embedded store whose collection ``voices_v1`` (alias ``voices``) holds ``clips`` embedded by ``model``."""
    from paraseek.server.testing import build_collection
    from paraseek.storage import open_store

    with open_store(tmp_path_factory.mktemp("data")) as store:
        build_collection(store, model, clips, "voices_v1", alias="voices")
        yield store


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
