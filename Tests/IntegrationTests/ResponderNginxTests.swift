import Foundation
import TestSupport
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// The responder through real nginx: routes of the foundation, error shapes, limits, logs.
@Suite("Responder through nginx")
struct ResponderNginxTests {
    @Test func healthAnswersThroughNginx() throws {
        try Stack.with { (stack: Stack) throws in
            let r = try stack.client.get("/api/v1/health")
            #expect(r.status == 200)
            #expect(r.header("content-type") == "application/json")
            #expect(r.data["status"] as? String == "ok")
            #expect(r.data["database"] as? Bool == true)
            #expect(r.data["version"] is String)
            #expect(r.json.keys.contains("error"))
        }
    }

    @Test(arguments: ["2signal", "get2dial"])
    func unknownRoutesAreNotFound(profile: String) throws {
        var options = Stack.Options()
        options.profile = profile
        try Stack.with(options) { (stack: Stack) throws in
            for path in ["/api/trpc/organization.list", "/api/v1/nope", "/nothing/here"] {
                let r = try stack.client.get(path)
                #expect(r.status == 404, "\(path)")
                #expect(r.errorCode == "not_found", "\(path): \(r.text)")
                #expect(r.header("content-type") == "application/json")
                if profile == "get2dial" {
                    #expect(r.json["status"] as? String == "error")
                } else {
                    #expect(r.json.keys.contains("data"))
                }
            }
        }
    }

    @Test func wrongMethodIs405() throws {
        try Stack.with { (stack: Stack) throws in
            let r = try stack.client.request("DELETE", "/api/v1/health")
            #expect(r.status == 405)
            #expect(r.errorCode == "method_not_allowed")
        }
    }

    @Test func bodyOverTheCapIs413InTheAPIShape() throws {
        try Stack.with { (stack: Stack) throws in
            // Over AUTH_MAX_BODY (64 KiB): the responder's own 413.
            let r = try stack.client.request("POST", "/api/v1/auth/login",
                                             headers: ["Content-Type": "application/json"],
                                             body: [UInt8](repeating: UInt8(ascii: "a"), count: 70_000))
            #expect(r.status == 413)
            #expect(r.errorCode == "payload_too_large")
            // Over nginx's client_max_body_size: nginx's 413, same shape.
            let big = try stack.client.request("POST", "/api/v1/auth/login",
                                               body: [UInt8](repeating: 0x61, count: 2 * 1024 * 1024))
            #expect(big.status == 413)
            #expect(big.errorCode == "payload_too_large")
            #expect(try stack.client.get("/api/v1/health").status == 200)
        }
    }

    @Test func eightKiBHeaderPassesThroughNginx() throws {
        try Stack.with { (stack: Stack) throws in
            let r = try stack.client.get("/api/v1/health", headers: ["X-Big": String(repeating: "b", count: 8192)])
            #expect(r.status == 200)
        }
    }

    @Test func gatedLocationWithoutCredentialIsJSON401() throws {
        try Stack.with { (stack: Stack) throws in
            let r = try stack.client.get("/demo/gated")
            #expect(r.status == 401)
            #expect(r.errorCode == "invalid_token")
            #expect(r.headers("www-authenticate").count == 1)
            #expect(try stack.client.get("/demo/plain").status == 200)
        }
    }

    @Test func accessLogsNeverHoldQueryStrings() throws {
        try Stack.with { (stack: Stack) throws in
            _ = try stack.client.get("/api/v1/health?token=sekrit-one")
            _ = try stack.client.get("/demo/plain?api_key=sekrit-two")
            _ = try stack.client.get("/demo/gated?token=sekrit-three")
            _ = try stack.client.get("/api/v1/nope?x=sekrit-four")
            // Wait for the lines of all four requests first: an unwritten log must not pass.
            var log = ""
            try waitFor("the 4 requests' lines in nginx's access log", timeout: 5) {
                log = stack.log("nginx-access")
                return ["/api/v1/health", "/demo/plain", "/demo/gated", "/api/v1/nope"].allSatisfy { log.contains($0) }
            }
            #expect(!log.contains("sekrit"))
            #expect(!log.contains("?"))
            var responderLog = ""
            try waitFor("the responder's lines of the health and unknown-route requests", timeout: 5) {
                responderLog = stack.log("authgate-fcgi")
                return responderLog.contains("/api/v1/health 200") && responderLog.contains("/api/v1/nope 404")
            }
            #expect(!responderLog.contains("sekrit"))
        }
    }
}
