import AuthCrypto

/// Which routes `AUTH_RATE_LIMIT` covers and what an address over it gets. nginx's snippets
/// limit these too, but the responder cannot know what sits in front of it (an nginx without
/// the snippets, Apache, lighttpd), so it throttles every route that hashes a password, plus
/// the cookie renewal, and the second factor's code routes itself.
enum RateLimitedRoutes {
    static let paths: Set<String> = [
        "/api/v1/auth/login", "/api/v1/auth/me/password",
        "/api/v1/auth/session", "/api/v1/auth/session/password", "/api/v1/auth/session/renew",
        // Second factor (issue 21): every code guess, and the enrolment's confirmation.
        "/api/v1/auth/mfa/verify", "/api/v1/auth/mfa/totp/confirm",
        "/api/v1/auth/session/mfa", "/api/v1/auth/session/mfa/confirm",
        // Passkeys (issue 22): the ceremonies' options (each writes a challenge) and answers.
        "/api/v1/auth/passkey/options", "/api/v1/auth/passkey/login", "/api/v1/auth/session/passkey",
        "/api/v1/auth/mfa/webauthn/options",
        // Issue 23: a forgot request may send a mail; a reset or an invite accepted hashes a password.
        "/api/v1/auth/password/forgot", "/api/v1/auth/password/reset", "/api/v1/auth/invite/accept",
        "/api/v1/auth/me/email", "/api/v1/auth/email/verify",
    ]

    /// nil: go on. Over the limit: 429 `rate_limited` with `Retry-After` (the profile's JSON),
    /// or for a plain form post of the browser pages the 303 back to its page with the message.
    static func refusal(_ request: Request, worker: Worker) -> Response? {
        guard let limiter = worker.app.rateLimiter, request.method == "POST", paths.contains(request.path),
              let wait = limiter.take(request.remoteAddress, now: Double(VerifyState.monotonicNanos()) / 1e9)
        else { return nil }
        let retry = ("Retry-After", String(wait))
        let page = request.path == "/api/v1/auth/session" ? "/auth/login"
            : request.path == "/api/v1/auth/session/password" ? "/auth/password" : nil
        if let page, BrowserBody.kind(request) == .form, !(request.header("accept") ?? "").lowercased().contains("application/json") {
            var back = Response.seeOther(page + "?error=rate_limited", [retry])
            back.outcome = .rateLimited
            return back
        }
        return worker.profile.respond(AuthError(status: 429, code: "rate_limited", message: "too many requests", headers: [retry])
            .noting(.rateLimited))
    }
}
