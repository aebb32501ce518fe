import AuthCrypto

/// A verified session token on an API route.
struct Principal {
    let claims: AccessClaims
    var userID: String { claims.sub }
    var tenantID: String { claims.tid }
    var role: String { claims.role }
    var sessionID: String { claims.sid }
}

/// Who calls an API route: the session token's checks (the Gate's one rule), the admin rule and
/// the acting tenant, for the worker serving the request.
struct Authenticator: RequestScoped {
    let worker: Worker

    /// The request's bearer as a session token (`authenticate(token:)`).
    func authenticate(_ request: Request, allowPendingPasswordChange: Bool = false) throws(AuthError) -> Principal {
        try authenticate(token: request.bearer, allowPendingPasswordChange: allowPendingPasswordChange)
    }

    /// A session token, checked by the Gate's one session-token rule (the verify route's):
    /// signature, kid, iss/aud, exp/iat with leeway, then the live session state (revoked,
    /// disabled, password change). The browser flows pass the access cookie.
    func authenticate(token: String?, allowPendingPasswordChange: Bool = false) throws(AuthError) -> Principal {
        guard let token, !token.isEmpty else {
            throw AuthError(status: 401, code: "invalid_token", message: "missing access token",
                            headers: [("WWW-Authenticate", "Bearer")])
        }
        switch CredentialKind.classify(token) {
        case .apiKey, .node:
            throw AuthError.forbidden("this route needs a session token")
        case .jwt, .unknown:
            break
        }
        return Principal(claims: try worker.gate.sessionToken(token, now: Time.now(),
                                                       allowPendingPasswordChange: allowPendingPasswordChange))
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
    /// Read through the one shared parser (`Request.requestedTenant`): repeated or disguised forms are refused.
    func actingTenant(_ request: Request, homeTenant: String, isPlatformAdmin: Bool) throws(AuthError) -> String {
        guard let requested = try request.requestedTenant() else { return homeTenant }
        if requested == homeTenant { return homeTenant }
        guard isPlatformAdmin else { throw AuthError.forbidden("not allowed for this tenant") }
        guard (try store { try db.tenants.byID(requested) }) != nil else {
            throw AuthError.forbidden("unknown tenant")
        }
        return requested
    }

    /// The caller of a management route: the bearer token, or (no Authorization header) the
    /// browser's access cookie, with the same-origin rule for anything but a GET (CSRF).
    func bearerOrCookie(_ request: Request) throws(AuthError) -> Principal {
        if request.bearer == nil, worker.accessCookie(request) != nil {
            if request.method != "GET" { try worker.requireSameOrigin(request) }
            return try authenticate(token: worker.accessCookie(request))
        }
        return try authenticate(request)
    }

    /// A session at level 2 when the user has an active factor; 401 `mfa_required` otherwise
    /// (password change, factor removal, recovery code regeneration).
    func requireSecondFactorIfEnrolled(_ p: Principal) throws(AuthError) {
        guard p.claims.aal < 2 else { return }
        if try store({ try db.mfa.hasActiveFactor(userID: p.userID) }) { throw AuthError.mfaRequired }
    }
}
