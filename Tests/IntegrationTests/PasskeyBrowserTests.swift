import AuthCrypto
import AuthWebAuthn
import Foundation
import Testing
import TestSupport

/// Issue 22 in a real headless Chromium with its virtual authenticator (Tests/browser/
/// browser_passkey.py over WebDriver): register a passkey on /auth/account, sign out, password +
/// passkey, sign out, the passkey alone, and the same passkey from a second origin of the test's
/// nginx (another port, same RP ID: the browser allows it) refused by the server. Screenshots of
/// each step land in the test's temp dir (printed; kept when the test fails).
///
/// `AUTHGATE_CAPTURE_WEBAUTHN=DIR` also writes the registration and assertion Chromium made
/// (its bytes unchanged) as known-answer vectors for AuthWebAuthnTests into DIR (run once; the
/// files are committed under Tests/AuthWebAuthnTests/Fixtures/webauthn/chromium-*).
@Suite("Browser: passkeys in a real Chromium")
struct PasskeyBrowserTests {
    @Test func registerSecondFactorPasswordlessAndOtherOrigin() throws {
        for tool in ["/usr/bin/chromium", "/usr/bin/chromedriver", "/usr/bin/python3", "/usr/bin/openssl"] {
            try #require(FileManager.default.isExecutableFile(atPath: tool), "\(tool) is missing: run scripts/deps.sh")
        }
        let otherPort = try Stack.freePort()
        var options = Stack.Options()
        options.companion = false
        options.extraServerConfig = "listen 127.0.0.1:\(otherPort) ssl;"
        options.environment["AUTH_WEBAUTHN_RP_ID"] = "localhost"
        // The stack's port is known once nginx runs: the responder restarts with it below.
        options.environment["AUTH_WEBAUTHN_ORIGINS"] = "https://localhost:1"
        try Stack.with(options) { stack in
            _ = try stack.makeTenant("demo.local")
            _ = try stack.makeUser("pia@demo.local", tenant: "demo.local")
            let responder = try #require(stack.responder)
            responder.signal(SIGTERM)
            _ = try responder.wait(timeout: 10, for: "the first responder to stop")
            try stack.startResponder(extraEnvironment: ["AUTH_WEBAUTHN_ORIGINS": stack.baseURL])
            try UnixSocket.waitUntilAccepting(stack.socketPath, served: stack.responder, log: { stack.log("authgate-fcgi") })

            let shots = try TempDir("authgate-passkey-shots")
            let run = try Child.run("/usr/bin/python3", [
                Stack.repositoryRoot + "/Tests/browser/browser_passkey.py",
                "--base", stack.baseURL, "--other", "https://localhost:\(otherPort)",
                "--email", "pia@demo.local", "--password", GateFixture.password,
                "--cert", stack.certPath, "--shots", shots.path,
            ], timeout: 240)
            let report = run.stdout.split(separator: "\n").last.flatMap {
                try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
            } ?? [:]
            guard run.status == 0, report["ok"] as? Bool == true else {
                setenv("AUTHGATE_KEEP_STACK", "1", 1)
                Issue.record("passkey browser flow failed (screenshots in \(shots.path)): \(report["error"] ?? "") \(run.stderr.suffix(3000))")
                return
            }
            print("passkey browser screenshots (\((report["steps"] as? [String])?.joined(separator: ", ") ?? "")): \(shots.path)")
            let events = try stack.auditEvents()
            let details = events.compactMap { $0["detail"] as? String }
            #expect(details.contains { $0.contains("second factor: passkey") }, "\(details.prefix(10))")
            #expect(details.contains { $0.hasPrefix("passkey ") && $0.contains("with user verification") }, "\(details.prefix(10))")
            #expect(details.contains { $0.contains("webauthn_origin_not_allowed") }, "the other origin's refusal: \(details.prefix(10))")
            if let dir = ProcessInfo.processInfo.environment["AUTHGATE_CAPTURE_WEBAUTHN"] {
                try Self.writeVectors(report, to: dir, origin: stack.baseURL)
            }
        }
    }

