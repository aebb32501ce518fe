import Testing
@testable import AuthWS

@Suite struct WebSocketUpgradeParserTests {
    static let request = Array(("GET /ws/agent?token=abc HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"
        + "Connection: keep-alive, Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
        + "Sec-WebSocket-Version: 13\r\n\r\n").utf8)

    @Test func parsesWholeRequest() {
        var p = HTTPUpgradeParser()
        guard case let .complete(head, consumed) = p.feed(Self.request) else {
            Issue.record("not complete")
            return
        }
        #expect(consumed == Self.request.count)
        #expect(head.method == "GET")
        #expect(head.path == "/ws/agent")
        #expect(head.query == "token=abc")
        #expect(head.value("sec-websocket-key") == "dGhlIHNhbXBsZSBub25jZQ==")
        #expect(head.tokens("connection") == ["keep-alive", "upgrade"])
    }

    @Test func splitAtEveryByte() {
        let whole: HTTPHead? = {
            var p = HTTPUpgradeParser()
            if case let .complete(h, _) = p.feed(Self.request) { return h }
            return nil
        }()
        for cut in 0...Self.request.count {
            var p = HTTPUpgradeParser()
            let first = p.feed(Array(Self.request[0..<cut]))
            if cut < Self.request.count {
                #expect(first == .needMore)
                let second = p.feed(Array(Self.request[cut...]))
                #expect(second == .complete(whole!, consumed: Self.request.count - cut))
            } else {
                #expect(first == .complete(whole!, consumed: cut))
            }
        }
        // Byte by byte.
        var p = HTTPUpgradeParser()
        var last = HTTPUpgradeParser.Result.needMore
        for b in Self.request { last = p.feed([b]) }
        #expect(last == .complete(whole!, consumed: 1))
    }

    @Test func truncatedNeedsMore() {
        for cut in 0..<Self.request.count {
            var p = HTTPUpgradeParser()
            #expect(p.feed(Array(Self.request[0..<cut])) == .needMore)
        }
    }

    @Test func leftoverBytesAreNotConsumed() {
        var p = HTTPUpgradeParser()
        let extra: [UInt8] = [0x81, 0x00]
        guard case let .complete(_, consumed) = p.feed(Self.request + extra) else {
            Issue.record("not complete")
            return
        }
        #expect(consumed == Self.request.count)
    }

    @Test(arguments: [
        "GET /x HTTP/1.0\r\n\r\n", "GET /x HTTP/2.0\r\n\r\n", "GET x HTTP/1.1\r\n\r\n", "GET  /x HTTP/1.1\r\n\r\n", "GET /x HTTP/1.1\n\r\n",
        "GET /x HTTP/1.1\r\nHost : x\r\n\r\n", "GET /x HTTP/1.1\r\n folded\r\n\r\n", "GET /x HTTP/1.1\r\nA: b\rc\r\n\r\n",
        "GET /x HTTP/1.1\r\nA: \u{01}\r\n\r\n", "GET /x y HTTP/1.1\r\n\r\n", "G(T /x HTTP/1.1\r\n\r\n", "\r\n",
        "GET /x HTTP/1.1\r\nNoColon\r\n\r\n",
    ])
    func rejectsMalformed(_ text: String) {
        var p = HTTPUpgradeParser()
        guard case .failed = p.feed(Array(text.utf8)) else {
            Issue.record("accepted: \(text.debugDescription)")
            return
        }
        // Stays failed.
        guard case .failed = p.feed(Array("x".utf8)) else {
            Issue.record("recovered")
            return
        }
    }

    @Test func oversizeHeadIsRefused() {
        var p = HTTPUpgradeParser()
        var text = "GET /x HTTP/1.1\r\n"
        for i in 0..<400 { text += "X-Pad-\(i): 0123456789\r\n" }
        #expect(p.feed(Array(text.utf8)) == .failed(.tooLarge))
        // A single endless line is bounded too.
        var q = HTTPUpgradeParser()
        var result = HTTPUpgradeParser.Result.needMore
        for _ in 0..<100 where result == .needMore { result = q.feed([UInt8](repeating: 65, count: 1000)) }
        #expect(result == .failed(.tooLarge))
        #expect(q.bufferedCount == 0)
    }

