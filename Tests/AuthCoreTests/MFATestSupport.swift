import AuthCrypto
import Foundation
import TestSupport
import Testing
@testable import AuthCore

/// A harness with a secrets file, and the steps of an enrolment with codes from python3.
extension APIHarness {
    static func withSecrets(profile: String = "2signal", env: [String: String] = [:]) throws -> APIHarness {
        try APIHarness(profile: profile, env: env) { dir in _ = try KeyRing.rotate(path: "\(dir)/secrets") }
    }

    /// Enrols and confirms a TOTP factor from `access`; returns the base32 secret, the level-2
    /// pair the confirmation handed back, the recovery codes, and the code it used.
    func enrolTOTP(_ access: String, sourceLocation: SourceLocation = #_sourceLocation) throws
        -> (secret: String, access: String, refresh: String, recovery: [String], used: String) {
        let e = call("POST", "/api/v1/auth/mfa/totp", bearer: access)
        #expect(e.status == 201, "enrol: \(String(decoding: e.response.body, as: UTF8.self))", sourceLocation: sourceLocation)
        let secret = try #require(e.json?.data?["secret"]?.stringValue, sourceLocation: sourceLocation)
        let factor = try #require(e.json?.data?["factor_id"]?.stringValue, sourceLocation: sourceLocation)
        let code = try PyTOTP.code(secret: secret)
        let c = call("POST", "/api/v1/auth/mfa/totp/confirm", json: #"{"factor_id":"\#(factor)","code":"\#(code)"}"#, bearer: access)
        #expect(c.status == 200, "confirm: \(String(decoding: c.response.body, as: UTF8.self))", sourceLocation: sourceLocation)
        let data = c.json?.data
        let recovery = (data?["recovery_codes"]).flatMap { j -> [String]? in
            guard case let .array(items) = j else { return nil }
            return items.compactMap(\.stringValue)
        } ?? []
        return (secret, data?["access_token"]?.stringValue ?? data?["token"]?.stringValue ?? "",
                data?["refresh_token"]?.stringValue ?? "", recovery, code)
    }

    /// The password step of a user with a factor: the mfa_token (the login must say mfa_required).
    func mfaToken(_ email: String, _ password: String = "correct horse battery",
                  sourceLocation: SourceLocation = #_sourceLocation) -> String {
        let r = call("POST", "/api/v1/auth/login", json: #"{"email":"\#(email)","password":"\#(password)"}"#)
        guard r.json?.data?["mfa_required"] == .bool(true), let t = r.json?.data?["mfa_token"]?.stringValue else {
            Issue.record("login \(email): \(r.status) \(String(decoding: r.response.body, as: UTF8.self))", sourceLocation: sourceLocation)
            return ""
        }
        return t
    }
}

/// The claims of a JWT, read without verifying (the test checks what the server put there).
func jwtClaims(_ token: String) -> JSON? {
    let parts = token.split(separator: ".")
    guard parts.count == 3, let bytes = Base64URL.decode(parts[1]) else { return nil }
    return JSONParser.parse(bytes)
}
