/// One versioned schema change; the SQL lives in `schema/<backend>/NNN_<backend>_<name>.sql`.
public struct Migration: Sendable, Equatable {
    public let version: Int
    public let name: String
    public let sql: String

    /// The statements of the file, split at semicolons that end a line; `--` comment lines dropped.
    public var statements: [String] {
        var statements: [String] = []
        var current = ""
        for line in sql.split(separator: "\n", omittingEmptySubsequences: false) {
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if trimmed.hasPrefix("--") || trimmed.isEmpty { continue }
            current += line + "\n"
            if trimmed.hasSuffix(";") {
                statements.append(String(current.trimmingCharacters(in: .whitespacesAndNewlines).dropLast()))
                current = ""
            }
        }
        let rest = current.trimmingCharacters(in: .whitespacesAndNewlines)
        if !rest.isEmpty { statements.append(rest) }
        return statements
    }

    /// SQLite's migrations, in order. A new file in schema/sqlite must be listed here (a test checks).
    public static let sqlite: [Migration] = [
        Migration(
            version: 1, name: "001_sqlite_initial.sql",
            sql: String(decoding: PackageResources._01_sqlite_initial_sql, as: UTF8.self)),
        Migration(
            version: 2, name: "002_sqlite_block_digests.sql",
            sql: String(decoding: PackageResources._02_sqlite_block_digests_sql, as: UTF8.self)),
        Migration(
            version: 3, name: "003_sqlite_name_search.sql",
            sql: String(decoding: PackageResources._03_sqlite_name_search_sql, as: UTF8.self)),
        Migration(
            version: 4, name: "004_sqlite_node_state.sql",
            sql: String(decoding: PackageResources._04_sqlite_node_state_sql, as: UTF8.self)),
        Migration(
            version: 5, name: "005_sqlite_s3.sql", sql: String(decoding: PackageResources._05_sqlite_s3_sql, as: UTF8.self)),
        Migration(
            version: 6, name: "006_sqlite_multipart_checksum_type.sql",
            sql: String(decoding: PackageResources._06_sqlite_multipart_checksum_type_sql, as: UTF8.self)),
        Migration(
            version: 7, name: "007_sqlite_whole_object_digests.sql",
            sql: String(decoding: PackageResources._07_sqlite_whole_object_digests_sql, as: UTF8.self)),
        Migration(
            version: 8, name: "008_sqlite_object_digest_claims.sql",
            sql: String(decoding: PackageResources._08_sqlite_object_digest_claims_sql, as: UTF8.self)),
    ]

    /// MySQL's migrations, in order, numbered like SQLite's. A new file in schema/mysql must be listed here (a test checks).
    public static let mysql: [Migration] = [
        Migration(
            version: 1, name: "001_mysql_initial.sql",
            sql: String(decoding: PackageResources._01_mysql_initial_sql, as: UTF8.self)),
        Migration(
            version: 2, name: "002_mysql_block_digests.sql",
            sql: String(decoding: PackageResources._02_mysql_block_digests_sql, as: UTF8.self)),
        Migration(
            version: 3, name: "003_mysql_name_search.sql",
            sql: String(decoding: PackageResources._03_mysql_name_search_sql, as: UTF8.self)),
        Migration(
            version: 4, name: "004_mysql_node_state.sql",
            sql: String(decoding: PackageResources._04_mysql_node_state_sql, as: UTF8.self)),
        Migration(
            version: 5, name: "005_mysql_s3.sql", sql: String(decoding: PackageResources._05_mysql_s3_sql, as: UTF8.self)),
        Migration(
            version: 6, name: "006_mysql_multipart_checksum_type.sql",
            sql: String(decoding: PackageResources._06_mysql_multipart_checksum_type_sql, as: UTF8.self)),
        Migration(
            version: 7, name: "007_mysql_whole_object_digests.sql",
            sql: String(decoding: PackageResources._07_mysql_whole_object_digests_sql, as: UTF8.self)),
        Migration(
            version: 8, name: "008_mysql_object_digest_claims.sql",
            sql: String(decoding: PackageResources._08_mysql_object_digest_claims_sql, as: UTF8.self)),
    ]
}

import Foundation
