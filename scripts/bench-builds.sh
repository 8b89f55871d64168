#!/usr/bin/env bash
# Before/after: the same dfs-loadtest workloads against two builds of SwiftDFS, alternated A B A B … case by case
# in one run, each run on a fresh `dfs up` cluster (3 nodes, 3 verified replicas) of that build. Prints files/s per
# run and the B/A ratio of each pair, so a machine whose load drifts during the run still compares like with like.
# Also the CPU time the gateway and the nodes spent per file (user + system, from /proc), which a busy machine
# disturbs far less than the rate.
#
#   scripts/bench-builds.sh --a DIR --b DIR [--rounds 3] [--duration 10s] [--cases "download:1MiB:8 download:64MiB:2"]
#       [--settle]  (root: sync and drop the page cache before each run; uploads measured second otherwise pay for the first's writes)
#
# DIR holds release binaries (dfs, dfs-gateway, dfs-node, dfs-loadtest), e.g. a worktree's .build/release. Every
# run uses the loadtest of its own build. Everything listens on 127.0.0.1 and is stopped by PID when it ends.
set -euo pipefail
cd "$(dirname "$0")/.."

a=""; b=""; rounds=3; duration=10s; settle=""
cases="download:4KiB:16 download:1MiB:8 download:64MiB:2"
while [ $# -gt 0 ]; do
    case "$1" in
        --a) a="$2"; shift 2 ;;
        --b) b="$2"; shift 2 ;;
        --rounds) rounds="$2"; shift 2 ;;
        --duration) duration="$2"; shift 2 ;;
        --cases) cases="$2"; shift 2 ;;
        --settle) settle=1; shift ;;
        -h|--help) sed -n '2,12p' "$0"; exit 0 ;;
        *) echo "unknown argument: $1" >&2; exit 64 ;;
    esac
done
[ -n "$a" ] && [ -n "$b" ] || { echo "--a DIR and --b DIR are required" >&2; exit 64; }
command -v jq > /dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends jq
for dir in "$a" "$b"; do
    for binary in dfs dfs-gateway dfs-node dfs-loadtest; do
        [ -x "$dir/$binary" ] || { echo "$dir/$binary is missing" >&2; exit 1; }
    done
done

work=$(mktemp -d /tmp/dfs-bench-builds.XXXXXX)
source scripts/lib/bench-cluster.sh
trap 'stop_cluster; rm -rf "$work/dfs-data"' EXIT



run() { # BIN WORKLOAD SIZE CONCURRENCY OUTFILE: one loadtest on a fresh cluster of that build
    local bin="$1" gateway_port node_port
    read -r gateway_port node_port < <(python3 Tests/python/free_ports.py 3)
    rm -rf "$work/dfs-data"
    "$bin/dfs" up --s3-port 0 --port "$gateway_port" --node-port "$node_port" --data "$work/dfs-data" --log-dir "$work/logs" > "$work/up.log" 2>&1 &
    cluster_pid=$!
    for _ in $(seq 1 300); do
        curl -sf -o /dev/null --max-time 1 "http://127.0.0.1:$gateway_port/health" && break
        kill -0 "$cluster_pid" 2>/dev/null || { echo "dfs up of $bin ended early:" >&2; tail -20 "$work/up.log" >&2; exit 1; }
        sleep 0.1
    done
    settle_page_cache
    cpu_mark
    "$bin/dfs-loadtest" --gateway "http://127.0.0.1:$gateway_port" --workload "$2" --size "$3" --concurrency "$4" \
        --duration "$duration" --seed-files 16 --json > "$5"
    add_cpu_per_file "$5"  # seeding included (a few files)
    stop_cluster
}

echo "A: $a"
echo "B: $b"
echo "machine: $(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB; load before: $(cut -d' ' -f1-3 /proc/loadavg)"
printf '\n| workload | size | c | round | A files/s | B files/s | B/A | A CPU ms/file gateway+nodes | B CPU ms/file | errors, mismatches |\n|---|---|---|---|---|---|---|---|---|---|\n'
for case in $cases; do
    IFS=: read -r workload size concurrency <<<"$case"
    ratios=()
    for round in $(seq 1 "$rounds"); do
        run "$a" "$workload" "$size" "$concurrency" "$work/a.json"
        run "$b" "$workload" "$size" "$concurrency" "$work/b.json"
        line=$(jq -r -n --slurpfile x "$work/a.json" --slurpfile y "$work/b.json" '
            ($x[0].ops_per_second) as $af | ($y[0].ops_per_second) as $bf |
            def cpu(r): "\(r.cpu_ms_per_file.gateway * 1000 | round / 1000)+\(r.cpu_ms_per_file.nodes * 1000 | round / 1000)";
            "\($af * 10 | round / 10) \($bf * 10 | round / 10) \(if $af > 0 then ($bf / $af * 1000 | round / 1000) else 0 end) \(cpu($x[0])) \(cpu($y[0])) \($x[0].errors + $y[0].errors), \($x[0].mismatches + $y[0].mismatches)"')
        read -r af bf ratio acpu bcpu errors <<<"$line"
        ratios+=("$ratio")
        printf '| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n' "$workload" "$size" "$concurrency" "$round" "$af" "$bf" "$ratio" "$acpu" "$bcpu" "$errors"
    done
    median=$(printf '%s\n' "${ratios[@]}" | sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }')
    printf '| %s | %s | %s | median | | | **%s** | | | |\n' "$workload" "$size" "$concurrency" "$median"
done
echo
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