    @Test func http10OnlyWhenAllowed() {
        let text = Array("GET /demo/echo HTTP/1.0\r\nHost: x\r\n\r\n".utf8)
        var strict = HTTPUpgradeParser()
        #expect(strict.feed(text) == .failed(.malformed("bad request line")))
        var lenient = HTTPUpgradeParser(acceptHTTP10: true)
        guard case let .complete(h, _) = lenient.feed(text) else {
            Issue.record("not complete")
            return
        }
        #expect(h.version == "HTTP/1.0")
    }

    @Test func parsesResponse() {
        var p = HTTPUpgradeParser(kind: .response)
        let r = p.feed(Array("HTTP/1.1 101 Switching Protocols\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n".utf8))
        guard case let .complete(h, _) = r else {
            Issue.record("not complete")
            return
        }
        #expect(h.status == 101)
        #expect(h.value("Sec-WebSocket-Accept") == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=")
    }
}

@Suite struct WebSocketFrameParserTests {
    static let key: [UInt8] = [1, 2, 3, 4]

    func parse(_ bytes: [UInt8], source: FrameParser.Source = .client, max: UInt64 = 1 << 20) -> Result<[FrameParser.Event], FrameError> {
        var p = FrameParser(source: source, maxPayload: max)
        do { return .success(try p.events(bytes)) } catch { return .failure(error) }
    }

    /// Reassembles (header, unmasked payload) pairs from events of arbitrarily split input.
    func frames(_ chunks: [[UInt8]], source: FrameParser.Source = .client) throws -> [(FrameHeader, [UInt8])] {
        var p = FrameParser(source: source)
        var out: [(FrameHeader, [UInt8])] = []
        var current: [UInt8] = []
        for chunk in chunks {
            for e in try p.events(chunk) {
                switch e {
                case .header: current = []
                case let .payload(r, _):
                    current.append(contentsOf: chunk[r])
                case let .frameEnd(h):
                    var payload = current
                    if let k = h.maskKey { WebSocketFrame.applyMask(&payload, key: k) }
                    out.append((h, payload))
                case .needMore: break
                }
            }
        }
        return out
    }

    @Test func maskedTextRoundTrip() throws {
        let bytes = WebSocketFrame.encode(.text, Array("hello".utf8), maskKey: Self.key)
        let f = try frames([bytes])
        #expect(f.count == 1)
        #expect(f[0].0.opcode == .text && f[0].0.fin)
        #expect(f[0].1 == Array("hello".utf8))
    }

    @Test func splitAtEveryByteForAllLengthForms() throws {
        for size in [0, 5, 125, 126, 300, 65535, 65536, 70000] {
            let payload = (0..<size).map { UInt8(truncatingIfNeeded: $0 &* 7) }
            let bytes = WebSocketFrame.encode(.binary, payload, maskKey: Self.key)
                + WebSocketFrame.encode(.ping, [9], maskKey: Self.key)
            let cuts = size > 300 ? [1, 2, 3, 4, 7, 9, 10, 13, 14, 15, bytes.count / 2, bytes.count - 1] : Array(0...bytes.count)
            for cut in cuts {
                let f = try frames([Array(bytes[0..<cut]), Array(bytes[cut...])])
                #expect(f.count == 2)
                #expect(f[0].1 == payload)
                #expect(f[1].0.opcode == .ping && f[1].1 == [9])
            }
        }
    }

