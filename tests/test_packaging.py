"""Packaging: the thin install stays thin, engine parts say what to install, the wheel is namespaced."""

from __future__ import annotations

import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_base_install_is_the_thin_client() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    names = {dep.split(">")[0].split("=")[0].split("<")[0].strip() for dep in project["dependencies"]}
    assert names == {"grpcio", "protobuf", "numpy", "click", "rich"}
    assert any(dep.startswith("torch==") for dep in project["optional-dependencies"]["engine"])


@pytest.mark.parametrize("module", ["paraseek.model", "paraseek.audio"])
def test_engine_import_without_torch_names_the_extra(module: str) -> None:
    code = (
        "import sys; sys.modules['torch'] = None\n"
        "from paraseek.errors import MissingDependency\n"
        "try:\n"
        f"    import {module}\n"
        "except MissingDependency as error:\n"
        "    print(error)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "pip install 'paraseek[engine]'" in result.stdout


@pytest.mark.slow
def test_wheel_installs_only_the_paraseek_namespace(tmp_path: Path) -> None:
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(tmp_path), str(ROOT)],
        check=True, capture_output=True,
    )
    wheel = next(tmp_path.glob("paraseek-*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    top_level = {name.split("/")[0] for name in names if not name.split("/")[0].endswith(".dist-info")}
    assert top_level == {"paraseek"}
    for expected in ("paraseek/errors.py", "paraseek/model/configs/paraspeechclap-combined.json",
                     "paraseek/audio/resample.py", "paraseek/client/__init__.py", "paraseek/v1/__init__.py"):
        assert expected in names
