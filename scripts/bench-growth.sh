#!/usr/bin/env bash
# Cost as work grows: upload/download rates and `GET /files` paging latency on an empty store against the same
# on a grown one (--files recorded files, --blobs-per-node blobs on each of the 3 nodes), alternated empty, grown,
# empty, grown… on `dfs up` clusters of the same binaries. Targets: every rate of the grown store within 10 % of the
# empty store's (median grown/empty >= 0.90); every paging and ?q= query kind p99 < 50 ms on the grown store.
# Paging is timed back to back (the query's own cost) and, for --spaced seconds, as the first page once every 0.5 s
# (what someone paging at a random moment meets, including the store being busy with something else).
#
#   scripts/bench-growth.sh --bin DIR [--files 1000000] [--blobs-per-node 100000] [--duration 10s] [--rounds 2]
#                           [--page-requests 200] [--page-budget 30] [--spaced 110] [--others retired|deleted] [--keep]
#
# DIR holds dfs, dfs-gateway, dfs-node and dfs-loadtest (e.g. .build/release). Everything listens on 127.0.0.1
# (free ports per run) and is stopped by PID; data lives under a mktemp dir in /tmp, removed at the end unless
# --keep. The grown store is made without HTTP (the cluster stopped): rows written straight into the gateway's
# SQLite file and blob files straight into each node's directory in the node's own layout; see `seed` below for
# what exactly and why it gives the gateway nothing to repair, delete or queue. Needs python3, jq and curl; holds
# /tmp/bench.lock (flock) for the whole run so no other benchmark shares the cores. Exit status 1: a target missed;
# 2: a run went wrong (a cluster that did not come up, or was not settled after a restart: see the log above).
set -euo pipefail
cd "$(dirname "$0")/.."

bin=""; files=1000000; blobs=100000; duration=10s; rounds=2; page_requests=200; page_budget=30; spaced=110
others=retired; keep=0
while [ $# -gt 0 ]; do
    case "$1" in
        --bin) bin="$2"; shift 2 ;;
        --files) files="$2"; shift 2 ;;
        --blobs-per-node) blobs="$2"; shift 2 ;;
        --duration) duration="$2"; shift 2 ;;
        --rounds) rounds="$2"; shift 2 ;;
        --page-requests) page_requests="$2"; shift 2 ;;
        --page-budget) page_budget="$2"; shift 2 ;;
        --spaced) spaced="$2"; shift 2 ;;
        --others) others="$2"; shift 2 ;;
        --keep) keep=1; shift ;;
        -h|--help) sed -n '2,19p' "$0"; exit 0 ;;
        *) echo "unknown argument: $1" >&2; exit 64 ;;
    esac
done
[ -n "$bin" ] || { echo "give --bin DIR, the folder of the binaries" >&2; exit 64; }
bin=$(cd "$bin" && pwd)
for binary in dfs dfs-gateway dfs-node dfs-loadtest; do
    [ -x "$bin/$binary" ] || { echo "$bin/$binary is missing: build first" >&2; exit 1; }
done
for tool in python3 jq curl; do command -v "$tool" > /dev/null || { echo "$tool is needed" >&2; exit 1; }; done
[ "$blobs" -le "$files" ] || { echo "--blobs-per-node must not exceed --files" >&2; exit 64; }
case "$others" in retired|deleted) ;; *) echo "--others is retired or deleted" >&2; exit 64 ;; esac

# The workloads of the rate comparison, as in bench-builds.sh: WORKLOAD:SIZE:CONCURRENCY.
cases="upload:4KiB:16 download:4KiB:16 upload:1MiB:8 download:1MiB:8"

work=$(mktemp -d /tmp/dfs-bench-growth.XXXXXX)
# A copy of the binaries (as bench-cost.sh does), so a build that replaces them meanwhile cannot mix two builds.
mkdir "$work/bin"
cp "$bin/dfs" "$bin/dfs-gateway" "$bin/dfs-node" "$bin/dfs-loadtest" "$work/bin/"
source_bin="$bin"
bin="$work/bin"
empty="$work/empty"   # the empty store: schema and the three node rows, nothing else
grown="$work/grown"   # the grown store
results="$work/results.jsonl"
: > "$results"
source scripts/lib/bench-cluster.sh
cleanup() {
    stop_cluster 30
    if [ "$keep" = 1 ]; then echo "kept $work" >&2; else rm -rf "$work"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---------------------------------------------------------------------------------------------------------------
# The Python half: seeding, pruning, paging latency, checks and the report. Written out once per run.
cat > "$work/growth.py" <<'PY'
"""Helpers of scripts/bench-growth.sh: seed | mark | prune | pages | check | plan | report (see each function)."""
import hashlib, http.client, json, math, os, random, sqlite3, struct, sys, time, urllib.parse, uuid

MANIFEST = ".bench-growth.json"
BLOCK_SIZE = 1 << 20                       # BlobBlocks.standardBlockSize
DIGEST_ATTRIBUTE = "user.dfs.sha256"        # BlobLayout.digestAttribute
MEMBERS = ["node-1", "node-2", "node-3"]    # the ids `dfs up` gives its three nodes
RETIRED = ["retired-1", "retired-2", "retired-3"]
WORDS = ["report", "invoice", "photo", "scan", "backup", "notes", "contract", "slides"]
NON_ASCII_WORDS = ["Übersicht", "報告", "résumé", "фото"]
EXTENSIONS = ["pdf", "jpg", "docx", "xlsx", "png", "txt", "zip", "csv"]
RARE_NAME = "xylophone-budget-2019.xlsx"    # the one file the rare term finds
# The ?q= kinds: a common word, the rare name, texts matching nothing: ASCII, CJK (caseless: both go through the
# trigram index of migration 003 when it exists), Cyrillic (cased non-ASCII: read with a Swift call per row) and
# two characters (too short for trigrams: read with SQLite's instr per row).
SEARCHES = {"common": "report", "rare": "xylophone", "none": "zzqx", "cjk-none": "請求書", "cyrillic-none": "ёжик",
            "short-none": "zq"}


def timestamp(seconds):
    """MetadataTime.format: UTC, milliseconds, 2026-11-27T07:16:29.123Z."""
    whole = int(seconds)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(whole)) + ".%03dZ" % int((seconds - whole) * 1000)


