import CMariaDB
import Foundation

/// A value bound to a `?` placeholder of a prepared statement.
enum MySQLValue: Sendable, Equatable {
    case null
    case int(Int64)
    case double(Double)
    case text(String)
}

/// One result row; every column arrives as text (or nil for SQL NULL) and is decoded by the store.
struct MySQLRow: Sendable {
    let columnIndex: [String: Int]
    let values: [String?]

    subscript(_ column: String) -> String? {
        guard let index = columnIndex[column] else { return nil }
        return values[index]
    }
}

/// An error reported by the MySQL client library or the server.
struct MySQLError: Error, Sendable, CustomStringConvertible {
    let code: UInt32
    let message: String

    /// The connection is unusable: client errors (CR_*, 2000-2999) such as server gone (2006) or lost
    /// (2013), and server shutdown (1053) / connection killed (1927) / idle disconnect (4031).
    var isConnectionLost: Bool { (2000..<3000).contains(code) || [1053, 1927, 4031].contains(code) }
    /// Deadlock (1213) or lock wait timeout (1205): InnoDB rolled back; the whole transaction may run again.
    var isTransient: Bool { code == 1213 || code == 1205 }
    var isDuplicateKey: Bool { code == 1062 }
    /// A column (1060) or index (1061) added by a migration statement is already there: MySQL 8 has no
    /// `ADD COLUMN IF NOT EXISTS`, so a migration interrupted after such a statement meets this when run again.
    var isAlreadyApplied: Bool { code == 1060 || code == 1061 }

    var description: String { "MySQL error \(code): \(message)" }
}

/// One `MYSQL*` and its prepared statements. Not thread-safe: the pool hands it to one thread-pool job at a time.
final class MySQLConnection: @unchecked Sendable {
    // @unchecked: the pool leases a connection to exactly one caller, who uses it from one
    // NIOThreadPool job at a time, so no two threads ever touch `handle` or `statements` together.
    private let handle: UnsafeMutablePointer<MYSQL>
    private var statements: [String: UnsafeMutablePointer<MYSQL_STMT>] = [:]
    /// Set once a call failed with a connection error; the pool then drops the connection.
    private(set) var isBroken = false
    /// Statements that succeeded since `resetCounter()`: an operation is retried on a fresh connection only
    /// when its very first statement met a dead connection (a server restart), so nothing ran twice.
    private(set) var succeededStatements = 0
    /// Operations run on this connection; 0 means it was opened for the current one.
    var useCount = 0

    /// `mysql_library_init` is not thread-safe; a static `let` runs it exactly once.
    private static let libraryInitialized: Bool = mysql_server_init(0, nil, nil) == 0

    private init(handle: UnsafeMutablePointer<MYSQL>) {
        self.handle = handle
    }

    /// Connects (blocking) with the options' timeouts, utf8mb4 and no automatic reconnect (the pool reconnects).
    static func connect(_ options: MySQLConnectionOptions, database: String? = nil) throws -> MySQLConnection {
        guard libraryInitialized, let handle = mysql_init(nil) else {
            throw MySQLError(code: 2008, message: "cannot initialise the MySQL client library")
        }
        var connectTimeout = MySQLConnectionOptions.seconds(options.connectTimeout)
        var readTimeout = MySQLConnectionOptions.seconds(options.readTimeout)
        var writeTimeout = MySQLConnectionOptions.seconds(options.writeTimeout)
        var noReconnect: my_bool = 0
        mysql_options(handle, MYSQL_OPT_CONNECT_TIMEOUT, &connectTimeout)
        mysql_options(handle, MYSQL_OPT_READ_TIMEOUT, &readTimeout)
        mysql_options(handle, MYSQL_OPT_WRITE_TIMEOUT, &writeTimeout)
        mysql_options(handle, MYSQL_OPT_RECONNECT, &noReconnect)
        mysql_options(handle, MYSQL_SET_CHARSET_NAME, "utf8mb4")
        // CLIENT_FOUND_ROWS: an UPDATE reports the rows it matched, not only those whose values changed.
        let connected = mysql_real_connect(
            handle, options.host, options.user, options.password, database ?? options.database, UInt32(options.port), nil,
            UInt(CLIENT_FOUND_ROWS))
        guard connected != nil else {
            let error = MySQLError(code: mysql_errno(handle), message: String(cString: mysql_error(handle)))
            mysql_close(handle)
            throw error
        }
        let connection = MySQLConnection(handle: handle)
        // Strict mode refuses over-long or invalid values instead of silently truncating them; DATETIMEs
        // are written as UTC text, so the session zone is pinned for any NOW() a migration might use.
        try connection.execute(
            "SET SESSION sql_mode = 'STRICT_TRANS_TABLES,NO_ZERO_DATE,NO_ENGINE_SUBSTITUTION', time_zone = '+00:00'")
        return connection
    }

