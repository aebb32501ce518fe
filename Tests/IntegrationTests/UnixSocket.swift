import Foundation
import TestSupport
#if canImport(Glibc)
import Glibc
#endif

/// A blocking Unix stream socket for talking to the responder directly (no nginx).
final class UnixSocket {
    let fd: Int32

    /// The descriptor is stored only once connected: a class whose stored properties are all set
    /// runs `deinit` when its init throws, and a `close` there after the one below closed a
    /// descriptor number another thread had reused meanwhile (seen: `send: errno 9` in the
    /// 1,000-WebSocket test while other tests polled sockets that were not up yet).
    init(path: String, receiveTimeout: Double = 5) throws {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw StackError("socket failed") }
        var addr = UnixSocket.address(path)
        let rc = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard rc == 0 else {
            let e = errno
            close(fd)   // self.fd is not set yet: deinit will not run, nothing closes it twice
            throw StackError("connect \(path): \(String(cString: strerror(e)))")
        }
        self.fd = fd
        var tv = timeval(tv_sec: Int(receiveTimeout), tv_usec: Int((receiveTimeout - Double(Int(receiveTimeout))) * 1e6))
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
    }

    deinit { close(fd) }

    func send(_ bytes: [UInt8]) throws {
        var sent = 0
        while sent < bytes.count {
            let n = bytes[sent...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            guard n > 0 else { throw StackError("send: \(String(cString: strerror(errno)))") }
            sent += n
        }
    }

    /// Everything until the peer closes (or the receive timeout: then `timedOut` is true).
    func receiveAll() -> (bytes: [UInt8], timedOut: Bool) {
        var out: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n > 0 { out.append(contentsOf: buffer[0..<n]); continue }
            if n == 0 { return (out, false) }
            if errno == EINTR { continue }
            return (out, errno == EAGAIN || errno == EWOULDBLOCK)
        }
    }

    static func canConnect(_ path: String) -> Bool {
        (try? UnixSocket(path: path)) != nil
    }

    /// The one socket waiter: until something accepts on `path`. When `served` (the process
    /// meant to listen there) exits first, fails at once with the tail of its `log`.
    static func waitUntilAccepting(_ path: String, served child: Child? = nil, timeout: Double = 15,
                                   log: () -> String = { "" }) throws {
        let who = child?.name ?? "something"
        try waitFor("\(who) to accept on \(path)", timeout: timeout) {
            if let child, !child.isRunning {
                throw StackError("\(child.name) exited (status \(child.terminationStatus ?? -1)) before accepting on \(path): \(log().suffix(2000))")
            }
            return canConnect(path)
        }
    }

    static func address(_ path: String) -> sockaddr_un {
        var addr = sockaddr_un()
        addr.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        withUnsafeMutableBytes(of: &addr.sun_path) { raw in
            raw.copyBytes(from: bytes.prefix(raw.count - 1))
        }
        return addr
    }
}

/// FastCGI records by hand (the responder role, one request per connection), to send the
/// responder exactly what nginx would, or something broken.
enum FastCGIWire {
    static func record(type: UInt8, requestID: UInt16 = 1, _ content: [UInt8]) -> [UInt8] {
        var out: [UInt8] = [1, type, UInt8(requestID >> 8), UInt8(requestID & 0xff),
                            UInt8(content.count >> 8), UInt8(content.count & 0xff), 0, 0]
        out += content
        return out
    }

    static func beginRequest(keepConnection: Bool = false) -> [UInt8] {
        record(type: 1, [0, 1, keepConnection ? 1 : 0, 0, 0, 0, 0, 0])
    }

    static func nameValue(_ name: String, _ value: String) -> [UInt8] {
        func length(_ n: Int) -> [UInt8] {
            n < 128 ? [UInt8(n)] : [UInt8((n >> 24) & 0x7f) | 0x80, UInt8((n >> 16) & 0xff), UInt8((n >> 8) & 0xff), UInt8(n & 0xff)]
        }
        let n = Array(name.utf8), v = Array(value.utf8)
        return length(n.count) + length(v.count) + n + v
    }

    /// Params split into records of at most 65535 bytes.
    static func params(_ pairs: [(String, String)]) -> [UInt8] {
        let all = pairs.flatMap { nameValue($0.0, $0.1) }
        var out: [UInt8] = []
        var i = 0
        while i < all.count {
            let end = min(all.count, i + 65535)
            out += record(type: 4, Array(all[i..<end]))
            i = end
        }
        return out + record(type: 4, [])
    }

    static func stdin(_ body: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        var i = 0
        while i < body.count {
            let end = min(body.count, i + 65535)
            out += record(type: 5, Array(body[i..<end]))
            i = end
        }
        return out + record(type: 5, [])
    }

    static func request(method: String = "GET", uri: String, headers: [(String, String)] = [],
                        body: [UInt8] = [], extra: [(String, String)] = []) -> [UInt8] {
        var pairs: [(String, String)] = [("REQUEST_METHOD", method), ("REQUEST_URI", uri),
                                         ("DOCUMENT_URI", String(uri.split(separator: "?", maxSplits: 1).first ?? "")),
                                         ("REMOTE_ADDR", "127.0.0.1"), ("CONTENT_LENGTH", body.isEmpty ? "" : String(body.count))]
        pairs += headers.map { ("HTTP_" + $0.0.uppercased().replacingOccurrences(of: "-", with: "_"), $0.1) }
        pairs += extra
        return beginRequest() + params(pairs) + stdin(body)
    }

    /// The STDOUT stream of a response as text ("Status: ...\r\n...\r\n\r\nbody").
    static func stdout(of bytes: [UInt8]) -> String {
        var out: [UInt8] = []
        var i = 0
        while i + 8 <= bytes.count {
            let type = bytes[i + 1]
            let length = Int(bytes[i + 4]) << 8 | Int(bytes[i + 5])
            let padding = Int(bytes[i + 6])
            let start = i + 8
            guard start + length <= bytes.count else { break }
            if type == 6 { out += bytes[start..<start + length] }
            i = start + length + padding
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Sends one request on a fresh connection and returns the status of the answer (0: none).
    static func exchange(_ path: String, _ request: [UInt8], timeout: Double = 5) throws -> (status: Int, text: String) {
        let socket = try UnixSocket(path: path, receiveTimeout: timeout)
        try socket.send(request)
        let text = stdout(of: socket.receiveAll().bytes)
        guard text.hasPrefix("Status: "), let status = Int(text.dropFirst(8).prefix(3)) else { return (0, text) }
        return (status, text)
    }
}
