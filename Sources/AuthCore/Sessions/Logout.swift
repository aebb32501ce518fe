import AuthCrypto

extension SessionRoutes {
    /// `POST /api/v1/auth/logout[?scope=local|global|others]`, with a session token, or with
    /// `{refresh_token}` when the access token has expired. Revokes (Get2Dial documents logout
    /// as audit-only; Authgate revokes, deliberately).
    func logout(_ request: Request) throws(AuthError) -> Response {
        let scopes = request.rawQueryValues("scope")
        guard scopes.count <= 1 else { throw AuthError.invalidRequest("scope given twice") }
        let scope = scopes.first.map(String.init) ?? "local"
        guard ["local", "global", "others"].contains(scope) else {
            throw AuthError.invalidRequest("scope must be local, global or others")
        }
        let (userID, sessionID, tenantID) = try logoutSubject(request, bearer: request.bearer,
                                                              refreshToken: { () throws(AuthError) in try Body(request).string("refresh_token") })
        let now = Time.now()
        // The revocation and its audit row as one write: a logout that cannot be recorded
        // answers 503 and revokes nothing, never a success.
        try write {
            switch scope {
            case "global": _ = try db.sessions.revokeAll(userID: userID, reason: "logout_global", now: now, except: nil)
            case "others": _ = try db.sessions.revokeAll(userID: userID, reason: "logout_others", now: now, except: sessionID)
            default: _ = try db.sessions.revoke(id: sessionID, reason: "logout", now: now)
            }
            try recordAudit("logout", tenantID: tenantID, actor: userID, request: request, detail: "scope=\(scope) session=\(sessionID)")
        }
        var response = profile.respond(200, APIProfile.successTrue)
        response.outcome = .logout(scope: scope)   // metrics only
        return response
    }

    /// The session a logout is about: the access token's (`bearer`), else the refresh token's
    /// (the API's body, the browser's refresh cookie).
    func logoutSubject(_ request: Request, bearer: String?, refreshToken: () throws(AuthError) -> String?)
        throws(AuthError) -> (user: String, session: String, tenant: String?) {
        if bearer != nil {
            do {
                let p = try auth.authenticate(token: bearer, allowPendingPasswordChange: true)
                return (p.userID, p.sessionID, p.tenantID)
            } catch where error.status == 403 {
                throw error
            } catch {
                // An expired access token may still be paired with a refresh token.
                if (try? refreshToken()) == nil { throw error }
            }
        }
        guard let token = try refreshToken(), !token.isEmpty else {
            throw AuthError(status: 401, code: "invalid_token", message: "missing access token",
                            headers: [("WWW-Authenticate", "Bearer")])
        }
        guard let parsed = RefreshToken.parse(token, ring: app.keys.current),
              let session = try store({ try db.sessions.byID(parsed.sessionID) }),
              session.revokedAt == nil,
              Int64(bitPattern: parsed.counter) == session.counter
                || Int64(bitPattern: parsed.counter) == session.counter - 1
        else { throw AuthError.invalidToken("invalid refresh token") }
        let user = try store { try db.users.byID(session.userID) }
        return (session.userID, session.id, user?.tenantID)
    }
}
