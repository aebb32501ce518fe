import CSQLite

/// A SQLite result code. `~=` matches an extended code against its primary family,
/// so `case .constraint` also catches SQLITE_CONSTRAINT_UNIQUE (as in GRDB).
public struct ResultCode: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public let rawValue: Int32
    public init(rawValue: Int32) { self.rawValue = rawValue }

    /// The primary code (low byte) of an extended code.
    public var primary: ResultCode { ResultCode(rawValue: rawValue & 0xFF) }

    public static let ok = ResultCode(rawValue: SQLITE_OK)
    public static let row = ResultCode(rawValue: SQLITE_ROW)
    public static let done = ResultCode(rawValue: SQLITE_DONE)
    public static let busy = ResultCode(rawValue: SQLITE_BUSY)
    public static let locked = ResultCode(rawValue: SQLITE_LOCKED)
    public static let constraint = ResultCode(rawValue: SQLITE_CONSTRAINT)
    public static let notFound = ResultCode(rawValue: SQLITE_NOTFOUND)
    public static let misuse = ResultCode(rawValue: SQLITE_MISUSE)
    public static let full = ResultCode(rawValue: SQLITE_FULL)
    public static let ioerr = ResultCode(rawValue: SQLITE_IOERR)
    public static let readonly = ResultCode(rawValue: SQLITE_READONLY)
    public static let cantOpen = ResultCode(rawValue: SQLITE_CANTOPEN)
    public static let nomem = ResultCode(rawValue: SQLITE_NOMEM)
    public static let constraintUnique = ResultCode(rawValue: SQLITE_CONSTRAINT | (8 << 8))
    public static let constraintPrimaryKey = ResultCode(rawValue: SQLITE_CONSTRAINT | (6 << 8))
    public static let constraintForeignKey = ResultCode(rawValue: SQLITE_CONSTRAINT | (3 << 8))

    public static func ~= (pattern: ResultCode, code: ResultCode) -> Bool {
        pattern == code || (pattern.rawValue == pattern.primary.rawValue && pattern == code.primary)
    }

    public var description: String {
        String(cString: sqlite3_errstr(rawValue)) + " (\(rawValue))"
    }
}

/// A storage failure: the database's own message and code, plus the SQL that failed.
/// PostgreSQL's SQLSTATE is kept and mapped onto the SQLite code of the same meaning, so
/// callers test one set of properties (`isBusy`, `isUniqueViolation`, ...) for both stores.
public struct StorageError: Error, CustomStringConvertible, Sendable {
    public let code: ResultCode
    public let message: String
    public let sql: String?
    /// PostgreSQL's SQLSTATE (nil for SQLite).
    public let sqlstate: String?

    public init(code: ResultCode, message: String, sql: String? = nil) {
        self.code = code
        self.message = message
        self.sql = sql
        self.sqlstate = nil
    }

    /// From a PostgreSQL error: 23505 unique, 23503 foreign key, other 23xxx constraint;
    /// serialization failures, deadlocks, lock and statement timeouts, shutdowns and lost
    /// connections are `busy` (503 `unavailable`: the client may retry). The server out of a
    /// resource is the SQLite code of the same meaning (503 `storage_unavailable`): 53100 disk
    /// full is FULL, 53200 out of memory NOMEM, any other 53xxx (too many connections, a
    /// configuration limit) FULL; 25006 (a read-only transaction: a standby, or
    /// `default_transaction_read_only`) is READONLY.
    init(sqlstate: String, message: String, sql: String? = nil) {
        self.sqlstate = sqlstate
        self.message = message
        self.sql = sql
        let cls = sqlstate.prefix(2)
        switch sqlstate {
        case "23505": code = .constraintUnique
        case "23503": code = .constraintForeignKey
        case "40001", "40P01", "55P03", "57014", "57P01", "57P02", "57P03":
            code = .busy
        case "53200": code = .nomem
        case "25006": code = .readonly
        case "08P01": code = .misuse
        default:
            if cls == "23" { code = .constraint }
            else if cls == "53" { code = .full }
            else if cls == "08" { code = .busy }
            else if cls == "42" || cls == "22" { code = .misuse }
            else { code = ResultCode(rawValue: SQLITE_ERROR) }
        }
    }

    /// A failure this process made up, with the code it means (e.g. the pool's wait timing out).
    init(code: ResultCode, sqlstate: String, message: String) {
        self.code = code
        self.sqlstate = sqlstate
        self.message = message
        self.sql = nil
    }

    /// The database cannot be reached (503 `unavailable`).
    static func unavailable(_ message: String) -> StorageError {
        StorageError(sqlstate: "08006", message: message)
    }

    /// The one classification of a storage failure, for both stores: what the client is told
    /// (Worker.store), what the metrics count (`authgate_storage_errors_total{kind}`) and what
    /// the CLI says. `busy` is contention (503 `unavailable`); `full`, `io`, `readonly`,
    /// `cantopen` and `nomem` are the storage out of service (503 `storage_unavailable`):
    /// a full disk, an I/O error, a file system remounted read-only, a file that cannot be
    /// (re)opened, memory exhausted. Everything else (`other`) is a bug: 500.
    public enum Failure: String, CaseIterable, Sendable {
        case busy, full, io, readonly, cantopen, nomem, other
        /// The storage cannot take writes now; no fault of the request (503 `storage_unavailable`).
        public var isOutage: Bool { self != .busy && self != .other }
    }

    public var failure: Failure {
        switch code.primary {
        case .busy, .locked: .busy
        case .full: .full
        case .ioerr: .io
        case .readonly: .readonly
        case .cantOpen: .cantopen
        case .nomem: .nomem
        default: .other
        }
    }

    /// The store is full or failing (see `Failure`).
    public var isOutage: Bool { failure.isOutage }

    /// Any constraint violation (UNIQUE, FOREIGN KEY, CHECK, NOT NULL).
    public var isConstraint: Bool { ResultCode.constraint ~= code }
    /// A UNIQUE or PRIMARY KEY violation: "already exists".
    public var isUniqueViolation: Bool { code == .constraintUnique || code == .constraintPrimaryKey }
    /// A referenced row (tenant, project) does not exist.
    public var isNotFound: Bool { code == .notFound || code == .constraintForeignKey }
    public var isBusy: Bool { failure == .busy }

    static func notFound(_ what: String) -> StorageError {
        StorageError(code: .notFound, message: "no such \(what)")
    }

    public var description: String {
        var text = sqlstate.map { "PostgreSQL error \($0): \(message)" } ?? "SQLite error \(code.rawValue): \(message)"
        if let sql { text += " [\(sql)]" }
        return text
    }
}
