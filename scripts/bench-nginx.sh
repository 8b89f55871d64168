#!/usr/bin/env bash
# Throughput of SwiftDFS (`dfs up`: gateway + 3 nodes, 3 verified replicas) against a single nginx serving
# WebDAV PUT/GET from disk (one copy, no fsync: the ceiling a one-copy server reaches on this machine).
# The identical dfs-loadtest workload runs against both, case by case in the same run, and the script prints
# SwiftDFS/nginx ratios of files/s next to their targets.
#
#   scripts/bench-nginx.sh [--duration 20s] [--cases "upload:64MiB:2 download:4KiB:16"] [--rounds 1] [--settle] [--out DIR]
#
# With --rounds N every case runs N times, nginx first in odd rounds and SwiftDFS first in even ones, and the
# geometric mean of the ratios is printed; --settle (root) syncs and drops the page cache before every run.
#
# Needs release binaries (scripts/swift.sh build -c release). Installs Debian's nginx if it is missing.
# Everything it starts (nginx, dfs up) listens on 127.0.0.1 only and is stopped by PID when it ends.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/bench-cluster.sh  # wait_healthy, settle_page_cache

duration=20s
rounds=1
settle=""
cases="upload:64MiB:2 upload:1MiB:8 upload:4KiB:16 download:64MiB:2 download:1MiB:8 download:4KiB:16"
out=""
bin=.build/release
while [ $# -gt 0 ]; do
    case "$1" in
        --duration) duration="$2"; shift 2 ;;
        --cases) cases="$2"; shift 2 ;;
        --out) out="$2"; shift 2 ;;
        --rounds) rounds="$2"; shift 2 ;;
        --settle) settle=1; shift ;;
        --bin) bin="$2"; shift 2 ;;
        -h|--help) sed -n '2,13p' "$0"; exit 0 ;;
        *) echo "unknown argument: $1" >&2; exit 64 ;;
    esac
done

# Targets: SwiftDFS/nginx files/s.
target_for() {
    case "$1" in
        upload:64MiB) echo 0.25 ;; upload:1MiB) echo 0.20 ;; upload:4KiB) echo 0.15 ;;
        download:64MiB) echo 0.60 ;; download:1MiB) echo 0.50 ;; download:4KiB) echo 0.20 ;;
        *) echo "" ;;
    esac
}

for binary in dfs dfs-gateway dfs-node dfs-loadtest; do
    [ -x "$bin/$binary" ] || { echo "$bin/$binary is missing: run scripts/swift.sh build -c release" >&2; exit 1; }
done
if ! command -v nginx >/dev/null; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends nginx-light
fi
nginx -V 2>&1 | grep -q -- --with-http_dav_module || { echo "this nginx has no WebDAV module (http_dav_module)" >&2; exit 1; }

work=$(mktemp -d /tmp/dfs-bench-nginx.XXXXXX)
[ -n "$out" ] || out="$work/results"
mkdir -p "$out" "$work/www" "$work/nginx-temp"
nginx_pid=""
cluster_pid=""

