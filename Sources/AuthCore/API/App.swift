import AuthCrypto
import Foundation

/// The process-wide core: settings, router, key ring, verify state, hash limiter.
/// Shared by every worker thread; everything in it is immutable or internally synchronized.
public final class App: Sendable {
    public static let version = "0.1.0"

    public let settings: Settings
    public let router: Router
    public let log: Logger

    public init(settings: Settings, log: Logger = Logger()) throws {
        self.settings = settings
        self.router = Router.api()
        self.log = log
        // Applies migrations once, before any worker opens its own connection.
        let db = try Database(path: settings.dbPath)
        try db.migrate()
    }

    public func makeWorker() throws -> Worker { try Worker(app: self) }
}
