-- SwiftDFS metadata, MySQL backend, migration 004: a node's lifecycle state (SPEC §10), as in SQLite's 004.

ALTER TABLE nodes ADD COLUMN state VARCHAR(8) NOT NULL DEFAULT 'ACTIVE' CHECK (state IN ('ACTIVE', 'DRAINING', 'DRAINED'));

-- A node's verified copies in key order: draining, re-replication and the audit page through them by key.
CREATE INDEX idx_file_locations_node_key ON file_locations (node_id, status, file_key);
