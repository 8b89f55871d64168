-- SwiftDFS metadata, MySQL backend, migration 007: as SQLite's 007, the queue of multipart objects whose SHA-256
-- over all their bytes is still to be computed (s3_objects.sha256 is '' meanwhile).

CREATE TABLE s3_pending_object_digests (
    bucket     VARCHAR(63) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    object_key VARBINARY(1024) NOT NULL,
    queued_at  DATETIME(3) NOT NULL,
    PRIMARY KEY (bucket, object_key)
) ENGINE = InnoDB;

INSERT INTO s3_pending_object_digests (bucket, object_key, queued_at)
    SELECT bucket, object_key, last_modified FROM s3_objects WHERE parts > 0;
UPDATE s3_objects SET sha256 = '' WHERE parts > 0;
