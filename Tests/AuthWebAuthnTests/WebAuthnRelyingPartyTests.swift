import AuthWebAuthn
import Testing

/// The start-up rule for AUTH_WEBAUTHN_RP_ID and the allowed origins: the RP ID is every origin's
/// host or a suffix of it at a label boundary; https only (http for localhost and 127.0.0.1).
@Suite struct WebAuthnRelyingPartyTests {
    @Test func accepted() throws {
        let rp = try WebAuthnRelyingParty(rpID: "example.com", origins: ["https://example.com", "https://login.example.com:8443",
                                                                          "HTTPS://Auth.Example.com:443/"])
        #expect(rp.origins == ["https://example.com", "https://login.example.com:8443", "https://auth.example.com"])
        #expect(try WebAuthnRelyingParty(rpID: "localhost", origins: ["http://localhost:8080"]).origins == ["http://localhost:8080"])
        #expect(try WebAuthnRelyingParty(rpID: "127.0.0.1", origins: ["https://127.0.0.1:8443"]).rpID == "127.0.0.1")
        #expect(try WebAuthnRelyingParty(rpID: "a.b.example.com", origins: ["https://x.a.b.example.com"]).rpID == "a.b.example.com")
        #expect(try WebAuthnRelyingParty(rpID: "intranet", origins: ["https://intranet"]).rpID == "intranet")
    }

    @Test(arguments: [
        ("calhost", ["http://localhost"], "suffix"),
        ("ample.com", ["https://example.com"], "suffix"),
        ("example.com", ["https://example.com", "https://example.org"], "example.org"),
        ("login.example.com", ["https://example.com"], "suffix"),
        ("example.com", ["http://example.com"], "plain http"),
        ("example.com", [], "no allowed origin"),
        ("", ["https://example.com"], "empty"),
        ("Example.com", ["https://example.com"], "lower case"),
        ("com", ["https://example.com"], "single label"),
        ("https://example.com", ["https://example.com"], "not a domain"),
        ("example.com:443", ["https://example.com"], "not a domain"),
        ("0.0.1", ["https://127.0.0.1"], "not a domain"),
        ("0.1", ["https://127.0.0.1"], "not a domain"),
        ("localhost", ["https://127.0.0.1"], "suffix"),
        ("example.com", ["https://example.com/login"], "path"),
        ("example.com", ["https://example.com:0"], "port"),
        ("example.com", ["example.com"], "not https"),
        ("example.com", ["https://user@example.com"], "user part"),
    ])
    func refused(_ rpID: String, _ origins: [String], _ reason: String) {
        do {
            _ = try WebAuthnRelyingParty(rpID: rpID, origins: origins)
            Issue.record("accepted \(rpID) for \(origins)")
        } catch {
            #expect(error.reason.contains(reason), "\(error.reason)")
        }
    }
}
