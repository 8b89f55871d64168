#!/usr/bin/env bash
# Installs what is needed and runs the whole test suite: unit tests, the metadata conformance suite and the
# integration tests that start real dfs-gateway / dfs-node processes on free loopback ports.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
echo "== build (debug, all targets)" >&2
scripts/swift.sh build --build-tests
echo "== tests" >&2
scripts/swift.sh test --skip-build "$@"
