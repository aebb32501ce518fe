import AuthCore
import AuthCrypto
import Foundation

/// The one access-token minter of the integration suites: claims the way the responder issues
/// them, signed with `key`. `Stack.mintToken` and `WSFixture.token` only pick the key.
func mintAccessToken(key: SigningKey, sub: String, tid: String, email: String = "user@example.test",
                     role: String = "agent", sid: String, ttl: Int64 = 600, exp: Int64? = nil,
                     issuer: String = "authgate", audience: String = "2signal") -> String {
    let now = Time.now()
    let claims = AccessClaims(iss: issuer, aud: audience, sub: sub, tid: tid, email: email, role: role, sid: sid,
                              jti: UUIDs.random(), iat: now, exp: exp ?? now + ttl)
    return JWT.sign(claims, key: key)
}

/// A user with a live session, made straight in a database (for companion tests, no password).
struct TestAccount {
    var userID, tenantID, sessionID, email, role: String

    static func make(_ db: Database, tenantID: String, role: String, mustChange: Bool = false) throws -> TestAccount {
        let tenant = try db.tenants.byID(tenantID)
        let email = "\(role)-\(UUIDs.random().prefix(8))@\(tenant?.domain ?? "acme.test")"
        let user = try db.users.create(tenantID: tenantID, email: email, passwordHash: "x", role: role,
                                       mustChangePassword: mustChange, now: Time.now())
        let session = try db.sessions.create(userID: user.id, now: Time.now())
        return TestAccount(userID: user.id, tenantID: tenantID, sessionID: session.id, email: email, role: role)
    }
}
