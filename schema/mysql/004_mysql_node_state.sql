-- SwiftDFS metadata, MySQL backend, migration 004: a node's lifecycle state (SPEC §10), as in SQLite's 004.

ALTER TABLE nodes ADD COLUMN state VARCHAR(8) NOT NULL DEFAULT 'ACTIVE' CHECK (state IN ('ACTIVE', 'DRAINING', 'DRAINED'));