    @Test func fragmentedMessage() throws {
        let bytes = WebSocketFrame.encode(.text, Array("he".utf8), fin: false, maskKey: Self.key)
            + WebSocketFrame.encode(.ping, [], maskKey: Self.key)
            + WebSocketFrame.encode(.continuation, Array("ll".utf8), fin: false, maskKey: Self.key)
            + WebSocketFrame.encode(.continuation, Array("o".utf8), fin: true, maskKey: Self.key)
        let f = try frames([bytes])
        #expect(f.map(\.0.opcode) == [.text, .ping, .continuation, .continuation])
        #expect(f.flatMap { $0.0.opcode == .ping ? [] : $0.1 } == Array("hello".utf8))
    }

    @Test func boundaryTracking() throws {
        var p = FrameParser(source: .server)
        #expect(p.atFrameBoundary)
        let bytes = WebSocketFrame.encode(.text, Array("abc".utf8))
        var index = 0
        try bytes[0..<3].withUnsafeBytes { raw in
            _ = try p.next(raw, at: &index)
        }
        #expect(!p.atFrameBoundary)
        #expect(try p.events(Array(bytes[index...])).last == .frameEnd(FrameHeader(fin: true, rsv: 0, opcode: .text, maskKey: nil, length: 3, headerSize: 2)))
        #expect(p.atFrameBoundary)
    }

    @Test func rejectsHostileFrames() {
        func fails(_ b: [UInt8], _ e: FrameError, source: FrameParser.Source = .client, max: UInt64 = 1 << 20) {
            #expect(parse(b, source: source, max: max) == .failure(e), "\(b)")
        }
        fails([0x81, 0x05] + Array("hello".utf8), .maskRequired)
        fails(WebSocketFrame.encode(.text, [1], maskKey: Self.key), .maskForbidden, source: .server)
        fails([0xC1, 0x80, 0, 0, 0, 0], .reservedBits)
        fails([0x83, 0x80, 0, 0, 0, 0], .unknownOpcode)
        fails([0x8B, 0x80, 0, 0, 0, 0], .unknownOpcode)
        fails([0x89, 0xFE, 0x00, 0x7E, 0, 0, 0, 0], .controlTooLong)
        fails([0x09, 0x80, 0, 0, 0, 0], .fragmentedControl)
        fails([0x80, 0x80, 0, 0, 0, 0], .unexpectedContinuation)
        fails(WebSocketFrame.encode(.text, [1], fin: false, maskKey: Self.key) + WebSocketFrame.encode(.text, [1], maskKey: Self.key), .expectedContinuation)
        fails([0x82, 0xFE, 0x00, 0x05, 0, 0, 0, 0], .nonMinimalLength)
        fails([0x82, 0xFF, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF, 0, 0, 0, 0], .nonMinimalLength)
        fails([0x82, 0xFF, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0], .lengthTooLarge)
        fails([0x82, 0xFF, 0x7F, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0, 0, 0, 0], .tooLarge)
        fails([0x82, 0xFE, 0x10, 0x00, 0, 0, 0, 0], .tooLarge, max: 1000)
    }

    @Test func closeFrameBuilder() throws {
        let bytes = WebSocketFrame.close(.tokenExpired, "token expired", maskKey: Self.key)
        let f = try frames([bytes])
        #expect(f[0].0.opcode == .close)
        #expect(f[0].1 == [0x0F, 0xA1] + Array("token expired".utf8))
    }

    @Test func pipeInjectsCloseAtBoundary() throws {
        var pipe = Pipe(source: .server)
        let frame = WebSocketFrame.encode(.binary, [UInt8](repeating: 7, count: 200))
        // Mid-frame: the close waits for the frame end.
        let firstPart = Array(frame[0..<50])
        let n1 = try firstPart.withUnsafeBytes { try pipe.scan($0) }
        #expect(n1 == 50)
        pipe.pendingClose = WebSocketFrame.close(.sessionRevoked, "session revoked")
        let early = pipe.injectIfReady()
        #expect(!early)
        let rest = Array(frame[50...]) + WebSocketFrame.encode(.text, [1, 2])
        let n2 = try rest.withUnsafeBytes { try pipe.scan($0) }
        #expect(n2 == frame.count - 50)
        let injected = pipe.injectIfReady()
        #expect(injected)
        #expect(pipe.sealed)
        #expect(pipe.out == WebSocketFrame.close(.sessionRevoked, "session revoked"))
    }

