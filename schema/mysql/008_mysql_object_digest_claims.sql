-- SwiftDFS metadata, MySQL backend, migration 008: as SQLite's 008, claims on the whole-object digest queue so that
-- with several gateways each waiting object is read by one (claimed_until NULL = never claimed).

ALTER TABLE s3_pending_object_digests
    ADD COLUMN claimed_by VARCHAR(128) NOT NULL DEFAULT '',
    ADD COLUMN claimed_until DATETIME(3) NULL;
