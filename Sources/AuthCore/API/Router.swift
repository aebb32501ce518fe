import AuthCrypto

/// Maps (method, path) to a handler. Patterns use `{}` for one path segment.
public struct Router: Sendable {
    public typealias Handler = @Sendable (Worker, Request, [String]) throws(AuthError) -> Response

    /// Which metrics a route's answers feed (`authgate_logins_total`...; most feed none).
    public enum Metrics: Sendable { case none, login, refresh, logout }

    public struct Route: Sendable {
        var method: String
        var segments: [Substring]
        public var handler: Handler
        public var metrics: Metrics
        /// False: a success of this route cannot have revoked anything (a login, a refresh that
        /// rotated), so PostgreSQL need not re-read the change log before the answer leaves.
        public var mayRevoke: Bool
    }

    var routes: [Route] = []

    public init() {}

    public mutating func add(_ method: String, _ pattern: String, metrics: Metrics = .none, mayRevoke: Bool = true,
                             _ handler: @escaping Handler) {
        routes.append(Route(method: method, segments: pattern.split(separator: "/"), handler: handler,
                            metrics: metrics, mayRevoke: mayRevoke))
    }

    public enum Match {
        case found(Route, [String])
        case wrongMethod
        case none
    }

    public func match(method: String, path: String) -> Match {
        // Strict: an empty segment (`/login/`, `//`) matches no route, so an nginx location
        // regex (e.g. the login rate limit) always sees the same path the router serves.
        guard path.first == "/" else { return .none }
        let parts = path.dropFirst().split(separator: "/", omittingEmptySubsequences: false)
        if parts.contains(where: \.isEmpty) { return .none }
        var pathMatched = false
        for route in routes where route.segments.count == parts.count {
            var params: [String] = []
            var ok = true
            for (pattern, part) in zip(route.segments, parts) {
                if pattern == "{}" { params.append(String(part)) } else if pattern != part { ok = false; break }
            }
            guard ok else { continue }
            pathMatched = true
            if route.method == method || (route.method == "GET" && method == "HEAD") {
                return .found(route, params)
            }
        }
        return pathMatched ? .wrongMethod : .none
    }

    /// Every route of the API (CONTRACT.md "Routes served by the responder").
    public static func api() -> Router {
        var r = Router()
        ProbeRoutes.register(&r)
        LoginRoutes.register(&r)
        SessionRoutes.register(&r)
        AccountRoutes.register(&r)
        MFARoutes.register(&r)
        PasskeyRoutes.register(&r)
        KeyRoutes.register(&r)
        BrowserRoutes.register(&r)
        MailRoutes.register(&r)
        return r
    }
}
