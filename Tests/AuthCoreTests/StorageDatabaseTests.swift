import Synchronization
import Foundation
import TestSupport
import Testing
@testable import AuthCore

@Suite struct StorageDatabaseTests {
    @Test func migrationsAreIdempotentAndVersioned() throws {
        let dir = try StorageTestDirectory()
        let db = try dir.open()
        try db.migrate()
        let again = try dir.connect()
        try again.migrate()
        #expect(again.isReachable())
        #expect(again.verifyChangeSeq() == 0)
        // The same schema either way: every table a repository reads is there, empty.
        #expect(try again.tenants.list().isEmpty)
        guard dir.backend == .sqlite else { return }
        let version = try again.connection.queryFirst("PRAGMA user_version") { $0.int(0) }
        #expect(version == Int64(Migrations.all.count))
        let mode = try again.connection.queryFirst("PRAGMA journal_mode") { $0.text(0) }
        #expect(mode == "wal")
        let fk = try again.connection.queryFirst("PRAGMA foreign_keys") { $0.int(0) }
        #expect(fk == 1)
    }

    /// A writer blocked by another connection's write transaction waits (busy handler) instead
    /// of failing. (PostgreSQL: an open transaction that wrote nothing blocks nobody; the write
    /// must still succeed.)
    @Test func writersWaitForEachOther() throws {
        let dir = try StorageTestDirectory()
        let first = try dir.connect()
        try first.migrate()
        let second = try dir.connect()
        let holding = DispatchSemaphore(value: 0)
        nonisolated(unsafe) let holder = first
        let thread = Thread {
            try? holder.transaction(immediate: true) {
                holding.signal()
                usleep(300_000)
            }
        }
        thread.start()
        try holding.wait(seconds: 10, for: "the first connection to hold its write transaction")
        let t = try second.tenants.create(name: "w", domain: "wait.test", isPlatform: false, now: 1)
        #expect(try second.tenants.byID(t.id) != nil)
    }

    /// PostgreSQL: what two hosts running `authgate init` at once do (an advisory lock).
    @Test func concurrentMigrationsApplyOnce() throws {
        let dir = try StorageTestDirectory()
        let location = dir.location
        let failures = Mutex<[String]>([])
        _ = try onThreads(8) { _ in
            do {
                let db = try location.connect()
                try db.migrate()
            } catch {
                failures.withLock { $0.append("\(error)") }
            }
        }
        #expect(failures.withLock { $0 }.isEmpty)
        #expect(try dir.open().verifyChangeSeq() == 0)
    }

    @Test(.enabled(if: TestBackend.isSQLite, "SQLite's own files (-wal, -shm) and their modes"))
    func filesAreCreatedPrivate() throws {
        let dir = try StorageTestDirectory()
        let db = try dir.open()
        _ = try db.tenants.create(name: "T", domain: "t.test", isPlatform: false, now: 1)
        for file in [dir.dbPath, dir.dbPath + "-wal", dir.dbPath + "-shm"] {
            var info = stat()
            #expect(stat(file, &info) == 0, "\(file) exists")
            #expect(info.st_mode & 0o777 == 0o600, "\(file) mode")
        }
    }

    @Test(.enabled(if: TestBackend.isSQLite, "the SQLite file's mode"))
    func existingLooseFileIsTightened() throws {
        let dir = try StorageTestDirectory()
        #expect(FileManager.default.createFile(atPath: dir.dbPath, contents: nil, attributes: [.posixPermissions: 0o644]))
        _ = try dir.open()
        var info = stat()
        #expect(stat(dir.dbPath, &info) == 0)
        #expect(info.st_mode & 0o777 == 0o600)
    }

    @Test(.enabled(if: TestBackend.isSQLite, "file modes of the SQLite file"))
    func ownerReadOnlyFileStaysReadOnly() throws {
        // An operator's chmod 0400 (a database taken out of service) is not undone by an open.
        let dir = try StorageTestDirectory()
        _ = try dir.open()
        #expect(chmod(dir.dbPath, 0o400) == 0)
        if geteuid() == 0 {
            _ = try Database(path: dir.dbPath)   // root may open it read-write; the mode must not move
        } else {
            #expect(throws: StorageError.self) { _ = try Database(path: dir.dbPath).connection.execute("CREATE TABLE t(x)") }
        }
        var info = stat()
        #expect(stat(dir.dbPath, &info) == 0)
        #expect(info.st_mode & 0o777 == 0o400)
    }

    @Test(.enabled(if: TestBackend.isSQLite, "SQLite's messages and result codes (PostgreSQL's: the next test)"))
    func errorsCarrySQLiteMessageAndCode() throws {
        let db = try StorageTestDirectory().open()
        #expect(throws: StorageError.self) { try db.connection.execute("SELECT * FROM nowhere") }
        do {
            try db.connection.execute("SELECT * FROM nowhere")
        } catch let error as StorageError {
            #expect(error.message.contains("no such table"))
            #expect(ResultCode(rawValue: 1) ~= error.code)
        }
        // The cached statement machinery still works after a failure.
        #expect(db.isReachable())
    }

    @Test(.enabled(if: TestBackend.isPostgres, "PostgreSQL's messages"))
    func errorsCarryPostgresMessage() throws {
        let db = try StorageTestDirectory().open()
        do {
            try db.connection.execute("SELECT * FROM nowhere")
            Issue.record("a query of a missing table succeeded")
        } catch let error as StorageError {
            #expect(error.message.contains("does not exist"), "\(error.message)")
        }
        // The connection (and its prepared statements) still works after a failure.
        #expect(db.isReachable())
        _ = try db.tenants.create(name: "T", domain: "after-error.test", isPlatform: false, now: 1)
        #expect(try db.tenants.byDomain("after-error.test") != nil)
    }

    @Test func transactionRollsBackAndNests() throws {
        let db = try StorageTestDirectory().open()
        struct Boom: Error {}
        #expect(throws: Boom.self) {
            try db.transaction {
                _ = try db.tenants.create(name: "A", domain: "a.test", isPlatform: false, now: 1)
                throw Boom()
            }
        }
        #expect(try db.tenants.list().isEmpty)
        try db.transaction {
            _ = try db.tenants.create(name: "B", domain: "b.test", isPlatform: false, now: 1)
            #expect(throws: Boom.self) {
                try db.transaction {
                    _ = try db.tenants.create(name: "C", domain: "c.test", isPlatform: false, now: 1)
                    throw Boom()
                }
            }
        }
        #expect(try db.tenants.list().map(\.domain) == ["b.test"])
    }

    @Test(.enabled(if: TestBackend.isSQLite, "PRAGMA data_version is SQLite's change marker"))
    func dataVersionMovesOnOtherConnectionsCommits() throws {
        let dir = try StorageTestDirectory()
        let a = try dir.open()
        let b = try dir.open()
        let before = a.dataVersion()
        _ = try b.tenants.create(name: "T", domain: "t.test", isPlatform: false, now: 1)
        #expect(a.dataVersion() != before)
    }
}
