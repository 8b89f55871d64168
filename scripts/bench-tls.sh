#!/usr/bin/env bash
# The cost of TLS: the same dfs-loadtest cases against a plain-HTTP `dfs up` and a `dfs up --tls` cluster (gateway
# and 3 nodes, every hop HTTPS and verified against the cluster's CA), alternating plain and TLS run by run so
# both see the same machine state, and the TLS/plain ratio of throughput per case (median over the rounds).
#
#   scripts/bench-tls.sh --bin DIR [--rounds 3] [--duration 15s] [--cases "upload:4KiB:16 download:64MiB:2"] [--out DIR]
#
# --bin is the folder of release binaries (dfs, dfs-gateway, dfs-node, dfs-loadtest), e.g. .build/release after
# `scripts/swift.sh build -c release`: debug builds measure the debug build, not TLS.
# Both clusters listen on 127.0.0.1 only and are stopped by PID when the script ends. Needs curl, jq and python3.
set -euo pipefail
cd "$(dirname "$0")/.."

duration=15s
rounds=3
cases="upload:4KiB:16 download:4KiB:16 upload:1MiB:8 download:1MiB:8 upload:64MiB:2 download:64MiB:2"
out=""
bin=""
while [ $# -gt 0 ]; do
    case "$1" in
        --bin) bin="$2"; shift 2 ;;
        --rounds) rounds="$2"; shift 2 ;;
        --duration) duration="$2"; shift 2 ;;
        --cases) cases="$2"; shift 2 ;;
        --out) out="$2"; shift 2 ;;
        -h|--help) sed -n '2,11p' "$0"; exit 0 ;;
        *) echo "unknown argument: $1" >&2; exit 64 ;;
    esac
done
[ -n "$bin" ] || { echo "give --bin DIR, the folder of the release binaries" >&2; exit 64; }
for binary in dfs dfs-gateway dfs-node dfs-loadtest; do
    [ -x "$bin/$binary" ] || { echo "$bin/$binary is missing: build release binaries first" >&2; exit 1; }
done
for tool in curl jq python3; do command -v "$tool" >/dev/null || { echo "$tool is needed" >&2; exit 1; }; done

work=$(mktemp -d /tmp/dfs-bench-tls.XXXXXX)
[ -n "$out" ] || out="$work/results"
mkdir -p "$out"
plain_pid=""
tls_pid=""

stop_pid() { # PID: SIGINT to a `dfs up` we started (it stops its children), SIGKILL after 15 s.
    local pid="$1"
    [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 0
    kill -INT "$pid" 2>/dev/null || true
    for _ in $(seq 1 150); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
}
cleanup() {
    stop_pid "$plain_pid"
    stop_pid "$tls_pid"
    rm -rf "$work/plain-data" "$work/tls-data"
}
trap cleanup EXIT


wait_healthy() { # URL PID [CURL-ARGS…]: poll until URL answers 2xx; fail if the process ends or 60 s pass.
    local url="$1" pid="$2" status
    shift 2
    for _ in $(seq 1 600); do
        status=$(curl -s -o /dev/null -w '%{http_code}' --max-time 1 "$@" "$url" 2>/dev/null || true)
        case "$status" in 2??) return 0 ;; esac
        kill -0 "$pid" 2>/dev/null || { echo "dfs up (pid $pid) ended before $url answered; see $work/*-up.log" >&2; return 1; }
        sleep 0.1
    done
    echo "$url did not answer within 60 s" >&2
    return 1
}

# KIND (plain|tls): starts one `dfs up` and sets <kind>_pid and <kind>_url.
start_cluster() {
    local kind="$1" gateway_port node_port flags=()
    read -r gateway_port node_port < <(python3 Tests/python/free_ports.py 3)
    [ "$kind" = tls ] && flags=(--tls)
    "$bin/dfs" up --s3-port 0 "${flags[@]}" --port "$gateway_port" --node-port "$node_port" --data "$work/$kind-data" \
        --log-dir "$work/$kind-logs" > "$work/$kind-up.log" 2>&1 &
    if [ "$kind" = tls ]; then
        tls_pid=$!
        tls_url="https://127.0.0.1:$gateway_port"
        # The CA is made before any process starts; wait for it, then for the gateway over HTTPS.
        for _ in $(seq 1 300); do [ -s "$work/tls-data/tls/ca.pem" ] && break; sleep 0.1; done
        wait_healthy "$tls_url/health" "$tls_pid" --cacert "$work/tls-data/tls/ca.pem"
    else
        plain_pid=$!
        plain_url="http://127.0.0.1:$gateway_port"
        wait_healthy "$plain_url/health" "$plain_pid"
    fi
}

run_case() { # KIND WORKLOAD SIZE CONCURRENCY OUTFILE
    local url extra=()
    if [ "$1" = tls ]; then url="$tls_url"; extra=(--cacert "$work/tls-data/tls/ca.pem"); else url="$plain_url"; fi
    "$bin/dfs-loadtest" --gateway "$url" "${extra[@]}" --workload "$2" --size "$3" --concurrency "$4" \
        --duration "$duration" --seed-files 16 --json > "$5"
}

start_cluster plain
start_cluster tls
echo "machine: $(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB; load before: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "plain: $plain_url   tls: $tls_url (CA $work/tls-data/tls/ca.pem)"
for round in $(seq 1 "$rounds"); do
    for case in $cases; do
        IFS=: read -r workload size concurrency <<<"$case"
        name="$workload-$size-c$concurrency-r$round"
        # Alternate which goes first, so neither always runs on a warmer machine.
        if [ $((round % 2)) = 1 ]; then order="plain tls"; else order="tls plain"; fi
        for kind in $order; do
            echo "== round $round: $workload $size c$concurrency, $kind, $duration" >&2
            run_case "$kind" "$workload" "$size" "$concurrency" "$out/$name-$kind.json"
        done
    done
done
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"

printf '\n| workload | size | concurrency | plain MB/s | TLS MB/s | TLS/plain | plain p50 / p99 ms | TLS p50 / p99 ms | errors, mismatches |\n'
printf '|---|---|---|---|---|---|---|---|---|\n'
for case in $cases; do
    IFS=: read -r workload size concurrency <<<"$case"
    base="$out/$workload-$size-c$concurrency"
    jq -r -n --arg w "$workload" --arg s "$size" --arg c "$concurrency" \
        --slurpfile plain <(cat "$base"-r*-plain.json) --slurpfile tls <(cat "$base"-r*-tls.json) '
        def median: sort | if length == 0 then 0 elif length % 2 == 1 then .[length / 2 | floor]
            else (.[length / 2 - 1] + .[length / 2]) / 2 end;
        def r2: . * 100 | round / 100;
        ($plain | map(.mb_per_second) | median) as $p | ($tls | map(.mb_per_second) | median) as $t |
        "| \($w) | \($s) | \($c) | \($p | r2) | \($t | r2) | \(if $p > 0 then ($t / $p | r2) else "-" end) | "
        + "\($plain | map(.latency_ms.p50) | median | r2) / \($plain | map(.latency_ms.p99) | median | r2) | "
        + "\($tls | map(.latency_ms.p50) | median | r2) / \($tls | map(.latency_ms.p99) | median | r2) | "
        + "\([$plain[], $tls[]] | map(.errors) | add), \([$plain[], $tls[]] | map(.mismatches) | add) |"'
done
echo
echo "medians over $rounds rounds of $duration per case and kind; JSON reports: $out"
