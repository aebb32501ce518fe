import Foundation
import TestSupport
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// Review finding 13: under socket activation AUTH_SOCKET_GROUP is unset, so the start-up
/// warning must come from the inherited socket's real group (the file systemd made with
/// `SocketGroup=`), not from the setting.
@Suite("Socket group warning from the inherited socket")
struct SocketGroupWarningTests {
    /// A group from /etc/group with a member other than nginx's user (e.g. Debian's ssl-cert: postgres).
    static func groupWithOtherMembers() -> (name: String, member: String)? {
        let text = (try? String(contentsOfFile: "/etc/group", encoding: .utf8)) ?? ""
        for line in text.split(whereSeparator: \.isNewline) {
            let f = line.split(separator: ":", maxSplits: 3, omittingEmptySubsequences: false)
            guard f.count == 4, let member = f[3].split(separator: ",").first(where: { $0 != Stack.nginxUser }) else { continue }
            return (String(f[0]), String(member))
        }
        return nil
    }

    @Test func warningComesFromTheInheritedSocketsGroup() throws {
        guard Stack.isRoot, let group = Self.groupWithOtherMembers(), let entry = getgrnam(group.name) else { return }
        let world = try OpsWorld()
        let fd = try world.bindHeldSocket()
        defer { close(fd) }
        #expect(chown(world.socketPath, uid_t.max, entry.pointee.gr_gid) == 0 && chmod(world.socketPath, 0o660) == 0)
        let responder = try world.startActivated(fd: fd, extra: ["AUTH_NGINX_USER": Stack.nginxUser])
        defer { _ = responder.stop() }
        try world.waitServing(responder)
        let log = world.log()
        #expect(log.contains("(group \(group.name))") && log.contains("also admits") && log.contains(group.member),
                "no warning for the inherited socket's group \(group.name): \(log.suffix(1500))")
    }
}
