-- SwiftDFS metadata, MySQL backend, migration 006: as SQLite's 006, the x-amz-checksum-type a multipart upload was
-- created with.

ALTER TABLE s3_multipart_uploads ADD COLUMN checksum_type VARCHAR(16);
