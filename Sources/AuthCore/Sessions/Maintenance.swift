import AuthCrypto

extension App {
    /// Prunes sessions whose refresh token is dead (idle past AUTH_REFRESH_TTL_SECONDS and any
    /// access token long expired) and audit rows older than AUTH_AUDIT_RETENTION_DAYS.
    /// The responder runs it at start and then hourly on its own connection.
    @discardableResult
    public func runMaintenance(db: Database, now: Int64 = Time.now()) -> (sessions: Int, audit: Int) {
        // The verify change log: a day is far more than any process lags behind.
        do { try db.pruneVerifyChanges(before: now - 86_400) } catch { log.error("maintenance: verify_changes prune failed: \(error)") }
        // Issue 23: used or expired account tokens after a day; the outbox's sent rows (metadata)
        // and dead rows' text after the audit retention, like the audit rows.
        do {
            try db.accountTokens.prune(before: now - 86_400)
            try db.outbox.prune(before: now - Int64(settings.auditRetentionDays) * 86_400)
        } catch { log.error("maintenance: mail prune failed: \(error)") }
        // A revoked session's row must outlive every access token it issued (a reuse-window
        // replay issues one up to AUTH_REFRESH_REUSE_SECONDS after the last rotation).
        let sessionCutoff = now - max(settings.refreshTTL, settings.jwtTTL + settings.clockLeeway + settings.refreshReuse)
        let auditCutoff = now - Int64(settings.auditRetentionDays) * 86_400
        do {
            let s = try db.sessions.pruneExpired(before: sessionCutoff)
            let a = try db.audit.prune(before: auditCutoff)
            if s > 0 || a > 0 { log.info("maintenance: pruned \(s) sessions, \(a) audit rows") }
            return (s, a)
        } catch {
            log.error("maintenance failed: \(error)")
            return (0, 0)
        }
    }
}
