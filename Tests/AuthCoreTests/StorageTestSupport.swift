import Foundation
@testable import AuthCore

/// A fresh temporary directory holding one database file per test; removed on deinit.
final class StorageTestDirectory {
    let path: String
    var dbPath: String { path + "/authgate.db" }

    init() throws {
        var template = Array((NSTemporaryDirectory() + "/authgate-storage-XXXXXX").utf8CString)
        guard let made = template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) else {
            throw StorageError(code: .misuse, message: "mkdtemp failed")
        }
        path = String(cString: made)
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }

    /// A migrated database on this directory's file (another connection each call).
    func open() throws -> Database {
        let db = try Database(path: dbPath)
        try db.migrate()
        return db
    }
}

/// A tenant + user fixture.
struct StorageFixture {
    let db: Database
    let tenant: Tenant
    let user: User

    init(_ db: Database, now: Int64 = 1_000) throws {
        self.db = db
        tenant = try db.tenants.create(name: "Acme", domain: "acme.test", isPlatform: false, now: now)
        user = try db.users.create(tenantID: tenant.id, email: "Alice@Acme.test", passwordHash: "$scrypt$x",
                                   role: "agent", mustChangePassword: false, now: now)
    }
}

/// Runs `body(i)` on `count` OS threads at once and waits for all of them.
func runOnThreads(_ count: Int, _ body: @escaping @Sendable (Int) -> Void) {
    let group = DispatchGroup()
    let start = DispatchSemaphore(value: 0)
    for index in 0..<count {
        group.enter()
        let thread = Thread {
            start.wait()
            body(index)
            group.leave()
        }
        thread.start()
    }
    for _ in 0..<count { start.signal() }
    group.wait()
}
