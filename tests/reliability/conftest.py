"""The reliability suite: a real ``paraseek serve`` process under load, hostile input and faults.

A fast subset runs with the normal suite. ``PARASEEK_RELIABILITY=full`` runs every case and longer
load phases. Every test prints its figures as one ``RELIABILITY {json}`` line (see them with ``-s``)
and appends them to ``$PARASEEK_RELIABILITY_REPORT`` (JSON lines) when that is set.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from paraseek.server.testing import ServeProcess, build_collection, demo_clips, serve_process
from paraseek.storage import open_store
from paraseek.testing import tiny_paraspeechclap

FULL = os.environ.get("PARASEEK_RELIABILITY", "").lower() == "full"
REPORT_ENV = "PARASEEK_RELIABILITY_REPORT"
COLLECTION = "voices"
CLIPS = 24

Figures = Callable[..., dict[str, Any]]


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "reliability_full: runs only with PARASEEK_RELIABILITY=full")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if FULL:
        return
    skip = pytest.mark.skip(reason="part of the full reliability set (PARASEEK_RELIABILITY=full)")
    for item in items:
        if "reliability_full" in item.keywords:
            item.add_marker(skip)


@pytest.fixture
def figures(request: pytest.FixtureRequest) -> Figures:
    """``figures(**values)``: print the test's figures as one JSON line and add them to the report file."""

    def record(**values: Any) -> dict[str, Any]:
        line = {"test": request.node.name, "mode": "full" if FULL else "fast", **values}
        text = json.dumps(line, sort_keys=True)
        print(f"RELIABILITY {text}")
        report = os.environ.get(REPORT_ENV)
        if report:
            with open(report, "a", encoding="utf-8") as sink:
                sink.write(text + "\n")
        return line

    return record


def build_data(folder: Path, count: int = CLIPS) -> Path:
    """A data directory holding the demo collection embedded with the tiny model the server runs."""
    data = folder / "data"
    with open_store(data) as store:
        build_collection(store, tiny_paraspeechclap(), demo_clips(folder / "clips", count=count), COLLECTION)
    return data


@pytest.fixture(scope="session")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServeProcess]:
    """One ``paraseek serve`` process shared by the load and fuzz tests."""
    folder = tmp_path_factory.mktemp("reliability")
    with serve_process(build_data(folder), folder) as server:
        yield server
        assert server.stop() == 0, server.log_text()[-4000:]