def block_root(size, digest):
    """BlobBlocks.root of a blob of one block: SHA-256 of "dfs-blocks-v1", block size and size as big-endian
    UInt64 (ByteBuffer.writeInteger's default), then each block digest; one block's digest is the whole SHA-256."""
    assert 0 < size <= BLOCK_SIZE
    return hashlib.sha256(b"dfs-blocks-v1" + struct.pack(">QQ", BLOCK_SIZE, size) + digest).hexdigest()


def connect(data):
    con = sqlite3.connect(os.path.join(data, "metadata.sqlite"), isolation_level=None)
    con.execute("PRAGMA busy_timeout=5000")
    return con


def baseline(con):
    seq = con.execute("SELECT COALESCE(MAX(seq), 0) FROM files").fetchone()[0]
    queue = con.execute("SELECT COALESCE(MAX(id), 0) FROM replication_queue").fetchone()[0]
    return seq, queue


def write_manifest(data, manifest):
    with open(os.path.join(data, MANIFEST), "w") as handle:
        json.dump(manifest, handle, indent=1)


def read_manifest(data):
    with open(os.path.join(data, MANIFEST)) as handle:
        return json.load(handle)


def mark(data):
    """Records the store as it is (the empty one) as the state `prune` returns it to."""
    con = connect(data)
    seq, queue = baseline(con)
    write_manifest(data, {"files": 0, "blobs_per_node": 0, "max_seq": seq, "max_queue_id": queue, "deep_after": 1,
                          "samples": [], "searches": SEARCHES})


