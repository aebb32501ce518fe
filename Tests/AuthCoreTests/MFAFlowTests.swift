import AuthCrypto
import Foundation
import TestSupport
import Testing
@testable import AuthCore

/// The second factor through the core router (both stores: scripts/test.sh runs this suite on
/// PostgreSQL too). Codes come from python3 (PyTOTP), never from Authgate's TOTP code.
@Suite struct MFAFlowTests {
    let aal2 = GatePolicy(requiredLevel: 2)
    let any = GatePolicy()

    @Test(arguments: ["2signal", "get2dial"])
    func enrolLoginVerifyOnceAndTheGate(profile: String) throws {
        let h = try APIHarness.withSecrets(profile: profile)
        let t = try h.tenant("mfa.test")
        try h.user("ann@mfa.test", tenant: t)
        let (level1, _) = h.login("ann@mfa.test")
        #expect(jwtClaims(level1)?["aal"] == .int(1))
        #expect(jwtClaims(level1)?["amr"] == .array([.string("pwd")]))
        // A level-1 token: allowed where nothing more is required, 401 mfa_required at level 2.
        let v1 = h.call("GET", "/x", bearer: level1, verify: any)
        #expect(v1.status == 204 && v1.response.header("X-Auth-AAL") == "1")
        let refused = h.call("GET", "/x", bearer: level1, verify: aal2)
        #expect(refused.status == 401 && refused.response.header("X-Auth-Error") == "mfa_required")
        #expect(refused.response.header("WWW-Authenticate")?.contains("insufficient_user_authentication") == true)

        let enrolled = try h.enrolTOTP(level1)
        #expect(enrolled.recovery.count == 10)
        #expect(Set(enrolled.recovery).count == 10)
        // Confirming revoked the level-1 session and handed back a level-2 pair.
        #expect(h.call("GET", "/api/v1/auth/me", bearer: level1).status == 401)
        let v2 = h.call("GET", "/x", bearer: enrolled.access, verify: aal2)
        #expect(v2.status == 204 && v2.response.header("X-Auth-AAL") == "2")
        // The seed is sealed at rest: the database holds no base32 or raw form of it.
        let rows = try h.db.mfa.factors(userID: try #require(jwtClaims(enrolled.access)?["sub"]?.stringValue))
        #expect(rows.count == 1 && rows[0].secret.hasPrefix("v1.") && !rows[0].secret.contains(enrolled.secret))

        // The password alone: mfa_required, a token that passes nothing.
        let login = h.call("POST", "/api/v1/auth/login", json: #"{"email":"ann@mfa.test","password":"correct horse battery"}"#)
        #expect(login.status == 200)
        let data = try #require(login.json?.data)
        #expect(data["mfa_required"] == .bool(true))
        #expect(data["factors"] == .array([.string("totp"), .string("recovery_code")]))
        #expect(data["access_token"] == nil && data["token"] == nil && data["refresh_token"] == nil)
        if profile == "get2dial" { #expect(login.json?["status"]?.stringValue == "success") }
        let mfaToken = try #require(data["mfa_token"]?.stringValue)
        #expect(h.call("GET", "/api/v1/auth/me", bearer: mfaToken).status == 401)
        #expect(h.call("GET", "/x", bearer: mfaToken, verify: any).status == 401)

        // The confirming code was consumed: it cannot finish a login.
        let replay = h.call("POST", "/api/v1/auth/mfa/verify", json: #"{"mfa_token":"\#(mfaToken)","code":"\#(enrolled.used)"}"#)
        #expect(replay.status == 401 && replay.json?.errorCode == "invalid_credentials")
        let code = try PyTOTP.fresh(secret: enrolled.secret, notIn: [enrolled.used])
        if code != enrolled.used {
            let ok = h.call("POST", "/api/v1/auth/mfa/verify", json: #"{"mfa_token":"\#(mfaToken)","code":"\#(code)"}"#)
            #expect(ok.status == 200, "\(String(decoding: ok.response.body, as: UTF8.self))")
            let access = try #require(ok.json?.data?["access_token"]?.stringValue ?? ok.json?.data?["token"]?.stringValue)
            #expect(jwtClaims(access)?["aal"] == .int(2))
            #expect(jwtClaims(access)?["amr"] == .array([.string("pwd"), .string("otp")]))
            #expect(h.call("GET", "/x", bearer: access, verify: aal2).status == 204)
            // Refresh keeps the level.
            let refresh = try #require(ok.json?.data?["refresh_token"]?.stringValue)
            let r = h.call("POST", "/api/v1/auth/refresh", json: #"{"refresh_token":"\#(refresh)"}"#)
            let renewed = try #require(r.json?.data?["access_token"]?.stringValue ?? r.json?.data?["token"]?.stringValue)
            #expect(jwtClaims(renewed)?["aal"] == .int(2))
            // The mfa_token was single use; the same code with a new mfa_token is refused.
            #expect(h.call("POST", "/api/v1/auth/mfa/verify", json: #"{"mfa_token":"\#(mfaToken)","code":"\#(code)"}"#).status == 401)
            let again = h.mfaToken("ann@mfa.test")
            let second = h.call("POST", "/api/v1/auth/mfa/verify", json: #"{"mfa_token":"\#(again)","code":"\#(code)"}"#)
            #expect(second.status == 401 && second.json?.errorCode == "invalid_credentials")
        }
    }

    @Test func usersWithoutAFactorLogInAsBefore() throws {
        let h = try APIHarness.withSecrets()
        let t = try h.tenant("plain.test")
        try h.user("bob@plain.test", tenant: t)
        let r = h.call("POST", "/api/v1/auth/login", json: #"{"email":"bob@plain.test","password":"correct horse battery"}"#)
        #expect(r.status == 200)
        guard case let .object(pairs)? = r.json?.data else { Issue.record("no data"); return }
        #expect(pairs.map(\.0) == ["access_token", "refresh_token", "expires_at", "user"])
    }

    @Test func sixteenConcurrentSubmissionsOfOneCodeGiveOneSession() throws {
        let h = try APIHarness.withSecrets(env: ["AUTH_LOCKOUT_THRESHOLD": "100"])
        let t = try h.tenant("race.test")
        try h.user("cy@race.test", tenant: t)
        let (access, _) = h.login("cy@race.test")
        let enrolled = try h.enrolTOTP(access)
        let tokens = (0..<16).map { _ in h.mfaToken("cy@race.test") }
        let code = try PyTOTP.fresh(secret: enrolled.secret, notIn: [enrolled.used])
        try #require(code != enrolled.used)
        let app = h.app
        // Every submission checks the code against the factor as it was before any of them
        // committed (all 16 wait here for each other), so only the compare-and-swap in the
        // session's transaction can tell them apart.
        let arrived = Locked(0)
        app.testHooks.afterCodeCheck = { _ in
            arrived.withLock { $0 += 1 }
            try? waitFor("all 16 submissions to have checked the code", timeout: 20, every: 1_000) {
                arrived.withLock { $0 } >= 16
            }
        }
        // Each thread its own worker (its own database connection), as responder threads are.
        let results = try onThreads(16) { i -> Int in
            let w = try app.makeWorker()
            let body = Array(#"{"mfa_token":"\#(tokens[i])","code":"\#(code)"}"#.utf8)
            let req = Request(method: "POST", path: "/api/v1/auth/mfa/verify", query: "",
                              headers: ["content-type": "application/json"], body: body, remoteAddress: "127.0.0.1", verify: nil)
            return w.handle(req).status
        }
        let statuses = results.map { (try? $0.get()) ?? -1 }
        print("16 concurrent verifications of one code:", statuses)
        #expect(statuses.filter { $0 == 200 }.count == 1)
        #expect(statuses.filter { $0 == 401 }.count == 15)
    }

    @Test func wrongCodesLockTheAccountWithTheGenericError() throws {
        let h = try APIHarness.withSecrets(env: ["AUTH_LOCKOUT_THRESHOLD": "3", "AUTH_LOCKOUT_SECONDS": "900"])
        let t = try h.tenant("lock.test")
        try h.user("di@lock.test", tenant: t)
        let (access, _) = h.login("di@lock.test")
        let enrolled = try h.enrolTOTP(access)
        let good = try PyTOTP.fresh(secret: enrolled.secret, notIn: [enrolled.used])
        let wrong = good == "000000" ? "000001" : "000000"
        for _ in 0..<3 {
            // A fresh password login each time does not reset the count.
            let token = h.mfaToken("di@lock.test")
            let r = h.call("POST", "/api/v1/auth/mfa/verify", json: #"{"mfa_token":"\#(token)","code":"\#(wrong)"}"#)
            #expect(r.status == 401 && r.json?.errorCode == "invalid_credentials" && r.json?["error"]?["message"]?.stringValue == "invalid credentials")
        }
        // Locked: the right password gets the generic error, and so would the right code.
        let login = h.call("POST", "/api/v1/auth/login", json: #"{"email":"di@lock.test","password":"correct horse battery"}"#)
        #expect(login.status == 401 && login.json?.errorCode == "invalid_credentials")
        let user = try #require(try h.db.users.byEmail(tenantID: t.id, email: "di@lock.test"))
        #expect(user.isLocked(now: Time.now()))
    }

    @Test func aRecoveryCodeWorksOnce() throws {
        let h = try APIHarness.withSecrets()
        let t = try h.tenant("rec.test")
        try h.user("ed@rec.test", tenant: t)
        let (access, _) = h.login("ed@rec.test")
        let enrolled = try h.enrolTOTP(access)
        let code = enrolled.recovery[3]
        let first = h.call("POST", "/api/v1/auth/mfa/verify", json: #"{"mfa_token":"\#(h.mfaToken("ed@rec.test"))","recovery_code":"\#(code.uppercased())"}"#)
        #expect(first.status == 200)
        let level2 = try #require(first.json?.data?["access_token"]?.stringValue)
        #expect(jwtClaims(level2)?["aal"] == .int(2))
        let second = h.call("POST", "/api/v1/auth/mfa/verify", json: #"{"mfa_token":"\#(h.mfaToken("ed@rec.test"))","recovery_code":"\#(code)"}"#)
        #expect(second.status == 401 && second.json?.errorCode == "invalid_credentials")
        let list = h.call("GET", "/api/v1/auth/mfa", bearer: level2)
        #expect(list.json?.data?["recovery_codes_remaining"] == .int(9))
        // Regenerating (level 2) voids the old codes.
        let regen = h.call("POST", "/api/v1/auth/mfa/recovery-codes", bearer: level2)
        #expect(regen.status == 200)
        let third = h.call("POST", "/api/v1/auth/mfa/verify", json: #"{"mfa_token":"\#(h.mfaToken("ed@rec.test"))","recovery_code":"\#(enrolled.recovery[5])"}"#)
        #expect(third.status == 401)
    }

    @Test func sensitiveActionsNeedLevelTwoOnceAFactorExists() throws {
        let h = try APIHarness.withSecrets()
        let t = try h.tenant("sens.test")
        try h.user("fa@sens.test", tenant: t)
        let (first, _) = h.login("fa@sens.test")
        let enrolled = try h.enrolTOTP(first)
        let userID = try #require(jwtClaims(enrolled.access)?["sub"]?.stringValue)
        // A level-1 session of a user who has a factor (made directly: a login cannot give one).
        let now = Time.now()
        let session = try h.db.sessions.create(userID: userID, now: now)
        let user = try #require(try h.db.users.byID(userID))
        let level1 = TokenIssuer(worker: h.worker).issue(user: user, session: session, counter: 1, now: now).accessToken
        let pw = #"{"current_password":"correct horse battery","new_password":"another long passphrase"}"#
        let denied = h.call("POST", "/api/v1/auth/me/password", json: pw, bearer: level1)
        #expect(denied.status == 401 && denied.json?.errorCode == "mfa_required")
        let factorID = try #require(try h.db.mfa.factors(userID: userID).first?.id)
        #expect(h.call("DELETE", "/api/v1/auth/mfa/totp/\(factorID)", bearer: level1).json?.errorCode == "mfa_required")
        #expect(h.call("POST", "/api/v1/auth/mfa/recovery-codes", bearer: level1).json?.errorCode == "mfa_required")
        // At level 2 they go through.
        // The last factor (issue 22): refused until confirmed, the consequence in the message.
        let last = h.call("DELETE", "/api/v1/auth/mfa/totp/\(factorID)", bearer: enrolled.access)
        #expect(last.status == 409 && last.json?.errorCode == "last_factor")
        #expect(h.call("DELETE", "/api/v1/auth/mfa/totp/\(factorID)?confirm_last=1", bearer: enrolled.access).status == 200)
        #expect(try h.db.mfa.hasActiveFactor(userID: userID) == false)
        #expect(h.call("POST", "/api/v1/auth/me/password", json: pw, bearer: level1).status == 200)
    }

    @Test func aPasswordChangeVoidsPendingMFATokens() throws {
        let h = try APIHarness.withSecrets()
        let t = try h.tenant("pwchange.test")
        try h.user("ivy@pwchange.test", tenant: t)
        let (access, _) = h.login("ivy@pwchange.test")
        let enrolled = try h.enrolTOTP(access)
        let pending = h.mfaToken("ivy@pwchange.test")
        // The password changes (another connection: the CLI's set-password) before the code step.
        let cli = try h.openDatabase()
        let user = try #require(try cli.users.byEmail(tenantID: t.id, email: "ivy@pwchange.test"))
        let hash = try PasswordHash.make(password: "a brand new passphrase", parameters: h.app.scrypt)
        try cli.transaction { _ = try cli.users.setPassword(userID: user.id, hash: hash, mustChange: false, now: Time.now()) }
        let code = try PyTOTP.fresh(secret: enrolled.secret, notIn: [enrolled.used])
        try #require(code != enrolled.used)
        let r = h.call("POST", "/api/v1/auth/mfa/verify", json: #"{"mfa_token":"\#(pending)","code":"\#(code)"}"#)
        #expect(r.status == 401 && r.json?.errorCode == "invalid_token", "\(String(decoding: r.response.body, as: UTF8.self))")
    }

    @Test func noSecretsFileNoEnrolment() throws {
        let h = try APIHarness()
        let t = try h.tenant("nosec.test")
        try h.user("gi@nosec.test", tenant: t)
        let (access, _) = h.login("gi@nosec.test")
        let r = h.call("POST", "/api/v1/auth/mfa/totp", bearer: access)
        #expect(r.status == 503 && r.response.header("Retry-After") != nil)
    }
}

/// The management routes take the browser's cookie session too (same-origin rule for writes).
@Suite struct MFACookieRouteTests {
    @Test func enrolAndListByCookie() throws {
        let h = try APIHarness.withSecrets()
        let t = try h.tenant("cookie.test")
        try h.user("hal@cookie.test", tenant: t)
        let (access, _) = h.login("hal@cookie.test")
        let jar = "__Host-authgate=\(access)"
        #expect(h.call("GET", "/api/v1/auth/mfa", headers: ["cookie": jar]).status == 200)
        // A write by cookie from another site (or with no Origin at all) is refused.
        let cross = h.call("POST", "/api/v1/auth/mfa/totp", headers: ["cookie": jar, "origin": "https://evil.example", "host": "auth.test"])
        #expect(cross.status == 403)
        #expect(h.call("POST", "/api/v1/auth/mfa/totp", headers: ["cookie": jar]).status == 403)
        let same = h.call("POST", "/api/v1/auth/mfa/totp", headers: ["cookie": jar, "origin": "https://auth.test", "host": "auth.test"])
        #expect(same.status == 201, "\(String(decoding: same.response.body, as: UTF8.self))")
    }
}
