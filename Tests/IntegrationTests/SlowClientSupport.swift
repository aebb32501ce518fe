import Foundation
import TestSupport
#if canImport(Glibc)
import Glibc
#endif

/// Helpers for the slow- and idle-client suites (issue 19 item 2): held connections, timings.
enum SlowClients {
    /// `count` connections to the Unix socket that send `first` (maybe nothing) and then hold.
    static func holdUnix(_ path: String, count: Int, first: [UInt8], receiveTimeout: Double = 60) throws -> [UnixSocket] {
        try (0..<count).map { _ in
            let s = try UnixSocket(path: path, receiveTimeout: receiveTimeout)
            if !first.isEmpty { try s.send(first) }
            return s
        }
    }

    /// `count` TCP connections to 127.0.0.1:`port` that send `first` (maybe nothing) and hold.
    static func holdTCP(port: Int, count: Int, first: [UInt8]) throws -> [HeldTCP] {
        try (0..<count).map { _ in
            let held = HeldTCP(fd: try PlainHTTP.connect(port: port, timeout: 60))
            if !first.isEmpty { try PlainHTTP.sendAll(held.fd, first) }
            return held
        }
    }

    /// True when the server has closed this connection (EOF or reset) within `timeout`.
    static func closedByServer(_ fd: Int32, timeout: Double) -> Bool {
        var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        guard poll(&pfd, 1, Int32(timeout * 1000)) == 1 else { return false }
        var byte: UInt8 = 0
        return recv(fd, &byte, 1, Int32(MSG_DONTWAIT)) <= 0
    }

    /// Runs `body` `count` times; returns each run's seconds.
    static func timed(_ count: Int, _ body: (Int) throws -> Void) rethrows -> [Double] {
        try (0..<count).map { i in
            let start = Date()
            try body(i)
            return Date().timeIntervalSince(start)
        }
    }

    static func percentile(_ values: [Double], _ p: Double) -> Double {
        let sorted = values.sorted()
        guard !sorted.isEmpty else { return 0 }
        return sorted[min(sorted.count - 1, Int((Double(sorted.count) * p).rounded(.up)) - 1)]
    }

    static func summary(_ values: [Double]) -> String {
        String(format: "p50 %.0f ms, p99 %.0f ms, max %.0f ms (n=%d)", percentile(values, 0.5) * 1000,
               percentile(values, 0.99) * 1000, (values.max() ?? 0) * 1000, values.count)
    }

    /// One value of the responder's metrics (scraped on its own socket), e.g.
    /// `authgate_connections_dropped_total{reason="deadline"}`.
    static func metric(_ socketPath: String, _ line: String) throws -> Int? {
        let text = try FastCGIWire.exchange(socketPath, FastCGIWire.request(uri: "/api/v1/metrics")).text
        for l in text.split(whereSeparator: \.isNewline) where l.hasPrefix(line + " ") {
            return Int(l.dropFirst(line.count + 1))
        }
        return nil
    }

    /// A FastCGI Authorizer request (role 2, what Apache's mod_authnz_fcgi sends: no STDIN).
    static func authorizerRequest(uri: String, authorization: String?, extra: [(String, String)] = []) -> [UInt8] {
        var pairs: [(String, String)] = [("REQUEST_METHOD", "GET"), ("REQUEST_URI", uri), ("REMOTE_ADDR", "127.0.0.1")]
        if let authorization { pairs.append(("HTTP_AUTHORIZATION", authorization)) }
        pairs += extra
        return FastCGIWire.record(type: 1, [0, 2, 0, 0, 0, 0, 0, 0]) + FastCGIWire.params(pairs)
    }
}

/// A client TCP connection held open by a test; closed when released.
final class HeldTCP {
    let fd: Int32
    init(fd: Int32) { self.fd = fd }
    deinit { close(fd) }
}
