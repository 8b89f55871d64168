-- SwiftDFS metadata, MySQL backend, migration 005: the S3-compatible API's buckets and objects (SPEC §11), as in
-- SQLite's 005. Object keys are VARBINARY so they compare as UTF-8 bytes, the order S3 lists them in.

CREATE TABLE s3_buckets (
    name        VARCHAR(63) CHARACTER SET ascii COLLATE ascii_bin PRIMARY KEY,
    created_at  DATETIME(3) NOT NULL,
    owner       VARCHAR(255) NOT NULL
) ENGINE = InnoDB;

CREATE TABLE s3_objects (
    bucket         VARCHAR(63) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    object_key     VARBINARY(1024) NOT NULL,
    size_bytes     BIGINT NOT NULL,
    etag           VARCHAR(80) NOT NULL,
    content_type   VARCHAR(1024) NOT NULL,
    metadata_json  MEDIUMTEXT NOT NULL,
    checksums_json TEXT NOT NULL,
    sha256         CHAR(64) NOT NULL,
    last_modified  DATETIME(3) NOT NULL,
    parts          INT NOT NULL DEFAULT 0,
    PRIMARY KEY (bucket, object_key)
) ENGINE = InnoDB;

CREATE TABLE s3_object_segments (
    bucket        VARCHAR(63) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    object_key    VARBINARY(1024) NOT NULL,
    segment       INT NOT NULL,
    file_key      VARBINARY(200) NOT NULL,
    offset_bytes  BIGINT NOT NULL,
    size_bytes    BIGINT NOT NULL,
    PRIMARY KEY (bucket, object_key, segment)
) ENGINE = InnoDB;

CREATE INDEX idx_s3_object_segments_file ON s3_object_segments (file_key);

CREATE TABLE s3_multipart_uploads (
    upload_id          VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin PRIMARY KEY,
    bucket             VARCHAR(63) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    object_key         VARBINARY(1024) NOT NULL,
    initiated_at       DATETIME(3) NOT NULL,
    content_type       VARCHAR(1024) NOT NULL,
    metadata_json      MEDIUMTEXT NOT NULL,
    checksum_algorithm VARCHAR(16)
) ENGINE = InnoDB;

CREATE INDEX idx_s3_multipart_uploads_key ON s3_multipart_uploads (bucket, object_key, upload_id);
CREATE INDEX idx_s3_multipart_uploads_age ON s3_multipart_uploads (initiated_at);

CREATE TABLE s3_multipart_parts (
    upload_id      VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    part_number    INT NOT NULL,
    file_key       VARBINARY(200) NOT NULL,
    size_bytes     BIGINT NOT NULL,
    etag           VARCHAR(80) NOT NULL,
    checksums_json TEXT NOT NULL,
    sha256         CHAR(64) NOT NULL,
    uploaded_at    DATETIME(3) NOT NULL,
    PRIMARY KEY (upload_id, part_number)
) ENGINE = InnoDB;

ALTER TABLE files ADD COLUMN s3_bucket VARCHAR(63) CHARACTER SET ascii COLLATE ascii_bin NULL;
ALTER TABLE files ADD COLUMN s3_object_key VARBINARY(1024) NULL;
