#!/usr/bin/env bash
# Quick start: install what running needs, build SwiftDFS (release) and start a local cluster with `dfs up`.
#
#   scripts/up.sh [DFS UP ARGUMENTS]             e.g. --nodes 5 --port 9080; Ctrl-C stops everything
#   scripts/up.sh --install [DFS UP ARGUMENTS]   also copies dfs, dfs-gateway, dfs-node and dfs-loadtest to
#                                                /usr/local/bin (sudo unless root), then runs that `dfs up`
set -euo pipefail
cd "$(dirname "$0")/.."
install=""
if [ "${1:-}" = "--install" ]; then
    install=1
    shift
fi
scripts/install-deps.sh --run
products=(dfs-gateway dfs-node dfs)
[ -n "$install" ] && products+=(dfs-loadtest)
for product in "${products[@]}"; do
    scripts/swift.sh build -c release --product "$product"
done
dfs=.build/release/dfs
if [ -n "$install" ]; then
    sudo_cmd=""
    [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
    for product in "${products[@]}"; do
        $sudo_cmd install -m 0755 ".build/release/$product" /usr/local/bin/
    done
    echo "installed ${products[*]} in /usr/local/bin" >&2
    dfs=/usr/local/bin/dfs
fi
exec "$dfs" up "$@"
