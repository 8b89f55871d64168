-- SwiftDFS metadata, SQLite backend, migration 006: a multipart upload remembers the x-amz-checksum-type it was
-- created with (COMPOSITE or FULL_OBJECT; NULL when it announced no checksum algorithm), which decides at
-- completion how the parts' checksums make the object's.

ALTER TABLE s3_multipart_uploads ADD COLUMN checksum_type TEXT;