    @Test func acceptValueMatchesRFC() {
        #expect(Companion.acceptValue(key: "dGhlIHNhbXBsZSBub25jZQ==") == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=")
    }

    @Test func tokenIsRemovedFromQuery() {
        #expect(Companion.splitToken("token=a.b.c&x=1") == ("a.b.c", "x=1"))
        #expect(Companion.splitToken("x=1&token=a%2Eb") == ("a.b", "x=1"))
        #expect(Companion.splitToken("token=a&token=b") == (nil, ""))
        #expect(Companion.splitToken("") == (nil, ""))
    }

    @Test func forwardedRequestDropsTokenAndClientIdentity() {
        var p = HTTPUpgradeParser()
        let text = "GET /ws/agent?room=1&token=secret.jwt.value HTTP/1.1\r\nHost: x\r\nX-Auth-Role: platform_admin\r\n"
            + "x-auth-user-id: evil\r\nSec-WebSocket-Extensions: permessage-deflate\r\nSec-WebSocket-Protocol: chat\r\n\r\n"
        guard case let .complete(head, _) = p.feed(Array(text.utf8)) else {
            Issue.record("not complete")
            return
        }
        let (token, query) = Companion.splitToken(head.query)
        #expect(token == "secret.jwt.value")
        let id = WSIdentity(userID: "u1", tenantID: "t1", role: "agent", email: "a@b.c", sessionID: "s1", iat: 0, exp: 0)
        let out = String(decoding: Companion.forwardedRequest(head, path: String(head.path), query: query, identity: id), as: UTF8.self)
        #expect(out.hasPrefix("GET /ws/agent?room=1 HTTP/1.1\r\n"))
        #expect(!out.contains("secret"))
        #expect(!out.contains("platform_admin") && !out.contains("evil"))
        #expect(!out.lowercased().contains("extensions"))
        #expect(out.contains("Sec-WebSocket-Protocol: chat\r\n"))
        #expect(out.contains("X-Auth-Kind: user\r\nX-Auth-User-Id: u1\r\nX-Auth-Tenant-Id: t1\r\nX-Auth-Role: agent\r\n"))
        #expect(out.hasSuffix("X-Auth-Session-Id: s1\r\nX-Auth-AAL: 1\r\nX-Auth-AMR: pwd\r\n\r\n"))
    }

    @Test func routeTableSyntax() throws {
        let t = try RouteTable(environment: ["AUTH_WS_ROUTES": "/ws/supervisor=unix:/tmp/a.sock|supervisor,admin;/ws/agent=127.0.0.1:9000"],
                               wsSocketPath: "/run/x/ws.sock")
        #expect(t.route(for: "/ws/supervisor")?.upstream == .unix("/tmp/a.sock"))
        #expect(t.route(for: "/ws/supervisor")?.roles == ["supervisor", "admin"])
        #expect(t.route(for: "/ws/agent")?.upstream == .tcp(host: "127.0.0.1", port: 9000))
        #expect(t.route(for: "/ws/agent")?.roles == RouteTable.allRoles)
        let d = try RouteTable(environment: [:], wsSocketPath: "/run/x/ws.sock")
        #expect(d.route(for: "/ws/agent")?.upstream == .unix("/run/x/demo-upstream.sock"))
        #expect(d.route(for: "/ws/supervisor")?.roles == ["supervisor", "admin", "platform_admin"])
        #expect(throws: (any Error).self) { try RouteTable(environment: ["AUTH_WS_ROUTES": "/ws/a=10.0.0.1:80"], wsSocketPath: "/x") }
        #expect(throws: (any Error).self) { try RouteTable(environment: ["AUTH_WS_ROUTES": "/ws/a=unix:/x|root"], wsSocketPath: "/x") }
    }
}
