-- SwiftDFS metadata, SQLite backend, migration 007: a multipart object's SHA-256 over all its bytes. Completing an
-- upload costs metadata only, so that digest is computed afterwards, by reading the object once through the
-- verified download path; until then s3_objects.sha256 is '' and the object waits in this queue.

CREATE TABLE s3_pending_object_digests (
    bucket     TEXT NOT NULL,
    object_key TEXT NOT NULL,
    queued_at  TEXT NOT NULL,
    PRIMARY KEY (bucket, object_key)
) WITHOUT ROWID;

-- Multipart objects completed before this migration held the SHA-256 over their parts' SHA-256s: queue them too.
INSERT INTO s3_pending_object_digests (bucket, object_key, queued_at)
    SELECT bucket, object_key, last_modified FROM s3_objects WHERE parts > 0;
UPDATE s3_objects SET sha256 = '' WHERE parts > 0;
