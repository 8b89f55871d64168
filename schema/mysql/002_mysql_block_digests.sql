-- SwiftDFS metadata, MySQL/MariaDB backend, migration 002: per-block digests (as schema/sqlite/002).
-- block_root: the root over the file's per-block SHA-256 digests (1 MiB blocks), computed by the gateway from
-- the client's stream at upload; NULL for files recorded before block digests existed, filled in by the audit
-- or a repair. Run again after an interruption, the duplicate column is skipped by the migrator.

ALTER TABLE files ADD COLUMN block_root CHAR(64) NULL;
