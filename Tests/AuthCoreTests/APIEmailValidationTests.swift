import Foundation
import TestSupport
import Testing
@testable import AuthCore

/// Review hardening: an email with an invisible (default-ignorable or format) code point is
/// refused, so no two accounts differ only by one, and the SQLite and PostgreSQL collations
/// cannot disagree about them.
@Suite struct APIEmailValidationTests {
    static let invisible: [String] = ["\u{00AD}", "\u{200B}", "\u{200C}", "\u{200D}", "\u{2060}", "\u{FEFF}",
                                      "\u{202E}", "\u{200E}", "\u{034F}", "\u{180E}", "\u{E0001}"]

    @Test func invisibleCodePointsAreRefused() {
        for ch in Self.invisible {
            for email in ["al\(ch)ice@acme.test", "alice@ac\(ch)me.test", "\(ch)alice@acme.test"] {
                #expect(Validation.normalizedEmail(email) == nil, "U+\(String(ch.unicodeScalars.first!.value, radix: 16)) accepted")
            }
        }
        #expect(Validation.normalizedEmail("Alice@Acme.test") == "alice@acme.test")
        #expect(Validation.normalizedEmail("josé@exämple.test") == "josé@exämple.test")
        #expect(Validation.normalizedEmail("用户@例子.中国") == "用户@例子.中国")
    }

    /// Through the API: the twin account cannot be created, and a login spelled with the
    /// invisible character is the generic failure.
    @Test func aTwinAddressIsNoAccount() throws {
        let h = try APIHarness()
        let t = try h.tenant("acme.test")
        try h.user("alice@acme.test", tenant: t)
        let r = h.call("POST", "/api/v1/auth/login", json: #"{"email":"al\u00adice@acme.test","password":"correct horse battery"}"#)
        #expect(r.status == 401 && r.json?.errorCode == "invalid_credentials", "\(r.status)")
        #expect(h.call("POST", "/api/v1/auth/login", json: #"{"email":"alice@acme.test","password":"correct horse battery"}"#).status == 200)
    }
}
