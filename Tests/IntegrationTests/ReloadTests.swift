import Foundation
import Synchronization
import TestSupport
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// Issue 12: SIGHUP applies the live settings (Settings.liveKeys) to a running responder behind
/// real nginx, while gated requests stream through it (micro-cache off: every one reaches the
/// responder), and names the changed keys that need a restart.
@Suite struct ReloadTests {
    @Test func sighupAppliesLiveSettingsUnderLoadThroughNginx() throws {
        let conf = try TempDir("authgate-reload")
        chmod(conf.path, 0o755)
        let configPath = conf.path + "/authgate.conf"
        try "".write(toFile: configPath, atomically: true, encoding: .utf8)
        var options = Stack.Options()
        options.verifyCacheSeconds = 0
        options.environment["AUTH_CONFIG"] = configPath
        try Stack.with(options) { (stack: Stack) throws in
            let agent = try WebSocketNginxTests.account(stack, role: "agent")
            let token = try stack.mintToken(for: agent)
            let origin = "https://app.reload.test"
            let before = try stack.client.get("/api/v1/health", headers: ["Origin": origin])
            #expect(before.status == 200 && before.header("access-control-allow-origin") == nil)
            #expect(try stack.client.get("/api/v1/metrics").text.contains("authgate_verify_metrics_enabled 1"))

            let sent = Atomic<Int>(0)
            let failed = Mutex<[Int]>([])
            let stop = Atomic<Bool>(false)
            let results = try onThreads(2, timeout: 180) { index in
                if index == 0 {
                    while !stop.load(ordering: .relaxed) {
                        let status = (try? stack.client.get("/demo/gated", headers: ["Authorization": "Bearer \(token)"]).status) ?? 0
                        sent.add(1, ordering: .relaxed)
                        if status != 200 { failed.withLock { $0.append(status) } }
                    }
                    return
                }
                defer { stop.store(true, ordering: .relaxed) }
                try waitFor("gated requests to flow", timeout: 30) { sent.load(ordering: .relaxed) >= 10 }
                try """
                    AUTH_CORS_ORIGINS=\(origin)
                    AUTH_METRICS=off
                    AUTH_LOG_FORMAT=json
                    AUTH_JWT_TTL_SECONDS=600

                    """.write(toFile: configPath, atomically: true, encoding: .utf8)
                stack.responder?.signal(SIGHUP)
                try waitFor("the responder's reload line", timeout: 20) { stack.log("authgate-fcgi").contains("SIGHUP: applied") }
                let after = sent.load(ordering: .relaxed)
                try waitFor("gated requests after the reload", timeout: 30) { sent.load(ordering: .relaxed) >= after + 10 }
            }
            for r in results { try r.get() }
            let failures = failed.withLock { $0 }
            print("reload under load through nginx (1 SIGHUP): sent \(sent.load(ordering: .relaxed)), failed \(failures.count)")
            #expect(failures.isEmpty, "non-200 answers: \(failures.prefix(10))")
            #expect(stack.responder?.isRunning == true)

            // The new values are in force: CORS for the listed origin, no verify counting, JSON lines.
            let cors = try stack.client.get("/api/v1/health", headers: ["Origin": origin])
            #expect(cors.header("access-control-allow-origin") == origin)
            let m1 = try stack.client.get("/api/v1/metrics").text
            #expect(m1.contains("authgate_verify_metrics_enabled 0"))
            for _ in 0..<3 { #expect(try stack.client.get("/demo/gated", headers: ["Authorization": "Bearer \(token)"]).status == 200) }
            let m2 = try stack.client.get("/api/v1/metrics").text
            let allow = { (text: String) in text.split(separator: "\n").first { $0.hasPrefix("authgate_verify_decisions_total{kind=\"user\",outcome=\"allow\"}") } }
            #expect(allow(m1) != nil && allow(m1) == allow(m2), "verify counted with AUTH_METRICS=off: \(String(describing: allow(m1))) -> \(String(describing: allow(m2)))")
            let log = stack.log("authgate-fcgi")
            #expect(log.contains("SIGHUP: applied AUTH_LOG_FORMAT, AUTH_CORS_ORIGINS, AUTH_METRICS\""), "\(log.suffix(2000))")
            #expect(log.contains("NOT applied: AUTH_JWT_TTL_SECONDS; they need a restart"), "\(log.suffix(2000))")
            let tail = log.split(separator: "\n").suffix(3)
            #expect(tail.allSatisfy { $0.hasPrefix("{\"ts\":\"") }, "\(tail)")
            #expect(log.contains("\"path\":\"/api/v1/metrics\""))
        }
    }
}
