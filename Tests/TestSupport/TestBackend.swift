import Foundation

/// The store the tests run on, chosen for the whole run by `AUTHGATE_TEST_DB`:
/// `sqlite` (unset: the default) or `postgres` (a fresh database per test on
/// `PostgresServer.shared`). `scripts/test.sh` runs the storage, API and session/revocation
/// integration suites once more with `postgres`: one set of tests, two backends. A test that
/// only means something on one of them says so with `.enabled(if: TestBackend.isSQLite, "why")`.
public enum TestBackend: String, Sendable {
    case sqlite, postgres

    public static let current: TestBackend = {
        switch ProcessInfo.processInfo.environment["AUTHGATE_TEST_DB"] ?? "" {
        case "", "sqlite": return .sqlite
        case "postgres", "postgresql", "pg": return .postgres
        case let other: fatalError("AUTHGATE_TEST_DB=\(other): use sqlite or postgres")
        }
    }()

    public static var isSQLite: Bool { current == .sqlite }
    public static var isPostgres: Bool { current == .postgres }

    /// A fresh, empty database on the shared test server; its libpq URL (Unix socket).
    public static func freshPostgresURL(prefix: String) throws -> String {
        let server = try PostgresServer.shared
        return server.url(database: try server.makeDatabase(prefix: prefix))
    }
}

