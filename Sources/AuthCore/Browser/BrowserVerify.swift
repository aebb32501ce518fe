import AuthCrypto

/// The browser door's parts of the verify route (the cookie decision itself is the Gate's,
/// Gate+Cookies.swift): where a denied navigation goes, and which methods count as safe.
extension Worker {
    /// For a browser location's denial: where nginx sends a navigation (`X-Auth-Login`, which
    /// the snippet's `@authgate_login` turns into a 302). XHR/fetch gets the JSON error instead.
    func browserDenialHeaders(_ request: Request, _ error: AuthError) -> [(String, String)] {
        guard Self.isNavigation(request) else { return [] }
        let uri = request.query.isEmpty ? request.path : request.path + "?" + request.query
        let back = ReturnTo.encode(ReturnTo.orFallback(uri))
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
