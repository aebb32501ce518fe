import AuthCore
import AuthCrypto

/// The upgrade-time decision and the per-tick re-check, through the same core as the verify route:
/// the key ring file and this process's own `VerifyState` over its own database connection.
final class Authorizer {
    let settings: Settings
    let keys: KeyRingStore
    let db: Database
    let state: VerifyState

    init(settings: Settings) throws {
        self.settings = settings
        keys = try KeyRingStore(path: settings.keysFile)
        db = try Database(path: settings.dbPath)
        state = VerifyState(db: db)
    }

    func refresh() { state.refreshIfChanged() }

    /// 401 for a missing/bad/expired/revoked token (or one expiring within the clock leeway),
    /// 403 for a pending password change or a role the route does not allow.
    func authorize(token: String?, route: WSRoute, now: Int64) -> Result<WSIdentity, AuthError> {
        guard let token, !token.isEmpty else { return .failure(.invalidToken("missing token")) }
        let claims: AccessClaims
        switch JWT.verify(token, ring: keys.current, issuer: settings.issuer, audience: settings.audience,
                          now: now, leeway: 0) {
        case let .success(c): claims = c
        case .failure: return .failure(.invalidToken())
        }
        // Accepting a token only to cut it a moment later helps nobody.
        guard claims.exp - now > settings.clockLeeway else { return .failure(.invalidToken("token expires too soon")) }
        let identity = WSIdentity(userID: claims.sub, tenantID: claims.tid, role: claims.role, email: claims.email,
                                  sessionID: claims.sid, exp: claims.exp)
        // These values become header lines upstream.
        for v in [identity.userID, identity.tenantID, identity.role, identity.email, identity.sessionID]
        where v.utf8.contains(where: { $0 < 32 || $0 == 127 }) {
            return .failure(.invalidToken())
        }
        state.refreshIfChanged()
        switch state.sessionCheck(sid: claims.sid, userID: claims.sub) {
        case .ok: break
        case .revoked, .userDisabled: return .failure(.invalidToken("session revoked"))
        case .passwordChangeRequired: return .failure(.passwordChangeRequired)
        }
        guard route.roles.contains(claims.role) else { return .failure(.forbidden("role not allowed on this route")) }
        return .success(identity)
    }

    /// Why a live connection must end now, if it must.
    func cutReason(_ id: WSIdentity, nowMillis: Int64) -> (WebSocketCloseCode, String)? {
        if nowMillis >= id.exp * 1000 { return (.tokenExpired, "token expired") }
        switch state.sessionCheck(sid: id.sessionID, userID: id.userID) {
        case .ok: return nil
        case .revoked, .userDisabled, .passwordChangeRequired: return (.sessionRevoked, "session revoked")
        }
    }
}
