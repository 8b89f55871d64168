#!/usr/bin/env bash
# A drain at size: `dfs up --nodes 6`, --total of files uploaded (default 2GiB in 4 MiB files, 3 copies each), then
# node-3 drained (`dfs drain node-3 --wait`) while dfs-loadtest downloads and checks files the whole time. Prints
# how long the drain took, what it moved, the download run's errors and checksum mismatches, and checks afterwards
# that every file has 3 verified copies, none on node-3, and that node-3 holds no blob.
#
#   scripts/bench-drain.sh --bin DIR [--total 2GiB] [--size 4MiB] [--rebalance-rate 50MiB] [--download-seconds 60]
#                          [--out DIR]
#
# --bin is the folder of the binaries (dfs, dfs-gateway, dfs-node, dfs-loadtest), e.g. .build/release. Everything
# listens on 127.0.0.1 only. Needs jq.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/bench-cluster.sh

bin=""
total=2GiB
size=4MiB
rate=50MiB
window=60
out=""
while [ $# -gt 0 ]; do
    case "$1" in
        --bin) bin="$2"; shift 2 ;;
        --total) total="$2"; shift 2 ;;
        --size) size="$2"; shift 2 ;;
        --rebalance-rate) rate="$2"; shift 2 ;;
        --download-seconds) window="$2"; shift 2 ;;
        --out) out="$2"; shift 2 ;;
        -h|--help) sed -n '2,11p' "$0"; exit 0 ;;
        *) echo "unknown argument: $1" >&2; exit 64 ;;
    esac
done
[ -n "$bin" ] || { echo "give --bin DIR, the folder of the binaries" >&2; exit 64; }
for binary in dfs dfs-gateway dfs-node dfs-loadtest; do
    [ -x "$bin/$binary" ] || { echo "$bin/$binary is missing: build first" >&2; exit 1; }
done
command -v jq >/dev/null || { echo "jq is needed" >&2; exit 1; }
[ -n "$out" ] || out=$(mktemp -d /tmp/dfs-bench-drain.XXXXXX)
mkdir -p "$out"
trap 'stop_cluster 20; rm -rf "$out/dfs-data"' EXIT

count=$(( $(numfmt --from=iec "${total%iB}") / $(numfmt --from=iec "${size%iB}") ))
read -r gateway_port node_port < <(python3 Tests/python/free_ports.py 6)
"$bin/dfs" up --s3-port 0 --nodes 6 --port "$gateway_port" --node-port "$node_port" --data "$out/dfs-data" \
    --log-dir "$out/logs" --gateway-arg=--rebalance-rate --gateway-arg="$rate" > "$out/dfs-up.log" 2>&1 &
cluster_pid=$!
gateway="http://127.0.0.1:$gateway_port"
wait_healthy "$gateway/health" "$cluster_pid"
until [ "$(curl -s "$gateway/nodes" | jq '[.[] | select(.status == "UP")] | length')" = 6 ]; do sleep 0.5; done

echo "uploading $count files of $size ($total, 3 copies each)…"
"$bin/dfs-loadtest" --gateway "$gateway" --workload upload --size "$size" --count "$count" --concurrency 4 --json \
    > "$out/upload.json"
jq -r '"  uploads: \(.operations // .count // "?") ops, errors \(.errors // "?")"' "$out/upload.json" 2>/dev/null || true
before=$(curl -s "$gateway/nodes" | jq -r '.[] | select(.id == "node-3") | "\(.blob_count) blobs"')
echo "node-3 holds $before"

echo "draining node-3 while downloads run…"
"$bin/dfs-loadtest" --gateway "$gateway" --workload download --size "$size" --seed-files 32 --duration "${window}s" \
    --concurrency 2 --json > "$out/downloads.json" 2> "$out/downloads.err" &
loadtest_pid=$!
sleep 5
started=$(date +%s.%N)
"$bin/dfs" --gateway "$gateway" drain node-3 --wait > "$out/drain.log"
finished=$(date +%s.%N)
wait "$loadtest_pid" || true
seconds=$(echo "$finished - $started" | bc)
echo "drain: $(printf %.1f "$seconds") s for $before (downloads ran ${window} s from 5 s before it started)"

bad=0
after=""
while :; do
    page=$(curl -s "$gateway/files?limit=1000${after:+&after=$after}")
    bad=$(( bad + $(jq '[.files[] | select((.replicas | length) != 3 or (.replicas | index("node-3")))] | length' <<<"$page") ))
    after=$(jq -r '.next_after // empty' <<<"$page")
    [ -n "$after" ] || break
done
left=$(curl -s "$gateway/nodes" | jq -r '.[] | select(.id == "node-3") | "\(.state), \(.blob_count) blobs"')
echo "after: node-3 $left; files without exactly 3 verified copies off node-3: $bad"
jq -r '"downloads during the drain: \(.)"' "$out/downloads.json" 2>/dev/null | head -c 2000 || cat "$out/downloads.err"
echo
echo "JSON and logs in $out"
