import AuthCrypto
import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Per-worker counters for `GET /api/v1/metrics` (Prometheus text 0.0.4). Each worker thread
/// owns its slots and is their only writer (a relaxed load and store: no lock prefix, no shared
/// cache line on the verify path); a scrape sums every worker's slots.
public final class WorkerMetrics: @unchecked Sendable {
    enum Slot {
        static let verifyKinds = ["user", "api_key", "node", "none"]
        static let verifyOutcomes = ["allow", "deny_401", "deny_403"]
        static let loginOutcomes = ["ok", "invalid_credentials", "locked", "rate_limited", "unavailable"]
        static let refreshOutcomes = ["ok", "reuse_grace", "reuse_revoked", "invalid"]
        static let logoutScopes = ["local", "global", "others"]
        static let storageKinds = StorageError.Failure.allCases.map(\.rawValue)
        static let verifyBuckets: [Double] = [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.05]
        static let loginBuckets: [Double] = [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]

        static let verify = 0                                              // kind * 3 + outcome
        static let login = verify + verifyKinds.count * verifyOutcomes.count
        static let lockouts = login + loginOutcomes.count
        static let refresh = lockouts + 1
        static let logout = refresh + refreshOutcomes.count
        static let verifyHist = logout + logoutScopes.count                // buckets..., +Inf count, sum µs
        static let loginHist = verifyHist + verifyBuckets.count + 2
        static let storage = loginHist + loginBuckets.count + 2
        static let count = storage + storageKinds.count
    }

    private let slots: UnsafeMutablePointer<Atomic<Int>>

    init() {
        slots = .allocate(capacity: Slot.count)
        for i in 0..<Slot.count { (slots + i).initialize(to: Atomic(0)) }
    }

    deinit {
        // Workers live as long as their threads; never freed while registered (see MetricsRegistry).
    }

    @inline(__always) func bump(_ i: Int, by n: Int = 1) {
        let p = slots + i
        p.pointee.store(p.pointee.load(ordering: .relaxed) &+ n, ordering: .relaxed)
    }

    func value(_ i: Int) -> Int { (slots + i).pointee.load(ordering: .relaxed) }

    func observe(_ base: Int, buckets: [Double], micros: Int) {
        let seconds = Double(micros) / 1e6
        var i = 0
        while i < buckets.count && seconds > buckets[i] { i += 1 }
        bump(base + i)                       // the first bucket it fits (cumulated at scrape)
        bump(base + buckets.count + 1, by: micros)
    }

    /// A verify decision: allowed (by the identity's kind), unauthenticated or forbidden.
    func recordVerify(_ decision: Decision, micros: Int) {
        let outcome: Int
        var kind = 3
        switch decision {
        case let .allow(identity, _, _):
            outcome = 0
            switch identity.kind {
            case .user: kind = 0
            case .apiKey: kind = 1
            case .node: kind = 2
            }
        case let .deny(error):
            outcome = error.status == 403 ? 2 : 1
        }
        bump(Slot.verify + kind * Slot.verifyOutcomes.count + outcome)
        observe(Slot.verifyHist, buckets: Slot.verifyBuckets, micros: micros)
    }

    func recordLogin(status: Int, note: RouteOutcome?, micros: Int) {
        let outcome = status == 200 ? 0 : status == 503 ? 4 : status == 429 ? 3 : note == .locked ? 2 : 1
        if status == 200 || status == 401 || status == 503 || status == 429 { bump(Slot.login + outcome) }
        if note == .lockout { bump(Slot.lockouts) }
        observe(Slot.loginHist, buckets: Slot.loginBuckets, micros: micros)
    }

    func recordRefresh(status: Int, note: RouteOutcome?) {
        guard status == 200 || status == 401 else { return }
        let outcome = status == 200 ? (note == .reuseGrace ? 1 : 0) : (note == .reuseRevoked ? 2 : 3)
        bump(Slot.refresh + outcome)
    }

    /// A storage call that failed, by StorageError.Failure (busy, full, io, readonly, cantopen, nomem, other).
    func recordStorageFailure(_ kind: StorageError.Failure) {
        bump(Slot.storage + (StorageError.Failure.allCases.firstIndex(of: kind) ?? 0))
    }

    func recordLogout(status: Int, note: RouteOutcome?) {
        guard status == 200, case let .logout(scope)? = note, let i = Slot.logoutScopes.firstIndex(of: scope) else { return }
        bump(Slot.logout + i)
    }
}

/// Every worker's counters, for the scrape.
public final class MetricsRegistry: Sendable {
    private let workers = Mutex<[WorkerMetrics]>([])
    /// The responder transport's connection counters (authgate-fcgi's connection reader).
    public let transport = TransportMetrics()
    public init() {}
    func add(_ m: WorkerMetrics) { workers.withLock { $0.append(m) } }

    func sum(_ i: Int) -> Int { workers.withLock { $0.reduce(0) { $0 + $1.value(i) } } }

