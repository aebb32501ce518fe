import AuthCrypto

/// What the gate cannot decide from memory, for one request: does a tenant a platform admin
/// names exist, and a browser session's renewal (a rotation in the store). The responder's
/// worker provides it; the companion has none (`NoGateStore`: it names no tenant, renews nothing).
public protocol GateStore {
    func tenantExists(_ id: String) throws(AuthError) -> Bool
    func renew(_ refresh: String, policy: GatePolicy, requestedTenant: String?) throws(AuthError) -> GateRenewal
}

/// A renewal's result: the claims of the access token it minted (not parsed back from the
/// token) and the cookie lines that carry the new pair (nil when the session vanished meanwhile).
public struct GateRenewal: Sendable {
    public var claims: AccessClaims
    public var accessToken: String
    public var cookies: Decision.Renewal?

    public init(claims: AccessClaims, accessToken: String, cookies: Decision.Renewal?) {
        self.claims = claims
        self.accessToken = accessToken
        self.cookies = cookies
    }
}

public struct NoGateStore: GateStore {
    public init() {}
    public func tenantExists(_ id: String) throws(AuthError) -> Bool { false }
    public func renew(_ refresh: String, policy: GatePolicy, requestedTenant: String?) throws(AuthError) -> GateRenewal {
        throw AuthError.invalidToken("no renewal here")
    }
}

/// One per thread (a responder worker, the companion's loop): credential + policy -> Decision.
/// The only caller of the verify state's freshness and session checks, so the session-token
/// rule (signature, kid, iss/aud, exp/iat with leeway, then revoked / disabled / password
/// change) is written once for the API routes, every door and the companion.
public final class Gate {
    let keys: KeyRingStore
    public let state: VerifyReader
    private(set) var issuer: String
    private(set) var audience: String
    /// `AUTH_CLOCK_LEEWAY`, unless a policy names its own.
    private(set) var leeway: Int64
    /// Browser locations: an access cookie this close to its `exp` is renewed from the refresh cookie.
    private(set) var renewWindow: Int64
    /// Access tokens this thread already verified (performance only).
    let tokenMemo = VerifiedTokenMemo()

    public init(keys: KeyRingStore, state: VerifyReader, settings: Settings) {
        self.keys = keys
        self.state = state
        issuer = settings.issuer
        audience = settings.audience
        leeway = settings.clockLeeway
        renewWindow = min(settings.browser.renewBeforeSeconds, settings.jwtTTL / 4)
    }

    /// Settings a SIGHUP reloaded.
    public func configure(_ settings: Settings) {
        issuer = settings.issuer
        audience = settings.audience
        leeway = settings.clockLeeway
        renewWindow = min(settings.browser.renewBeforeSeconds, settings.jwtTTL / 4)
    }

    /// The decision for one credential at one location. `requestedTenant`: the original
    /// request's `?tenant_id=` (parsed at the door, which refuses the disguised forms).
    public func decide<S: GateStore>(_ credential: Credential, policy: GatePolicy, requestedTenant: String?,
                                     now: Int64, store: S) -> Decision {
        do throws(AuthError) {
            switch credential {
            case let .bearer(token):
                return try bearer(token, policy: policy, requestedTenant: requestedTenant, now: now, store: store)
            case let .sessionToken(token):
                guard !token.isEmpty else { throw AuthError.invalidToken("missing token") }
                guard state.isFresh() else { throw AuthError.invalidToken("verify state stale") }
                let claims = try accessClaims(token, now: now, leeway: policy.leeway ?? leeway)
                let identity = try user(claims, policy: policy, kindAllowed: true, requestedTenant: requestedTenant, store: store)
                return .allow(identity, renewal: nil, cacheable: false)
            case let .cookies(access, refresh):
                return try cookies(access: access, refresh: refresh, policy: policy, requestedTenant: requestedTenant,
                                   now: now, store: store)
            }
        } catch {
            return .deny(error)
        }
    }

    public func decide(_ credential: Credential, policy: GatePolicy, now: Int64) -> Decision {
        decide(credential, policy: policy, requestedTenant: nil, now: now, store: NoGateStore())
    }

    private func bearer<S: GateStore>(_ token: String, policy: GatePolicy, requestedTenant: String?, now: Int64,
                                      store: S) throws(AuthError) -> Decision {
        guard !token.isEmpty else { throw AuthError(status: 401, code: "invalid_token", message: "missing credential") }
        // Fail closed: a state that cannot be confirmed current answers nothing but 401.
        guard state.isFresh() else { throw AuthError.invalidToken("verify state stale") }
        switch CredentialKind.classify(token) {
        case .jwt:
            let verified = try verifiedAccess(token, now: now, leeway: policy.leeway ?? leeway)
            let identity = try user(verified.claims, policy: policy, kindAllowed: policy.allowUser,
                                    requestedTenant: requestedTenant, store: store, memo: verified)
            return .allow(identity, renewal: nil, cacheable: true)
        case .apiKey:
            guard let key = state.apiKey(digest: CredentialKeys.digest(token)) else {
                throw AuthError.invalidToken("unknown api key")
            }
            guard policy.allowAPIKey else { throw AuthError.forbidden("api keys not accepted here") }
            if let requestedTenant, requestedTenant != key.tenantID { throw AuthError.forbidden("other tenant") }
            if !policy.roles.isEmpty { throw AuthError.forbidden("role required") }
            return .allow(.apiKey(key), renewal: nil, cacheable: true)
        case .node:
            guard let node = state.node(digest: CredentialKeys.digest(token)) else {
                throw AuthError.invalidToken("unknown node key")
            }
            guard policy.allowNode else { throw AuthError.forbidden("node keys not accepted here") }
            if !policy.roles.isEmpty { throw AuthError.forbidden("role required") }
            // Node identity is forced from the key; naming another tenant is refused, as for API keys.
            if let requestedTenant, requestedTenant != node.tenantID { throw AuthError.forbidden("other tenant") }
            return .allow(.node(node), renewal: nil, cacheable: true)
        case .unknown:
            throw AuthError.invalidToken("unrecognized credential")
        }
    }

