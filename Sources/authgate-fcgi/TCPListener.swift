import CEpoll
import Foundation
import Glibc

/// The optional loopback TCP listener (`AUTH_LISTEN_TCP=127.0.0.1:PORT`, off by default) for
/// web servers that reach FastCGI only over TCP (Apache's `mod_authnz_fcgi`). Loopback only:
/// any other address is refused at start. Any local user can connect to a loopback port, so a
/// direct client can ask the verify question (about its own credential) and use the API without
/// the web server's limits. Whoever LISTENS on the port is Apache's authorizer, so the port must
/// never be free while Apache runs: it is held across restarts like the Unix socket (systemd's
/// authgate.socket `ListenStream=127.0.0.1:PORT`, or `--hold-socket`), and the responder takes
/// the inherited socket instead of binding (README "Behind Apache httpd").
struct TCPListener: Sendable {
    let fd: Int32
    let address: String
    /// Worker threads on this listener (`AUTH_TCP_THREADS`, default max(4, AUTH_THREADS / 4)).
    let threads: Int
    /// Passed by systemd or --hold-socket (shared: never closed or shut down at stop).
    var inherited = false

    /// `inherited`: a listening TCP socket passed by systemd (the socket unit's second
    /// `ListenStream=`) or by --hold-socket (`AUTHGATE_LISTEN_TCP_FD`). It wins over binding
    /// AUTH_LISTEN_TCP (which then only has to agree with it).
    static func fromEnvironment(threads unixThreads: Int, inherited: Int32?) throws(StartupError) -> TCPListener? {
        let env = ProcessInfo.processInfo.environment
        let spec = env["AUTH_LISTEN_TCP"] ?? ""
        guard !spec.isEmpty || inherited != nil else { return nil }
        var threads = max(4, unixThreads / 4)
        if let raw = env["AUTH_TCP_THREADS"], !raw.isEmpty {
            guard let n = Int(raw), n >= 1, n <= 1024 else {
                throw StartupError("AUTH_TCP_THREADS must be 1...1024, got '\(raw)'")
            }
            threads = n
        }
        if let inherited { return try adopt(inherited, threads: threads) }
        return try bind(spec, threads: threads)
    }

    /// The fd passed by --hold-socket (`AUTHGATE_LISTEN_TCP_FD`, removed from the environment)
    /// or the first TCP socket among systemd's further ones.
    static func inheritedFD(systemdExtra: [Int32]) throws(StartupError) -> Int32? {
        defer { unsetenv("AUTHGATE_LISTEN_TCP_FD") }
        if let raw = ProcessInfo.processInfo.environment["AUTHGATE_LISTEN_TCP_FD"], !raw.isEmpty {
            guard let fd = Int32(raw), fd >= 3 else { throw StartupError("AUTHGATE_LISTEN_TCP_FD must be a descriptor ≥ 3, got '\(raw)'") }
            return fd
        }
        return systemdExtra.first { family($0) == AF_INET || family($0) == AF_INET6 }
    }

    private static func family(_ fd: Int32) -> Int32 {
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let rc = withUnsafeMutablePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        return rc == 0 ? Int32(storage.ss_family) : -1
    }

    /// An inherited socket: must be a listening TCP socket on a loopback address.
    static func adopt(_ fd: Int32, threads: Int) throws(StartupError) -> TCPListener {
        _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let named = withUnsafeMutablePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        } == 0
        var listening: Int32 = 0
        var size = socklen_t(MemoryLayout<Int32>.size)
        getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &size)
        var text = [CChar](repeating: 0, count: 64)
        var address = ""
        var loopback = false
        if named && Int32(storage.ss_family) == AF_INET {
            var sin = withUnsafeBytes(of: storage) { $0.load(as: sockaddr_in.self) }
            inet_ntop(AF_INET, &sin.sin_addr, &text, 64)
            address = "\(String(cString: text)):\(UInt16(bigEndian: sin.sin_port))"
            loopback = (UInt32(bigEndian: sin.sin_addr.s_addr) >> 24) == 127
        } else if named && Int32(storage.ss_family) == AF_INET6 {
            var sin6 = withUnsafeBytes(of: storage) { $0.load(as: sockaddr_in6.self) }
            inet_ntop(AF_INET6, &sin6.sin6_addr, &text, 64)
            address = "[\(String(cString: text))]:\(UInt16(bigEndian: sin6.sin6_port))"
            loopback = String(cString: text) == "::1"
        }
        guard !address.isEmpty, listening == 1 else {
            throw StartupError("the inherited TCP fd \(fd) is not a listening TCP socket")
        }
        guard loopback else {
            throw StartupError("the inherited TCP socket \(address) is not on a loopback address; the responder listens on TCP only on 127.0.0.0/8 or ::1")
        }
        let spec = ProcessInfo.processInfo.environment["AUTH_LISTEN_TCP"] ?? ""
        if !spec.isEmpty && spec != address {
            throw StartupError("AUTH_LISTEN_TCP=\(spec) but the inherited TCP socket is \(address); make them agree (authgate.socket's ListenStream=)")
        }
        return TCPListener(fd: fd, address: address, threads: threads, inherited: true)
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
