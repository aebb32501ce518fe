import AuthCore
import AuthCrypto

/// The upgrade-time decision and the per-tick re-check, through the same core as the verify route:
/// the key ring file and this process's `VerifyState` (refreshed by its own thread; the loop
/// reads it without a lock).
final class Authorizer {
    let settings: Settings
    let keys: KeyRingStore
    let verifyState: VerifyState
    /// The loop's gate: the same session-token rule as the responder's verify route and API.
    let gate: Gate

    init(settings: Settings, log: Logger = Logger()) throws {
        self.settings = settings
        keys = try KeyRingStore(path: settings.keysFile, onProblem: KeyRingStore.logger(log))
        let db = try Database(settings: settings)
        try db.migrate()
        verifyState = try VerifyState(settings: settings, log: log)
        gate = Gate(keys: keys, state: verifyState.makeReader(), settings: settings)
    }

    /// 401 for a missing/bad/expired/revoked token (or one expiring within the clock leeway),
    /// 403 for a pending password change or a role the route does not allow, 401 `mfa_required`
    /// for a level-1 token on a `|aal2` route.
    func authorize(token: String?, route: WSRoute, now: Int64) -> Result<WSIdentity, AuthError> {
        guard let token, !token.isEmpty else { return .failure(.invalidToken("missing token")) }
        // An upgrade is rare next to frames: it catches up with anything committed before it
        // (cheap when nothing was), so a session revoked a moment ago is refused here. On a
        // store whose reads may wait on the network (PostgreSQL) the loop never reads: its
        // refresher thread applies notifications within milliseconds.
        verifyState.catchUp()
        // The HTTP verify's leeway, named in the route's policy: a token minted on a host whose
        // clock runs a second ahead is not refused here for that second. An expired one still is
        // (the guard below).
        // `|aal2` (issue 21): the route's required level is the policy's, decided in the Gate.
        let policy = GatePolicy(kinds: .user, roles: Array(route.roles), requiredLevel: Int(route.requiredAAL),
                                leeway: settings.clockLeeway)
        let identity: Identity
        switch gate.decide(.sessionToken(token), policy: policy, now: now) {
        case let .deny(error): return .failure(error)
        case let .allow(allowed, _, _): identity = allowed
        }
        // Accepting a token only to cut it a moment later helps nobody.
        guard identity.expires - now > settings.clockLeeway else { return .failure(.invalidToken("token expires too soon")) }
        // These values become header lines upstream.
        var clean = true
        identity.forEachField { _, value in
            if value.utf8.contains(where: { $0 < 32 || $0 == 127 }) { clean = false }
        }
        guard clean else { return .failure(.invalidToken()) }
        return .success(WSIdentity(identity))
    }

    /// Why a live connection must end now, if it must. The token expires at `exp` on the wall
    /// clock or when the lifetime it had left at the upgrade has run out on the monotonic clock,
    /// whichever comes first (a clock stepped back does not extend a socket).
    func cutReason(_ id: WSIdentity, nowMillis: Int64, nowMonoMillis: Int64) -> (WebSocketCloseCode, String)? {
        if nowMillis >= id.exp * 1000 || nowMonoMillis >= id.expMonoMillis { return (.tokenExpired, "token expired") }
        switch gate.recheck(id.identity) {
        case .valid: return nil
        case .stale:
            // A state that can no longer be confirmed current cannot vouch for anyone, but a
            // connection that was valid at the last confirmed state is kept for
            // AUTH_WS_STALE_GRACE_SECONDS (PostgreSQL: 60 s, so a database blink closes nothing;
            // revocations made meanwhile are cut at the first tick after the state is current again).
            if verifyState.staleSeconds() <= settings.wsStaleGraceSeconds { return nil }
            return (.sessionRevoked, "verify state stale")
        case .ended:
            return (.sessionRevoked, "session revoked")
        }
    }
}
