import AuthCrypto

/// A user's sessions: refresh (Refresh.swift), logout (Logout.swift), listing and revoking one.
struct SessionRoutes: RequestScoped {
    let worker: Worker

    static func register(_ r: inout Router) {
        r.add("POST", "/api/v1/auth/refresh", metrics: .refresh, mayRevoke: false, handler(Self.refresh))
        r.add("POST", "/api/v1/auth/logout", metrics: .logout, handler(Self.logout))
        r.add("GET", "/api/v1/auth/sessions", handler(Self.listSessions))
        r.add("DELETE", "/api/v1/auth/sessions/{}", handler(Self.revokeSession))
    }

    /// `GET /api/v1/auth/sessions`: the caller's live sessions (bearer token, or the browser's
    /// access cookie for the account page, with the same-origin rule for the DELETE).
    func listSessions(_ request: Request) throws(AuthError) -> Response {
        let p = try auth.bearerOrCookie(request)
        let now = Time.now()
        let sessions = try store {
            try db.sessions.listLive(userID: p.userID, now: now, maxAge: settings.sessionMax)
        }
        let pf = profile
        return pf.respond(200, .array(sessions.map { s in
            .object([("id", .string(s.id)), ("created_at", pf.timestamp(s.createdAt)),
                     ("refreshed_at", pf.timestamp(s.refreshedAt)), ("user_agent", .string(s.userAgent)),
                     ("ip", .string(s.ip)), ("current", .bool(s.id == p.sessionID))])
        }))
    }

    /// `DELETE /api/v1/auth/sessions/{id}`: only the caller's own sessions.
    func revokeSession(_ request: Request, _ params: [String]) throws(AuthError) -> Response {
        let p = try auth.bearerOrCookie(request)
        let id = params[0].lowercased()
        guard let session = try store({ try db.sessions.byID(id) }),
              session.userID == p.userID, session.revokedAt == nil else { throw AuthError.notFound }
        try write {
            _ = try db.sessions.revoke(id: id, reason: "revoked_by_user", now: Time.now())
            try recordAudit("session_revoked", tenantID: p.tenantID, actor: p.userID, request: request, detail: "session \(id)")
        }
        return profile.respond(200, APIProfile.successTrue)
    }
}
