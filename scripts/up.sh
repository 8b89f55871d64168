#!/usr/bin/env bash
# Quick start: install what is needed, build SwiftDFS (release) and start a local cluster with `dfs up`.
# Extra arguments go to `dfs up` (e.g. --nodes 5 --port 9080). Ctrl-C stops everything.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/swift.sh build -c release --product dfs-gateway
scripts/swift.sh build -c release --product dfs-node
scripts/swift.sh build -c release --product dfs
exec .build/release/dfs up "$@"
