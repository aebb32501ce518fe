import Foundation
import TestSupport
#if canImport(Glibc)
import Glibc
#endif

/// A raw HTTP/1.0-style client over one TCP connection per request to a stack's test-only plain
/// listener (`Stack.Options.plainHTTP`): cheap enough for hundreds of concurrent clients (a curl
/// or TLS process per request would measure the test), and able to send bytes no well-behaved
/// client sends (bad framing, CR/LF, NUL, oversized heads). Every socket has a send/receive
/// deadline; nothing waits without one.
enum PlainHTTP {
    struct Reply {
        var status: Int
        var headers: [(String, String)]
        var body: [UInt8]
        var elapsed: Double
        func header(_ name: String) -> String? { headers.last { $0.0 == name.lowercased() }?.1 }
        var text: String { String(decoding: body, as: UTF8.self) }
        var json: [String: Any] { (try? JSONSerialization.jsonObject(with: Data(body))) as? [String: Any] ?? [:] }
        var errorCode: String? { (json["error"] as? [String: Any])?["code"] as? String }
        var data: [String: Any] { json["data"] as? [String: Any] ?? [:] }
    }

    struct Failure: Error, CustomStringConvertible { var description: String }

    static func connect(port: Int, timeout: Double) throws -> Int32 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw Failure(description: "socket: errno \(errno)") }
        var tv = timeval(tv_sec: Int(timeout), tv_usec: Int((timeout - Double(Int(timeout))) * 1e6))
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = in_port_t(UInt16(port).bigEndian)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        let rc = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard rc == 0 else {
            let e = errno
            close(fd)
            throw Failure(description: "connect 127.0.0.1:\(port): errno \(e)")
        }
        return fd
    }

    static func sendAll(_ fd: Int32, _ bytes: [UInt8]) throws {
        var sent = 0
        while sent < bytes.count {
            let n = bytes[sent...].withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { throw Failure(description: "send: errno \(errno)") }
            sent += n
        }
    }

    /// Reads until the server closes (the request asked for `Connection: close`), bounded.
    static func readAll(_ fd: Int32, limit: Int = 4 << 20) throws -> [UInt8] {
        var out: [UInt8] = []
        var buf = [UInt8](repeating: 0, count: 16384)
        while out.count < limit {
            let n = buf.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n < 0 && errno == EINTR { continue }
            if n < 0 { throw Failure(description: "recv: errno \(errno) after \(out.count) bytes") }
            if n == 0 { break }
            out += buf[0..<n]
            if isComplete(out) { break }
        }
        return out
    }

    /// A whole response with a Content-Length (or a 101, or a bodiless status) is complete
    /// without waiting for the close: nginx keeps an upgrade request's connection open.
    static func isComplete(_ b: [UInt8]) -> Bool {
        guard b.count >= 4, let end = (0...(b.count - 4)).first(where: { b[$0] == 13 && b[$0 + 1] == 10 && b[$0 + 2] == 13 && b[$0 + 3] == 10 }) else { return false }
        let head = String(decoding: b[0..<end], as: UTF8.self).lowercased()
        if head.hasPrefix("http/1.1 101") || head.hasPrefix("http/1.1 204") || head.hasPrefix("http/1.1 304") { return true }
        for line in head.split(separator: "\r\n") where line.hasPrefix("content-length:") {
            if let n = Int(line.dropFirst(15).trimmingCharacters(in: .whitespaces)) { return b.count - end - 4 >= n }
        }
        return false
    }

    static func parse(_ raw: [UInt8], elapsed: Double) throws -> Reply {
        let sep: [UInt8] = [13, 10, 13, 10]
        guard let end = (0..<max(0, raw.count - 3)).first(where: { Array(raw[$0..<$0 + 4]) == sep }) else {
            throw Failure(description: "no response head in \(raw.count) bytes: \(String(decoding: raw.prefix(200), as: UTF8.self))")
        }
        let head = String(decoding: raw[0..<end], as: UTF8.self).components(separatedBy: "\r\n")
        let statusParts = head[0].split(separator: " ")
        guard statusParts.count >= 2, let status = Int(statusParts[1]) else { throw Failure(description: "bad status line \(head[0])") }
        var headers: [(String, String)] = []
        for line in head.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers.append((line[..<colon].lowercased(), line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)))
        }
        var body = Array(raw[(end + 4)...])
        if headers.contains(where: { $0.0 == "transfer-encoding" && $0.1.lowercased().contains("chunked") }) { body = dechunk(body) }
        return Reply(status: status, headers: headers, body: body, elapsed: elapsed)
    }

    static func dechunk(_ b: [UInt8]) -> [UInt8] {
        var out: [UInt8] = [], i = 0
        while i < b.count {
            guard let lineEnd = (i..<b.count - 1).first(where: { b[$0] == 13 && b[$0 + 1] == 10 }),
                  let n = Int(String(decoding: b[i..<lineEnd], as: UTF8.self).split(separator: ";").first ?? "", radix: 16),
                  n > 0, lineEnd + 2 + n <= b.count else { break }
            out += b[(lineEnd + 2)..<(lineEnd + 2 + n)]
            i = lineEnd + 2 + n + 2
        }
        return out
    }

    /// Sends `raw` bytes as they are and reads the whole reply.
    static func raw(port: Int, _ bytes: [UInt8], timeout: Double = 15) throws -> Reply {
        let start = Deadline.now()
        let fd = try connect(port: port, timeout: timeout)
        defer { close(fd) }
        try sendAll(fd, bytes)
        let reply = try readAll(fd)
        return try parse(reply, elapsed: Double(Deadline.now() - start) / 1e9)
    }

    static func request(port: Int, _ method: String, _ target: String, headers: [(String, String)] = [],
                        body: [UInt8]? = nil, timeout: Double = 15) throws -> Reply {
        var head = "\(method) \(target) HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"
        for (k, v) in headers { head += "\(k): \(v)\r\n" }
        if let body { head += "Content-Length: \(body.count)\r\n" }
        head += "\r\n"
        return try raw(port: port, Array(head.utf8) + (body ?? []), timeout: timeout)
    }

    static func json(port: Int, _ path: String, _ object: [String: Any], bearer: String? = nil) throws -> Reply {
        var h = [("Content-Type", "application/json")]
        if let bearer { h.append(("Authorization", "Bearer \(bearer)")) }
        return try request(port: port, "POST", path, headers: h, body: [UInt8](try JSONSerialization.data(withJSONObject: object)))
    }
}

extension Stack {
    /// Open fds of a process (a missing measurement throws).
    static func openFDs(pid: pid_t) throws -> Int {
        let list = try FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd")
        return list.count
    }
}
