import AuthCore
import CEpoll
import Foundation
import Glibc

/// A startup failure with a message meant for the person starting the responder.
struct StartupError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// The responder's listening Unix socket. Bound here, not by `FCGX_OpenSocket`, which
/// `exit()`s on a bind failure and would also delete a live peer's socket file.
struct Listener: Sendable {
    let fd: Int32
    let path: String
    /// Identity of the socket file we created, so shutdown never unlinks a successor's.
    let device: UInt64
    let inode: UInt64

    static func bind(path: String, group: String?, backlog: Int32) throws(StartupError) -> Listener {
        guard !path.isEmpty, path.utf8.count < MemoryLayout.size(ofValue: sockaddr_un().sun_path) else {
            throw StartupError("AUTH_SOCKET '\(path)' is empty or longer than a Unix socket path may be (107 bytes)")
        }
        try clearStale(path)

        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw StartupError("socket(): \(errnoText())") }
        var addr = unixAddress(path)
        // Never visible with looser permissions than 0660, not even between bind and chmod.
        let oldMask = umask(0o117)
        let bound = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                Glibc.bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        let bindErrno = errno
        umask(oldMask)
        guard bound == 0 else {
            close(fd)
            throw StartupError("cannot bind \(path): \(String(cString: strerror(bindErrno)))")
        }
        do throws(StartupError) {
            guard chmod(path, 0o660) == 0 else { throw StartupError("chmod 0660 \(path): \(errnoText())") }
            if let group, !SocketAdvice.hasGroup(path, group) {
                guard let entry = getgrnam(group) else {
                    throw StartupError("AUTH_SOCKET_GROUP '\(group)' is not a known group")
                }
                guard chown(path, uid_t.max, entry.pointee.gr_gid) == 0 else {
                    throw StartupError(SocketAdvice.chgrpFailed(path, group: group, errno: errno))
                }
            }
            guard listen(fd, backlog) == 0 else { throw StartupError("listen(\(path)): \(errnoText())") }
            var st = stat()
            guard stat(path, &st) == 0 else { throw StartupError("stat \(path): \(errnoText())") }
            return Listener(fd: fd, path: path, device: UInt64(st.st_dev), inode: UInt64(st.st_ino))
        } catch {
            close(fd)
            unlink(path)
            throw error
        }
    }

    /// Removes the socket file if it is still the one this process created.
    func removeFile() {
        var st = stat()
        if stat(path, &st) == 0, UInt64(st.st_dev) == device, UInt64(st.st_ino) == inode {
            unlink(path)
        }
    }

    /// Refuses to start when a live process answers on `path`; removes a stale socket file.
    private static func clearStale(_ path: String) throws(StartupError) {
        var st = stat()
        guard lstat(path, &st) == 0 else {
            if errno == ENOENT { return }
            throw StartupError("cannot inspect \(path): \(errnoText())")
        }
        guard (st.st_mode & S_IFMT) == S_IFSOCK else {
            throw StartupError("\(path) exists and is not a socket; refusing to replace it")
        }
        let probe = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard probe >= 0 else { throw StartupError("socket(): \(errnoText())") }
        defer { close(probe) }
        var addr = unixAddress(path)
        let rc = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(probe, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        if rc == 0 || errno == EAGAIN {
            throw StartupError("another process is already serving \(path); refusing to start "
                + "(stop it first, or set AUTH_SOCKET to another path)")
        }
        guard errno == ECONNREFUSED else {
            throw StartupError(SocketAdvice.probeFailed(path, errno: errno))
        }
        guard unlink(path) == 0 || errno == ENOENT else {
            throw StartupError("cannot remove stale socket \(path): \(errnoText())")
        }
    }

    private static func unixAddress(_ path: String) -> sockaddr_un {
        var addr = sockaddr_un()
        addr.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        withUnsafeMutableBytes(of: &addr.sun_path) { raw in
            raw.copyBytes(from: bytes)
            raw[bytes.count] = 0
        }
        return addr
    }
}

func errnoText() -> String { String(cString: strerror(errno)) }

extension Listener {
    /// A socket passed by systemd or a launcher. Its file belongs to whoever bound it, so
    /// `removeFile()` never unlinks it (device/inode 0 match no file).
    static func adopt(_ inherited: InheritedSocket) -> Listener {
        Listener(fd: inherited.fd, path: inherited.path, device: 0, inode: 0)
    }
}
