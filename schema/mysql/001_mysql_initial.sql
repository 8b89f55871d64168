-- SwiftDFS metadata, MySQL/MariaDB backend, migration 001 (the same tables and columns as schema/sqlite/001).
-- InnoDB for transactions and row locks (claims use SELECT … FOR UPDATE SKIP LOCKED); utf8mb4 for text.
-- Keys and node ids are VARBINARY: compared byte for byte, so no collation folds case or pads spaces.
-- Timestamps are DATETIME(3) holding UTC (the driver writes and reads UTC; no session time zone applies).
-- MySQL commits each DDL statement on its own, so every statement here is IF NOT EXISTS: a migration
-- interrupted half-way is simply run again.

CREATE TABLE IF NOT EXISTS nodes (
    id                VARBINARY(64) NOT NULL PRIMARY KEY,
    address           VARCHAR(1024) NOT NULL,
    status            VARCHAR(8) NOT NULL DEFAULT 'DOWN' CHECK (status IN ('UP', 'DOWN')),
    role              VARCHAR(8) NOT NULL CHECK (role IN ('MAIN', 'REPLICA', 'BACKUP')),
    latency_ms        DOUBLE NULL,
    last_heartbeat    DATETIME(3) NULL,
    -- added: when status last changed, for hysteresis and the dashboard
    status_changed_at DATETIME(3) NULL
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4;

CREATE TABLE IF NOT EXISTS files (
    -- added: insertion order, the cursor of GET /files paging
    seq               BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    file_key          VARBINARY(200) NOT NULL,
    original_filename TEXT NOT NULL,
    size_bytes        BIGINT NOT NULL,
    checksum_sha256   CHAR(64) NOT NULL,
    uploaded_at       DATETIME(3) NOT NULL,
    -- added: a deleted file stays as a tombstone so a returning node's copy is known to be garbage
    deleted_at        DATETIME(3) NULL,
    UNIQUE KEY ux_files_file_key (file_key)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4;

CREATE TABLE IF NOT EXISTS file_locations (
    id               BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    file_key         VARBINARY(200) NOT NULL,
    node_id          VARBINARY(64) NOT NULL,
    status           VARCHAR(8) NOT NULL CHECK (status IN ('ACTIVE', 'DELETED', 'CORRUPT', 'MISSING')),
    -- added: when the gateway last checked this replica's digest
    last_verified_at DATETIME(3) NULL,
    UNIQUE KEY ux_file_locations_file_node (file_key, node_id),
    KEY idx_file_locations_node (node_id, status),
    CONSTRAINT fk_file_locations_file FOREIGN KEY (file_key) REFERENCES files (file_key)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4;

CREATE TABLE IF NOT EXISTS replication_queue (
    id               BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
    file_key         VARBINARY(200) NOT NULL,
    target_node_id   VARBINARY(64) NOT NULL,
    source_node_id   VARBINARY(64) NULL,
    -- added: REPLICATE copies the file to the target; DELETE removes it there
    kind             VARCHAR(10) NOT NULL DEFAULT 'REPLICATE' CHECK (kind IN ('REPLICATE', 'DELETE')),
    status           VARCHAR(12) NOT NULL CHECK (status IN ('PENDING', 'IN_PROGRESS', 'COMPLETED', 'FAILED', 'CANCELLED')),
    retry_count      INT NOT NULL DEFAULT 0,
    last_attempt     DATETIME(3) NULL,
    created_at       DATETIME(3) NOT NULL,
    completed_at     DATETIME(3) NULL,
    error_message    TEXT NULL,
    -- added: exponential backoff and the claim lease of the worker processing the item
    next_attempt_at  DATETIME(3) NULL,
    lease_owner      VARCHAR(255) NULL,
    lease_expires_at DATETIME(3) NULL,
    -- SQLite's partial unique index, MySQL's way: 1 while the item is live, NULL otherwise; a unique key
    -- ignores rows with a NULL part, so at most one live item per (file, target, kind).
    live_flag        TINYINT AS (CASE WHEN status IN ('PENDING', 'IN_PROGRESS') THEN 1 ELSE NULL END) STORED,
    UNIQUE KEY ux_replication_queue_live (file_key, target_node_id, kind, live_flag),
    KEY idx_replication_queue_status (status),
    KEY idx_replication_queue_target (target_node_id, status)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4;
