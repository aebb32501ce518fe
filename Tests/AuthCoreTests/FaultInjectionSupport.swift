import AuthCrypto
import FaultVFS
import Foundation
import TestSupport
import Testing
@testable import AuthCore

/// The fault plan of FaultInjectionTests: which error, at which write/sync/truncate of the
/// database files (Tests/FaultVFS), and whether the failure stays (a full disk) or not (a
/// transient I/O error).
struct Fault: CustomStringConvertible, Sendable {
    enum Mode: String, Sendable { case diskFull = "SQLITE_FULL (stays)", ioError = "SQLITE_IOERR_WRITE (once)" }
    let mode: Mode
    let nth: Int
    static let sqliteFull: Int32 = 13
    static let sqliteIOErrWrite: Int32 = 10 | (3 << 8)

    var description: String { "\(mode.rawValue) at I/O call \(nth)" }

    /// Runs `body` with this fault armed; returns how many I/O calls it made and failed.
    func armed<T>(_ body: () throws -> T) rethrows -> (T, calls: Int, failed: Int) {
        switch mode {
        case .diskFull: faultvfs_arm(Int32(nth), Fault.sqliteFull, 1)
        case .ioError: faultvfs_arm(Int32(nth), Fault.sqliteIOErrWrite, 0)
        }
        defer { faultvfs_disarm() }
        let result = try body()
        return (result, Int(faultvfs_count()), Int(faultvfs_failures()))
    }

    /// The I/O calls (writes, syncs, truncates) `body` makes with no fault.
    static func count(_ body: () throws -> Void) rethrows -> Int {
        faultvfs_arm(0, 0, 0)
        defer { faultvfs_disarm() }
        try body()
        return Int(faultvfs_count())
    }

    /// Every failure point 1...calls (+1: the run that must pass), or, in the short form of
    /// `make test`, the first, a middle and the last one. AUTHGATE_FAULTS=all (`make faults`): all.
    static func points(calls: Int) -> [Int] {
        let all = ProcessInfo.processInfo.environment["AUTHGATE_FAULTS"] == "all"
        if all { return Array(1...(calls + 1)) }
        return Array(Set([1, max(1, calls / 2), calls])).sorted()
    }
}

/// An API harness whose SQLite files go through the fault VFS (only this harness's temp dir:
/// other suites running at the same time keep the default VFS).
final class FaultHarness {
    let h: APIHarness
    private let dir: String

    init() throws {
        #expect(faultvfs_register() == 0, "sqlite3_vfs_register of the fault VFS")
        var directory = ""
        h = try APIHarness { dir in
            directory = dir
            SQLiteTestVFS.use("faultvfs", under: dir)
        }
        dir = directory
    }

    deinit { SQLiteTestVFS.remove(under: dir) }

    /// Every table's rows, sorted (what "before" and "after" are compared on), read through a
    /// connection of its own: what is on disk, not what a connection cached. `volatileCounters`:
    /// the users' failed_attempts/locked_until left out (a login and a password change count
    /// the attempt in a transaction of its own before hashing, on purpose: see `counters`).
    func dump(volatileCounters: Bool = false) throws -> [String: [String]] {
        let db = try h.openDatabase()
        let tables = try db.connection.query("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name") { $0.text(0) }
        var out: [String: [String]] = [:]
        for table in tables {
            var columns = try db.connection.query("SELECT name FROM pragma_table_info('\(table)')") { $0.text(0) }
            if volatileCounters && table == "users" { columns.removeAll { $0 == "failed_attempts" || $0 == "locked_until" } }
            let expr = columns.map { "quote(\"\($0)\")" }.joined(separator: " || ',' || ")
            out[table] = try db.connection.query("SELECT \(expr) FROM \"\(table)\"") { $0.text(0) }.sorted()
        }
        return out
    }

    func counters(_ userID: String) throws -> Int64 {
        try h.openDatabase().connection.queryFirst("SELECT failed_attempts FROM users WHERE id = ?", [.text(userID)]) { $0.int(0) } ?? -1
    }

    func integrity() throws -> String {
        try h.openDatabase().connection.queryFirst("PRAGMA integrity_check") { $0.text(0) } ?? "?"
    }
}

/// One write under test: `prepare` (no fault) gives what `request` needs; `request` is the
/// call; `isAfter` says whether the database holds all of it (given the dump before).
struct FaultFlow {
    let name: String
    /// A login and a password change count the attempt before hashing (its own transaction).
    let countsAttempt: Bool
    let prepare: (FaultHarness) throws -> [String: String]
    let request: (FaultHarness, [String: String]) -> (status: Int, json: JSON?, response: Response)
    let isAfter: (FaultHarness, [String: String], _ before: [String: [String]]) throws -> Bool
    let expectedStatus: Int
}
