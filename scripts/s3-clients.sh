#!/usr/bin/env bash
# The S3 API with the real clients people use (SPEC §11): aws-cli and boto3 (PyPI, pinned in
# Tests/python/requirements.txt), rclone and s3cmd (Debian), all driven by Tests/python/s3_clients_test.py against
# a fresh `dfs up` (gateway + 3 nodes, SQLite, free loopback ports, temp data) with its S3 listener on, using the
# key `dfs up` wrote to DATA/s3-credentials. Uses the binaries of .build/debug (or DFS_BIN_DIR).
#   scripts/s3-clients.sh [s3_clients_test.py options, e.g. --clients boto3 --tree-files 100]
# Every process it starts is stopped by PID on exit; data and logs are removed unless the run failed.
set -euo pipefail
cd "$(dirname "$0")/.."
bin_dir="${DFS_BIN_DIR:-.build/debug}"
venv_bin="$(scripts/python-env.sh)"
work="$(mktemp -d /tmp/dfs-s3-clients.XXXXXX)"
cluster_pid=""

stop_cluster() {
    [ -n "$cluster_pid" ] || return 0
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
        echo "s3-clients failed; data and logs kept in $work" >&2
        tail -n 40 "$work"/logs/gateway.log >&2 2>/dev/null || true
    else
        rm -rf "$work"
    fi
}
trap on_exit EXIT
trap 'exit 130' INT TERM

read -r gateway_port node_port < <("$venv_bin/python" Tests/python/free_ports.py 3)
read -r s3_port _ < <("$venv_bin/python" Tests/python/free_ports.py 1)
# Its own session and process group (setsid), so the group kill above reaches the nodes too.
# --s3-domain: virtual-host style too (bucket.s3.dfs.test); the test resolves that name to 127.0.0.1 itself.
setsid "$bin_dir/dfs" up --port "$gateway_port" --node-port "$node_port" --s3-port "$s3_port" --data "$work/data" \
    --log-dir "$work/logs" --gateway-arg --s3-domain --gateway-arg s3.dfs.test > "$work/up.log" 2>&1 &
cluster_pid=$!
for _ in $(seq 1 600); do
    grep -q "SwiftDFS is up" "$work/up.log" 2>/dev/null && break
    kill -0 "$cluster_pid" 2>/dev/null || { cat "$work/up.log" >&2; echo "dfs up exited" >&2; exit 1; }
    sleep 0.1
done
grep -q "SwiftDFS is up" "$work/up.log" || { cat "$work/up.log" >&2; echo "dfs up was not ready within 60 s" >&2; exit 1; }
# The two export lines the banner prints are what a user pastes; take the key from there.
access_key=$(sed -n 's/^export AWS_ACCESS_KEY_ID=//p' "$work/up.log")
secret_key=$(sed -n 's/^export AWS_SECRET_ACCESS_KEY=//p' "$work/up.log")
[ -n "$access_key" ] && [ -n "$secret_key" ] || { cat "$work/up.log" >&2; echo "the banner shows no S3 key" >&2; exit 1; }
echo "== s3-clients: dfs up with S3 at http://127.0.0.1:$s3_port (data in $work)" >&2
"$venv_bin/python" Tests/python/s3_clients_test.py --endpoint "http://127.0.0.1:$s3_port" \
    --access-key "$access_key" --secret-key "$secret_key" --work "$work/clients" --virtual-host-domain s3.dfs.test "$@"
