#!/usr/bin/env bash
# Per-file cost model: what one uploaded or downloaded file costs the gateway and the three nodes, and the bound each
# cost puts on this machine. Per file: CPU ms (and per MiB), context switches, syscalls by kind and fsyncs, HTTP
# exchanges, bytes through read/write syscalls and to disk, CPU in SHA-256 and in copies. Bounds: the cores' CPU
# (nproc × 1000 / CPU ms per file); the disk's fsyncs/s by 4 parallel writers ÷ fsyncs per file; its fsynced MB/s ÷
# bytes written to disk per file. The disk is measured once per run, on the file system that holds the data.
#
#   scripts/bench-cost.sh --bin DIR [--duration 10s] [--strace-duration 5s] [--json FILE] [--no-profile]
#       [--cases "upload:4KiB:16 upload:1MiB:8 upload:64MiB:2 download:4KiB:16 download:1MiB:8 download:64MiB:2"]
#
# DIR holds release binaries (dfs, dfs-gateway, dfs-node, dfs-loadtest). Each case (WORKLOAD:SIZE:CONCURRENCY) runs
# three times, each on a fresh `dfs up` cluster (3 nodes, 3 verified replicas): (1) --duration of load: files/s,
# CPU of each process from /proc, `perf stat` (context switches) and `perf record` (where the CPU goes); (2) as many
# files as (1) did in --strace-duration (at least 4 per worker) under `strace -f -c` attached to the gateway and to
# each node: only its counts matter, strace slows everything down; (3) a few files at --log-level debug, for the
# node-to-node requests in the nodes' logs. Downloads are measured from the first download answered on, after the
# seeding uploads (the others then in flight make per-file figures up to (concurrency-1)/files low; flagged).
# Holds /tmp/bench.lock for the whole run, so no other benchmark overlaps it. Everything listens on 127.0.0.1 and is
# stopped by PID when it ends.
set -euo pipefail
cd "$(dirname "$0")/.."

bin=""; duration=10s; strace_duration=5s; json_out=""; profile=1
cases="upload:4KiB:16 upload:1MiB:8 upload:64MiB:2 download:4KiB:16 download:1MiB:8 download:64MiB:2"
while [ $# -gt 0 ]; do
    case "$1" in
        --bin) bin="$2"; shift 2 ;;
        --duration) duration="$2"; shift 2 ;;
        --strace-duration) strace_duration="$2"; shift 2 ;;
        --cases) cases="$2"; shift 2 ;;
        --json) json_out="$2"; shift 2 ;;
        --no-profile) profile=0; shift ;;
        -h|--help) sed -n '2,19p' "$0"; exit 0 ;;
        *) echo "unknown argument: $1" >&2; exit 64 ;;
    esac
done
[ -n "$bin" ] || { echo "--bin DIR is required" >&2; exit 64; }
bin=$(cd "$bin" && pwd)
for binary in dfs dfs-gateway dfs-node dfs-loadtest; do
    [ -x "$bin/$binary" ] || { echo "$bin/$binary is missing" >&2; exit 1; }
done
for tool in jq strace; do
    command -v "$tool" > /dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$tool"
done
command -v perf > /dev/null || { echo "perf is missing (apt-get install linux-perf)" >&2; exit 1; }
demangle=cat
command -v swift-demangle > /dev/null && demangle="swift-demangle --simplified"

# One benchmark at a time on this machine: held until the script exits.
exec 9> /tmp/bench.lock
if ! flock -n 9; then
    echo "waiting for /tmp/bench.lock (another benchmark is running)…" >&2
    flock 9
fi

work=$(mktemp -d /tmp/dfs-bench-cost.XXXXXX)
# A copy of the binaries, so a build that replaces them meanwhile cannot mix two builds in one run.
mkdir "$work/bin"
cp "$bin/dfs" "$bin/dfs-gateway" "$bin/dfs-node" "$bin/dfs-loadtest" "$work/bin/"
source_bin="$bin"
echo "== bench-cost: $bin (copied to $work/bin)"
bin="$work/bin"
source scripts/lib/bench-cluster.sh
gateway_port=""; gateway_pid=""; node_pids=""; load_pid=""
helper_pids=()  # strace and perf processes of the current run
stop_helpers() {
    local pid
    for pid in "${helper_pids[@]}"; do kill -INT "$pid" 2>/dev/null || true; done
    for pid in "${helper_pids[@]}"; do wait "$pid" 2>/dev/null || true; done
    helper_pids=()
}
cleanup() {
    stop_helpers
    [ -n "$load_pid" ] && kill "$load_pid" 2>/dev/null || true
    stop_cluster
    rm -rf "$work/data" "$work/disk" "$work/bin"
}
trap cleanup EXIT

size_bytes() { # 4KiB, 1MiB, 64MiB, 512B → bytes
    local number=${1%%[!0-9]*} unit
    unit=$(echo "${1#"$number"}" | tr '[:lower:]' '[:upper:]')
    case "$unit" in
        ""|B) echo "$number" ;;
        K|KB|KIB) echo $((number << 10)) ;;
        M|MB|MIB) echo $((number << 20)) ;;
        G|GB|GIB) echo $((number << 30)) ;;
        *) echo "cannot read size $1" >&2; exit 64 ;;
    esac
}

seconds() { # 5s, 500ms, 1m → seconds
    case "$1" in
        *ms) awk -v ms="${1%ms}" 'BEGIN { print ms / 1000 }' ;;
        *s) echo "${1%s}" ;;
        *m) echo $(( ${1%m} * 60 )) ;;
        *) echo "$1" ;;
    esac
}

