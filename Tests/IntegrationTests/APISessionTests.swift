import AuthCore
import AuthCrypto
import Foundation
import Testing

/// Issue 3 through real nginx: both profiles' shapes, logout scopes, session listing and
/// revocation, password change (and a pending one).
@Suite("API sessions through nginx")
struct APISessionTests {
    static func isRFC3339(_ value: Any?) -> Bool {
        guard let s = value as? String else { return false }
        return s.wholeMatch(of: #/\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z/#) != nil
    }

    @Test(arguments: ["2signal", "get2dial"])
    func profileShapesAndErrors(profile: String) throws {
        var options = Stack.Options()
        options.profile = profile
        try Stack.with(options) { stack in
            let tenant = try stack.makeTenant("acme.test")
            let alice = try stack.makeUser("alice@acme.test", tenant: "acme.test", role: "supervisor")

            let r = try stack.login("  Alice@ACME.test ")
            #expect(r.status == 200, "\(r.text)")
            let user = r.data["user"] as? [String: Any] ?? [:]
            #expect(user["id"] as? String == alice && user["email"] as? String == "alice@acme.test")
            #expect((r.data["refresh_token"] as? String)?.hasPrefix("v1.") == true)
            if profile == "2signal" {
                #expect(r.json.keys.contains("error") && r.json["error"] is NSNull)
                #expect((r.data["access_token"] as? String)?.hasPrefix("eyJ") == true)
                #expect(r.data["expires_at"] is Int)
            } else {
                #expect(r.json["status"] as? String == "success")
                #expect((r.data["token"] as? String)?.hasPrefix("eyJ") == true)
                #expect(Self.isRFC3339(r.data["expires_at"]))
                #expect(user["tenant_id"] as? String == tenant && user["role"] as? String == "supervisor")
                #expect(user["status"] as? String == "active" && user["must_change_password"] as? Bool == false)
                #expect(Self.isRFC3339(user["created_at"]))
                #expect(Self.isRFC3339(user["updated_at"]))
            }
            let token = try #require(r.data[stack.accessField] as? String)
            let me = try stack.get("/api/v1/auth/me", token: token)
            #expect(me.status == 200 && me.data["id"] as? String == alice && me.data["role"] as? String == "supervisor")
            #expect(try stack.get("/demo/gated", token: token).status == 200)

            // Every login failure is the same 401; missing fields are a 400.
            var failures: [String] = []
            for (email, password) in [("alice@acme.test", "wrong password here"), ("nobody@acme.test", GateFixture.password)] {
                let bad = try stack.login(email, password: password)
                #expect(bad.status == 401 && bad.errorCode == "invalid_credentials")
                failures.append(bad.text)
            }
            let wrongTenant = try stack.login("alice@acme.test", tenant: "nowhere.test")
            #expect(wrongTenant.status == 401)
            failures.append(wrongTenant.text)
            #expect(Set(failures).count == 1, "\(failures)")
            let missing = try stack.post("/api/v1/auth/login", json: ["email": "alice@acme.test"])
            #expect(missing.status == 400 && missing.errorCode == "invalid_request")
            #expect((missing.json["error"] as? [String: Any])?["message"] as? String == "missing email or password")
            let notJSON = try stack.client.request("POST", "/api/v1/auth/login", headers: ["Content-Type": "application/json"],
                                                   body: Array("{nope".utf8))
            #expect(notJSON.status == 400 && notJSON.errorCode == "invalid_request")
            let noRefresh = try stack.post("/api/v1/auth/refresh", json: [:])
            #expect(noRefresh.status == 400)
            let badRefresh = try stack.post("/api/v1/auth/refresh", json: ["refresh_token": "v1.MQ"])
            #expect(badRefresh.status == 401 && badRefresh.errorCode == "invalid_token")
            if profile == "get2dial" { #expect(badRefresh.json["status"] as? String == "error") }
        }
    }

    @Test func logoutScopesTakeEffect() throws {
        try Stack.with { stack in
            _ = try stack.makeTenant("acme.test")
            try stack.makeUser("alice@acme.test", tenant: "acme.test")
            func dead(_ s: (access: String, refresh: String)) throws -> Bool {
                try stack.get("/api/v1/auth/me", token: s.access).status == 401
            }
            func refreshDead(_ s: (access: String, refresh: String)) throws -> Bool {
                try stack.post("/api/v1/auth/refresh", json: ["refresh_token": s.refresh]).status == 401
            }
            let s1 = try stack.tokens("alice@acme.test"), s2 = try stack.tokens("alice@acme.test")
            let s3 = try stack.tokens("alice@acme.test")

            // others: every session but the caller's.
            #expect(try stack.post("/api/v1/auth/logout?scope=others", token: s1.access).status == 200)
            #expect(try dead(s2) && dead(s3) && refreshDead(s2) && !dead(s1))
            #expect(try stack.secondsUntil("/demo/echo", token: s2.access, answers: 401) != nil)
            #expect(try stack.get("/demo/echo", token: s1.access).status == 200)

            // local (the default): only the caller's; the 2Signal client sends no body.
            let s4 = try stack.tokens("alice@acme.test")
            let out = try stack.client.request("POST", "/api/v1/auth/logout",
                                               headers: ["Authorization": "Bearer \(s4.access)"])
            #expect(out.status == 200 && out.data["success"] as? Bool == true)
            #expect(try dead(s4) && refreshDead(s4) && !dead(s1))
            #expect(try stack.secondsUntil("/demo/echo", token: s4.access, answers: 401) != nil)

            // With only the refresh token in the body (an expired access token).
            let s5 = try stack.tokens("alice@acme.test")
            #expect(try stack.post("/api/v1/auth/logout", json: ["refresh_token": s5.refresh]).status == 200)
            #expect(try dead(s5) && refreshDead(s5) && !dead(s1))

            // global: all of them, the caller's included.
            let s6 = try stack.tokens("alice@acme.test")
            #expect(try stack.post("/api/v1/auth/logout?scope=global", token: s6.access).status == 200)
            #expect(try dead(s1) && dead(s6) && refreshDead(s1))
            #expect(try stack.secondsUntil("/demo/echo", token: s1.access, answers: 401) != nil)

            // Refusals: no credential, a bad scope, a dead token.
            #expect(try stack.post("/api/v1/auth/logout").status == 401)
            let s7 = try stack.tokens("alice@acme.test")
            #expect(try stack.post("/api/v1/auth/logout?scope=everything", token: s7.access).status == 400)
            #expect(try stack.post("/api/v1/auth/logout", token: s6.access).status == 401)
        }
    }

    @Test func sessionListingAndRevocation() throws {
        try Stack.with { stack in
            _ = try stack.makeTenant("acme.test")
            try stack.makeUser("alice@acme.test", tenant: "acme.test")
            try stack.makeUser("bob@acme.test", tenant: "acme.test")
            var sessions: [(access: String, refresh: String)] = []
            for agent in ["laptop", "phone", "tablet"] {
                let r = try stack.client.request("POST", "/api/v1/auth/login",
                                                 headers: ["Content-Type": "application/json", "User-Agent": agent],
                                                 body: Array(#"{"email":"alice@acme.test","password":"\#(GateFixture.password)"}"#.utf8))
                sessions.append((try #require(r.data["access_token"] as? String), try #require(r.data["refresh_token"] as? String)))
            }
            let bob = try stack.tokens("bob@acme.test")
            func list(_ token: String) throws -> [[String: Any]] {
                let r = try stack.get("/api/v1/auth/sessions", token: token)
                #expect(r.status == 200, "\(r.text)")
                return r.json["data"] as? [[String: Any]] ?? []
            }
            let listed = try list(sessions[0].access)
            #expect(listed.count == 3)
            #expect(Set(listed.compactMap { $0["user_agent"] as? String }) == ["laptop", "phone", "tablet"])
            #expect(listed.filter { $0["current"] as? Bool == true }.count == 1)
            #expect(listed.allSatisfy { $0["id"] is String && $0["created_at"] != nil && $0["refreshed_at"] != nil
                                        && $0["ip"] as? String == "127.0.0.1" })
            let current = try #require(listed.first { $0["current"] as? Bool == true }?["id"] as? String)
            let phone = try #require(listed.first { $0["user_agent"] as? String == "phone" }?["id"] as? String)
            #expect(current != phone)

            // Bob can neither see nor revoke Alice's sessions.
            #expect(try list(bob.access).count == 1)
            #expect(try stack.client.request("DELETE", "/api/v1/auth/sessions/\(phone)",
                                             headers: ["Authorization": "Bearer \(bob.access)"]).status == 404)
            #expect(try stack.get("/api/v1/auth/me", token: sessions[1].access).status == 200)

            let del = try stack.client.request("DELETE", "/api/v1/auth/sessions/\(phone)",
                                               headers: ["Authorization": "Bearer \(sessions[0].access)"])
            #expect(del.status == 200 && del.data["success"] as? Bool == true)
            #expect(try stack.get("/api/v1/auth/me", token: sessions[1].access).status == 401)
            #expect(try stack.post("/api/v1/auth/refresh", json: ["refresh_token": sessions[1].refresh]).status == 401)
            #expect(try stack.secondsUntil("/demo/echo", token: sessions[1].access, answers: 401) != nil)
            #expect(try list(sessions[0].access).count == 2)
            #expect(try stack.client.request("DELETE", "/api/v1/auth/sessions/\(phone)",
                                             headers: ["Authorization": "Bearer \(sessions[0].access)"]).status == 404)
            #expect(try stack.client.request("DELETE", "/api/v1/auth/sessions/\(UUIDs.random())",
                                             headers: ["Authorization": "Bearer \(sessions[0].access)"]).status == 404)
            #expect(try stack.get("/api/v1/auth/me", token: sessions[2].access).status == 200)
        }
    }

    @Test func passwordChangeAndPendingChange() throws {
        try Stack.with { stack in
            _ = try stack.makeTenant("acme.test")
            try stack.makeUser("alice@acme.test", tenant: "acme.test")
            let a = try stack.tokens("alice@acme.test"), b = try stack.tokens("alice@acme.test")
            let newPassword = "a brand new passphrase 7"
            func change(_ token: String, _ current: String, _ new: String) throws -> HTTPSResult {
                try stack.post("/api/v1/auth/me/password", json: ["current_password": current, "new_password": new], token: token)
            }
            let wrong = try change(a.access, "not my password at all", newPassword)
            #expect(wrong.status == 401 && wrong.errorCode == "invalid_credentials")
            for weak in ["short", "alice@acme.test", GateFixture.password] {
                let r = try change(a.access, GateFixture.password, weak)
                #expect(r.status == 400 && r.errorCode == "weak_password", "\(weak): \(r.text)")
            }
            let ok = try change(a.access, GateFixture.password, newPassword)
            #expect(ok.status == 200 && ok.data["success"] as? Bool == true)
            // Every other session ends; the caller's stays.
            #expect(try stack.get("/api/v1/auth/me", token: b.access).status == 401)
            #expect(try stack.post("/api/v1/auth/refresh", json: ["refresh_token": b.refresh]).status == 401)
            #expect(try stack.secondsUntil("/demo/echo", token: b.access, answers: 401) != nil)
            #expect(try stack.get("/demo/echo", token: a.access).status == 200)
            #expect(try stack.login("alice@acme.test").status == 401)
            #expect(try stack.login("alice@acme.test", password: newPassword).status == 200)

            // A pending change: /me, /me/password and /logout only, verify route included.
            try stack.cliOK(["user", "create", "--tenant", "acme.test", "--email", "carol@acme.test", "--role", "agent",
                             "--password-stdin", "--must-change-password"], stdin: GateFixture.password + "\n")
            let c = try stack.tokens("carol@acme.test")
            #expect(try stack.get("/api/v1/auth/me", token: c.access).status == 200)
            let blocked = try stack.get("/api/v1/auth/sessions", token: c.access)
            #expect(blocked.status == 403 && blocked.errorCode == "password_change_required")
            #expect(try stack.get("/demo/echo", token: c.access).status == 403)
            #expect(try change(c.access, GateFixture.password, newPassword).status == 200)
            #expect(try stack.secondsUntil("/demo/echo", token: c.access, answers: 200) != nil)
            #expect(try stack.get("/api/v1/auth/sessions", token: c.access).status == 200)
        }
    }
}
