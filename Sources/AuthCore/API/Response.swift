/// What a route's answer tells its metrics beyond the status (a login that locked an account,
/// a refresh inside the reuse window...). A value on the answer, never sent to the client.
public enum RouteOutcome: Sendable, Equatable {
    case rateLimited, lockout, locked, reuseGrace, reuseRevoked
    case logout(scope: String)
}

/// A transport-free HTTP response.
public struct Response: Sendable {
    public var status: Int
    public var headers: [(String, String)]
    public var body: [UInt8]
    /// What the answer tells its route's metrics beyond the status (never sent).
    public var outcome: RouteOutcome?

    public init(status: Int, headers: [(String, String)] = [], body: [UInt8] = []) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    public static func json(_ status: Int, _ body: [UInt8], headers: [(String, String)] = []) -> Response {
        Response(status: status,
                 headers: [("Content-Type", "application/json"), ("Cache-Control", "no-store")] + headers,
                 body: body)
    }

    public func header(_ name: String) -> String? {
        let lower = name.lowercased()
        return headers.first(where: { $0.0.lowercased() == lower })?.1
    }
}
