/// The one client-facing error: an HTTP status, a stable code (CONTRACT.md) and a public
/// message. `cause` is for logs only and never serialized.
public struct AuthError: Error, Sendable, Equatable {
    public var status: Int
    public var code: String
    public var message: String
    public var cause: String?
    public var headers: [(String, String)]
    /// For the route's metrics only (the profile's answer carries it as `Response.outcome`).
    public var outcome: RouteOutcome?

    public init(status: Int, code: String, message: String, cause: String? = nil,
                headers: [(String, String)] = []) {
        self.status = status
        self.code = code
        self.message = message
        self.cause = cause
        self.headers = headers
    }

    public static func == (a: AuthError, b: AuthError) -> Bool {
        a.status == b.status && a.code == b.code && a.message == b.message
    }

    /// The same error, telling the metrics `outcome`.
    func noting(_ outcome: RouteOutcome) -> AuthError {
        var e = self
        e.outcome = outcome
        return e
    }

    public static func invalidRequest(_ message: String = "invalid request") -> AuthError {
        AuthError(status: 400, code: "invalid_request", message: message)
    }
    public static func weakPassword(_ message: String) -> AuthError {
        AuthError(status: 400, code: "weak_password", message: message)
    }
    public static let invalidCredentials = AuthError(status: 401, code: "invalid_credentials",
                                                     message: "invalid credentials")
    public static func invalidToken(_ message: String = "invalid or expired token") -> AuthError {
        AuthError(status: 401, code: "invalid_token", message: message)
    }
    public static func forbidden(_ message: String = "forbidden") -> AuthError {
        AuthError(status: 403, code: "forbidden", message: message)
    }
    public static let passwordChangeRequired = AuthError(status: 403, code: "password_change_required",
                                                         message: "password change required")
    /// A second factor is needed (a level-1 session where level 2 is required: the gate's
    /// AUTH_REQUIRE_AAL, or a sensitive action of a user with a factor).
    public static let mfaRequired = AuthError(status: 401, code: "mfa_required", message: "second factor required")
    public static let notFound = AuthError(status: 404, code: "not_found", message: "not found")
    public static let methodNotAllowed = AuthError(status: 405, code: "method_not_allowed",
                                                   message: "method not allowed")
    public static let payloadTooLarge = AuthError(status: 413, code: "payload_too_large",
                                                  message: "request body too large")
    public static func unavailable(retryAfter: Int = 1) -> AuthError {
        AuthError(status: 503, code: "unavailable", message: "server busy, retry later",
                  headers: [("Retry-After", String(retryAfter))])
    }
    /// The store is full or failing (a full disk, an I/O error, a read-only file system,
    /// PostgreSQL out of a resource): nothing was written; retry later.
    public static let storageUnavailableCode = "storage_unavailable"
    public static func storageUnavailable(retryAfter: Int = 5) -> AuthError {
        AuthError(status: 503, code: storageUnavailableCode, message: "storage unavailable, retry later",
                  headers: [("Retry-After", String(retryAfter))])
    }
    public static func internalError(_ cause: String) -> AuthError {
        AuthError(status: 500, code: "internal", message: "internal error", cause: cause)
    }
}