def seed(data, files, blobs_per_node, others, rng_seed=42):
    """Grows a stopped cluster's store in place.

    Every seeded file is a live `files` row with a correct size, SHA-256 (`checksum_sha256`) and block root of
    bytes drawn from a seeded pool, its name from WORDS (1 in 8 holds "report"), 2 % non-ASCII, one RARE_NAME.
    `blobs_per_node` of them, spread evenly over the sequence, are held by all three member nodes: a blob file
    `node-N/blobs/<first 2 key chars>/<key>` with the bytes and the SHA-256 in its `user.dfs.sha256` attribute
    (<= 4 KiB: one block, so no `.blocks` table, as the node itself writes it), and three ACTIVE `file_locations`
    verified at upload time. So at start/registration the gateway's reconciliation finds every listed blob owned by
    a live file (kept) and every ACTIVE location on disk (nothing MISSING, nothing queued), and an audit finds the
    copies intact.
    The others are recorded exactly the same, but (--others retired) their three ACTIVE locations are on
    `retired-1..3`, node ids of no member (not in `nodes`): no node lists them or is expected to hold them, the
    long-outage re-replication only looks at member nodes that are DOWN, and the under-replication count sees
    three ACTIVE copies, so nothing is queued; they are listed and searched like any file. (--others deleted:
    tombstones instead, `deleted_at` set and their locations on the members DELETED, as a DELETE leaves them; the
    files table still holds the rows, but /files no longer lists them.) Nothing goes into replication_queue."""
    started = time.time()
    con = connect(data)
    nodes = [row[0] for row in con.execute("SELECT id FROM nodes ORDER BY id")]
    assert nodes == MEMBERS, f"expected the member rows {MEMBERS}, found {nodes}"
    assert con.execute("SELECT COUNT(*) FROM files").fetchone()[0] == 0, "seed an empty store"
    con.execute("PRAGMA synchronous=OFF")
    con.execute("PRAGMA cache_size=-400000")
    rng = random.Random(rng_seed)
    pool = rng.randbytes(4 << 20)
    node_dirs = [os.path.join(data, node, "blobs") for node in MEMBERS]
    for directory in node_dirs:
        os.makedirs(directory, exist_ok=True)
    made_shards = set()
    first = time.time() - files - 3600     # one upload a second, the newest an hour ago

    def is_held(index):                    # blobs_per_node of the indexes, spread evenly
        return (index * blobs_per_node) // files != ((index + 1) * blobs_per_node) // files

    # The rare name goes to a file in the middle that is listed whatever --others says (a held one if any).
    rare_at = files // 2
    while blobs_per_node and not is_held(rare_at):
        rare_at = (rare_at + 1) % files
    samples = []
    file_rows, location_rows = [], []
    blob_count = 0

    def flush():
        con.execute("BEGIN")
        con.executemany(
            "INSERT INTO files (file_key, original_filename, size_bytes, checksum_sha256, uploaded_at, deleted_at,"
            " block_root) VALUES (?, ?, ?, ?, ?, ?, ?)", file_rows)
        con.executemany(
            "INSERT INTO file_locations (file_key, node_id, status, last_verified_at) VALUES (?, ?, ?, ?)",
            location_rows)
        con.execute("COMMIT")
        file_rows.clear()
        location_rows.clear()

    for index in range(files):
        key = str(uuid.UUID(int=rng.getrandbits(128), version=4))
        size = 1024 + rng.randrange(3 * 1024 + 1)
        offset = rng.randrange(len(pool) - size)
        body = pool[offset:offset + size]
        digest = hashlib.sha256(body).digest()
        if index == rare_at:
            name = RARE_NAME
        elif rng.random() < 0.02:
            name = f"{rng.choice(NON_ASCII_WORDS)}-{index:07d}.{rng.choice(EXTENSIONS)}"
        else:
            name = f"{rng.choice(WORDS)}-{index:07d}.{rng.choice(EXTENSIONS)}"
        uploaded = timestamp(first + index)
        held = is_held(index)
        deleted = None
        if held:
            holders, status = MEMBERS, "ACTIVE"
            blob_count += 1
            shard = key[:2]
            for directory in node_dirs:
                shard_dir = os.path.join(directory, shard)
                if (directory, shard) not in made_shards:
                    os.makedirs(shard_dir, exist_ok=True)
                    made_shards.add((directory, shard))
                descriptor = os.open(os.path.join(shard_dir, key), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
                try:
                    os.write(descriptor, body)
                    os.setxattr(descriptor, DIGEST_ATTRIBUTE, digest.hex().encode())
                finally:
                    os.close(descriptor)
            if len(samples) < 20 and index % 7 == 0:
                samples.append({"key": key, "sha256": digest.hex(), "size": size})
        elif others == "retired":
            holders, status = RETIRED, "ACTIVE"
        else:
            holders, status = MEMBERS, "DELETED"
            deleted = timestamp(first + index + 0.5)
        file_rows.append((key, name, size, digest.hex(), uploaded, deleted, block_root(size, digest)))
        location_rows.extend((key, node, status, uploaded) for node in holders)
        if len(file_rows) >= 20000:
            flush()
    if file_rows:
        flush()
    # No ANALYZE: the gateway never runs it, and statistics would change its query plans.
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    seq, queue = baseline(con)
    low = con.execute("SELECT MIN(seq) FROM files").fetchone()[0]
    con.close()
    os.sync()
    write_manifest(data, {
        "files": files, "blobs_per_node": blob_count, "others": others, "max_seq": seq, "max_queue_id": queue,
        # A cursor 90 % of the way down from the newest file: GET /files?after= pages from there.
        "deep_after": low + files // 10, "samples": samples, "searches": SEARCHES,
        "seed_seconds": round(time.time() - started, 1),
    })
    print(json.dumps({"files": files, "blobs_per_node": blob_count, "others": others,
                      "seconds": round(time.time() - started, 1)}))


def prune(data):
    """Returns a stopped store to its manifest's state: the rows and blobs a measurement run added (files with a
    higher seq, their locations, queue items with a higher id) go, so every run meets the same store and 1 MiB
    uploads do not fill the disk. The nodes' blob counts are checked against the ACTIVE locations afterwards."""
    manifest = read_manifest(data)
    con = connect(data)
    keys = [row[0] for row in con.execute("SELECT file_key FROM files WHERE seq > ?", (manifest["max_seq"],))]
    con.execute("BEGIN")
    con.execute("CREATE TEMP TABLE added (file_key TEXT PRIMARY KEY)")
    con.executemany("INSERT INTO added VALUES (?)", ((key,) for key in keys))
    con.execute("DELETE FROM file_locations WHERE file_key IN (SELECT file_key FROM added)")
    con.execute("DELETE FROM files WHERE seq > ?", (manifest["max_seq"],))
    queue = con.execute("DELETE FROM replication_queue WHERE id > ?", (manifest["max_queue_id"],)).rowcount
    con.execute("UPDATE sqlite_sequence SET seq = ? WHERE name = 'files'", (manifest["max_seq"],))
    con.execute("UPDATE sqlite_sequence SET seq = ? WHERE name = 'replication_queue'", (manifest["max_queue_id"],))
    con.execute("COMMIT")
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    removed = 0
    for node in MEMBERS:
        for key in keys:
            for suffix in ("", ".blocks", ".sha256"):
                try:
                    os.unlink(os.path.join(data, node, "blobs", key[:2], key + suffix))
                    removed += suffix == ""
                except FileNotFoundError:
                    pass
    problems = []
    for node in MEMBERS:
        expected = con.execute("SELECT COUNT(*) FROM file_locations l JOIN files f USING (file_key) "
                               "WHERE l.node_id = ? AND l.status = 'ACTIVE' AND f.deleted_at IS NULL",
                               (node,)).fetchone()[0]
        blob_dir = os.path.join(data, node, "blobs")
        held = 0
        if os.path.isdir(blob_dir):
            for shard in os.scandir(blob_dir):
                if shard.is_dir():
                    held += sum(1 for entry in os.scandir(shard.path)
                                if not entry.name.endswith((".blocks", ".sha256")))
        if held != expected:
            problems.append(f"{node} holds {held} blobs, metadata expects {expected}")
    con.close()
    print(json.dumps({"removed_files": len(keys), "removed_blobs": removed, "removed_queue_items": queue,
                      "problems": problems}))


def percentile(sorted_values, p):
    """Nearest rank: the smallest value with at least p % of the values at or below it."""
    rank = max(0, min(len(sorted_values) - 1, math.ceil(p / 100 * len(sorted_values)) - 1))
    return sorted_values[rank]


def pages(gateway, data, requests, budget, spaced):
    """Latency of GET /files pages (whole answer read, one keep-alive connection, one request at a time): the first
    page, a deep page (?after= cursor 90 % down), and ?q= searches. Each kind: 3 warm-up requests, then `requests`
    back to back or as many as fit in `budget` seconds (at least 10): the cost of the query itself.
    Then, for `spaced` seconds, the first page due once every 0.5 s, as people paging at random moments meet it: this
    also catches the moments the metadata store is busy with something else (its one SQLite connection is
    serialised; on a grown store the replication summary the dashboard's history sampler takes now and then holds
    it for seconds), which back-to-back requests over a second or two mostly miss."""
    manifest = read_manifest(data)
    searches = manifest["searches"]
    host, port = urllib.parse.urlsplit(gateway).hostname, urllib.parse.urlsplit(gateway).port
    kinds = [("first page", "/files"), ("deep page", f"/files?after={manifest['deep_after']}")]
    kinds += [(f"q={name}", "/files?q=" + urllib.parse.quote(text)) for name, text in searches.items()]
    connection = http.client.HTTPConnection(host, port, timeout=120)
    out = []
    for label, path in kinds:
        def fetch():
            connection.request("GET", path)
            response = connection.getresponse()
            body = response.read()
            if response.status != 200:
                raise SystemExit(f"GET {path}: {response.status} {body[:200]!r}")
            return body
        for _ in range(3):
            body = fetch()
        listed = json.loads(body)["count"]
        times = []
        started = time.perf_counter()
        while len(times) < requests and (len(times) < 10 or time.perf_counter() - started < budget):
            before = time.perf_counter()
            fetch()
            times.append((time.perf_counter() - before) * 1000)
        times.sort()
        entry = {"query": label, "path": path, "n": len(times), "listed": listed,
                 "p50": round(percentile(times, 50), 2), "p99": round(percentile(times, 99), 2),
                 "max": round(times[-1], 2)}
        if label.startswith("q="):
            # The whole search once, following next_after to the end: a search no index serves reads a bounded span
            # per page, so its pages stay short and its total is what a person paging through all of it waits.
            pages, found, cursor, began = 0, 0, None, time.perf_counter()
            while True:
                connection.request("GET", path + ("&after=" + cursor if cursor else ""))
                page = json.loads(connection.getresponse().read())
                pages, found, cursor = pages + 1, found + page["count"], page.get("next_after")
                if not cursor:
                    break
            entry["whole"] = {"pages": pages, "found": found, "ms": round((time.perf_counter() - began) * 1000)}
        out.append(entry)
    if spaced > 0:
        # Open loop: requests are due every 0.5 s whatever happens, and each is timed from when it was due, so one
        # that had to wait for the previous one counts that wait (a closed loop would time one slow request and
        # never ask during the rest of the stall, reporting a fraction of what people arriving then meet).
        times = []
        due = time.perf_counter()
        end = due + spaced
        while due < end:
            delay = due - time.perf_counter()
            if delay > 0:
                time.sleep(delay)      # pacing, not waiting for a condition
            connection.request("GET", "/files")
            listed = json.loads(connection.getresponse().read())["count"]
            times.append((time.perf_counter() - due) * 1000)
            due += 0.5
        times.sort()
        out.append({"query": f"first page, 1 every 0.5 s for {spaced:g} s", "path": "/files", "n": len(times),
                    "listed": listed, "p50": round(percentile(times, 50), 2), "p99": round(percentile(times, 99), 2),
                    "max": round(times[-1], 2), "over_50ms": sum(t >= 50 for t in times)})
    print(json.dumps(out))


def get_json(gateway, path, method="GET"):
    parts = urllib.parse.urlsplit(gateway)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=300)
    connection.request(method, path)
    response = connection.getresponse()
    body = response.read()
    if response.status != 200:
        raise SystemExit(f"{method} {path}: {response.status} {body[:300]!r}")
    return json.loads(body)


