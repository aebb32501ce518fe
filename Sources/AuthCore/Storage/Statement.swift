import CSQLite

/// Owns one prepared `sqlite3_stmt` and finalizes it in `deinit`.
/// Cached per connection; `Connection.withStatement` resets it and clears its
/// bindings after every use.
final class Statement {
    let handle: OpaquePointer
    let sql: String
    private let db: OpaquePointer
    var inUse = false

    init(db: OpaquePointer, sql: String) throws {
        var stmt: OpaquePointer?
        let rc = sqlite3_prepare_v3(db, sql, -1, UInt32(SQLITE_PREPARE_PERSISTENT), &stmt, nil)
        guard rc == SQLITE_OK, let stmt else {
            // On failure sqlite sets *stmt to NULL; finalize defensively anyway.
            sqlite3_finalize(stmt)
            throw StorageError(code: ResultCode(rawValue: sqlite3_extended_errcode(db)),
                               message: String(cString: sqlite3_errmsg(db)), sql: sql)
        }
        self.db = db
        self.handle = stmt
        self.sql = sql
    }

    deinit { sqlite3_finalize(handle) }

    func bind(_ values: [SQLValue]) throws {
        guard Int32(values.count) == sqlite3_bind_parameter_count(handle) else {
            throw StorageError(code: .misuse,
                               message: "expected \(sqlite3_bind_parameter_count(handle)) arguments, got \(values.count)",
                               sql: sql)
        }
        for (offset, value) in values.enumerated() {
            let index = Int32(offset + 1)
            let rc: Int32
            switch value {
            case let .text(text):
                rc = Statement.bindText(handle, index, text)
            case let .int(int):
                rc = sqlite3_bind_int64(handle, index, int)
            case .null:
                rc = sqlite3_bind_null(handle, index)
            }
            try check(rc)
        }
    }

    /// Binds the UTF-8 bytes with their count, never a C string: an embedded NUL must not cut
    /// what SQLite stores or compares (a `-1` length stops at the first NUL). An empty string is
    /// bound from a non-NULL pointer, because a NULL pointer would bind SQL NULL, not ''.
    static func bindText(_ handle: OpaquePointer, _ index: Int32, _ text: String) -> Int32 {
        var text = text
        return text.withUTF8 { bytes -> Int32 in
            guard let base = bytes.baseAddress, bytes.count > 0 else {
                return sqlite3_bind_text64(handle, index, "", 0, authgate_sqlite_transient(), UInt8(SQLITE_UTF8))
            }
            return base.withMemoryRebound(to: CChar.self, capacity: bytes.count) {
                sqlite3_bind_text64(handle, index, $0, UInt64(bytes.count), authgate_sqlite_transient(), UInt8(SQLITE_UTF8))
            }
        }
    }

    /// One step: true when a row is available, false when done.
    func step() throws -> Bool {
        let rc = sqlite3_step(handle)
        switch rc {
        case SQLITE_ROW: return true
        case SQLITE_DONE: return false
        default: throw error(rc)
        }
    }

    /// The statement never writes (SELECT, most PRAGMAs).
    var isReadOnly: Bool { sqlite3_stmt_readonly(handle) != 0 }

    func reset() {
        sqlite3_reset(handle)
        sqlite3_clear_bindings(handle)
    }

    var row: Row { Row(sqlite: handle) }

    private func check(_ rc: Int32) throws {
        if rc != SQLITE_OK { throw error(rc) }
    }

    private func error(_ rc: Int32) -> StorageError {
        let extended = sqlite3_extended_errcode(db)
        let code = (extended & 0xFF) == (rc & 0xFF) ? extended : rc
        return StorageError(code: ResultCode(rawValue: code), message: String(cString: sqlite3_errmsg(db)), sql: sql)
    }
}

