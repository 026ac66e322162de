"""Lay out the source folders as one importable ``paraseek`` tree of symlinks, for static tools.

The repository keeps one top-level folder per part (core/, storage/, server/, ...) and maps them
into the ``paraseek`` namespace through pyproject's ``package-dir``. The editable install resolves
that with an import hook, which static checkers (mypy, import-linter) cannot follow; this script
builds ``build/source-tree/paraseek/...`` from the same mapping and prints the folder to put on
their path.
"""

from __future__ import annotations

import shutil
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def build(out: Path) -> Path:
    """Rebuild the symlink tree under ``out`` from pyproject's package-dir; return ``out``."""
    package_dir: dict[str, str] = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-dir"]
    if out.exists():
        shutil.rmtree(out)
    for name, folder in sorted(package_dir.items(), key=lambda item: item[0].count(".")):
        target = out.joinpath(*name.split("."))
        if target.is_symlink() or target.exists():
            continue  # already reachable through its parent's link
        target.parent.mkdir(parents=True, exist_ok=True)
        if "." not in name:
            # the root package: a real folder, so subpackages from elsewhere can be linked into it
            target.mkdir()
            for entry in (ROOT / folder).iterdir():
                if entry.name != "__pycache__":
                    (target / entry.name).symlink_to(entry)
        else:
            target.symlink_to(ROOT / folder, target_is_directory=True)
    return out


if __name__ == "__main__":
    print(build(Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "build" / "source-tree"))
