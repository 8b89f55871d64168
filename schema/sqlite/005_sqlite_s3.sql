-- SwiftDFS metadata, SQLite backend, migration 005: the S3-compatible API's buckets and objects (SPEC §11).
-- An object's bytes are ordinary files (rows of `files`, replicated, verified, audited and repaired like any upload):
-- one file per object, or one per part of a multipart upload, listed in order in s3_object_segments. Keys compare
-- as UTF-8 bytes (SQLite's BINARY collation), which is the order S3 lists them in.

CREATE TABLE s3_buckets (
    name        TEXT PRIMARY KEY,
    created_at  TEXT NOT NULL,
    -- the credential name that created it
    owner       TEXT NOT NULL
);

CREATE TABLE s3_objects (
    bucket        TEXT NOT NULL REFERENCES s3_buckets(name),
    object_key    TEXT NOT NULL,
    size_bytes    INTEGER NOT NULL,
    -- with its quotes, as S3 returns it: "md5hex", or "md5-of-part-md5s-N" for a multipart object
    etag          TEXT NOT NULL,
    content_type  TEXT NOT NULL,
    -- JSON object: x-amz-meta-* and the other stored headers (Cache-Control, Content-Disposition, …)
    metadata_json TEXT NOT NULL,
    -- JSON object: the S3 checksums verified at upload, algorithm -> base64 value
    checksums_json TEXT NOT NULL,
    -- SHA-256 of the whole object (hex)
    sha256        TEXT NOT NULL,
    last_modified TEXT NOT NULL,
    -- 0 for a single-part object, else the number of parts it was completed from
    parts         INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (bucket, object_key)
) WITHOUT ROWID;

CREATE TABLE s3_object_segments (
    bucket        TEXT NOT NULL,
    object_key    TEXT NOT NULL,
    segment       INTEGER NOT NULL,
    file_key      TEXT NOT NULL,
    offset_bytes  INTEGER NOT NULL,
    size_bytes    INTEGER NOT NULL,
    PRIMARY KEY (bucket, object_key, segment)
) WITHOUT ROWID;

CREATE INDEX idx_s3_object_segments_file ON s3_object_segments (file_key);

CREATE TABLE s3_multipart_uploads (
    upload_id          TEXT PRIMARY KEY,
    bucket             TEXT NOT NULL,
    object_key         TEXT NOT NULL,
    initiated_at       TEXT NOT NULL,
    content_type       TEXT NOT NULL,
    metadata_json      TEXT NOT NULL,
    -- the x-amz-checksum-algorithm announced at creation, or NULL
    checksum_algorithm TEXT
);

CREATE INDEX idx_s3_multipart_uploads_key ON s3_multipart_uploads (bucket, object_key, upload_id);
CREATE INDEX idx_s3_multipart_uploads_age ON s3_multipart_uploads (initiated_at);

CREATE TABLE s3_multipart_parts (
    upload_id      TEXT NOT NULL,
    part_number    INTEGER NOT NULL,
    file_key       TEXT NOT NULL,
    size_bytes     INTEGER NOT NULL,
    etag           TEXT NOT NULL,
    checksums_json TEXT NOT NULL,
    sha256         TEXT NOT NULL,
    uploaded_at    TEXT NOT NULL,
    PRIMARY KEY (upload_id, part_number)
) WITHOUT ROWID;

-- Which files hold S3 data, for GET /files and the dashboard.
ALTER TABLE files ADD COLUMN s3_bucket TEXT;
ALTER TABLE files ADD COLUMN s3_object_key TEXT;