    /// The Prometheus text exposition (format 0.0.4).
    func render(app: App) -> String {
        typealias S = WorkerMetrics.Slot
        var out = ""
        func family(_ name: String, _ type: String, _ help: String) { out += "# HELP \(name) \(help)\n# TYPE \(name) \(type)\n" }
        family("authgate_build_info", "gauge", "Build information.")
        out += "authgate_build_info{version=\"\(App.version)\"} 1\n"
        family("authgate_verify_decisions_total", "counter", "nginx auth_request verify answers by credential kind and outcome.")
        for (k, kind) in S.verifyKinds.enumerated() {
            for (o, outcome) in S.verifyOutcomes.enumerated() {
                out += "authgate_verify_decisions_total{kind=\"\(kind)\",outcome=\"\(outcome)\"} \(sum(S.verify + k * S.verifyOutcomes.count + o))\n"
            }
        }
        family("authgate_logins_total", "counter", "Logins by outcome (rate_limited: the responder's AUTH_RATE_LIMIT; nginx's own limit_req is in its log).")
        for (i, o) in S.loginOutcomes.enumerated() { out += "authgate_logins_total{outcome=\"\(o)\"} \(sum(S.login + i))\n" }
        family("authgate_lockouts_total", "counter", "Failed logins that reached the lockout threshold.")
        out += "authgate_lockouts_total \(sum(S.lockouts))\n"
        family("authgate_refreshes_total", "counter", "Refresh-token rotations by outcome.")
        for (i, o) in S.refreshOutcomes.enumerated() { out += "authgate_refreshes_total{outcome=\"\(o)\"} \(sum(S.refresh + i))\n" }
        family("authgate_logouts_total", "counter", "Logouts by scope.")
        for (i, o) in S.logoutScopes.enumerated() { out += "authgate_logouts_total{scope=\"\(o)\"} \(sum(S.logout + i))\n" }
        family("authgate_storage_errors_total", "counter",
               "Storage calls that failed, by kind: busy (503 unavailable); full, io, readonly, cantopen, nomem (503 storage_unavailable); other (500).")
        for (i, k) in S.storageKinds.enumerated() { out += "authgate_storage_errors_total{kind=\"\(k)\"} \(sum(S.storage + i))\n" }
        if let url = app.settings.dbURL {
            family("authgate_db_connect_refused_total", "counter",
                   "New PostgreSQL connections refused, by reason: too_many_clients (SQLSTATE 53300), no_primary, not_accepting_now, unreachable (each a 503 with Retry-After).")
            for (reason, n) in PostgresRefusal.totals() { out += "authgate_db_connect_refused_total{reason=\"\(reason.rawValue)\"} \(n)\n" }
            let pool = PostgresPool.existing(url: url)?.counts ?? (open: 0, idle: 0)
            family("authgate_db_pool_connections", "gauge", "Pooled PostgreSQL connections open now, by state (the LISTEN connection is not pooled).")
            out += "authgate_db_pool_connections{state=\"busy\"} \(pool.open - pool.idle)\n"
            out += "authgate_db_pool_connections{state=\"idle\"} \(pool.idle)\n"
        }
        histogram(&out, "authgate_verify_duration_seconds", "Verify time in the responder.", S.verifyHist, S.verifyBuckets)
        histogram(&out, "authgate_login_duration_seconds", "Login time in the responder (password hash included).", S.loginHist, S.loginBuckets)
        family("authgate_hash_queue_depth", "gauge", "Password hashes running or waiting.")
        out += "authgate_hash_queue_depth \(app.hashLimiter.pending)\n"
        family("authgate_verify_metrics_enabled", "gauge", "0 when AUTH_METRICS=off: the verify counters and histogram above stand still.")
        out += "authgate_verify_metrics_enabled \(app.settings.metrics ? 1 : 0)\n"
        let reloads = app.verifyState.reloadCounts
        let vs = app.verifyState.health
        family("authgate_verify_state_reloads_total", "counter",
               "Verify state updates: full loads (start, lost watermark) and incremental applies of the change log.")
        out += "authgate_verify_state_reloads_total{kind=\"full\"} \(reloads.full)\n"
        out += "authgate_verify_state_reloads_total{kind=\"incremental\"} \(reloads.incremental)\n"
        family("authgate_verify_state_fresh", "gauge", "1 while the verify state is confirmed current within AUTH_STATE_MAX_STALE_SECONDS.")
        out += "authgate_verify_state_fresh \(vs.fresh ? 1 : 0)\n"
        family("authgate_verify_state_revoked_sessions", "gauge", "Revoked sessions the verify state holds (bounded by token lifetime).")
        out += "authgate_verify_state_revoked_sessions \(vs.revokedSessions)\n"
        family("authgate_key_ring_loaded", "gauge", "1 when the key ring on disk is the one in use.")
        out += "authgate_key_ring_loaded \(app.keys.problem == nil ? 1 : 0)\n"
        transport.render(into: &out)
        return out
    }

    private func histogram(_ out: inout String, _ name: String, _ help: String, _ base: Int, _ buckets: [Double]) {
        out += "# HELP \(name) \(help)\n# TYPE \(name) histogram\n"
        var cumulative = 0
        for (i, b) in buckets.enumerated() {
            cumulative += sum(base + i)
            out += "\(name)_bucket{le=\"\(b)\"} \(cumulative)\n"
        }
        cumulative += sum(base + buckets.count)
        out += "\(name)_bucket{le=\"+Inf\"} \(cumulative)\n"
        out += "\(name)_sum \(Double(sum(base + buckets.count + 1)) / 1e6)\n"
        out += "\(name)_count \(cumulative)\n"
    }
}
