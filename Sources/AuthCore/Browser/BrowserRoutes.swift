import AuthCrypto

/// Cookie sessions (README "Protecting a browser app"): the same login, rotation, logout and
/// password change as the JSON API, answered with cookies instead of tokens. Every route here
/// is state-changing and cookie-authenticated, so each starts with the CSRF rule.
struct BrowserRoutes: RequestScoped {
    let worker: Worker

    static func register(_ r: inout Router) {
        r.add("POST", "/api/v1/auth/session", handler(Self.sessionLogin))
        r.add("POST", "/api/v1/auth/session/logout", handler(Self.sessionLogout))
        r.add("POST", "/api/v1/auth/session/renew", handler(Self.sessionRenew))
        r.add("POST", "/api/v1/auth/session/password", handler(Self.sessionPassword))
        registerPages(&r)
        registerMFAPages(&r)
        registerPasskeyPages(&r)
    }

    /// `POST /api/v1/auth/session` (form or JSON: email, password, tenant_domain?, return_to?).
    func sessionLogin(_ request: Request) throws(AuthError) -> Response {
        try worker.requireSameOrigin(request)
        let (body, kind) = try BrowserBody.parse(request)
        let json = BrowserBody.answersJSON(request, kind)
        let returnTo = ReturnTo.orFallback(try? body.string("return_to"))
        do throws(AuthError) {
            let user: User, session: Session, now: Int64
            switch try LoginRoutes(worker: worker).signIn(body, request) {
            case let .session(u, s, n): (user, session, now) = (u, s, n)
            case let .secondFactor(challenge):
                // A second factor is due: the code step (its form posts the mfa_token with the code;
                // the page's script submits the password form as a plain form to get there).
                guard json else { return mfaCodePage(token: challenge.token, returnTo: returnTo, kinds: challenge.kinds) }
                return MFARoutes(worker: worker).mfaRequiredResponse(challenge)
            }
            let tokens = issuer.issue(user: user, session: session, counter: session.counter, now: now)
            let cookies = worker.sessionCookies(tokens, session: session, now: now)
            let next = user.mustChangePassword ? "/auth/password?return_to=" + ReturnTo.encode(returnTo) : returnTo
            let setCookies = [("Set-Cookie", cookies.access), ("Set-Cookie", cookies.refresh)]
            guard json else { return Response.seeOther(next, setCookies) }
            var r = profile.respond(200, .object([
                ("user", profile.user(user, full: true)), ("expires_at", profile.timestamp(tokens.expiresAt)),
                ("must_change_password", .bool(user.mustChangePassword)), ("redirect_to", .string(next)),
            ]))
            r.headers += setCookies
            return r
        } catch {
            guard !json else { throw error }
            return Response.seeOther("/auth/login?error=\(error.code)&return_to=\(ReturnTo.encode(returnTo))")
        }
    }

    /// `POST /api/v1/auth/session/logout`: revokes the cookie's session, clears both cookies.
    func sessionLogout(_ request: Request) throws(AuthError) -> Response {
        try worker.requireSameOrigin(request)
        let (_, kind) = try BrowserBody.parse(request)
        // No live session in the cookies: nothing to revoke, the cookies are cleared. A session
        // that could not be looked up or revoked (the store failing) is a 503, never a success.
        let subject: (user: String, session: String, tenant: String?)?
        let access = worker.accessCookie(request).flatMap { $0.isEmpty ? nil : $0 }
        do {
            subject = try SessionRoutes(worker: worker).logoutSubject(request, bearer: access, refreshToken: { worker.refreshCookie(request) })
        } catch where error.status < 500 { subject = nil }
        if let subject {
            try write {
                _ = try db.sessions.revoke(id: subject.session, reason: "logout", now: Time.now())
                try recordAudit("logout", tenantID: subject.tenant, actor: subject.user, request: request,
                                detail: "scope=local session=\(subject.session) via=cookie")
            }
        }
        guard BrowserBody.answersJSON(request, kind) else { return Response.seeOther("/auth/login?logged_out=1", worker.clearedCookies) }
        var r = profile.respond(200, APIProfile.successTrue)
        r.headers += worker.clearedCookies
        return r
    }

    /// `POST /api/v1/auth/session/renew`: the refresh cookie's rotation on demand (the login
    /// page tries it: a SameSite=Strict refresh cookie is not sent on a navigation from another
    /// site, but is sent with this same-origin fetch).
    func sessionRenew(_ request: Request) throws(AuthError) -> Response {
        try worker.requireSameOrigin(request)
        _ = try BrowserBody.parse(request)
        guard let token = worker.refreshCookie(request) else { throw AuthError.invalidToken("no session cookie") }
        let tokens: IssuedTokens
        do {
            tokens = try SessionRoutes(worker: worker).rotate(refreshToken: token, request: request)
        } catch where error.status == 401 {
            var e = error
            e.headers += worker.clearedCookies
            throw e
        }
        let session = try store { try db.sessions.byID(sessionID(of: tokens)) }
        var r = profile.respond(200, .object([("expires_at", profile.timestamp(tokens.expiresAt))]))
        if let session {
            let c = worker.sessionCookies(tokens, session: session, now: Time.now())
            r.headers += [("Set-Cookie", c.access), ("Set-Cookie", c.refresh)]
        }
        return r
    }

    /// `POST /api/v1/auth/session/password` (current_password, new_password, return_to?).
    func sessionPassword(_ request: Request) throws(AuthError) -> Response {
        try worker.requireSameOrigin(request)
        let (body, kind) = try BrowserBody.parse(request)
        let json = BrowserBody.answersJSON(request, kind)
        let returnTo = ReturnTo.orFallback(try? body.string("return_to"))
        do {
            let p = try auth.authenticate(token: worker.accessCookie(request), allowPendingPasswordChange: true)
            _ = try AccountRoutes(worker: worker).changePassword(p, body, request)
            guard json else { return Response.seeOther(returnTo) }
            return profile.respond(200, .object([("success", .bool(true)), ("redirect_to", .string(returnTo))]))
        } catch {
            guard !json else { throw error }
            return Response.seeOther("/auth/password?error=\(error.code)&return_to=\(ReturnTo.encode(returnTo))")
        }
    }

    func sessionID(of tokens: IssuedTokens) -> String {
        RefreshToken.parse(tokens.refreshToken, ring: app.keys.current)?.sessionID ?? ""
    }
}
