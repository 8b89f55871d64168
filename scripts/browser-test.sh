#!/usr/bin/env bash
# The dashboard's browser test: headless Chromium driven by Selenium against `dfs up` built in debug.
# With --report first, the test of dfs-loadtest's HTML report instead (Tests/python/report_test.py): a short failover
# run and a routing comparison rendered, checked as HTML/XML and opened offline in headless Chromium.
# Needs the debug build (scripts/test.sh builds it first). Screenshots: .build/test-artifacts/dashboard/ (report/).
# Pass --update-screenshots to refresh the README's images in docs/screenshots/.
set -euo pipefail
cd "$(dirname "$0")/.."
script=Tests/python/browser_test.py
if [ "${1:-}" = "--report" ]; then
    shift
    script=Tests/python/report_test.py
fi
python_bin="$(scripts/python-env.sh)"
for tool in chromium chromedriver; do
    command -v "$tool" >/dev/null || { echo "$tool is missing: run scripts/install-deps.sh" >&2; exit 1; }
done
exec "$python_bin/python" "$script" --bin-dir "${DFS_BIN_DIR:-$PWD/.build/debug}" "$@"