    /// The captured fetch bodies as vectors in the format of Fixtures/webauthn/README.md.
    static func writeVectors(_ report: [String: Any], to dir: String, origin: String) throws {
        func entries(_ key: String) -> [[String: Any]] { report[key] as? [[String: Any]] ?? [] }
        func json(_ s: Any?) -> [String: Any] {
            (s as? String).flatMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] } ?? [:]
        }
        func credential(_ e: [String: Any]?) -> [String: Any] { json(e?["body"])["credential"] as? [String: Any] ?? [:] }
        func response(_ c: [String: Any]) -> [String: String] {
            (c["response"] as? [String: Any] ?? [:]).compactMapValues { $0 as? String }
        }
        let reg = entries("capture_registration"), asr = entries("capture_assertion")
        let regCred = credential(reg.first { ($0["url"] as? String)?.hasSuffix("/webauthn/register") == true })
        let asrCred = credential(asr.first { ($0["url"] as? String)?.hasSuffix("/session/passkey") == true })
        let regR = response(regCred), asrR = response(asrCred)
        func challenge(of r: [String: String]) -> String {
            let client = json(String(decoding: Base64URL.decode(r["clientDataJSON"] ?? "") ?? [], as: UTF8.self))
            return client["challenge"] as? String ?? ""
        }
        let rp = try WebAuthnRelyingParty(rpID: "localhost", origins: [origin])
        let cred = try WebAuthn.verifyRegistration(
            clientDataJSON: Base64URL.decode(regR["clientDataJSON"] ?? "") ?? [],
            attestationObject: Base64URL.decode(regR["attestationObject"] ?? "") ?? [],
            expectedChallenge: Base64URL.decode(challenge(of: regR)) ?? [], rp: rp, requireUserVerification: false)
        let result = try WebAuthn.verifyAssertion(
            clientDataJSON: Base64URL.decode(asrR["clientDataJSON"] ?? "") ?? [],
            authenticatorData: Base64URL.decode(asrR["authenticatorData"] ?? "") ?? [],
            signature: Base64URL.decode(asrR["signature"] ?? "") ?? [],
            expectedChallenge: Base64URL.decode(challenge(of: asrR)) ?? [], rp: rp,
            cosePublicKey: cred.cosePublicKey, storedSignCount: cred.signCount, requireUserVerification: false)
        let head = "# Captured from Chromium's virtual authenticator (ctap2, internal, resident key, UV) through\n"
            + "# WebDriver by IntegrationTests.PasskeyBrowserTests (AUTHGATE_CAPTURE_WEBAUTHN), bytes unchanged.\n"
        let registration = head + """
            kind=registration
            rp_id=localhost
            origin=\(origin)
            challenge=\(challenge(of: regR))
            client_data_json=\(regR["clientDataJSON"] ?? "")
            attestation_object=\(regR["attestationObject"] ?? "")
            expect_format=\(cred.attestationFormat)
            expect_algorithm=\(cred.algorithm)
            expect_credential_id=\(Base64URL.encode(cred.credentialID))
            expect_public_key=\(Base64URL.encode(cred.cosePublicKey))
            expect_sign_count=\(cred.signCount)
            expect_aaguid=\(Base64URL.encode(cred.aaguid))

            """
        let assertion = head + """
            kind=assertion
            rp_id=localhost
            origin=\(origin)
            challenge=\(challenge(of: asrR))
            client_data_json=\(asrR["clientDataJSON"] ?? "")
            authenticator_data=\(asrR["authenticatorData"] ?? "")
            signature=\(asrR["signature"] ?? "")
            public_key=\(Base64URL.encode(cred.cosePublicKey))
            stored_sign_count=\(cred.signCount)
            expect_sign_count=\(result.newSignCount)
            expect_user_verified=\(result.flags.userVerified)

            """
        try registration.write(toFile: dir + "/chromium-reg-es256.txt", atomically: true, encoding: .utf8)
        try assertion.write(toFile: dir + "/chromium-auth-es256.txt", atomically: true, encoding: .utf8)
        let raw = try JSONSerialization.data(withJSONObject: ["origin": origin, "registration": regCred, "assertion": asrCred],
                                             options: [.prettyPrinted, .sortedKeys])
        try raw.write(to: URL(fileURLWithPath: dir + "/chromium-capture.json"))
        print("wrote Chromium vectors to \(dir)")
    }
}
