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
    /// Repeated or percent-encoded forms are refused.
    func actingTenant(_ request: Request, homeTenant: String, isPlatformAdmin: Bool) throws(AuthError) -> String {
        guard let requested = try requestedTenant(query: request.query) else { return homeTenant }
        if requested == homeTenant { return homeTenant }
        guard isPlatformAdmin else { throw AuthError.forbidden("not allowed for this tenant") }
        guard (try store { try db.tenants.byID(requested) }) != nil else {
            throw AuthError.forbidden("unknown tenant")
        }
        return requested
    }

    /// The single raw `tenant_id` value of a query, nil when absent; 403 when ambiguous: repeated,
    /// or spelled so that some app framework reads it as `tenant_id` (percent-encoded, `+`, PHP's
    /// `tenant.id` / `tenant id` / `tenant[id` / `tenant_id[]`, other letter case, `;` separators).
    func requestedTenant(query: String) throws(AuthError) -> String? {
        guard !query.isEmpty else { return nil }
        var found: String?
        for pair in query.split(whereSeparator: { $0 == "&" || $0 == ";" }) {
            let eq = pair.firstIndex(of: "=") ?? pair.endIndex
            let name = pair[..<eq]
            let value = eq == pair.endIndex ? Substring("") : pair[pair.index(after: eq)...]
            let isTenant = name == "tenant_id"
            if !isTenant, Self.frameworkParameterName(name) == "tenant_id" {
                throw AuthError.forbidden("encoded tenant_id")
            }
            guard isTenant else { continue }
            if found != nil { throw AuthError.forbidden("repeated tenant_id") }
            guard !value.isEmpty, !value.contains("%"), !value.contains("+") else {
                throw AuthError.forbidden("malformed tenant_id")
            }
            found = String(value)
        }
        return found
    }

    /// The name a lenient framework would see: percent-decoded, `+` as space, lowercased, a
    /// `[...]` suffix dropped (PHP arrays), and `.`, space and `[` turned into `_` (PHP).
    static func frameworkParameterName(_ raw: Substring) -> String {
        var name = (percentDecoded(raw) ?? String(raw)).lowercased()
        if let open = name.firstIndex(of: "["), name[open...].contains("]") {
            name = String(name[..<open])
        }
        return String(name.map { $0 == "." || $0 == " " || $0 == "[" ? "_" : $0 })
    }

    static func percentDecoded(_ s: Substring) -> String? {
        var bytes: [UInt8] = []
        var it = s.utf8.makeIterator()
        while let b = it.next() {
            if b == UInt8(ascii: "%") {
                guard let h = it.next(), let l = it.next(), let v = UInt8(String(decoding: [h, l], as: UTF8.self), radix: 16)
                else { return nil }
                bytes.append(v)
            } else if b == UInt8(ascii: "+") {
                bytes.append(32)
            } else {
                bytes.append(b)
            }
        }
        return String(validating: bytes, as: UTF8.self)
    }
}
