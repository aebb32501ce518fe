import AuthCrypto

extension Worker {
    /// `GET /api/v1/auth/sessions`: the caller's live sessions (bearer token, or the browser's
    /// access cookie for the account page, with the same-origin rule for the DELETE).
    static let listSessions: Router.Handler = { worker, request, _ throws(AuthError) in
        let p = try worker.mfaPrincipal(request)
        let now = Time.now()
        let sessions = try worker.store {
            try worker.db.sessions.listLive(userID: p.userID, now: now, maxAge: worker.settings.sessionMax)
        }
        let pf = worker.profile
        return pf.respond(200, .array(sessions.map { s in
            .object([("id", .string(s.id)), ("created_at", pf.timestamp(s.createdAt)),
                     ("refreshed_at", pf.timestamp(s.refreshedAt)), ("user_agent", .string(s.userAgent)),
                     ("ip", .string(s.ip)), ("current", .bool(s.id == p.sessionID))])
        }))
    }

    /// `DELETE /api/v1/auth/sessions/{id}`: only the caller's own sessions.
    static let revokeSession: Router.Handler = { worker, request, params throws(AuthError) in
        let p = try worker.mfaPrincipal(request)
        let id = params[0].lowercased()
        guard let session = try worker.store({ try worker.db.sessions.byID(id) }),
              session.userID == p.userID, session.revokedAt == nil else { throw AuthError.notFound }
        try worker.write {
            _ = try worker.db.sessions.revoke(id: id, reason: "revoked_by_user", now: Time.now())
            try worker.recordAudit("session_revoked", tenantID: p.tenantID, actor: p.userID, request: request, detail: "session \(id)")
        }
        return worker.profile.respond(200, APIProfile.successTrue)
    }

    static func registerAuthRoutes(_ r: inout Router) {
        r.add("POST", "/api/v1/auth/login", metrics: .login, mayRevoke: false, login)
        r.add("POST", "/api/v1/auth/refresh", metrics: .refresh, mayRevoke: false, refresh)
        r.add("POST", "/api/v1/auth/logout", metrics: .logout, logout)
        r.add("GET", "/api/v1/auth/me", me)
        r.add("POST", "/api/v1/auth/me/password", changePassword)
        r.add("GET", "/api/v1/auth/sessions", listSessions)
        r.add("DELETE", "/api/v1/auth/sessions/{}", revokeSession)
        registerMFARoutes(&r)
    }
}
