-- SwiftDFS metadata, SQLite backend, migration 004: a node's lifecycle state (SPEC §10).
-- ACTIVE takes new copies; DRAINING takes none while its copies are re-made elsewhere; DRAINED holds nothing anyone
-- needs and may be removed. Every node known before this migration is ACTIVE.

ALTER TABLE nodes ADD COLUMN state TEXT NOT NULL DEFAULT 'ACTIVE' CHECK (state IN ('ACTIVE', 'DRAINING', 'DRAINED'));

-- A node's verified copies in key order: draining, re-replication and the audit page through them by key.
CREATE INDEX idx_file_locations_node_key ON file_locations (node_id, status, file_key);
