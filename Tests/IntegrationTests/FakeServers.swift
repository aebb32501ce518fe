import AuthCrypto
import Foundation
import TestSupport
#if canImport(Glibc)
import Glibc
#endif

/// Values several threads append to; read them once the wait for them is over.
final class Recorder<T>: @unchecked Sendable {
    private let lock = NSLock()
    private var values: [T] = []
    func append(_ value: T) { lock.withLock { values.append(value) } }
    var items: [T] { lock.withLock { values } }
}

/// A tiny server on a Unix socket inside the test process: one thread accepts connections one at
/// a time and hands each fd (5 s receive timeout) to `handle`, then closes it. Stands in for an
/// app nginx or the companion talks to, so a test can see exactly what that app received.
final class UnixServer: @unchecked Sendable {
    let path: String
    private let fd: Int32
    private let finished = DispatchSemaphore(value: 0)
    private var stopped = false

    init(path: String, handle: @escaping @Sendable (Int32) -> Void) throws {
        self.path = path
        // Stored only once listening (a throwing init of a fully initialized class runs deinit).
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw StackError("socket: errno \(errno)") }
        var addr = UnixSocket.address(path)
        let bound = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard bound == 0, listen(fd, 64) == 0 else {
            close(fd)
            throw StackError("bind/listen \(path): errno \(errno)")
        }
        self.fd = fd
        chmod(path, 0o666)   // nginx's workers (www-data) connect; the directory limits who else can
        let listener = fd, done = finished
        let thread = Thread {
            while true {
                let c = accept(listener, nil, nil)
                if c < 0 {
                    if errno == EINTR { continue }
                    break   // shutdown() by stop()
                }
                var tv = timeval(tv_sec: 5, tv_usec: 0)
                setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
                handle(c)
                close(c)
            }
            done.signal()
        }
        thread.start()
    }

    /// Stops accepting (shutdown wakes the blocked accept) and waits for the thread.
    func stop() throws {
        guard !stopped else { return }
        stopped = true
        shutdown(fd, Int32(SHUT_RDWR))
        defer { close(fd) }
        try finished.wait(seconds: 10, for: "the fake server on \(path) to stop")
    }

    deinit { try? stop() }

    // MARK: blocking I/O for handlers

    /// Reads until `\r\n\r\n`; the head without it, or nil on EOF/timeout.
    static func readHead(_ fd: Int32) -> String? {
        var bytes: [UInt8] = []
        var byte: UInt8 = 0
        while recv(fd, &byte, 1, 0) == 1 {
            bytes.append(byte)
            if bytes.count >= 4 && bytes.suffix(4) == [13, 10, 13, 10] {
                return String(decoding: bytes.dropLast(4), as: UTF8.self)
            }
        }
        return nil
    }

    static func readExactly(_ fd: Int32, _ n: Int) -> [UInt8]? {
        var out = [UInt8](repeating: 0, count: n)
        var got = 0
        while got < n {
            let r = out.withUnsafeMutableBytes { recv(fd, $0.baseAddress! + got, n - got, 0) }
            if r <= 0 { return nil }
            got += r
        }
        return out
    }

    static func writeAll(_ fd: Int32, _ text: String) {
        let bytes = Array(text.utf8)
        var sent = 0
        while sent < bytes.count {
            let n = bytes[sent...].withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if n <= 0 { return }
            sent += n
        }
    }
}

/// What a uwsgi app receives: the uwsgi packet header (modifier1, u16 LE size, modifier2), then
/// the vars as (u16 LE length, name, u16 LE length, value) pairs, in order, duplicates kept.
enum FakeUWSGI {
    static func parse(_ fd: Int32) -> [(String, String)]? {
        guard let header = UnixServer.readExactly(fd, 4) else { return nil }
        let size = Int(header[1]) | Int(header[2]) << 8
        guard header[0] == 0, let vars = UnixServer.readExactly(fd, size) else { return nil }
        var pairs: [(String, String)] = []
        var i = 0
        func take() -> String? {
            guard i + 2 <= vars.count else { return nil }
            let n = Int(vars[i]) | Int(vars[i + 1]) << 8
            guard i + 2 + n <= vars.count else { return nil }
            defer { i += 2 + n }
            return String(decoding: vars[(i + 2)..<(i + 2 + n)], as: UTF8.self)
        }
        while i < vars.count {
            guard let name = take(), let value = take() else { return nil }
            pairs.append((name, value))
        }
        return pairs
    }

    /// A server recording every request's vars and answering `200 ok`.
    static func serve(_ path: String, into recorder: Recorder<[(String, String)]>) throws -> UnixServer {
        try UnixServer(path: path) { fd in
            guard let vars = parse(fd) else { return }
            recorder.append(vars)
            UnixServer.writeAll(fd, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")
        }
    }
}

/// A WebSocket upstream recording the upgrade request head it received, then accepting it (101).
enum FakeWebSocketUpstream {
    static func serve(_ path: String, into recorder: Recorder<String>) throws -> UnixServer {
        try UnixServer(path: path) { fd in
            guard let head = UnixServer.readHead(fd) else { return }
            recorder.append(head)
            let key = head.split(separator: "\r\n").first { $0.lowercased().hasPrefix("sec-websocket-key:") }
                .map { $0.split(separator: ":", maxSplits: 1)[1].trimmingCharacters(in: .whitespaces) } ?? ""
            let accept = Data(Crypto.sha1(Array((key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").utf8))).base64EncodedString()
            UnixServer.writeAll(fd, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: \(accept)\r\n\r\n")
            _ = UnixServer.readExactly(fd, 2)   // hold the socket until the client's first frame or EOF
        }
    }
}

/// A request head's header lines (name lowercased, value trimmed), in order, duplicates kept.
func headerLines(_ head: String) -> [(String, String)] {
    head.split(separator: "\r\n").dropFirst().compactMap { line in
        guard let colon = line.firstIndex(of: ":") else { return nil }
        return (line[..<colon].lowercased(), line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces))
    }
}