    /// A verified session token (bearer or cookie): the live session state, the location's
    /// kinds, roles, required level (`mfa_required`) and `?tenant_id=`.
    /// `memo`: the verified-token memo's entry these claims are (its session key and its
    /// own-tenant identity are made once per token).
    func user<S: GateStore>(_ claims: AccessClaims, policy: GatePolicy, kindAllowed: Bool, requestedTenant: String?,
                            store: S, memo: VerifiedTokenMemo.Entry? = nil) throws(AuthError) -> Identity {
        if let memo {
            try checkSession(claims, key: memo.sessionKey)
        } else {
            try checkSession(claims)
        }
        guard kindAllowed else { throw AuthError.forbidden("user tokens not accepted here") }
        if !policy.roles.isEmpty && !policy.roles.contains(claims.role) {
            throw AuthError.forbidden("role not allowed")
        }
        // AUTH_REQUIRE_AAL 2 / a `|aal2` route (issue 21): after the role, so a wrong role stays a 403.
        if claims.aal < Int64(policy.requiredLevel) { throw AuthError.mfaRequired }
        var tenant = claims.tid
        if let requestedTenant, requestedTenant != claims.tid {
            guard claims.role == "platform_admin" else { throw AuthError.forbidden("not allowed for this tenant") }
            guard try store.tenantExists(requestedTenant) else { throw AuthError.forbidden("unknown tenant") }
            tenant = requestedTenant
        }
        if let memo, tenant == claims.tid { return memo.ownTenantIdentity }
        return .user(claims, tenant: tenant)
    }

    // MARK: the session-token check

    /// A session token on an API route: signature and claims, then (the state confirmed
    /// current) the live session state. `allowPendingPasswordChange`: the routes that let a
    /// user change the password.
    public func sessionToken(_ token: String, now: Int64, allowPendingPasswordChange: Bool = false) throws(AuthError) -> AccessClaims {
        let claims = try accessClaims(token, now: now, leeway: leeway)
        guard state.isFresh() else { throw AuthError.invalidToken("verify state stale") }
        try checkSession(claims, allowPendingPasswordChange: allowPendingPasswordChange)
        return claims
    }

    /// A live connection's session, re-checked (the companion's tick): still valid, the state
    /// can no longer be confirmed current, or ended (revoked, user disabled, password change).
    public enum Recheck: Sendable { case valid, stale, ended }

    public func recheck(_ identity: Identity) -> Recheck {
        guard state.isFresh() else { return .stale }
        switch state.sessionCheck(sid: identity[.sessionID] ?? "", userID: identity[.userID] ?? "",
                                  iat: identity.issuedAt, exp: identity.expires) {
        case .ok: return .valid
        case .revoked, .userDisabled, .passwordChangeRequired: return .ended
        }
    }

    /// The live session state of a token whose signature and claims passed.
    func checkSession(_ claims: AccessClaims, allowPendingPasswordChange: Bool = false) throws(AuthError) {
        try checkSession(state.sessionCheck(sid: claims.sid, userID: claims.sub, iat: claims.iat, exp: claims.exp),
                         allowPendingPasswordChange: allowPendingPasswordChange)
    }

    /// The same with the session id's key already made (`SessionKey(claims.sid)`).
    func checkSession(_ claims: AccessClaims, key: SessionKey?) throws(AuthError) {
        try checkSession(state.sessionCheck(key: key, sid: claims.sid, userID: claims.sub, iat: claims.iat, exp: claims.exp),
                         allowPendingPasswordChange: false)
    }

    private func checkSession(_ check: SessionCheck, allowPendingPasswordChange: Bool) throws(AuthError) {
        switch check {
        case .ok: break
        case .revoked, .userDisabled: throw AuthError.invalidToken("session revoked")
        case .passwordChangeRequired:
            if !allowPendingPasswordChange { throw AuthError.passwordChangeRequired }
        }
    }

    /// Signature and claims only. A token this thread already verified under the same key ring
    /// skips the HMAC and the claims parse (the result depends only on the token, the ring,
    /// iss/aud and the clock); exp/iat are re-checked against `now` by the rule `JWT.verify`
    /// uses (`AccessClaims.timeError`).
    func accessClaims(_ token: String, now: Int64, leeway: Int64) throws(AuthError) -> AccessClaims {
        try verifiedAccess(token, now: now, leeway: leeway).claims
    }

    /// The same as the memo's entry for the token (made now if the token was not remembered).
    func verifiedAccess(_ token: String, now: Int64, leeway: Int64) throws(AuthError) -> VerifiedTokenMemo.Entry {
        let ring = keys.current(cache: &tokenMemo.ringCache)
        if let known = tokenMemo.entry(for: token, ring: ring) {
            guard known.claims.timeError(now: now, leeway: leeway) == nil else { throw AuthError.invalidToken() }
            return known
        }
        let result = JWT.verify(token, ring: ring, issuer: issuer, audience: audience, now: now, leeway: leeway)
        guard case let .success(verified) = result else { throw AuthError.invalidToken() }
        return tokenMemo.remember(token, verified, ring: ring)
    }
}
