#!/usr/bin/env bash
# Checks the gateway's public API against its own description, GET /openapi.yaml, on a fresh
# `dfs up` cluster (gateway + 3 nodes, SQLite, free loopback ports, temp data):
#   1. the prototype's Postman collection, folder "Public API", request by request (Tests/python/postman_runner.py);
#   2. schemathesis (from PyPI, pinned in Tests/python/requirements.txt): every response must match the document
#      (status, content type, headers, schema), no 5xx, no request over the timeout, schema-invalid input refused.
#   3. schemathesis again on a cluster with API keys on, sending a read-write key.
# Uses the built binaries of .build/debug (or DFS_BIN_DIR). Env: DFS_FUZZ_MAX_EXAMPLES (default 100 per
# operation), DFS_FUZZ_MAX_EXAMPLES_WITH_KEYS (default 30), DFS_FUZZ_SEED (replay a run). Every process it starts
# is stopped by PID on exit.
set -euo pipefail
cd "$(dirname "$0")/.."
bin_dir="${DFS_BIN_DIR:-.build/debug}"
max_examples="${DFS_FUZZ_MAX_EXAMPLES:-100}"
venv_bin="$(scripts/python-env.sh)"
work="$(mktemp -d /tmp/dfs-api-fuzz.XXXXXX)"
cluster_pid=""

stop_cluster() {
    [ -n "$cluster_pid" ] || return 0
    # `dfs up` stops its gateway and nodes on SIGTERM; the group kill is for anything left after 15 s.
    kill -TERM "$cluster_pid" 2>/dev/null || true
    for _ in $(seq 1 150); do kill -0 "$cluster_pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL -- "-$cluster_pid" 2>/dev/null || true
    wait "$cluster_pid" 2>/dev/null || true
    cluster_pid=""
}
on_exit() {
    status=$?
    stop_cluster
    if [ "$status" -ne 0 ]; then
        echo "api-fuzz failed; logs kept in $work/logs" >&2
        tail -n 40 "$work"/logs/*.log >&2 2>/dev/null || true
    else
        rm -rf "$work"
    fi
}
trap on_exit EXIT
trap 'exit 130' INT TERM

start_cluster() { # [GATEWAY ARGS...]: a fresh `dfs up` in $work/run-N, its URL in $gateway
    run_dir="$work/run-$((++runs))"
    read -r gateway_port node_port < <("$venv_bin/python" Tests/python/free_ports.py 3)
    gateway="http://127.0.0.1:$gateway_port"
    # Its own session and process group (setsid), so the group kill above reaches the nodes too.
    setsid "$bin_dir/dfs" up --s3-port 0 --port "$gateway_port" --node-port "$node_port" --data "$run_dir/data" --log-dir "$work/logs" \
        "$@" > "$run_dir.log" 2>&1 &
    cluster_pid=$!
    for _ in $(seq 1 600); do
        curl -fsS -m 2 "$gateway/health" > /dev/null 2>&1 && break
        kill -0 "$cluster_pid" 2>/dev/null || { cat "$run_dir.log" >&2; echo "dfs up exited" >&2; exit 1; }
        sleep 0.1
    done
    curl -fsS -m 2 "$gateway/health" > /dev/null || { echo "the gateway did not answer /health within 60 s" >&2; exit 1; }
    echo "== api-fuzz: cluster up at $gateway (logs in $work/logs)" >&2
}
runs=0
start_cluster
echo "== api-fuzz: the prototype's Postman collection, folder \"Public API\"" >&2
"$venv_bin/python" Tests/python/postman_runner.py "$gateway"

# The checks, and the operations left alone (node self-registration), are in Tests/python/schemathesis.toml.
filters=()
# The dashboard (GET /) comes from its own change; a build without it answers 404 there, so leave it out then.
if [ "$(curl -s -o /dev/null -w '%{http_code}' -m 5 "$gateway/")" = "404" ]; then
    echo "note: GET / is not served by this build; it is left out of the run" >&2
    filters+=(--exclude-path /)
fi
seed_option=()
[ -n "${DFS_FUZZ_SEED:-}" ] && seed_option=(--seed "$DFS_FUZZ_SEED")

run_schemathesis() { # MAX_EXAMPLES LABEL [SCHEMATHESIS ARGS...]: one run against $gateway; its exit status
    local examples="$1" label="$2"
    shift 2
    echo "== api-fuzz: schemathesis against $gateway/openapi.yaml, $label (up to $examples cases per operation)" >&2
    set +e
    # From the temp folder: schemathesis keeps a crash cache (.schemathesis/) in its working directory. Each request
    # has a 10 s limit; the whole run gets 15 minutes, so a stuck run fails instead of holding CI.
    (cd "$work" && timeout 900 "$venv_bin/schemathesis" --config-file "$OLDPWD/Tests/python/schemathesis.toml" run "$gateway/openapi.yaml" \
        --max-examples "$examples" --request-timeout 10 \
        --report junit --report-junit-path "$work/schemathesis-junit-$runs.xml" \
        --no-color "${filters[@]}" "${seed_option[@]}" "$@") 2>&1 | tee "$work/schemathesis-$runs.log"
    local status=${PIPESTATUS[0]}
    set -e
    local cases
    cases="$(grep -oE '[0-9]+ generated' "$work/schemathesis-$runs.log" | tail -n 1 | cut -d' ' -f1)"
    echo "schemathesis ($label): ${cases:-unknown} test cases generated, exit status $status" >&2
    return "$status"
}

run_schemathesis "$max_examples" "API keys off" || exit $?

# Again with API keys on, as a read-write client: the access-control middleware and the signed-link parameters
# face generated input too. Fewer cases: the handlers behind it are the ones just fuzzed.
stop_cluster
keys_file="$work/api-keys"
fuzz_key="$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')"
printf 'read-write %s fuzz\n' "$fuzz_key" > "$keys_file"
start_cluster --api-keys-file "$keys_file"
[ "$(curl -s -o /dev/null -w '%{http_code}' -m 5 "$gateway/files")" = "401" ] || { echo "keys are not on: /files answered without one" >&2; exit 1; }
run_schemathesis "${DFS_FUZZ_MAX_EXAMPLES_WITH_KEYS:-30}" "API keys on" --header "Authorization: Bearer $fuzz_key"