metrics() { curl -sf --max-time 5 "http://127.0.0.1:$gateway_port/metrics"; }

start_cluster() { # LOG-DIR [dfs up flags…]: a fresh 3-node cluster, ready once the gateway sees every node UP
    local logs="$1" node_port; shift
    read -r gateway_port node_port < <(python3 Tests/python/free_ports.py 3)
    # A new data directory per run, all removed at the end: deleting the files of one run just before the next starts
    # would leave the inode allocator of the file system skipping recently deleted inodes during it.
    mkdir -p "$logs" "$work/data"
    local data
    data=$(mktemp -d "$work/data/run.XXXXXX")
    "$bin/dfs" up --s3-port 0 --nodes 3 --port "$gateway_port" --node-port "$node_port" --data "$data" --log-dir "$logs" "$@" \
        > "$logs/up.log" 2>&1 &
    cluster_pid=$!
    for _ in $(seq 1 300); do
        [ "$(metrics 2>/dev/null | awk '$1 == "dfs_nodes_up" { print $2 + 0 }')" = 3 ] && break
        kill -0 "$cluster_pid" 2>/dev/null || { echo "dfs up ended early:" >&2; tail -20 "$logs/up.log" >&2; exit 1; }
        sleep 0.1
    done
    gateway_pid=$(pgrep -P "$cluster_pid" -x dfs-gateway)
    node_pids=$(pgrep -P "$cluster_pid" -x dfs-node | tr '\n' ' ')
    [ "$(echo "$node_pids" | wc -w)" = 3 ] || { echo "expected 3 dfs-node processes, found: $node_pids" >&2; exit 1; }
}

cpu_ticks() { awk '{ total += $14 + $15 } END { print total + 0 }' $(printf '/proc/%s/stat ' "$@"); } # PIDS: user + system
io_bytes() { # PIDS: read/write syscall bytes and bytes sent to storage
    awk '$1 == "rchar:" { r += $2 } $1 == "wchar:" { w += $2 } $1 == "write_bytes:" { d += $2 } END { print r + 0, w + 0, d + 0 }' \
        $(printf '/proc/%s/io ' "$@")
}
load_ticks=0
read_load_ticks() { local t; t=$(awk '{ print $14 + $15 }' "/proc/$load_pid/stat" 2>/dev/null) && [ -n "$t" ] && load_ticks=$t || true; }

files_done() { # METRICS-FILE ROUTE-REGEX: client requests answered 2xx on that route
    awk -v route="$2" '$1 ~ /^dfs_http_requests_total\{/ && $1 ~ route && $1 ~ /status="2/ { n += $2 } END { print n + 0 }' "$1"
}

