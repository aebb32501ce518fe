import AuthCrypto
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// One per responder thread, the request's context: owns its database connection, prepared
/// statements, verify reader, gate, metrics and settings, so no lock is shared between workers
/// on the request path; and the routing entry point. The routes live in their groups
/// (`SessionRoutes`, `LoginRoutes`, `KeyRoutes`, ... each registers itself in `Router.api()`)
/// and reach this context through `RequestScoped`.
public final class Worker {
    public let app: App
    public let db: Database
    /// This thread's lock-free view of the process's verify state.
    public let state: VerifyReader
    /// API keys seen since the last flush of `last_used_at` (batched: the verify path never writes per request).
    var touchedKeys: Set<String> = []
    var lastTouchFlush: Int64 = 0
    /// This thread's gate: every credential decision (verify doors, API routes' session token).
    public let gate: Gate
    /// This worker's counters (summed by `GET /api/v1/metrics`).
    public let metrics = WorkerMetrics()

    public init(app: App) throws {
        self.app = app
        self.settingsSeen = app.settingsGeneration
        self.settings = app.settings
        self.db = try Database(settings: app.settings)
        self.state = app.verifyState.makeReader()
        self.gate = Gate(keys: app.keys, state: state, settings: app.settings)
        app.metrics.add(metrics)
    }

    /// This worker's copy of `app.settings`, taken again when a SIGHUP moved the generation.
    public private(set) var settings: Settings
    private var settingsSeen: Int
    public var profile: APIProfile { settings.profile }

    @inline(__always) public func takeReloadedSettings() {
        let now = app.settingsGeneration
        if now != settingsSeen {
            settingsSeen = now
            settings = app.settings
            gate.configure(settings)
        }
    }

    /// Entry point for the FastCGI responder and in-process tests.
    public func handle(_ request: Request) -> Response {
        takeReloadedSettings()
        if let policy = request.verify { return VerifyRoute(worker: self).respond(request, policy: policy) }
        if let preflight = corsPreflight(request) { return preflight }
        return withCORS(route(request), request)
    }

    private func route(_ request: Request) -> Response {
        if request.body.count > settings.maxBody {
            return profile.respond(.payloadTooLarge)
        }
        switch app.router.match(method: request.method, path: request.path) {
        case let .found(route, params):
            let started = Worker.micros()
            let response: Response
            do {
                if let limited = RateLimitedRoutes.refusal(request, worker: self) { response = limited } else { response = try route.handler(self, request, params) }
            } catch {
                if error.status >= 500, let cause = error.cause {
                    app.log.error("\(request.method) \(request.path): \(cause)")
                }
                response = profile.respond(error)
            }
            switch route.metrics {
            case .login: metrics.recordLogin(status: response.status, note: response.outcome, micros: Worker.micros() - started)
            case .refresh: metrics.recordRefresh(status: response.status, note: response.outcome)
            case .logout: metrics.recordLogout(status: response.status, note: response.outcome)
            case .none: break
            }
            // A write of this process (a logout, a password change, a revocation) is in the
            // verify state before its answer leaves: denied on the very next verify.
            if request.method != "GET" && request.method != "HEAD" { refreshAfterWrite(route, response) }
            return response
        case .wrongMethod:
            return profile.respond(.methodNotAllowed)
        case .none:
            return profile.respond(.notFound)
        }
    }

    /// A write of this process (a logout, a password change, a revocation) is in the verify
    /// state before its answer leaves: denied on the very next verify. SQLite: the WAL header
    /// moved, so the marker check reads it. PostgreSQL: this process's own notification may
    /// still be in flight, so the log is read (one round trip) unless the request cannot have
    /// revoked anything (a route that may not revoke, answered with a success).
    private func refreshAfterWrite(_ route: Router.Route, _ response: Response) {
        var force = false
        if db.isPostgres {
            let harmless = !route.mayRevoke && response.status < 300
            force = !harmless && response.status < 500
        }
        app.verifyState.refreshIfChanged(force: force)
    }

    /// The monotonic clock in microseconds (the durations the metrics count).
    @inline(__always) static func micros() -> Int {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return ts.tv_sec * 1_000_000 + ts.tv_nsec / 1000
    }

    /// Runs a storage call; a StorageError becomes the client's answer through `storageFailure`.
    func store<T>(_ body: () throws -> T) throws(AuthError) -> T {
        do { return try body() } catch let e as AuthError { throw e } catch let e as StorageError {
            throw storageFailure(e)
        } catch {
            throw AuthError.internalError("storage: \(error)")
        }
    }

    /// The one mapping of a storage failure to an answer (StorageError.Failure), counted in
    /// `authgate_storage_errors_total{kind}`. A database still locked after the busy handler
    /// gave up (5 s) is 503 `unavailable`; a full or failing store (disk full, I/O error,
    /// read-only, cannot open, PostgreSQL out of a resource) is 503 `storage_unavailable`,
    /// both with `Retry-After`, logged once per burst (StorageFailureLog), not per request;
    /// anything else is a logged 500.
    func storageFailure(_ e: StorageError) -> AuthError {
        metrics.recordStorageFailure(e.failure)
        switch e.failure {
        case .busy:
            var busy = AuthError.unavailable(retryAfter: 1)
            busy.cause = "storage busy: \(e)"
            return busy
        case .other:
            return AuthError.internalError("storage: \(e)")
        default:
            app.storageFailures.note(kind: e.failure.rawValue, what: "\(e)", log: app.log)
            return AuthError.storageUnavailable()
        }
    }

    /// Several writes as one: a write transaction (`BEGIN IMMEDIATE`) run through `store`, so
    /// either every statement of `body` commits or none does. Never hash inside it. Audit rows
    /// written inside it go through `recordAudit` (their failure fails the write).
    func write<T>(_ body: () throws -> T) throws(AuthError) -> T {
        let result = try store { try db.transaction(immediate: true, body) }
        app.storageFailures.recovered(log: app.log)
        return result
    }

    /// An audit row that is part of a `write`: its failure fails the whole write. (Swallowed
    /// inside a transaction, a full disk's error would leave SQLite's automatically rolled-back
    /// transaction, or PostgreSQL's aborted one, to a COMMIT that fails as a 500 or commits the
    /// rest without its audit row.)
    func recordAudit(_ event: String, tenantID: String?, actor: String?, request: Request, detail: String? = nil) throws {
        try db.audit.record(event, tenantID: tenantID, actor: actor, ip: request.remoteAddress,
                            detail: detail, at: Time.now())
    }

    /// A best-effort audit row, outside any transaction (a failed login, a cross-tenant read):
    /// its failure is logged (once per burst when the store is failing) and the answer stands.
    func audit(_ event: String, tenantID: String?, actor: String?, request: Request, detail: String? = nil) {
        assert(!db.connection.isInTransaction, "audit() inside a write swallows its failure: use recordAudit")
        do {
            try db.audit.record(event, tenantID: tenantID, actor: actor, ip: request.remoteAddress,
                                detail: detail, at: Time.now())
        } catch let e as StorageError where e.isOutage {
            metrics.recordStorageFailure(e.failure)
            app.storageFailures.note(kind: e.failure.rawValue, what: "audit \(event) not written: \(e)", log: app.log)
        } catch {
            app.log.error("audit \(event) not written: \(error)")
        }
    }
}