    /// Closes the statements and the connection (blocking; bounded by the write timeout).
    func close() {
        for statement in statements.values { mysql_stmt_close(statement) }
        statements = [:]
        mysql_close(handle)
    }

    func resetCounter() { succeededStatements = 0 }

    /// Runs a statement without parameters over the text protocol (transaction control, DDL).
    func execute(_ sql: String) throws {
        guard mysql_real_query(handle, sql, UInt(sql.utf8.count)) == 0 else { throw connectionError() }
        // Drain any result so the connection stays in sync; nil with a field count means reading it failed.
        if let result = mysql_store_result(handle) {
            mysql_free_result(result)
        } else if mysql_field_count(handle) != 0 {
            throw connectionError()
        }
        succeededStatements += 1
    }

    /// Runs a prepared statement with bound parameters and returns its rows (empty for writes).
    @discardableResult
    func query(_ sql: String, _ binds: [MySQLValue] = []) throws -> [MySQLRow] {
        let statement = try prepared(sql)
        try bindAndExecute(statement, binds)
        let rows = try fetchRows(statement)
        succeededStatements += 1
        return rows
    }

    /// Runs a prepared write and returns the number of rows it changed.
    @discardableResult
    func update(_ sql: String, _ binds: [MySQLValue] = []) throws -> Int {
        let statement = try prepared(sql)
        try bindAndExecute(statement, binds)
        let affected = mysql_stmt_affected_rows(statement)
        succeededStatements += 1
        // (my_ulonglong)-1 means "not a write"; report it as no change.
        return affected == UInt64.max ? 0 : Int(affected)
    }

    // MARK: - C API plumbing

    private func connectionError() -> MySQLError {
        let error = MySQLError(code: mysql_errno(handle), message: String(cString: mysql_error(handle)))
        if error.isConnectionLost { isBroken = true }
        return error
    }

    private func statementError(_ statement: UnsafeMutablePointer<MYSQL_STMT>) -> MySQLError {
        let error = MySQLError(code: mysql_stmt_errno(statement), message: String(cString: mysql_stmt_error(statement)))
        if error.isConnectionLost { isBroken = true }
        return error
    }

    /// Prepares once per connection and keeps the handle: later calls skip the PREPARE round trip.
    private func prepared(_ sql: String) throws -> UnsafeMutablePointer<MYSQL_STMT> {
        if let statement = statements[sql] { return statement }
        // Statements whose text varies (IN lists of different lengths) would pile up against the server's
        // max_prepared_stmt_count; past a bound the cache starts over.
        if statements.count >= 256 {
            for statement in statements.values { mysql_stmt_close(statement) }
            statements = [:]
        }
        guard let statement = mysql_stmt_init(handle) else { throw connectionError() }
        guard mysql_stmt_prepare(statement, sql, UInt(sql.utf8.count)) == 0 else {
            let error = statementError(statement)
            mysql_stmt_close(statement)
            throw error
        }
        statements[sql] = statement
        return statement
    }

    private func bindAndExecute(_ statement: UnsafeMutablePointer<MYSQL_STMT>, _ binds: [MySQLValue]) throws {
        let count = binds.count
        guard count == Int(mysql_stmt_param_count(statement)) else {
            throw MySQLError(
                code: 2031, message: "statement expects \(mysql_stmt_param_count(statement)) parameters, got \(count)")
        }
        guard count > 0 else {
            guard mysql_stmt_execute(statement) == 0 else { throw statementError(statement) }
            return
        }
        // The library copies the MYSQL_BIND array but reads the buffers and lengths only during execute,
        // so they are allocated here and freed after it.
        let lengths = UnsafeMutablePointer<UInt>.allocate(capacity: count)
        var buffers: [UnsafeMutableRawPointer] = []
        defer {
            lengths.deallocate()
            for buffer in buffers { buffer.deallocate() }
        }
        var parameters = [MYSQL_BIND](repeating: MYSQL_BIND(), count: count)
        for (index, value) in binds.enumerated() {
            switch value {
            case .null:
                parameters[index].buffer_type = MYSQL_TYPE_NULL
            case .int(let number):
                let buffer = UnsafeMutableRawPointer.allocate(byteCount: 8, alignment: 8)
                buffer.storeBytes(of: number, as: Int64.self)
                buffers.append(buffer)
                parameters[index].buffer_type = MYSQL_TYPE_LONGLONG
                parameters[index].buffer = buffer
                parameters[index].buffer_length = 8
            case .double(let number):
                let buffer = UnsafeMutableRawPointer.allocate(byteCount: 8, alignment: 8)
                buffer.storeBytes(of: number, as: Double.self)
                buffers.append(buffer)
                parameters[index].buffer_type = MYSQL_TYPE_DOUBLE
                parameters[index].buffer = buffer
                parameters[index].buffer_length = 8
            case .text(let text):
                let bytes = Array(text.utf8)
                let buffer = UnsafeMutableRawPointer.allocate(byteCount: max(bytes.count, 1), alignment: 1)
                bytes.withUnsafeBytes { buffer.copyMemory(from: $0.baseAddress!, byteCount: bytes.count) }
                buffers.append(buffer)
                lengths[index] = UInt(bytes.count)
                parameters[index].buffer_type = MYSQL_TYPE_STRING
                parameters[index].buffer = buffer
                parameters[index].buffer_length = UInt(bytes.count)
                parameters[index].length = lengths + index
            }
        }
        let bound = parameters.withUnsafeMutableBufferPointer { mysql_stmt_bind_param(statement, $0.baseAddress) }
        guard bound == 0 else { throw statementError(statement) }
        guard mysql_stmt_execute(statement) == 0 else { throw statementError(statement) }
    }

