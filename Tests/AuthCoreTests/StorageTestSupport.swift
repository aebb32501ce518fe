import Foundation
import TestSupport
@testable import AuthCore

/// A fresh temporary directory holding one database file per test; removed on deinit.
final class StorageTestDirectory {
    let path: String
    var dbPath: String { path + "/authgate.db" }

    private let temp: TempDir

    init() throws {
        temp = try TempDir("authgate-storage")
        path = temp.path
    }

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

