import CFastCGI
import Foundation
import Glibc

/// The optional loopback TCP listener (`AUTH_LISTEN_TCP=127.0.0.1:PORT`, off by default) for
/// web servers that reach FastCGI only over TCP (Apache's `mod_authnz_fcgi`). Loopback only:
/// any other address is refused at start. Any local user can connect to a loopback port, so a
/// direct client can ask the verify question (about its own credential) and use the API without
/// the web server's limits; it can never hand an identity to an app, because apps take identity
/// only from the web server's variables (README "Behind Apache httpd").
struct TCPListener: Sendable {
    let fd: Int32
    let address: String
    /// Worker threads on this listener (`AUTH_TCP_THREADS`, default max(4, AUTH_THREADS / 4)).
    let threads: Int

    static func fromEnvironment(threads unixThreads: Int) throws(StartupError) -> TCPListener? {
        let env = ProcessInfo.processInfo.environment
        guard let spec = env["AUTH_LISTEN_TCP"], !spec.isEmpty else { return nil }
        var threads = max(4, unixThreads / 4)
        if let raw = env["AUTH_TCP_THREADS"], !raw.isEmpty {
            guard let n = Int(raw), n >= 1, n <= 1024 else {
                throw StartupError("AUTH_TCP_THREADS must be 1...1024, got '\(raw)'")
            }
            threads = n
        }
        return try bind(spec, threads: threads)
    }

    static func bind(_ spec: String, threads: Int) throws(StartupError) -> TCPListener {
        guard let colon = spec.lastIndex(of: ":"), let port = UInt16(spec[spec.index(after: colon)...]), port != 0 else {
            throw StartupError("AUTH_LISTEN_TCP must be 127.0.0.1:PORT or [::1]:PORT, got '\(spec)'")
        }
        var host = String(spec[..<colon])
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        var v4 = in_addr()
        var v6 = in6_addr()
        let isV4 = inet_pton(AF_INET, host, &v4) == 1
        let isV6 = !isV4 && inet_pton(AF_INET6, host, &v6) == 1
        guard isV4 || isV6 else { throw StartupError("AUTH_LISTEN_TCP: '\(host)' is not an IP address") }
        let loopback = isV4 ? (UInt32(bigEndian: v4.s_addr) >> 24) == 127 : host == "::1"
        guard loopback else {
            throw StartupError("AUTH_LISTEN_TCP: \(host) is not a loopback address; the responder listens on TCP only on 127.0.0.0/8 or ::1")
        }
        let fd = socket(isV4 ? AF_INET : AF_INET6, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw StartupError("socket(): \(errnoText())") }
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
        let rc: Int32
        if isV4 {
            var addr = sockaddr_in()
            addr.sin_family = sa_family_t(AF_INET)
            addr.sin_port = port.bigEndian
            addr.sin_addr = v4
            rc = withUnsafePointer(to: &addr) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
        } else {
            var addr = sockaddr_in6()
            addr.sin6_family = sa_family_t(AF_INET6)
            addr.sin6_port = port.bigEndian
            addr.sin6_addr = v6
            rc = withUnsafePointer(to: &addr) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in6>.size)) }
            }
        }
        guard rc == 0 else {
            let text = errnoText()
            close(fd)
            throw StartupError("cannot bind AUTH_LISTEN_TCP \(spec): \(text)")
        }
        guard listen(fd, 1024) == 0 else {
            let text = errnoText()
            close(fd)
            throw StartupError("listen(\(spec)): \(text)")
        }
        return TCPListener(fd: fd, address: spec, threads: threads)
    }
}
