import AuthCrypto

/// The browser side of the request's context: its session cookies (read on every verify, written
/// by the cookie flows), the same-origin rule of a cookie write (CSRF), CORS around every API
/// answer, and the silent renewal the Gate asks for (BrowserRenewal.swift).
extension Worker {
    /// The access and refresh cookies for a freshly issued pair.
    func sessionCookies(_ t: IssuedTokens, session: Session, now: Int64) -> (access: String, refresh: String) {
        let b = settings.browser
        let refreshAge = min(settings.refreshTTL, session.createdAt + settings.sessionMax - now)
        return (Cookies.line(b.accessCookie, t.accessToken, maxAge: t.expiresAt - now, sameSite: "Lax"),
                Cookies.line(b.refreshCookie, t.refreshToken, maxAge: refreshAge, sameSite: "Strict"))
    }

    /// Both cookies expired at once (logout, a dead session).
    var clearedCookies: [(String, String)] {
        let b = settings.browser
        return [("Set-Cookie", Cookies.line(b.accessCookie, "", maxAge: 0, sameSite: "Lax")),
                ("Set-Cookie", Cookies.line(b.refreshCookie, "", maxAge: 0, sameSite: "Strict"))]
    }

    /// (access, refresh) cookies of a request, in one pass.
    func sessionCookieValues(_ request: Request) -> (access: String?, refresh: String?) {
        let b = settings.browser
        let (access, refresh) = Cookies.pair(b.accessCookie, b.refreshCookie, in: request.header("cookie"))
        return (access, refresh)
    }

    /// The access cookie alone (the pages and the cookie routes).
    func accessCookie(_ request: Request) -> String? {
        Cookies.value(settings.browser.accessCookie, in: request.header("cookie"))
    }

    /// The refresh cookie alone (the cookie logout and renewal).
    func refreshCookie(_ request: Request) -> String? {
        Cookies.value(settings.browser.refreshCookie, in: request.header("cookie"))
    }
}

/// CSRF: a state-changing cookie request must come from the site itself (Origins.swift).
extension Worker {
    var origins: Origins { Origins(settings.browser) }

    /// 403 `forbidden` unless the request is same-origin (or from a listed origin).
    func requireSameOrigin(_ request: Request) throws(AuthError) {
        guard origins.allowsCookieWrite(origin: request.header("origin"), secFetchSite: request.header("sec-fetch-site"),
                                        host: request.header("host")) else {
            throw AuthError.forbidden("cross-site request refused")
        }
    }
}

/// AUTH_CORS_ORIGINS: exact origins that may call the JSON API from another origin, with
/// credentials. Unlisted origins get no CORS headers at all; never `*`.
extension Worker {
    /// A preflight (`OPTIONS` with `Origin` and `Access-Control-Request-Method`), else nil.
    func corsPreflight(_ request: Request) -> Response? {
        guard request.method == "OPTIONS", let origin = request.header("origin"),
              request.header("access-control-request-method") != nil else { return nil }
        guard origins.isListed(origin) else {
            var r = profile.respond(.forbidden("origin not allowed"))
            r.headers.append(("Vary", "Origin"))
            return r
        }
        return Response(status: 204, headers: corsHeaders(origin) + [
            ("Access-Control-Allow-Methods", "GET, POST, DELETE, OPTIONS"),
            ("Access-Control-Allow-Headers", "Authorization, Content-Type, X-Requested-With"),
            ("Access-Control-Max-Age", "600"),
        ])
    }

    /// Adds the CORS headers of a listed `Origin` (and `Vary: Origin` whenever CORS is on).
    func withCORS(_ response: Response, _ request: Request) -> Response {
        guard !settings.browser.corsOrigins.isEmpty else { return response }
        var r = response
        if let origin = request.header("origin"), origins.isListed(origin) {
            r.headers += corsHeaders(origin)
        } else {
            r.headers.append(("Vary", "Origin"))
        }
        return r
    }

    private func corsHeaders(_ origin: String) -> [(String, String)] {
        [("Access-Control-Allow-Origin", origin), ("Access-Control-Allow-Credentials", "true"), ("Vary", "Origin")]
    }
}

extension Worker {
    /// The Gate's renewal of a browser location's refresh cookie (its `GateStore`).
    func renew(_ refresh: String, _ request: Request, policy: GatePolicy,
               requestedTenant: String?) throws(AuthError) -> RenewalThrottle.Renewal {
        try BrowserRenewal(worker: self).renew(refresh, request, policy: policy, requestedTenant: requestedTenant)
    }
}
