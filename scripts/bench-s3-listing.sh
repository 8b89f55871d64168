#!/usr/bin/env bash
# ListObjectsV2 page latency on a big bucket (SQLite metadata): --keys objects (default 10,000,000) are written
# straight into the S3 catalog of a fresh gateway's SQLite file (no HTTP; nested prefixes dirNNNN/subNNN/fileNNNNNNN),
# then the gateway serves signed ListObjectsV2 requests timed from send to the last byte of the answer (no XML
# parsing on the client): the first page, pages deep in the bucket (start-after), a prefix page, a delimiter page of
# common prefixes and a prefix+delimiter page; --requests each (default 200). Target: p99 < 50 ms per page.
#   scripts/bench-s3-listing.sh [--bin .build/release] [--keys 10000000] [--requests 200] [--keep]
# Listens on 127.0.0.1 only (free ports); the gateway is stopped by PID. Holds /tmp/bench.lock.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=.build/release; keys=10000000; requests=200; keep=0
while [ $# -gt 0 ]; do
    case "$1" in
        --bin) bin="$2"; shift 2 ;;
        --keys) keys="$2"; shift 2 ;;
        --requests) requests="$2"; shift 2 ;;
        --keep) keep=1; shift ;;
        -h|--help) sed -n '2,8p' "$0"; exit 0 ;;
        *) echo "unknown argument: $1" >&2; exit 64 ;;
    esac
done
[ -x "$bin/dfs-gateway" ] || { echo "$bin/dfs-gateway is missing: run scripts/swift.sh build -c release" >&2; exit 1; }
venv_bin="$(scripts/python-env.sh)"
exec 9> /tmp/bench.lock
flock 9
work=$(mktemp -d /tmp/dfs-bench-s3-listing.XXXXXX)
gateway_pid=""
cleanup() {
    [ -n "$gateway_pid" ] && { kill -TERM "$gateway_pid" 2>/dev/null || true; wait "$gateway_pid" 2>/dev/null || true; }
    [ "$keep" = 1 ] || rm -rf "$work"
}
trap cleanup EXIT
echo "BENCHKEY0000000001 bench-secret-000000000000000000000000001 bench read-only" > "$work/keys"
read -r port _ < <(python3 Tests/python/free_ports.py 1)
read -r s3_port _ < <(python3 Tests/python/free_ports.py 1)
start_gateway() {
    "$bin/dfs-gateway" --port "$port" --s3-port "$s3_port" --s3-credentials-file "$work/keys" \
        --metadata "sqlite:$work/metadata.sqlite" --audit-interval 0 > "$work/gateway.log" 2>&1 &
    gateway_pid=$!
    for _ in $(seq 1 300); do curl -fs -m 1 "http://127.0.0.1:$port/health" > /dev/null && return 0; sleep 0.1; done
    echo "the gateway did not start" >&2; tail "$work/gateway.log" >&2; exit 1
}
start_gateway   # creates the schema
kill -TERM "$gateway_pid"; wait "$gateway_pid" || true; gateway_pid=""
echo "writing $keys keys into $work/metadata.sqlite"
started=$(date +%s)
python3 - "$work/metadata.sqlite" "$keys" <<'PY'
import sqlite3, sys
path, count = sys.argv[1], int(sys.argv[2])
db = sqlite3.connect(path)
db.execute("PRAGMA journal_mode=WAL"); db.execute("PRAGMA synchronous=OFF")
db.execute("INSERT INTO s3_buckets (name, created_at, owner) VALUES ('big', '2026-12-03T00:00:00.000Z', 'bench')")
sha = "0" * 64
def rows():
    for i in range(count):
        key = f"dir{i // 100000:04d}/sub{i // 1000 % 100:03d}/file{i:08d}.bin"
        yield ("big", key, 4096, '"0123456789abcdef0123456789abcdef"', "binary/octet-stream", "{}", "{}", sha,
               "2026-12-03T00:00:00.000Z", 0)
db.executemany("INSERT INTO s3_objects VALUES (?,?,?,?,?,?,?,?,?,?)", rows())
db.commit()
print("rows:", db.execute("SELECT count(*) FROM s3_objects").fetchone()[0])
PY
echo "written in $(( $(date +%s) - started )) s"
start_gateway
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
"$venv_bin/python" - "$s3_port" "$keys" "$requests" <<'PY'
import http.client, sys, time
from urllib.parse import quote
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
port, count, requests = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
credentials = Credentials("BENCHKEY0000000001", "bench-secret-000000000000000000000000001")
connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
def page(query):
    url = f"http://127.0.0.1:{port}/big?list-type=2&{query}"
    request = AWSRequest(method="GET", url=url)
    request.headers["x-amz-content-sha256"] = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    SigV4Auth(credentials, "s3", "us-east-1").add_auth(request)
    started = time.perf_counter()
    connection.request("GET", request.url[len(f"http://127.0.0.1:{port}"):], headers=dict(request.headers))
    response = connection.getresponse()
    body = response.read()
    elapsed = time.perf_counter() - started
    assert response.status == 200, body[:300]
    return elapsed, body
middle = f"dir{count // 2 // 100000:04d}/sub{count // 2 // 1000 % 100:03d}/file{count // 2:08d}.bin"
late = f"dir{(count - 5000) // 100000:04d}/sub{(count - 5000) // 1000 % 100:03d}/file{count - 5000:08d}.bin"
directory = f"dir{count // 2 // 100000:04d}"
cases = [
    ("first page (1000 keys)", "max-keys=1000", 1000),
    ("page at the middle (start-after)", f"start-after={quote(middle, safe='')}&max-keys=1000", 1000),
    ("page near the end (start-after)", f"start-after={quote(late, safe='')}&max-keys=1000", 1000),
    (f"prefix {directory}/ (1000 keys)", f"prefix={directory}%2F&max-keys=1000", 1000),
    ("delimiter / (top-level prefixes)", "delimiter=%2F&max-keys=1000", None),
    (f"prefix {directory}/ + delimiter / (sub-prefixes)", f"prefix={directory}%2F&delimiter=%2F", None),
]
print(f"{'page':48} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8}  entries")
worst = 0
for name, query, expected in cases:
    times = []
    for _ in range(requests):
        elapsed, body = page(query)
        times.append(elapsed * 1000)
    entries = body.count(b"<Key>") + body.count(b"<CommonPrefixes>")
    if expected is not None: assert entries == expected, (name, entries)
    times.sort()
    p99 = times[min(len(times) - 1, int(len(times) * 0.99))]
    worst = max(worst, p99)
    print(f"{name:48} {times[len(times)//2]:8.2f} {p99:8.2f} {times[-1]:8.2f}  {entries}")
print(f"worst p99 {worst:.2f} ms: target < 50 ms {'met' if worst < 50 else 'MISSED'}")
sys.exit(0 if worst < 50 else 1)
PY
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
