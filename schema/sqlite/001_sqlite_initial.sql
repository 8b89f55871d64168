-- SwiftDFS metadata, SQLite backend, migration 001.
-- The prototype's four tables (SPEC §6) keep their names and columns; additions are marked.
-- Timestamps are ISO-8601 UTC text with milliseconds ('2026-11-27T07:16:29.123Z'), which sorts correctly.

CREATE TABLE nodes (
    id              TEXT PRIMARY KEY,
    address         TEXT NOT NULL,
    status          TEXT NOT NULL DEFAULT 'DOWN' CHECK (status IN ('UP', 'DOWN')),
    role            TEXT NOT NULL CHECK (role IN ('MAIN', 'REPLICA', 'BACKUP')),
    latency_ms      REAL,
    last_heartbeat  TEXT,
    -- added: when status last changed, for hysteresis and the dashboard
    status_changed_at TEXT
);

CREATE TABLE files (
    -- added: insertion order, the cursor of GET /files paging
    seq               INTEGER PRIMARY KEY AUTOINCREMENT,
    file_key          TEXT NOT NULL UNIQUE,
    original_filename TEXT NOT NULL,
    size_bytes        INTEGER NOT NULL,
    checksum_sha256   TEXT NOT NULL,
    uploaded_at       TEXT NOT NULL,
    -- added: a deleted file stays as a tombstone so a returning node's copy is known to be garbage
    deleted_at        TEXT
);

CREATE TABLE file_locations (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    file_key         TEXT NOT NULL REFERENCES files(file_key),
    node_id          TEXT NOT NULL,
    status           TEXT NOT NULL CHECK (status IN ('ACTIVE', 'DELETED', 'CORRUPT', 'MISSING')),
    -- added: when the gateway last checked this replica's digest
    last_verified_at TEXT,
    UNIQUE (file_key, node_id)
);

CREATE TABLE replication_queue (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    file_key         TEXT NOT NULL,
    target_node_id   TEXT NOT NULL,
    source_node_id   TEXT,
    -- added: REPLICATE copies the file to the target; DELETE removes it there
    kind             TEXT NOT NULL DEFAULT 'REPLICATE' CHECK (kind IN ('REPLICATE', 'DELETE')),
    status           TEXT NOT NULL CHECK (status IN ('PENDING', 'IN_PROGRESS', 'COMPLETED', 'FAILED', 'CANCELLED')),
    retry_count      INTEGER NOT NULL DEFAULT 0,
    last_attempt     TEXT,
    created_at       TEXT NOT NULL,
    completed_at     TEXT,
    error_message    TEXT,
    -- added: exponential backoff and the claim lease of the worker processing the item
    next_attempt_at  TEXT,
    lease_owner      TEXT,
    lease_expires_at TEXT
);

CREATE INDEX idx_replication_queue_status ON replication_queue (status);
CREATE INDEX idx_replication_queue_target ON replication_queue (target_node_id, status);
CREATE INDEX idx_file_locations_node ON file_locations (node_id, status);
-- At most one live item per (file, target, kind): queueing the same repair twice is a no-op.
CREATE UNIQUE INDEX ux_replication_queue_live ON replication_queue (file_key, target_node_id, kind)
    WHERE status IN ('PENDING', 'IN_PROGRESS');
