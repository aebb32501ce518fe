import Testing
@testable import AuthCore

/// The route table the route groups register (`Router.api()`): every route of CONTRACT.md once,
/// with its metadata, whichever group serves it (a group left out of `Router.api()` fails here,
/// not as a 404 in a flow's test).
@Suite("Router: the route table")
struct RouteTableTests {
    static let expected: [String] = [
        "DELETE /api/v1/admin/nodes/{}",
        "DELETE /api/v1/auth/mfa/totp/{}",
        "DELETE /api/v1/auth/mfa/webauthn/{}",
        "DELETE /api/v1/auth/sessions/{}",
        "DELETE /api/v1/projects/{}/api-keys/{}",
        "GET /api/v1/admin/nodes",
        "GET /api/v1/auth/me",
        "GET /api/v1/auth/mfa",
        "GET /api/v1/auth/mfa/webauthn/{}",
        "GET /api/v1/auth/sessions",
        "GET /api/v1/health",
        "GET /api/v1/metrics",
        "GET /api/v1/nodes/me",
        "GET /api/v1/projects",
        "GET /api/v1/projects/{}/api-keys",
        "GET /api/v1/ready",
        "GET /auth/account",
        "GET /auth/assets/authgate.css",
        "GET /auth/assets/authgate.js",
        "GET /auth/assets/passkeys.js",
        "GET /auth/forgot",
        "GET /auth/invite",
        "GET /auth/login",
        "GET /auth/logout",
        "GET /auth/mfa",
        "GET /auth/password",
        "GET /auth/reset",
        "GET /auth/verify-email",
        "PATCH /api/v1/auth/mfa/webauthn/{}",
        "POST /api/v1/admin/nodes",
        "POST /api/v1/auth/email/verify",
        "POST /api/v1/auth/invite/accept",
        "POST /api/v1/auth/login metrics=login mayRevoke=false",
        "POST /api/v1/auth/logout metrics=logout",
        "POST /api/v1/auth/me/email",
        "POST /api/v1/auth/me/password",
        "POST /api/v1/auth/mfa/recovery-codes",
        "POST /api/v1/auth/mfa/totp",
        "POST /api/v1/auth/mfa/totp/confirm",
        "POST /api/v1/auth/mfa/verify",
        "POST /api/v1/auth/mfa/webauthn/options",
        "POST /api/v1/auth/mfa/webauthn/register",
        "POST /api/v1/auth/mfa/webauthn/register/options",
        "POST /api/v1/auth/passkey/login",
        "POST /api/v1/auth/passkey/options",
        "POST /api/v1/auth/password/forgot",
        "POST /api/v1/auth/password/reset",
        "POST /api/v1/auth/refresh metrics=refresh mayRevoke=false",
        "POST /api/v1/auth/session",
        "POST /api/v1/auth/session/logout",
        "POST /api/v1/auth/session/mfa",
        "POST /api/v1/auth/session/mfa/confirm",
        "POST /api/v1/auth/session/passkey",
        "POST /api/v1/auth/session/password",
        "POST /api/v1/auth/session/renew",
        "POST /api/v1/projects",
        "POST /api/v1/projects/{}/api-keys",
        "POST /auth/mfa",
    ]

    @Test func everyRouteOnceWithItsMetadata() {
        let table = Router.api().routes.map { r in
            "\(r.method) /\(r.segments.joined(separator: "/"))"
                + (r.metrics == .none ? "" : " metrics=\(r.metrics)") + (r.mayRevoke ? "" : " mayRevoke=false")
        }
        #expect(Set(table).count == table.count, "a route registered twice: \(table)")
        #expect(table.sorted() == Self.expected.sorted())
    }
}
