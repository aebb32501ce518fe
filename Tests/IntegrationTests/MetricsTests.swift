import Foundation
import TestSupport
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// Issue 12: `GET /api/v1/metrics` counts exactly the traffic sent (summed over worker threads).
@Suite struct MetricsTests {
    func post(_ world: OpsWorld, _ uri: String, _ json: String, bearer: String? = nil) throws -> (status: Int, text: String) {
        var headers = [("Content-Type", "application/json")]
        if let bearer { headers.append(("Authorization", "Bearer " + bearer)) }
        return try FastCGIWire.exchange(world.socketPath, FastCGIWire.request(method: "POST", uri: uri, headers: headers, body: Array(json.utf8)))
    }

    func data(_ text: String) -> [String: Any] {
        guard let start = text.range(of: "\r\n\r\n") else { return [:] }
        let body = Data(text[start.upperBound...].utf8)
        return ((try? JSONSerialization.jsonObject(with: body)) as? [String: Any])?["data"] as? [String: Any] ?? [:]
    }

    func verify(_ world: OpsWorld, bearer: String?, roles: String? = nil) throws -> Int {
        var extra = [("AUTH_VERIFY", "1")]
        if let roles { extra.append(("AUTH_ROLES", roles)) }
        let headers = bearer.map { [("Authorization", "Bearer " + $0)] } ?? []
        return try FastCGIWire.exchange(world.socketPath, FastCGIWire.request(uri: "/app", headers: headers, extra: extra)).status
    }

