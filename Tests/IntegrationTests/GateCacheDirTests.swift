import Foundation
import TestSupport
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// Issue 11: `make run` (scripts/run.sh) refuses to start when the verify cache dir was created
/// first by someone else (another owner, or group/other access), and prepare-cache-dir.sh makes
/// a safe one (0700, nginx's user, in a parent only root writes).
@Suite("Gate: verify cache dir checks", .serialized)
struct GateCacheDirTests {
    static let isRoot = geteuid() == 0
    static let script = Stack.repositoryRoot + "/scripts/prepare-cache-dir.sh"

    /// Runs a command (in its own process group) with a bounded wait; returns (exit status, stderr).
    static func run(_ path: String, _ args: [String], environment: [String: String] = [:],
                    timeout: Double = 60) throws -> (Int32, String) {
        let scratch = try TempDir("authgate-cachedir-run")
        var env = ProcessInfo.processInfo.environment
        for (k, v) in environment { env[k] = v }
        let p = try Child.spawn(path, args, environment: env, stderr: scratch.path + "/err", processGroup: true)
        do {
            let status = try p.wait(timeout: timeout, for: "\(path) to stop by itself")
            return (status, scratch.read("err"))
        } catch {
            p.signalGroup(SIGTERM)   // run.sh stops what it started on SIGTERM; the rest of the group too
            Issue.record("\(error)")
            return (-1, scratch.read("err"))
        }
    }

    @Test func runRefusesAPlantedCacheDir() throws {
        let bin = try #require(Binaries.path("authgate-fcgi").map { ($0 as NSString).deletingLastPathComponent })
        let port = Int.random(in: 42000...48000)
        let stateTemp = try TempDir("authgate-cachedir")
        let state = stateTemp.path
        let parent = Self.isRoot ? "/run/authgate-\(port)" : state + "/run"
        defer {
            try? FileManager.default.removeItem(atPath: state)
            if Self.isRoot { try? FileManager.default.removeItem(atPath: "/run/authgate-\(port)") }
        }
        try FileManager.default.createDirectory(atPath: parent, withIntermediateDirectories: true)
        chmod(parent, 0o750)
        let cache = parent + "/verify-cache"
        let env = ["PORT": String(port), "VAR": state, "AUTHGATE_BIN_DIR": bin]

        // Someone else made it first, open to everyone.
        try FileManager.default.createDirectory(atPath: cache, withIntermediateDirectories: false)
        chmod(cache, 0o777)
        if Self.isRoot, let nginx = getpwnam("www-data") { chown(cache, nginx.pointee.pw_uid, nginx.pointee.pw_gid) }
        let (open, openErr) = try Self.run("/bin/bash", [Stack.repositoryRoot + "/scripts/run.sh"], environment: env)
        #expect(open != 0)
        #expect(openErr.contains("refusing to start") && openErr.contains("mode 777"), "\(openErr.suffix(800))")
        #expect(!FileManager.default.fileExists(atPath: state + "/nginx/nginx.conf"), "run.sh went on to render nginx")

        // 0700 but another owner.
        if Self.isRoot {
            chmod(cache, 0o700)
            chown(cache, 65534, 65534)
            let (owned, ownedErr) = try Self.run("/bin/bash", [Stack.repositoryRoot + "/scripts/run.sh"], environment: env)
            #expect(owned != 0)
            #expect(ownedErr.contains("refusing to start") && ownedErr.contains("owned by uid 65534"), "\(ownedErr.suffix(800))")
        }
    }

    @Test func prepareMakesASafeDirAndRefusesUnsafeParents() throws {
        let baseTemp = try TempDir("authgate-cachedir")
        let base = baseTemp.path
        defer { try? FileManager.default.removeItem(atPath: base) }
        chmod(base, 0o755)
        let owner = Self.isRoot ? "www-data" : String(cString: getpwuid(geteuid()).pointee.pw_name)
        let group = Self.isRoot ? "www-data" : ""
        let cache = base + "/run/verify-cache"
        let (ok, okErr) = try Self.run("/bin/bash", [Self.script, cache, owner, group])
        #expect(ok == 0, "\(okErr)")
        let a = try FileManager.default.attributesOfItem(atPath: cache)
        #expect((a[.posixPermissions] as? Int) == 0o700)
        #expect((a[.ownerAccountID] as? Int).map { uid_t($0) } == getpwnam(owner).pointee.pw_uid)
        #expect((try FileManager.default.attributesOfItem(atPath: base + "/run")[.posixPermissions] as? Int) == 0o750)
        // Idempotent on its own result.
        #expect(try Self.run("/bin/bash", [Self.script, cache, owner, group]).0 == 0)

        // A world-writable parent (like /dev/shm or /tmp) is refused.
        let shared = base + "/shared"
        try FileManager.default.createDirectory(atPath: shared, withIntermediateDirectories: false)
        chmod(shared, 0o1777)
        let (bad, badErr) = try Self.run("/bin/bash", [Self.script, shared + "/verify-cache", owner, group])
        #expect(bad != 0 && badErr.contains("group/other-writable"), "\(badErr)")
        #expect(!FileManager.default.fileExists(atPath: shared + "/verify-cache"))
        // A symlink planted in place of the cache dir is refused.
        let link = base + "/run/link-cache"
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: shared)
        #expect(try Self.run("/bin/bash", [Self.script, link, owner, group]).0 != 0)
    }
}
