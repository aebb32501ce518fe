import CSQLite
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Online backup and restore with SQLite's backup API (`sqlite3_backup_*`): the copy is one
/// consistent snapshot even while the responder writes (WAL: the backup's read transaction does
/// not block writers, and one `step(-1)` copies every page inside it).
public enum Backup {
    public struct Result: Sendable { public var pages: Int32; public var integrity: String }

    /// Copies the database at `source` to `destination` (written as `destination.tmp`, 0600,
    /// checked with `PRAGMA integrity_check`, then renamed over it).
    public static func backup(source: String, to destination: String) throws -> Result {
        let src = try Database(path: source)
        let tmp = destination + ".tmp"
        unlink(tmp)
        let dst = try open(tmp)
        defer { sqlite3_close_v2(dst) }
        let pages = try copy(from: src.sqlite!.handle, to: dst)
        let integrity = try check(dst)
        guard integrity == "ok" else { unlink(tmp); throw StorageError(code: ResultCode(rawValue: SQLITE_ERROR), message: "backup copy failed integrity_check: \(integrity)") }
        sqlite3_exec(dst, "PRAGMA journal_mode = DELETE;", nil, nil, nil)
        guard rename(tmp, destination) == 0 else {
            throw StorageError(code: ResultCode(rawValue: SQLITE_ERROR), message: "rename \(tmp) -> \(destination): \(String(cString: strerror(errno)))")
        }
        return Result(pages: pages, integrity: integrity)
    }

    /// Replaces the database at `target` with the backup at `source` (checked first). The caller
    /// makes sure no other process has the database open.
    public static func restore(from source: String, to target: String) throws -> Result {
        let src = try open(source, readOnly: true)
        defer { sqlite3_close_v2(src) }
        let integrity = try check(src)
        guard integrity == "ok" else { throw StorageError(code: ResultCode(rawValue: SQLITE_ERROR), message: "\(source) failed integrity_check: \(integrity)") }
        let dst = try Database(path: target)
        let pages = try copy(from: src, to: dst.sqlite!.handle)
        return Result(pages: pages, integrity: try check(dst.sqlite!.handle))
    }

    /// `PRAGMA integrity_check` of a file ("ok" when sound).
    public static func integrity(of path: String) throws -> String {
        let db = try open(path, readOnly: true)
        defer { sqlite3_close_v2(db) }
        return try check(db)
    }

    static func open(_ path: String, readOnly: Bool = false) throws -> OpaquePointer {
        if !readOnly {
            let fd = Glibc.open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
            guard fd >= 0 else { throw StorageError(code: ResultCode(rawValue: SQLITE_ERROR), message: "cannot create \(path): \(String(cString: strerror(errno)))") }
            close(fd)
        }
        var db: OpaquePointer?
        let flags = readOnly ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE
        let rc = sqlite3_open_v2(path, &db, flags, nil)
        guard rc == SQLITE_OK, let db else {
            sqlite3_close_v2(db)
            throw StorageError(code: ResultCode(rawValue: rc), message: "cannot open \(path)")
        }
        sqlite3_busy_timeout(db, 5000)
        return db
    }

    static func copy(from src: OpaquePointer, to dst: OpaquePointer) throws -> Int32 {
        guard let backup = sqlite3_backup_init(dst, "main", src, "main") else {
            throw StorageError(code: ResultCode(rawValue: SQLITE_ERROR), message: "backup: \(String(cString: sqlite3_errmsg(dst)))")
        }
        var rc: Int32
        var attempts = 0
        repeat {
            rc = sqlite3_backup_step(backup, -1)
            if rc == SQLITE_BUSY || rc == SQLITE_LOCKED { attempts += 1; usleep(20_000) }
        } while (rc == SQLITE_BUSY || rc == SQLITE_LOCKED) && attempts < 250
        let pages = sqlite3_backup_pagecount(backup)
        sqlite3_backup_finish(backup)
        guard rc == SQLITE_DONE else {
            throw StorageError(code: ResultCode(rawValue: rc), message: "backup step: \(String(cString: sqlite3_errstr(rc)))")
        }
        return pages
    }

    static func check(_ db: OpaquePointer) throws -> String {
        var stmt: OpaquePointer?
        guard sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &stmt, nil) == SQLITE_OK else {
            throw StorageError(code: ResultCode(rawValue: SQLITE_ERROR), message: "integrity_check: \(String(cString: sqlite3_errmsg(db)))")
        }
        defer { sqlite3_finalize(stmt) }
        var lines: [String] = []
        while sqlite3_step(stmt) == SQLITE_ROW {
            if let text = sqlite3_column_text(stmt, 0) { lines.append(String(cString: text)) }
        }
        return lines.joined(separator: "; ")
    }
}
