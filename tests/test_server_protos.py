"""The committed paraseek.v1 modules are what protos/generate.sh makes of the .proto files."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

PROTOS = Path(__file__).resolve().parents[1] / "protos"
GENERATED = ("_pb2.py", "_pb2.pyi", "_pb2_grpc.py")


def test_generated_modules_are_up_to_date(tmp_path):
    pytest.importorskip("grpc_tools")
    sources = sorted((PROTOS / "paraseek" / "v1").glob("*.proto"))
    assert sources
    work = tmp_path / "protos"
    (work / "paraseek" / "v1").mkdir(parents=True)
    for source in sources:
        shutil.copy(source, work / "paraseek" / "v1" / source.name)
    shutil.copy(PROTOS / "generate.sh", work / "generate.sh")
    subprocess.run(["bash", str(work / "generate.sh")], check=True, capture_output=True,
                   env={"PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin"})
    for source in sources:
        for suffix in GENERATED:
            name = source.stem + suffix
            fresh = (work / "paraseek" / "v1" / name).read_text()
            committed = (PROTOS / "paraseek" / "v1" / name).read_text()
            assert committed == fresh, f"{name} is stale: run protos/generate.sh"
