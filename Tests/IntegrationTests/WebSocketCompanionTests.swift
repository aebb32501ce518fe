import AuthCore
import AuthCrypto
import Foundation
import TestSupport
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// The real `authgate-ws` in front of the real demo upstream, driven by a real WebSocket client.
@Suite(.serialized) struct WebSocketCompanionTests {
    @Test func echoesTextBinaryFragmentsAndPing() throws {
        let f = try WSFixture()
        let agent = try f.account(role: "agent")
        let c = try f.client()
        let reply = try c.upgrade("/ws/agent?token=\(f.token(agent))&room=1")
        #expect(reply.status == 101)
        #expect(reply.headers["sec-websocket-accept"] == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=")
        try c.sendText("hello")
        #expect(try c.receive() == .init(fin: true, opcode: 1, payload: Array("hello".utf8)))
        let blob = (0..<70_000).map { UInt8(truncatingIfNeeded: $0) }
        try c.send(opcode: 2, blob)
        #expect(try c.receive() == .init(fin: true, opcode: 2, payload: blob))
        try c.send(opcode: 1, Array("he".utf8), fin: false)
        try c.send(opcode: 0, Array("llo".utf8), fin: true)
        #expect(try c.receive() == .init(fin: false, opcode: 1, payload: Array("he".utf8)))
        #expect(try c.receive() == .init(fin: true, opcode: 0, payload: Array("llo".utf8)))
        try c.send(opcode: 9, [1, 2, 3])
        #expect(try c.receive() == .init(fin: true, opcode: 10, payload: [1, 2, 3]))
        try c.send(opcode: 8, [0x03, 0xE8])
        #expect(try c.receive()?.closeCode == 1000)
    }

    /// What the app behind the companion receives: the upgrade without `token=` (other query
    /// parameters kept), exactly one of each identity header with the token's values, and none
    /// of the client's X-Auth-* copies. A recording upstream shows it byte for byte.
    @Test func upstreamSeesIdentityNotToken() throws {
        let dir = try TempDir("agws-up", parent: "/tmp")
        let heads = Recorder<String>()
        let upstream = try FakeWebSocketUpstream.serve(dir.path + "/up.sock", into: heads)
        defer { try? upstream.stop() }
        let f = try WSFixture(routes: "/ws/agent=unix:\(dir.path)/up.sock|agent")
        let agent = try f.account(role: "agent")
        let token = f.token(agent)
        let spoofed = spoofedHeaders.filter { $0.key.hasPrefix("X-Auth-") }.map { "\($0.key): \($0.value)" }
        let c = try f.client()
        let reply = try c.upgrade("/ws/agent?room=7&token=\(token)&x=1", extraHeaders: spoofed)
        #expect(reply.status == 101)
        try waitFor("the upstream to receive the upgrade") { heads.items.count == 1 }
        let head = try #require(heads.items.first)
        #expect(head.hasPrefix("GET /ws/agent?room=7&x=1 HTTP/1.1\r\n"), "\(head)")
        #expect(!head.contains(token) && !head.contains("token="))
        let received = headerLines(head)
        let identity = received.filter { $0.0.hasPrefix("x-auth-") }
        let expected: [(String, String)] = [
            ("x-auth-kind", "user"), ("x-auth-user-id", agent.userID), ("x-auth-tenant-id", agent.tenantID),
            ("x-auth-role", "agent"), ("x-auth-email", agent.email), ("x-auth-session-id", agent.sessionID),
            ("x-auth-aal", "1"), ("x-auth-amr", "pwd"),   // issue 21: the level and methods, from the one field list
        ]
        #expect(identity.map(\.0) == expected.map(\.0), "\(identity)")
        #expect(identity.map(\.1) == expected.map(\.1), "\(identity)")
        #expect(carriesNoSpoof(Dictionary(received, uniquingKeysWith: { $0 + "," + $1 })))
        #expect(received.first { $0.0 == "sec-websocket-key" }?.1 == WSTestClient.key)
        // The companion's log names the user, never the token.
        try waitFor("the companion's ws open line") { f.companionLogText.contains("ws open user=\(agent.userID)") }
        #expect(!f.companionLogText.contains(token) && !f.companionLogText.contains("token="))
    }