def check(gateway, data, audit, samples):
    """Whether the cluster is settled and untroubled: every node UP, no queue item open, nothing under-replicated
    (with --others retired the retired copies count, so that is 0 too); optionally an audit pass (POST /audit:
    reconciles every node again, re-hashes its stalest --audit-batch replicas) and verified downloads of seeded
    files. Prints one JSON object; `ok` false says what is wrong."""
    status = get_json(gateway, "/status/replication")
    nodes = get_json(gateway, "/nodes")
    result = {"queue": status["queue"], "under_replicated_files": status["under_replicated_files"],
              "nodes": {n["id"]: [n["status"], n.get("in_flight"), n.get("blob_count")] for n in nodes}}
    problems = []
    if any(status["queue"].get(s, 0) for s in ("PENDING", "IN_PROGRESS", "FAILED")):
        problems.append("open queue items")
    if status["under_replicated_files"]:
        problems.append("under-replicated files")
    if any(n["status"] != "UP" for n in nodes):
        problems.append("a node is not UP")
    if audit:
        report = get_json(gateway, "/audit", "POST")
        result["audit"] = report
        if report["corrupt"] or report["missing"] or report["removed_orphans"] or report["removed_deleted"]:
            problems.append("the audit found something")
    if samples:
        parts = urllib.parse.urlsplit(gateway)
        connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
        good = 0
        for sample in read_manifest(data)["samples"]:
            connection.request("GET", "/download/" + sample["key"])
            response = connection.getresponse()
            body = response.read()
            good += response.status == 200 and hashlib.sha256(body).hexdigest() == sample["sha256"]
        result["seeded_downloads_verified"] = f"{good}/{len(read_manifest(data)['samples'])}"
        if good != len(read_manifest(data)["samples"]):
            problems.append("a seeded file did not download intact")
    result["ok"] = not problems
    result["problems"] = problems
    print(json.dumps(result))


