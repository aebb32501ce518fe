import Foundation
import TestSupport
@testable import AuthCore

/// Where one test's store lives, as a value threads can share: a new `Database` on it per call.
enum TestStoreLocation: Sendable {
    case sqlite(path: String)
    case postgres(url: String)

    /// Another handle on the store, not migrated (SQLite: a new connection; PostgreSQL: a
    /// `Database` over the process's pool for the URL).
    func connect() throws -> Database {
        switch self {
        case let .sqlite(path): return try Database(path: path)
        case let .postgres(url): return try Database(url: url)
        }
    }

    /// The environment naming this store for `Settings` (AUTH_DB_URL wins over AUTH_DB_PATH).
    func environment(sqliteFallback: String) -> [String: String] {
        switch self {
        case let .sqlite(path): return ["AUTH_DB_PATH": path]
        case let .postgres(url): return ["AUTH_DB_PATH": sqliteFallback, "AUTH_DB_URL": url]
        }
    }
}

/// A fresh store per test: a temporary directory holding one SQLite file, or (PostgreSQL run)
/// a fresh database on the shared server; the directory is removed on deinit.
final class StorageTestDirectory {
    let path: String
    /// The SQLite file (also on a PostgreSQL run: SQLite-only tests may use it).
    var dbPath: String { path + "/authgate.db" }
    let location: TestStoreLocation
    var backend: TestBackend {
        if case .postgres = location { return .postgres }
        return .sqlite
    }

    private let temp: TempDir

    /// `backend`: the run's (default), or `.sqlite` for tests of SQLite machinery itself.
    init(backend: TestBackend = TestBackend.current) throws {
        temp = try TempDir("authgate-storage")
        path = temp.path
        switch backend {
        case .sqlite: location = .sqlite(path: temp.path + "/authgate.db")
        case .postgres: location = .postgres(url: try TestBackend.freshPostgresURL(prefix: "storage"))
        }
    }

    /// A migrated database on this store (another connection each call).
    func open() throws -> Database {
        let db = try location.connect()
        try db.migrate()
        return db
    }

    /// Another handle, not migrated.
    func connect() throws -> Database { try location.connect() }
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
