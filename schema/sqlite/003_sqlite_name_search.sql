-- SwiftDFS metadata, SQLite backend, migration 003: an index for GET /files?q=.
-- A trigram full-text index over each file's key and original name (FTS5 with the `trigram` tokenizer, case
-- ignored), kept in step with `files` by triggers. A search whose text has a stretch of three or more characters
-- that are ASCII or caseless (CJK, digits…) walks the index newest first and stops at the page's end, so a rare or
-- absent text costs the same at ten or ten million files; the exact, Unicode-aware check still runs on each
-- candidate. Other texts keep the scan. Deleted files stay in the index, as in `files`.

CREATE VIRTUAL TABLE files_search USING fts5(file_key, original_filename, content='files', content_rowid='seq', tokenize='trigram');

CREATE TRIGGER files_search_insert AFTER INSERT ON files BEGIN INSERT INTO files_search (rowid, file_key, original_filename) VALUES (new.seq, new.file_key, new.original_filename); END;

CREATE TRIGGER files_search_delete AFTER DELETE ON files BEGIN INSERT INTO files_search (files_search, rowid, file_key, original_filename) VALUES ('delete', old.seq, old.file_key, old.original_filename); END;

CREATE TRIGGER files_search_update AFTER UPDATE OF file_key, original_filename ON files BEGIN INSERT INTO files_search (files_search, rowid, file_key, original_filename) VALUES ('delete', old.seq, old.file_key, old.original_filename); INSERT INTO files_search (rowid, file_key, original_filename) VALUES (new.seq, new.file_key, new.original_filename); END;

INSERT INTO files_search (files_search) VALUES ('rebuild');
