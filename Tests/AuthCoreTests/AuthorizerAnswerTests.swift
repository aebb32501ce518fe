@testable import AuthCore
import Testing

/// Issue 15: the FastCGI Authorizer's answer is the verify answer in the Authorizer's terms.
@Suite("Authorizer answer")
struct AuthorizerAnswerTests {
    @Test func allowBecomesStatus200WithVariables() {
        let verify = Response(status: 204, headers: [
            ("X-Auth-Home-Tenant-Id", "home"), ("X-Auth-Kind", "user"), ("X-Auth-User-Id", "u1"),
            ("X-Auth-Tenant-Id", "t1"), ("X-Auth-Role", "agent"), ("X-Auth-Email", "a@b.test"),
            ("X-Auth-Session-Id", "s1"), ("X-Accel-Expires", "@1"),
        ])
        let answer = Worker.authorizerAnswer(verify, profile: .twoSignal)
        #expect(answer.status == 200 && answer.body.isEmpty)
        #expect(answer.headers.map(\.0) == ["Variable-AUTH_HOME_TENANT_ID", "Variable-AUTH_KIND", "Variable-AUTH_USER_ID",
                                            "Variable-AUTH_TENANT_ID", "Variable-AUTH_ROLE", "Variable-AUTH_EMAIL",
                                            "Variable-AUTH_SESSION_ID"])
        #expect(answer.header("Variable-AUTH_USER_ID") == "u1")
    }

    @Test(arguments: [APIProfile.twoSignal, .get2dial])
    func denialsCarryTheProfilesEnvelope(_ profile: APIProfile) {
        let none = Worker.authorizerAnswer(Response(status: 401, headers: [("WWW-Authenticate", "Bearer")]), profile: profile)
        #expect(none.status == 401 && none.header("WWW-Authenticate") == "Bearer")
        #expect(none.header("Content-Type") == "application/json")
        let text = String(decoding: none.body, as: UTF8.self)
        #expect(text.contains("\"invalid_token\""))
        #expect(text.hasPrefix(profile == .get2dial ? "{\"status\":\"error\"" : "{\"data\":null"))
        let bad = Worker.authorizerAnswer(Response(status: 401, headers: [("WWW-Authenticate", "Bearer error=\"invalid_token\"")]),
                                          profile: profile)
        #expect(bad.header("WWW-Authenticate") == "Bearer error=\"invalid_token\"")
        let pending = Worker.authorizerAnswer(Response(status: 403, headers: [("X-Auth-Error", "password_change_required")]),
                                              profile: profile)
        #expect(pending.status == 403 && String(decoding: pending.body, as: UTF8.self).contains("password_change_required"))
        let forbidden = Worker.authorizerAnswer(Response(status: 403, headers: [("X-Auth-Error", "forbidden")]), profile: profile)
        #expect(forbidden.status == 403 && forbidden.header("Variable-AUTH_KIND") == nil)
    }

    @Test func variableNames() {
        #expect(Worker.variableName("X-Auth-Node-Id") == "AUTH_NODE_ID")
        #expect(Worker.variableName("x-auth-project-id") == "AUTH_PROJECT_ID")
        #expect(Worker.variableName("X-Auth-Error") == nil)
        #expect(Worker.variableName("X-Accel-Expires") == nil)
        #expect(Worker.variableName("X-Auth-") == nil)
    }
}

/// Review finding 12: only the nine identity headers become Authorizer variables.
@Suite("Authorizer variables whitelist")
struct AuthorizerVariableWhitelistTests {
    @Test func renewalCookiesNeverBecomeVariables() {
        let verify = Response(status: 204, headers: [
            ("X-Auth-Kind", "user"), ("X-Auth-User-Id", "u1"), ("X-Auth-Project-Id", "p"), ("X-Auth-Node-Id", "n"),
            ("X-Auth-Set-Cookie", "__Host-authgate=v1.x"), ("X-Auth-Set-Refresh-Cookie", "__Host-authgate-refresh=v1.y"),
            ("X-Auth-Login", "/login"), ("X-Auth-Anything", "z"),
        ])
        let answer = Worker.authorizerAnswer(verify, profile: .twoSignal)
        #expect(answer.headers.map(\.0) == ["Variable-AUTH_KIND", "Variable-AUTH_USER_ID", "Variable-AUTH_PROJECT_ID",
                                            "Variable-AUTH_NODE_ID"])
        #expect(Worker.variableName("X-Auth-Set-Refresh-Cookie") == nil)
        #expect(Worker.variableName("X-Auth-Set-Cookie") == nil)
    }
}
