import Foundation
import TestSupport
import Testing

/// Issue 21 across two hosts on one PostgreSQL (`TwoHosts`): a factor enrolled on A works on B
/// (one secrets file), and one code submitted 16 times at once, 8 to each host, each with its
/// own password step, gives exactly one session: the consumed step is one row, changed by
/// compare-and-swap under PostgreSQL's row lock, whichever host writes it.
@Suite("Two hosts: one code, one success")
struct TwoHostMFATests {
    @Test func oneCodeOneSuccessAcrossHosts() throws {
        try TwoHosts.with(configure: { $0.environment["AUTH_LOCKOUT_THRESHOLD"] = "40" }) { h in
            try h.world(users: ["dee@demo.local"])
            let first = try h.a.tokens("dee@demo.local").access
            let e = try h.a.post("/api/v1/auth/mfa/totp", token: first)
            let secret = try #require(e.data["secret"] as? String, "\(e.text)")
            let factor = try #require(e.data["factor_id"] as? String)
            let used = try PyTOTP.code(secret: secret)
            let c = try h.a.post("/api/v1/auth/mfa/totp/confirm", json: ["factor_id": factor, "code": used], token: first)
            #expect(c.status == 200, "\(c.text)")
            let code = try PyTOTP.fresh(secret: secret, notIn: [used])
            try #require(code != used)
            let requests = try h.hosts.map { host in
                try (0..<8).map { _ -> HTTPSClient.Request in
                    let login = try host.login("dee@demo.local")
                    let token = try #require(login.data["mfa_token"] as? String, "\(login.text)")
                    return try host.postRequest("/api/v1/auth/mfa/verify", json: ["mfa_token": token, "code": code])
                }
            }
            let field = h.a.accessField
            let answers = try onThreads(2) { i in
                try h.hosts[i].client.parallel(requests[i]).map { ($0.status, $0.data[field] as? String) }
            }.flatMap { try $0.get() }
            let statuses = answers.map(\.0)
            print("16 verifications of one code across two hosts: \(statuses)")
            #expect(statuses.count == 16)
            #expect(statuses.filter { $0 == 200 }.count == 1, "\(statuses)")
            #expect(statuses.filter { $0 == 401 }.count == 15, "\(statuses)")
            // The one session is level 2 and passes both hosts' gates.
            let access = try #require(answers.first { $0.0 == 200 }?.1)
            #expect(try h.a.get("/demo/mfa", token: access).status == 200)
            #expect(try h.b.get("/demo/mfa", token: access).status == 200)
        }
    }
}
