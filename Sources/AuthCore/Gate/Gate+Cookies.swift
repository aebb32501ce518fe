import AuthCrypto

/// A browser location's cookies (`AUTH_ALLOW "… browser"`): the access cookie, checked exactly
/// as a bearer token, and silent renewal from the refresh cookie through the store's one
/// rotation (the rules of /auth/refresh, the renewal throttle, the revoked-set check and the
/// policy decided before anything rotates: BrowserRenewal.swift).
extension Gate {
    func cookies<S: GateStore>(access: String?, refresh: String?, policy: GatePolicy, requestedTenant: String?,
                               now: Int64, store: S) throws(AuthError) -> Decision {
        guard access != nil || refresh != nil else {
            throw AuthError(status: 401, code: "invalid_token", message: "missing credential")
        }
        guard state.isFresh() else { throw AuthError.invalidToken("verify state stale") }
        let leeway = policy.leeway ?? self.leeway
        var current: VerifiedTokenMemo.Entry?
        if let access, CredentialKind.classify(access) == .jwt { current = try? verifiedAccess(access, now: now, leeway: leeway) }
        if let verified = current, refresh == nil || verified.claims.exp - now > renewWindow {
            let identity = try user(verified.claims, policy: policy, kindAllowed: true, requestedTenant: requestedTenant,
                                    store: store, memo: verified)
            return .allow(identity, renewal: nil, cacheable: true)
        }
        guard let refresh else { throw AuthError.invalidToken() }
        let renewal: GateRenewal
        do {
            renewal = try store.renew(refresh, policy: policy, requestedTenant: requestedTenant)
        } catch where error.status == 403 {
            throw error     // the location's policy refused the session's user: nothing rotated
        } catch {
            // The access cookie is still good for a moment: keep serving on it (a revocation the
            // rotation found is in the verify state now, and the session check sees it).
            guard let verified = current else { throw error }
            let identity = try user(verified.claims, policy: policy, kindAllowed: true, requestedTenant: requestedTenant,
                                    store: store, memo: verified)
            return .allow(identity, renewal: nil, cacheable: false)
        }
        // The token the rotation just minted: its claims as minted, not parsed back from it (the
        // live session state and the policy are still checked: a throttled renewal hands the same
        // pair to the second's other requests). Remembered, so its next verify skips the HMAC.
        let minted = tokenMemo.remember(renewal.accessToken, renewal.claims, ring: keys.current(cache: &tokenMemo.ringCache))
        let identity = try user(renewal.claims, policy: policy, kindAllowed: true, requestedTenant: requestedTenant,
                                store: store, memo: minted)
        // Never cached: the answer carries the session's refresh token.
        return .allow(identity, renewal: renewal.cookies, cacheable: false)
    }
}
