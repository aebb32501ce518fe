import AuthCrypto

/// The verify route at a location with `AUTH_ALLOW "... browser"` and no `Authorization`
/// header: the access cookie, checked exactly as a bearer token, and silent renewal from the
/// refresh cookie through the one rotation (`rotate`, the rules of /auth/refresh).
extension Worker {
    func verifyBrowser(_ request: Request, policy: VerifyPolicy) throws -> Response {
        let (access, refresh) = sessionCookieValues(request)
        guard access != nil || refresh != nil else {
            throw AuthError(status: 401, code: "invalid_token", message: "missing credential")
        }
        // A cookie rides along with any request to the site: a state-changing one must come
        // from the site itself (SameSite=Lax already keeps it off cross-site posts).
        if !Self.isSafeMethod(request.method) { try requireSameOrigin(request) }
        let requestedTenant = try gateTenant(request.query)
        guard state.isFresh() else { throw AuthError.invalidToken("verify state stale") }
        let now = Time.now()
        var current: AccessClaims?
        if let access, CredentialKind.classify(access) == .jwt { current = try? checkAccessToken(access) }
        let renewWindow = min(settings.browser.renewBeforeSeconds, settings.jwtTTL / 4)
        if let claims = current, refresh == nil || claims.exp - now > renewWindow {
            var headers = try userIdentity(claims, request, policy: policy, kindAllowed: true, requestedTenant: requestedTenant)
            // Only a GET/HEAD allow may sit in nginx's micro-cache: an unsafe method's allow was
            // decided on Origin/Sec-Fetch-Site, which the cache key does not hold (finding 3).
            headers.append(("X-Accel-Expires", Self.isCacheableMethod(request.method) ? "@\(now)" : "0"))
            return Response(status: 204, headers: headers)
        }
        guard let refresh else { throw AuthError.invalidToken() }
        let renewal: RenewalThrottle.Renewal
        do {
            renewal = try renew(refresh, request, policy: policy, requestedTenant: requestedTenant)
        } catch where error.status == 403 {
            throw error     // the location's policy refused the session's user: nothing rotated
        } catch {
            // The access cookie is still good for a moment: keep serving on it (a revocation the
            // rotation found is in the verify state now, and the check below sees it).
            guard let claims = current else { throw error }
            var headers = try userIdentity(claims, request, policy: policy, kindAllowed: true, requestedTenant: requestedTenant)
            headers.append(("X-Accel-Expires", "0"))
            return Response(status: 204, headers: headers)
        }
        let claims = try checkAccessToken(renewal.accessToken)
        var headers = try userIdentity(claims, request, policy: policy, kindAllowed: true, requestedTenant: requestedTenant)
        if let cookies = renewal.cookies {
            // Two headers, not two Set-Cookie lines: nginx (1.22) hands auth_request_set only the
            // first of several same-named headers. The snippet turns each into a Set-Cookie.
            headers += [("X-Auth-Set-Cookie", cookies.access), ("X-Auth-Set-Refresh-Cookie", cookies.refresh),
                        ("X-Auth-Cache-Control", "private, no-store")]   // for a CDN in front of nginx
        }
        // Never cached: the answer carries the session's refresh token.
        headers.append(("X-Accel-Expires", "0"))
        return Response(status: 204, headers: headers)
    }

    /// For a browser location's denial: where nginx sends a navigation (`X-Auth-Login`, which
    /// the snippet's `@authgate_login` turns into a 302). XHR/fetch gets the JSON error instead.
    func browserDenialHeaders(_ request: Request, _ error: AuthError) -> [(String, String)] {
        guard Self.isNavigation(request) else { return [] }
        let uri = request.query.isEmpty ? request.path : request.path + "?" + request.query
        let back = ReturnTo.encode(ReturnTo.orFallback(uri))
        if error.code == AuthError.mfaRequired.code { return [("X-Auth-Login", "/auth/mfa?return_to=" + back)] }
        if error.status == 401 { return [("X-Auth-Login", "/auth/login?return_to=" + back)] }
        if error.code == AuthError.passwordChangeRequired.code { return [("X-Auth-Login", "/auth/password?return_to=" + back)] }
        return []
    }

    /// A top-level page load, not a script's request: GET/HEAD, no `X-Requested-With`, no
    /// `Accept: application/json`, and `Sec-Fetch-Mode` absent or `navigate`.
    static func isNavigation(_ r: Request) -> Bool {
        guard r.method == "GET" || r.method == "HEAD", r.header("x-requested-with") == nil else { return false }
        if (r.header("accept") ?? "").lowercased().contains("application/json") { return false }
        if let mode = r.header("sec-fetch-mode"), mode != "navigate" { return false }
        return true
    }

    static func isSafeMethod(_ m: String) -> Bool { m == "GET" || m == "HEAD" || m == "OPTIONS" }
    static func isCacheableMethod(_ m: String) -> Bool { m == "GET" || m == "HEAD" }
}