    @Test func countersMatchKnownTraffic() throws {
        let world = try OpsWorld()
        let env = ["AUTH_LOCKOUT_THRESHOLD": "3"]
        #expect(try world.cli(["init"]).status == 0)
        #expect(try world.cli(["tenant", "create", "--name", "A", "--domain", "a.test"]).status == 0)
        for email in ["alice@a.test", "bob@a.test"] {
            let r = try world.cli(["user", "create", "--tenant", "a.test", "--email", email, "--role", "agent", "--password-stdin"],
                                  stdin: "correct horse battery\n")
            #expect(r.status == 0, "\(r.stderr)")
        }
        let responder = try world.start(extra: env)
        defer { _ = responder.stop() }
        try world.waitServing(responder)

        #expect(try verify(world, bearer: nil) == 401)
        #expect(try verify(world, bearer: nil) == 401)
        let login = try post(world, "/api/v1/auth/login", #"{"email":"alice@a.test","password":"correct horse battery"}"#)
        #expect(login.status == 200)
        let access = try #require(data(login.text)["access_token"] as? String)
        let refresh1 = try #require(data(login.text)["refresh_token"] as? String)
        for attempt in 1...4 {   // the 3rd failure locks bob (threshold 3); the 4th finds him locked
            #expect(try post(world, "/api/v1/auth/login", #"{"email":"bob@a.test","password":"wrong password here"}"#).status == 401, "attempt \(attempt)")
        }
        #expect(try verify(world, bearer: access) == 204)
        #expect(try verify(world, bearer: access, roles: "admin") == 403)
        #expect(try post(world, "/api/v1/auth/refresh", #"{"refresh_token":"\#(refresh1)"}"#).status == 200)
        #expect(try post(world, "/api/v1/auth/refresh", #"{"refresh_token":"\#(refresh1)"}"#).status == 200)   // grace replay
        #expect(try post(world, "/api/v1/auth/refresh", #"{"refresh_token":"v1.garbage"}"#).status == 401)
        #expect(try post(world, "/api/v1/auth/logout", "", bearer: access).status == 200)

        let scrape = try FastCGIWire.exchange(world.socketPath, FastCGIWire.request(uri: "/api/v1/metrics"))
        #expect(scrape.status == 200)
        #expect(scrape.text.contains("Content-Type: text/plain; version=0.0.4"))
        let expected = [
            "authgate_build_info{version=\"", 
            "authgate_verify_decisions_total{kind=\"none\",outcome=\"deny_401\"} 2",
            "authgate_verify_decisions_total{kind=\"user\",outcome=\"allow\"} 1",
            "authgate_verify_decisions_total{kind=\"none\",outcome=\"deny_403\"} 1",
            "authgate_verify_decisions_total{kind=\"api_key\",outcome=\"allow\"} 0",
            "authgate_logins_total{outcome=\"ok\"} 1",
            "authgate_logins_total{outcome=\"invalid_credentials\"} 3",
            "authgate_logins_total{outcome=\"locked\"} 1",
            "authgate_logins_total{outcome=\"unavailable\"} 0",
            "authgate_lockouts_total 1",
            "authgate_refreshes_total{outcome=\"ok\"} 1",
            "authgate_refreshes_total{outcome=\"reuse_grace\"} 1",
            "authgate_refreshes_total{outcome=\"reuse_revoked\"} 0",
            "authgate_refreshes_total{outcome=\"invalid\"} 1",
            "authgate_logouts_total{scope=\"local\"} 1",
            "authgate_logouts_total{scope=\"global\"} 0",
            "authgate_verify_duration_seconds_count 4",
            "authgate_login_duration_seconds_count 5",
            "authgate_verify_duration_seconds_bucket{le=\"+Inf\"} 4",
            "authgate_hash_queue_depth 0",
            "authgate_key_ring_loaded 1",
            // One load at start; the one logout is the one change applied since.
            "authgate_verify_state_reloads_total{kind=\"full\"} 1",
            "authgate_verify_state_reloads_total{kind=\"incremental\"} 1",
            "authgate_verify_state_fresh 1",
            "authgate_verify_state_revoked_sessions 1",
        ]
        for line in expected { #expect(scrape.text.contains(line), "missing \(line) in:\n\(scrape.text)") }
    }
}

/// The companion's metrics socket (AUTH_WS_METRICS_SOCKET): open relays and closes by code.
@Suite struct CompanionMetricsTests {
    func scrape(_ path: String) -> String {
        guard let s = try? UnixSocket(path: path) else { return "" }
        try? s.send(Array("GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n".utf8))
        return String(decoding: s.receiveAll().bytes, as: UTF8.self)
    }

    @Test func countsOpenRelaysAndClosesByCode() throws {
        let f = try WSFixture()
        defer { f.stop() }
        _ = f.companion?.stop(grace: 3)
        var env = f.companionEnvironment
        let metricsPath = f.dir + "/ws-metrics.sock"
        env["AUTH_WS_METRICS_SOCKET"] = metricsPath
        f.companion = try Child.spawn(try Binaries.require("authgate-ws"), [], environment: env, stdout: f.companionLog, stderr: f.companionLog)
        try UnixSocket.waitUntilAccepting(f.wsSocket, served: f.companion)
        try UnixSocket.waitUntilAccepting(metricsPath, served: f.companion)
        let agent = try f.account(role: "agent")
        let closed = try f.client()
        #expect(try closed.upgrade("/ws/agent?token=\(f.token(agent))").status == 101)
        try closed.send(opcode: 8, [0x03, 0xE8])
        #expect(try closed.receive()?.closeCode == 1000)
        let open = try f.client()
        #expect(try open.upgrade("/ws/agent?token=\(f.token(agent))").status == 101)
        try open.sendText("hi")
        _ = try open.receive()
        try waitFor("the companion's metrics to show one close and one open relay", timeout: 10) {
            let text = scrape(metricsPath)
            return text.contains("authgate_ws_closes_total{code=\"1000\"} 1") && text.contains("authgate_ws_connections_open 1")
        }
        let text = scrape(metricsPath)
        #expect(text.hasPrefix("HTTP/1.1 200 OK") && text.contains("text/plain; version=0.0.4"))
        #expect(text.contains("authgate_ws_closes_total{code=\"4001\"} 0"))
        #expect(text.contains("authgate_build_info{version=\""))
    }
}

/// Both metrics endpoints through real nginx (authgate-api.conf): `/api/v1/metrics` (responder)
/// and `/api/v1/ws-metrics` (the companion's metrics socket), 200 with exact counters from
/// loopback, nginx's 403 from an address outside METRICS_ALLOW (here 127.0.0.2, which is local
/// but not in the default `127.0.0.1 ::1`), before any of it reaches Authgate.
@Suite struct MetricsThroughNginxTests {
    @Test func loopbackScrapesBothAndOthersGet403() throws {
        try Stack.with { (stack: Stack) throws in
            let agent = try WebSocketNginxTests.account(stack, role: "agent")
            let token = try stack.mintToken(for: agent)
            #expect(try stack.client.get("/demo/gated").status == 401)
            #expect(try stack.client.get("/demo/gated").status == 401)
            #expect(try stack.client.get("/demo/gated", headers: ["Authorization": "Bearer \(token)"]).status == 200)
            let (c, proc) = try WSTestClient.tls(port: stack.port, caFile: stack.certPath)
            defer { proc.stop(grace: 1) }
            #expect(try c.upgrade("/ws/agent?token=\(token)").status == 101)
            try c.send(opcode: 8, [0x03, 0xE8])
            #expect(try c.receive()?.closeCode == 1000)

            for path in ["/api/v1/metrics", "/api/v1/ws-metrics"] {
                let refused = try stack.client.request("GET", path, from: "127.0.0.2")
                #expect(refused.status == 403, "\(path) from 127.0.0.2: \(refused.status)")
                #expect(!refused.text.contains("authgate_"), "\(path) leaked to 127.0.0.2")
            }
            var ws = try stack.client.get("/api/v1/ws-metrics")
            try waitFor("the companion's metrics to count the 1000 close", timeout: 10) {
                ws = try stack.client.get("/api/v1/ws-metrics")
                return ws.text.contains("authgate_ws_closes_total{code=\"1000\"} 1")
            }
            #expect(ws.status == 200)
            #expect(ws.header("content-type")?.hasPrefix("text/plain; version=0.0.4") == true)
            for line in ["authgate_ws_connections_open 0", "authgate_ws_closes_total{code=\"4001\"} 0",
                         "authgate_ws_closes_total{code=\"4003\"} 0", "authgate_build_info{version=\""] {
                #expect(ws.text.contains(line), "missing \(line) in:\n\(ws.text)")
            }
            let fcgi = try stack.client.get("/api/v1/metrics")
            #expect(fcgi.status == 200)
            #expect(fcgi.header("content-type")?.hasPrefix("text/plain; version=0.0.4") == true)
            for line in ["authgate_verify_decisions_total{kind=\"none\",outcome=\"deny_401\"} 2",
                         "authgate_verify_decisions_total{kind=\"user\",outcome=\"allow\"} 1",
                         "authgate_verify_decisions_total{kind=\"none\",outcome=\"deny_403\"} 0",
                         "authgate_verify_duration_seconds_count 3"] {
                #expect(fcgi.text.contains(line), "missing \(line) in:\n\(fcgi.text)")
            }
        }
    }
}
