import Foundation
import TestSupport
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// Issue 14: two complete hosts on one PostgreSQL (`TwoHosts`) behave as one Authgate: same
/// logins, one refresh chain, one lockout counter, and a revocation on one host honoured by the
/// other's gate and WebSockets within a second.
@Suite("Two hosts on one PostgreSQL")
struct TwoHostTests {
    /// The revocation promise, as in GateRevocationTests: no request that started 1 s or more
    /// after the revoking answer is let through.
    static let bound = 1.0

    @Test func aLoginOnAIsHonouredByB() throws {
        try TwoHosts.with { h in
            try h.world(users: ["ann@demo.local", "bea@demo.local"])
            // ann was made through A's CLI, bea through B's: each logs in on the other host.
            let ann = try h.b.tokens("ann@demo.local")
            let bea = try h.a.tokens("bea@demo.local")
            for (token, who) in [(ann.access, "ann"), (bea.access, "bea")] {
                let onA = try h.a.get("/demo/echo", token: token), onB = try h.b.get("/demo/echo", token: token)
                #expect(onA.status == 200 && onB.status == 200, "\(who): A \(onA.status), B \(onB.status)")
                let sid = onA.echoedHeaders["x-auth-session-id"]
                #expect(sid != nil && sid == onB.echoedHeaders["x-auth-session-id"], "\(who): one session on both hosts")
                #expect(try h.b.get("/demo/gated", token: token).status == 200)
                #expect(try h.a.get("/api/v1/auth/me", token: token).status == 200)
            }
            // Both hosts list the same sessions.
            let listA = try h.a.get("/api/v1/auth/sessions", token: ann.access)
            let listB = try h.b.get("/api/v1/auth/sessions", token: ann.access)
            #expect(listA.status == 200 && listB.status == 200)
            #expect((listA.json["data"] as? [Any])?.count == 1 && (listB.json["data"] as? [Any])?.count == 1,
                    "A: \(listA.text) B: \(listB.text)")
        }
    }

    @Test func refreshOnBThenReplayOnAIsOneChain() throws {
        try TwoHosts.with { h in
            try h.world(users: ["tab@demo.local", "thief@demo.local"])

            // Within the reuse window: a replay on A of the token B just rotated answers B's new
            // refresh token (two tabs), never a second chain.
            let tab = try h.a.tokens("tab@demo.local")
            let rotated = try #require(try h.b.refresh(tab.refresh).pair, "refresh on B")
            #expect(rotated.refresh != tab.refresh)
            let replay = try h.a.refresh(tab.refresh)
            #expect(replay.result.status == 200, "\(replay.result.text)")
            #expect(replay.pair?.refresh == rotated.refresh, "the replay on A forked the chain")
            let onward = try #require(try h.a.refresh(rotated.refresh).pair, "the current token rotates on A")
            #expect(try h.b.get("/demo/echo", token: onward.access).status == 200)

            // An older token (two rotations back) replayed on A: reuse, detected across hosts; the
            // whole session ends on both.
            let victim = try h.a.tokens("thief@demo.local")
            let r1 = try #require(try h.b.refresh(victim.refresh).pair, "first refresh on B")
            let r2 = try #require(try h.b.refresh(r1.refresh).pair, "second refresh on B")
            let stolen = try h.a.refresh(victim.refresh)
            let detected = Date()
            #expect(stolen.result.status == 401 && stolen.result.errorCode == "invalid_token", "\(stolen.result.text)")
            #expect(try h.b.refresh(r2.refresh).result.status == 401, "the latest token died with the session")
            #expect(try h.a.refresh(r2.refresh).result.status == 401)
            let took = try h.b.secondsUntil("/demo/echo", token: r2.access, answers: 401)
            #expect(took != nil && took! < Self.bound, "B let the revoked session through for \(took.map { "\($0)" } ?? "ever") s")
            #expect(Date().timeIntervalSince(detected) < 10)
            #expect(try h.a.get("/demo/echo", token: r2.access).status == 401)
            // The reuse is audited (in the one shared database, whichever host reads it).
            let audit = try h.b.cliOK(["audit", "--tenant", "demo.local", "--json"]).joined(separator: "\n")
            #expect(audit.contains("refresh_token_reused"), "no refresh_token_reused event in the audit log: \(audit.suffix(1500))")
        }
    }

    @Test func logoutOnAReachesBsGateAndWebSocketWithinASecond() throws {
        try TwoHosts.with { h in
            try h.world(users: ["out@demo.local"])
            let t = try h.a.tokens("out@demo.local")
            // B's verify cache and several of its workers have seen the token.
            for _ in 0..<4 { #expect(try h.b.get("/demo/echo", token: t.access).status == 200) }
            let (ws, proc) = try h.b.openWebSocket(t.access)
            defer { proc.stop(grace: 1) }
            #expect(ws.echoes("before the logout"))

            let watcher = CloseWatcher(ws)
            let out = try h.a.post("/api/v1/auth/logout", token: t.access)
            let loggedOut = Date()
            watcher.start(from: loggedOut)
            #expect(out.status == 200, "\(out.text)")
            let took = try h.b.secondsUntil("/demo/echo", token: t.access, answers: 401)
            #expect(took != nil && took! < Self.bound, "B's gate allowed the token \(took.map { "\($0)" } ?? "forever") s after A's logout")
            let closed = try watcher.result(timeout: 10)
            print("note: A's logout: B's gate allowed it for \(took.map { String(format: "%.3f", $0) } ?? "-") s after, "
                  + "B's WebSocket \(closed)")
            #expect(closed.code == 4003, "B's WebSocket: \(closed)")
            #expect(closed.seconds <= Self.bound, "B's WebSocket closed \(closed.seconds) s after A's logout")
            #expect(try h.a.get("/demo/echo", token: t.access).status == 401)
        }
    }

    @Test func wrongPasswordsSplitAcrossHostsLockTheAccount() throws {
        try TwoHosts.with { h in
            try h.world(users: ["nine@demo.local", "lock@demo.local"])
            // Nine failures, alternating hosts: not locked; the right password still works.
            for i in 0..<9 {
                let r = try (i % 2 == 0 ? h.a : h.b).login("nine@demo.local", password: "wrong password \(i)")
                #expect(r.status == 401 && r.errorCode == "invalid_credentials")
            }
            #expect(try h.b.login("nine@demo.local").status == 200, "nine failures must not lock (threshold 10)")

            // Ten failures, five on each host at the same instant: one counter, locked.
            let wrong = { (host: Stack, i: Int) throws -> HTTPSClient.Request in
                try host.postRequest("/api/v1/auth/login", json: ["email": "lock@demo.local", "password": "wrong \(i)"])
            }
            let requests = try [(0..<5).map { try wrong(h.a, $0) }, (5..<10).map { try wrong(h.b, $0) }]
            let statuses = try onThreads(2) { i in
                try (i == 0 ? h.a : h.b).client.parallel(requests[i]).map { [$0.status: $0.errorCode ?? ""] }
            }.flatMap { try $0.get() }
            #expect(statuses.count == 10 && statuses.allSatisfy { $0 == [401: "invalid_credentials"] }, "\(statuses)")
            for host in h.hosts {
                let r = try host.login("lock@demo.local")
                #expect(r.status == 401 && r.errorCode == "invalid_credentials",
                        "the right password on port \(host.port) after 10 failures split across hosts: \(r.status) \(r.text)")
            }
            // `authgate user unlock` on one host frees the account on the other.
            try h.a.cliOK(["user", "unlock", "--tenant", "demo.local", "--email", "lock@demo.local"])
            #expect(try h.b.login("lock@demo.local").status == 200)
        }
    }

    @Test func sixteenConcurrentRefreshesAcrossHostsMakeOneToken() throws {
        try TwoHosts.with { h in
            try h.world(users: ["race@demo.local"])
            let t = try h.a.tokens("race@demo.local")
            let requests = try h.hosts.map { host in
                try (0..<8).map { _ in try host.postRequest("/api/v1/auth/refresh", json: ["refresh_token": t.refresh]) }
            }
            let field = h.a.accessField
            let answers = try onThreads(2) { i in
                try h.hosts[i].client.parallel(requests[i]).map {
                    RefreshAnswer(status: $0.status, refresh: $0.data["refresh_token"] as? String,
                                  access: $0.data[field] as? String, code: $0.errorCode)
                }
            }.flatMap { try $0.get() }
            #expect(answers.count == 16)
            // They raced: nginx's own timing logs (one wall clock) show them held at once across hosts.
            let spans = try h.a.serverSpans("/api/v1/auth/refresh", count: 8) + h.b.serverSpans("/api/v1/auth/refresh", count: 8)
            let peak = peakOverlap(spans)
            print("note: 16 refreshes across two hosts: at most \(peak) held at once")
            // (8 seen under a loaded make test, 16 alone: the bound leaves room for a slow spawn.)
            #expect(peak >= 6, "the 16 refreshes did not overlap: at most \(peak) at once")
            #expect(answers.allSatisfy { $0.status == 200 || $0.status == 401 }, "\(answers)")
            let ok = answers.filter { $0.status == 200 }
            let issued = Set(ok.compactMap(\.refresh))
            #expect(!ok.isEmpty && ok.allSatisfy { $0.refresh != nil && $0.access != nil })
            #expect(issued.count == 1, "\(issued.count) different refresh tokens from one: the chain forked")
            #expect(!issued.contains(t.refresh))
            // The one new token is the session's current one: the session lives on, on both hosts.
            let next = try #require(issued.first.flatMap { try? h.b.refresh($0).pair }, "the issued token refreshes on B")
            #expect(try h.a.get("/demo/echo", token: next.access).status == 200)
            for a in ok { #expect(try h.b.get("/demo/echo", token: a.access!).status == 200) }
            let refused = answers.filter { $0.status == 401 }
            if !refused.isEmpty { print("note: \(refused.count) of 16 concurrent refreshes answered 401: \(refused)") }
        }
    }

    /// Host B alone loses PostgreSQL (a cut TCP proxy: its pool and its LISTEN connection die),
    /// and host A revokes meanwhile: the notification is sent while B is away and lost. B fails
    /// closed, keeps its valid WebSockets open, and once the link is back re-reads the change log
    /// before it answers from memory again: the revoked session is never allowed, and its
    /// WebSocket on B closes 4003 within a second of B being back.
    @Test func notificationsSentWhileBIsAwayAreNotLost() throws {
        let server = try PostgresServer.shared
        let proxy = try TCPProxy(to: server.port)
        defer { proxy.stop() }
        try TwoHosts.with(hostBURL: { _, db in "postgresql://\(PostgresServer.superuser)@127.0.0.1:\(proxy.port)/\(db)?sslmode=disable" }) { h in
            try h.world(users: ["kept@demo.local", "gone@demo.local"])
            let kept = try h.a.tokens("kept@demo.local"), gone = try h.a.tokens("gone@demo.local")
            for t in [kept, gone] { #expect(try h.b.get("/demo/echo", token: t.access).status == 200) }
            let (keptWS, keptProc) = try h.b.openWebSocket(kept.access)
            defer { keptProc.stop(grace: 1) }
            let (goneWS, goneProc) = try h.b.openWebSocket(gone.access)
            defer { goneProc.stop(grace: 1) }

            proxy.cut()
            let cutAt = Date()
            try waitFor("B's gate to fail closed once its database link is cut", timeout: 15, every: 20_000) {
                try h.b.get("/demo/echo", token: kept.access).status == 401
            }
            print("note: B failed closed \(String(format: "%.3f", Date().timeIntervalSince(cutAt))) s after its link was cut")
            // A is unaffected and revokes while B is away.
            #expect(try h.a.get("/demo/echo", token: kept.access).status == 200)
            let out = try h.a.post("/api/v1/auth/logout", token: gone.access)
            #expect(out.status == 200, "\(out.text)")
            #expect(try h.a.get("/demo/echo", token: gone.access).status == 401)
            let goneWatcher = CloseWatcher(goneWS)
            let keptAlive = keptWS.echo("while B is away")
            #expect(keptAlive.alive, "B's WebSocket of a valid session died with B's link: \(keptAlive.why)")

            proxy.restore()
            let restoredAt = Date()
            goneWatcher.start(from: restoredAt)
            try waitFor("B's gate to recover once its link is back", timeout: 20, every: 20_000) {
                try h.b.get("/demo/echo", token: kept.access).status == 200
            }
            let back = Date().timeIntervalSince(restoredAt)
            for _ in 0..<5 {
                #expect(try h.b.get("/demo/echo", token: gone.access).status == 401, "B allowed a session revoked while it was away")
            }
            let closed = try goneWatcher.result(timeout: 15)
            print("note: B recovered \(String(format: "%.3f", back)) s after its link came back; the session revoked "
                  + "meanwhile: WebSocket \(closed) after the link came back")
            #expect(closed.code == 4003, "B's WebSocket of the revoked session: \(closed)")
            #expect(closed.seconds - back <= Self.bound, "closed \(closed.seconds - back) s after B was back")
            #expect(keptWS.echoes("after B is back"), "the valid session's WebSocket survived")
        }
    }

    /// PostgreSQL dies (SIGKILL, every backend) mid-traffic and comes back. Writes answer the
    /// documented 503; the gate keeps answering from memory for at most the staleness bound,
    /// then fails closed with 401, and recovers by itself; a WebSocket that was valid stays
    /// open; a logout made as the database returns is honoured by the other host, and a
    /// revocation after the recovery closes the WebSocket within a second.
    @Test func postgresKilledMidTrafficAndRestarted() throws {
        let server = try PostgresServer(prefix: "authgate-pg-kill")
        defer { server.stop() }
        try server.start()
        try TwoHosts.with(server: server) { h in
            try h.world(users: ["traffic@demo.local", "ws@demo.local", "late@demo.local"])
            let traffic = try h.a.tokens("traffic@demo.local")
            let wsUser = try h.a.tokens("ws@demo.local")
            let late = try h.b.tokens("late@demo.local")
            let (ws, proc) = try h.b.openWebSocket(wsUser.access)
            defer { proc.stop(grace: 1) }
            // late@'s session is logged out as the database returns: its WebSocket on B must then
            // close within a second of B being back.
            let (lateWS, lateProc) = try h.b.openWebSocket(late.access)
            defer { lateProc.stop(grace: 1) }

            let log = AnswerLog()
            let load = TrafficThreads(log)
            for (host, name) in [(h.a, "A"), (h.b, "B")] {
                load.start { () -> [Answer] in
                    [Answer(host: name, what: "gate", try host.get("/demo/echo", token: traffic.access)),
                     Answer(host: name, what: "login", try host.login("traffic@demo.local")),
                     Answer(host: name, what: "health", try host.client.get("/api/v1/health"))]
                }
            }
            defer { load.stop() }
            try waitFor("traffic on both hosts before the kill", timeout: 30) { log.count >= 12 }
            #expect(log.all.allSatisfy { $0.status == 200 }, "before the kill: \(log.all.filter { $0.status != 200 })")

            server.kill()
            let killed = Date()
            // Fail closed: past the staleness bound B's gate refuses even a live token.
            try waitFor("B's gate to fail closed after the kill", timeout: 15, every: 20_000) {
                try h.b.get("/demo/echo", token: traffic.access).status == 401
            }
            let failedClosed = Date().timeIntervalSince(killed)
            // The bound, plus the cache's whole second, plus a client request's latency.
            #expect(failedClosed <= TwoHosts.maxStaleSeconds + 2, "B answered from memory for \(failedClosed) s")
            for host in h.hosts {
                let login = Answer(host: "\(host.port)", what: "login", try host.login("late@demo.local"))
                #expect(login.isDocumented503, "login during the outage: \(login)")
                let refresh = Answer(host: "\(host.port)", what: "refresh", try host.refresh(late.refresh).result)
                #expect(refresh.isDocumented503, "refresh during the outage: \(refresh)")
                let gate = try host.get("/demo/echo", token: traffic.access)
                #expect(gate.status == 401, "gate during the outage: \(gate.status)")
            }
            // The companion closes nothing valid because the database blinked.
            let during = ws.echo("during the outage")
            #expect(during.alive, "B's WebSocket (valid session) died with the database: \(during.why)")
            let lateDuring = lateWS.echo("during the outage")
            #expect(lateDuring.alive, "late@'s WebSocket died with the database: \(lateDuring.why)")
            let lateWatcher = CloseWatcher(lateWS)

            try server.start()
            let restarted = Date()
            // A logout as the database returns (with the refresh token: A's own verify state
            // may still be stale). B's LISTEN connection may be away when it is sent.
            var loggedOut: Date?
            try waitFor("a logout on A to succeed after the restart", timeout: 20, every: 50_000) {
                let r = try h.a.post("/api/v1/auth/logout", json: ["refresh_token": late.refresh])
                let answer = Answer(host: "A", what: "logout", r)
                log.append(answer)
                if r.status == 200 {
                    loggedOut = Date()
                    lateWatcher.start(from: loggedOut!)
                    return true
                }
                #expect(answer.isDocumented503, "logout while the database returns: \(answer)")
                return false
            }
            try waitFor("B's gate to recover by itself", timeout: 20, every: 20_000) {
                try h.b.get("/demo/echo", token: traffic.access).status == 200
            }
            let recovered = Date()
            let recoveredIn = recovered.timeIntervalSince(restarted)
            print("note: B's gate failed closed \(String(format: "%.3f", failedClosed)) s after the kill, "
                  + "recovered \(String(format: "%.3f", recoveredIn)) s after the restart")
            #expect(recoveredIn <= 5, "B's gate recovered only \(recoveredIn) s after the restart")
            // The revocation made as the database returned reaches B's companion within a second
            // of B being back (whichever came later: the logout's answer or B's recovery).
            let lateClosed = try lateWatcher.result(timeout: 15)
            let loggedOutAt = try #require(loggedOut)
            let backAt = max(loggedOutAt, recovered)
            let afterBack = loggedOutAt.addingTimeInterval(lateClosed.seconds).timeIntervalSince(backAt)
            print("note: the logout made as PostgreSQL returned closed B's WebSocket: \(lateClosed) after the logout, "
                  + "\(String(format: "%.3f", afterBack)) s after B was back")
            #expect(lateClosed.code == 4003, "late@'s WebSocket: \(lateClosed)")
            #expect(afterBack <= Self.bound, "late@'s WebSocket closed \(afterBack) s after B was back")
            // Never, once recovered, the session logged out while B may have been away.
            for host in h.hosts {
                for _ in 0..<5 {
                    #expect(try host.get("/demo/echo", token: late.access).status == 401, "a logged-out session passed on \(host.port)")
                }
            }
            // State converged: logins work on both hosts again.
            for host in h.hosts {
                let login = try host.login("late@demo.local")
                #expect(login.status == 200, "\(login.status) \(login.text)")
            }

            // The WebSocket survived the blink; a revocation now closes it within a second (a new
            // one when the outage killed it: the bound after recovery is checked either way).
            var watched = ws
            var replacement: Child?
            defer { replacement?.stop(grace: 1) }
            if !during.alive || !ws.echoes("after the outage") {
                let (fresh, p) = try h.b.openWebSocket(wsUser.access)
                watched = fresh
                replacement = p
            }
            let watcher = CloseWatcher(watched)
            let out = try h.a.post("/api/v1/auth/logout", token: wsUser.access)
            watcher.start(from: Date())
            #expect(out.status == 200, "\(out.text)")
            let closed = try watcher.result(timeout: 10)
            #expect(closed.code == 4003 && closed.seconds <= Self.bound, "B's WebSocket after the outage: \(closed)")

            load.stop()
            let all = log.all
            // No 5xx but the documented 503; the gate only ever 200 or 401.
            let bad = all.filter { a in
                switch a.what {
                case "gate": return a.status != 200 && a.status != 401
                case "health": return a.status != 200 && a.status != 503
                default: return a.status != 200 && !a.isDocumented503
                }
            }
            #expect(bad.isEmpty, "\(bad.count) answers outside 200/401/documented 503: \(bad.prefix(10))")
            // Traffic after the recovery is whole again.
            let settled = all.filter { $0.at > recovered.timeIntervalSince1970 + 1 && $0.what != "logout" }
            #expect(settled.allSatisfy { $0.status == 200 }, "after the recovery: \(settled.filter { $0.status != 200 }.prefix(10))")
            let outage = all.filter { $0.at > killed.timeIntervalSince1970 && $0.at < restarted.timeIntervalSince1970 }
            #expect(outage.contains { $0.what == "login" && $0.isDocumented503 }, "the traffic saw no 503 during the outage")
        }
    }
}
