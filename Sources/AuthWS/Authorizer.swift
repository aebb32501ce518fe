import AuthCore
import AuthCrypto

/// The upgrade-time decision and the per-tick re-check, through the same core as the verify route:
/// the key ring file and this process's `VerifyState` (refreshed by its own thread; the loop
/// reads it without a lock).
final class Authorizer {
    let settings: Settings
    let keys: KeyRingStore
    let verifyState: VerifyState
    let state: VerifyReader

    init(settings: Settings, log: Logger = Logger()) throws {
        self.settings = settings
        keys = try KeyRingStore(path: settings.keysFile, onProblem: KeyRingStore.logger(log))
        let db = try Database(settings: settings)
        try db.migrate()
        verifyState = try VerifyState(settings: settings, log: log)
        state = verifyState.makeReader()
    }

    /// 401 for a missing/bad/expired/revoked token (or one expiring within the clock leeway),
    /// 403 for a pending password change or a role the route does not allow.
    func authorize(token: String?, route: WSRoute, now: Int64) -> Result<WSIdentity, AuthError> {
        guard let token, !token.isEmpty else { return .failure(.invalidToken("missing token")) }
        // The HTTP verify's leeway: a token minted on a host whose clock runs a second ahead is
        // not refused here for that second. An expired one still is (the guard below).
        let claims: AccessClaims
        switch JWT.verify(token, ring: keys.current, issuer: settings.issuer, audience: settings.audience,
                          now: now, leeway: settings.clockLeeway) {
        case let .success(c): claims = c
        case .failure: return .failure(.invalidToken())
        }
        // Accepting a token only to cut it a moment later helps nobody.
        guard claims.exp - now > settings.clockLeeway else { return .failure(.invalidToken("token expires too soon")) }
        let identity = WSIdentity(userID: claims.sub, tenantID: claims.tid, role: claims.role, email: claims.email,
                                  sessionID: claims.sid, iat: claims.iat, exp: claims.exp)
        // These values become header lines upstream.
        for v in [identity.userID, identity.tenantID, identity.role, identity.email, identity.sessionID]
        where v.utf8.contains(where: { $0 < 32 || $0 == 127 }) {
            return .failure(.invalidToken())
        }
        // An upgrade is rare next to frames: it catches up with anything committed before it
        // (cheap when nothing was), so a session revoked a moment ago is refused here. On a
        // store whose reads may wait on the network (PostgreSQL) the loop never reads: its
        // refresher thread applies notifications within milliseconds.
        verifyState.catchUp()
        guard state.isFresh() else { return .failure(.invalidToken("verify state stale")) }
        switch state.sessionCheck(sid: claims.sid, userID: claims.sub, iat: claims.iat, exp: claims.exp) {
        case .ok: break
        case .revoked, .userDisabled: return .failure(.invalidToken("session revoked"))
        case .passwordChangeRequired: return .failure(.passwordChangeRequired)
        }
        guard route.roles.contains(claims.role) else { return .failure(.forbidden("role not allowed on this route")) }
        if claims.aal < route.requiredAAL { return .failure(.mfaRequired) }
        return .success(identity)
    }

    /// Why a live connection must end now, if it must. The token expires at `exp` on the wall
    /// clock or when the lifetime it had left at the upgrade has run out on the monotonic clock,
    /// whichever comes first (a clock stepped back does not extend a socket).
    func cutReason(_ id: WSIdentity, nowMillis: Int64, nowMonoMillis: Int64) -> (WebSocketCloseCode, String)? {
        if nowMillis >= id.exp * 1000 || nowMonoMillis >= id.expMonoMillis { return (.tokenExpired, "token expired") }
        // A state that can no longer be confirmed current cannot vouch for anyone, but a
        // connection that was valid at the last confirmed state is kept for
        // AUTH_WS_STALE_GRACE_SECONDS (PostgreSQL: 60 s, so a database blink closes nothing;
        // revocations made meanwhile are cut at the first tick after the state is current again).
        if !state.isFresh() {
            if verifyState.staleSeconds() <= settings.wsStaleGraceSeconds { return nil }
            return (.sessionRevoked, "verify state stale")
        }
        switch state.sessionCheck(sid: id.sessionID, userID: id.userID, iat: id.iat, exp: id.exp) {
        case .ok: return nil
        case .revoked, .userDisabled, .passwordChangeRequired: return (.sessionRevoked, "session revoked")
        }
    }
}
