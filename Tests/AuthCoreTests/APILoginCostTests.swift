import AuthCrypto
import Foundation
import TestSupport
import Testing
@testable import AuthCore

/// Review finding 10: every failed login costs exactly one password hash (one scrypt run),
/// whatever the account: unknown, locked, disabled or known with a wrong password, in a daemon
/// and in a one-shot (CGI) process, which made a dummy hash and then verified against it (two
/// runs) for unknown and locked accounts. Counted with `App.passwordHashRuns`, not timed.
@Suite struct APILoginCostTests {
    static func runs(_ h: APIHarness, _ email: String, _ password: String) -> (status: Int, runs: Int) {
        let before = h.app.passwordHashRuns
        let r = h.call("POST", "/api/v1/auth/login", json: #"{"email":"\#(email)","password":"\#(password)"}"#)
        return (r.status, h.app.passwordHashRuns - before)
    }

    @Test(arguments: [true, false])
    func everyFailedLoginCostsOneHash(oneShot: Bool) throws {
        let h = try APIHarness(env: ["AUTH_LOCKOUT_THRESHOLD": "3"], oneShot: oneShot)
        let t = try h.tenant("acme.test")
        try h.user("known@acme.test", tenant: t)
        let off = try h.user("off@acme.test", tenant: t)
        _ = try h.db.users.setStatus(userID: off.id, status: "disabled", now: Time.now())
        try h.user("locked@acme.test", tenant: t)
        for _ in 0..<3 { _ = Self.runs(h, "locked@acme.test", "wrong password!") }

        let mode = oneShot ? "one-shot (CGI)" : "daemon"
        for (email, password, what) in [("nobody@acme.test", "wrong password!", "unknown email"),
                                        ("known@acme.test", "wrong password!", "known email, wrong password"),
                                        ("locked@acme.test", "correct horse battery", "locked account"),
                                        ("off@acme.test", "correct horse battery", "disabled account"),
                                        ("nobody@acme.test", "another wrong one", "unknown email again")] {
            let r = Self.runs(h, email, password)
            #expect(r.status == 401, "\(mode) \(what): \(r.status)")
            #expect(r.runs == 1, "\(mode) \(what): \(r.runs) password hashes")
        }
        let ok = Self.runs(h, "known@acme.test", "correct horse battery")
        #expect(ok.status == 200 && ok.runs == 1, "\(mode) success: \(ok)")
    }
}
