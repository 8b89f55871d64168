# Sourced by the bench scripts: stops the `dfs up` cluster a script started (its PID in $cluster_pid) and reads the
# CPU time of its processes, settles the page cache between runs, and waits for a server to answer.

cluster_pid=""

stop_cluster() { # [SECONDS]: SIGINT, up to SECONDS (10) for a graceful stop, then SIGKILL
    [ -n "$cluster_pid" ] && kill -0 "$cluster_pid" 2>/dev/null || { cluster_pid=""; return 0; }
    kill -INT "$cluster_pid" 2>/dev/null || true
    for _ in $(seq 1 $(( ${1:-10} * 10 ))); do kill -0 "$cluster_pid" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$cluster_pid" 2>/dev/null && kill -KILL "$cluster_pid" 2>/dev/null || true
    wait "$cluster_pid" 2>/dev/null || true
    cluster_pid=""
}

cluster_cpu_ticks() { # PROCESS-NAME: user + system clock ticks of the cluster's processes of that name
    local total=0 pid
    for pid in $(pgrep -P "$cluster_pid" -x "$1"); do
        total=$((total + $(awk '{ print $14 + $15 }' "/proc/$pid/stat")))
    done
    echo "$total"
}

settle_page_cache() { # with --settle ($settle set): write back and drop the page cache, so one run's writes do not slow the next
    if [ -n "${settle:-}" ]; then sync; echo 3 > /proc/sys/vm/drop_caches; fi
}

cpu_mark() { # remember the cluster's CPU ticks so far, for add_cpu_per_file
    cpu_gateway_before=$(cluster_cpu_ticks dfs-gateway)
    cpu_nodes_before=$(cluster_cpu_ticks dfs-node)
}

add_cpu_per_file() { # REPORT.json: adds cpu_ms_per_file {gateway, nodes} since cpu_mark, per operation of the report
    jq --argjson gateway "$(( $(cluster_cpu_ticks dfs-gateway) - cpu_gateway_before ))" \
        --argjson nodes "$(( $(cluster_cpu_ticks dfs-node) - cpu_nodes_before ))" --argjson hz "$(getconf CLK_TCK)" \
        '. + {cpu_ms_per_file: {gateway: ($gateway * 1000 / $hz / .operations), nodes: ($nodes * 1000 / $hz / .operations)}}' \
        "$1" > "$1.tmp" && mv "$1.tmp" "$1"
}

wait_healthy() { # URL PID: poll until URL answers 2xx (any status with a third argument), fail if the process ends or 30 s pass.
    local status
    for _ in $(seq 1 300); do
        status=$(curl -s -o /dev/null -w '%{http_code}' --max-time 1 "$1" 2>/dev/null || true)
        case "$status" in 2??) return 0 ;; 000|"") ;; *) [ -n "${3:-}" ] && return 0 ;; esac
        kill -0 "$2" 2>/dev/null || { echo "process $2 ended before $1 answered" >&2; return 1; }
        sleep 0.1
    done
    echo "$1 did not answer within 30 s" >&2
    return 1
}
