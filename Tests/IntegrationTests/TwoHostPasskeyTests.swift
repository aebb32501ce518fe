import Foundation
import TestSupport
import Testing
import WebAuthnTestSupport

/// Issue 22 across two hosts on one PostgreSQL (`TwoHosts`): a passkey registered on A signs in
/// on B, and one ceremony challenge (minted on A) used 8 times at once, 4 through each host,
/// gives exactly one session: the challenge is one row, taken by one `DELETE … RETURNING`
/// whichever host runs it.
@Suite("Two hosts: one passkey challenge, one success")
struct TwoHostPasskeyTests {
    @Test func oneChallengeOneSuccessAcrossHosts() throws {
        try TwoHosts.with(configure: { o in
            o.environment["AUTH_WEBAUTHN_RP_ID"] = PasskeyFixture.rpID
            o.environment["AUTH_WEBAUTHN_ORIGINS"] = PasskeyFixture.origin
        }) { h in
            try h.world(users: ["eve@demo.local"])
            let key = SoftwareAuthenticator(counting: false)
            let (reg, handle) = try h.a.registerPasskey(key, token: try h.a.tokens("eve@demo.local").access)
            #expect(reg.status == 201, "\(reg.text)")
            // Registered on A, used on B (second factor and passwordless).
            #expect(try h.b.passkeySecondFactor("eve@demo.local", key).status == 200)
            var uv = SoftwareAuthenticator.Options()
            uv.userHandle = handle
            let onB = try h.b.passkeyLogin { key.makeAssertion(challenge: $0, origin: PasskeyFixture.origin, rpID: "localhost", options: uv) }
            #expect(onB.status == 200, "\(onB.text)")

            let challenge = try Stack.challenge(try h.a.passkeyOptions("/api/v1/auth/passkey/options"))
            let requests = try h.hosts.map { host in
                try (0..<4).map { _ -> HTTPSClient.Request in
                    let a = key.makeAssertion(challenge: challenge, origin: PasskeyFixture.origin, rpID: "localhost", options: uv)
                    return try host.postRequest("/api/v1/auth/passkey/login", json: ["credential": PasskeyFixture.object(a.json)])
                }
            }
            let field = h.a.accessField
            let answers = try onThreads(2) { i in
                try h.hosts[i].client.parallel(requests[i]).map { ($0.status, $0.data[field] as? String) }
            }.flatMap { try $0.get() }
            let statuses = answers.map(\.0)
            print("8 uses of one passkey challenge across two hosts: \(statuses)")
            #expect(statuses.count == 8)
            #expect(statuses.filter { $0 == 200 }.count == 1, "\(statuses)")
            #expect(statuses.filter { $0 == 401 }.count == 7, "\(statuses)")
            let access = try #require(answers.first { $0.0 == 200 }?.1)
            #expect(try h.a.get("/demo/mfa", token: access).status == 200)
            #expect(try h.b.get("/demo/mfa", token: access).status == 200)
        }
    }
}
