import Foundation
import TestSupport
import Testing

/// AUTH_REQUIRE_AAL through both doors (issue 20): a level-2 location (`set $authgate_require_aal 2`)
/// refuses a level-1 session token with 401 `mfa_required` and RFC 9470's challenge, whether nginx
/// asks the FastCGI door or the HTTP door (`X-Authgate-Require-AAL`, set only by the snippet).
/// A client's own `X-Authgate-Require-AAL` neither lowers a level-2 location nor raises another.
/// Two policies: `user-aal2` (bearer only: answered on the HTTP door's reader thread) and
/// `/demo/mfa`'s `browser-aal2` (a browser policy: answered by the worker pool).
@Suite("Required level through both doors")
struct GateAALDoorTests {
    static func options(_ door: GateDoor) -> Stack.Options {
        var o = door.options(MFAGateTests.options())
        let verify = door == .http ? "/_authgate/verify-http/" : "/_authgate/verify/"
        o.extraServerConfig = """
                location = /t/aal2 {
                    auth_request \(verify)user-aal2;
                    include snippets/authgate-protect-proxy.conf;
                    proxy_pass http://authgate_demo_upstream;
                }
        """
        return o
    }

    @Test(arguments: GateDoor.allCases)
    func levelTwoLocationsRefuseLevelOneTokens(door: GateDoor) throws {
        try Stack.with(Self.options(door)) { stack in
            _ = try stack.makeTenant("demo.local")
            try stack.makeUser("ann@demo.local", tenant: "demo.local")
            try stack.makeUser("bob@demo.local", tenant: "demo.local")
            let bob = try stack.tokens("bob@demo.local").access   // level 1
            let json = ["Accept": "application/json"]
            // Three times each: the micro-cache is on (1 s), and the policy is part of its key.
            for _ in 0..<3 {
                for path in ["/t/aal2", "/demo/mfa"] {
                    let r = try stack.get(path, token: bob, headers: json)
                    #expect(r.status == 401 && r.errorCode == "mfa_required", "\(door) \(path): \(r.status) \(r.text)")
                    #expect(r.header("WWW-Authenticate")?.contains("insufficient_user_authentication") == true, "\(door) \(path)")
                    // The client's own copy of the policy header does not lower the level.
                    let forged = try stack.get(path, token: bob, headers: json.merging(["X-Authgate-Require-AAL": "1"]) { a, _ in a })
                    #expect(forged.status == 401 && forged.errorCode == "mfa_required", "\(door) \(path) forged 1: \(forged.status)")
                }
                // ... nor raises a level-1 location's.
                let raised = try stack.get("/demo/echo", token: bob, headers: ["X-Authgate-Require-AAL": "2"])
                #expect(raised.status == 200, "\(door) /demo/echo forged 2: \(raised.status) \(raised.text)")
            }
            let (first, _) = try stack.tokens("ann@demo.local")
            let (_, level2, _, _) = try MFAGateTests.enrol(stack, first)
            for path in ["/t/aal2", "/demo/mfa"] {
                let r = try stack.get(path, token: level2)
                #expect(r.status == 200, "\(door) \(path): \(r.status) \(r.text)")
                #expect(r.text.lowercased().contains("\"x-auth-aal\":\"2\""), "\(door) \(path): \(r.text)")
            }
        }
    }
}
