#!/usr/bin/env bash
# Availability under node churn: a seeded `dfs-loadtest --churn` run against its own 3-node cluster (one node
# faulty at a time, killed or paused for 2-5 s, then restored as the next one fails), under a mixed load of
# uploads, verified downloads and deletes; once with the default write quorum and once with --write-quorum 2.
# After each run every node is back, the repair queue gets up to 120 s, every stored file is read back and every
# deleted one asked for again. Prints the share of uploads, downloads and deletes that succeeded during the run and
# what was lost, wrong or resurrected afterwards; the JSON of each run stays in --out.
#
#   scripts/bench-churn.sh --bin DIR [--seed 42] [--duration 90s] [--size 64KiB] [--concurrency 4] [--out DIR]
#
# --bin is the folder of the binaries (dfs-loadtest, dfs-gateway, dfs-node), e.g. .build/release. The cluster
# listens on 127.0.0.1 only; dfs-loadtest stops it by PID. Needs jq.
set -euo pipefail
cd "$(dirname "$0")/.."

seed=42
duration=90s
size=64KiB
concurrency=4
out=""
bin=""
while [ $# -gt 0 ]; do
    case "$1" in
        --bin) bin="$2"; shift 2 ;;
        --seed) seed="$2"; shift 2 ;;
        --duration) duration="$2"; shift 2 ;;
        --size) size="$2"; shift 2 ;;
        --concurrency) concurrency="$2"; shift 2 ;;
        --out) out="$2"; shift 2 ;;
        -h|--help) sed -n '2,13p' "$0"; exit 0 ;;
        *) echo "unknown argument: $1" >&2; exit 64 ;;
    esac
done
[ -n "$bin" ] || { echo "give --bin DIR, the folder of the binaries" >&2; exit 64; }
for binary in dfs-gateway dfs-node dfs-loadtest; do
    [ -x "$bin/$binary" ] || { echo "$bin/$binary is missing: build first" >&2; exit 1; }
done
command -v jq >/dev/null || { echo "jq is needed" >&2; exit 1; }
[ -n "$out" ] || out=$(mktemp -d /tmp/dfs-bench-churn.XXXXXX)
mkdir -p "$out"

status=0
run() {
    local label="$1"
    shift
    echo "== $label (seed $seed, $duration, $size files, concurrency $concurrency; load average $(cut -d' ' -f1-3 /proc/loadavg))" >&2
    # Exit status 2 means something was lost, wrong or resurrected: reported below, and the script fails.
    "$bin/dfs-loadtest" --spawn-cluster --churn "$seed" --duration "$duration" --workload mixed --delete-share 10 \
        --size "$size" --concurrency "$concurrency" --seed-files 20 --json "$@" > "$out/$label.json" || status=$?
    jq -r --arg name "$label" '
        def pct(k): if .by_operation[k] then
            "\(.by_operation[k].succeeded)/\(.by_operation[k].succeeded + .by_operation[k].failed) = \((.by_operation[k].succeeded * 10000 / ((.by_operation[k].succeeded + .by_operation[k].failed) | if . == 0 then 1 else . end) | floor) / 100)%"
            else "-" end;
        "\($name): uploads \(pct("upload")), downloads \(pct("download")), deletes \(pct("delete")); " +
        "404 for files deleted meanwhile: \(.by_operation.download.gone_by_delete // 0); mismatches \(.mismatches); " +
        "after: \(.after_run.verified) intact, \(.after_run.lost) lost, \(.after_run.wrong) wrong, " +
        "\(.after_run.stayed_deleted) stayed deleted, \(.after_run.resurrected) resurrected, " +
        "settled in \(.after_run.settle_seconds) s (\(.after_run.under_replicated_files) short of copies, \(.after_run.failed_repairs) FAILED)"
    ' "$out/$label.json"
    jq -r '.error_samples[]? | "  error: \(.)"' "$out/$label.json" | head -5
}

run default-quorum
run write-quorum-2 --gateway-arg --write-quorum --gateway-arg 2
echo "JSON reports in $out" >&2
exit $status
