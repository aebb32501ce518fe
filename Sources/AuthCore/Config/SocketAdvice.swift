import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// What to tell a sysadmin when a socket cannot be set up, shared by the responder and the companion.
public enum SocketAdvice {
    /// True when the socket at `path` already has `group` (e.g. made in a setgid directory of that group).
    public static func hasGroup(_ path: String, _ group: String) -> Bool {
        var st = stat()
        guard stat(path, &st) == 0, let entry = getgrnam(group) else { return false }
        return st.st_gid == entry.pointee.gr_gid
    }

    /// chgrp of a fresh socket failed (EPERM as a non-root user outside that group).
    public static func chgrpFailed(_ path: String, group: String, errno err: Int32) -> String {
        let dir = (path as NSString).deletingLastPathComponent
        return "cannot give the socket \(path) the group \(group): \(String(cString: strerror(err))) "
            + "(running as uid \(geteuid()), which is not root and not in group \(group)). Either run under systemd "
            + "with the socket units (authgate.socket sets SocketGroup=\(group)), or unset AUTH_SOCKET_GROUP and "
            + "create the socket directory with that group and the setgid bit, so new sockets inherit it: "
            + "install -d -o $(id -un) -g \(group) -m 2750 \(dir)"
    }

    /// The existing socket file could not even be probed (EACCES: another user's, typically root's).
    public static func probeFailed(_ path: String, errno err: Int32) -> String {
        var st = stat()
        var owner = ""
        if lstat(path, &st) == 0 {
            let name = getpwuid(st.st_uid).map { String(cString: $0.pointee.pw_name) } ?? "uid \(st.st_uid)"
            owner = " (owned by \(name), mode \(String(st.st_mode & 0o777, radix: 8)))"
        }
        return "cannot probe the existing socket \(path)\(owner): \(String(cString: strerror(err))). "
            + "It is probably left by a run as another user: if no process serves it (ss -xlp | grep \(path)), "
            + "remove it (rm \(path)) or run as its owner; under systemd the socket units own it"
    }
}
