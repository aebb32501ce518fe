import Foundation
import TestSupport
#if canImport(Glibc)
import Glibc
#endif

/// One answer of the HTTP verify door: status line and headers (the door never sends a body).
struct DoorAnswer {
    var status: Int
    var headers: [(String, String)]

    func header(_ name: String) -> String? { headers.first { $0.0.lowercased() == name.lowercased() }?.1 }
}

/// A client of the HTTP verify door on its Unix socket, as nginx's keep-alive upstream is:
/// requests written as given (so tests can pipeline, send bodies, break the rules), answers read
/// one head at a time from the same connection.
final class DoorClient {
    let socket: UnixSocket
    private var buffer: [UInt8] = []

    init(_ path: String, receiveTimeout: Double = 10) throws {
        socket = try UnixSocket(path: path, receiveTimeout: receiveTimeout)
    }

    /// A verify request as nginx's authgate-verify-http-location.conf sends it.
    static func request(uri: String = "/demo/gated", method: String = "GET", token: String? = nil,
                        allow: String? = "user", roles: String? = nil, extra: [(String, String)] = [],
                        target: String = "/verify", requestMethod: String = "GET", forwarded: Bool = false) -> [UInt8] {
        var lines = ["\(requestMethod) \(target) HTTP/1.1", "Host: localhost"]
        if forwarded {
            lines += ["X-Forwarded-Uri: \(uri)", "X-Forwarded-Method: \(method)", "X-Forwarded-Host: localhost"]
        } else {
            lines += ["X-Original-URI: \(uri)", "X-Original-Method: \(method)"]
        }
        if let allow { lines.append("X-Authgate-Allow: \(allow)") }
        if let roles { lines.append("X-Authgate-Roles: \(roles)") }
        if let token { lines.append("Authorization: Bearer \(token)") }
        for (k, v) in extra { lines.append("\(k): \(v)") }
        return Array((lines.joined(separator: "\r\n") + "\r\n\r\n").utf8)
    }

    func send(_ bytes: [UInt8]) throws { try socket.send(bytes) }

    /// The next answer's head; nil when the door closed the connection first (or the receive
    /// timeout passed: `closed` then tells them apart).
    func answer() throws -> DoorAnswer? {
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            if let end = Self.headEnd(buffer) {
                let text = String(decoding: buffer[0..<end], as: UTF8.self)
                buffer.removeFirst(end + 4)
                let lines = text.components(separatedBy: "\r\n")
                let parts = lines[0].split(separator: " ")
                guard parts.count >= 2, parts[0] == "HTTP/1.1", let status = Int(parts[1]) else {
                    throw StackError("not an HTTP/1.1 status line: \(lines[0])")
                }
                let headers = lines.dropFirst().compactMap { line -> (String, String)? in
                    guard let colon = line.firstIndex(of: ":") else { return nil }
                    return (String(line[..<colon]), line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces))
                }
                return DoorAnswer(status: status, headers: headers)
            }
            let n = chunk.withUnsafeMutableBytes { recv(socket.fd, $0.baseAddress, $0.count, 0) }
            if n > 0 { buffer.append(contentsOf: chunk[0..<n]); continue }
            if n < 0 && errno == EINTR { continue }
            return nil
        }
    }

    /// True when the door closed the connection (EOF) and sent nothing more, within `timeout`.
    func closedByDoor(timeout: Double) -> Bool {
        buffer.isEmpty && SlowClients.closedByServer(socket.fd, timeout: timeout)
    }

    /// Sends one request and reads its answer.
    func ask(_ request: [UInt8]) throws -> DoorAnswer {
        try send(request)
        guard let a = try answer() else { throw StackError("the door closed the connection without an answer") }
        return a
    }

    private static func headEnd(_ b: [UInt8]) -> Int? {
        guard b.count >= 4 else { return nil }
        for i in 0...(b.count - 4) where b[i] == 13 && b[i + 1] == 10 && b[i + 2] == 13 && b[i + 3] == 10 { return i }
        return nil
    }
}
