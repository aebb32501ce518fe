import AuthCrypto

/// A verified session token on an API route.
struct Principal {
    let claims: AccessClaims
    var userID: String { claims.sub }
    var tenantID: String { claims.tid }
    var role: String { claims.role }
    var sessionID: String { claims.sid }
}

extension Worker {
    /// Checks a session token exactly as the verify route does: signature, kid, iss/aud,
    /// exp/iat with leeway, then the live session state (revoked, disabled, password change).
    func authenticate(_ request: Request, allowPendingPasswordChange: Bool = false) throws(AuthError) -> Principal {
        guard let bearer = request.bearer, !bearer.isEmpty else {
            throw AuthError(status: 401, code: "invalid_token", message: "missing access token",
                            headers: [("WWW-Authenticate", "Bearer")])
        }
        switch CredentialKind.classify(bearer) {
        case .apiKey, .node:
            throw AuthError.forbidden("this route needs a session token")
        case .jwt, .unknown:
            break
        }
        let claims = try checkAccessToken(bearer)
        guard state.isFresh() else { throw AuthError.invalidToken("verify state stale") }
        switch state.sessionCheck(sid: claims.sid, userID: claims.sub, iat: claims.iat, exp: claims.exp) {
        case .ok: break
        case .revoked, .userDisabled: throw AuthError.invalidToken("session revoked")
        case .passwordChangeRequired:
            if !allowPendingPasswordChange { throw AuthError.passwordChangeRequired }
        }
        return Principal(claims: claims)
    }

    /// Signature and claims only (the session's state is `state.sessionCheck`).
    /// A token this worker already verified under the same key ring skips the HMAC and the
    /// claims parse (the result depends only on the token, the ring, iss/aud and the clock);
    /// exp/iat are re-checked against the current time by the rule `JWT.verify` uses
    /// (`AccessClaims.timeError`).
    func checkAccessToken(_ token: String) throws(AuthError) -> AccessClaims {
        let now = Time.now()
        let ring = app.keys.current(cache: &tokenMemo.ringCache)
        let leeway = settings.clockLeeway
        let claims: AccessClaims
        if let known = tokenMemo.claims(for: token, ring: ring) {
            guard known.timeError(now: now, leeway: leeway) == nil else { throw AuthError.invalidToken() }
            claims = known
        } else {
            let result = JWT.verify(token, ring: ring, issuer: settings.issuer,
                                    audience: settings.audience, now: now, leeway: leeway)
            guard case let .success(verified) = result else { throw AuthError.invalidToken() }
            tokenMemo.remember(token, verified, ring: ring)
            claims = verified
        }
        return claims
    }

    /// Roles admin and platform_admin; the acting tenant honours a platform_admin's `?tenant_id=`.
    func requireAdmin(_ request: Request) throws(AuthError) -> (Principal, tenantID: String) {
        let p = try authenticate(request)
        guard Validation.rank(p.role) >= Validation.rank("admin") else {
            throw AuthError.forbidden("this route needs role admin or above")
        }
        let tenant = try actingTenant(request, homeTenant: p.tenantID, isPlatformAdmin: p.role == "platform_admin")
        if tenant != p.tenantID {
            audit("cross_tenant_access", tenantID: tenant, actor: p.userID, request: request,
                  detail: "\(request.method) \(request.path)")
        }
        return (p, tenant)
    }

    /// `?tenant_id=`: a platform_admin may name any existing tenant; anyone else only their own.
    /// Read through the one shared parser (`gateTenant`): repeated or disguised forms are refused.
    func actingTenant(_ request: Request, homeTenant: String, isPlatformAdmin: Bool) throws(AuthError) -> String {
        guard let requested = try gateTenant(request.query) else { return homeTenant }
        if requested == homeTenant { return homeTenant }
        guard isPlatformAdmin else { throw AuthError.forbidden("not allowed for this tenant") }
        guard (try store { try db.tenants.byID(requested) }) != nil else {
            throw AuthError.forbidden("unknown tenant")
        }
        return requested
    }
}
