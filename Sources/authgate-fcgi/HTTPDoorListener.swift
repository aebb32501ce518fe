import Foundation
import Glibc

/// The HTTP verify door's listening Unix socket (AUTH_VERIFY_HTTP_SOCKET): bound here (mode 0660,
/// AUTH_SOCKET_GROUP, like AUTH_SOCKET), or inherited, so a restart loses no verify:
/// - from `--hold-socket` as `AUTHGATE_LISTEN_HTTP_FD` (SocketHolder);
/// - from systemd: the further `ListenStream=` of authgate.socket whose path is
///   AUTH_VERIFY_HTTP_SOCKET (a Unix socket passed there with another path is refused).
enum HTTPDoorListener {
    struct Opened {
        let listener: Listener
        /// Held by systemd or the holder: never closed nor unlinked at stop.
        let shared: Bool
    }

    static func open(_ config: HTTPDoorConfig, group: String?, systemdExtra: [Int32]) throws(StartupError) -> Opened? {
        defer { unsetenv("AUTHGATE_LISTEN_HTTP_FD") }
        if let raw = ProcessInfo.processInfo.environment["AUTHGATE_LISTEN_HTTP_FD"], !raw.isEmpty {
            guard let fd = Int32(raw), fd >= 3, let path = unixPath(fd) else {
                throw StartupError("AUTHGATE_LISTEN_HTTP_FD must be a listening Unix socket descriptor ≥ 3, got '\(raw)'")
            }
            _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
            return Opened(listener: Listener(fd: fd, path: path, device: 0, inode: 0), shared: true)
        }
        for fd in systemdExtra {
            guard let path = unixPath(fd) else { continue }
            guard !config.socketPath.isEmpty, path == config.socketPath else {
                throw StartupError("systemd passed a further Unix socket \(path); set AUTH_VERIFY_HTTP_SOCKET=\(path) to serve the HTTP verify door on it")
            }
            return Opened(listener: Listener(fd: fd, path: path, device: 0, inode: 0), shared: true)
        }
        guard !config.socketPath.isEmpty else { return nil }
        return Opened(listener: try bind(config, group: group), shared: false)
    }

    static func bind(_ config: HTTPDoorConfig, group: String?) throws(StartupError) -> Listener {
        do { return try Listener.bind(path: config.socketPath, group: group, backlog: 1024) } catch {
            throw StartupError("AUTH_VERIFY_HTTP_SOCKET: \(error.description)")
        }
    }

    /// The path of a listening AF_UNIX stream socket, nil for anything else.
    static func unixPath(_ fd: Int32) -> String? {
        var listening: Int32 = 0
        var len = socklen_t(MemoryLayout<Int32>.size)
        guard getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &len) == 0, listening == 1 else { return nil }
        var addr = sockaddr_un()
        var alen = socklen_t(MemoryLayout<sockaddr_un>.size)
        let named = withUnsafeMutablePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &alen) }
        } == 0
        guard named, addr.sun_family == sa_family_t(AF_UNIX) else { return nil }
        return withUnsafeBytes(of: &addr.sun_path) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
    }
}
