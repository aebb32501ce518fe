import AuthCrypto

/// What login and refresh hand back: a fresh access token plus the session's current refresh token.
struct IssuedTokens {
    let accessToken: String
    let refreshToken: String
    let expiresAt: Int64
    let user: User
    /// The access token's claims as signed (the browser renewal's identity; never parsed back).
    let claims: AccessClaims
    /// A replay of the just-rotated refresh token inside the reuse window got the current pair.
    var inGrace = false
}

/// Signs a session's token pair and renders it in the profile's login answer.
struct TokenIssuer: RequestScoped {
    let worker: Worker

    /// Signs an access token for `session`; its `exp` never passes the session's absolute end.
    func issue(user: User, session: Session, counter: Int64, now: Int64) -> IssuedTokens {
        let ring = app.keys.current
        let exp = min(now + settings.jwtTTL, session.createdAt + settings.sessionMax)
        let claims = AccessClaims(iss: settings.issuer, aud: settings.audience, sub: user.id, tid: user.tenantID,
                                  email: user.email, role: user.role, sid: session.id, jti: UUIDs.random(),
                                  iat: now, exp: exp,
                                  aal: session.aal, amr: session.amr)
        return IssuedTokens(accessToken: JWT.sign(claims, key: ring.signing),
                            refreshToken: RefreshToken.make(sessionID: session.id, counter: UInt64(counter), ring: ring),
                            expiresAt: exp, user: user, claims: claims)
    }

    /// The login/refresh body of the profile.
    func response(_ t: IssuedTokens) -> Response {
        profile.respond(200, data(t))
    }

    func data(_ t: IssuedTokens) -> JSON {
        let data: JSON
        switch profile {
        case .twoSignal:
            data = .object([("access_token", .string(t.accessToken)), ("refresh_token", .string(t.refreshToken)),
                            ("expires_at", .int(t.expiresAt)), ("user", profile.user(t.user, full: false))])
        case .get2dial:
            data = .object([("token", .string(t.accessToken)), ("refresh_token", .string(t.refreshToken)),
                            ("expires_at", .string(Time.rfc3339(t.expiresAt))), ("user", profile.user(t.user, full: true))])
        }
        return data
    }
}
