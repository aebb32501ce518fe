import AuthCrypto

extension SessionRoutes {
    /// `POST /api/v1/auth/refresh`: rotates the session's refresh counter. Refreshes of one
    /// session are serialized by an immediate transaction (SQLite) or a row lock (PostgreSQL, across
    /// hosts), never held across a hash. A replay
    /// of the just-rotated token within AUTH_REFRESH_REUSE_SECONDS gets the current pair (tabs
    /// racing); any older token, or that one after the window, revokes the whole session.
    func refresh(_ request: Request) throws(AuthError) -> Response {
        let body = try Body(request)
        guard let token = try? body.string("refresh_token"), !token.isEmpty else {
            throw AuthError.invalidRequest("missing refresh token")
        }
        let tokens = try rotate(refreshToken: token, request: request)
        var response = issuer.response(tokens)
        if tokens.inGrace { response.outcome = .reuseGrace }   // metrics only
        return response
    }

    /// The one rotation (API refresh and the browser's silent renewal): the session's current
    /// pair, or 401 `invalid_token`; a replay outside the reuse window revokes the session.
    /// `admit` (the browser location's policy) runs on the session's user inside the transaction,
    /// before anything is written: when it throws, nothing rotates (review finding 8).
    func rotate(refreshToken token: String, request: Request,
                admit: ((User) throws(AuthError) -> Void)? = nil) throws(AuthError) -> IssuedTokens {
        guard let parsed = RefreshToken.parse(token, ring: app.keys.current) else {
            throw AuthError.invalidToken("invalid refresh token")
        }
        let now = Time.now()
        enum Outcome { case rotated(Session, User, Int64), reused(Session), refused(String) }
        let outcome: Outcome = try store {
            try db.transaction(immediate: true) { () throws -> Outcome in
                guard let session = try db.sessions.byIDForUpdate(parsed.sessionID) else { return .refused("unknown session") }
                if session.revokedAt != nil { return .refused("session revoked") }
                if now - session.createdAt >= settings.sessionMax { return .refused("session past its maximum age") }
                if now - session.refreshedAt >= settings.refreshTTL { return .refused("refresh token expired") }
                guard let user = try db.users.byID(session.userID), user.status == "active" else {
                    return .refused("user not active")
                }
                let presented = Int64(bitPattern: parsed.counter)
                // The grace is the window after the rotation: a rotation "in the future" (the
                // clock stepped back since) beyond the clock leeway is outside it, or the replay
                // window would stretch by the whole step.
                let sinceRotation = now - session.rotatedAt
                let inGrace = presented == session.counter - 1 && sinceRotation <= settings.refreshReuse
                    && sinceRotation >= -settings.clockLeeway
                if presented == session.counter || inGrace { try admit?(user) }
                if presented == session.counter {
                    guard try db.sessions.advance(id: session.id, from: session.counter, now: now) else {
                        return .refused("lost a refresh race")
                    }
                    return .rotated(session, user, session.counter + 1)
                }
                if inGrace {
                    return .rotated(session, user, session.counter)
                }
                _ = try db.sessions.revoke(id: session.id, reason: "refresh_token_reused", now: now)
                return .reused(session)
            }
        }
        switch outcome {
        case let .rotated(session, user, counter):
            var tokens = issuer.issue(user: user, session: session, counter: counter, now: now)
            tokens.inGrace = counter == session.counter
            return tokens
        case let .reused(session):
            let user = (try? db.users.byID(session.userID)) ?? nil
            audit("refresh_token_reused", tenantID: user?.tenantID, actor: session.userID, request: request,
                  detail: "session \(session.id) revoked")
            throw AuthError.invalidToken("invalid refresh token").noting(.reuseRevoked)
        case .refused:
            throw AuthError.invalidToken("invalid refresh token")
        }
    }
}
