import AuthCore
import CEpoll
#if canImport(Glibc)
import Glibc
#endif

/// Unix-socket listening helpers shared by the companion and the demo upstream.
public enum UnixListener {
    /// Binds `path` (backlog 4096), refusing when a live process already serves it and removing a
    /// stale socket file left by a dead one. `mode` is applied before `listen`; `group` (a name)
    /// becomes the socket's group when set.
    public static func bind(path: String, mode: mode_t, group: String?) throws -> Int32 {
        var st = stat()
        if lstat(path, &st) == 0 {
            guard (st.st_mode & S_IFMT) == S_IFSOCK else {
                throw ListenerError("\(path) exists and is not a socket")
            }
            let probe = try syscall("socket") { socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0) }
            let rc = authgate_unix_connect(probe, path)
            let err = errno
            close(probe)
            if rc == 0 { throw ListenerError("\(path) is served by a running process") }
            guard err == ECONNREFUSED || err == ENOENT else {
                throw ListenerError(SocketAdvice.probeFailed(path, errno: err))
            }
            unlink(path)
        }
        let fd = try syscall("socket") {
            socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        }
        do {
            try syscall("bind \(path)") { authgate_unix_bind(fd, path) }
            if let group, !SocketAdvice.hasGroup(path, group) {
                var gid: UInt32 = 0
                guard authgate_group_id(group, &gid) == 0 else { throw ListenerError("unknown group '\(group)'") }
                guard chown(path, uid_t.max, gid) == 0 else { throw ListenerError(SocketAdvice.chgrpFailed(path, group: group, errno: errno)) }
            }
            try syscall("chmod \(path)") { chmod(path, mode) }
            try syscall("listen") { listen(fd, 4096) }
        } catch {
            close(fd)
            throw error
        }
        return fd
    }

    /// Raises the soft open-files limit to the hard limit; returns the new limit (or -1).
    @discardableResult
    public static func raiseFileLimit() -> Int { authgate_raise_nofile() }
}

public struct ListenerError: Error, CustomStringConvertible {
    public var description: String
    init(_ d: String) { description = d }
}
