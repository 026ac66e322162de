#!/usr/bin/env bash
# Static checks, all from the dev extra: ruff (lint), mypy (types), import-linter (the layering
# contracts in pyproject.toml), then the deployment files (docker/lint.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
bin=.venv/bin
[ -x "$bin/ruff" ] || bin=$(dirname "$(command -v ruff)")

echo "ruff"
"$bin/ruff" check .
tree=$("$bin/python" scripts/source_tree.py)
echo "mypy"
(cd "$tree" && MYPYPATH=. "$OLDPWD/$bin/mypy" --config-file "$OLDPWD/pyproject.toml" -p paraseek)
echo "import-linter"
(cd "$tree" && PYTHONPATH=. "$OLDPWD/$bin/lint-imports" "$OLDPWD/pyproject.toml")
bash docker/lint.sh