    /// Buffers the whole result (`store_result`), then reads each column as text: a first fetch with empty
    /// buffers reports every length, and `fetch_column` copies each value into a buffer of exactly that size.
    private func fetchRows(_ statement: UnsafeMutablePointer<MYSQL_STMT>) throws -> [MySQLRow] {
        guard let metadata = mysql_stmt_result_metadata(statement) else { return [] }
        defer { mysql_free_result(metadata) }
        let fieldCount = Int(mysql_num_fields(metadata))
        var columnIndex: [String: Int] = [:]
        // DOUBLE/FLOAT columns are fetched as binary doubles: the library's double-to-text conversion does
        // not report a length to a zero-sized buffer, and Swift's own rendering round-trips exactly.
        var isFloatingPoint = [Bool](repeating: false, count: fieldCount)
        if let fields = mysql_fetch_fields(metadata) {
            for index in 0..<fieldCount {
                columnIndex[String(cString: fields[index].name)] = index
                isFloatingPoint[index] = fields[index].type == MYSQL_TYPE_DOUBLE || fields[index].type == MYSQL_TYPE_FLOAT
            }
        }
        guard mysql_stmt_store_result(statement) == 0 else { throw statementError(statement) }
        defer { mysql_stmt_free_result(statement) }

        let lengths = UnsafeMutablePointer<UInt>.allocate(capacity: fieldCount)
        let nulls = UnsafeMutablePointer<my_bool>.allocate(capacity: fieldCount)
        let truncations = UnsafeMutablePointer<my_bool>.allocate(capacity: fieldCount)
        let doubles = UnsafeMutablePointer<Double>.allocate(capacity: fieldCount)
        defer {
            lengths.deallocate()
            nulls.deallocate()
            truncations.deallocate()
            doubles.deallocate()
        }
        var results = [MYSQL_BIND](repeating: MYSQL_BIND(), count: fieldCount)
        for index in 0..<fieldCount {
            if isFloatingPoint[index] {
                results[index].buffer_type = MYSQL_TYPE_DOUBLE
                results[index].buffer = UnsafeMutableRawPointer(doubles + index)
                results[index].buffer_length = 8
            } else {
                results[index].buffer_type = MYSQL_TYPE_STRING
            }
            results[index].length = lengths + index
            results[index].is_null = nulls + index
            results[index].error = truncations + index
        }
        let bound = results.withUnsafeMutableBufferPointer { mysql_stmt_bind_result(statement, $0.baseAddress) }
        guard bound == 0 else { throw statementError(statement) }

        var rows: [MySQLRow] = []
        while true {
            let status = mysql_stmt_fetch(statement)
            if status == MYSQL_NO_DATA { break }
            guard status == 0 || status == MYSQL_DATA_TRUNCATED else { throw statementError(statement) }
            var values: [String?] = []
            values.reserveCapacity(fieldCount)
            for index in 0..<fieldCount {
                if nulls[index] != 0 {
                    values.append(nil)
                    continue
                }
                if isFloatingPoint[index] {
                    values.append("\(doubles[index])")
                    continue
                }
                let length = Int(lengths[index])
                if length == 0 {
                    values.append("")
                    continue
                }
                let buffer = UnsafeMutableRawPointer.allocate(byteCount: length, alignment: 1)
                defer { buffer.deallocate() }
                var copiedLength: UInt = 0
                var column = MYSQL_BIND()
                column.buffer_type = MYSQL_TYPE_STRING
                column.buffer = buffer
                column.buffer_length = UInt(length)
                let copied = withUnsafeMutablePointer(to: &copiedLength) { lengthPointer in
                    column.length = lengthPointer
                    return mysql_stmt_fetch_column(statement, &column, UInt32(index), 0)
                }
                guard copied == 0 else { throw statementError(statement) }
                values.append(
                    String(decoding: UnsafeRawBufferPointer(start: buffer, count: min(length, Int(copiedLength))), as: UTF8.self))
            }
            rows.append(MySQLRow(columnIndex: columnIndex, values: values))
        }
        return rows
    }
}
