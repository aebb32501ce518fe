import AuthCrypto
import Foundation
import TestSupport
import Testing

/// `authgate keys rotate` while the stack runs: new tokens are signed with the new key within a
/// few seconds, tokens signed before stay valid (every key of the ring verifies), no restart.
@Suite("Key rotation without a restart")
struct GateKeyRotationTests {
    static func kid(_ token: String) -> String? {
        guard let header = token.split(separator: ".").first, let bytes = Base64URL.decode(header) else { return nil }
        return JSONParser.parse(bytes)?["kid"]?.stringValue
    }

    @Test(arguments: GateDoor.allCases) func runningProcessesPickUpARotatedKey(door: GateDoor) throws {
        try Stack.with(door.options()) { stack in
            _ = try stack.makeTenant("rot.test")
            try stack.makeUser("rot@rot.test", tenant: "rot.test")
            let before = try stack.tokens("rot@rot.test")
            let oldKid = try #require(Self.kid(before.access))
            let newKid = try #require(try stack.cliOK(["keys", "rotate"]).first?.split(separator: " ").last.map(String.init))
            #expect(newKid != oldKid)
            #expect(try stack.cliOK(["keys", "list"]).joined(separator: "\n").contains(newKid))
            // The responder re-reads the ring at most once a second: wait for a login signed with the new kid.
            var fresh: String?
            try waitFor("a login signed with the new kid \(newKid)", timeout: 5) {
                let t = try stack.tokens("rot@rot.test")
                if Self.kid(t.access) == newKid { fresh = t.access; return true }
                return false
            }
            let new = try #require(fresh)
            #expect(try stack.get("/demo/gated", token: new).status == 200)
            #expect(try stack.get("/demo/gated", token: before.access).status == 200)
            // The refresh token issued under the old signing key still rotates.
            let refreshed = try stack.post("/api/v1/auth/refresh", json: ["refresh_token": before.refresh])
            #expect(refreshed.status == 200)
        }
    }
}