def store_times(gateway):
    """Mean milliseconds per metadata store call over the cluster run so far, from the gateway's
    dfs_metadata_operation_duration_seconds histogram: where a grown store costs time (the serial SQLite connection
    makes a slow call delay every other)."""
    parts = urllib.parse.urlsplit(gateway)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
    connection.request("GET", "/metrics")
    text = connection.getresponse().read().decode()
    sums, counts = {}, {}
    for line in text.splitlines():
        for suffix, into in (("_sum{", sums), ("_count{", counts)):
            if line.startswith("dfs_metadata_operation_duration_seconds" + suffix):
                labels, value = line[line.index("{") + 1:].rsplit("} ", 1)
                fields = dict(part.split("=", 1) for part in labels.split(","))
                operation = fields["operation"].strip('"')
                into[operation] = into.get(operation, 0) + float(value)
    print(json.dumps({op: {"calls": int(counts[op]), "mean_ms": round(sums[op] / counts[op] * 1000, 3),
                           "total_s": round(sums[op], 2)} for op in sorted(counts) if counts[op]}))


def plan(data):
    """EXPLAIN QUERY PLAN of the gateway's listing and search queries (SQLiteMetadataStore.listFiles as of 748ff8e:
    with the trigram index of migration 003, a text with 3+ ASCII or caseless characters in a row goes through
    `files_search`; without it, or for other texts, every file row below the cursor is read), and how long this
    Python's SQLite takes to run them on the stopped store (dfs_contains_folded stands in for the gateway's Swift
    function)."""
    con = connect(data)
    con.create_function("dfs_contains_folded", 2, lambda name, text: int(text in name.lower()), deterministic=True)
    indexed = con.execute("SELECT 1 FROM sqlite_master WHERE name = 'files_search'").fetchone() is not None
    listing = "SELECT * FROM files WHERE deleted_at IS NULL AND seq < ?1"
    order = " ORDER BY seq DESC LIMIT 101"

    def longest_run(text, keep):
        runs, current = [""], ""
        for character in text:
            current = current + character if keep(character) else ""
            runs.append(current)
        return max(runs, key=len)

    def search(text):
        text = text.lower()
        ascii_run = longest_run(text, lambda c: ord(c) < 128)
        # FileNameSearch.longestCaseStableRun: ASCII or characters case mapping leaves alone.
        stable = longest_run(text, lambda c: ord(c) < 128 or c.lower() == c.upper() == c.casefold())
        names = "dfs_contains_folded(files.original_filename, ?2)"
        if ascii_run:
            names = f"(instr(lower(files.original_filename), ?3) > 0 AND {names})"
        matches = f" AND (instr(lower(files.file_key), ?2) > 0 OR {names})"
        if indexed and len(stable) >= 3:
            phrase = '"' + stable.replace('"', '""') + '"'
            return ("SELECT files.* FROM files_search JOIN files ON files.seq = files_search.rowid WHERE files_search"
                    " MATCH ?4 AND files_search.rowid < ?1 AND deleted_at IS NULL" + matches
                    + " ORDER BY files_search.rowid DESC LIMIT 101", (2**62, text, ascii_run or None, phrase))
        return listing + matches + order, (2**62, text, ascii_run) if ascii_run else (2**62, text)

    searches = read_manifest(data)["searches"]
    # Two more queries that read every file row: the replication summary (the dashboard's history sampler runs it
    # at start and then as often as 5 % of the time allows, and every /metrics scrape runs it; the gateway's one
    # SQLite connection is serialised, so every other store call waits meanwhile) and what the reconciliation
    # expects on a node.
    summary = ("SELECT COUNT(*), COALESCE(SUM(size_bytes), 0) FROM files f WHERE f.deleted_at IS NULL AND (SELECT"
               " COUNT(*) FROM file_locations l WHERE l.file_key = f.file_key AND l.status = 'ACTIVE') < ?")
    expected = ("SELECT l.file_key FROM file_locations l JOIN files f ON f.file_key = l.file_key WHERE l.node_id = ?"
                " AND l.status = 'ACTIVE' AND f.deleted_at IS NULL ORDER BY l.file_key")
    queries = [("first page", listing + order, (2**62,))]
    queries += [("q=" + text, *search(text)) for text in searches.values()]
    queries += [("replicationSummary", summary, (3,)), ("filesExpected node-1", expected, ("node-1",))]
    print(f"  (trigram index files_search: {'present' if indexed else 'absent'})")
    for label, sql, binds in queries:
        steps = [row[3] for row in con.execute("EXPLAIN QUERY PLAN " + sql, binds)]
        started = time.perf_counter()
        rows = len(con.execute(sql, binds).fetchall())
        took = (time.perf_counter() - started) * 1000
        print(f"  {label}: {'; '.join(steps)} -> {rows} rows in {took:.1f} ms (python sqlite3 {sqlite3.sqlite_version})")


