import AuthCrypto

/// Silent renewal at a browser location (BrowserVerify.swift), in the order that keeps it cheap
/// and harmless: a refresh cookie of a session in the verify state's revoked set is refused in
/// memory (finding 9); at most one rotation attempt a second per session (RenewalThrottle); and
/// the location's policy is decided on the session's user inside the rotation's transaction,
/// before anything is written, so a 403 never throws a rotation's new cookies away (finding 8).
struct BrowserRenewal: RequestScoped {
    let worker: Worker

    func renew(_ refresh: String, _ request: Request, policy: GatePolicy,
               requestedTenant: String?) throws(AuthError) -> RenewalThrottle.Renewal {
        guard let parsed = RefreshToken.parse(refresh, ring: app.keys.current) else {
            throw AuthError.invalidToken("invalid refresh token")
        }
        if worker.state.isRevoked(sessionID: parsed.sessionID) { throw AuthError.invalidToken("session revoked") }
        // AUTH_REQUIRE_AAL 2: a level-1 session is refused before anything rotates (the new
        // cookies of a renewal that the identity check then refused would never reach the browser).
        if policy.requiredLevel >= 2, let session = try store({ try db.sessions.byID(parsed.sessionID) }),
           session.aal < Int64(policy.requiredLevel) {
            throw AuthError.mfaRequired
        }
        let admit = { (user: User) throws(AuthError) in
            try self.admitRenewal(user, policy: policy, requestedTenant: requestedTenant)
        }
        return try app.renewals.renew(sessionID: parsed.sessionID, counter: parsed.counter, now: VerifyState.monotonicNanos(),
                                      admit: admit) { (denied: inout User?) throws(AuthError) -> RenewalThrottle.Renewal in
            let tokens: IssuedTokens
            var refused: User?
            do throws(AuthError) {
                tokens = try SessionRoutes(worker: worker).rotate(refreshToken: refresh, request: request) { user throws(AuthError) in
                    do throws(AuthError) { try admit(user) } catch {
                        refused = user
                        throw error
                    }
                }
            } catch {
                denied = refused
                if error.status != 403 { app.verifyState.refreshIfChanged(force: db.isPostgres) }
                throw error
            }
            app.verifyState.refreshIfChanged()
            let now = Time.now()
            let session = try store { try db.sessions.byID(parsed.sessionID) }
            return RenewalThrottle.Renewal(accessToken: tokens.accessToken, claims: tokens.claims,
                                           cookies: session.map { worker.sessionCookies(tokens, session: $0, now: now) })
        }
    }

    /// The browser location's policy on the session's user, without side effects (the identity
    /// check after the rotation applies it again to the new token, and audits cross-tenant use).
    func admitRenewal(_ user: User, policy: GatePolicy, requestedTenant: String?) throws(AuthError) {
        if user.mustChangePassword { throw AuthError.passwordChangeRequired }
        if !policy.roles.isEmpty && !policy.roles.contains(user.role) { throw AuthError.forbidden("role not allowed") }
        if let requestedTenant, requestedTenant != user.tenantID {
            guard user.role == "platform_admin" else { throw AuthError.forbidden("not allowed for this tenant") }
            guard try store({ try db.tenants.byID(requestedTenant) }) != nil else { throw AuthError.forbidden("unknown tenant") }
        }
    }
}