metrics_delta() { # BEFORE AFTER ROUTE-REGEX → JSON: files, client requests, gateway → node calls by operation
    awk -v route="$3" '
        FNR == NR { if ($1 !~ /^#/) before[$1] = $2; next }
        $1 ~ /^#/ || NF < 2 { next }
        { delta = $2 - before[$1] }
        # Not part of the workload: our own /metrics scrapes, and the periodic /internal/ registrations of the nodes.
        $1 ~ /^dfs_http_requests_total\{/ && $1 ~ /route="\/internal\// { internal += delta; next }
        $1 ~ /^dfs_http_requests_total\{/ && $1 !~ /route="\/(metrics|health)"/ {
            client += delta
            if ($1 ~ route && $1 ~ /status="2/) files += delta
        }
        $1 ~ /^dfs_node_request_duration_seconds_count\{/ && match($1, /operation="[^"]*"/) {
            ops[substr($1, RSTART + 11, RLENGTH - 12)] += delta
        }
        $1 ~ /^dfs_node_request_errors_total\{/ { node_errors += delta }
        END {
            printf "{\"files\": %d, \"client_requests\": %d, \"internal_requests\": %d, \"node_errors\": %d, \"node_calls\": {", \
                files, client, internal, node_errors
            separator = ""
            for (op in ops) { printf "%s\"%s\": %d", separator, op, ops[op]; separator = ", " }
            print "}}"
        }' "$1" "$2"
}

strace_counts() { # FILES… (strace -c summaries) → JSON {calls: {syscall: n}, errors: {syscall: n}}
    awk '$1 ~ /^[0-9.]+$/ && NF >= 5 && $NF != "total" { calls[$NF] += $4; if (NF == 6) errors[$NF] += $5 }
        function object(map,   name, separator, text) {
            text = "{"; for (name in map) { text = text separator "\"" name "\": " map[name]; separator = ", " }; return text "}"
        }
        END { print "{\"calls\": " object(calls) ", \"errors\": " object(errors) "}" }' "$@"
}

perf_stat_json() { # FILE (perf stat -x,) → JSON
    awk -F, '$3 ~ /^task-clock/ { t = $1 } $3 ~ /^context-switches/ { c = $1 } $3 ~ /^cpu-migrations/ { m = $1 }
        function num(v) { return v ~ /^[0-9.]+$/ ? v : "null" }
        END { printf "{\"task_clock_ms\": %s, \"context_switches\": %s, \"cpu_migrations\": %s}\n", num(t), num(c), num(m) }' "$1"
}

perf_symbols_json() { # PERF-DATA → JSON [{share, dso, kind, symbol}] (self time, percent of the samples)
    [ -s "$1" ] || { echo "  (no profile: $1 is empty; see ${1%.data}.err)" >&2; echo '[]'; return; }
    local symbols
    symbols=$(perf report -i "$1" --stdio --sort dso,sym -q --percent-limit 0.05 2> "${1%.data}.report.err" | $demangle |
        awk '$1 ~ /%$/ && match($0, / \[[.kgu]\] /) { share = $1; sub(/%/, "", share)
            printf "%s\t%s\t%s\t%s\n", share, $2, $3, substr($0, RSTART + RLENGTH) }' |
        jq -R -s 'split("\n") | map(select(length > 0) | split("\t") | {share: (.[0] | tonumber), dso: .[1], kind: .[2], symbol: .[3]})')
    [ "$symbols" != '[]' ] || echo "  (no profile from $1; see ${1%.data}.report.err)" >&2
    echo "$symbols"
}

launch_load() { # OUT WORKLOAD SIZE CONCURRENCY LENGTH-FLAGS…: dfs-loadtest in the background
    local out="$1" workload="$2" size="$3" concurrency="$4"; shift 4
    local extra=()
    [ "$workload" = upload ] || extra=(--seed-files "$(seed_files "$size" "$concurrency")")
    "$bin/dfs-loadtest" --gateway "http://127.0.0.1:$gateway_port" --workload "$workload" --size "$size" \
        --concurrency "$concurrency" "$@" "${extra[@]}" --json > "$out" 2> "$out.err" &
    load_pid=$!
    load_ticks=0
}
seed_files() { # SIZE CONCURRENCY: 16 files, at most 256 MiB of them, at least one per worker
    local n=$(( (256 << 20) / $(size_bytes "$1") ))
    [ "$n" -gt 16 ] && n=16
    [ "$n" -lt "$2" ] && n=$2
    echo "$n"
}
wait_for_first() { # ROUTE-REGEX: until the gateway has answered one request there (seeding is over)
    for _ in $(seq 1 6000); do
        kill -0 "$load_pid" 2>/dev/null || return 0
        metrics > "$work/poll" 2>/dev/null && [ "$(files_done "$work/poll" "$1")" -gt 0 ] && return 0
        sleep 0.05
    done
}
wait_load() { # until dfs-loadtest ends, following its CPU time
    while kill -0 "$load_pid" 2>/dev/null; do read_load_ticks; sleep 0.1; done
    wait "$load_pid" || echo "  (dfs-loadtest exited with status $?; see its JSON)" >&2
    load_pid=""
}
snapshot() { # DIR N: counters at the start (0) or the end (1) of the measured window
    [ -n "$load_pid" ] && read_load_ticks
    metrics > "$1/metrics.$2"
    date +%s.%N > "$1/time.$2"
    echo "$(cpu_ticks "$gateway_pid") $(cpu_ticks $node_pids) $load_ticks" > "$1/cpu.$2"
    echo "$(io_bytes "$gateway_pid") $(io_bytes $node_pids)" > "$1/io.$2"
    cat "$1"/logs/node*.log 2>/dev/null | grep -c -e 'replica stored' -e 'replication to target failed' > "$1/replicas.$2" || true
}

begin_probes() { # MODE DIR: attach perf (main) or strace (strace) to the gateway and the nodes
    local mode="$1" dir="$2" pid index=1
    case "$mode" in
        main)
            perf stat -x, -e task-clock,context-switches,cpu-migrations -p "$gateway_pid" -o "$dir/perfstat.gateway" & helper_pids+=($!)
            perf stat -x, -e task-clock,context-switches,cpu-migrations -p "$(echo $node_pids | tr ' ' ,)" -o "$dir/perfstat.nodes" &
            helper_pids+=($!)
            if [ "$profile" = 1 ]; then
                perf record -q -e cpu-clock -F 250 -p "$gateway_pid" -o "$dir/perf.gateway.data" > "$dir/perf.gateway.err" 2>&1 &
                helper_pids+=($!)
                perf record -q -e cpu-clock -F 250 -p "$(echo $node_pids | tr ' ' ,)" -o "$dir/perf.nodes.data" > "$dir/perf.nodes.err" 2>&1 &
                helper_pids+=($!)
            fi
            sleep 0.3 ;;
        strace)
            strace -f -c -S calls -o "$dir/strace.gateway" -p "$gateway_pid" 2> "$dir/strace.gateway.err" & helper_pids+=($!)
            for pid in $node_pids; do
                strace -f -c -S calls -o "$dir/strace.node-$index" -p "$pid" 2> "$dir/strace.node-$index.err" & helper_pids+=($!)
                index=$((index + 1))
            done
            # strace reports each process on stderr once it has attached to its threads.
            for _ in $(seq 1 100); do
                [ "$(grep -l attached "$dir"/strace.*.err 2>/dev/null | wc -l)" = 4 ] && break
                sleep 0.05
            done
            sleep 0.2 ;;
    esac
}

measure() { # MODE DIR WORKLOAD SIZE CONCURRENCY: one run on a fresh cluster; MODE main, strace or debug
    local mode="$1" dir="$2" workload="$3" size="$4" concurrency="$5" route length up_flags=()
    mkdir -p "$dir"
    case "$workload" in upload) route='route="/upload"' ;; download) route='route="/download/' ;;
        *) echo "workload $workload: only upload and download" >&2; exit 64 ;; esac
    case "$mode" in
        main) length=(--duration "$duration") ;;
        strace) length=(--count "$strace_count") ;;
        debug)
            up_flags=(--log-level debug)
            # Downloads are counted from the first one answered: they need a window longer than one burst.
            if [ "$workload" = upload ]; then length=(--count "$(seed_files "$size" "$concurrency")"); else length=(--duration 2s); fi ;;
    esac
    start_cluster "$dir/logs" "${up_flags[@]}"
    load_ticks=0
    if [ "$workload" != upload ]; then
        launch_load "$dir/load.json" "$workload" "$size" "$concurrency" "${length[@]}"
        wait_for_first "$route"
    fi
    begin_probes "$mode" "$dir"
    snapshot "$dir" 0
    [ "$workload" = upload ] && launch_load "$dir/load.json" "$workload" "$size" "$concurrency" "${length[@]}"
    wait_load
    snapshot "$dir" 1
    stop_helpers
    stop_cluster
    metrics_delta "$dir/metrics.0" "$dir/metrics.1" "$route" > "$dir/delta.json"
}

