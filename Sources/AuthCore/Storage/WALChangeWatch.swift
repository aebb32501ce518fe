import CSQLite

/// A syscall-free "did anything commit?" test for one connection, used in front of
/// `PRAGMA data_version` on the verify path. In WAL mode every commit, by any connection or
/// process, rewrites the wal-index header at the start of the `-shm` region (SQLite's own
/// readers compare exactly these bytes to learn whether their snapshot is stale). Reading it
/// through SQLite's own mapping costs a 96-byte compare; `PRAGMA data_version` costs a read
/// transaction: two fcntl locks plus a process-wide shm mutex shared by every worker thread
/// (profiled: futex contention and fcntl were the largest part of an allowed verify).
/// When the mapping is unavailable (not WAL, no shm), `header()` is nil and callers fall back
/// to the full check every time.
final class WALChangeWatch {
    typealias Header = (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64)
    private var region: UnsafeRawPointer?
    private var tried = false
    private let handle: OpaquePointer

    init(handle: OpaquePointer) { self.handle = handle }

    /// Both copies of the wal-index header (2 x 48 bytes), or nil when unavailable.
    func header() -> Header? {
        if region == nil {
            guard !tried else { return nil }
            tried = true
            region = Self.map(handle)
            guard region != nil else { return nil }
        }
        guard let p = region else { return nil }
        return (p.loadUnaligned(fromByteOffset: 0, as: UInt64.self), p.loadUnaligned(fromByteOffset: 8, as: UInt64.self),
                p.loadUnaligned(fromByteOffset: 16, as: UInt64.self), p.loadUnaligned(fromByteOffset: 24, as: UInt64.self),
                p.loadUnaligned(fromByteOffset: 32, as: UInt64.self), p.loadUnaligned(fromByteOffset: 40, as: UInt64.self),
                p.loadUnaligned(fromByteOffset: 48, as: UInt64.self), p.loadUnaligned(fromByteOffset: 56, as: UInt64.self),
                p.loadUnaligned(fromByteOffset: 64, as: UInt64.self), p.loadUnaligned(fromByteOffset: 72, as: UInt64.self),
                p.loadUnaligned(fromByteOffset: 80, as: UInt64.self), p.loadUnaligned(fromByteOffset: 88, as: UInt64.self))
    }

    static func same(_ a: Header?, _ b: Header?) -> Bool {
        guard let a, let b else { return false }
        return a.0 == b.0 && a.1 == b.1 && a.2 == b.2 && a.3 == b.3 && a.4 == b.4 && a.5 == b.5
            && a.6 == b.6 && a.7 == b.7 && a.8 == b.8 && a.9 == b.9 && a.10 == b.10 && a.11 == b.11
    }

    /// SQLite's existing mapping of shm region 0 (the connection must already be in WAL mode and
    /// have run a read transaction). Never extends or creates the region.
    private static func map(_ handle: OpaquePointer) -> UnsafeRawPointer? {
        var mode = ""
        var stmt: OpaquePointer?
        if sqlite3_prepare_v2(handle, "PRAGMA journal_mode", -1, &stmt, nil) == SQLITE_OK,
           sqlite3_step(stmt) == SQLITE_ROW, let text = sqlite3_column_text(stmt, 0) {
            mode = String(cString: text)
        }
        sqlite3_finalize(stmt)
        guard mode.lowercased() == "wal" else { return nil }
        var file: UnsafeMutablePointer<sqlite3_file>?
        guard sqlite3_file_control(handle, "main", SQLITE_FCNTL_FILE_POINTER, &file) == SQLITE_OK,
              let file, let methods = file.pointee.pMethods, methods.pointee.iVersion >= 2,
              let shmMap = methods.pointee.xShmMap
        else { return nil }
        var region: UnsafeMutableRawPointer?
        let rc = withUnsafeMutablePointer(to: &region) { ptr in
            ptr.withMemoryRebound(to: UnsafeMutableRawPointer?.self, capacity: 1) { shmMap(file, 0, 32768, 0, $0) }
        }
        guard rc == SQLITE_OK, let region else { return nil }
        return UnsafeRawPointer(region)
    }
}
