import AuthCore
import CEpoll
#if canImport(Glibc)
import Glibc
#endif

/// The companion's metrics (Prometheus text 0.0.4) on `AUTH_WS_METRICS_SOCKET`: every request
/// there gets them (`curl --unix-socket /run/authgate-ws/metrics.sock http://x/metrics`).
/// Counted on the loop's own thread, so plain integers.
extension Companion {
    func countClose(_ code: String) {
        let digits = code.prefix { $0.isNumber }
        let label = digits.count == 4 ? String(digits) : "abnormal"
        closesByCode[label, default: 0] += 1
    }

    func metricsText() -> String {
        var out = "# HELP authgate_build_info Build information.\n# TYPE authgate_build_info gauge\n"
        out += "authgate_build_info{version=\"\(App.version)\",process=\"authgate-ws\"} 1\n"
        out += "# HELP authgate_ws_connections_open Relayed WebSocket connections open now.\n# TYPE authgate_ws_connections_open gauge\n"
        out += "authgate_ws_connections_open \(connections.values.filter { $0.opened && $0.alive }.count)\n"
        out += "# HELP authgate_ws_closes_total Relayed WebSocket connections closed, by close code.\n# TYPE authgate_ws_closes_total counter\n"
        for code in Set(["1000", "1001", "4001", "4003"]).union(closesByCode.keys).sorted() {
            out += "authgate_ws_closes_total{code=\"\(code)\"} \(closesByCode[code] ?? 0)\n"
        }
        let vs = auth.verifyState.health
        out += "# HELP authgate_verify_state_revoked_sessions Revoked sessions the verify state holds (bounded by token lifetime).\n"
        out += "# TYPE authgate_verify_state_revoked_sessions gauge\nauthgate_verify_state_revoked_sessions \(vs.revokedSessions)\n"
        return out
    }

    /// Accepts one scrape, reads its request head (at most 100 ms), answers, closes.
    func serveMetrics() {
        let fd = authgate_accept_nonblocking(metricsFD)
        guard fd >= 0 else { return }
        defer { close(fd) }
        _ = authgate_set_blocking(fd)
        var tv = timeval(tv_sec: 0, tv_usec: 100_000)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        var head: [UInt8] = []
        var buf = [UInt8](repeating: 0, count: 2048)
        while head.count < 8192 {
            let n = buf.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n <= 0 { break }
            head += buf[0..<n]
            if head.count >= 4 && head.suffix(4) == [13, 10, 13, 10] { break }
        }
        let body = Array(metricsText().utf8)
        let reply = Array("HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4\r\nContent-Length: \(body.count)\r\nConnection: close\r\n\r\n".utf8) + body
        _ = reply.withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, authgate_msg_nosignal()) }
    }
}