def report(path, files, blobs):
    rows = [json.loads(line) for line in open(path)]
    rates = [r for r in rows if r["type"] == "rate"]
    pages_ = [r for r in rows if r["type"] == "page"]
    verdicts = []
    print("\n| workload | size | c | round | empty files/s | grown files/s | grown/empty | empty p50 / p99 ms"
          " | grown p50 / p99 / max ms | CPU ms/file gateway+nodes, empty → grown | errors, mismatches |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")

    def cpu(r):
        return f"{r['cpu_ms_per_file']['gateway']:.2f}+{r['cpu_ms_per_file']['nodes']:.2f}"
    for case in dict.fromkeys((r["workload"], r["size"], r["concurrency"]) for r in rates):
        ratios = []
        for round_ in sorted({r["round"] for r in rates}):
            pick = {r["store"]: r for r in rates if (r["workload"], r["size"], r["concurrency"]) == case
                    and r["round"] == round_}
            if "empty" not in pick or "grown" not in pick:
                continue
            e, g = pick["empty"], pick["grown"]
            ratio = g["ops"] / e["ops"] if e["ops"] else 0
            ratios.append(ratio)
            print(f"| {case[0]} | {case[1]} | {case[2]} | {round_} | {e['ops']:.1f} | {g['ops']:.1f} | {ratio:.3f} | "
                  f"{e['p50']} / {e['p99']} | {g['p50']} / {g['p99']} / {g['max']} | {cpu(e)} → {cpu(g)} | "
                  f"{e['errors'] + g['errors']}, {e['mismatches'] + g['mismatches']} |")
        ratios.sort()
        median = (ratios[(len(ratios) - 1) // 2] + ratios[len(ratios) // 2]) / 2 if ratios else 0
        met = median >= 0.90
        verdicts.append((f"{case[0]} {case[1]} c{case[2]}: median grown/empty {median:.3f} (>= 0.90)", met))
        print(f"| {case[0]} | {case[1]} | {case[2]} | median | | | **{median:.3f}** | | | | {'met' if met else 'MISSED'} |")
    print(f"\n`GET /files` latency, ms (one request at a time, keep-alive; `listed` = files in the answer; `whole search`"
          " = every page of the search once, following next_after, on the grown store):\n")
    print("| query | round | empty p50 / p99 (n) | grown p50 / p99 / max (n) | listed empty / grown | whole search: pages, ms,"
          " found | p99 < 50 ms |")
    print("|---|---|---|---|---|---|---|")
    for query in dict.fromkeys(r["query"] for r in pages_):
        worst = 0
        for round_ in sorted({r["round"] for r in pages_}):
            pick = {r["store"]: r for r in pages_ if r["query"] == query and r["round"] == round_}
            e, g = pick.get("empty"), pick.get("grown")
            if not g:
                continue
            worst = max(worst, g["p99"])
            empty_text = f"{e['p50']} / {e['p99']} ({e['n']})" if e else "-"
            slow = f", {g['over_50ms']} of {g['n']} over 50 ms" if "over_50ms" in g else ""
            print(f"| {query} | {round_} | {empty_text} | {g['p50']} / {g['p99']} / {g['max']} ({g['n']}{slow}) | "
                  f"{e['listed'] if e else '-'} / {g['listed']} | "
                  + (f"{g['whole']['pages']}, {g['whole']['ms']}, {g['whole']['found']}" if "whole" in g else "-")
                  + f" | {'yes' if g['p99'] < 50 else 'NO'} |")
        verdicts.append((f"GET /files {query}: worst grown p99 {worst} ms (< 50 ms)"
                         + ("" if worst < 50 else f", {worst / 50:.1f}x over"), worst < 50))
    troubled = [f"{r['round']} {r['store']} {r['workload']} {r['size']}: {r['errors']} errors, {r['mismatches']}"
                " mismatches" for r in rates if r["errors"] or r["mismatches"]]
    verdicts.append(("every load run without errors and checksum mismatches"
                     + (" (" + "; ".join(troubled) + ")" if troubled else ""), not troubled))
    times = [r for r in rows if r["type"] == "store"]
    if times:
        print("\nMetadata store calls over each whole cluster run (mean ms per call, calls), from /metrics (whose own"
              " replicationSummary call is counted):\n")
        operations = ["replicationSummary", "recordUpload", "file", "listFiles", "filesExpected", "fileStates"]
        print("| round | store | " + " | ".join(operations) + " |")
        print("|---|---|" + "---|" * len(operations))
        for r in times:
            cells = [f"{r['times'][op]['mean_ms']} ({r['times'][op]['calls']})" if op in r["times"] else "-"
                     for op in operations]
            print(f"| {r['round']} | {r['store']} | " + " | ".join(cells) + " |")
    runs = [r for r in rows if r["type"] == "run"]
    if runs:
        print("\nLoad average (1, 5, 15 min) at the start and end of each cluster run: "
              + "; ".join(f"{r['round']} {r['store']}: {r['load'][0]} -> {r['load'][1]}" for r in runs))
    print(f"\nTargets ({files:,} files recorded, {blobs:,} blobs per node):")
    for text, met in verdicts:
        print(f"  {'PASS' if met else 'FAIL'}  {text}")
    return all(met for _, met in verdicts)


if __name__ == "__main__":
    command, args = sys.argv[1], sys.argv[2:]
    if command == "seed":
        seed(args[0], int(args[1]), int(args[2]), args[3])
    elif command == "mark":
        mark(args[0])
    elif command == "prune":
        prune(args[0])
    elif command == "pages":
        pages(args[0], args[1], int(args[2]), float(args[3]), float(args[4]))
    elif command == "check":
        check(args[0], args[1], args[2] == "audit", args[3] == "samples")
    elif command == "store-times":
        store_times(args[0])
    elif command == "plan":
        plan(args[0])
    elif command == "report":
        sys.exit(0 if report(args[0], int(args[1]), int(args[2])) else 1)
    else:
        sys.exit(f"unknown command {command}")
PY
growth() { python3 "$work/growth.py" "$@"; }

# ---------------------------------------------------------------------------------------------------------------
gateway_url=""
launch() { # DATA LOG-DIR: starts `dfs up` in a session of its own (a signal meant for this script's process group,
           # or sent to it by a neighbour, does not reach the cluster; it is stopped by PID); returns 1 if it ends
           # before it is ready
    local data="$1" logs="$2" gateway_port node_port gateway_log started=$SECONDS
    read -r gateway_port node_port < <(python3 Tests/python/free_ports.py 3)
    mkdir -p "$logs"
    setsid "$bin/dfs" up --s3-port 0 --port "$gateway_port" --node-port "$node_port" --data "$data" --log-dir "$logs" \
        > "$logs/up.log" 2>&1 < /dev/null &
    cluster_pid=$!
    gateway_url="http://127.0.0.1:$gateway_port"
    # Ready once /health answers and every node is UP and reconciled: the gateway reconciles each node's inventory
    # with the metadata at start, and measuring during that would not be the steady state the requirement means.
    until [ -f "$logs/gateway.log" ] && [ "$(grep -E 'reconciled (node at start|returning node)' "$logs/gateway.log" \
            | grep -oE 'node_id=node-[0-9]+' | sort -u | wc -l)" -ge 3 ] \
          && [ "$(curl -sf --max-time 5 "$gateway_url/nodes" | jq '[.[] | select(.status == "UP")] | length')" = 3 ]; do
        if ! kill -0 "$cluster_pid" 2>/dev/null; then
            echo "dfs up ended before the cluster was ready:" >&2
            tail -5 "$logs/up.log" >&2
            wait "$cluster_pid" 2>/dev/null || true
            cluster_pid=""
            return 1
        fi
        [ $((SECONDS - started)) -lt 600 ] || { echo "cluster not ready (nodes UP, reconciled) after 600 s" >&2; exit 2; }
        sleep 0.5
    done
    echo "  ready in $((SECONDS - started)) s; $(grep -E 'reconciled (node at start|returning node)' "$logs/gateway.log" \
        | sed -E 's/.*dfs\.recovery: (.*) \[Gateway\] (.*)/\2: \1/' | paste -sd ';' -)" >&2
}

start_cluster() { # DATA LABEL: a cluster on DATA, started a second time if the first ends on its own (a shared machine)
    launch "$1" "$work/logs/$2" && return 0
    echo "  starting it again" >&2
    launch "$1" "$work/logs/$2-again" || { echo "dfs up ended early twice" >&2; exit 2; }
}


measure() { # ROUND STORE DATA: one cluster run on DATA; appends to $results
    local round="$1" store="$2" data="$3" case workload size concurrency out check load_start status
    load_start=$(cut -d' ' -f1-3 /proc/loadavg)
    echo "== round $round, $store store (load average $load_start)" >&2
    start_cluster "$data" "r$round-$store"
    # Settled after the restart: nothing queued, nobody repairing; the first time also an audit and seeded downloads.
    local extra_checks="plain none"
    [ "$round" = 1 ] && extra_checks="audit samples"
    check=$(growth check "$gateway_url" "$data" $extra_checks)
    echo "  after start: $check" >&2
    [ "$(jq -r .ok <<<"$check")" = true ] || { echo "the $store store is not settled after the restart" >&2; exit 2; }
    growth pages "$gateway_url" "$data" "$page_requests" "$page_budget" "$spaced" \
        | jq -c --argjson round "$round" --arg store "$store" '.[] | {type: "page", round: $round, store: $store} + .' \
        >> "$results"
    local gateway_before nodes_before
    for case in $cases; do
        IFS=: read -r workload size concurrency <<<"$case"
        out="$work/r$round-$store-$workload-$size.json"
        gateway_before=$(cluster_cpu_ticks dfs-gateway)
        nodes_before=$(cluster_cpu_ticks dfs-node)
        status=0
        "$bin/dfs-loadtest" --gateway "$gateway_url" --workload "$workload" --size "$size" --concurrency "$concurrency" \
            --duration "$duration" --seed-files 16 --json > "$out" || status=$?
        # 2: checksum mismatches, counted in the report (which then fails); anything else means no report at all.
        [ "$status" = 0 ] || [ "$status" = 2 ] || { echo "dfs-loadtest ended with status $status" >&2; exit 2; }
        # CPU milliseconds per file (the download seeding included), gateway and all nodes, as in bench-builds.sh: a
        # busy machine disturbs it far less than the rate.
        jq -c --argjson round "$round" --arg store "$store" --arg size "$size" \
            --argjson gateway "$(( $(cluster_cpu_ticks dfs-gateway) - gateway_before ))" \
            --argjson nodes "$(( $(cluster_cpu_ticks dfs-node) - nodes_before ))" --argjson hz "$(getconf CLK_TCK)" '
            {type: "rate", round: $round, store: $store, workload, size: $size, concurrency, ops: .ops_per_second,
             mbps: .mb_per_second, p50: .latency_ms.p50, p99: .latency_ms.p99, max: .latency_ms.max, errors,
             mismatches, cpu_ms_per_file: {gateway: ($gateway * 1000 / $hz / ([.operations, 1] | max)),
                                           nodes: ($nodes * 1000 / $hz / ([.operations, 1] | max))}}' \
            "$out" >> "$results"
        jq -r '"  \(.workload) \(.file_size_bytes) B c\(.concurrency): \(.ops_per_second) files/s, p99 \(.latency_ms.p99) ms, \(.errors) errors, \(.mismatches) mismatches",
               (.error_samples[:3][] | "    \(.)")' "$out" >&2
    done
    check=$(growth check "$gateway_url" "$data" plain none)
    echo "  after the load: $check" >&2
    # Last: /metrics itself runs replicationSummary (for its queue and under-replication gauges), which on a grown
    # store holds the metadata store for seconds; nothing is measured after it.
    growth store-times "$gateway_url" \
        | jq -c --argjson round "$round" --arg store "$store" '{type: "store", round: $round, store: $store, times: .}' \
        >> "$results"
    stop_cluster 30
    jq -nc --argjson round "$round" --arg store "$store" --arg before "$load_start" \
        --arg after "$(cut -d' ' -f1-3 /proc/loadavg)" '{type: "run", round: $round, store: $store, load: [$before, $after]}' \
        >> "$results"
    echo "  pruned: $(growth prune "$data")" >&2
}

exec 9> /tmp/bench.lock
echo "waiting for /tmp/bench.lock…" >&2
flock 9
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
echo "binaries: $source_bin (built $(date -u -r "$source_bin/dfs-gateway" '+%Y-%m-%d %H:%M UTC'), copied to $bin)"
echo "machine: $(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB; load before: $load_before"
echo "grown store: $files files recorded ($others beyond the held ones), $blobs blobs per node; $duration per load run, $rounds rounds"

# The empty store: what a first `dfs up` leaves (schema, cluster secret, the three node rows). Every run on either
# store is pruned back to its state before (see prune), and the grown store starts as a copy of this one.
echo "== preparing the empty store" >&2
start_cluster "$empty" prepare
stop_cluster 30
growth mark "$empty"
cp -a "$empty" "$grown"
load_seeding=$(cut -d' ' -f1-3 /proc/loadavg)
echo "== seeding $grown (load average $load_seeding)" >&2
seeded_at=$SECONDS
growth seed "$grown" "$files" "$blobs" "$others" >&2
seed_seconds=$((SECONDS - seeded_at))
echo "  seeded in $seed_seconds s; metadata $(du -sh "$grown/metadata.sqlite" | cut -f1), each node $(du -sh "$grown/node-1" | cut -f1)" >&2

for round in $(seq 1 "$rounds"); do
    measure "$round" empty "$empty"
    measure "$round" grown "$grown"
done
load_after=$(cut -d' ' -f1-3 /proc/loadavg)

echo
echo "seeding: $seed_seconds s for $files files and $blobs blobs on each of 3 nodes (load average at its start: $load_seeding)"
echo "query plans on the grown store, timed in this Python's SQLite with the cluster stopped (the gateway's queries:"
echo "SQLiteMetadataStore.listFiles, replicationSummary, filesExpected):"
growth plan "$grown"
status=0
growth report "$results" "$files" "$blobs" || status=$?
echo
echo "load average before: $load_before; after: $load_after"
exit $status
