@testable import AuthCore
@testable import AuthCrypto
import Foundation
import TestSupport
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// The hostile-input catalogue: >= 150 requests no client should send, through real nginx, each
/// with its expected status and error code. After the table: no 5xx was answered, the stack is
/// healthy, and the audit log holds no raw secret.
@Suite struct HostileCatalogueTests {
    @Test func hostileRequestsGetTheirExpectedAnswers() throws {
        var options = Stack.Options()
        options.plainHTTP = true
        // Issue 22: passkeys on, so their routes answer (HostileCatalogue's issue-22 block).
        options.environment["AUTH_WEBAUTHN_RP_ID"] = PasskeyFixture.rpID
        options.environment["AUTH_WEBAUTHN_ORIGINS"] = PasskeyFixture.origin
        try Stack.with(options) { (stack: Stack) throws in
            let tenantID = try stack.makeTenant("hostile.test")
            let userID = try stack.makeUser("admin@hostile.test", tenant: "hostile.test", role: "admin")
            let (access, refresh) = try stack.tokens("admin@hostile.test")
            let parts = access.split(separator: ".").map(String.init)
            let claims = (try JSONSerialization.jsonObject(with: Data(Base64URL.decode(parts[1]) ?? []))) as? [String: Any] ?? [:]
            let sid = claims["sid"] as? String ?? ""
            let ring = try stack.keyRing()
            let secret = ring.signing.secret
            let kid = ring.signing.kid
            let cases = HostileCatalogue.cases(access: access, refresh: refresh, userID: userID, tenantID: tenantID,
                                               sid: sid, kid: kid, secret: secret)
            #expect(cases.count >= 150, "catalogue has \(cases.count) requests")
            var mismatches: [String] = []
            var fiveHundreds: [String] = []
            for c in cases {
                let r: PlainHTTP.Reply
                do { r = try PlainHTTP.raw(port: stack.plainPort, c.raw, timeout: 20) } catch {
                    mismatches.append("\(c.name): no answer (\(error))"); continue
                }
                if r.status >= 500 { fiveHundreds.append("\(c.name): \(r.status) \(r.text.prefix(200))") }
                if r.status != c.status || (c.code != nil && r.errorCode != c.code) {
                    mismatches.append("\(c.name): expected \(c.status) \(c.code ?? "-"), got \(r.status) \(r.errorCode ?? "-") \(r.text.prefix(160))")
                }
            }
            #expect(mismatches.isEmpty, "\(mismatches.count) of \(cases.count):\n\(mismatches.joined(separator: "\n"))")
            #expect(fiveHundreds.isEmpty, "\(fiveHundreds.joined(separator: "\n"))")

            // Slowloris against the companion: 64 upgrade heads that never finish hold no slot a
            // real client needs.
            var slow: [WSTestClient] = []
            for i in 0..<64 {
                let c = try WSTestClient(socketPath: stack.wsSocketPath)
                try c.sendAll(Array("GET /ws/agent?token=\(i) HTTP/1.1\r\nHost: x\r\nUpgr".utf8))
                slow.append(c)
            }
            let ws = try WSTestClient(tcpPort: stack.plainPort)
            let reply = try ws.upgrade("/ws/agent?token=\(access)")
            #expect(reply.status == 403 || reply.status == 101, "upgrade beside 64 stalled heads: \(reply.status)")
            slow.removeAll()

            // Healthy afterwards: health, a login, the gate.
            #expect(try PlainHTTP.request(port: stack.plainPort, "GET", "/api/v1/health").status == 200)
            let again = try stack.tokens("admin@hostile.test")
            #expect(try PlainHTTP.request(port: stack.plainPort, "GET", "/demo/gated",
                                          headers: [("Authorization", "Bearer \(again.access)")]).status == 200)
            #expect(stack.responder?.isRunning == true)

            // No raw secret in the audit log (passwords, tokens, keys sent in the table).
            let db = try stack.database()
            let rows = try db.connection.query("SELECT coalesce(actor,'') || ' ' || coalesce(event,'') || ' ' || coalesce(detail,'') || ' ' || coalesce(ip,'') FROM audit_events") { $0.text(0) }
            #expect(!rows.isEmpty)
            for secretText in [GateFixture.password, "wrong password 123", refresh, access, again.refresh, String(access.prefix(60))] {
                #expect(!rows.contains { $0.contains(secretText) }, "audit log holds a secret")
            }
            print("HostileCatalogue: \(cases.count) requests, \(mismatches.count) mismatches, \(fiveHundreds.count) 5xx; audit rows \(rows.count), no secret")
        }
    }
}
