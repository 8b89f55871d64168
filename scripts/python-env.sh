#!/usr/bin/env bash
# Creates (once) the private Python venv of the test tools and prints its bin directory.
# Idempotent: reinstalls only when Tests/python/requirements.txt changed.
set -euo pipefail
cd "$(dirname "$0")/.."
venv=".build-python-venv"
requirements="Tests/python/requirements.txt"
stamp="$venv/.requirements"
if [ ! -x "$venv/bin/python" ]; then
    python3 -m venv "$venv" >&2
fi
if ! cmp -s "$requirements" "$stamp" 2>/dev/null; then
    echo "installing Python test tools ($requirements)" >&2
    "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$requirements" >&2
    cp "$requirements" "$stamp"
fi
echo "$PWD/$venv/bin"
