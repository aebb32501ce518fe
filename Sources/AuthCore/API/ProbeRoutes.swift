import AuthCrypto

/// The probes and the scrape: `GET /api/v1/health`, `/ready` (Readiness.swift) and `/metrics`.
enum ProbeRoutes {
    static func register(_ r: inout Router) {
        r.add("GET", "/api/v1/health", health)
        r.add("GET", "/api/v1/ready", ready)
        r.add("GET", "/api/v1/metrics", metrics)
    }

    /// `GET /api/v1/health`: the database answers, the verify state is fresh, the key ring
    /// loads. The database round trip runs at most once a second (ProbeCache); the answer holds
    /// booleans and counts only, the details go to the log.
    static let health: Router.Handler = { worker, _, _ throws(AuthError) in
        let db = worker.app.probes.outcome(.health, log: worker.app.log) {
            let ok = worker.db.isReachable()
            return ProbeCache.Outcome(ok: ok, failing: ok ? [] : ["database"],
                                      details: ok ? [] : ["database \(worker.settings.dbDescription) does not answer"])
        }
        let dbOK = db.ok
        _ = worker.state.isFresh()
        let v = worker.app.verifyState.health
        let keyOK = worker.app.keys.problem == nil
        let ok = dbOK && v.fresh && keyOK
        var state: [(String, JSON)] = [
            ("fresh", .bool(v.fresh)), ("age_ms", .int(v.ageMillis)),
            ("revoked_sessions", .int(Int64(v.revokedSessions))), ("blocked_users", .int(Int64(v.blockedUsers))),
        ]
        if v.error != nil { state.append(("error", .string("the verify state cannot be refreshed; see the log"))) }
        var key: [(String, JSON)] = [("ok", .bool(keyOK))]
        if !keyOK { key.append(("error", .string("the key ring cannot be loaded; see the log"))) }
        return worker.profile.respond(ok ? 200 : 503, .object([
            ("status", .string(ok ? "ok" : "degraded")),
            ("version", .string(App.version)),
            ("database", .bool(dbOK)),
            ("verify_state", .object(state)),
            ("key_ring", .object(key)),
        ]))
    }

    /// `GET /api/v1/metrics`: Prometheus text format; nginx allows it from loopback only.
    static let metrics: Router.Handler = { worker, _, _ throws(AuthError) in
        Response(status: 200, headers: [("Content-Type", "text/plain; version=0.0.4; charset=utf-8")],
                 body: Array((worker.app.metrics.render(app: worker.app) + MailMetrics.render(worker.db, worker.app.mail)).utf8))
    }
}
