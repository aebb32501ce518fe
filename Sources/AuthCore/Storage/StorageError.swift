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

/// A storage failure: SQLite's own message and extended code, plus the SQL that failed.
public struct StorageError: Error, CustomStringConvertible, Sendable {
    public let code: ResultCode
    public let message: String
    public let sql: String?

    public init(code: ResultCode, message: String, sql: String? = nil) {
        self.code = code
        self.message = message
        self.sql = sql
    }

    /// Any constraint violation (UNIQUE, FOREIGN KEY, CHECK, NOT NULL).
    public var isConstraint: Bool { ResultCode.constraint ~= code }
    /// A UNIQUE or PRIMARY KEY violation: "already exists".
    public var isUniqueViolation: Bool { code == .constraintUnique || code == .constraintPrimaryKey }
    /// A referenced row (tenant, project) does not exist.
    public var isNotFound: Bool { code == .notFound || code == .constraintForeignKey }
    public var isBusy: Bool { ResultCode.busy ~= code || ResultCode.locked ~= code }

    static func notFound(_ what: String) -> StorageError {
        StorageError(code: .notFound, message: "no such \(what)")
    }

    public var description: String {
        var text = "SQLite error \(code.rawValue): \(message)"
        if let sql { text += " [\(sql)]" }
        return text
    }
}