stop_pid() { # PID SIGNAL: signal one process we started, wait up to 10 s, then SIGKILL it.
    local pid="$1" signal="$2"
    [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 0
    kill "-$signal" "$pid" 2>/dev/null || true
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
}
cleanup() {
    stop_pid "$cluster_pid" INT   # `dfs up` stops its gateway and nodes on SIGINT
    stop_pid "$nginx_pid" QUIT    # nginx's graceful shutdown
    rm -rf "$work/www" "$work/dfs-data" "$work/nginx-temp"
}
trap cleanup EXIT

# N consecutive free loopback ports below the ephemeral range, so no outgoing connection takes one meanwhile.
free_ports() {
    python3 - "$1" <<'EOF'
import random, socket, sys
count = int(sys.argv[1])
for _ in range(1000):
    first = random.randrange(20000, 30000)
    sockets = []
    try:
        for port in range(first, first + count):
            s = socket.socket(); s.bind(("127.0.0.1", port)); sockets.append(s)
        print(" ".join(str(p) for p in range(first, first + count))); break
    except OSError:
        pass
    finally:
        for s in sockets: s.close()
EOF
}


nginx_port=$(free_ports 1)
user_line=""
[ "$(id -u)" = 0 ] && user_line="user $(id -un) $(id -gn);"   # else root's workers would run as nobody
cat > "$work/nginx.conf" <<EOF
$user_line
worker_processes auto;
pid $work/nginx.pid;
error_log $work/nginx-error.log warn;
events { worker_connections 1024; }
http {
    access_log off;
    sendfile on;
    tcp_nopush on;
    keepalive_requests 100000;
    client_body_temp_path $work/nginx-temp/body;
    proxy_temp_path $work/nginx-temp/proxy;
    fastcgi_temp_path $work/nginx-temp/fastcgi;
    uwsgi_temp_path $work/nginx-temp/uwsgi;
    scgi_temp_path $work/nginx-temp/scgi;
    server {
        listen 127.0.0.1:$nginx_port;
        root $work/www;
        location / {
            dav_methods PUT;
            create_full_put_path on;
            client_max_body_size 0;
        }
    }
}
EOF
nginx -p "$work" -c "$work/nginx.conf" -g 'daemon off;' &
nginx_pid=$!
wait_healthy "http://127.0.0.1:$nginx_port/" "$nginx_pid" any-status   # an empty root answers 403 once up
echo "nginx $(nginx -v 2>&1 | sed 's/.*\///') on 127.0.0.1:$nginx_port (pid $nginx_pid), root $work/www"

start_cluster() {
    read -r gateway_port node_port _ _ <<<"$(free_ports 4)"
    rm -rf "$work/dfs-data"
    "$bin/dfs" up --s3-port 0 --port "$gateway_port" --node-port "$node_port" --data "$work/dfs-data" --log-dir "$work/dfs-logs" \
        > "$work/dfs-up.log" 2>&1 &
    cluster_pid=$!
    wait_healthy "http://127.0.0.1:$gateway_port/health" "$cluster_pid"
    gateway_url="http://127.0.0.1:$gateway_port"
}

run_case() { # KIND URL WORKLOAD SIZE CONCURRENCY OUTFILE
    "$bin/dfs-loadtest" --target-kind "$1" --gateway "$2" --workload "$3" --size "$4" --concurrency "$5" \
        --duration "$duration" --seed-files 16 --json > "$6"
}

echo "machine: $(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB, $(. /etc/os-release; echo "$PRETTY_NAME"); load before: $(cut -d' ' -f1-3 /proc/loadavg)"
rows=()
for round in $(seq 1 "$rounds"); do
    for case in $cases; do
        IFS=: read -r workload size concurrency <<<"$case"
        name="$workload-$size-c$concurrency-r$round"
        # Which server goes first alternates by round: a run can be slowed by the one before it.
        order="nginx swiftdfs"; [ $((round % 2)) -eq 1 ] || order="swiftdfs nginx"
        echo "== $workload $size, concurrency $concurrency, $duration each, round $round ($order)" >&2
        for system in $order; do
            rm -rf "${work:?}/www" && mkdir "$work/www"   # a glob would overflow the argument list after 4 KiB uploads
            settle_page_cache
            if [ "$system" = nginx ]; then
                run_case webdav "http://127.0.0.1:$nginx_port" "$workload" "$size" "$concurrency" "$out/$name-nginx.json"
            else
                start_cluster
                run_case gateway "$gateway_url" "$workload" "$size" "$concurrency" "$out/$name-swiftdfs.json"
                stop_pid "$cluster_pid" INT
                cluster_pid=""
            fi
        done
        rows+=("$workload:$size:$concurrency:$round")
    done
done

echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
printf '\n| workload | size | concurrency | round | nginx files/s | SwiftDFS files/s | SwiftDFS/nginx | target | met | SwiftDFS p50 / p99 ms | errors, mismatches |\n'
printf '|---|---|---|---|---|---|---|---|---|---|---|\n'
for row in "${rows[@]}"; do
    IFS=: read -r workload size concurrency round <<<"$row"
    name="$workload-$size-c$concurrency-r$round"
    target=$(target_for "$workload:$size")
    jq -r -n --slurpfile n "$out/$name-nginx.json" --slurpfile d "$out/$name-swiftdfs.json" \
        --arg w "$workload" --arg s "$size" --arg c "$concurrency" --arg r "$round" --arg t "$target" '
        ($n[0].ops_per_second) as $nf | ($d[0].ops_per_second) as $df |
        (if $nf > 0 then $df / $nf else 0 end) as $ratio |
        "| \($w) | \($s) | \($c) | \($r) | \($nf * 100 | round / 100) | \($df * 100 | round / 100) | \($ratio * 100 | round / 100) | "
        + (if $t == "" then "- | - " else "≥ \($t) | " + (if $ratio >= ($t | tonumber) then "yes" else "**no**" end) + " " end)
        + "| \($d[0].latency_ms.p50 // "-") / \($d[0].latency_ms.p99 // "-") "
        + "| \($n[0].errors + $d[0].errors), \($n[0].mismatches + $d[0].mismatches) |"'
done
if [ "$rounds" -gt 1 ]; then
    echo
    echo "Geometric mean of the ratios over $rounds rounds:"
    for case in $cases; do
        IFS=: read -r workload size concurrency <<<"$case"
        jq -r -s --arg c "$case" --arg t "$(target_for "$workload:$size")" '
            [range(0; length; 2) as $i | (.[$i + 1].ops_per_second / .[$i].ops_per_second)] as $ratios |
            ($ratios | map(log) | add / length | exp) as $mean |
            "  \($c): \($mean * 100 | round / 100) (rounds: \($ratios | map(. * 100 | round / 100) | join(", ")))"
            + (if $t == "" then "" else "  target ≥ \($t): " + (if $mean >= ($t | tonumber) then "met" else "not met" end) end)' \
            $(for round in $(seq 1 "$rounds"); do
                echo "$out/$workload-$size-c$concurrency-r$round-nginx.json" "$out/$workload-$size-c$concurrency-r$round-swiftdfs.json"
            done)
    done
fi
echo
echo "JSON reports: $out"
