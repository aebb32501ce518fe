import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A listening socket handed to this process instead of bound by it.
///
/// - systemd's socket activation (`sd_listen_fds(3)`, no libsystemd): `LISTEN_PID` is this
///   process, `LISTEN_FDS` ≥ 1, the socket is fd 3 (only the first one is used). systemd owns the
///   socket file: the process never unlinks it.
/// - `AUTHGATE_LISTEN_FD=N` (no pid check): a launcher that holds the socket across restarts
///   (`authgate-fcgi --hold-socket`, tests) passes it as fd N. The launcher owns the file.
///
/// Either way the variables are removed from the environment (children must not inherit them)
/// and the fd must be a listening `AF_UNIX` stream socket, or the start is refused.
public struct InheritedSocket: Sendable {
    public let fd: Int32
    /// The socket's path as the kernel reports it (for logs); empty for an unnamed socket.
    public let path: String
    /// Who passed it: "systemd" or "launcher".
    public let source: String
    /// Further listening sockets systemd passed (fd 4 onwards, in the order of the unit's
    /// `ListenStream=` lines): the companion's metrics socket.
    public var extra: [Int32] = []

    public static func take() throws -> InheritedSocket? {
        let env = ProcessInfo.processInfo.environment
        defer {
            unsetenv("LISTEN_PID"); unsetenv("LISTEN_FDS"); unsetenv("LISTEN_FDNAMES"); unsetenv("AUTHGATE_LISTEN_FD")
        }
        var fd: Int32 = -1
        var source = ""
        var count = 1
        if let raw = env["AUTHGATE_LISTEN_FD"], !raw.isEmpty {
            guard let n = Int32(raw), n >= 3 else { throw ConfigError("AUTHGATE_LISTEN_FD must be a descriptor number ≥ 3, got '\(raw)'") }
            fd = n
            source = "launcher"
        } else if let pid = env["LISTEN_PID"], let fds = env["LISTEN_FDS"] {
            guard let p = Int32(pid), p == getpid() else { return nil }   // meant for another process
            guard let n = Int(fds), n >= 1 else { throw ConfigError("LISTEN_FDS must be ≥ 1, got '\(fds)'") }
            fd = 3
            source = "systemd"
            count = min(n, 16)
        } else {
            return nil
        }
        let path = try check(fd, source: source)
        _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
        var inherited = InheritedSocket(fd: fd, path: path, source: source)
        for more in 1..<max(1, count) {
            _ = try check(fd + Int32(more), source: source, unixOnly: false)
            _ = fcntl(fd + Int32(more), F_SETFD, FD_CLOEXEC)
            inherited.extra.append(fd + Int32(more))
        }
        return inherited
    }

    /// `fd` must be a listening AF_UNIX stream socket; returns its path. The further sockets
    /// may also be TCP (authgate.socket's `ListenStream=127.0.0.1:PORT` for Apache): path "".
    private static func check(_ fd: Int32, source: String, unixOnly: Bool = true) throws -> String {
        var type: Int32 = 0, listening: Int32 = 0
        var len = socklen_t(MemoryLayout<Int32>.size)
        guard getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) == 0 else {
            throw ConfigError("the inherited fd \(fd) (\(source)) is not a socket: \(String(cString: strerror(errno)))")
        }
        len = socklen_t(MemoryLayout<Int32>.size)
        getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &len)
        var addr = sockaddr_un()
        var alen = socklen_t(MemoryLayout<sockaddr_un>.size)
        let named = withUnsafeMutablePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &alen) }
        } == 0
        let inet = addr.sun_family == sa_family_t(AF_INET) || addr.sun_family == sa_family_t(AF_INET6)
        if !unixOnly, inet, type == Int32(SOCK_STREAM.rawValue), listening == 1 { return "" }
        guard type == Int32(SOCK_STREAM.rawValue), listening == 1, named, addr.sun_family == sa_family_t(AF_UNIX) else {
            throw ConfigError("the inherited fd \(fd) (\(source)) is not a listening Unix stream socket "
                              + "(authgate.socket must use ListenStream=/path)")
        }
        return withUnsafeBytes(of: &addr.sun_path) { raw in
            String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
        }
    }
}
