import AuthCrypto
import Foundation
import TestSupport
import Testing
@testable import AuthCore

/// Review finding 15: `/api/v1/ready` and `/api/v1/health` are public and un-throttled, so a
/// flood of them must not become a flood of database work: at most one check a second per probe
/// (counted with `ProbeCache.checksRun`), on both stores. Threads of one app, as the responder's.
@Suite struct APIProbeTests {
    @Test func aFloodOfProbesChecksTheDatabaseAboutOnceASecond() throws {
        let h = try APIHarness()
        let workers = try (0..<4).map { _ in try h.app.makeWorker() }
        nonisolated(unsafe) let all = workers
        #expect(h.call("GET", "/api/v1/ready").status == 200)
        #expect(h.call("GET", "/api/v1/health").status == 200)
        let before = h.app.probes.checksRun
        let started = Date()
        let answered = Locked(0)
        let bad = Locked<[String]>([])
        let deadline = Date().addingTimeInterval(2.5)
        DispatchQueue.concurrentPerform(iterations: all.count) { index in
            let worker = all[index]
            var n = 0
            while Date() < deadline {
                let path = n % 2 == 0 ? "/api/v1/ready" : "/api/v1/health"
                let r = worker.handle(Request(method: "GET", path: path, query: "", headers: [:], remoteAddress: "127.0.0.1"))
                if r.status != 200 { bad.withLock { $0.append("\(path) \(r.status)") } }
                n += 1
            }
            answered.withLock { $0 += n }
        }
        let seconds = Date().timeIntervalSince(started)
        let checks = h.app.probes.checksRun - before
        let requests = answered.withLock { $0 }
        print("probe flood (\(TestBackend.current)): \(requests) requests in \(String(format: "%.1f", seconds)) s, \(checks) database checks")
        #expect(bad.withLock { $0 }.isEmpty, "\(bad.withLock { $0.prefix(5) })")
        #expect(requests > 20, "the flood was too small to mean anything: \(requests)")
        // Two probes, each at most once a second, plus one each at the edges.
        #expect(checks <= 2 * (Int(seconds.rounded(.up)) + 1), "\(checks) checks for \(requests) requests in \(seconds) s")
    }

    /// A key ring that no longer loads (group/other-readable): both probes fail, naming only the
    /// part that fails; the path, mode and kid are in the log (`KEY RING NOT LOADED`) only.
    @Test func probeAnswersNameNoPathsOrDetails() throws {
        let h = try APIHarness()
        let kid = h.app.keys.signingKid
        for path in ["/api/v1/ready", "/api/v1/health"] {
            let text = String(decoding: h.call("GET", path).response.body, as: UTF8.self)
            #expect(!text.contains(h.dir) && !text.contains(kid), "\(path): \(text)")
        }
        chmod(h.dir + "/keys", 0o644)
        _ = h.app.keys.reload(force: true)
        #expect(h.app.keys.problem != nil)
        try waitFor("both probes to fail on the key ring", timeout: 10) {
            h.call("GET", "/api/v1/ready").status == 503 && h.call("GET", "/api/v1/health").status == 503
        }
        for path in ["/api/v1/ready", "/api/v1/health"] {
            let r = h.call("GET", path)
            let text = String(decoding: r.response.body, as: UTF8.self)
            #expect(r.status == 503 && text.contains("key_ring"), "\(path): \(text)")
            for secret in [h.dir, "/keys", "0644", "uid", kid] { #expect(!text.contains(secret), "\(path) shows \(secret): \(text)") }
        }
        #expect(h.call("GET", "/api/v1/ready").response.header("Retry-After") == "1")
    }
}