delta_json() { # DIR: CPU ticks, I/O bytes, seconds, replica calls between the two snapshots
    jq -n --arg c0 "$(cat "$1/cpu.0")" --arg c1 "$(cat "$1/cpu.1")" --arg i0 "$(cat "$1/io.0")" --arg i1 "$(cat "$1/io.1")" \
        --arg t0 "$(cat "$1/time.0")" --arg t1 "$(cat "$1/time.1")" --arg r0 "$(cat "$1/replicas.0")" --arg r1 "$(cat "$1/replicas.1")" '
        def nums: split(" ") | map(select(length > 0) | tonumber);
        def diff(a; b): [b, a] | transpose | map(.[0] - .[1]);
        diff($c0 | nums; $c1 | nums) as $cpu | diff($i0 | nums; $i1 | nums) as $io |
        {cpu_ticks: {gateway: $cpu[0], nodes: $cpu[1], loadtest: $cpu[2]},
         io: {gateway: {read: $io[0], written: $io[1], disk: $io[2]}, nodes: {read: $io[3], written: $io[4], disk: $io[5]}},
         seconds: (($t1 | tonumber) - ($t0 | tonumber)), replica_calls: (($r1 | tonumber) - ($r0 | tonumber))}'
}

echo "nproc: $(nproc); $(free -g | awk '/Mem:/ { print $2 }') GiB; uptime before: $(uptime)"
echo "work dir (raw strace/perf/loadtest output): $work"

# The disk's bound, once: fsynced 4 KiB writes (create, write, fsync, rename, fsync the directory) by 1 and by 4
# writers, each in its own directory (median of 3 rounds of 1 s), fsynced MB/s of 64 MiB writes; and this CPU's SHA-256 and memcpy speed, to turn CPU time
# into "hashes" and "copies" of a file.
mkdir -p "$work/disk"
python3 - "$work/disk" > "$work/machine.json" <<'EOF'
import hashlib, json, os, sys, threading, time

root = sys.argv[1]

def fsync_loop(directory, stop, counts, index):
    dir_fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    block, n = os.urandom(4096), 0
    while time.monotonic() < stop:
        temporary, final = os.path.join(directory, f"{n % 64}.tmp"), os.path.join(directory, str(n % 64))
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        os.write(fd, block)
        os.fsync(fd)
        os.close(fd)
        os.rename(temporary, final)
        os.fsync(dir_fd)
        n += 1
    os.close(dir_fd)
    counts[index] = n

