import Foundation
import TestSupport
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// Issue 24: failover without losing a logout. A real primary and a streaming standby the test
/// starts (`pg_basebackup -R`), `synchronous_standby_names = '*'` on the primary but its default
/// `synchronous_commit = local`: only the responder's own `SET LOCAL synchronous_commit = on`
/// (AUTH_DB_SYNC_COMMIT, every writing transaction) makes a revocation wait for the standby. Both
/// hosts' AUTH_DB_URL names the two servers with `target_session_attrs=read-write`.
@Suite("Failover to a synchronous standby")
struct FailoverTests {
    /// Sessions logged out (and as many kept) around the failover: 10 in make test,
    /// AUTHGATE_FAILOVER_SESSIONS in the long form (make test-failover: 100).
    static let sessions = ProcessInfo.processInfo.environment["AUTHGATE_FAILOVER_SESSIONS"].flatMap(Int.init).map { max(1, $0) } ?? 10

    @Test func acknowledgedLogoutsSurvivePromotionAndBothHostsRecover() throws {
        let n = Self.sessions
        let primary = try PostgresServer(prefix: "authgate-pg-primary")
        primary.extraSettings = ["synchronous_standby_names=*", "synchronous_commit=local", "max_wal_senders=4"]
        defer { primary.stop() }
        try primary.start()
        let standby = try PostgresServer.standby(of: primary)
        defer { standby.stop() }
        try standby.start()
        try waitFor("the standby to stream synchronously", timeout: 30, every: 50_000) {
            try primary.psql("SELECT sync_state FROM pg_stat_replication").contains("sync")
        }
        // Both servers; libpq takes the read-write one.
        let url: (PostgresServer, String) -> String = { _, database in
            "host=\(primary.socketDirectory),\(standby.socketDirectory) port=\(primary.port),\(standby.port) "
                + "user=\(PostgresServer.superuser) dbname=\(database) target_session_attrs=read-write"
        }
        // A COMMIT waits at most 2 s for the standby (AUTH_DB_SYNC_TIMEOUT_SECONDS), then 503.
        try TwoHosts.with(server: primary, configure: { $0.environment["AUTH_DB_SYNC_TIMEOUT_SECONDS"] = "2" },
                          hostBURL: url, hostAURL: url) { h in
            try h.world(users: ["fo@demo.local"])
            let hosts = [h.a, h.b]
            // 1. A revocation is not acknowledged before the standby has it: with its WAL receiver
            // stopped, the primary commits locally and the logout answers 503, not 200.
            let probe = try h.a.tokens("fo@demo.local")
            let receiver = try standby.psql("SELECT pid FROM pg_stat_wal_receiver").trimmingCharacters(in: .whitespacesAndNewlines)
            let receiverPID = try #require(pid_t(receiver), "the standby's WAL receiver pid: '\(receiver)'")
            kill(receiverPID, SIGSTOP)
            let unconfirmed = Answer(host: "A", what: "logout", try h.a.post("/api/v1/auth/logout", json: ["refresh_token": probe.refresh]))
            kill(receiverPID, SIGCONT)
            #expect(unconfirmed.isDocumented503, "a logout the standby never confirmed: \(unconfirmed)")

            // 2. 2n sessions: n logged out (acknowledged), n kept and rotated once.
            var sessions = try (0..<(2 * n)).map { i in try hosts[i % 2].tokens("fo@demo.local") }
            var acknowledged: [(access: String, refresh: String)] = []
            for i in 0..<n {
                let r = try hosts[i % 2].post("/api/v1/auth/logout", json: ["refresh_token": sessions[i].refresh])
                #expect(r.status == 200, "logout \(i): \(r.status) \(r.text)")
                if r.status == 200 { acknowledged.append(sessions[i]) }
            }
            for i in n..<(2 * n) {
                let pair = try #require(try hosts[i % 2].refresh(sessions[i].refresh).pair, "rotation \(i) before the failover")
                sessions[i] = pair
            }

            // 3. The primary dies. No primary: writes 503, the gates fail closed past the bound.
            primary.kill()
            let killed = Date()
            for (name, host) in [("A", h.a), ("B", h.b)] {
                let login = Answer(host: name, what: "login", try host.login("fo@demo.local"))
                #expect(login.isDocumented503, "login with no primary: \(login)")
            }
            try waitFor("both gates to fail closed with no primary", timeout: 15, every: 20_000) {
                try hosts.allSatisfy { try $0.get("/demo/echo", token: sessions[n].access).status == 401 }
            }
            let failedClosed = Date().timeIntervalSince(killed)
            #expect(failedClosed <= TwoHosts.maxStaleSeconds + 2, "a gate answered from memory for \(failedClosed) s")

            // 4. The standby is promoted: both hosts find it by themselves (no restart).
            try standby.promote()
            let promoted = Date()
            var recovered: [String] = []
            for (name, host) in [("A", h.a), ("B", h.b)] {
                try waitFor("a login on \(name) after the promotion", timeout: 20, every: 50_000) {
                    try host.login("fo@demo.local").status == 200
                }
                recovered.append("\(name) \(String(format: "%.2f", Date().timeIntervalSince(promoted))) s")
                try waitFor("\(name)'s gate to recover", timeout: 20, every: 20_000) {
                    try host.get("/demo/echo", token: sessions[2 * n - 1].access).status == 200
                }
            }

            // 5. No acknowledged logout came back: every one is refused on both hosts.
            var kept = 0
            for (i, s) in acknowledged.enumerated() {
                let gates = try hosts.map { try $0.get("/demo/echo", token: s.access).status }
                let refresh = try hosts[i % 2].refresh(s.refresh).result.status
                if gates.allSatisfy({ $0 == 401 }) && refresh == 401 { kept += 1 } else {
                    Issue.record("logout \(i) came back to life on the new primary: gates \(gates), refresh \(refresh)")
                }
            }
            #expect(kept == n)
            // 6. The refresh chains continue on the new primary, on either host.
            var continued = 0
            for i in n..<(2 * n) {
                guard let pair = try hosts[(i + 1) % 2].refresh(sessions[i].refresh).pair else {
                    Issue.record("refresh chain \(i) broke at the failover"); continue
                }
                if try hosts[i % 2].get("/demo/echo", token: pair.access).status == 200 { continued += 1 }
            }
            #expect(continued == n)
            let scrape = try FastCGIWire.exchange(h.a.socketPath, FastCGIWire.request(uri: "/api/v1/metrics"))
            let noPrimary = scrape.text.split(separator: "\n").first { $0.hasPrefix("authgate_db_connect_refused_total{reason=\"no_primary\"}") }
            print("note: failover: unconfirmed logout \(unconfirmed); gates failed closed \(String(format: "%.2f", failedClosed)) s after the kill; "
                  + "logins back after the promotion: \(recovered.joined(separator: ", ")); logouts kept \(kept)/\(acknowledged.count); "
                  + "refresh chains continued \(continued)/\(n); A \(noPrimary.map(String.init) ?? "-")")
        }
    }
}
