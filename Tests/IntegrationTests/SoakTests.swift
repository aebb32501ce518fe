import AuthCore
import AuthCrypto
import Foundation
import TestSupport
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// Bounded loopback load through real nginx (`make soak`, AUTHGATE_SOAK_SECONDS; not in make test):
/// 200 clients of mixed traffic (gate with valid/expired/revoked/garbage tokens, right and wrong
/// logins, refreshes, WebSocket connect/message/close) and, halfway, a burst of 500 logins.
/// Requires: no 5xx but login's 503 + Retry-After (the hash queue shedding), no unexpected
/// status, no crash, responder and companion RSS and fds flat after warm-up; prints the table.
@Suite(.serialized) struct SoakTests {
    static let seconds = Double(ProcessInfo.processInfo.environment["AUTHGATE_SOAK_SECONDS"] ?? "") ?? 0
    static let clients = 200

    @Test(.enabled(if: seconds > 0, "set AUTHGATE_SOAK_SECONDS (make soak)"))
    func mixedLoadHoldsWithFlatMemory() throws {
        raiseFileLimit()
        var options = Stack.Options()
        options.plainHTTP = true
        options.threads = 32
        options.environment = ["AUTH_LOCKOUT_THRESHOLD": "1000000000", "AUTH_LOGIN_RATE": "100000r/s", "AUTH_LOGIN_BURST": "100000"]
        try Stack.with(options) { (stack: Stack) throws in
            _ = try stack.makeTenant("soak.test")
            for i in 0..<20 { try stack.makeUser("u\(i)@soak.test", tenant: "soak.test") }
            try stack.makeUser("victim@soak.test", tenant: "soak.test")
            let port = stack.plainPort
            @Sendable func login(_ i: Int) throws -> (String, String) {
                let r = try PlainHTTP.json(port: port, "/api/v1/auth/login", ["email": "u\(i % 20)@soak.test", "password": GateFixture.password])
                guard r.status == 200, let a = r.data["access_token"] as? String, let t = r.data["refresh_token"] as? String else {
                    throw StackError("setup login: \(r.status) \(r.text)")
                }
                return (a, t)
            }
            let valid = try (0..<10).map { try login($0).0 }
            let revoked = try login(1).0
            #expect(try PlainHTTP.json(port: port, "/api/v1/auth/logout", [:], bearer: revoked).status == 200)
            let ids = try Database(path: stack.dbPath).users.byEmail(tenantID: (try Database(path: stack.dbPath).tenants.byDomain("soak.test"))?.id ?? "", email: "u0@soak.test")
            let expired = try stack.mintToken(sub: ids?.id ?? "", tid: ids?.tenantID ?? "", email: "u0@soak.test", sid: UUIDs.random(), ttl: -300)
            let pids = try SoakProbe.processes(of: stack)
            let stats = SoakStats()
            let duration = Self.seconds
            let started = Date()
            let results = try onThreads(Self.clients + 1, timeout: duration + 300) { (i: Int) throws -> Void in
                if i == 0 { return try SoakProbe.sampleAndBurst(stack: stack, pids: pids, stats: stats, duration: duration) }
                try SoakClient.run(i - 1, port: port, stats: stats, until: started.addingTimeInterval(duration),
                                   valid: valid, expired: expired, revoked: revoked, login: login)
            }
            for r in results { try r.get() }
            try SoakProbe.settle(pids: pids, stats: stats)
            let report = try stats.report(pids: pids)
            print(report.table)
            #expect(stats.unexpected.isEmpty, "\(stats.unexpected.prefix(20))")
            #expect(stats.serverErrors == 0, "5xx answered: \(stats.serverErrors)")
            #expect(try SoakProbe.processes(of: stack) == pids, "a process of the stack died or was restarted")
            for (name, flat) in report.flat { #expect(flat, "\(name) not flat after warm-up: \(report.table)") }
            #expect(report.burstLogins == 500)
            #expect(report.gateP99Burst < 1.0, "the gate stalled during the login burst: p99 \(report.gateP99Burst) s")
        }
    }
}
