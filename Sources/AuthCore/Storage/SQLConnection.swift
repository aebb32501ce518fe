import CLibpq
import CSQLite

/// Which SQL a connection speaks. Repositories write one SQL for both (`?` placeholders,
/// `?N` for a repeated one; PostgreSQL's are rewritten to `$N` once per statement) and branch
/// on the dialect only where the two really differ (row locks, the change-log counter).
public enum SQLDialect: Sendable, Equatable {
    case sqlite, postgres
}

/// One database session, used by one thread at a time: the SQLite file (SQLiteConnection)
/// or a PostgreSQL server (PostgresConnection, or a pool's checked-out one). Every value is
/// bound, never interpolated.
protocol Connection: AnyObject {
    var dialect: SQLDialect { get }
    /// For messages: the file path, or the PostgreSQL URL without its password.
    var path: String { get }
    /// Executes a statement to completion; returns the number of rows it changed.
    @discardableResult
    func execute(_ sql: String, _ arguments: [SQLValue]) throws -> Int
    func query<T>(_ sql: String, _ arguments: [SQLValue], _ decode: (Row) throws -> T) throws -> [T]
    /// Visits each row without collecting them.
    func forEachRow(_ sql: String, _ arguments: [SQLValue], _ body: (Row) throws -> Void) throws
    func queryFirst<T>(_ sql: String, _ arguments: [SQLValue], _ decode: (Row) throws -> T) throws -> T?
    /// Several statements, no arguments, not cached (pragmas, migrations).
    func execScript(_ sql: String) throws
    var isInTransaction: Bool { get }
    /// A transaction; inside another one it becomes a savepoint. `immediate`: SQLite takes
    /// the write lock at once (`BEGIN IMMEDIATE`); PostgreSQL writers rely on row locks and
    /// conditional updates instead, and a read-only (`immediate: false`) transaction there
    /// is one REPEATABLE READ snapshot.
    func transaction<T>(immediate: Bool, _ body: () throws -> T) throws -> T
}

extension Connection {
    @discardableResult
    func execute(_ sql: String) throws -> Int { try execute(sql, []) }
    func query<T>(_ sql: String, _ decode: (Row) throws -> T) throws -> [T] { try query(sql, [], decode) }
    func forEachRow(_ sql: String, _ body: (Row) throws -> Void) throws { try forEachRow(sql, [], body) }
    func queryFirst<T>(_ sql: String, _ decode: (Row) throws -> T) throws -> T? { try queryFirst(sql, [], decode) }
}

/// The current row of a result; valid only inside the row closure. SQLite: the stepping
/// statement; PostgreSQL: one row of a PGresult (text format).
struct Row {
    private enum Source {
        case sqlite(OpaquePointer)
        case postgres(OpaquePointer, Int32)
    }
    private let source: Source

    init(sqlite handle: OpaquePointer) { source = .sqlite(handle) }
    init(postgres result: OpaquePointer, row: Int32) { source = .postgres(result, row) }

    func int(_ column: Int32) -> Int64 {
        switch source {
        case let .sqlite(h): return sqlite3_column_int64(h, column)
        case let .postgres(r, i):
            guard PQgetisnull(r, i, column) == 0, let p = PQgetvalue(r, i, column) else { return 0 }
            // Text format: integers as decimal, booleans as t/f.
            switch p.pointee {
            case 0x74: return 1   // "t"
            case 0x66: return 0   // "f"
            default: return Row.decimal(p) ?? Int64(String(cString: p)) ?? 0
            }
        }
    }

    func bool(_ column: Int32) -> Bool { int(column) != 0 }

    func isNull(_ column: Int32) -> Bool {
        switch source {
        case let .sqlite(h): return sqlite3_column_type(h, column) == SQLITE_NULL
        case let .postgres(r, i): return PQgetisnull(r, i, column) != 0
        }
    }

    func optionalInt(_ column: Int32) -> Int64? { isNull(column) ? nil : int(column) }

    func text(_ column: Int32) -> String {
        switch source {
        case let .sqlite(h):
            guard let bytes = sqlite3_column_text(h, column) else { return "" }
            let count = Int(sqlite3_column_bytes(h, column))
            return String(decoding: UnsafeBufferPointer(start: bytes, count: count), as: UTF8.self)
        case let .postgres(r, i):
            guard let p = PQgetvalue(r, i, column) else { return "" }
            let count = Int(PQgetlength(r, i, column))
            return p.withMemoryRebound(to: UInt8.self, capacity: count) {
                String(decoding: UnsafeBufferPointer(start: $0, count: count), as: UTF8.self)
            }
        }
    }

    func optionalText(_ column: Int32) -> String? { isNull(column) ? nil : text(column) }

    /// The column's text as bytes, valid only inside `body` (no String is made: the verify
    /// state reads a million session ids this way).
    func withTextBytes<R>(_ column: Int32, _ body: (UnsafeBufferPointer<UInt8>) throws -> R) rethrows -> R {
        switch source {
        case let .sqlite(h):
            guard let bytes = sqlite3_column_text(h, column) else { return try body(UnsafeBufferPointer(start: nil, count: 0)) }
            return try body(UnsafeBufferPointer(start: bytes, count: Int(sqlite3_column_bytes(h, column))))
        case let .postgres(r, i):
            guard let p = PQgetvalue(r, i, column) else { return try body(UnsafeBufferPointer(start: nil, count: 0)) }
            let count = Int(PQgetlength(r, i, column))
            return try p.withMemoryRebound(to: UInt8.self, capacity: count) {
                try body(UnsafeBufferPointer(start: $0, count: count))
            }
        }
    }

    /// A plain decimal integer in place (PostgreSQL's text format); nil for anything else.
    private static func decimal(_ p: UnsafePointer<CChar>) -> Int64? {
        var i = 0, negative = false, value: Int64 = 0
        if p[0] == 0x2D { negative = true; i = 1 }
        guard p[i] != 0, i < 20 else { return nil }
        while p[i] != 0 {
            let d = Int64(p[i]) - 48
            guard d >= 0 && d <= 9, i < 18 + (negative ? 1 : 0) else { return nil }
            value = value * 10 + d
            i += 1
        }
        return negative ? -value : value
    }

    /// The column as a bindable value, keeping SQLite's storage class (integer, NULL, text).
    func value(_ column: Int32) -> SQLValue {
        switch source {
        case let .sqlite(h):
            switch sqlite3_column_type(h, column) {
            case SQLITE_NULL: return .null
            case SQLITE_INTEGER: return .int(sqlite3_column_int64(h, column))
            default: return .text(text(column))
            }
        case .postgres:
            return isNull(column) ? .null : .text(text(column))
        }
    }
}
