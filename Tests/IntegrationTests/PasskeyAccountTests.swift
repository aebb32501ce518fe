import Foundation
import TestSupport
import Testing
import WebAuthnTestSupport

/// The account page and its cookie routes (issue 22) through nginx: `/auth/account` needs a
/// session (else the login page), shows the factors, the passkey form and the sessions list;
/// the sessions routes take the access cookie, with the same-origin rule for a revoke; a passkey
/// registered by cookie answers with level-2 cookies.
@Suite("Passkeys: the account page")
struct PasskeyAccountTests {
    @Test func accountPageSessionsAndCookieRegistration() throws {
        try Stack.with(PasskeyFixture.options()) { stack in
            _ = try stack.makeTenant("demo.local")
            try stack.makeUser("flo@demo.local", tenant: "demo.local")
            let anonymous = try stack.client.get("/auth/account")
            #expect(anonymous.status == 303 && anonymous.header("location") == "/auth/login?return_to=/auth/account",
                    "\(anonymous.status) \(anonymous.header("location") ?? "")")
            let login = try stack.client.request("POST", "/api/v1/auth/session", headers: [
                "Origin": stack.baseURL, "Content-Type": "application/json", "User-Agent": "PasskeyAccountTests/1"],
                body: Array(#"{"email":"flo@demo.local","password":"\#(GateFixture.password)"}"#.utf8))
            #expect(login.status == 200, "\(login.text)")
            var jar = BrowserSessionTests.cookies(login)
            let other = try stack.tokens("flo@demo.local")      // a second session, by the API
            let page = try stack.client.get("/auth/account", headers: ["Cookie": BrowserSessionTests.cookieHeader(jar)])
            #expect(page.status == 200, "\(page.status)")
            for id in ["passkey-add", "passkey-name", "totp-add", "id=\"sessions\"", "/auth/assets/passkeys.js", "None yet."] {
                #expect(page.text.contains(id), "\(id) missing from the account page")
            }
            #expect(page.header("Content-Security-Policy")?.contains("script-src 'self'") == true)
            let script = try stack.client.get("/auth/assets/passkeys.js")
            #expect(script.status == 200 && script.text.contains("mediation: \"conditional\""))

            // The sessions list by cookie: both sessions, this one marked.
            let list = try stack.client.get("/api/v1/auth/sessions", headers: ["Cookie": BrowserSessionTests.cookieHeader(jar)])
            let sessions = (list.json["data"] as? [[String: Any]]) ?? []
            #expect(sessions.count == 2 && sessions.filter { $0["current"] as? Bool == true }.count == 1, "\(list.text)")
            let otherID = try #require(sessions.first { $0["current"] as? Bool == false }?["id"] as? String)
            // A revoke by cookie needs the same origin (CSRF), then works.
            let path = "/api/v1/auth/sessions/\(otherID)"
            let crossSite = try stack.client.request("DELETE", path, headers: ["Cookie": BrowserSessionTests.cookieHeader(jar)])
            #expect(crossSite.status == 403, "\(crossSite.text)")
            let revoked = try stack.client.request("DELETE", path, headers: [
                "Cookie": BrowserSessionTests.cookieHeader(jar), "Origin": stack.baseURL])
            #expect(revoked.status == 200, "\(revoked.text)")
            #expect(try stack.get("/api/v1/auth/me", token: other.access).status == 401)

            // Registration by cookie: the first factor answers with level-2 cookies.
            let cookie = ["Cookie": BrowserSessionTests.cookieHeader(jar), "Origin": stack.baseURL, "Content-Type": "application/json"]
            let options = try stack.client.request("POST", "/api/v1/auth/mfa/webauthn/register/options", headers: cookie, body: Array("{}".utf8))
            let pk = try #require(options.data["publicKey"] as? [String: Any], "\(options.text)")
            let key = SoftwareAuthenticator()
            let reg = key.makeRegistration(challenge: try Stack.challenge(pk), origin: PasskeyFixture.origin, rpID: "localhost")
            let body = try JSONSerialization.data(withJSONObject: ["credential": PasskeyFixture.object(reg.json), "name": "Desk"])
            let registered = try stack.client.request("POST", "/api/v1/auth/mfa/webauthn/register", headers: cookie, body: [UInt8](body))
            #expect(registered.status == 201, "\(registered.text)")
            let fresh = BrowserSessionTests.cookies(registered)
            #expect(fresh.count == 2, "\(registered.headers("set-cookie"))")
            for (k, v) in fresh { jar[k] = v }
            let after = try stack.client.get("/auth/account", headers: ["Cookie": BrowserSessionTests.cookieHeader(jar)])
            #expect(after.text.contains("Desk") && after.text.contains("with a second factor"), "\(after.text)")
        }
    }
}
