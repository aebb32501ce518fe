import AuthCrypto
import CEpoll
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The demo's sample upstream: plain HTTP requests get 200 with a JSON echo of what arrived
/// (`method`, `uri`, `headers` by lowercased name); WebSocket upgrades get an echo server
/// (text/binary echoed frame by frame, pings answered, close handshake completed).
/// A blocking thread per connection: simple, and plenty for a demo.
public enum DemoUpstream {
    public static func serve(socketPath: String) -> Int32 {
        authgate_ignore_sigpipe()
        authgate_unblock_term()
        UnixListener.raiseFileLimit()
        let fd: Int32
        do {
            fd = try UnixListener.bind(path: socketPath, mode: 0o666, group: nil)
        } catch {
            FileHandle.standardError.write(Data("demo upstream: \(error)\n".utf8))
            return 1
        }
        _ = authgate_set_blocking(fd)
        FileHandle.standardError.write(Data("demo upstream listening on \(socketPath)\n".utf8))
        while true {
            let client = accept(fd, nil, nil)
            if client < 0 {
                if errno == EINTR || errno == ECONNABORTED || errno == EMFILE { usleep(1000); continue }
                return 1
            }
            let thread = Thread { handle(client) }
            thread.stackSize = 256 * 1024
            thread.start()
        }
    }

    static func handle(_ fd: Int32) {
        defer { close(fd) }
        var timeout = timeval(tv_sec: 300, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var parser = HTTPUpgradeParser(kind: .request, maxHeadSize: 16 * 1024, acceptHTTP10: true)
        var buf = [UInt8](repeating: 0, count: 16 * 1024)
        while true {
            let n = buf.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n <= 0 { return }
            switch parser.feed(Array(buf[0..<n])) {
            case .needMore:
                continue
            case .failed:
                writeAll(fd, Array("HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".utf8))
                return
            case let .complete(head, consumed):
                if head.tokens("upgrade").contains("websocket"), let key = head.value("sec-websocket-key") {
                    webSocket(fd, head, key: key, leftover: Array(buf[consumed..<n]))
                } else {
                    httpEcho(fd, head, bodyStart: n - consumed)
                }
                return
            }
        }
    }

    static func httpEcho(_ fd: Int32, _ head: HTTPHead, bodyStart: Int) {
        // Drain a small body so the peer sees a clean close.
        var remaining = min(Int(head.value("content-length") ?? "0") ?? 0, 1 << 20) - bodyStart
        var sink = [UInt8](repeating: 0, count: 4096)
        while remaining > 0 {
            let n = sink.withUnsafeMutableBytes { read(fd, $0.baseAddress, min($0.count, remaining)) }
            if n <= 0 { break }
            remaining -= n
        }
        if let page = DemoDashboard.response(head) {
            writeAll(fd, page)
            return
        }
        var headers: [(String, JSON)] = []
        for h in head.headers { headers.append((h.name.lowercased(), .string(h.value))) }
        let body = JSON.object([("method", .string(head.method)), ("uri", .string(head.target)),
                                ("headers", .object(headers))]).encoded()
        let text = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: \(body.count)\r\nConnection: close\r\n\r\n"
        writeAll(fd, Array(text.utf8) + body)
    }

    static func webSocket(_ fd: Int32, _ head: HTTPHead, key: String, leftover: [UInt8]) {
        var text = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        text += "Sec-WebSocket-Accept: \(Base64.encode(Crypto.sha1(Array((key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").utf8))))\r\n"
        if let proto = head.tokens("sec-websocket-protocol").first { text += "Sec-WebSocket-Protocol: \(proto)\r\n" }
        guard writeAll(fd, Array((text + "\r\n").utf8)) else { return }
        var frames = FrameParser(source: .client, maxPayload: 16 << 20)
        var header: FrameHeader?
        var payload: [UInt8] = []
        var pending = leftover
        var buf = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            if pending.isEmpty {
                let n = buf.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
                if n <= 0 { return }
                pending = Array(buf[0..<n])
            }
            let events: [FrameParser.Event]
            do { events = try frames.events(pending) } catch {
                writeAll(fd, WebSocketFrame.close(.protocolError, "protocol error"))
                return
            }
            for event in events {
                switch event {
                case .needMore: break
                case let .header(h):
                    header = h
                    payload = []
                case let .payload(range, _):
                    payload.append(contentsOf: pending[range])
                case .frameEnd:
                    guard let h = header else { continue }
                    if let k = h.maskKey { WebSocketFrame.applyMask(&payload, key: k) }
                    switch h.opcode {
                    case .ping:
                        guard writeAll(fd, WebSocketFrame.encode(.pong, payload)) else { return }
                    case .pong:
                        break
                    case .close:
                        writeAll(fd, WebSocketFrame.encode(.close, Array(payload.prefix(2))))
                        shutdown(fd, Int32(SHUT_WR))
                        return
                    default:
                        guard writeAll(fd, WebSocketFrame.encode(h.opcode, payload, fin: h.fin)) else { return }
                    }
                }
            }
            pending = []
        }
    }

    @discardableResult
    static func writeAll(_ fd: Int32, _ bytes: [UInt8]) -> Bool {
        var off = 0
        while off < bytes.count {
            let n = bytes.withUnsafeBytes { send(fd, $0.baseAddress! + off, $0.count - off, authgate_msg_nosignal()) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { return false }
            off += n
        }
        return true
    }
}
