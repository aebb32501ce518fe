import AuthCore
import AuthCrypto
import Foundation
import TestSupport
import Testing

/// Issue 19 item 9: the whole stack (nginx, responder, companion) on a wall clock the test steps
/// back an hour and forward a day while traffic runs (libfaketime, `ClockStepSupport.swift`).
/// Claims follow the wall clock (README "Tokens"); staleness and timeouts the monotonic one.
/// `make test` runs one round; `make clock` runs `AUTHGATE_CLOCK_ROUNDS` rounds of
/// `AUTHGATE_CLOCK_PHASE_SECONDS` each.
@Suite
struct ClockStepTests {
    static let domain = "clock.test"

    static func setting(_ name: String, _ fallback: Int) -> Int {
        ProcessInfo.processInfo.environment[name].flatMap { Int($0) } ?? fallback
    }

    /// A token for an existing session, signed with the stack's key and issued at `iat` (the
    /// stack's clock, not the test's).
    static func mint(_ stack: Stack, identity: [String: String], iat: Int64, ttl: Int64) throws -> String {
        let claims = AccessClaims(iss: "authgate", aud: stack.options.profile, sub: identity["x-auth-user-id"] ?? "",
                                  tid: identity["x-auth-tenant-id"] ?? "", email: identity["x-auth-email"] ?? "",
                                  role: identity["x-auth-role"] ?? "agent", sid: identity["x-auth-session-id"] ?? "",
                                  jti: UUIDs.random(), iat: iat, exp: iat + ttl)
        return JWT.sign(claims, key: try stack.keyRing().signing)
    }

