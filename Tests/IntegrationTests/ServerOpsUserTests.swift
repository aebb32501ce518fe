import AuthCore
import AuthCrypto
import Foundation
import TestSupport
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// Issue 12: running as a non-root service user, `init` as root, backup/restore, doctor.
@Suite struct ServerOpsUserTests {
    static let canSwitchUser = geteuid() == 0 && getpwnam("nobody") != nil && getgrnam("www-data") != nil
        && FileManager.default.isExecutableFile(atPath: "/usr/bin/setpriv")

    /// The responder run as `nobody`, by setpriv.
    func startAsNobody(_ world: OpsWorld, extra: [String: String] = [:]) throws -> Child {
        var env = world.environment
        for (k, v) in extra { env[k] = v }
        return try Child.spawn("/usr/bin/setpriv", ["--reuid=nobody", "--regid=nogroup", "--clear-groups",
                                                    try Binaries.require("authgate-fcgi")],
                               environment: env, stdout: world.logPath, stderr: world.logPath)
    }

    func giveToNobody(_ paths: [String]) {
        let pw = getpwnam("nobody")!.pointee
        for p in paths { chown(p, pw.pw_uid, pw.pw_gid) }
    }

    /// As non-root: AUTH_SOCKET_GROUP fails with a path to follow; a setgid directory of that group
    /// works without it; a stale root-owned socket is named with its owner and the fix.
    @Test(.enabled(if: canSwitchUser)) func nonRootServiceSockets() throws {
        let world = try OpsWorld()
        giveToNobody([world.path, world.keysPath, world.configPath])
        let refused = try startAsNobody(world, extra: ["AUTH_SOCKET_GROUP": "www-data"])
        #expect(try refused.wait(timeout: 20, for: "the responder to refuse the group") == 1)
        #expect(world.log().contains("not root and not in group www-data"))
        #expect(world.log().contains("-m 2750"))

        // setgid directory of group www-data: the socket inherits the group, AUTH_SOCKET_GROUP agrees.
        chown(world.path, getpwnam("nobody")!.pointee.pw_uid, getgrnam("www-data")!.pointee.gr_gid)
        chmod(world.path, 0o2750)   // not group-writable: the key ring lives here too (KeyRing.load refuses that)
        let ok = try startAsNobody(world, extra: ["AUTH_SOCKET_GROUP": "www-data"])
        try world.waitServing(ok)
        var st = stat()
        #expect(stat(world.socketPath, &st) == 0 && st.st_gid == getgrnam("www-data")!.pointee.gr_gid)
        #expect(ok.stop() == 0)

        // A stale socket left by root (0600): nobody cannot even probe it.
        let fd = try world.bindHeldSocket()
        close(fd)
        chmod(world.socketPath, 0o600)
        let stale = try startAsNobody(world)
        #expect(try stale.wait(timeout: 20, for: "the responder to refuse the stale socket") == 1)
        #expect(world.log().contains("cannot probe the existing socket \(world.socketPath) (owned by root"))
        #expect(world.log().contains("rm \(world.socketPath)"))
    }

