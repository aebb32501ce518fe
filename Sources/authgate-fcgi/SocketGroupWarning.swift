import AuthCore
import Foundation
import Glibc

/// Anyone else in the socket's group can bypass nginx: say so at every start. The group is
/// the socket file's real one (stat of the path the listening fd is bound to), so a socket
/// passed by systemd (`SocketGroup=` in authgate.socket, AUTH_SOCKET_GROUP unset) or by a
/// launcher is audited too, not only AUTH_SOCKET_GROUP.
enum SocketGroupWarning {
    static func check(listener: Listener, configured: String?, log: Logger) {
        guard let group = actualGroup(listener.path) ?? configured else { return }
        let env = ProcessInfo.processInfo.environment
        let nginxUser = env["AUTH_NGINX_USER"].flatMap { $0.isEmpty ? nil : $0 } ?? "www-data"
        let read = { (path: String) in (try? String(contentsOfFile: path, encoding: .utf8)) ?? "" }
        if let warning = SocketGroupAudit.warning(group: group, nginxUser: nginxUser,
                                                  groupFile: read("/etc/group"), passwdFile: read("/etc/passwd")) {
            log.warning("\(listener.path) (group \(group)): " + warning)
        }
    }

    /// The group of the socket file when the group may connect (mode g+w), else nil.
    static func actualGroup(_ path: String) -> String? {
        var st = stat()
        guard !path.isEmpty, stat(path, &st) == 0, st.st_mode & 0o020 != 0 else { return nil }
        guard let entry = getgrgid(st.st_gid) else { return String(st.st_gid) }
        return String(cString: entry.pointee.gr_name)
    }
}
