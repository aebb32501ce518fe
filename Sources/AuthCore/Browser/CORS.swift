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
