import AuthCrypto

/// The browser door's reading of a verify request (the cookie decision itself is the Gate's,
/// Gate+Cookies.swift): where a denied navigation goes, and which methods count as safe.
extension Request {
    /// For a browser location's denial: where nginx sends a navigation (`X-Auth-Login`, which
    /// the snippet's `@authgate_login` turns into a 302). XHR/fetch gets the JSON error instead.
    func browserDenialHeaders(_ error: AuthError) -> [(String, String)] {
        guard isNavigation else { return [] }
        let uri = query.isEmpty ? path : path + "?" + query
        let back = ReturnTo.encode(ReturnTo.orFallback(uri))
        if error.code == AuthError.mfaRequired.code { return [("X-Auth-Login", "/auth/mfa?return_to=" + back)] }
        if error.status == 401 { return [("X-Auth-Login", "/auth/login?return_to=" + back)] }
        if error.code == AuthError.passwordChangeRequired.code { return [("X-Auth-Login", "/auth/password?return_to=" + back)] }
        return []
    }

    /// A top-level page load, not a script's request: GET/HEAD, no `X-Requested-With`, no
    /// `Accept: application/json`, and `Sec-Fetch-Mode` absent or `navigate`.
    var isNavigation: Bool {
        guard method == "GET" || method == "HEAD", header("x-requested-with") == nil else { return false }
        if (header("accept") ?? "").lowercased().contains("application/json") { return false }
        if let mode = header("sec-fetch-mode"), mode != "navigate" { return false }
        return true
    }

    var isSafeMethod: Bool { method == "GET" || method == "HEAD" || method == "OPTIONS" }
    var isCacheableMethod: Bool { method == "GET" || method == "HEAD" }
}
