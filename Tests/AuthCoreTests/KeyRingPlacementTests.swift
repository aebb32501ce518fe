import AuthCrypto
import Foundation
import TestSupport
import Testing
@testable import AuthCore

/// Review hardening: `KeyRing.load` checked only the file's mode. It also refuses a ring in a
/// directory group or others may write (they could rename their own 0600 ring into its place;
/// a sticky directory such as /tmp prevents that) and, for a non-root process, a ring owned by
/// another user (readable only through a capability or an ACL).
@Suite struct KeyRingPlacementTests {
    static func ring(in dir: String) throws -> String {
        let path = dir + "/keys"
        _ = try KeyRing.rotate(path: path)
        return path
    }

    @Test(arguments: [0o770, 0o730, 0o757, 0o722, 0o777] as [mode_t])
    func aDirectoryOthersMayWriteIsRefused(_ mode: mode_t) throws {
        let temp = try TempDir("authgate-ringdir")
        let dir = temp.path + "/state"
        mkdir(dir, 0o700)
        let path = try Self.ring(in: dir)
        #expect(throws: Never.self) { try KeyRing.load(path: path) }
        chmod(dir, mode)
        #expect {
            try KeyRing.load(path: path)
        } throws: { error in
            "\(error)".contains("its directory \(dir) has mode 0\(String(mode, radix: 8))")
        }
        // The same ring reached through a symlink from a private directory: still refused.
        let link = temp.path + "/private"
        mkdir(link, 0o700)
        symlink(path, link + "/keys")
        #expect(throws: KeyRingError.self) { try KeyRing.load(path: link + "/keys") }
    }

    @Test(arguments: [0o700, 0o750, 0o755, 0o711, 0o1777, 0o1770] as [mode_t])
    func privateOrStickyDirectoriesAreFine(_ mode: mode_t) throws {
        let temp = try TempDir("authgate-ringdir")
        let dir = temp.path + "/state"
        mkdir(dir, 0o700)
        let path = try Self.ring(in: dir)
        chmod(dir, mode)
        #expect(throws: Never.self) { try KeyRing.load(path: path) }
    }

    /// A non-root process that can read another user's 0600 ring (here `nobody` with
    /// CAP_DAC_READ_SEARCH, as a capability or ACL would allow) refuses it.
    @Test(.enabled(if: geteuid() == 0 && FileManager.default.isExecutableFile(atPath: "/usr/bin/setpriv")))
    func anotherUsersRingIsRefused() throws {
        let temp = try TempDir("authgate-ringowner")
        chmod(temp.path, 0o755)
        let path = try Self.ring(in: temp.path)
        let cli = try Binaries.require("authgate")
        try Data("# none\n".utf8).write(to: URL(fileURLWithPath: temp.path + "/empty.conf"))
        chmod(temp.path + "/empty.conf", 0o644)
        let env = ["AUTH_KEYS_FILE": path, "AUTH_DB_PATH": temp.path + "/db", "AUTH_CONFIG": temp.path + "/empty.conf",
                   "PATH": "/usr/bin:/bin"]
        let asNobody = ["--reuid=nobody", "--regid=nogroup", "--clear-groups",
                        "--inh-caps=+dac_read_search", "--ambient-caps=+dac_read_search", cli, "keys", "list"]
        let r = try Child.run("/usr/bin/setpriv", asNobody, environment: env, timeout: 30)
        #expect(r.status != 0 && r.stderr.contains("belongs to uid 0, not to this process's user"), "\(r.status) \(r.stderr)")
        // Given to nobody, the same ring loads.
        let nobody = getpwnam("nobody")!.pointee
        chown(path, nobody.pw_uid, nobody.pw_gid)
        let owned = try Child.run("/usr/bin/setpriv", asNobody, environment: env, timeout: 30)
        #expect(!owned.stderr.contains("belongs to uid"), "\(owned.stderr)")
    }
}