    /// One step back by an hour, every rule the README states checked on either side of it.
    @Test func backwardStepOfAnHour() throws {
        let clock = try FakeClock()
        try Stack.with(clock.stackOptions()) { stack in
            _ = try stack.makeTenant(Self.domain)
            for u in ["alice", "bob", "carol", "dave", "trudy"] { try stack.makeUser("\(u)@\(Self.domain)", tenant: Self.domain) }
            let traffic = ClockTraffic(stack, email: "trudy@\(Self.domain)")
            traffic.start()

            let alice = try stack.heldToken("alice@\(Self.domain)", label: "alice")
            let aliceID = try #require(try stack.get("/demo/echo", token: alice.access).echoedHeaders)
            let bob = try stack.heldToken("bob@\(Self.domain)", label: "bob")
            let bobID = try #require(try stack.get("/demo/echo", token: bob.access).echoedHeaders)
            #expect(try stack.post("/api/v1/auth/logout", token: bob.access).status == 200)
            for _ in 0..<3 { #expect(try stack.login("carol@\(Self.domain)", password: "not the password at all").status == 401) }
            #expect(try stack.login("carol@\(Self.domain)").status == 401, "carol is locked")
            let dave = try stack.heldToken("dave@\(Self.domain)", label: "dave")
            let rotated = try stack.refreshToken(dave.refresh)
            #expect(rotated.status == 200)
            let daveNext = try #require(rotated.data["refresh_token"] as? String)
            // A socket whose token has 15 s left; the companion must cut it then, whatever the
            // wall clock does meanwhile.
            let short = try Self.mint(stack, identity: aliceID, iat: clock.now, ttl: 15)
            let ws = try WSTestClient(socketPath: stack.wsSocketPath, timeoutSeconds: 40)
            #expect(try ws.upgrade("/ws/agent?token=\(short)").status == 101)
            let upgraded = Date()
            // This second's allow for alice's token now sits in nginx's micro-cache.
            #expect(try stack.gateStatus(alice.access) == 200)

            try clock.step(to: -ClockRules.hour)
            let stepped = Date()

            // Issued an hour "in the future": refused at the gate (the allow nginx cached a moment
            // ago included) and at the upgrade, until refreshed.
            #expect(try stack.gateStatus(alice.access) == 401, "a token whose iat is an hour ahead")
            #expect(try stack.upgradeStatus(alice.access) == 401)
            let renewed = try stack.refreshToken(alice.refresh)
            #expect(renewed.status == 200, "\(renewed.text)")
            let a1 = try #require(renewed.data["access_token"] as? String)
            let a1Claims = try #require(HeldToken.claims(a1))
            #expect(abs(a1Claims.iat - clock.now) <= 5, "claims follow the stepped wall clock: iat \(a1Claims.iat), clock \(clock.now)")
            #expect(try stack.gateStatus(a1) == 200)
            #expect(try stack.upgradeStatus(a1) == 101)

            // Revoked stays revoked: the refresh token, and a token of that session whose claims
            // are valid on the new clock.
            #expect(try stack.refreshToken(bob.refresh).status == 401)
            let bobNow = try Self.mint(stack, identity: bobID, iat: clock.now, ttl: 300)
            #expect(try stack.gateStatus(bobNow) == 401, "a revoked session after the step")
            #expect(try stack.upgradeStatus(bobNow) == 401)

            // A lock stays for its window, and the hour of the step on top (locked_until is wall time).
            #expect(try stack.login("carol@\(Self.domain)").status == 401, "carol is still locked")

            // The reuse window is the 10 s after the rotation, not the hour the clock went back:
            // dave's previous refresh token is a reuse, which revokes the session.
            #expect(try stack.refreshToken(dave.refresh).status == 401, "a replay of the rotated token an hour 'before' its rotation")
            #expect(try stack.refreshToken(daveNext).status == 401, "the replay revoked dave's session")

            // The socket: closed 4001 when the 15 s it had are over (monotonic), not an hour later.
            let close: WSTestClient.Frame?
            do { close = try ws.awaitClose() } catch {
                Issue.record("the companion did not close the 15 s socket within 40 s of its upgrade: \(error)")
                close = nil
            }
            let lived = Date().timeIntervalSince(upgraded)
            #expect(close?.closeCode == 4001, "the short-lived socket ended with \(String(describing: close?.closeCode))")
            #expect(lived < 25, "the socket lived \(lived) s on a 15 s token")
            print("clock: -1 h: the 15 s socket closed \(String(format: "%.1f", lived)) s after its upgrade "
                  + "(\(String(format: "%.1f", Date().timeIntervalSince(stepped))) s after the step)")

            // Back to the real time: alice's first token is good again, the one issued during the
            // hour has expired, bob's original token is still revoked.
            try clock.step(to: 0)
            #expect(try stack.gateStatus(alice.access) == 200)
            #expect(try stack.gateStatus(a1) == 401)
            #expect(try stack.gateStatus(bob.access) == 401)
            #expect(try stack.upgradeStatus(bob.access) == 401)
            #expect(try stack.client.get("/api/v1/health").status == 200)

            let counts = try traffic.stop()
            #expect(traffic.failures.isEmpty, "\(traffic.failures.prefix(5))")
            stack.requireAllAlive("after a step back of an hour")
            print("clock: -1 h: traffic \(counts.sorted { $0.key < $1.key })")
        }
    }

    /// Rounds of −1 h, back, +1 day, back, traffic throughout. After every step each token the
    /// test holds answers what the README's rules say on the new clock (revoked: always 401).
    @Test func stepsUnderTraffic() throws {
        let rounds = Self.setting("AUTHGATE_CLOCK_ROUNDS", 1)
        let phaseSeconds = Double(Self.setting("AUTHGATE_CLOCK_PHASE_SECONDS", 1))
        let clock = try FakeClock()
        try Stack.with(clock.stackOptions()) { stack in
            _ = try stack.makeTenant(Self.domain)
            let users = (0..<4).map { "u\($0)@\(Self.domain)" }
            for u in users + ["trudy@\(Self.domain)", "carol@\(Self.domain)"] { try stack.makeUser(u, tenant: Self.domain) }
            let traffic = ClockTraffic(stack, email: "trudy@\(Self.domain)")
            traffic.start()
            var held: [HeldToken] = []
            var sockets: [(client: WSTestClient, token: HeldToken)] = []
            var checked = (gate: 0, upgrade: 0, cut: 0)
            var revokedHeld = [String]()   // revoked sessions in the responder's verify state after each step
            let plan: [Int64] = [-ClockRules.hour, 0, ClockRules.day, 0]
            for round in 0..<rounds {
                for (i, target) in plan.enumerated() {
                    let label = "round \(round) step to \(target)"
                    // Before the step: a live token with a socket, and one logged out before any
                    // gate saw it (so no cached allow of it exists).
                    let live = try stack.heldToken(users[i], label: "live before \(label)")
                    var gone = try stack.heldToken(users[(i + 1) % users.count], label: "revoked before \(label)")
                    #expect(try stack.post("/api/v1/auth/logout", token: gone.access).status == 200)
                    gone.revoked = true
                    held = Array((held + [live, gone]).suffix(24))
                    let ws = try WSTestClient(socketPath: stack.wsSocketPath, timeoutSeconds: 10)
                    #expect(try ws.upgrade("/ws/agent?token=\(live.access)").status == 101)
                    sockets.append((ws, live))
                    if round == 0 && target == ClockRules.day {
                        for _ in 0..<3 { _ = try stack.login("carol@\(Self.domain)", password: "not the password at all") }
                        #expect(try stack.login("carol@\(Self.domain)").status == 401, "carol is locked")
                    }

                    let before = traffic.total
                    try clock.step(to: target)
                    let phase = Deadline(phaseSeconds)
                    try waitFor("traffic across the step (\(label)) and \(phaseSeconds) s of it", timeout: phaseSeconds + 60) {
                        traffic.total >= before + 6 && phase.passed
                    }

                    let now = clock.now
                    for t in held {
                        if let want = ClockRules.gate(iat: t.iat, exp: t.exp, revoked: t.revoked, now: now) {
                            #expect(try stack.gateStatus(t.access) == want, "gate, \(t.label), after the \(label)")
                            checked.gate += 1
                        }
                        if let want = ClockRules.upgrade(iat: t.iat, exp: t.exp, revoked: t.revoked, now: now) {
                            #expect(try stack.upgradeStatus(t.access) == want, "upgrade, \(t.label), after the \(label)")
                            checked.upgrade += 1
                        }
                    }
                    // Sockets whose token the new clock has expired are closed 4001 (the tick, 200 ms).
                    for s in sockets where now >= s.token.exp {
                        let close = try? s.client.awaitClose()   // nil: not closed within its 10 s timeout
                        #expect(close?.closeCode == 4001, "socket of \(s.token.label) after the \(label)")
                        checked.cut += 1
                    }
                    sockets.removeAll { now >= $0.token.exp }
                    if target == ClockRules.day {
                        // Refresh tokens idle for more than AUTH_REFRESH_TTL_SECONDS (12 h here) are over.
                        #expect(try stack.refreshToken(live.refresh).status == 401, "an idle refresh token a day later")
                        if round == 0 { #expect(try stack.login("carol@\(Self.domain)").status == 200, "a lock ends when the clock passes it") }
                    }
                    revokedHeld.append("\(target): \(try stack.revokedSessionsHeld().map(String.init) ?? "?")")
                    // The verify state stays fresh across every step (its staleness is monotonic).
                    let health = try stack.client.get("/api/v1/health")
                    #expect(health.status == 200, "health after the \(label): \(health.text)")
                    stack.requireAllAlive("after the \(label)")
                }
            }
            let counts = try traffic.stop()
            #expect(traffic.failures.isEmpty, "\(traffic.failures.prefix(5))")
            let stepsLogged = stack.log("authgate-fcgi").components(separatedBy: "the wall clock stepped").count - 1
            print("clock: \(rounds) round(s), \(rounds * plan.count) steps: \(checked.gate) gate and \(checked.upgrade) upgrade "
                  + "checks, \(checked.cut) sockets cut 4001; responder reloads on a step: \(stepsLogged); revoked "
                  + "sessions held after each step (offset: count) \(revokedHeld.prefix(8)); traffic "
                  + "\(counts.values.reduce(0, +)) requests \(counts.sorted { $0.key < $1.key })")
        }
    }
}
