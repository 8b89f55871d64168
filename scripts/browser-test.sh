#!/usr/bin/env bash
# The dashboard's browser test (issue 6): headless Chromium driven by Selenium against `dfs up` built in debug.
# Needs the debug build (scripts/test.sh builds it first). Screenshots: .build/test-artifacts/dashboard/.
# Pass --update-screenshots to refresh the README's images in docs/screenshots/.
set -euo pipefail
cd "$(dirname "$0")/.."
python_bin="$(scripts/python-env.sh)"
for tool in chromium chromedriver; do
    command -v "$tool" >/dev/null || { echo "$tool is missing: run scripts/install-deps.sh" >&2; exit 1; }
done
exec "$python_bin/python" Tests/python/browser_test.py --bin-dir "${DFS_BIN_DIR:-$PWD/.build/debug}" "$@"
