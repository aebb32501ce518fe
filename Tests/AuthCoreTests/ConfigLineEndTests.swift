import Foundation
import TestSupport
import Testing
@testable import AuthCore

/// Review finding 11 (issue 19 item 8.11): a config file with CRLF (Windows editors), lone-CR or
/// mixed line ends is read line by line like an LF file, and a bad value names its real line.
/// The `/etc/group` and `/etc/passwd` reader of the socket-group audit splits the same way.
@Suite struct ConfigLineEndTests {
    static let lines = ["# Authgate", "AUTH_LOCKOUT_THRESHOLD=4", "", "AUTH_JWT_TTL_SECONDS = 600", "AUTH_MIN_PASSWORD_LENGTH='16'"]

    @Test(arguments: ["\n", "\r\n", "\r"])
    func everyLineEndReadsTheSameKeys(end: String) throws {
        let file = try ConfigFile.parse(Self.lines.joined(separator: end) + end, path: "/x.conf")
        #expect(file.entries["AUTH_LOCKOUT_THRESHOLD"]?.value == "4")
        #expect(file.entries["AUTH_LOCKOUT_THRESHOLD"]?.line == 2)
        #expect(file.entries["AUTH_JWT_TTL_SECONDS"]?.value == "600")
        #expect(file.entries["AUTH_JWT_TTL_SECONDS"]?.line == 4)
        #expect(file.entries["AUTH_MIN_PASSWORD_LENGTH"]?.value == "16")
        #expect(file.entries["AUTH_MIN_PASSWORD_LENGTH"]?.line == 5)
    }

    @Test func mixedLineEndsKeepTheLineNumbers() throws {
        let text = "# a\r\nAUTH_LOCKOUT_THRESHOLD=4\nAUTH_LOCKOUT_SECONDS=60\rAUTH_JWT_TTL_SECONDS=600\r\n"
        let file = try ConfigFile.parse(text, path: "/x.conf")
        #expect(file.entries.mapValues(\.line) == ["AUTH_LOCKOUT_THRESHOLD": 2, "AUTH_LOCKOUT_SECONDS": 3,
                                                    "AUTH_JWT_TTL_SECONDS": 4])
        #expect(file.entries["AUTH_LOCKOUT_SECONDS"]?.value == "60")
    }

    /// The review's repro: `printf '# x\r\nAUTH_LOCKOUT_THRESHOLD=bogus\r\n'`, read as `authgate
    /// config` reads it (AUTH_CONFIG): refused, naming line 2, never a silent default.
    @Test(arguments: ["\n", "\r\n", "\r"])
    func aBadValueOnLineTwoIsNamed(end: String) throws {
        let dir = try TempDir("authgate-conf")
        let path = dir.path + "/c.conf"
        try Data("# x\(end)AUTH_LOCKOUT_THRESHOLD=bogus\(end)".utf8).write(to: URL(fileURLWithPath: path))
        let config = try EffectiveConfig(environment: ["AUTH_CONFIG": path])
        #expect(config.source("AUTH_LOCKOUT_THRESHOLD") == .file)
        #expect {
            _ = try config.settings()
        } throws: { error in
            "\(error)".hasPrefix("\(path):2: AUTH_LOCKOUT_THRESHOLD")
        }
        // An unknown key on a CRLF line 2 is named the same way, without a stray CR.
        #expect {
            _ = try ConfigFile.parse("# x\(end)AUTH_NOPE=1\(end)", path: "/c.conf")
        } throws: { error in
            "\(error)" == "/c.conf:2: unknown key 'AUTH_NOPE' (see authgate config --help for the keys)"
        }
    }

    @Test func socketGroupAuditReadsCRLFFiles() {
        let group = "root:x:0:\r\nwww-data:x:33:\r\nweb:x:991:www-data, deploy\r\n"
        let passwd = "root:x:0:0::/root:/bin/bash\r\nphp:x:1001:33::/home/php:/bin/sh\r\nweb:x:1002:991::/home/web:/bin/sh\r\n"
        #expect(SocketGroupAudit.otherUsers(group: "www-data", nginxUser: "www-data", groupFile: group, passwdFile: passwd) == ["php"])
        #expect(SocketGroupAudit.otherUsers(group: "web", nginxUser: "www-data", groupFile: group, passwdFile: passwd) == ["deploy", "web"])
    }
}
