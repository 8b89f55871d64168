#!/usr/bin/env bash
# S3 PUT/GET against the gateway's own POST /upload and GET /download on the same `dfs up` cluster (3 nodes,
# 3 verified replicas): the identical dfs-loadtest workload through both APIs, alternated case by case on one
# cluster per case (native first in odd rounds, S3 first in even ones), and the S3/native ratio of files/s per case,
# with the CPU milliseconds per file of the gateway and of the nodes (steadier than files/s on a shared machine). Target: within 10 %
# (ratio >= 0.90) for 4 KiB, 1 MiB and 64 MiB objects. S3 requests are SigV4-signed with UNSIGNED-PAYLOAD (what
# rclone sends; the gateway computes and checks SHA-256 and MD5 of every byte either way).
#
#   scripts/bench-s3.sh [--bin .build/release] [--duration 10s] [--rounds 2] [--cases "upload:4KiB:16 …"] [--out DIR]
#       [--settle]  (root: sync and drop the page cache before each run; uploads measured second otherwise pay for the first's writes)
#
# Everything listens on 127.0.0.1 (free ports) and is stopped by PID at the end. Holds /tmp/bench.lock.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/bench-cluster.sh  # stop_cluster, wait_healthy

bin=.build/release; duration=10s; rounds=2; out=""; settle=""
cases="upload:4KiB:16 download:4KiB:16 upload:1MiB:8 download:1MiB:8 upload:64MiB:2 download:64MiB:2"
while [ $# -gt 0 ]; do
    case "$1" in
        --bin) bin="$2"; shift 2 ;;
        --duration) duration="$2"; shift 2 ;;
        --rounds) rounds="$2"; shift 2 ;;
        --cases) cases="$2"; shift 2 ;;
        --out) out="$2"; shift 2 ;;
        --settle) settle=1; shift ;;
        -h|--help) sed -n '2,12p' "$0"; exit 0 ;;
        *) echo "unknown argument: $1" >&2; exit 64 ;;
    esac
done
for binary in dfs dfs-gateway dfs-node dfs-loadtest; do
    [ -x "$bin/$binary" ] || { echo "$bin/$binary is missing: run scripts/swift.sh build -c release" >&2; exit 1; }
done
command -v jq > /dev/null || { echo "jq is needed (scripts/install-deps.sh)" >&2; exit 1; }
exec 9> /tmp/bench.lock
flock 9

work=$(mktemp -d /tmp/dfs-bench-s3.XXXXXX)
[ -n "$out" ] || out="$work/results"
mkdir -p "$out"
trap 'stop_cluster; rm -rf "$work/data"' EXIT

echo "machine: $(nproc) cores; load before: $(cut -d' ' -f1-3 /proc/loadavg); binaries $bin"
printf '%-9s %-7s %-4s %-6s %12s %12s %8s %22s %22s\n' workload size conc round native/s s3/s ratio \
    "native CPU ms gw+nodes" "s3 CPU ms gw+nodes"
for round in $(seq 1 "$rounds"); do
    for case in $cases; do
        IFS=: read -r workload size concurrency <<<"$case"
        read -r gateway_port node_port < <(python3 Tests/python/free_ports.py 3)
        read -r s3_port _ < <(python3 Tests/python/free_ports.py 1)
        rm -rf "$work/data"
        "$bin/dfs" up --port "$gateway_port" --node-port "$node_port" --s3-port "$s3_port" --data "$work/data" \
            --log-dir "$work/logs" > "$work/up.log" 2>&1 &
        cluster_pid=$!
        wait_healthy "http://127.0.0.1:$gateway_port/health" "$cluster_pid"
        for _ in $(seq 1 100); do grep -q "^export AWS_SECRET" "$work/up.log" && break; sleep 0.1; done
        export AWS_ACCESS_KEY_ID=$(sed -n 's/^export AWS_ACCESS_KEY_ID=//p' "$work/up.log")
        export AWS_SECRET_ACCESS_KEY=$(sed -n 's/^export AWS_SECRET_ACCESS_KEY=//p' "$work/up.log")
        name="$workload-$size-c$concurrency-r$round"
        common=(--workload "$workload" --size "$size" --concurrency "$concurrency" --duration "$duration" --seed-files 16 --json)
        # A fresh cluster is slower for its first seconds (connections, routing scores, the database's first pages):
        # both APIs warm up, unmeasured, before either is measured; which goes first then alternates by round.
        warm=(--workload "$workload" --size "$size" --concurrency "$concurrency" --duration 2s --seed-files 16 --json)
        "$bin/dfs-loadtest" --target-kind gateway --gateway "http://127.0.0.1:$gateway_port" "${warm[@]}" > /dev/null
        "$bin/dfs-loadtest" --target-kind s3 --gateway "http://127.0.0.1:$s3_port/bench" "${warm[@]}" > /dev/null
        apis="native s3"; [ $((round % 2)) -eq 1 ] || apis="s3 native"
        for api in $apis; do
            settle_page_cache
            cpu_mark
            if [ "$api" = native ]; then
                "$bin/dfs-loadtest" --target-kind gateway --gateway "http://127.0.0.1:$gateway_port" "${common[@]}" \
                    > "$out/$name-native.json"
            else
                "$bin/dfs-loadtest" --target-kind s3 --gateway "http://127.0.0.1:$s3_port/bench" "${common[@]}" \
                    > "$out/$name-s3.json"
            fi
            add_cpu_per_file "$out/$name-$api.json"  # steadier than files/s on a shared machine
        done
        stop_cluster
        native=$(jq '.operations / .seconds' "$out/$name-native.json")
        s3=$(jq '.operations / .seconds' "$out/$name-s3.json")
        bad=$(jq -s 'map(.errors + .mismatches) | add' "$out/$name-native.json" "$out/$name-s3.json")
        cpu='"\(.cpu_ms_per_file.gateway * 100 | round / 100)+\(.cpu_ms_per_file.nodes * 100 | round / 100)"'
        printf '%-9s %-7s %-4s %-6s %12.1f %12.1f %8.2f %22s %22s%s\n' "$workload" "$size" "$concurrency" "$round" "$native" "$s3" \
            "$(jq -n "$s3 / $native")" "$(jq -r "$cpu" "$out/$name-native.json")" "$(jq -r "$cpu" "$out/$name-s3.json")" \
            "$([ "$bad" = 0 ] || echo "  ($bad errors/mismatches)")"
    done
done
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg); JSON per run in $out"
