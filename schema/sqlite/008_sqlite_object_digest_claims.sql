-- SwiftDFS metadata, SQLite backend, migration 008: claims on the whole-object digest queue. With several gateways on
-- one database, each waiting object is read by the gateway that claimed it until claimed_until ('' = never claimed);
-- a read that failed holds the claim until its retry time, and a claim that ran out may be taken by any gateway.

ALTER TABLE s3_pending_object_digests ADD COLUMN claimed_by TEXT NOT NULL DEFAULT '';
ALTER TABLE s3_pending_object_digests ADD COLUMN claimed_until TEXT NOT NULL DEFAULT '';
