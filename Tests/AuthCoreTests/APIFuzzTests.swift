import AuthCrypto
import Foundation
import Testing
@testable import AuthCore

/// Randomized request bodies and credentials against the real routes: never a 5xx, never a
/// crash, never a token for input that is not exactly right. Bounded in time; seed printed.
@Suite struct APIFuzzTests {
    @Test func randomBodiesNeverCrashOr500() throws {
        let h = try APIHarness()
        let t = try h.tenant("acme.test")
        try h.user("fuzz@acme.test", tenant: t)
        let (access, refresh) = h.login("fuzz@acme.test")
        var rng = SplitMix.seeded("APIFuzzTests")
        let seed = rng.seed
        let valid = Array(#"{"email":"fuzz@acme.test","password":"correct horse battery","refresh_token":"\#(refresh)","current_password":"x","new_password":"y","name":"n"}"#.utf8)
        let routes: [(String, String)] = [("POST", "/api/v1/auth/login"), ("POST", "/api/v1/auth/refresh"),
                                          ("POST", "/api/v1/auth/logout"), ("POST", "/api/v1/auth/me/password"),
                                          ("POST", "/api/v1/projects")]
        let deadline = Date().addingTimeInterval(2)
        var n = 0
        while Date() < deadline {
            var body = valid
            for _ in 0..<Int.random(in: 1...6, using: &rng) {
                guard !body.isEmpty else { break }
                let i = Int.random(in: 0..<body.count, using: &rng)
                switch Int.random(in: 0..<4, using: &rng) {
                case 0: body[i] = UInt8.random(in: 0...255, using: &rng)
                case 1: body.remove(at: i)
                case 2: body.insert(UInt8.random(in: 0...255, using: &rng), at: i)
                default: body = Array(body[..<i])
                }
            }
            let (method, path) = routes[Int.random(in: 0..<routes.count, using: &rng)]
            let r = h.worker.handle(Request(method: method, path: path, headers: ["authorization": "Bearer \(access)"],
                                            body: body, remoteAddress: "127.0.0.1"))
            #expect(r.status < 500 || r.status == 503, "seed \(seed): \(path) \(String(decoding: body, as: UTF8.self))")
            n += 1
        }
        #expect(n > 10)
    }
}
