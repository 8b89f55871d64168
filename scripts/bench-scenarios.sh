#!/usr/bin/env bash
# The fault and routing benchmarks of the README "Benchmarks" section, each on clusters dfs-loadtest spawns
# itself (loopback only, stopped by the tool when each run ends). Prints every table; JSON reports go to --out.
#
#   scripts/bench-scenarios.sh [latency] [failover] [sigstop] [hedging]    (default: all four)
#       [--out DIR] [--bin DIR]
#
# Needs release binaries (scripts/swift.sh build -c release).
set -euo pipefail
cd "$(dirname "$0")/.."

bin=.build/release
out=""
scenarios=()
while [ $# -gt 0 ]; do
    case "$1" in
        --out) out="$2"; shift 2 ;;
        --bin) bin="$2"; shift 2 ;;
        latency|failover|sigstop|hedging) scenarios+=("$1"); shift ;;
        -h|--help) sed -n '2,8p' "$0"; exit 0 ;;
        *) echo "unknown argument: $1" >&2; exit 64 ;;
    esac
done
[ ${#scenarios[@]} -gt 0 ] || scenarios=(latency failover sigstop hedging)
[ -n "$out" ] || out=$(mktemp -d /tmp/dfs-bench-scenarios.XXXXXX)
mkdir -p "$out"
loadtest() { "$bin/dfs-loadtest" --spawn-cluster "$@"; }
# Each run prints its table, then again as JSON into the out folder.
measure() { # NAME ARGS…
    local name="$1"; shift
    echo "== $name: dfs-loadtest --spawn-cluster $*"
    loadtest "$@" --json > "$out/$name.json"
    jq -r 'if .rows then (.rows[] | "\(.label): p50 \(.report.latency_ms.p50) ms, p99 \(.report.latency_ms.p99) ms, \(.report.ops_per_second) ops/s, errors \(.report.errors), mismatches \(.report.mismatches), hedged \(.report.hedged_downloads)/\(.report.download_answers), ratios \(.ratio_vs_latency)")
           else "p50 \(.latency_ms.p50) ms, p90 \(.latency_ms.p90) ms, p99 \(.latency_ms.p99) ms, p99.9 \(.latency_ms["p99.9"]) ms, max \(.latency_ms.max) ms, \(.operations) ops, \(.ops_per_second) ops/s, errors \(.errors), mismatches \(.mismatches), hedged \(.hedged_downloads)/\(.download_answers), failovers \(.failovers)" end' "$out/$name.json"
}

echo "machine: $(nproc) cores, $(. /etc/os-release; echo "$PRETTY_NAME"); load before: $(cut -d' ' -f1-3 /proc/loadavg)"
for scenario in "${scenarios[@]}"; do
    case "$scenario" in
        latency)   # (a) node-2 behind 50 ms each way; a no-delay baseline, then latency, round-robin, random
            # Equal durations, not counts: a count finishes a fast policy in a warm-up's time.
            measure latency --delay node-2=50ms --compare-routing --workload download --size 64KiB --duration 20s --concurrency 4
            measure latency-no-hedging --delay node-2=50ms --compare-routing --workload download --size 64KiB --duration 20s \
                --concurrency 4 --gateway-arg --no-hedging ;;
        failover)  # (b) 64 MiB downloads; every 10 s one node is killed (SIGKILL) and restarted 5 s later
            measure failover --workload download --size 64MiB --duration 60s --concurrency 2 \
                --fault kill:node-1@5s,start:node-1@10s,kill:node-2@15s,start:node-2@20s,kill:node-3@25s,start:node-3@30s,kill:node-1@35s,start:node-1@40s,kill:node-2@45s,start:node-2@50s,kill:node-3@55s,start:node-3@60s ;;
        sigstop)   # (c) node-1 SIGSTOPped for the whole measured window; health timeout 2 s (the default)
            measure sigstop --workload download --size 1MiB --duration 30s --concurrency 4 \
                --fault pause:node-1@0s,resume:node-1@30s --gateway-arg --health-timeout --gateway-arg 2s ;;
        hedging)   # (d) node-2 stalls 10% of its responses by 200 ms; with and without hedged reads. Latency
            # routing soon steers around a stalling node, so round-robin (which keeps sending it a third of the
            # downloads) is where hedging has to do the work; both are measured.
            for routing in round-robin latency; do
                measure "hedging-on-$routing" --routing "$routing" --stall node-2=200ms@10% --workload download --size 64KiB \
                    --duration 20s --concurrency 4
                measure "hedging-off-$routing" --routing "$routing" --stall node-2=200ms@10% --workload download --size 64KiB \
                    --duration 20s --concurrency 4 --gateway-arg --no-hedging
            done ;;
    esac
done
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg); JSON reports: $out"
