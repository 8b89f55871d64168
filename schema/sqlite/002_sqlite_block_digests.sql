-- SwiftDFS metadata, SQLite backend, migration 002: per-block digests.
-- block_root: the root over the file's per-block SHA-256 digests (1 MiB blocks), computed by the gateway from
-- the client's stream at upload. A replica counts as verified only when the root its node reports is this one,
-- and nodes check every block they serve against digests with this root. NULL for files recorded before block
-- digests existed: the audit or a repair fills it in once a node has computed the blocks of a verified copy.

ALTER TABLE files ADD COLUMN block_root TEXT;