    @Test func refusesBeforeUpgrade() throws {
        let f = try WSFixture(routes: "/ws/agent=|agent,supervisor,admin,platform_admin;/ws/supervisor=|supervisor,admin,platform_admin;/ws/down=unix:/nonexistent/x.sock")
        let agent = try f.account(role: "agent")
        let pending = try f.account(role: "supervisor", mustChange: true)
        let other = SigningKey(kid: "k1", secret: Crypto.randomBytes(32))
        let cases: [(String, Int, String)] = [
            ("/ws/agent", 401, "invalid_token"),
            ("/ws/agent?token=abc.def.ghi", 401, "invalid_token"),
            ("/ws/agent?token=\(f.token(agent, key: other))", 401, "invalid_token"),
            ("/ws/agent?token=\(f.token(agent, exp: Time.now() - 5))", 401, "invalid_token"),
            ("/ws/agent?token=\(f.token(agent, exp: Time.now() + 1))", 401, "invalid_token"),   // within leeway
            ("/ws/supervisor?token=\(f.token(agent))", 403, "forbidden"),
            ("/ws/supervisor?token=\(f.token(pending))", 403, "password_change_required"),
            ("/ws/nope?token=\(f.token(agent))", 404, "not_found"),
            ("/ws/down?token=\(f.token(agent))", 502, "unavailable"),
        ]
        for (target, status, code) in cases {
            let reply = try f.client().upgrade(target)
            #expect(reply.status == status, "\(target)")
            #expect(reply.errorCode == code, "\(target)")
            if status == 401 {
                // RFC 6750 §3.1: the error code only when a token was sent.
                let expected = target.contains("token=") ? #"Bearer error="invalid_token""# : "Bearer"
                #expect(reply.headers["www-authenticate"] == expected, "\(target)")
            }
        }
        let plain = try f.client().upgrade("", raw: "GET /ws/agent HTTP/1.1\r\nHost: x\r\n\r\n")
        #expect(plain.status == 400)
        #expect(plain.errorCode == "invalid_request")
        let junk = try f.client().upgrade("", raw: "BLAH\r\n\r\n")
        #expect(junk.status == 400)
        // A revoked session is refused at the upgrade.
        try _ = f.db.sessions.revoke(id: agent.sessionID, reason: "logout", now: Time.now())
        let revoked = try f.client().upgrade("/ws/agent?token=\(f.token(agent))")
        #expect(revoked.status == 401)
    }

    @Test func upstreamDownIs502() throws {
        let f = try WSFixture(startUpstream: false)
        let agent = try f.account(role: "agent")
        let reply = try f.client().upgrade("/ws/agent?token=\(f.token(agent))")
        #expect(reply.status == 502)
        #expect(reply.errorCode == "unavailable")
    }

    /// Closed at `exp`, told apart from `exp + leeway`: the leeway (5 s) is over three times the tolerance (1.5 s: the companion ticks every 200 ms, and a loaded 2-core machine adds the rest).
    @Test func closesWith4001AtExpiryNotAtExpPlusLeeway() throws {
        let f = try WSFixture(leeway: 5)
        let agent = try f.account(role: "agent")
        let exp = Time.now() + 8
        let c = try f.client(timeoutSeconds: 15)
        #expect(try c.upgrade("/ws/agent?token=\(f.token(agent, exp: exp))").status == 101)
        try c.sendText("still here")
        #expect(try c.receive()?.payload == Array("still here".utf8))
        let close = try c.awaitClose()
        let at = Date().timeIntervalSince1970
        #expect(close?.closeCode == 4001)
        #expect(String(decoding: close?.payload.dropFirst(2) ?? [], as: UTF8.self) == "token expired")
        #expect(at >= Double(exp) - 0.05 && at <= Double(exp) + 1.5, "closed \(at - Double(exp)) s after exp")
    }

    @Test func closesWith4003OnRevocation() throws {
        let f = try WSFixture()
        let sup = try f.account(role: "supervisor")
        let c = try f.client()
        #expect(try c.upgrade("/ws/supervisor?token=\(f.token(sup))").status == 101)
        try c.sendText("x")
        #expect(try c.receive()?.payload == Array("x".utf8))
        let start = Date()
        try _ = f.db.sessions.revoke(id: sup.sessionID, reason: "logout", now: Time.now())
        let close = try c.awaitClose()
        #expect(close?.closeCode == 4003)
        #expect(Date().timeIntervalSince(start) <= 1.0)
        #expect(try c.receive() == nil)   // then the connection ends
        let line = "ws close user=\(sup.userID) session=\(sup.sessionID) route=/ws/supervisor code=4003"
        try waitFor("the companion's log line \(line)", timeout: 5) { f.companionLogText.contains(line) }
    }

    @Test func shutdownSends1001() throws {
        let f = try WSFixture()
        let agent = try f.account(role: "agent")
        let c = try f.client()
        #expect(try c.upgrade("/ws/agent?token=\(f.token(agent))").status == 101)
        let start = Date()
        f.companion?.signal(SIGTERM)
        #expect(try c.awaitClose()?.closeCode == 1001)
        try f.companion?.wait(timeout: 5, for: "the companion to stop on SIGTERM")
        #expect(Date().timeIntervalSince(start) < 2.0)
    }

