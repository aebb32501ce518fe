@testable import AuthCore
import AuthCrypto
import Testing

/// Issue 15 / issue 20: every door renders the one ordered identity field list (the FastCGI
/// Authorizer's `Variable-AUTH_*`, nginx's `X-Auth-*`); the Authorizer renderer itself lives in
/// authgate-fcgi and runs through real Apache and lighttpd in AuthorizerRoleTests.
@Suite("Identity field list")
struct IdentityFieldListTests {
    static let claims = AccessClaims(iss: "i", aud: "a", sub: "u1", tid: "home", email: "a@b.test", role: "platform_admin",
                                     sid: "s1", jti: "j", iat: 1, exp: 2)

    func rendered(_ identity: Identity) -> [(String, String, String)] {
        var out: [(String, String, String)] = []
        identity.forEachField { out.append(($0.header, $0.variable, $1)) }
        return out
    }

    @Test func userFieldsInTheListsOrder() {
        let fields = rendered(.user(Self.claims, tenant: "t1"))
        #expect(fields.map(\.1) == ["AUTH_KIND", "AUTH_USER_ID", "AUTH_TENANT_ID", "AUTH_HOME_TENANT_ID", "AUTH_ROLE",
                                    "AUTH_EMAIL", "AUTH_SESSION_ID", "AUTH_AAL", "AUTH_AMR"])
        #expect(fields.map(\.0) == ["X-Auth-Kind", "X-Auth-User-Id", "X-Auth-Tenant-Id", "X-Auth-Home-Tenant-Id",
                                    "X-Auth-Role", "X-Auth-Email", "X-Auth-Session-Id", "X-Auth-AAL", "X-Auth-AMR"])
        #expect(fields.map(\.2) == ["user", "u1", "t1", "home", "platform_admin", "a@b.test", "s1", "1", "pwd"])
        // Issue 21: a level-2 token renders its level and methods.
        var strong = Self.claims
        strong.aal = 2
        strong.amr = ["pwd", "otp"]
        #expect(rendered(.user(strong, tenant: "home")).suffix(2).map(\.2) == ["2", "pwd otp"])
        // In its own tenant: no home tenant.
        #expect(!rendered(.user(Self.claims, tenant: "home")).contains { $0.1 == "AUTH_HOME_TENANT_ID" })
    }

    @Test func keyAndNodeFields() {
        let key = rendered(.apiKey(APIKeyIdentity(keyID: "k", projectID: "p", tenantID: "t")))
        #expect(key.map(\.1) == ["AUTH_KIND", "AUTH_TENANT_ID", "AUTH_PROJECT_ID"])
        #expect(key.map(\.2) == ["api_key", "t", "p"])
        let node = rendered(.node(NodeIdentity(nodeID: "n", tenantID: "t", name: "x")))
        #expect(node.map(\.1) == ["AUTH_KIND", "AUTH_TENANT_ID", "AUTH_NODE_ID"])
    }

    /// Review finding 12: only identity fields become variables, never a cookie or an error:
    /// the list has eleven fields and each renders under its own name.
    @Test func theListIsClosed() {
        var variables: [String] = []
        var i = 0
        while let field = Identity.Field(rawValue: i) {
            variables.append(field.variable)
            #expect(field.header.lowercased().replacingOccurrences(of: "-", with: "_") == "x_" + field.variable.lowercased())
            i += 1
        }
        #expect(variables.count == Identity.Field.count)
        #expect(variables == ["AUTH_KIND", "AUTH_USER_ID", "AUTH_TENANT_ID", "AUTH_HOME_TENANT_ID", "AUTH_ROLE",
                              "AUTH_EMAIL", "AUTH_SESSION_ID", "AUTH_PROJECT_ID", "AUTH_NODE_ID", "AUTH_AAL", "AUTH_AMR"])
    }
}
