import AuthCrypto
import Foundation
import TestSupport
#if canImport(Glibc)
import Glibc
#endif

/// A minimal blocking WebSocket client over a Unix socket (no library, no mock): what a browser
/// behind nginx does, byte for byte.
final class WSTestClient {
    struct Frame: Equatable {
        var fin: Bool
        var opcode: UInt8
        var payload: [UInt8]
        var closeCode: UInt16? { opcode == 8 && payload.count >= 2 ? UInt16(payload[0]) << 8 | UInt16(payload[1]) : nil }
    }

    struct HTTPReply {
        var status: Int
        var headers: [String: String]
        var body: [UInt8]
        var json: [String: Any] { (try? JSONSerialization.jsonObject(with: Data(body))) as? [String: Any] ?? [:] }
        var errorCode: String? { (json["error"] as? [String: Any])?["code"] as? String }
    }

    let fd: Int32
    private var inbox: [UInt8] = []

    /// Connected before the descriptor is stored (see UnixSocket.init: a throwing init of a fully
    /// initialized class runs deinit, which would close the descriptor a second time).
    convenience init(socketPath: String, timeoutSeconds: Int = 5) throws {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw WSTestError("socket: errno \(errno)") }
        var addr = sockaddr_un()
        addr.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &addr.sun_path) { raw in
            let bytes = Array(socketPath.utf8)
            for (i, b) in bytes.enumerated() { raw[i] = b }
        }
        let rc = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard rc == 0 else {
            let e = errno
            close(fd)   // not stored yet (convenience init): no deinit, closed exactly once
            throw WSTestError("connect \(socketPath): errno \(e)")
        }
        self.init(fd: fd, timeoutSeconds: timeoutSeconds)
    }

    /// Plain TCP to 127.0.0.1:port (a test stack's non-TLS listener).
    convenience init(tcpPort: Int, timeoutSeconds: Int = 10) throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw WSTestError("socket: errno \(errno)") }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = in_port_t(UInt16(tcpPort).bigEndian)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        let rc = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard rc == 0 else {
            let e = errno
            close(fd)
            throw WSTestError("connect 127.0.0.1:\(tcpPort): errno \(e)")
        }
        self.init(fd: fd, timeoutSeconds: timeoutSeconds)
    }

    /// Wraps an already connected stream socket.
    init(fd: Int32, timeoutSeconds: Int = 5) {
        self.fd = fd
        var tv = timeval(tv_sec: timeoutSeconds, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
    }

    /// TLS to nginx the way a browser does it, through `openssl s_client` on a socketpair
    /// (verifying the stack's certificate); the process ends when either side closes.
    /// The caller stops the returned child (`defer { proc.stop(grace: 1) }`): it is reaped there.
    static func tls(port: Int, caFile: String, timeoutSeconds: Int = 5) throws -> (WSTestClient, Child) {
        var fds: [Int32] = [0, 0]
        guard socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0, &fds) == 0 else {
            throw WSTestError("socketpair")
        }
        let p: Child
        do {
            p = try Child.spawn("/usr/bin/openssl",
                                ["s_client", "-quiet", "-verify_return_error", "-connect", "127.0.0.1:\(port)",
                                 "-servername", "localhost", "-CAfile", caFile, "-alpn", "http/1.1"],
                                descriptors: [0: fds[1], 1: fds[1]])
        } catch {
            close(fds[0]); close(fds[1])
            throw error
        }
        close(fds[1])
        return (WSTestClient(fd: fds[0], timeoutSeconds: timeoutSeconds), p)
    }

    deinit { close(fd) }

    static let key = "dGhlIHNhbXBsZSBub25jZQ=="

    /// Sends an upgrade for `target`; returns the response (body read to EOF unless 101).
    func upgrade(_ target: String, extraHeaders: [String] = [], raw: String? = nil) throws -> HTTPReply {
        var req = "GET \(target) HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        req += "Sec-WebSocket-Key: \(Self.key)\r\nSec-WebSocket-Version: 13\r\n"
        for h in extraHeaders { req += h + "\r\n" }
        req += "\r\n"
        try sendAll(Array((raw ?? req).utf8))
        while true {
            if let end = findHeadEnd() {
                let head = String(decoding: inbox[0..<end], as: UTF8.self)
                inbox.removeFirst(end + 4)
                var lines = head.components(separatedBy: "\r\n")
                let status = Int(lines.removeFirst().split(separator: " ")[1]) ?? 0
                var headers: [String: String] = [:]
                for l in lines {
                    guard let c = l.firstIndex(of: ":") else { continue }
                    headers[l[..<c].lowercased()] = l[l.index(after: c)...].trimmingCharacters(in: .whitespaces)
                }
                var body: [UInt8] = []
                if status != 101 {
                    let length = Int(headers["content-length"] ?? "") ?? 0
                    while inbox.count < length, try fill() {}
                    body = Array(inbox.prefix(length))
                }
                return HTTPReply(status: status, headers: headers, body: body)
            }
            guard try fill() else { throw WSTestError("connection closed before a response") }
        }
    }

    private func findHeadEnd() -> Int? {
        guard inbox.count >= 4 else { return nil }
        for i in 0...(inbox.count - 4) where inbox[i] == 13 && inbox[i + 1] == 10 && inbox[i + 2] == 13 && inbox[i + 3] == 10 {
            return i
        }
        return nil
    }

    /// Reads more bytes into the inbox; false on EOF.
    @discardableResult
    private func fill() throws -> Bool {
        var buf = [UInt8](repeating: 0, count: 65536)
        let n = buf.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        if n < 0 { throw WSTestError("read: errno \(errno)") }
        if n == 0 { return false }
        inbox.append(contentsOf: buf[0..<n])
        return true
    }

    func sendAll(_ bytes: [UInt8]) throws {
        var off = 0
        while off < bytes.count {
            let n = bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress! + off, $0.count - off, Int32(MSG_NOSIGNAL)) }
            if n <= 0 { throw WSTestError("send: errno \(errno)") }
            off += n
        }
    }

    /// Sends one masked frame.
    func send(opcode: UInt8, _ payload: [UInt8], fin: Bool = true) throws {
        var out: [UInt8] = [(fin ? 0x80 : 0) | opcode]
        if payload.count < 126 {
            out.append(0x80 | UInt8(payload.count))
        } else if payload.count <= 0xFFFF {
            out += [0x80 | 126, UInt8(payload.count >> 8), UInt8(payload.count & 0xFF)]
        } else {
            out.append(0x80 | 127)
            for s in stride(from: 56, through: 0, by: -8) { out.append(UInt8((payload.count >> s) & 0xFF)) }
        }
        let mask = Crypto.randomBytes(4)
        out += mask
        for (i, b) in payload.enumerated() { out.append(b ^ mask[i & 3]) }
        try sendAll(out)
    }

    func sendText(_ s: String) throws { try send(opcode: 1, Array(s.utf8)) }

    /// Reads one frame (server frames are unmasked); nil on EOF.
    func receive() throws -> Frame? {
        while true {
            if inbox.count >= 2 {
                var len = Int(inbox[1] & 0x7F)
                var at = 2
                if len == 126, inbox.count >= 4 {
                    len = Int(inbox[2]) << 8 | Int(inbox[3])
                    at = 4
                } else if len == 127, inbox.count >= 10 {
                    len = 0
                    for i in 2..<10 { len = len << 8 | Int(inbox[i]) }
                    at = 10
                } else if len >= 126 {
                    at = Int.max
                }
                if at != Int.max && inbox.count >= at + len {
                    let f = Frame(fin: inbox[0] & 0x80 != 0, opcode: inbox[0] & 0x0F, payload: Array(inbox[at..<(at + len)]))
                    inbox.removeFirst(at + len)
                    return f
                }
            }
            guard try fill() else { return nil }
        }
    }

    /// Skips data frames until a close frame (or EOF, nil).
    func awaitClose() throws -> Frame? {
        while let f = try receive() {
            if f.opcode == 8 { return f }
        }
        return nil
    }
}

struct WSTestError: Error, CustomStringConvertible {
    var description: String
    init(_ d: String) { description = d }
}

/// O_NONBLOCK without variadic fcntl in Swift: via ioctl FIONBIO.
func authgateTestSetNonblocking(_ fd: Int32) -> Int32 {
    var on: Int32 = 1
    return ioctl(fd, UInt(FIONBIO), &on)
}