def fsynced_writes_per_second(writers, tag, seconds=1.0):
    directories = [os.path.join(root, f"w{writers}-{tag}-{i}") for i in range(writers)]
    for directory in directories:
        os.makedirs(directory)
    counts, start = [0] * writers, time.monotonic()
    threads = [threading.Thread(target=fsync_loop, args=(d, start + seconds, counts, i)) for i, d in enumerate(directories)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sum(counts) / (time.monotonic() - start)

def fsynced_mb_per_second(size=64 << 20, rounds=2):
    chunk, elapsed = os.urandom(1 << 20), 0.0
    for round in range(rounds):
        path = os.path.join(root, f"big{round}")
        start = time.monotonic()
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        for _ in range(size >> 20):
            os.write(fd, chunk)
        os.fsync(fd)
        os.close(fd)
        elapsed += time.monotonic() - start
        os.unlink(path)
    return size * rounds / 1e6 / elapsed

def mib_per_second(work, size, rounds):
    start = time.perf_counter()
    for _ in range(rounds):
        work()
    return size * rounds / (1 << 20) / (time.perf_counter() - start)

# Three rounds of 1 s each, alternated, and the median of each: a neighbour's burst of writes moves one round only.
rounds = [(fsynced_writes_per_second(1, r), fsynced_writes_per_second(4, r)) for r in range(3)]
one, four = sorted(r[0] for r in rounds)[1], sorted(r[1] for r in rounds)[1]
data = os.urandom(64 << 20)
view = memoryview(data)
def sha256():
    digest = hashlib.sha256()
    for offset in range(0, len(data), 1 << 16):
        digest.update(view[offset:offset + (1 << 16)])
target = bytearray(len(data))
target_view = memoryview(target)
def copy():
    target_view[:] = view
copy()
print(json.dumps({
    "fsynced_writes_per_second": {"writers_1": round(one, 1), "writers_4": round(four, 1)},
    "fsyncs_per_second": {"writers_1": round(2 * one, 1), "writers_4": round(2 * four, 1)},
    "fsynced_write_mb_per_second": round(fsynced_mb_per_second(), 1),
    "sha256_mib_per_second": round(mib_per_second(sha256, len(data), 3), 1),
    "memcpy_mib_per_second": round(mib_per_second(copy, len(data), 8), 1),
}))
EOF
rm -rf "$work/disk"
jq --argjson nproc "$(nproc)" --arg load "$(cut -d' ' -f1-3 /proc/loadavg)" --arg fs "$(df -P "$work" | awk 'NR == 2 { print $1 " on " $6 }')" \
    '. + {nproc: $nproc, load_before: $load, file_system: $fs}' "$work/machine.json" > "$work/machine.tmp" && mv "$work/machine.tmp" "$work/machine.json"
jq -r '"disk (\(.file_system)): \(.fsynced_writes_per_second.writers_1) fsynced 4 KiB writes/s with 1 writer (\(.fsyncs_per_second.writers_1) fsync calls/s: file + directory), \(.fsynced_writes_per_second.writers_4) with 4 writers; \(.fsynced_write_mb_per_second) MB/s fsynced 64 MiB writes",
    "cpu: SHA-256 \(.sha256_mib_per_second) MiB/s, memcpy \(.memcpy_mib_per_second) MiB/s (one core, Python/OpenSSL)"' "$work/machine.json"

index=0
for case in $cases; do
    IFS=: read -r workload size concurrency <<<"$case"
    index=$((index + 1))
    dir="$work/$index-$workload-$size"
    echo "-- $workload $size, concurrency $concurrency (load $(cut -d' ' -f1-3 /proc/loadavg))" >&2
    measure main "$dir/main" "$workload" "$size" "$concurrency"
    # As many files as the main run did in --strace-duration, at least 4 per worker.
    strace_count=$(jq -r --argjson seconds "$(seconds "$strace_duration")" --argjson concurrency "$concurrency" \
        '[.ops_per_second * $seconds | round, 4 * $concurrency] | max' "$dir/main/load.json")
    measure strace "$dir/strace" "$workload" "$size" "$concurrency"
    measure debug "$dir/debug" "$workload" "$size" "$concurrency"
    gateway_profile='[]'; nodes_profile='[]'
    if [ "$profile" = 1 ]; then
        gateway_profile=$(perf_symbols_json "$dir/main/perf.gateway.data")
        nodes_profile=$(perf_symbols_json "$dir/main/perf.nodes.data")
        # A profile that came out empty keeps its data in the work directory, to look at.
        [ "$gateway_profile" = '[]' ] || rm -f "$dir/main/perf.gateway.data"
        [ "$nodes_profile" = '[]' ] || rm -f "$dir/main/perf.nodes.data"
    fi
    jq -n --arg workload "$workload" --arg size "$size" --argjson size_bytes "$(size_bytes "$size")" \
        --argjson concurrency "$concurrency" --argjson hz "$(getconf CLK_TCK)" \
        --slurpfile machine "$work/machine.json" --slurpfile load "$dir/main/load.json" \
        --slurpfile main "$dir/main/delta.json" --argjson main_counters "$(delta_json "$dir/main")" \
        --argjson perf_gateway "$(perf_stat_json "$dir/main/perfstat.gateway")" \
        --argjson perf_nodes "$(perf_stat_json "$dir/main/perfstat.nodes")" \
        --argjson profile_gateway "$gateway_profile" --argjson profile_nodes "$nodes_profile" \
        --slurpfile strace "$dir/strace/delta.json" --argjson strace_counters "$(delta_json "$dir/strace")" \
        --argjson strace_gateway "$(strace_counts "$dir/strace/strace.gateway")" \
        --argjson strace_nodes "$(strace_counts "$dir"/strace/strace.node-*)" \
        --slurpfile debug "$dir/debug/delta.json" --argjson debug_counters "$(delta_json "$dir/debug")" '
        $machine[0] as $m | $load[0] as $l | $main[0].files as $n | ($size_bytes / 1048576) as $mib |
        def per(x; files): if files > 0 and x != null then x / files else null end;
        def ms(ticks): ticks * 1000 / $hz;
        def sum(names): [names[] as $k | .[$k] // 0] | add;
        def syscalls(summary; files): (summary.calls) as $counts | (summary.errors) as $errors | {
            total: per($counts | [.[]] | add // 0; files),
            fsync: per($counts | sum(["fsync", "fdatasync", "syncfs"]); files),
            write: per($counts | sum(["write", "writev", "pwrite64", "pwritev", "pwritev2", "sendmsg", "sendto", "sendmmsg"]); files),
            read: per($counts | sum(["read", "readv", "pread64", "preadv", "preadv2", "recvmsg", "recvfrom", "recvmmsg"]); files),
            openat: per($counts | sum(["open", "openat", "openat2"]); files),
            rename: per($counts | sum(["rename", "renameat", "renameat2"]); files),
            futex: per($counts | sum(["futex"]); files),
            epoll_wait: per($counts | sum(["epoll_wait", "epoll_pwait", "epoll_pwait2"]); files),
            top: ($counts | to_entries | sort_by(-.value) | .[:12]
                  | map({name: .key, per_file: per(.value; files), failed_per_file: per($errors[.key] // 0; files)}))};
        def categories(symbols; cpu_ms_per_file): (symbols | map(select(.symbol | test("sha256|sha_256"; "i"))) | map(.share) | add // 0) as $hash |
            (symbols | map(select(.kind == "[.]" and (.symbol | test("memmove|memcpy"; "i")))) | map(.share) | add // 0) as $copy |
            (symbols | map(select(.kind == "[k]" and (.symbol | test("copy_user|copy_to_user|copy_from_user|copy_.*iter|copy_folio|copy_page|copyout|copyin|memcpy|memmove|rep_movs"; "i")))) | map(.share) | add // 0) as $kcopy |
            if (symbols | length) == 0 or cpu_ms_per_file == null then null else {
                sha256_share: $hash, memcpy_share: $copy, kernel_copy_share: $kcopy,
                kernel_share: (symbols | map(select(.kind == "[k]") | .share) | add // 0),
                sha256_ms_per_file: (cpu_ms_per_file * $hash / 100),
                hashes_of_file: (cpu_ms_per_file * $hash / 100 / (1000 * $mib / $m.sha256_mib_per_second)),
                memcpy_ms_per_file: (cpu_ms_per_file * $copy / 100),
                copies_of_file: (cpu_ms_per_file * $copy / 100 / (1000 * $mib / $m.memcpy_mib_per_second)),
                kernel_copy_ms_per_file: (cpu_ms_per_file * $kcopy / 100),
                kernel_copies_of_file: (cpu_ms_per_file * $kcopy / 100 / (1000 * $mib / $m.memcpy_mib_per_second)),
                top: (symbols | sort_by(-.share) | .[:8] | map({share, symbol: (.symbol | .[:90])}))} end;
        ($main_counters.cpu_ticks) as $cpu |
        {gateway: per(ms($cpu.gateway); $n), nodes: per(ms($cpu.nodes); $n), loadtest: per(ms($cpu.loadtest); $n)} as $cpu_ms |
        (if $cpu_ms.gateway == null then null else $cpu_ms.gateway + $cpu_ms.nodes end) as $total_ms |
        def switches(p; cpu_ms_per_file): if p.task_clock_ms > 0 and cpu_ms_per_file != null
            then {context_switches_per_file: (if p.context_switches == null then null else p.context_switches / p.task_clock_ms * cpu_ms_per_file end),
                  cpu_migrations_per_file: (if p.cpu_migrations == null then null else p.cpu_migrations / p.task_clock_ms * cpu_ms_per_file end),
                  task_clock_ms: p.task_clock_ms} else null end;
        $strace[0].files as $sn |
        syscalls($strace_gateway; $sn) as $sg | syscalls($strace_nodes; $sn) as $snodes |
        ($main[0].node_calls | del(.health) | map_values(per(.; $n))) as $gateway_calls |
        per($debug_counters.replica_calls; $debug[0].files) as $node_calls |
        def io(x): {syscall_read: per(x.read; $n * $size_bytes), syscall_written: per(x.written; $n * $size_bytes),
                    disk_written: per(x.disk; $n * $size_bytes)};
        (if $sg.fsync == null then null else $sg.fsync + $snodes.fsync end) as $fsyncs |
        (if $total_ms > 0 then $m.nproc * 1000 / $total_ms else null end) as $cpu_bound |
        # Bounded by parallel fsyncs: 3 nodes with several requests each fsync at once, and the file system
        # shares journal commits between them, as the 4-writer measurement does.
        # Below 0.02 per file the fsyncs are background ones (metadata, probes), not part of a file: no bound.
        (if $fsyncs != null and $fsyncs >= 0.02 then $m.fsyncs_per_second.writers_4 / $fsyncs else null end) as $fsync_bound |
        (per($main_counters.io.gateway.disk + $main_counters.io.nodes.disk; $n)) as $disk_bytes |
        # Below 5% of the file the bytes written are background ones (metadata), not part of a file: no bound.
        (if $disk_bytes != null and $disk_bytes >= 0.05 * $size_bytes then $m.fsynced_write_mb_per_second * 1e6 / $disk_bytes
         else null end) as $disk_bound |
        {workload: $workload, size: $size, size_bytes: $size_bytes, concurrency: $concurrency,
         files_per_second: $l.ops_per_second, mb_per_second: $l.mb_per_second, seconds: $l.seconds,
         operations: $l.operations, errors: $l.errors, mismatches: $l.mismatches, files_in_window: $n,
         # Downloads in flight when the window opened: their early costs fall before it, so figures are up to this low.
         in_flight_share: (if $workload == "upload" then 0 else per($concurrency - 1; $n) end),
         cpu_ms_per_file: ($cpu_ms + {total: $total_ms}),
         cpu_ms_per_mib: {gateway: per($cpu_ms.gateway; $mib), nodes: per($cpu_ms.nodes; $mib), total: per($total_ms; $mib)},
         perf_stat: {gateway: switches($perf_gateway; $cpu_ms.gateway), nodes: switches($perf_nodes; $cpu_ms.nodes)},
         http_exchanges_per_file: {client_to_gateway: per($main[0].client_requests; $n), gateway_to_node: $gateway_calls,
            gateway_to_node_total: ([$gateway_calls[] // 0] | add // 0), node_to_node: $node_calls,
            total: (per($main[0].client_requests; $n) + ([$gateway_calls[] // 0] | add // 0) + ($node_calls // 0)),
            health_probes_in_window: ($main[0].node_calls.health // 0), node_registrations_in_window: $main[0].internal_requests,
            node_call_errors: $main[0].node_errors,
            node_to_node_files: $debug[0].files},
         strace: {files: $sn, seconds: $strace_counters.seconds, note: "counts only: strace slows every process",
                  in_flight_share: (if $workload == "upload" then 0 else per($concurrency - 1; $sn) end)},
         syscalls_per_file: {gateway: $sg, nodes: $snodes},
         bytes_per_file_byte: {gateway: io($main_counters.io.gateway), nodes: io($main_counters.io.nodes)},
         profile: {gateway: categories($profile_gateway; $cpu_ms.gateway), nodes: categories($profile_nodes; $cpu_ms.nodes)},
         bounds: ({cpu_files_per_second: $cpu_bound,
            cpu_with_loadtest_files_per_second: (if $total_ms > 0 and $cpu_ms.loadtest != null then $m.nproc * 1000 / ($total_ms + $cpu_ms.loadtest) else null end),
            fsync_files_per_second: $fsync_bound,
            fsync_1_writer_files_per_second: (if $fsync_bound == null then null else $m.fsyncs_per_second.writers_1 / $fsyncs end),
            disk_bandwidth_files_per_second: $disk_bound} |
            . + {nearest: ([{name: "cpu", bound: .cpu_files_per_second}, {name: "fsync", bound: .fsync_files_per_second},
                            {name: "disk bandwidth", bound: .disk_bandwidth_files_per_second}]
                           | map(select(.bound != null and .bound > 0) | . + {measured_share: ($l.ops_per_second / .bound)})
                           | max_by(.measured_share))})}' > "$dir/case.json"
done

echo "uptime after: $(uptime)"
jq -s --slurpfile machine "$work/machine.json" --arg load_after "$(cut -d' ' -f1-3 /proc/loadavg)" --arg bin "$source_bin" \
    '{binaries: $bin, machine: ($machine[0] + {load_after: $load_after}), cases: .}' "$work"/*/case.json > "$work/cost.json"
[ -n "$json_out" ] && cp "$work/cost.json" "$json_out"

jq -r '
    def f: if . == null then "–" elif (. | fabs) >= 100 then (round | tostring) elif (. | fabs) >= 10 then (. * 10 | round / 10 | tostring)
        elif (. | fabs) >= 1 then (. * 100 | round / 100 | tostring) elif . == 0 then "0" else (. * 1000 | round / 1000 | tostring) end;
    def pct: if . == null then "–" else (. * 100 | round | tostring) + "%" end;
    def ratio(a; b): if a == null or b == null or b == 0 then null else a / b end;
    def row(title; g; n; t; note): "| \(title) | \(g | f) | \(n | f) | \(t | f) | \(note) |";
    def sum2(a; b): if a == null or b == null then null else a + b end;
    def list: if . == null then "–" else to_entries | map(select(.value >= 0.005) | "\(.key) \(.value | f)") | join(", ") end;
    def calls: if . == null then "–" else map(select(.per_file >= 0.005) | "\(.name) \(.per_file | f)"
        + if .failed_per_file >= 0.005 then " (\(.failed_per_file | f) failed)" else "" end) | join(", ") end;
    def equivalents(g; n; what): if .size_bytes < 1048576 then "(below 1 MiB fixed costs dominate: no equivalent)"
        else "≈ \(g | f) + \(n | f) \(what)" end;
    .machine as $m |
    (.cases[] | . as $c | .syscalls_per_file as $s | .profile as $p | .bounds as $b | .bytes_per_file_byte as $io |
     "",
     "### \(.workload) \(.size), concurrency \(.concurrency): \(.files_per_second | f) files/s, \(.mb_per_second | f) MB/s (\(.operations) files in \(.seconds) s, \(.errors) errors, \(.mismatches) mismatches)",
     "",
     "| per file | gateway | nodes (3) | total | bound on this machine (\($m.nproc) cores; disk \($m.fsyncs_per_second.writers_4) fsyncs/s by 4 writers) |",
     "|---|---|---|---|---|",
     row("CPU ms"; .cpu_ms_per_file.gateway; .cpu_ms_per_file.nodes; .cpu_ms_per_file.total;
         "CPU: \($m.nproc) × 1000 / \(.cpu_ms_per_file.total | f) = **\($b.cpu_files_per_second | f) files/s**; measured \(ratio(.files_per_second; $b.cpu_files_per_second) | pct) of it"),
     row("CPU ms per MiB"; .cpu_ms_per_mib.gateway; .cpu_ms_per_mib.nodes; .cpu_ms_per_mib.total; ""),
     row("context switches (perf)"; .perf_stat.gateway.context_switches_per_file; .perf_stat.nodes.context_switches_per_file;
         sum2(.perf_stat.gateway.context_switches_per_file; .perf_stat.nodes.context_switches_per_file); ""),
     row("syscalls (strace)"; $s.gateway.total; $s.nodes.total; sum2($s.gateway.total; $s.nodes.total); "strace run: \(.strace.files) files in \(.strace.seconds | f) s (strace slows every process: only its counts matter)\(if (.strace.in_flight_share // 0) > 0.05 then "; up to \(.strace.in_flight_share | pct) low: downloads in flight at attach" else "" end)"),
     row("fsync + fdatasync + syncfs"; $s.gateway.fsync; $s.nodes.fsync; sum2($s.gateway.fsync; $s.nodes.fsync);
         if $b.fsync_files_per_second == null then "fsync: none per file, no bound" else
         "fsync: \($m.fsyncs_per_second.writers_4) / \(sum2($s.gateway.fsync; $s.nodes.fsync) | f) = **\($b.fsync_files_per_second | f) files/s** (1 writer, \($m.fsyncs_per_second.writers_1)/s: \($b.fsync_1_writer_files_per_second | f)); measured \(ratio(.files_per_second; $b.fsync_files_per_second) | pct) of it" end),
     row("write, writev, pwrite, sendmsg"; $s.gateway.write; $s.nodes.write; sum2($s.gateway.write; $s.nodes.write); ""),
     row("read, readv, pread, recvmsg"; $s.gateway.read; $s.nodes.read; sum2($s.gateway.read; $s.nodes.read); ""),
     row("openat"; $s.gateway.openat; $s.nodes.openat; sum2($s.gateway.openat; $s.nodes.openat); ""),
     row("rename, renameat"; $s.gateway.rename; $s.nodes.rename; sum2($s.gateway.rename; $s.nodes.rename); ""),
     row("futex"; $s.gateway.futex; $s.nodes.futex; sum2($s.gateway.futex; $s.nodes.futex); ""),
     row("epoll_wait"; $s.gateway.epoll_wait; $s.nodes.epoll_wait; sum2($s.gateway.epoll_wait; $s.nodes.epoll_wait); ""),
     "| HTTP exchanges | gateway→node: \(.http_exchanges_per_file.gateway_to_node | list) | node→node: \(.http_exchanges_per_file.node_to_node | f) | \(.http_exchanges_per_file.total | f) | client→gateway \(.http_exchanges_per_file.client_to_gateway | f); not counted: \(.http_exchanges_per_file.health_probes_in_window) health probes, \(.http_exchanges_per_file.node_registrations_in_window) node registrations in the window |",
     row("read+write syscall bytes ÷ file size"; sum2($io.gateway.syscall_read; $io.gateway.syscall_written); sum2($io.nodes.syscall_read; $io.nodes.syscall_written);
         sum2(sum2($io.gateway.syscall_read; $io.gateway.syscall_written); sum2($io.nodes.syscall_read; $io.nodes.syscall_written)); "/proc/PID/io rchar + wchar"),
     row("disk bytes written ÷ file size"; $io.gateway.disk_written; $io.nodes.disk_written; sum2($io.gateway.disk_written; $io.nodes.disk_written);
         if $b.disk_bandwidth_files_per_second == null then "" else "disk: \($m.fsynced_write_mb_per_second) MB/s fsynced → \($b.disk_bandwidth_files_per_second | f) files/s" end),
     row("SHA-256 CPU ms (≈ hashes of the file)"; $p.gateway.sha256_ms_per_file; $p.nodes.sha256_ms_per_file; sum2($p.gateway.sha256_ms_per_file; $p.nodes.sha256_ms_per_file);
         equivalents($p.gateway.hashes_of_file; $p.nodes.hashes_of_file; "hashes of the file at \($m.sha256_mib_per_second) MiB/s")),
     row("memcpy/memmove CPU ms (≈ copies)"; $p.gateway.memcpy_ms_per_file; $p.nodes.memcpy_ms_per_file; sum2($p.gateway.memcpy_ms_per_file; $p.nodes.memcpy_ms_per_file);
         equivalents($p.gateway.copies_of_file; $p.nodes.copies_of_file; "copies at \($m.memcpy_mib_per_second) MiB/s")),
     row("kernel copy CPU ms"; $p.gateway.kernel_copy_ms_per_file; $p.nodes.kernel_copy_ms_per_file; sum2($p.gateway.kernel_copy_ms_per_file; $p.nodes.kernel_copy_ms_per_file);
         "each read/write syscall byte is one kernel copy (syscall bytes row); kernel share of CPU \(($p.gateway.kernel_share // null) | f)% / \(($p.nodes.kernel_share // null) | f)%"),
     "",
     (if (.in_flight_share // 0) > 0.05 then "Few files: CPU and HTTP figures up to \(.in_flight_share | pct) low (\(.concurrency - 1) downloads in flight when the window opened)." else empty end),
     "Nearest bound: **\($b.nearest.name // "–")**, measured \(($b.nearest.measured_share) | pct) of it. dfs-loadtest used \(.cpu_ms_per_file.loadtest | f) CPU ms/file on the same cores (CPU bound with it: \($b.cpu_with_loadtest_files_per_second | f) files/s).",
     "Top syscalls per file (strace) — gateway: \($s.gateway.top | calls); nodes: \($s.nodes.top | calls)",
     (if $p.gateway == null then empty else
      "Top CPU (self, perf) — gateway: \(($p.gateway.top // []) | map("\(.share | f)% \(.symbol)") | join("; "))",
      "Top CPU (self, perf) — nodes: \(($p.nodes.top // []) | map("\(.share | f)% \(.symbol)") | join("; "))" end)),
    "",
    "### Summary (\($m.nproc) cores; disk \($m.fsyncs_per_second.writers_4) fsyncs/s by 4 writers (\($m.fsyncs_per_second.writers_1) by 1), the fsync bound; load \($m.load_before) before, \($m.load_after) after)",
    "",
    "| case | files/s | MB/s | CPU ms/file gw + nodes | CPU bound | fsyncs/file | fsync bound | nearest bound | measured/bound |",
    "|---|---|---|---|---|---|---|---|---|",
    (.cases[] | "| \(.workload) \(.size) c\(.concurrency) | \(.files_per_second | f) | \(.mb_per_second | f) | \(.cpu_ms_per_file.gateway | f) + \(.cpu_ms_per_file.nodes | f) | \(.bounds.cpu_files_per_second | f) | \(sum2(.syscalls_per_file.gateway.fsync; .syscalls_per_file.nodes.fsync) | f) | \(.bounds.fsync_files_per_second | f) | \(.bounds.nearest.name // "–") | \(.bounds.nearest.measured_share | pct) |")
' "$work/cost.json"
echo
echo "nproc $(nproc); load average before $(jq -r .machine.load_before "$work/cost.json"), after $(cut -d' ' -f1-3 /proc/loadavg)"
[ -n "$json_out" ] && echo "JSON: $json_out"
echo "raw output: $work"
