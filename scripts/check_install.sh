#!/usr/bin/env bash
# Install a packaged pipeline wheel into a fresh virtual environment (with this project's
# wheel and torch 2.13.0 CPU), then load it with HF_HUB_OFFLINE=1 from a directory with no
# source checkout and annotate a sentence. Usage: check_install.sh PIPELINE_WHEEL PACKAGE_NAME
set -euo pipefail
wheel="$(cd "$(dirname "$1")" && pwd)/$(basename "$1")"
package="$2"
root="$(cd "$(dirname "$0")/.." && pwd)"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
python -m pip wheel -q --no-deps -w "$tmp/dist" "$root"
python -m venv "$tmp/venv"
"$tmp/venv/bin/pip" install -q torch==2.13.0
"$tmp/venv/bin/pip" install -q "$tmp"/dist/spacy_spanbert-*.whl "$wheel"
cd "$tmp"
HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 "$tmp/venv/bin/python" -m spacy_spanbert check-install "$package"