    @Test func refusesASocketServedByALiveProcess() throws {
        let f = try WSFixture()
        let second = try f.startCompanion()
        #expect(try second.wait(timeout: 10, for: "a second companion to refuse the live socket") != 0)
        // The first companion still serves, and its socket is 0660.
        let agent = try f.account(role: "agent")
        #expect(try f.client().upgrade("/ws/agent?token=\(f.token(agent))").status == 101)
        let mode = try #require(try FileManager.default.attributesOfItem(atPath: f.wsSocket)[.posixPermissions] as? Int)
        #expect(mode == 0o660)
        // A stale socket file (no process behind it) is replaced.
        f.companion?.stop()
        let stale = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        var addr = sockaddr_un()
        addr.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &addr.sun_path) { raw in for (i, b) in f.wsSocket.utf8.enumerated() { raw[i] = b } }
        _ = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(stale, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) } }
        close(stale)
        #expect(FileManager.default.fileExists(atPath: f.wsSocket))
        let third = try f.startCompanion()
        defer { third.stop() }
        try UnixSocket.waitUntilAccepting(f.wsSocket, served: third)
        #expect(try f.client().upgrade("/ws/agent?token=\(f.token(agent))").status == 101)
    }

    @Test func demoUpstreamEchoesPlainHTTP() throws {
        let f = try WSFixture()
        let c = try WSTestClient(socketPath: f.upstreamSocket)
        let reply = try c.upgrade("", raw: "POST /demo/ingest?a=1 HTTP/1.0\r\nHost: demo\r\nX-Auth-Kind: api_key\r\nContent-Length: 3\r\n\r\nabc")
        #expect(reply.status == 200)
        #expect(reply.json["method"] as? String == "POST")
        #expect(reply.json["uri"] as? String == "/demo/ingest?a=1")
        #expect((reply.json["headers"] as? [String: Any])?["x-auth-kind"] as? String == "api_key")
    }

    @Test func backpressureBoundsMemory() throws {
        let f = try WSFixture()
        let agent = try f.account(role: "agent")
        let c = try f.client()
        #expect(try c.upgrade("/ws/agent?token=\(f.token(agent))").status == 101)
        let before = try f.companionRSSKiB()
        // Send echoes for ~1.5 s without ever reading them: both directions must fill and stall.
        _ = authgateTestSetNonblocking(c.fd)
        var frame: [UInt8] = [0x82, 0xFF, 0, 0, 0, 0, 0, 0x01, 0, 0, 0, 0, 0, 0]   // 64 KiB, zero mask
        frame += [UInt8](repeating: 0x55, count: 65536)
        var sent = 0
        var offset = 0
        let end = Date().addingTimeInterval(1.5)
        while Date() < end {
            let n = frame.withUnsafeBytes { Glibc.send(c.fd, $0.baseAddress! + offset, $0.count - offset, Int32(MSG_NOSIGNAL)) }
            if n > 0 {
                sent += n
                offset = (offset + n) % frame.count
            } else {
                usleep(5_000)
            }
        }
        let after = try f.companionRSSKiB()
        print("WebSocket backpressure: client pushed \(sent / 1024) KiB unread; companion RSS \(before) -> \(after) KiB")
        #expect(sent > 0)
        #expect(after - before < 4 * 1024)
    }

    @Test func relaysAThousandConcurrentConnections() throws {
        raiseFileLimit()
        let f = try WSFixture()
        let agent = try f.account(role: "agent")
        let token = f.token(agent)
        let rssBefore = try f.companionRSSKiB()
        let start = Date()
        var clients: [WSTestClient] = []
        // WS_CONNECTIONS=10000 measures the 10k-idle-connection memory budget.
        let count = Int(ProcessInfo.processInfo.environment["WS_CONNECTIONS"] ?? "") ?? 1000
        for _ in 0..<count {
            let c = try f.client()
            #expect(try c.upgrade("/ws/agent?token=\(token)").status == 101)
            clients.append(c)
        }
        for (i, c) in clients.enumerated() { try c.sendText("m\(i)") }
        var ok = 0
        for (i, c) in clients.enumerated() where try c.receive()?.payload == Array("m\(i)".utf8) { ok += 1 }
        let rss = try f.companionRSSKiB()
        print("WebSocket \(count) connections: relayed \(ok) in \(String(format: "%.2f", Date().timeIntervalSince(start))) s; companion RSS \(rssBefore) KiB -> \(rss) KiB")
        #expect(ok == count)
        #expect(rss < 100 * 1024)
    }
}