    /// `authgate init` as root gives the database and key ring to the state directory's owner (or
    /// to --owner), so the service user can read them; `keys rotate` as root keeps that owner.
    @Test(.enabled(if: canSwitchUser)) func initAsRootLeavesFilesTheServiceCanRead() throws {
        let world = try OpsWorld()
        let state = world.path + "/state"
        mkdir(state, 0o700)
        giveToNobody([state])
        let env = ["AUTH_DB_PATH": state + "/authgate.db", "AUTH_KEYS_FILE": state + "/keys"]
        #expect(try world.cli(["init"], extra: env).status == 0)
        #expect(try world.cli(["keys", "rotate"], extra: env).status == 0)
        let nobody = getpwnam("nobody")!.pointee.pw_uid
        for name in ["authgate.db", "authgate.db-wal", "authgate.db-shm", "keys"] {
            var st = stat()
            guard stat(state + "/" + name, &st) == 0 else { #expect(name.contains("-"), "\(name) missing"); continue }
            #expect(st.st_uid == nobody, "\(name) owner")
        }
        let other = world.path + "/other"
        mkdir(other, 0o700)
        let explicit = try world.cli(["init", "--owner", "www-data"], extra: ["AUTH_DB_PATH": other + "/a.db", "AUTH_KEYS_FILE": other + "/keys"])
        #expect(explicit.status == 0, "\(explicit.stderr)")
        var st = stat()
        #expect(stat(other + "/keys", &st) == 0 && st.st_uid == getpwnam("www-data")!.pointee.pw_uid)
    }

    /// /api/v1/ready is 503 when the service user can no longer write the database (a chmod or
    /// chown after start: the open descriptors still work, the next start would fail), with the
    /// file and the uid; 200 again once fixed.
    @Test(.enabled(if: canSwitchUser)) func readyFailsWhenTheServiceUserCannotWrite() throws {
        let world = try OpsWorld()
        giveToNobody([world.path, world.keysPath, world.configPath])
        let responder = try startAsNobody(world)
        defer { _ = responder.stop() }
        try world.waitServing(responder)
        let ok = try FastCGIWire.exchange(world.socketPath, FastCGIWire.request(uri: "/api/v1/ready"))
        #expect(ok.status == 200, "\(ok.text)")
        #expect(chmod(world.dbPath, 0o400) == 0)
        // The last answer holds for up to a second (ProbeCache).
        var refused: (status: Int, text: String) = (0, "")
        try waitFor("ready to fail on the read-only database", timeout: 10) {
            refused = try FastCGIWire.exchange(world.socketPath, FastCGIWire.request(uri: "/api/v1/ready"))
            return refused.status == 503
        }
        // The file and the uid are in the log, never in the public answer.
        let uid = getpwnam("nobody")!.pointee.pw_uid
        #expect(refused.text.contains("[\"database\"]") && !refused.text.contains(world.dbPath) && !refused.text.contains("uid"), "\(refused.text)")
        #expect(world.log().contains("\(world.dbPath): Permission denied for uid \(uid)"), "\(world.log().suffix(800))")
        #expect(chmod(world.dbPath, 0o600) == 0)
        try waitFor("ready to answer 200 again", timeout: 10) {
            try FastCGIWire.exchange(world.socketPath, FastCGIWire.request(uri: "/api/v1/ready")).status == 200
        }
    }

    /// Backups taken while another connection writes are complete SQLite files; restore refuses
    /// while a process has the database open.
    @Test func backupDuringWritesAndRestore() throws {
        let world = try OpsWorld()
        #expect(try world.cli(["init"]).status == 0)
        var db: Database? = try Database(path: world.dbPath)
        try db?.migrate()
        var backups: [String] = []
        let results = try onThreads(2, timeout: 120) { index -> Int in
            if index == 0 {
                let writer = try Database(path: world.dbPath)
                for i in 0..<300 { _ = try writer.tenants.create(name: "T\(i)", domain: "t\(i).example", isPlatform: false, now: Time.now()) }
                return 300
            }
            for n in 0..<3 {
                let out = try world.cli(["backup", "--to", world.path + "/backup\(n).db"])
                guard out.status == 0 else { throw SupportError("backup failed: \(out.stderr)") }
            }
            return 0
        }
        for r in results { _ = try r.get() }
        for n in 0..<3 {
            let path = world.path + "/backup\(n).db"
            backups.append(path)
            #expect(try Backup.integrity(of: path) == "ok")
            let copy = try Database(path: path)
            let count = try copy.tenants.list().count
            #expect(count >= 1 && count <= 301, "tenants in backup \(n): \(count)")
        }
        let refused = try world.cli(["restore", "--from", backups[0]])
        #expect(refused.status == 1 && refused.stderr.contains("refusing to restore"), "\(refused.stderr)")
        #expect(db != nil)
        db = nil   // closes the test's connection: now nothing holds the database
        let inBackup = try Database(path: backups[0]).tenants.list().count
        let restored = try world.cli(["restore", "--from", backups[0]])
        #expect(restored.status == 0, "\(restored.stderr)")
        #expect(try Database(path: world.dbPath).tenants.list().count == inBackup)
        #expect(try Backup.integrity(of: world.dbPath) == "ok")
    }

    /// Every doctor check fires on a deliberately broken set-up.
    @Test func doctorFindsEveryProblem() throws {
        let world = try OpsWorld()
        #expect(try world.cli(["init"]).status == 0)
        let db = try Database(path: world.dbPath)
        try db.audit.record("future", at: Time.now() + 86_400)
        chmod(world.keysPath, 0o640)
        chmod(world.dbPath, 0o644)
        let out = try world.cli(["doctor", "--nginx-conf", world.path + "/nginx/nginx.conf"], extra: ["AUTH_SCRYPT": "ln=10,r=8,p=1"])
        #expect(out.status == 1)
        let fails = out.stdout.split(separator: "\n").filter { $0.hasPrefix("FAIL") }.joined(separator: "\n")
        for expected in ["key ring \(world.keysPath) mode 0640", "key ring does not load", "\(world.dbPath) mode 0644",
                         "no socket at \(world.socketPath)", "verify route answers", "nginx snippets in", "nginx -t",
                         "clock", "AUTH_SCRYPT", "AUTH_ISSUER set", "AUTH_AUDIENCE set"] {
            #expect(fails.contains(expected), "missing FAIL for \(expected) in:\n\(out.stdout)")
        }
        // Socket checks against a running responder whose socket group nginx's user is not in.
        chmod(world.keysPath, 0o600)
        let responder = try world.start()
        defer { _ = responder.stop() }
        try world.waitServing(responder)
        chmod(world.socketPath, 0o666)
        let sockets = try world.cli(["doctor", "--no-nginx"])
        #expect(sockets.stdout.contains("FAIL  socket \(world.socketPath) mode 0666"))
        #expect(sockets.stdout.contains("ok    verify route answers"))
        if geteuid() == 0 { #expect(sockets.stdout.contains("FAIL  socket \(world.socketPath) group reachable by www-data")) }
    }
}
