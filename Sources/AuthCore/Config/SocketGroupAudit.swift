/// Who else can connect to the responder's socket. The socket is mode 0660 with the group
/// `AUTH_SOCKET_GROUP`; any user in that group (a member, or a user whose primary group it is)
/// can speak FastCGI to the responder directly: skip nginx's `limit_req`, set its own
/// `REMOTE_ADDR`, run verify with any policy. On Debian `www-data` is nginx's group *and* the
/// default php-fpm pool user, so every PHP script could. The responder warns at start.
public enum SocketGroupAudit {
    /// Users other than `nginxUser` that are in `group`, from `/etc/group` and `/etc/passwd`
    /// text (the files themselves; NSS sources such as LDAP are not consulted). Sorted, unique.
    public static func otherUsers(group: String, nginxUser: String, groupFile: String, passwdFile: String) -> [String] {
        var gid: Substring?
        var users = Set<String>()
        for line in groupFile.textFileLines {
            let f = line.split(separator: ":", maxSplits: 3, omittingEmptySubsequences: false)
            guard f.count == 4, f[0] == group else { continue }
            gid = f[2]
            for member in f[3].split(separator: ",") {
                let name = member.trimmingASCIISpacesSubstring()
                if !name.isEmpty { users.insert(String(name)) }
            }
        }
        if let gid {
            for line in passwdFile.textFileLines {
                let f = line.split(separator: ":", maxSplits: 4, omittingEmptySubsequences: false)
                guard f.count >= 4, f[3] == gid, !f[0].isEmpty else { continue }
                users.insert(String(f[0]))
            }
        }
        users.remove(nginxUser)
        return users.sorted()
    }

    /// The start-up warning, nil when nobody but nginx's user is in the group.
    public static func warning(group: String, nginxUser: String, groupFile: String, passwdFile: String) -> String? {
        let others = otherUsers(group: group, nginxUser: nginxUser, groupFile: groupFile, passwdFile: passwdFile)
        guard !others.isEmpty else { return nil }
        return "AUTH_SOCKET_GROUP '\(group)' also admits \(others.joined(separator: ", ")) (besides nginx's user "
            + "'\(nginxUser)'): they can reach the responder without nginx (no limit_req, their own REMOTE_ADDR). "
            + "Give nginx's worker a dedicated group (README: Behind an existing nginx)"
    }
}

extension Substring {
    func trimmingASCIISpacesSubstring() -> Substring {
        var s = self
        while let f = s.first, f == " " || f == "\t" { s.removeFirst() }
        while let l = s.last, l == " " || l == "\t" { s.removeLast() }
        return s
    }
}
